//! `.npy` and `.npz` reading (NumPy format 1.0–3.0) on top of `npyz`, with the header checked
//! before anything is allocated: the shape's element count is computed with checked arithmetic
//! and compared with the bytes actually present, so a corrupt or hostile header is an error,
//! never a huge allocation or an overflow.

use super::{check_sample_shape, checked_numel, Dataset, InputSpec, ReadOptions};
use crate::error::CalibError;
use npyz::{DType, NpyFile, NpyHeader, Order, TypeChar};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// Largest accepted `.npy` header (numpy writes a few hundred bytes).
const MAX_HEADER_LEN: usize = 1 << 20;
/// Deepest bracket nesting accepted in an `.npy` header (see [`nesting_depth`]).
const MAX_HEADER_DEPTH: usize = 6;

/// Elements of an array read from `.npy`, by element type.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    U8(Vec<u8>),
    /// Any other integer or bool dtype, widened.
    Int(Vec<i64>),
}

impl NpyData {
    fn len(&self) -> usize {
        match self {
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::U8(v) => v.len(),
            NpyData::Int(v) => v.len(),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            NpyData::F32(v) => v.truncate(n),
            NpyData::F64(v) => v.truncate(n),
            NpyData::U8(v) => v.truncate(n),
            NpyData::Int(v) => v.truncate(n),
        }
    }
}

/// An array read from `.npy`: its shape (the first axis possibly cut to the sample limit), the
/// dtype as written in the file (`<f4`, `|u1`, …) and the elements in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub data: NpyData,
}

/// Reads the magic, version and header of an `.npy` stream. Returns the raw prefix bytes (for
/// `npyz` to parse) and the shape parsed here with checked conversions.
fn read_prefix(
    path: &Path,
    what: &str,
    r: &mut impl Read,
) -> Result<(Vec<u8>, Vec<u64>), CalibError> {
    let bad = |reason: String| CalibError::format(path, format!("{what}: {reason}"));
    let eof = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            CalibError::truncated(path, format!("{what}: file ends inside the .npy header"))
        } else {
            CalibError::io(path, e)
        }
    };
    let mut prefix = vec![0u8; 8];
    r.read_exact(&mut prefix).map_err(eof)?;
    if &prefix[..6] != b"\x93NUMPY" {
        return Err(bad("not an .npy array (bad magic)".into()));
    }
    let len_bytes = match prefix[6] {
        1 => 2,
        2 | 3 => 4,
        v => return Err(bad(format!("unsupported .npy format version {v}"))),
    };
    let mut lb = vec![0u8; len_bytes];
    r.read_exact(&mut lb).map_err(eof)?;
    let header_len = lb
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | b as usize);
    if header_len > MAX_HEADER_LEN {
        return Err(bad(format!(
            "header of {header_len} bytes is implausibly large"
        )));
    }
    prefix.extend_from_slice(&lb);
    let start = prefix.len();
    prefix.resize(start + header_len, 0);
    r.read_exact(&mut prefix[start..]).map_err(eof)?;
    let text = String::from_utf8_lossy(&prefix[start..]);
    let depth = nesting_depth(&text);
    if depth > MAX_HEADER_DEPTH {
        return Err(bad(format!(
            "header nests brackets {depth} levels deep (at most {MAX_HEADER_DEPTH}; numpy writes 2 for a plain array)"
        )));
    }
    let shape = parse_shape(&text)
        .ok_or_else(|| bad(format!("cannot read the shape in header {:?}", text.trim())))?;
    Ok((prefix, shape))
}

