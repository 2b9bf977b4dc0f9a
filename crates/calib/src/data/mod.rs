//! Calibration and evaluation data: [`Dataset`]s of samples read from `.npy` / `.npz` files,
//! IDX files (MNIST format, optionally gzip-compressed) and folders of images, plus labels.
//!
//! Conventions (issue 4, DESIGN.md section 1):
//! * the first axis of an array is the sample axis; the remaining axes must match the model
//!   input's per-sample shape (its shape without the batch dimension). Shapes that differ only
//!   by size-1 dimensions are accepted (`[28, 28]` data feeds a `[28, 28, 1]` input);
//! * float32 data are used as is, float64 data are narrowed to float32, uint8 data (and
//!   images) are normalized per channel as `(x - mean[c]) / std[c]` with the
//!   [`ReadOptions`] `mean`/`std` (default `0` and `255`, i.e. `[0, 1]`);
//! * every value is checked: NaN or infinity is an error naming the input and the sample;
//! * `max_samples` (`--samples N`) keeps the first `N` samples (for class folders, `N` images
//!   taken round-robin over the classes) and avoids reading the rest.

mod idx;
mod images;
mod npy;

pub use idx::{read_idx, read_idx_from, IdxArray, IdxData};
pub use images::IMAGE_EXTENSIONS;
pub use npy::{
    read_npy, read_npy_from, read_npy_header, read_npz, read_npz_from, NpyArray, NpyData, NpyPrefix,
};

use crate::error::CalibError;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One model input as seen by the data readers: its name and its per-sample shape (the model
/// input shape without the batch dimension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

impl InputSpec {
    /// An input with per-sample shape `shape`.
    pub fn new(name: impl Into<String>, shape: Vec<usize>) -> Self {
        InputSpec {
            name: name.into(),
            shape,
        }
    }

    /// An input from a model input shape whose first dimension is the batch
    /// (`[1, 28, 28, 1]` → per-sample `[28, 28, 1]`). Errors on a rank-0 shape.
    pub fn from_batched(
        name: impl Into<String>,
        model_shape: &[usize],
    ) -> Result<Self, CalibError> {
        let name = name.into();
        match model_shape.split_first() {
            Some((_, rest)) => Ok(InputSpec::new(name, rest.to_vec())),
            None => Err(CalibError::Config(format!(
                "model input '{name}' is a scalar: it has no batch dimension"
            ))),
        }
    }

    /// Number of elements of one sample. Errors on overflow.
    pub fn numel(&self) -> Result<usize, CalibError> {
        checked_numel(&self.shape).ok_or_else(|| {
            CalibError::Config(format!(
                "model input '{}' shape {:?} overflows",
                self.name, self.shape
            ))
        })
    }
}

/// Memory layout of image samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// Height, width, channels (TFLite's layout; the default).
    #[default]
    Nhwc,
    /// Channels, height, width (PyTorch/ONNX).
    Nchw,
}

impl FromStr for Layout {
    type Err = CalibError;
    fn from_str(s: &str) -> Result<Self, CalibError> {
        match s.to_ascii_lowercase().as_str() {
            "nhwc" | "hwc" => Ok(Layout::Nhwc),
            "nchw" | "chw" => Ok(Layout::Nchw),
            _ => Err(CalibError::Config(format!(
                "unknown layout '{s}' (expected nhwc or nchw)"
            ))),
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Nhwc => "nhwc",
            Layout::Nchw => "nchw",
        })
    }
}

/// How to read and preprocess data.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadOptions {
    /// Keep at most this many samples (`--samples N`); `Some(0)` is an error.
    pub max_samples: Option<usize>,
    /// Per-channel mean subtracted from uint8 data and images (one value, or one per channel).
    pub mean: Vec<f32>,
    /// Per-channel divisor of uint8 data and images (one value, or one per channel; non-zero).
    pub std: Vec<f32>,
    /// Resize images to `(height, width)` (bilinear). Without it, images must already have the
    /// model's size.
    pub resize: Option<(usize, usize)>,
    /// Layout of the model input: decides which axis is the channel axis for `mean`/`std`
    /// and how image pixels are laid out.
    pub layout: Layout,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_samples: None,
            mean: vec![0.0],
            std: vec![255.0],
            resize: None,
            layout: Layout::Nhwc,
        }
    }
}

