//! IDX files (the MNIST / Fashion-MNIST format, <http://yann.lecun.com/exdb/mnist/>), plain or
//! gzip-compressed.
//!
//! Layout: two zero bytes, a type byte (`0x08` u8, `0x09` i8, `0x0B` i16, `0x0C` i32, `0x0D`
//! f32, `0x0E` f64), the number of dimensions, then each dimension as a big-endian u32, then
//! the big-endian data. The header is validated before any allocation: the element count is
//! computed with checked arithmetic, and never more bytes than present are allocated (plain files
//! are checked against their size, compressed ones are read incrementally).

use super::{check_sample_shape, checked_numel, InputSpec, ReadOptions};
use crate::error::CalibError;
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Elements of an IDX array.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxData {
    U8(Vec<u8>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl IdxData {
    /// Name of the element type.
    pub fn type_name(&self) -> &'static str {
        match self {
            IdxData::U8(_) => "uint8",
            IdxData::I8(_) => "int8",
            IdxData::I16(_) => "int16",
            IdxData::I32(_) => "int32",
            IdxData::F32(_) => "float32",
            IdxData::F64(_) => "float64",
        }
    }
}

/// An IDX array: its dimensions (the first cut to the sample limit) and data.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: IdxData,
}

fn read_full(path: &Path, r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), CalibError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            CalibError::truncated(path, format!("file ends inside the IDX {what}"))
        } else {
            stream_error(path, e, what)
        }
    })
}

/// Maps a read error: invalid data comes from the gzip decoder (a corrupt stream), anything
/// else is an I/O error.
fn stream_error(path: &Path, e: std::io::Error, what: &str) -> CalibError {
    match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput => {
            CalibError::format(path, format!("corrupt gzip stream in the IDX {what} ({e})"))
        }
        _ => CalibError::io(path, e),
    }
}

/// Reads an IDX file (gzip-compressed if it starts with the gzip magic), keeping the first
/// `max_samples` entries of the first dimension.
///
/// Errors: bad magic or type byte, zero dimensions, a header cut short, dimensions whose
/// product overflows, data shorter than the header declares, trailing bytes after the data
/// (when the whole file is read).
pub fn read_idx(path: &Path, max_samples: Option<usize>) -> Result<IdxArray, CalibError> {
    let f = File::open(path).map_err(|e| CalibError::io(path, e))?;
    let file_len = f.metadata().map(|m| m.len()).ok();
    read_idx_from(path, BufReader::new(f), file_len, max_samples)
}

/// [`read_idx`] on a stream of `file_len` bytes (when known); `path` names it in errors.
pub fn read_idx_from(
    path: &Path,
    mut r: impl Read,
    file_len: Option<u64>,
    max_samples: Option<usize>,
) -> Result<IdxArray, CalibError> {
    let mut magic = [0u8; 2];
    read_full(path, &mut r, &mut magic, "header")?;
    let chained = std::io::Cursor::new(magic).chain(r);
    if magic == [0x1f, 0x8b] {
        read_idx_stream(path, GzDecoder::new(chained), None, max_samples)
    } else {
        read_idx_stream(path, chained, file_len, max_samples)
    }
}