/// Deepest nesting of `(`, `[` and `{` in an `.npy` header, counting every bracket character
/// (also inside quoted strings: the parser's idea of where a string ends, with Python escapes
/// such as `\N{...}`, need not match a simple scan, and numpy's headers of plain arrays have no
/// brackets in strings). The header parser `npyz` uses backtracks over nested brackets in time
/// exponential in the depth (14 levels took 27 s), so deeper headers are rejected before it
/// sees them.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for ch in text.chars() {
        match ch {
            '(' | '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses the `'shape': (a, b, ...)` entry of an `.npy` header dictionary.
fn parse_shape(text: &str) -> Option<Vec<u64>> {
    // A second "shape" (inside a string or a record field name) would make the key ambiguous;
    // numpy's headers of plain arrays have exactly one.
    if text.matches("shape").count() != 1 {
        return None;
    }
    let key = text.find("'shape'").or_else(|| text.find("\"shape\""))?;
    let rest = &text[key + 7..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('(')?;
    let inner = &rest[..rest.find(')')?];
    let mut dims = Vec::new();
    for part in inner.split(',') {
        let p = part.trim().trim_end_matches('L');
        if p.is_empty() {
            continue;
        }
        dims.push(p.parse::<u64>().ok()?);
    }
    Some(dims)
}

/// The checked header of an `.npy` stream: the header parsed by `npyz`, the shape, its element
/// count and the byte count of the data it declares, all computed with checked arithmetic.
pub struct NpyPrefix {
    /// The header as parsed by `npyz`.
    pub header: NpyHeader,
    /// The shape (each dimension converted to `usize`).
    pub shape: Vec<usize>,
    /// Product of `shape`.
    pub numel: usize,
    /// Bytes the data declared by the header takes (`numel` × item size).
    pub data_bytes: usize,
    /// Length of the magic, version and header (the offset of the data).
    pub prefix_len: usize,
}

/// Reads and checks the magic, version and header of an `.npy` stream, before anything of the
/// data is read or allocated. `available` is the byte count of the whole stream (file or
/// archive entry size) when known. `path` and `what` name the array in errors.
///
/// Errors: bad magic or version, a header over 1 MiB or cut short, a shape that is not plain
/// non-negative integers, an element or byte count that overflows or exceeds
/// [`edgequant_ir::MAX_TENSOR_BYTES`], a dtype that is not a plain fixed-size type, or (with
/// `available`) more data declared than the stream holds.
pub fn read_npy_header<R: Read>(
    path: &Path,
    what: &str,
    reader: &mut R,
    available: Option<u64>,
) -> Result<NpyPrefix, CalibError> {
    let (prefix, shape64) = read_prefix(path, what, reader)?;
    let shape: Vec<usize> = shape64
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| {
            CalibError::truncated(
                path,
                format!("{what}: shape {shape64:?} does not fit in memory"),
            )
        })?;
    let numel = checked_numel(&shape)
        .ok_or_else(|| CalibError::truncated(path, format!("{what}: shape {shape:?} overflows")))?;
    // Parsed by npyz only once the element count is known to fit (npyz multiplies the
    // dimensions unchecked).
    let header = NpyHeader::from_reader(&prefix[..])
        .map_err(|e| CalibError::format(path, format!("{what}: invalid .npy header: {e}")))?;
    if header.shape() != shape64.as_slice() {
        return Err(CalibError::format(
            path,
            format!(
                "{what}: ambiguous .npy header (shape {:?} vs {shape64:?})",
                header.shape()
            ),
        ));
    }
    let item = match header.dtype() {
        DType::Plain(ts) => ts.num_bytes(),
        _ => None,
    };
    let Some(item) = item else {
        return Err(CalibError::DType {
            path: path.to_path_buf(),
            what: what.to_string(),
            expected: "a plain numeric dtype".into(),
            got: header.dtype().descr(),
        });
    };
    let data_bytes = numel
        .checked_mul(item)
        .filter(|&b| b <= edgequant_ir::MAX_TENSOR_BYTES)
        .ok_or_else(|| {
            CalibError::truncated(
                path,
                format!(
                    "{what}: shape {shape:?} of {} is larger than the {} byte limit of one array",
                    header.dtype().descr(),
                    edgequant_ir::MAX_TENSOR_BYTES
                ),
            )
        })?;
    if let Some(avail) = available {
        let after_header = avail.saturating_sub(prefix.len() as u64);
        if (data_bytes as u64) > after_header {
            return Err(CalibError::truncated(
                path,
                format!(
                    "{what}: header declares shape {shape:?} of {} ({data_bytes} bytes) but only \
                     {after_header} bytes of data follow",
                    header.dtype().descr()
                ),
            ));
        }
    }
    Ok(NpyPrefix {
        header,
        shape,
        numel,
        data_bytes,
        prefix_len: prefix.len(),
    })
}

/// Reads one `.npy` stream. `available` is the number of bytes the stream holds (file or archive
/// entry size), used to reject headers that declare more data than present before reading.
fn read_npy_stream<R: Read>(
    path: &Path,
    what: &str,
    mut reader: R,
    available: Option<u64>,
    max_samples: Option<usize>,
) -> Result<NpyArray, CalibError> {
    let NpyPrefix {
        header,
        shape,
        numel,
        ..
    } = read_npy_header(path, what, &mut reader, available)?;
    let ts = match header.dtype() {
        DType::Plain(ts) => ts,
        other => {
            return Err(CalibError::DType {
                path: path.to_path_buf(),
                what: what.to_string(),
                expected: "a plain numeric dtype".into(),
                got: other.descr(),
            })
        }
    };
    let fortran = header.order() == Order::Fortran && shape.len() > 1;
    // With C order only the first `n` samples are read.
    let mut out_shape = shape.clone();
    let mut count = numel;
    if let (Some(max), false, Some(&n0)) = (max_samples, fortran, shape.first()) {
        let n = n0.min(max);
        out_shape[0] = n;
        count = checked_numel(&out_shape).unwrap_or(numel);
    }
    let npy = NpyFile::with_header(header, reader);
    let dtype_str = ts.to_string();
    let data = read_elements(path, what, npy, &ts, count)?;
    let mut arr = NpyArray {
        shape: out_shape,
        dtype: dtype_str,
        data,
    };
    if fortran {
        arr = fortran_to_c(arr);
        if let (Some(max), Some(&n0)) = (max_samples, arr.shape.first()) {
            let n = n0.min(max);
            arr.shape[0] = n;
            let keep = checked_numel(&arr.shape).unwrap_or(0);
            arr.data.truncate(keep);
        }
    }
    Ok(arr)
}

fn read_elements<R: Read>(
    path: &Path,
    what: &str,
    npy: NpyFile<R>,
    ts: &npyz::TypeStr,
    count: usize,
) -> Result<NpyData, CalibError> {
    fn collect<T: npyz::Deserialize, R: Read>(
        path: &Path,
        what: &str,
        npy: NpyFile<R>,
        count: usize,
    ) -> Result<Vec<T>, CalibError> {
        let reader = npy
            .data::<T>()
            .map_err(|e| CalibError::format(path, format!("{what}: {e}")))?;
        let mut out = Vec::with_capacity(count.min(1 << 24));
        for v in reader.take(count) {
            out.push(v.map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    CalibError::truncated(
                        path,
                        format!("{what}: the array data is shorter than its shape"),
                    )
                } else {
                    CalibError::format(path, format!("{what}: {e}"))
                }
            })?);
        }
        if out.len() < count {
            return Err(CalibError::truncated(
                path,
                format!("{what}: the array data is shorter than its shape"),
            ));
        }
        Ok(out)
    }
    fn widen<T: Into<i64>>(v: Vec<T>) -> NpyData {
        NpyData::Int(v.into_iter().map(Into::into).collect())
    }
    let size = ts.size_field();
    Ok(match (ts.type_char(), size) {
        (TypeChar::Float, 4) => NpyData::F32(collect(path, what, npy, count)?),
        (TypeChar::Float, 8) => NpyData::F64(collect(path, what, npy, count)?),
        (TypeChar::Uint, 1) => NpyData::U8(collect(path, what, npy, count)?),
        (TypeChar::Uint, 2) => widen(collect::<u16, _>(path, what, npy, count)?),
        (TypeChar::Uint, 4) => widen(collect::<u32, _>(path, what, npy, count)?),
        (TypeChar::Uint, 8) => {
            let v: Vec<u64> = collect(path, what, npy, count)?;
            NpyData::Int(
                v.into_iter()
                    .map(|x| i64::try_from(x).unwrap_or(i64::MAX))
                    .collect(),
            )
        }
        (TypeChar::Int, 1) => widen(collect::<i8, _>(path, what, npy, count)?),
        (TypeChar::Int, 2) => widen(collect::<i16, _>(path, what, npy, count)?),
        (TypeChar::Int, 4) => widen(collect::<i32, _>(path, what, npy, count)?),
        (TypeChar::Int, 8) => NpyData::Int(collect(path, what, npy, count)?),
        (TypeChar::Bool, 1) => NpyData::Int(
            collect::<bool, _>(path, what, npy, count)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        _ => {
            return Err(CalibError::DType {
                path: path.to_path_buf(),
                what: what.to_string(),
                expected: "float32, float64, uint8 or another integer type".into(),
                got: ts.to_string(),
            })
        }
    })
}