impl ReadOptions {
    fn check(&self) -> Result<(), CalibError> {
        if self.max_samples == Some(0) {
            return Err(CalibError::Config(
                "the sample limit must be at least 1".into(),
            ));
        }
        if self.mean.is_empty() || self.std.is_empty() {
            return Err(CalibError::Config(
                "mean and std need at least one value".into(),
            ));
        }
        if let Some(m) = self.mean.iter().find(|m| !m.is_finite()) {
            return Err(CalibError::Config(format!("mean {m} is not finite")));
        }
        if let Some(s) = self.std.iter().find(|s| !(s.is_finite() && **s != 0.0)) {
            return Err(CalibError::Config(format!(
                "std {s} must be finite and non-zero"
            )));
        }
        if let Some((h, w)) = self.resize {
            if h == 0 || w == 0 {
                return Err(CalibError::Config(format!(
                    "resize to {h}x{w}: both sizes must be positive"
                )));
            }
        }
        Ok(())
    }

    /// Normalizer of uint8 values for a sample of `shape`, or an error when mean/std have a
    /// length other than 1 or the channel count.
    fn normalizer(&self, input: &str, shape: &[usize]) -> Result<Normalizer, CalibError> {
        let channels = match self.layout {
            Layout::Nhwc => shape.last().copied().unwrap_or(1),
            Layout::Nchw => shape.first().copied().unwrap_or(1),
        };
        let numel = checked_numel(shape).unwrap_or(0);
        let inner = match self.layout {
            Layout::Nhwc => 1,
            Layout::Nchw => numel / channels.max(1),
        };
        let n = self.mean.len().max(self.std.len());
        for (what, v) in [("mean", &self.mean), ("std", &self.std)] {
            if v.len() != 1 && v.len() != channels {
                return Err(CalibError::Config(format!(
                    "{what} has {} values but model input '{input}' has {channels} channels \
                     ({} layout, per-sample shape {shape:?})",
                    v.len(),
                    self.layout
                )));
            }
        }
        let pick = |v: &Vec<f32>, c: usize| if v.len() == 1 { v[0] } else { v[c] };
        let per = if n == 1 { 1 } else { channels };
        Ok(Normalizer {
            mean: (0..per).map(|c| pick(&self.mean, c)).collect(),
            std: (0..per).map(|c| pick(&self.std, c)).collect(),
            channels: per,
            inner: inner.max(1),
        })
    }
}

/// `(x - mean[c]) / std[c]` (f32 subtraction and division, as NumPy computes
/// `images.astype(np.float32) / 255.0`) for element `i` of a sample, `c` being its channel.
#[derive(Clone, Debug)]
struct Normalizer {
    mean: Vec<f32>,
    std: Vec<f32>,
    channels: usize,
    inner: usize,
}

impl Normalizer {
    fn apply(&self, bytes: &[u8]) -> Vec<f32> {
        if self.channels == 1 {
            let (m, k) = (self.mean[0], self.std[0]);
            return bytes.iter().map(|&b| (b as f32 - m) / k).collect();
        }
        bytes
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                let c = (i / self.inner) % self.channels;
                (b as f32 - self.mean[c]) / self.std[c]
            })
            .collect()
    }
}

/// One sample: one flat `Vec<f32>` per model input, in [`Dataset::inputs`] order, each with the
/// input's per-sample shape (row-major).
pub type Sample = Vec<Vec<f32>>;

/// Validated samples for calibration or evaluation.
///
/// Invariants (checked by [`Dataset::new`]): at least one input and one sample; every sample
/// has one vector per input with exactly the input's element count; every value is finite;
/// labels, if any, are one per sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    source: PathBuf,
    inputs: Vec<InputSpec>,
    samples: Vec<Sample>,
    labels: Option<Vec<u32>>,
    class_names: Option<Vec<String>>,
}

