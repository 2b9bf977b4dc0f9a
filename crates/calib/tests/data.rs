//! Data readers: .npy, .npz, IDX (plain and gzip), image folders, labels, and their errors.
//! Synthetic files are written under Cargo's per-test temporary directory; the real-MNIST tests
//! at the end need the files fetched by `scripts/setup` and fail (never skip) without them.

use edgequant_calib::data::{detect_format, read_idx, read_npy, read_npz, DataFormat, IdxData};
use edgequant_calib::{load_dataset, read_labels, CalibError, InputSpec, Layout, ReadOptions};
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under Cargo's test temporary directory, removed when dropped (kept when
/// the test panics, for inspection).
struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn tmp_dir(name: &str) -> TmpDir {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "calib-data-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TmpDir(d)
}

/// An .npy file (format 1.0) with `descr`, `shape`, order and raw little-endian data.
fn npy_bytes(descr: &str, shape: &[usize], fortran: bool, data: &[u8]) -> Vec<u8> {
    let shape_str = match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape_str}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn npz(path: &Path, entries: &[(&str, Vec<u8>)], deflate: bool) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        z.start_file(format!("{name}.npy"), opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

fn idx_bytes(type_code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn mnist_input() -> Vec<InputSpec> {
    vec![InputSpec::from_batched("serving_default_x:0", &[1, 4, 4, 1]).unwrap()]
}

fn opts() -> ReadOptions {
    ReadOptions::default()
}

// ------------------------------------------------------------------ .npy

#[test]
fn npy_float32_used_as_is() {
    let d = tmp_dir("npy32");
    let p = d.join("x.npy");
    let vals: Vec<f32> = (0..3 * 16).map(|i| i as f32 * 0.25 - 3.0).collect();
    write(
        &p,
        &npy_bytes("<f4", &[3, 4, 4, 1], false, &f32_bytes(&vals)),
    );
    assert_eq!(detect_format(&p).unwrap(), DataFormat::Npy);
    let ds = load_dataset(&p, &mnist_input(), &opts()).unwrap();
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.inputs()[0].shape, vec![4, 4, 1]);
    assert_eq!(ds.samples()[1][0], vals[16..32].to_vec());
    assert!(ds.labels().is_none());
    // Size-1 dimensions may differ: [N, 4, 4] data feeds a [4, 4, 1] input.
    let p2 = d.join("x2.npy");
    write(&p2, &npy_bytes("<f4", &[3, 4, 4], false, &f32_bytes(&vals)));
    assert_eq!(load_dataset(&p2, &mnist_input(), &opts()).unwrap().len(), 3);
}

#[test]
fn npy_sample_limit_reads_first_samples() {
    let d = tmp_dir("npylimit");
    let p = d.join("x.npy");
    let vals: Vec<f32> = (0..10 * 16).map(|i| i as f32).collect();
    write(
        &p,
        &npy_bytes("<f4", &[10, 4, 4, 1], false, &f32_bytes(&vals)),
    );
    let o = ReadOptions {
        max_samples: Some(3),
        ..opts()
    };
    let ds = load_dataset(&p, &mnist_input(), &o).unwrap();
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.samples()[2][0][0], 32.0);
    let zero = ReadOptions {
        max_samples: Some(0),
        ..opts()
    };
    assert!(matches!(
        load_dataset(&p, &mnist_input(), &zero),
        Err(CalibError::Config(_))
    ));
}

#[test]
fn npy_uint8_normalized_per_channel() {
    let d = tmp_dir("npyu8");
    let p = d.join("x.npy");
    // 2 samples of 1x2x3 (NHWC, 3 channels)
    let data: Vec<u8> = vec![0, 100, 200, 255, 50, 150, 10, 20, 30, 40, 50, 60];
    write(&p, &npy_bytes("|u1", &[2, 1, 2, 3], false, &data));
    let input = vec![InputSpec::new("img", vec![1, 2, 3])];
    // default: x / 255
    let ds = load_dataset(&p, &input, &opts()).unwrap();
    assert_eq!(ds.samples()[0][0][3], 1.0);
    assert_eq!(ds.samples()[0][0][1], 100.0 / 255.0);
    let o = ReadOptions {
        mean: vec![0.0, 100.0, 200.0],
        std: vec![1.0, 2.0, 4.0],
        ..opts()
    };
    let ds = load_dataset(&p, &input, &o).unwrap();
    assert_eq!(ds.samples()[0][0], vec![0.0, 0.0, 0.0, 255.0, -25.0, -12.5]);
    // NCHW: channel axis is the first per-sample axis ([3, 1, 2])
    let p2 = d.join("nchw.npy");
    write(&p2, &npy_bytes("|u1", &[2, 3, 1, 2], false, &data));
    let input2 = vec![InputSpec::new("img", vec![3, 1, 2])];
    let o2 = ReadOptions {
        layout: Layout::Nchw,
        ..o.clone()
    };
    let ds = load_dataset(&p2, &input2, &o2).unwrap();
    assert_eq!(
        ds.samples()[0][0],
        vec![0.0, 100.0, 50.0, 77.5, -37.5, -12.5]
    );
    // mean with the wrong channel count
    let bad = ReadOptions {
        mean: vec![1.0, 2.0],
        ..opts()
    };
    let e = load_dataset(&p, &input, &bad).unwrap_err().to_string();
    assert!(
        e.contains("mean has 2 values") && e.contains("3 channels"),
        "{e}"
    );
    let zero_std = ReadOptions {
        std: vec![0.0],
        ..opts()
    };
    assert!(load_dataset(&p, &input, &zero_std).is_err());
}