/// Reorders a Fortran-order array into C order (same shape).
fn fortran_to_c(arr: NpyArray) -> NpyArray {
    fn reorder<T: Copy>(src: &[T], shape: &[usize]) -> Vec<T> {
        let rank = shape.len();
        let mut fstride = vec![1usize; rank];
        for k in 1..rank {
            fstride[k] = fstride[k - 1] * shape[k - 1];
        }
        let mut out = Vec::with_capacity(src.len());
        let mut idx = vec![0usize; rank];
        for _ in 0..src.len() {
            let off: usize = idx.iter().zip(&fstride).map(|(i, s)| i * s).sum();
            out.push(src[off.min(src.len() - 1)]);
            for k in (0..rank).rev() {
                idx[k] += 1;
                if idx[k] < shape[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
        out
    }
    let data = match &arr.data {
        NpyData::F32(v) => NpyData::F32(reorder(v, &arr.shape)),
        NpyData::F64(v) => NpyData::F64(reorder(v, &arr.shape)),
        NpyData::U8(v) => NpyData::U8(reorder(v, &arr.shape)),
        NpyData::Int(v) => NpyData::Int(reorder(v, &arr.shape)),
    };
    NpyArray { data, ..arr }
}

/// Reads an `.npy` file, keeping the first `max_samples` entries of the first axis (C-order
/// files read only those). Errors on malformed headers, declared sizes larger than the file,
/// unsupported dtypes (strings, records, complex, float16/float128), and short data.
pub fn read_npy(path: &Path, max_samples: Option<usize>) -> Result<NpyArray, CalibError> {
    let f = File::open(path).map_err(|e| CalibError::io(path, e))?;
    let len = f.metadata().map(|m| m.len()).ok();
    read_npy_stream(path, "array", BufReader::new(f), len, max_samples)
}

/// [`read_npy`] on a stream holding `available` bytes (when known); `path` names it in errors.
pub fn read_npy_from<R: Read>(
    path: &Path,
    reader: R,
    available: Option<u64>,
    max_samples: Option<usize>,
) -> Result<NpyArray, CalibError> {
    read_npy_stream(path, "array", reader, available, max_samples)
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<BufReader<File>>, CalibError> {
    let f = File::open(path).map_err(|e| CalibError::io(path, e))?;
    zip::ZipArchive::new(BufReader::new(f))
        .map_err(|e| CalibError::format(path, format!("not a valid .npz (zip) archive: {e}")))
}

/// Array names of an `.npz` archive (entry names without `.npy`), in archive order.
fn npz_keys<R: Read + Seek>(
    path: &Path,
    z: &zip::ZipArchive<R>,
) -> Result<Vec<String>, CalibError> {
    let mut keys = Vec::new();
    for name in z.file_names() {
        let name =
            name.map_err(|e| CalibError::format(path, format!("bad archive entry name: {e}")))?;
        if let Some(k) = name.strip_suffix(".npy") {
            keys.push(k.to_string());
        }
    }
    Ok(keys)
}

fn read_npz_entry<R: Read + Seek>(
    path: &Path,
    z: &mut zip::ZipArchive<R>,
    key: &str,
    max_samples: Option<usize>,
) -> Result<NpyArray, CalibError> {
    let entry = z
        .by_name(&format!("{key}.npy"))
        .map_err(|e| CalibError::format(path, format!("array '{key}': {e}")))?;
    let size = entry.size();
    read_npy_stream(
        path,
        &format!("array '{key}'"),
        entry,
        Some(size),
        max_samples,
    )
}

/// Reads every array of an `.npz` archive, in archive order, each cut to `max_samples` along its
/// first axis.
pub fn read_npz(
    path: &Path,
    max_samples: Option<usize>,
) -> Result<Vec<(String, NpyArray)>, CalibError> {
    let f = File::open(path).map_err(|e| CalibError::io(path, e))?;
    read_npz_from(path, BufReader::new(f), max_samples)
}

/// [`read_npz`] on a seekable stream; `path` names it in errors.
pub fn read_npz_from<R: Read + Seek>(
    path: &Path,
    reader: R,
    max_samples: Option<usize>,
) -> Result<Vec<(String, NpyArray)>, CalibError> {
    let mut z = zip::ZipArchive::new(reader)
        .map_err(|e| CalibError::format(path, format!("not a valid .npz (zip) archive: {e}")))?;
    let keys = npz_keys(path, &z)?;
    keys.into_iter()
        .map(|k| {
            let a = read_npz_entry(path, &mut z, &k, max_samples)?;
            Ok((k, a))
        })
        .collect()
}

/// Splits an array into per-sample f32 vectors for `input` (see the data module conventions).
pub(crate) fn samples_for(
    path: &Path,
    input: &InputSpec,
    arr: NpyArray,
    opts: &ReadOptions,
) -> Result<Vec<Vec<f32>>, CalibError> {
    let Some((&n, per_sample)) = arr.shape.split_first() else {
        return Err(CalibError::Shape {
            path: path.to_path_buf(),
            input: input.name.clone(),
            expected: input.shape.clone(),
            got: vec![],
            hint: " (a 0-d array has no sample axis)".into(),
        });
    };
    check_sample_shape(path, input, per_sample)?;
    if n == 0 {
        return Err(CalibError::EmptyData {
            path: path.to_path_buf(),
        });
    }
    let per = input.numel()?;
    if arr.data.len() != n.saturating_mul(per) {
        return Err(CalibError::truncated(
            path,
            format!(
                "array has {} elements for {n} samples of {per}",
                arr.data.len()
            ),
        ));
    }
    Ok(match arr.data {
        NpyData::F32(v) => v.chunks(per.max(1)).map(<[f32]>::to_vec).collect(),
        NpyData::F64(v) => v
            .chunks(per.max(1))
            .map(|c| c.iter().map(|&x| x as f32).collect())
            .collect(),
        NpyData::U8(v) => {
            let norm = opts.normalizer(&input.name, &input.shape)?;
            v.chunks(per.max(1)).map(|c| norm.apply(c)).collect()
        }
        NpyData::Int(_) => {
            return Err(CalibError::DType {
                path: path.to_path_buf(),
                what: format!("data for model input '{}'", input.name),
                expected: "float32, float64 or uint8".into(),
                got: arr.dtype,
            })
        }
    })
}

/// Labels from an integer array of shape `[N]` or `[N, 1]`.
pub(crate) fn labels_from(path: &Path, arr: NpyArray) -> Result<Vec<u32>, CalibError> {
    let bad = |reason: String| CalibError::Labels {
        path: path.to_path_buf(),
        reason,
    };
    match arr.shape.as_slice() {
        [_] | [_, 1] => {}
        s => return Err(bad(format!("expected shape [N] or [N, 1], got {s:?}"))),
    }
    let v: Vec<i64> = match arr.data {
        NpyData::U8(v) => v.into_iter().map(i64::from).collect(),
        NpyData::Int(v) => v,
        NpyData::F32(_) | NpyData::F64(_) => {
            return Err(CalibError::DType {
                path: path.to_path_buf(),
                what: "labels".into(),
                expected: "an integer type".into(),
                got: arr.dtype,
            })
        }
    };
    v.into_iter()
        .enumerate()
        .map(|(i, x)| {
            u32::try_from(x)
                .map_err(|_| bad(format!("label {x} at index {i} is not a class index")))
        })
        .collect()
}

/// Loads a dataset from an `.npz` archive: one array per model input name (a single-input model
/// may use an archive holding a single array of any name), all with the same sample count.
/// An array named `labels` that is not a model input becomes the dataset's labels.
pub(crate) fn load_npz_dataset(
    path: &Path,
    inputs: &[InputSpec],
    opts: &ReadOptions,
) -> Result<Dataset, CalibError> {
    let mut z = open_zip(path)?;
    let keys = npz_keys(path, &z)?;
    if keys.is_empty() {
        return Err(CalibError::EmptyData {
            path: path.to_path_buf(),
        });
    }
    let has_labels =
        keys.iter().any(|k| k == "labels") && !inputs.iter().any(|i| i.name == "labels");
    let data_keys: Vec<&String> = keys
        .iter()
        .filter(|k| !(has_labels && *k == "labels"))
        .collect();
    let mut per_input: Vec<Vec<Vec<f32>>> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let key = if keys.contains(&input.name) {
            input.name.clone()
        } else if inputs.len() == 1 && data_keys.len() == 1 {
            data_keys[0].clone()
        } else {
            return Err(CalibError::MissingInput {
                path: path.to_path_buf(),
                input: input.name.clone(),
                available: keys.join(", "),
            });
        };
        let arr = read_npz_entry(path, &mut z, &key, opts.max_samples)?;
        per_input.push(samples_for(path, input, arr, opts)?);
    }
    let n = per_input.first().map_or(0, Vec::len);
    for (input, s) in inputs.iter().zip(&per_input) {
        if s.len() != n {
            return Err(CalibError::Config(format!(
                "{}: model input '{}' has {} samples but '{}' has {n}",
                path.display(),
                input.name,
                s.len(),
                inputs[0].name
            )));
        }
    }
    let mut iters: Vec<_> = per_input.into_iter().map(Vec::into_iter).collect();
    let samples: Vec<Vec<Vec<f32>>> = (0..n)
        .map(|_| iters.iter_mut().filter_map(Iterator::next).collect())
        .collect();
    let mut ds = Dataset::new(path, inputs.to_vec(), samples)?;
    if has_labels {
        let labels = labels_from(
            path,
            read_npz_entry(path, &mut z, "labels", opts.max_samples)?,
        )?;
        ds = ds.with_labels(labels)?;
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_depth_counts_every_bracket() {
        let plain = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
        assert_eq!(nesting_depth(plain), 2);
        assert_eq!(nesting_depth("{'a((': 1, 'b': [(1,)]}"), 5);
        let deep = format!("{{'x': {}1{}}}", "{".repeat(30), "}".repeat(30));
        assert_eq!(nesting_depth(&deep), 31);
    }

    #[test]
    fn shape_parsing() {
        assert_eq!(
            parse_shape("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"),
            Some(vec![3, 4])
        );
        assert_eq!(
            parse_shape("{'shape': (7,), 'descr': '|u1'}"),
            Some(vec![7])
        );
        assert_eq!(parse_shape("{'shape': ()}"), Some(vec![]));
        assert_eq!(parse_shape("{'shape': (2L, 3L)}"), Some(vec![2, 3]));
        assert_eq!(parse_shape("{'shape': (-1, 3)}"), None);
        assert_eq!(parse_shape("{'descr': '<f4'}"), None);
        assert_eq!(
            parse_shape("{'descr': [('shape', '<f4')], 'shape': (1 << 60,)}"),
            None
        );
    }

    #[test]
    fn fortran_reorder() {
        // 2x3 matrix [[1,2,3],[4,5,6]] stored column-major: 1,4,2,5,3,6
        let a = NpyArray {
            shape: vec![2, 3],
            dtype: "<f4".into(),
            data: NpyData::F32(vec![1., 4., 2., 5., 3., 6.]),
        };
        assert_eq!(
            fortran_to_c(a).data,
            NpyData::F32(vec![1., 2., 3., 4., 5., 6.])
        );
    }
}