impl Dataset {
    /// Builds a dataset from `samples`, checking the invariants. `source` names the data in
    /// errors (a file or folder).
    pub fn new(
        source: impl Into<PathBuf>,
        inputs: Vec<InputSpec>,
        samples: Vec<Sample>,
    ) -> Result<Self, CalibError> {
        let source = source.into();
        if inputs.is_empty() {
            return Err(CalibError::Config("the model has no inputs".into()));
        }
        if samples.is_empty() {
            return Err(CalibError::EmptyData { path: source });
        }
        let numels = inputs
            .iter()
            .map(InputSpec::numel)
            .collect::<Result<Vec<_>, _>>()?;
        for (s, sample) in samples.iter().enumerate() {
            if sample.len() != inputs.len() {
                return Err(CalibError::Config(format!(
                    "{}: sample {s} has {} arrays for {} model inputs",
                    source.display(),
                    sample.len(),
                    inputs.len()
                )));
            }
            for ((input, values), &numel) in inputs.iter().zip(sample).zip(&numels) {
                if values.len() != numel {
                    return Err(CalibError::Shape {
                        path: source,
                        input: input.name.clone(),
                        expected: input.shape.clone(),
                        got: vec![values.len()],
                        hint: format!(" (sample {s} has {} elements)", values.len()),
                    });
                }
                if let Some((index, &value)) =
                    values.iter().enumerate().find(|(_, v)| !v.is_finite())
                {
                    return Err(CalibError::NonFiniteData {
                        path: source,
                        input: input.name.clone(),
                        sample: s,
                        index,
                        value,
                    });
                }
            }
        }
        Ok(Dataset {
            source,
            inputs,
            samples,
            labels: None,
            class_names: None,
        })
    }

    /// Attaches one label per sample. Errors on a count mismatch.
    pub fn with_labels(mut self, labels: Vec<u32>) -> Result<Self, CalibError> {
        if labels.len() != self.samples.len() {
            return Err(CalibError::Labels {
                path: self.source.clone(),
                reason: format!("{} labels for {} samples", labels.len(), self.samples.len()),
            });
        }
        self.labels = Some(labels);
        Ok(self)
    }

    /// Attaches class names (label `i` is `names[i]`, e.g. the sub-folders of an image folder).
    pub fn with_class_names(mut self, names: Vec<String>) -> Self {
        self.class_names = Some(names);
        self
    }

    /// Where the data came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The model inputs, in sample order.
    pub fn inputs(&self) -> &[InputSpec] {
        &self.inputs
    }

    /// Number of samples (at least 1).
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Always false: a dataset has at least one sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// All samples.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Sample `i`, if it exists.
    pub fn sample(&self, i: usize) -> Option<&Sample> {
        self.samples.get(i)
    }

    /// Labels (one per sample), if the source had them.
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    /// Class names, if the source had them (image class folders).
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    /// Consumes the dataset, returning its samples.
    pub fn into_samples(self) -> Vec<Sample> {
        self.samples
    }
}

pub(crate) fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

fn squeeze(shape: &[usize]) -> Vec<usize> {
    shape.iter().copied().filter(|&d| d != 1).collect()
}

/// Checks that data of per-sample shape `got` can feed `input`: equal up to size-1 dimensions.
pub(crate) fn check_sample_shape(
    path: &Path,
    input: &InputSpec,
    got: &[usize],
) -> Result<(), CalibError> {
    if squeeze(got) == squeeze(&input.shape) {
        return Ok(());
    }
    let hint = if got.len() + 1 == input.shape.len() || got.len() == input.shape.len() + 1 {
        " (the first axis of the data is the sample axis; the rest must be the model input's \
         shape without its batch dimension)"
            .to_string()
    } else {
        String::new()
    };
    Err(CalibError::Shape {
        path: path.to_path_buf(),
        input: input.name.clone(),
        expected: input.shape.clone(),
        got: got.to_vec(),
        hint,
    })
}

/// Formats recognized by [`load_dataset`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFormat {
    Npy,
    Npz,
    Idx,
    ImageFolder,
}