#[test]
fn npy_float64_narrowed_and_overflow_is_an_error() {
    let d = tmp_dir("npy64");
    let p = d.join("x.npy");
    let vals = [0.1f64, -2.5, 3.0, 4.0];
    let bytes: Vec<u8> = vals.iter().flat_map(|x| x.to_le_bytes()).collect();
    write(&p, &npy_bytes("<f8", &[2, 2], false, &bytes));
    let input = vec![InputSpec::new("v", vec![2])];
    let ds = load_dataset(&p, &input, &opts()).unwrap();
    assert_eq!(ds.samples()[0][0], vec![0.1f32, -2.5]);
    let big = [1.0f64, 2.0, 1e300, 4.0];
    let bytes: Vec<u8> = big.iter().flat_map(|x| x.to_le_bytes()).collect();
    write(&p, &npy_bytes("<f8", &[2, 2], false, &bytes));
    match load_dataset(&p, &input, &opts()) {
        Err(CalibError::NonFiniteData {
            input,
            sample,
            index,
            ..
        }) => assert_eq!((input.as_str(), sample, index), ("v", 1, 0)),
        other => panic!("expected NonFiniteData, got {other:?}"),
    }
}

#[test]
fn nan_and_inf_name_input_and_sample() {
    let d = tmp_dir("npynan");
    let p = d.join("x.npy");
    let mut vals = vec![0.5f32; 5 * 16];
    vals[3 * 16 + 7] = f32::NAN;
    write(
        &p,
        &npy_bytes("<f4", &[5, 4, 4, 1], false, &f32_bytes(&vals)),
    );
    let e = load_dataset(&p, &mnist_input(), &opts()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            CalibError::NonFiniteData {
                sample: 3,
                index: 7,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("serving_default_x:0") && msg.contains("sample 3"),
        "{msg}"
    );
    vals[3 * 16 + 7] = 0.0;
    vals[16] = f32::NEG_INFINITY;
    write(
        &p,
        &npy_bytes("<f4", &[5, 4, 4, 1], false, &f32_bytes(&vals)),
    );
    assert!(matches!(
        load_dataset(&p, &mnist_input(), &opts()),
        Err(CalibError::NonFiniteData {
            sample: 1,
            index: 0,
            ..
        })
    ));
}

#[test]
fn npy_shape_dtype_and_empty_errors() {
    let d = tmp_dir("npyerr");
    let p = d.join("x.npy");
    write(
        &p,
        &npy_bytes("<f4", &[2, 5, 5, 1], false, &f32_bytes(&[0.0; 50])),
    );
    let e = load_dataset(&p, &mnist_input(), &opts()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, CalibError::Shape { .. }), "{msg}");
    assert!(
        msg.contains("[4, 4, 1]") && msg.contains("[5, 5, 1]"),
        "{msg}"
    );
    // missing sample axis: a single 4x4x1 image
    write(
        &p,
        &npy_bytes("<f4", &[4, 4, 1], false, &f32_bytes(&[0.0; 16])),
    );
    let msg = load_dataset(&p, &mnist_input(), &opts())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("sample axis"), "{msg}");
    // int32 data
    write(&p, &npy_bytes("<i4", &[1, 4, 4, 1], false, &[0u8; 64]));
    let e = load_dataset(&p, &mnist_input(), &opts()).unwrap_err();
    assert!(matches!(e, CalibError::DType { .. }), "{e}");
    assert!(
        e.to_string().contains("<i4") && e.to_string().contains("float32"),
        "{e}"
    );
    // unsupported dtypes
    write(&p, &npy_bytes("<f2", &[1, 4, 4, 1], false, &[0u8; 32]));
    assert!(matches!(
        load_dataset(&p, &mnist_input(), &opts()),
        Err(CalibError::DType { .. })
    ));
    write(&p, &npy_bytes("<U3", &[1], false, &[0u8; 12]));
    assert!(matches!(
        load_dataset(&p, &mnist_input(), &opts()),
        Err(CalibError::DType { .. })
    ));
    // empty
    write(&p, &npy_bytes("<f4", &[0, 4, 4, 1], false, &[]));
    assert!(matches!(
        load_dataset(&p, &mnist_input(), &opts()),
        Err(CalibError::EmptyData { .. })
    ));
    // a scalar
    write(&p, &npy_bytes("<f4", &[], false, &f32_bytes(&[1.0])));
    assert!(matches!(
        load_dataset(&p, &mnist_input(), &opts()),
        Err(CalibError::Shape { .. })
    ));
}