fn read_idx_stream(
    path: &Path,
    mut r: impl Read,
    file_len: Option<u64>,
    max_samples: Option<usize>,
) -> Result<IdxArray, CalibError> {
    let mut head = [0u8; 4];
    read_full(path, &mut r, &mut head, "header")?;
    if head[0] != 0 || head[1] != 0 {
        return Err(CalibError::format(
            path,
            format!(
                "not an IDX file (magic bytes {:02x} {:02x}, expected 00 00)",
                head[0], head[1]
            ),
        ));
    }
    let (type_name, item) = match head[2] {
        0x08 => ("uint8", 1usize),
        0x09 => ("int8", 1),
        0x0B => ("int16", 2),
        0x0C => ("int32", 4),
        0x0D => ("float32", 4),
        0x0E => ("float64", 8),
        t => {
            return Err(CalibError::format(
                path,
                format!("unknown IDX element type 0x{t:02x}"),
            ))
        }
    };
    let ndims = head[3] as usize;
    if ndims == 0 {
        return Err(CalibError::format(path, "IDX header declares 0 dimensions"));
    }
    let mut raw = vec![0u8; 4 * ndims];
    read_full(path, &mut r, &mut raw, "dimensions")?;
    let dims: Vec<usize> = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let header_len = 4 + 4 * ndims as u64;
    let overflow = || CalibError::truncated(path, format!("IDX dimensions {dims:?} overflow"));
    let total_bytes = checked_numel(&dims)
        .and_then(|n| n.checked_mul(item))
        .ok_or_else(overflow)?;
    if total_bytes > edgequant_ir::MAX_TENSOR_BYTES {
        return Err(CalibError::truncated(
            path,
            format!(
                "IDX dimensions {dims:?} of {type_name} declare {total_bytes} bytes, more than \
                 the {} byte limit of one array",
                edgequant_ir::MAX_TENSOR_BYTES
            ),
        ));
    }
    if let Some(len) = file_len {
        let have = len.saturating_sub(header_len);
        if (total_bytes as u64) > have {
            return Err(CalibError::truncated(
                path,
                format!(
                    "IDX header declares {type_name} dimensions {dims:?} ({total_bytes} bytes) \
                     but only {have} bytes of data follow"
                ),
            ));
        }
        if (total_bytes as u64) < have {
            return Err(CalibError::truncated(
                path,
                format!(
                    "{} bytes after the {total_bytes} bytes of data that IDX dimensions {dims:?} \
                     declare",
                    have - total_bytes as u64
                ),
            ));
        }
    }
    let mut out_dims = dims.clone();
    if let Some(max) = max_samples {
        out_dims[0] = out_dims[0].min(max);
    }
    let want = checked_numel(&out_dims)
        .and_then(|n| n.checked_mul(item))
        .ok_or_else(overflow)?;
    // Incremental read: never allocates more than what is actually there.
    let mut bytes = Vec::new();
    (&mut r)
        .take(want as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| stream_error(path, e, "data"))?;
    if bytes.len() < want {
        return Err(CalibError::truncated(
            path,
            format!(
                "IDX data ends after {} of the {want} bytes that dimensions {dims:?} declare",
                bytes.len()
            ),
        ));
    }
    if file_len.is_none() && out_dims[0] == dims[0] {
        let mut extra = [0u8; 1];
        let n = r
            .read(&mut extra)
            .map_err(|e| stream_error(path, e, "data"))?;
        if n > 0 {
            return Err(CalibError::truncated(
                path,
                format!("trailing bytes after the data that IDX dimensions {dims:?} declare"),
            ));
        }
    }
    let data = match head[2] {
        0x08 => IdxData::U8(bytes),
        0x09 => IdxData::I8(bytes.iter().map(|&b| b as i8).collect()),
        0x0B => IdxData::I16(
            bytes
                .chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                .collect(),
        ),
        0x0C => IdxData::I32(
            bytes
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        0x0D => IdxData::F32(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        _ => IdxData::F64(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
    };
    Ok(IdxArray {
        dims: out_dims,
        data,
    })
}

/// Splits an IDX array into per-sample f32 vectors for `input`: uint8 normalized with the
/// options' mean/std, float32 as is, float64 narrowed; other types are rejected.
pub(crate) fn samples_for(
    path: &Path,
    input: &InputSpec,
    arr: IdxArray,
    opts: &ReadOptions,
) -> Result<Vec<Vec<f32>>, CalibError> {
    let (&n, per_sample) = arr
        .dims
        .split_first()
        .ok_or_else(|| CalibError::format(path, "IDX array has no dimensions"))?;
    check_sample_shape(path, input, per_sample)?;
    if n == 0 {
        return Err(CalibError::EmptyData {
            path: path.to_path_buf(),
        });
    }
    let per = input.numel()?.max(1);
    Ok(match arr.data {
        IdxData::U8(v) => {
            let norm = opts.normalizer(&input.name, &input.shape)?;
            v.chunks(per).map(|c| norm.apply(c)).collect()
        }
        IdxData::F32(v) => v.chunks(per).map(<[f32]>::to_vec).collect(),
        IdxData::F64(v) => v
            .chunks(per)
            .map(|c| c.iter().map(|&x| x as f32).collect())
            .collect(),
        other => {
            return Err(CalibError::DType {
                path: path.to_path_buf(),
                what: format!("data for model input '{}'", input.name),
                expected: "uint8, float32 or float64".into(),
                got: other.type_name().into(),
            })
        }
    })
}

/// Labels from a 1-D integer IDX array (MNIST `*-labels-idx1-ubyte`).
pub(crate) fn labels_from(path: &Path, arr: IdxArray) -> Result<Vec<u32>, CalibError> {
    let bad = |reason: String| CalibError::Labels {
        path: path.to_path_buf(),
        reason,
    };
    if arr.dims.len() != 1 {
        return Err(bad(format!(
            "expected a 1-dimensional IDX label file, got dimensions {:?}",
            arr.dims
        )));
    }
    let wide: Vec<i64> = match arr.data {
        IdxData::U8(v) => v.into_iter().map(i64::from).collect(),
        IdxData::I8(v) => v.into_iter().map(i64::from).collect(),
        IdxData::I16(v) => v.into_iter().map(i64::from).collect(),
        IdxData::I32(v) => v.into_iter().map(i64::from).collect(),
        other => {
            return Err(CalibError::DType {
                path: path.to_path_buf(),
                what: "labels".into(),
                expected: "an integer type".into(),
                got: other.type_name().into(),
            })
        }
    };
    wide.into_iter()
        .enumerate()
        .map(|(i, x)| {
            u32::try_from(x)
                .map_err(|_| bad(format!("label {x} at index {i} is not a class index")))
        })
        .collect()
}
