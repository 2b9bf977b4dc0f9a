//! N-dimensional arrays read from and written to NumPy `.npy` / `.npz` files.

use anyhow::{bail, Context, Result};
use edgequant_ir::DType;
use npyz::WriterBuilder;
use std::io::{Read, Seek};

use std::path::Path;

/// A dense little-endian array with an IR dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl Array {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

fn dtype_of(type_str: &str) -> Option<DType> {
    Some(match type_str.trim_start_matches(['<', '|', '=']) {
        "f4" => DType::F32,
        "f2" => DType::F16,
        "i1" => DType::I8,
        "u1" => DType::U8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "b1" => DType::Bool,
        _ => return None,
    })
}

/// Reads one array from an `.npy` stream. float64 arrays are narrowed to float32.
///
/// The header is checked before any data is read (`edgequant_calib::data::read_npy_header`:
/// checked element and byte counts, at most [`edgequant_ir::MAX_TENSOR_BYTES`]); the data is
/// then read incrementally, so a header that declares more than the stream holds is an error,
/// never a large allocation.
pub fn read_npy_from<R: Read>(what: &str, reader: R) -> Result<Array> {
    read_npy_limited(what, reader, None)
}

fn read_npy_limited<R: Read>(what: &str, mut reader: R, available: Option<u64>) -> Result<Array> {
    let prefix =
        edgequant_calib::data::read_npy_header(Path::new(what), "array", &mut reader, available)?;
    if prefix.header.order() == npyz::Order::Fortran && prefix.shape.len() > 1 {
        bail!("{what}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
    }
    let type_str = match prefix.header.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => bail!("{what}: unsupported array dtype {}", other.descr()),
    };
    if type_str.starts_with('>') && !type_str.ends_with('1') {
        bail!("{what}: big-endian arrays are not supported");
    }
    let base = type_str.trim_start_matches(['<', '>', '|', '=']);
    let dtype = match base {
        "f8" => None,
        _ => Some(
            dtype_of(base).with_context(|| format!("{what}: unsupported dtype '{type_str}'"))?,
        ),
    };
    let mut raw = Vec::new();
    (&mut reader)
        .take(prefix.data_bytes as u64)
        .read_to_end(&mut raw)
        .with_context(|| format!("{what}: unreadable array data"))?;
    if raw.len() != prefix.data_bytes {
        bail!(
            "{what}: truncated array data: {} of the {} bytes that shape {:?} of '{type_str}' needs",
            raw.len(),
            prefix.data_bytes,
            prefix.shape
        );
    }
    let (dtype, bytes) = match dtype {
        None => (
            DType::F32,
            raw.chunks_exact(8)
                .flat_map(|c| {
                    let v = f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                    (v as f32).to_le_bytes()
                })
                .collect(),
        ),
        Some(DType::Bool) => {
            if let Some(i) = raw.iter().position(|&b| b > 1) {
                bail!("{what}: bool element {i} is {}, not 0 or 1", raw[i]);
            }
            (DType::Bool, raw)
        }
        Some(d) => (d, raw),
    };
    Ok(Array {
        dtype,
        shape: prefix.shape,
        bytes,
    })
}

/// Reads an `.npy` file.
pub fn read_npy(path: &Path) -> Result<Array> {
    let f =
        std::fs::File::open(path).with_context(|| format!("cannot open '{}'", path.display()))?;
    let len = f.metadata().map(|m| m.len()).ok();
    read_npy_limited(&path.display().to_string(), std::io::BufReader::new(f), len)
}

/// Reads every array of an `.npz` file, in archive order.
pub fn read_npz(path: &Path) -> Result<Vec<(String, Array)>> {
    let f =
        std::fs::File::open(path).with_context(|| format!("cannot open '{}'", path.display()))?;
    read_npz_from(&path.display().to_string(), std::io::BufReader::new(f))
}

/// Reads every array of an `.npz` stream, in archive order.
pub fn read_npz_from<R: Read + Seek>(what: &str, reader: R) -> Result<Vec<(String, Array)>> {
    let mut z =
        zip::ZipArchive::new(reader).with_context(|| format!("{what}: not a valid .npz file"))?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let member = z
            .by_index(i)
            .with_context(|| format!("{what}: cannot read member {i}"))?;
        let member_name = member.name().map(|n| n.to_string()).unwrap_or_default();
        let Some(name) = npyz::npz::array_name_from_file_name(&member_name).map(str::to_string)
        else {
            continue;
        };
        let size = member.size();
        let arr = read_npy_limited(&format!("{what}[{name}]"), member, Some(size))?;
        out.push((name, arr));
    }
    Ok(out)
}

fn encode_typed<T>(a: &Array, out: &mut Vec<u8>) -> std::io::Result<()>
where
    T: bytemuck::Pod + npyz::AutoSerialize,
{
    let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
    let values: Vec<T> = bytemuck::pod_collect_to_vec(&a.bytes);
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(out)
        .begin_nd()?;
    w.extend(values)?;
    w.finish()
}

/// Encodes an array as `.npy` bytes.
pub fn encode_npy(a: &Array) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match a.dtype {
        DType::F32 => encode_typed::<f32>(a, &mut out)?,
        DType::F16 => {
            let f: Array = Array {
                dtype: DType::F32,
                shape: a.shape.clone(),
                bytes: a
                    .bytes
                    .chunks_exact(2)
                    .flat_map(|c| {
                        half::f16::from_le_bytes([c[0], c[1]])
                            .to_f32()
                            .to_le_bytes()
                    })
                    .collect(),
            };
            encode_typed::<f32>(&f, &mut out)?
        }
        DType::I8 => encode_typed::<i8>(a, &mut out)?,
        DType::U8 => encode_typed::<u8>(a, &mut out)?,
        DType::Bool => {
            let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()?;
            w.extend(a.bytes.iter().map(|&b| b != 0))?;
            w.finish()?
        }
        DType::I16 => encode_typed::<i16>(a, &mut out)?,
        DType::I32 => encode_typed::<i32>(a, &mut out)?,
        DType::I64 => encode_typed::<i64>(a, &mut out)?,
    }
    Ok(out)
}

/// Writes arrays to an `.npz` file (uncompressed, one `.npy` member per array, in order,
/// fixed timestamps so identical arrays give identical files), atomically. float16 arrays are
/// stored as float32.
pub fn write_npz(path: &Path, arrays: &[(String, Array)]) -> Result<()> {
    let mut members = Vec::with_capacity(arrays.len());
    for (name, a) in arrays {
        members.push((
            name,
            encode_npy(a).with_context(|| format!("cannot encode array '{name}'"))?,
        ));
    }
    crate::output::write_atomic_with(path, |f| {
        let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(zip::DateTime::default())
            .large_file(false);
        for (name, bytes) in &members {
            z.start_file(npyz::npz::file_name_from_array_name(name), opts)
                .map_err(std::io::Error::other)?;
            std::io::Write::write_all(&mut z, bytes)?;
        }
        z.finish().map_err(std::io::Error::other)?;
        Ok(())
    })
}