#[test]
fn npy_corrupt_headers_are_errors_without_huge_allocations() {
    let d = tmp_dir("npycorrupt");
    let p = d.join("x.npy");
    // data shorter than the shape
    write(
        &p,
        &npy_bytes("<f4", &[100, 4, 4, 1], false, &f32_bytes(&[0.0; 20])),
    );
    let e = load_dataset(&p, &mnist_input(), &opts()).unwrap_err();
    assert!(matches!(e, CalibError::Truncated { .. }), "{e}");
    // shape whose element count overflows u64 / usize
    write(
        &p,
        &npy_bytes("<f4", &[1 << 40, 1 << 40, 1 << 20], false, &[]),
    );
    assert!(matches!(
        read_npy(&p, None),
        Err(CalibError::Truncated { .. })
    ));
    // a huge but representable shape: rejected against the file size, nothing allocated
    write(
        &p,
        &npy_bytes("<f4", &[1 << 30, 1 << 20], false, &[0u8; 16]),
    );
    assert!(matches!(
        read_npy(&p, Some(10)),
        Err(CalibError::Truncated { .. })
    ));
    // header cut short, bad magic, garbage header
    write(&p, b"\x93NUMPY\x01\x00\xff\x00{'descr'");
    assert!(matches!(
        read_npy(&p, None),
        Err(CalibError::Truncated { .. })
    ));
    write(&p, b"\x93NUMPX\x01\x00\x10\x00{'descr': '<f4'}");
    assert!(read_npy(&p, None).is_err());
    let mut junk = npy_bytes("<f4", &[2], false, &f32_bytes(&[1.0, 2.0]));
    junk[20] = b'#';
    write(&p, &junk);
    assert!(read_npy(&p, None).is_err());
    write(&p, &[]);
    assert!(load_dataset(&p, &mnist_input(), &opts()).is_err());
}

#[test]
fn npy_fortran_order_is_transposed() {
    let d = tmp_dir("npyfortran");
    let p = d.join("x.npy");
    // C array [[1,2,3],[4,5,6]] written column-major
    write(
        &p,
        &npy_bytes("<f4", &[2, 3], true, &f32_bytes(&[1., 4., 2., 5., 3., 6.])),
    );
    let ds = load_dataset(&p, &[InputSpec::new("v", vec![3])], &opts()).unwrap();
    assert_eq!(ds.samples()[0][0], vec![1., 2., 3.]);
    assert_eq!(ds.samples()[1][0], vec![4., 5., 6.]);
    let one = ReadOptions {
        max_samples: Some(1),
        ..opts()
    };
    let ds = load_dataset(&p, &[InputSpec::new("v", vec![3])], &one).unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds.samples()[0][0], vec![1., 2., 3.]);
}

#[test]
fn big_endian_npy_is_read() {
    let d = tmp_dir("npybe");
    let p = d.join("x.npy");
    let bytes: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    write(&p, &npy_bytes(">f4", &[2, 1], false, &bytes));
    let ds = load_dataset(&p, &[InputSpec::new("v", vec![1])], &opts()).unwrap();
    assert_eq!(ds.samples()[1][0], vec![-2.0]);
}

#[test]
fn npy_written_by_npyz_is_read() {
    let d = tmp_dir("npyz");
    let p = d.join("x.npy");
    let vals: Vec<f32> = (0..32).map(|i| i as f32).collect();
    let mut buf = Vec::new();
    {
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2, 4, 4, 1])
            .writer(&mut buf)
            .begin_nd()
            .unwrap();
        w.extend(vals.iter().copied()).unwrap();
        w.finish().unwrap();
    }
    write(&p, &buf);
    let ds = load_dataset(&p, &mnist_input(), &opts()).unwrap();
    assert_eq!(ds.samples()[1][0][15], 31.0);
}

