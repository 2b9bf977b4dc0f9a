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
pub fn read_npy_from<R: Read>(what: &str, reader: R) -> Result<Array> {
    let npy =
        npyz::NpyFile::new(reader).with_context(|| format!("{what}: not a valid .npy file"))?;
    if npy.order() == npyz::Order::Fortran {
        bail!("{what}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
    }
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{what}: shape too large"))?;
    let type_str = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => bail!("{what}: unsupported array dtype {other:?}"),
    };
    if type_str.starts_with('>') {
        bail!("{what}: big-endian arrays are not supported");
    }
    let read_err = || format!("{what}: truncated or unreadable array data");
    if type_str.trim_start_matches(['<', '|', '=']) == "f8" {
        let v: Vec<f64> = npy.into_vec().with_context(read_err)?;
        let v: Vec<f32> = v.into_iter().map(|x| x as f32).collect();
        return Ok(Array {
            dtype: DType::F32,
            shape,
            bytes: bytemuck_bytes(&v),
        });
    }
    let dtype =
        dtype_of(&type_str).with_context(|| format!("{what}: unsupported dtype '{type_str}'"))?;
    let bytes = match dtype {
        DType::F32 => pod_bytes(npy.into_vec::<f32>().with_context(read_err)?),
        DType::F16 => pod_bytes(npy.into_vec::<half::f16>().with_context(read_err)?),
        DType::I8 => pod_bytes(npy.into_vec::<i8>().with_context(read_err)?),
        DType::U8 => npy.into_vec::<u8>().with_context(read_err)?,
        DType::I16 => pod_bytes(npy.into_vec::<i16>().with_context(read_err)?),
        DType::I32 => pod_bytes(npy.into_vec::<i32>().with_context(read_err)?),
        DType::I64 => pod_bytes(npy.into_vec::<i64>().with_context(read_err)?),
        DType::Bool => npy
            .into_vec::<bool>()
            .with_context(read_err)?
            .into_iter()
            .map(u8::from)
            .collect(),
    };
    let numel: usize = shape.iter().product();
    if bytes.len() != numel * dtype.size() {
        bail!(
            "{what}: has {} data bytes, shape {shape:?} of {dtype} needs {}",
            bytes.len(),
            numel * dtype.size()
        );
    }
    Ok(Array {
        dtype,
        shape,
        bytes,
    })
}

fn bytemuck_bytes(v: &[f32]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

fn pod_bytes<T: bytemuck::Pod>(v: Vec<T>) -> Vec<u8> {
    bytemuck::cast_slice(&v).to_vec()
}

/// Reads an `.npy` file.
pub fn read_npy(path: &Path) -> Result<Array> {
    let f =
        std::fs::File::open(path).with_context(|| format!("cannot open '{}'", path.display()))?;
    read_npy_from(&path.display().to_string(), std::io::BufReader::new(f))
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
        let arr = read_npy_from(&format!("{what}[{name}]"), member)?;
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
        DType::U8 | DType::Bool => encode_typed::<u8>(a, &mut out)?,
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