/// Detects the format of `path`: a directory is an image folder; otherwise the extension
/// (`.npy`, `.npz`, `.gz` → IDX, `.idx*` / `-ubyte` → IDX), then the magic bytes.
pub fn detect_format(path: &Path) -> Result<DataFormat, CalibError> {
    let meta = std::fs::metadata(path).map_err(|e| CalibError::io(path, e))?;
    if meta.is_dir() {
        return Ok(DataFormat::ImageFolder);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("npy") => return Ok(DataFormat::Npy),
        Some("npz") => return Ok(DataFormat::Npz),
        Some("gz") => return Ok(DataFormat::Idx),
        _ => {}
    }
    let mut magic = [0u8; 4];
    let mut f = File::open(path).map_err(|e| CalibError::io(path, e))?;
    let mut n = 0;
    while n < 4 {
        match f.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CalibError::io(path, e)),
        }
    }
    match &magic[..n] {
        [0x93, b'N', b'U', b'M'] => Ok(DataFormat::Npy),
        [b'P', b'K', _, _] => Ok(DataFormat::Npz),
        [0, 0, _, _] | [0x1f, 0x8b, _, _] => Ok(DataFormat::Idx),
        _ => Err(CalibError::format(
            path,
            "unrecognized data format (expected .npy, .npz, an IDX file (optionally .gz) or a \
             folder of images)",
        )),
    }
}

fn single_input<'a>(
    path: &Path,
    inputs: &'a [InputSpec],
    what: &str,
) -> Result<&'a InputSpec, CalibError> {
    match inputs {
        [one] => Ok(one),
        [] => Err(CalibError::Config("the model has no inputs".into())),
        many => Err(CalibError::Config(format!(
            "{}: {what} feeds a single model input, but the model has {} ({}): use an .npz \
             archive with one array per input name",
            path.display(),
            many.len(),
            many.iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Loads calibration/evaluation data for a model with inputs `inputs` (see the module
/// documentation for the conventions). Dispatches on [`detect_format`].
///
/// Errors: unreadable or malformed files, empty data, a per-sample shape or dtype the model
/// input cannot take (expected vs got), NaN/infinity (input name and sample index), a model
/// input missing from an `.npz`, a multi-input model fed by a single-array format.
pub fn load_dataset(
    path: &Path,
    inputs: &[InputSpec],
    opts: &ReadOptions,
) -> Result<Dataset, CalibError> {
    opts.check()?;
    if inputs.is_empty() {
        return Err(CalibError::Config("the model has no inputs".into()));
    }
    for i in inputs {
        i.numel()?;
    }
    match detect_format(path)? {
        DataFormat::Npy => {
            let input = single_input(path, inputs, "an .npy file")?;
            let arr = read_npy(path, opts.max_samples)?;
            let samples = npy::samples_for(path, input, arr, opts)?;
            Dataset::new(
                path,
                inputs.to_vec(),
                samples.into_iter().map(|s| vec![s]).collect(),
            )
        }
        DataFormat::Npz => npy::load_npz_dataset(path, inputs, opts),
        DataFormat::Idx => {
            let input = single_input(path, inputs, "an IDX file")?;
            let arr = read_idx(path, opts.max_samples)?;
            let samples = idx::samples_for(path, input, arr, opts)?;
            Dataset::new(
                path,
                inputs.to_vec(),
                samples.into_iter().map(|s| vec![s]).collect(),
            )
        }
        DataFormat::ImageFolder => {
            let input = single_input(path, inputs, "an image folder")?;
            images::load_image_folder(path, input, opts)
        }
    }
}

/// Reads class labels: an IDX label file (MNIST `*-labels-idx1-ubyte`, optionally `.gz`) or an
/// `.npy` array of integers of shape `[N]` or `[N, 1]`. Keeps the first `max` labels.
///
/// Errors on other dtypes (floats are rejected), negative labels, labels above `u32::MAX`, and
/// empty files.
pub fn read_labels(path: &Path, max: Option<usize>) -> Result<Vec<u32>, CalibError> {
    if max == Some(0) {
        return Err(CalibError::Config(
            "the sample limit must be at least 1".into(),
        ));
    }
    let labels =
        match detect_format(path)? {
            DataFormat::Npy => npy::labels_from(path, read_npy(path, max)?)?,
            DataFormat::Idx => idx::labels_from(path, read_idx(path, max)?)?,
            DataFormat::Npz => return Err(CalibError::format(
                path,
                "labels must be an IDX label file or an .npy array (an .npz may carry them as an \
                 array named 'labels' next to the inputs)",
            )),
            DataFormat::ImageFolder => {
                return Err(CalibError::format(
                    path,
                    "labels of an image folder come from its class sub-folders",
                ))
            }
        };
    if labels.is_empty() {
        return Err(CalibError::EmptyData {
            path: path.to_path_buf(),
        });
    }
    Ok(labels)
}