// ------------------------------------------------------------------ .npz

#[test]
fn npz_multi_input_by_name_with_labels() {
    let d = tmp_dir("npz");
    let p = d.join("data.npz");
    let a: Vec<f32> = (0..8).map(|i| i as f32).collect();
    let b: Vec<u8> = (0..12).collect();
    let labels: Vec<u8> = [3i64, 1, 4, 1]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    npz(
        &p,
        &[
            ("tokens_b", npy_bytes("|u1", &[4, 3], false, &b)),
            ("input_a", npy_bytes("<f4", &[4, 2], false, &f32_bytes(&a))),
            ("labels", npy_bytes("<i8", &[4], false, &labels)),
        ],
        false,
    );
    assert_eq!(detect_format(&p).unwrap(), DataFormat::Npz);
    let inputs = vec![
        InputSpec::new("input_a", vec![2]),
        InputSpec::new("tokens_b", vec![3]),
    ];
    let o = ReadOptions {
        std: vec![1.0],
        ..opts()
    };
    let ds = load_dataset(&p, &inputs, &o).unwrap();
    assert_eq!(ds.len(), 4);
    assert_eq!(ds.samples()[2][0], vec![4.0, 5.0]);
    assert_eq!(ds.samples()[2][1], vec![6.0, 7.0, 8.0]);
    assert_eq!(ds.labels(), Some(&[3u32, 1, 4, 1][..]));
    let limited = ReadOptions {
        max_samples: Some(2),
        ..o.clone()
    };
    let ds = load_dataset(&p, &inputs, &limited).unwrap();
    assert_eq!((ds.len(), ds.labels().map(<[u32]>::len)), (2, Some(2)));

    // a model input missing from the archive: the error names it and lists the arrays
    let missing = vec![
        InputSpec::new("input_a", vec![2]),
        InputSpec::new("mask", vec![3]),
    ];
    let e = load_dataset(&p, &missing, &o).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, CalibError::MissingInput { .. }), "{msg}");
    assert!(
        msg.contains("'mask'") && msg.contains("tokens_b") && msg.contains("input_a"),
        "{msg}"
    );
    let all = read_npz(&p, None).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].0, "input_a");
}

#[test]
fn npz_single_array_any_name_deflated() {
    let d = tmp_dir("npz1");
    let p = d.join("data.npz");
    let vals: Vec<f32> = (0..2 * 16).map(|i| i as f32).collect();
    npz(
        &p,
        &[(
            "arr_0",
            npy_bytes("<f4", &[2, 4, 4, 1], false, &f32_bytes(&vals)),
        )],
        true,
    );
    let ds = load_dataset(&p, &mnist_input(), &opts()).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.samples()[1][0][0], 16.0);
}

#[test]
fn npz_errors() {
    let d = tmp_dir("npzerr");
    let p = d.join("data.npz");
    // sample counts differ between inputs
    npz(
        &p,
        &[
            (
                "a",
                npy_bytes("<f4", &[3, 1], false, &f32_bytes(&[1.0, 2.0, 3.0])),
            ),
            (
                "b",
                npy_bytes("<f4", &[2, 1], false, &f32_bytes(&[1.0, 2.0])),
            ),
        ],
        false,
    );
    let inputs = vec![InputSpec::new("a", vec![1]), InputSpec::new("b", vec![1])];
    let msg = load_dataset(&p, &inputs, &opts()).unwrap_err().to_string();
    assert!(
        msg.contains("3 samples") || msg.contains("2 samples"),
        "{msg}"
    );
    // NaN in the second input names it
    npz(
        &p,
        &[
            (
                "a",
                npy_bytes("<f4", &[2, 1], false, &f32_bytes(&[1.0, 2.0])),
            ),
            (
                "b",
                npy_bytes("<f4", &[2, 1], false, &f32_bytes(&[1.0, f32::NAN])),
            ),
        ],
        false,
    );
    match load_dataset(&p, &inputs, &opts()) {
        Err(CalibError::NonFiniteData { input, sample, .. }) => {
            assert_eq!((input.as_str(), sample), ("b", 1))
        }
        other => panic!("{other:?}"),
    }
    // empty archive and a non-zip file named .npz
    npz(&p, &[], false);
    assert!(matches!(
        load_dataset(&p, &inputs, &opts()),
        Err(CalibError::EmptyData { .. })
    ));
    write(&p, b"not a zip archive at all");
    assert!(matches!(
        load_dataset(&p, &inputs, &opts()),
        Err(CalibError::Format { .. })
    ));
    // single-array formats refuse multi-input models
    let q = d.join("x.npy");
    write(&q, &npy_bytes("<f4", &[1, 1], false, &f32_bytes(&[1.0])));
    let msg = load_dataset(&q, &inputs, &opts()).unwrap_err().to_string();
    assert!(msg.contains(".npz") && msg.contains("a, b"), "{msg}");
}

