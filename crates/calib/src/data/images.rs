//! Folders of PNG/JPEG images as calibration or evaluation data.
//!
//! * Files are taken in sorted file-name order (byte order of the names), so runs are
//!   reproducible. Hidden files and files without a `.png`, `.jpg` or `.jpeg` extension are
//!   skipped.
//! * A folder whose entries are sub-folders is a classification set: each sub-folder (sorted) is
//!   a class, its index the label, its name the class name. Images directly inside such a folder
//!   are an error (ambiguous).
//! * Each image is decoded (with the `image` crate's default memory limits), converted to the
//!   model's channel count (1 → luma, 3 → RGB, 4 → RGBA), resized with a bilinear filter when
//!   [`ReadOptions::resize`] is set (otherwise its size must equal the model's), normalized per
//!   channel as `(v - mean[c]) / std[c]` with `v` in `0..=255`, and laid out as
//!   [`ReadOptions::layout`] says (`HWC` or `CHW`).

use super::{Dataset, InputSpec, Layout, ReadOptions};
use crate::error::CalibError;
use image::imageops::FilterType;
use std::path::{Path, PathBuf};

/// File extensions (lower case) read as images.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];

fn is_image(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'));
    let ext_ok = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    !hidden && ext_ok && path.is_file()
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, CalibError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| CalibError::io(dir, e))? {
        let entry = entry.map_err(|e| CalibError::io(dir, e))?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

/// Geometry of the model input: `(height, width, channels)`.
fn geometry(
    path: &Path,
    input: &InputSpec,
    layout: Layout,
) -> Result<(usize, usize, usize), CalibError> {
    let s = &input.shape;
    let g = match (s.len(), layout) {
        (2, _) => Some((s[0], s[1], 1)),
        (3, Layout::Nhwc) => Some((s[0], s[1], s[2])),
        (3, Layout::Nchw) => Some((s[1], s[2], s[0])),
        _ => None,
    };
    match g {
        Some((h, w, c)) if matches!(c, 1 | 3 | 4) && h > 0 && w > 0 => Ok((h, w, c)),
        _ => Err(CalibError::Shape {
            path: path.to_path_buf(),
            input: input.name.clone(),
            expected: input.shape.clone(),
            got: vec![],
            hint: format!(
                " (images need a model input of per-sample shape [H, W], [H, W, C] (nhwc) or \
                 [C, H, W] (nchw) with C = 1, 3 or 4; layout is {layout})"
            ),
        }),
    }
}

/// Loads an image folder for a single-input model (see the module documentation).
pub(crate) fn load_image_folder(
    dir: &Path,
    input: &InputSpec,
    opts: &ReadOptions,
) -> Result<Dataset, CalibError> {
    let (h, w, c) = geometry(dir, input, opts.layout)?;
    let norm_mean: Vec<f32> = (0..c)
        .map(|i| {
            if opts.mean.len() == 1 {
                opts.mean[0]
            } else {
                opts.mean.get(i).copied().unwrap_or(0.0)
            }
        })
        .collect();
    for (what, v) in [("mean", &opts.mean), ("std", &opts.std)] {
        if v.len() != 1 && v.len() != c {
            return Err(CalibError::Config(format!(
                "{what} has {} values but model input '{}' has {c} channels",
                v.len(),
                input.name
            )));
        }
    }
    let norm_std: Vec<f32> = (0..c)
        .map(|i| {
            if opts.std.len() == 1 {
                opts.std[0]
            } else {
                opts.std.get(i).copied().unwrap_or(1.0)
            }
        })
        .collect();

    let entries = sorted_entries(dir)?;
    let class_dirs: Vec<&PathBuf> = entries
        .iter()
        .filter(|p| p.is_dir() && !is_hidden(p))
        .collect();
    let top_images: Vec<&PathBuf> = entries.iter().filter(|p| is_image(p)).collect();
    // (path, label)
    let mut files: Vec<(PathBuf, Option<u32>)> = Vec::new();
    let mut class_names = None;
    if !class_dirs.is_empty() {
        if !top_images.is_empty() {
            return Err(CalibError::format(
                dir,
                format!(
                    "holds both class sub-folders and {} images (e.g. {}): put every image in a \
                     class folder, or use a folder without sub-folders",
                    top_images.len(),
                    top_images[0].display()
                ),
            ));
        }
        let mut per_class: Vec<Vec<PathBuf>> = Vec::new();
        let mut names = Vec::new();
        for d in &class_dirs {
            let imgs: Vec<PathBuf> = sorted_entries(d)?
                .into_iter()
                .filter(|p| is_image(p))
                .collect();
            names.push(
                d.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            per_class.push(imgs);
        }
        let label_of = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        match opts.max_samples {
            None => {
                for (i, imgs) in per_class.into_iter().enumerate() {
                    files.extend(imgs.into_iter().map(|p| (p, Some(label_of(i)))));
                }
            }
            Some(max) => {
                // Round-robin over classes so a limit samples every class.
                let longest = per_class.iter().map(Vec::len).max().unwrap_or(0);
                'outer: for k in 0..longest {
                    for (i, imgs) in per_class.iter().enumerate() {
                        if let Some(p) = imgs.get(k) {
                            if files.len() == max {
                                break 'outer;
                            }
                            files.push((p.clone(), Some(label_of(i))));
                        }
                    }
                }
            }
        }
        class_names = Some(names);
    } else {
        files = top_images.into_iter().map(|p| (p.clone(), None)).collect();
        if let Some(max) = opts.max_samples {
            files.truncate(max);
        }
    }
    if files.is_empty() {
        return Err(CalibError::EmptyData {
            path: dir.to_path_buf(),
        });
    }

    let mut samples = Vec::with_capacity(files.len());
    let mut labels = Vec::with_capacity(files.len());
    for (path, label) in &files {
        let pixels = load_image(path, input, (h, w, c), opts.resize)?;
        let mut out = vec![0f32; h * w * c];
        for (i, px) in pixels.chunks_exact(c).enumerate() {
            for (ch, &v) in px.iter().enumerate() {
                let x = (v as f32 - norm_mean[ch]) / norm_std[ch];
                let dst = match opts.layout {
                    Layout::Nhwc => i * c + ch,
                    Layout::Nchw => ch * h * w + i,
                };
                out[dst] = x;
            }
        }
        samples.push(vec![out]);
        if let Some(l) = label {
            labels.push(*l);
        }
    }
    let mut ds = Dataset::new(dir, vec![input.clone()], samples)?;
    if let Some(names) = class_names {
        ds = ds.with_labels(labels)?.with_class_names(names);
    }
    Ok(ds)
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Decodes one image into `h * w * c` interleaved bytes.
fn load_image(
    path: &Path,
    input: &InputSpec,
    (h, w, c): (usize, usize, usize),
    resize: Option<(usize, usize)>,
) -> Result<Vec<u8>, CalibError> {
    let img = image::ImageReader::open(path)
        .map_err(|e| CalibError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| CalibError::io(path, e))?
        .decode()
        .map_err(|e| CalibError::format(path, format!("cannot decode image: {e}")))?;
    let (iw, ih) = (img.width() as usize, img.height() as usize);
    let (th, tw) = match resize {
        Some((rh, rw)) => (rh, rw),
        None => (ih, iw),
    };
    if (th, tw) != (h, w) {
        let hint = if resize.is_none() {
            format!(" (the image is {ih}x{iw}; pass --resize {h},{w} to resize it)")
        } else {
            format!(" (--resize {th},{tw} does not match the model)")
        };
        let got = match c {
            1 if input.shape.len() == 2 => vec![th, tw],
            _ => vec![th, tw, c],
        };
        return Err(CalibError::Shape {
            path: path.to_path_buf(),
            input: input.name.clone(),
            expected: input.shape.clone(),
            got,
            hint,
        });
    }
    let to_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    let img = if (ih, iw) != (h, w) {
        img.resize_exact(to_u32(w), to_u32(h), FilterType::Triangle)
    } else {
        img
    };
    let bytes = match c {
        1 => img.to_luma8().into_raw(),
        3 => img.to_rgb8().into_raw(),
        _ => img.to_rgba8().into_raw(),
    };
    if bytes.len() != h * w * c {
        return Err(CalibError::format(
            path,
            format!("decoded {} bytes, expected {h}x{w}x{c}", bytes.len()),
        ));
    }
    Ok(bytes)
}