// ------------------------------------------------------------------ IDX

fn synthetic_images(n: usize) -> Vec<u8> {
    (0..n * 16).map(|i| (i * 7 % 256) as u8).collect()
}

#[test]
fn idx_plain_and_gzip() {
    let d = tmp_dir("idx");
    let raw = idx_bytes(0x08, &[5, 4, 4], &synthetic_images(5));
    let p = d.join("train-images-idx3-ubyte");
    write(&p, &raw);
    let pg = d.join("train-images-idx3-ubyte.gz");
    write(&pg, &gz(&raw));
    assert_eq!(detect_format(&p).unwrap(), DataFormat::Idx);
    assert_eq!(detect_format(&pg).unwrap(), DataFormat::Idx);
    let a = load_dataset(&p, &mnist_input(), &opts()).unwrap();
    let b = load_dataset(&pg, &mnist_input(), &opts()).unwrap();
    assert_eq!(a.samples(), b.samples());
    assert_eq!(a.len(), 5);
    assert_eq!(a.samples()[1][0][0], 112.0 / 255.0); // byte 16 * 7 = 112
    let limited = ReadOptions {
        max_samples: Some(2),
        ..opts()
    };
    assert_eq!(
        load_dataset(&pg, &mnist_input(), &limited).unwrap().len(),
        2
    );
    let arr = read_idx(&p, Some(2)).unwrap();
    assert_eq!(arr.dims, vec![2, 4, 4]);
    assert!(matches!(arr.data, IdxData::U8(ref v) if v.len() == 32));

    // float32 IDX
    let fl: Vec<u8> = [0.5f32, -1.0]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let pf = d.join("floats.idx");
    write(&pf, &idx_bytes(0x0D, &[2, 1], &fl));
    let ds = load_dataset(&pf, &[InputSpec::new("v", vec![1])], &opts()).unwrap();
    assert_eq!(ds.samples()[1][0], vec![-1.0]);
    // int16 IDX is not image data
    write(&pf, &idx_bytes(0x0B, &[2, 1], &[0, 1, 0, 2]));
    assert!(matches!(
        load_dataset(&pf, &[InputSpec::new("v", vec![1])], &opts()),
        Err(CalibError::DType { .. })
    ));
}

#[test]
fn idx_corrupt_files_are_errors() {
    let d = tmp_dir("idxerr");
    let p = d.join("bad-idx3-ubyte");
    let check = |bytes: &[u8], want: &str| {
        write(&p, bytes);
        let e = read_idx(&p, None).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(want), "expected '{want}' in: {msg}");
        // gzip-compressed variant fails the same way, never panics
        write(&p, &gz(bytes));
        assert!(read_idx(&p, None).is_err());
    };
    check(&[0, 0, 8], "header");
    check(&[0, 0, 8, 3, 0, 0, 0, 5, 0, 0], "dimensions");
    check(&[0, 0, 8, 0], "0 dimensions");
    check(&[0, 0, 0x42, 1, 0, 0, 0, 1, 7], "element type");
    // product of dimensions overflows: checked before any allocation
    check(
        &idx_bytes(0x0E, &[u32::MAX, u32::MAX, u32::MAX, u32::MAX], &[]),
        "overflow",
    );
    // huge declared data, little present: no huge allocation, clear error
    check(&idx_bytes(0x08, &[60000, 28, 28], &[1, 2, 3]), "60000");
    check(&idx_bytes(0x08, &[2, 2], &[1, 2, 3, 4, 5]), "after the");
    write(&p, &gz(&idx_bytes(0x08, &[2, 2], &[1, 2, 3, 4, 5])));
    assert!(read_idx(&p, None)
        .unwrap_err()
        .to_string()
        .contains("trailing"));
    // limited reads of a gz file with trailing data are fine (the rest is never read)
    assert_eq!(read_idx(&p, Some(1)).unwrap().dims, vec![1, 2]);
    write(&p, &[0x1f, 0x8b, 1, 2, 3]);
    assert!(read_idx(&p, None).is_err());
}

#[test]
fn labels_from_idx_and_npy() {
    let d = tmp_dir("labels");
    let p = d.join("train-labels-idx1-ubyte");
    write(&p, &idx_bytes(0x08, &[6], &[5, 0, 4, 1, 9, 2]));
    assert_eq!(read_labels(&p, None).unwrap(), vec![5, 0, 4, 1, 9, 2]);
    assert_eq!(read_labels(&p, Some(3)).unwrap(), vec![5, 0, 4]);
    let pg = d.join("labels.gz");
    write(&pg, &gz(&idx_bytes(0x08, &[3], &[7, 8, 9])));
    assert_eq!(read_labels(&pg, None).unwrap(), vec![7, 8, 9]);
    let pn = d.join("labels.npy");
    let v: Vec<u8> = [2i64, 0, 1].iter().flat_map(|x| x.to_le_bytes()).collect();
    write(&pn, &npy_bytes("<i8", &[3, 1], false, &v));
    assert_eq!(read_labels(&pn, None).unwrap(), vec![2, 0, 1]);
    let v: Vec<u8> = [2i32, -1].iter().flat_map(|x| x.to_le_bytes()).collect();
    write(&pn, &npy_bytes("<i4", &[2], false, &v));
    let msg = read_labels(&pn, None).unwrap_err().to_string();
    assert!(msg.contains("-1"), "{msg}");
    write(&pn, &npy_bytes("<f4", &[2], false, &f32_bytes(&[1.0, 2.0])));
    assert!(matches!(
        read_labels(&pn, None),
        Err(CalibError::DType { .. })
    ));
    write(&pn, &npy_bytes("<i4", &[2, 2], false, &[0u8; 16]));
    assert!(matches!(
        read_labels(&pn, None),
        Err(CalibError::Labels { .. })
    ));
    write(&pn, &npy_bytes("<i4", &[0], false, &[]));
    assert!(matches!(
        read_labels(&pn, None),
        Err(CalibError::EmptyData { .. })
    ));
    write(&p, &idx_bytes(0x08, &[2, 1], &[1, 2]));
    assert!(matches!(
        read_labels(&p, None),
        Err(CalibError::Labels { .. })
    ));
}

// ------------------------------------------------------------------ images

fn save_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y)));
    img.save(path).unwrap();
}

#[test]
fn image_folder_sorted_rgb_nhwc_and_nchw() {
    let d = tmp_dir("imgs");
    save_png(&d.join("b.png"), 2, 2, |_, _| [10, 20, 30]);
    save_png(&d.join("a.png"), 2, 2, |x, y| {
        [(x * 100) as u8, (y * 100) as u8, 255]
    });
    write(&d.join("README.txt"), b"not an image");
    write(&d.join(".hidden.png"), b"not even a png");
    let input = vec![InputSpec::new("image", vec![2, 2, 3])];
    let o = ReadOptions {
        mean: vec![0.0],
        std: vec![1.0],
        ..opts()
    };
    let ds = load_dataset(&d, &input, &o).unwrap();
    assert_eq!(ds.len(), 2);
    assert!(ds.labels().is_none());
    // a.png first; pixel (x=1, y=0) = [100, 0, 255]
    assert_eq!(&ds.samples()[0][0][3..6], &[100.0, 0.0, 255.0]);
    assert_eq!(&ds.samples()[1][0][0..3], &[10.0, 20.0, 30.0]);
    // NCHW with per-channel mean/std
    let input_c = vec![InputSpec::new("image", vec![3, 2, 2])];
    let oc = ReadOptions {
        layout: Layout::Nchw,
        mean: vec![10.0, 20.0, 30.0],
        std: vec![2.0, 4.0, 5.0],
        ..opts()
    };
    let ds = load_dataset(&d, &input_c, &oc).unwrap();
    assert_eq!(ds.samples()[1][0], vec![0.0; 12]);
    assert_eq!(ds.samples()[0][0][8..12], [45.0, 45.0, 45.0, 45.0]);
    // grayscale model input
    let gray = vec![InputSpec::new("image", vec![2, 2, 1])];
    let ds = load_dataset(&d, &gray, &o).unwrap();
    assert_eq!(ds.samples()[0][0].len(), 4);
}

#[test]
fn image_folder_resize_and_size_errors() {
    let d = tmp_dir("imgresize");
    save_png(&d.join("big.png"), 8, 6, |x, _| [(x * 30) as u8, 0, 0]);
    let input = vec![InputSpec::new("image", vec![3, 4, 3])];
    let e = load_dataset(&d, &input, &opts()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, CalibError::Shape { .. }), "{msg}");
    assert!(msg.contains("--resize 3,4") && msg.contains("6x8"), "{msg}");
    let o = ReadOptions {
        resize: Some((3, 4)),
        ..opts()
    };
    let ds = load_dataset(&d, &input, &o).unwrap();
    assert_eq!(ds.samples()[0][0].len(), 36);
    let r = &ds.samples()[0][0];
    assert!(r[0] < r[9], "red grows with x after resizing");
    let wrong = ReadOptions {
        resize: Some((5, 5)),
        ..opts()
    };
    let msg = load_dataset(&d, &input, &wrong).unwrap_err().to_string();
    assert!(msg.contains("--resize 5,5"), "{msg}");
    let bad_rank = vec![InputSpec::new("image", vec![3, 4, 3, 1])];
    assert!(matches!(
        load_dataset(&d, &bad_rank, &o),
        Err(CalibError::Shape { .. })
    ));
    let zero = ReadOptions {
        resize: Some((0, 4)),
        ..opts()
    };
    assert!(load_dataset(&d, &input, &zero).is_err());
}

#[test]
fn image_class_folders_give_labels_and_round_robin_limit() {
    let d = tmp_dir("imgclasses");
    for (class, n) in [("cat", 3), ("dog", 2), ("emu", 1)] {
        std::fs::create_dir(d.join(class)).unwrap();
        for i in 0..n {
            save_png(&d.join(class).join(format!("{i}.png")), 2, 2, |_, _| {
                [i as u8, 0, 0]
            });
        }
    }
    let input = vec![InputSpec::new("image", vec![2, 2, 3])];
    let ds = load_dataset(&d, &input, &opts()).unwrap();
    assert_eq!(ds.len(), 6);
    assert_eq!(ds.labels(), Some(&[0u32, 0, 0, 1, 1, 2][..]));
    assert_eq!(
        ds.class_names().unwrap(),
        &["cat".to_string(), "dog".into(), "emu".into()]
    );
    let o = ReadOptions {
        max_samples: Some(4),
        ..opts()
    };
    let ds = load_dataset(&d, &input, &o).unwrap();
    assert_eq!(ds.labels(), Some(&[0u32, 1, 2, 0][..]));
    // images beside class folders are ambiguous
    save_png(&d.join("stray.png"), 2, 2, |_, _| [0, 0, 0]);
    let msg = load_dataset(&d, &input, &opts()).unwrap_err().to_string();
    assert!(
        msg.contains("class sub-folders") && msg.contains("stray.png"),
        "{msg}"
    );
}

#[test]
fn image_folder_errors() {
    let d = tmp_dir("imgerr");
    let input = vec![InputSpec::new("image", vec![2, 2, 3])];
    assert!(matches!(
        load_dataset(&d, &input, &opts()),
        Err(CalibError::EmptyData { .. })
    ));
    write(&d.join("broken.jpg"), b"\xff\xd8\xff garbage");
    let e = load_dataset(&d, &input, &opts()).unwrap_err();
    assert!(e.to_string().contains("broken.jpg"), "{e}");
    let two = vec![
        InputSpec::new("a", vec![2, 2, 3]),
        InputSpec::new("b", vec![2, 2, 3]),
    ];
    assert!(matches!(
        load_dataset(&d, &two, &opts()),
        Err(CalibError::Config(_))
    ));
    let nope = d.join("does-not-exist.npy");
    assert!(matches!(
        load_dataset(&nope, &input, &opts()),
        Err(CalibError::Io { .. })
    ));
    let txt = d.join("data.txt");
    write(&txt, b"1,2,3");
    assert!(matches!(
        detect_format(&txt),
        Err(CalibError::Format { .. })
    ));
}

#[test]
fn jpeg_images_are_read() {
    let d = tmp_dir("jpeg");
    let img = image::RgbImage::from_fn(4, 4, |_, _| image::Rgb([200, 100, 50]));
    let mut bytes = Vec::new();
    // A baseline JPEG from the image crate's encoder (the `jpeg` feature decodes it).
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95);
    img.write_with_encoder(enc).unwrap();
    write(&d.join("x.jpeg"), &bytes);
    let ds = load_dataset(
        &d,
        &[InputSpec::new("image", vec![4, 4, 3])],
        &ReadOptions {
            mean: vec![0.0],
            std: vec![1.0],
            ..opts()
        },
    )
    .unwrap();
    let px = &ds.samples()[0][0];
    assert!(
        (px[0] - 200.0).abs() < 8.0 && (px[1] - 100.0).abs() < 8.0,
        "{:?}",
        &px[..3]
    );
}

// ------------------------------------------------------------------ real MNIST

fn mnist_dir() -> PathBuf {
    let cache = std::env::var_os("EDGEQUANT_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/edgequant")))
        .expect("HOME or EDGEQUANT_CACHE must be set");
    let dir = cache.join("mnist");
    for f in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        assert!(
            dir.join(f).is_file(),
            "{} is missing: run scripts/setup to fetch the real MNIST files",
            dir.join(f).display()
        );
    }
    dir
}

#[test]
fn real_mnist_calibration_images_and_labels() {
    let dir = mnist_dir();
    let input = vec![InputSpec::from_batched("input", &[1, 28, 28, 1]).unwrap()];
    let o = ReadOptions {
        max_samples: Some(100),
        ..opts()
    };
    let ds = load_dataset(&dir.join("train-images-idx3-ubyte"), &input, &o).unwrap();
    assert_eq!(ds.len(), 100);
    for s in ds.samples() {
        assert_eq!(s[0].len(), 784);
        assert!(s[0].iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(
            s[0].iter().any(|&v| v > 0.9),
            "every digit has bright pixels"
        );
    }
    let labels = read_labels(&dir.join("train-labels-idx1-ubyte"), Some(10)).unwrap();
    assert_eq!(labels, vec![5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let test_labels = read_labels(&dir.join("t10k-labels-idx1-ubyte"), None).unwrap();
    assert_eq!(test_labels.len(), 10_000);
    let mut counts = [0usize; 10];
    for l in &test_labels {
        counts[*l as usize] += 1;
    }
    assert_eq!(
        counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn real_mnist_full_test_set_and_gzip_round_trip() {
    let dir = mnist_dir();
    let input = vec![InputSpec::new("input", vec![28, 28, 1])];
    let path = dir.join("t10k-images-idx3-ubyte");
    let ds = load_dataset(&path, &input, &opts()).unwrap();
    assert_eq!(ds.len(), 10_000);
    let ds = ds
        .with_labels(read_labels(&dir.join("t10k-labels-idx1-ubyte"), None).unwrap())
        .unwrap();
    assert_eq!(ds.labels().unwrap()[0], 7);
    // the same bytes gzip-compressed read identically
    let d = tmp_dir("mnistgz");
    let gzp = d.join("t10k-images-idx3-ubyte.gz");
    write(&gzp, &gz(&std::fs::read(&path).unwrap()));
    let o = ReadOptions {
        max_samples: Some(500),
        ..opts()
    };
    let a = load_dataset(&gzp, &input, &o).unwrap();
    assert_eq!(a.samples(), &ds.samples()[..500]);
    // a truncated copy of the real file is an error naming the sizes
    let cut = d.join("t10k-cut");
    write(&cut, &std::fs::read(&path).unwrap()[..100_000]);
    let msg = load_dataset(&cut, &input, &opts()).unwrap_err().to_string();
    assert!(msg.contains("10000") && msg.contains("bytes"), "{msg}");
}

// ------------------------------------------------------------------ robustness

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn header_text() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec![
                "<f4", "<f8", "|u1", "<i8", ">f4", "<c8", "|b1", "<f2", "zz",
            ]),
            prop::collection::vec(0u64..70_000, 0..5),
            any::<bool>(),
        )
            .prop_map(|(d, s, f)| {
                let dims: Vec<String> = s.iter().map(|x| x.to_string()).collect();
                format!(
                    "{{'descr': '{d}', 'fortran_order': {}, 'shape': ({},), }}",
                    if f { "True" } else { "False" },
                    dims.join(", ")
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn npy_reader_never_panics(header in header_text(), body in prop::collection::vec(any::<u8>(), 0..300), flip in 0usize..400) {
            let d = tmp_dir("fuzznpy");
            let p = d.join("x.npy");
            let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend_from_slice(&body);
            if flip < bytes.len() {
                bytes[flip] ^= 0x5a;
            }
            write(&p, &bytes);
            let _ = read_npy(&p, None);
            let _ = read_npy(&p, Some(2));
            let _ = load_dataset(&p, &[InputSpec::new("x", vec![2])], &opts());
            let _ = read_labels(&p, None);
        }

        #[test]
        fn idx_reader_never_panics(
            ty in prop::sample::select(vec![0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x42]),
            dims in prop::collection::vec(any::<u32>(), 0..4),
            small_dims in prop::collection::vec(0u32..5, 0..4),
            use_small in any::<bool>(),
            body in prop::collection::vec(any::<u8>(), 0..200),
            compress in any::<bool>(),
        ) {
            let d = tmp_dir("fuzzidx");
            let p = d.join("x-idx");
            let dims = if use_small { small_dims } else { dims };
            let mut bytes = idx_bytes(ty, &dims, &body);
            if compress {
                bytes = gz(&bytes);
            }
            write(&p, &bytes);
            let _ = read_idx(&p, None);
            let _ = read_idx(&p, Some(1));
            let _ = load_dataset(&p, &[InputSpec::new("x", vec![2, 2])], &opts());
            let _ = read_labels(&p, None);
        }
    }
}
