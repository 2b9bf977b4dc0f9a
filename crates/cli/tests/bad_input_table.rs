//! Runs every row of the bad-input table in docs/BAD_INPUTS.md (issue 8 item 3), so the
//! document cannot drift from the binary: for each row the test builds the named bad file,
//! runs the command, and requires the exact exit code and the exact `error: ` line of stderr
//! (for exit 1 the only such line, and the last line: progress lines may precede it). No row
//! may leave an output file.
//!
//! Placeholders in the table: `{dir}` is a fresh temporary directory holding the files of the
//! "file" column (built here by name, see [`make`]), `float.tflite` (the tutorial CNN fixture)
//! and `relu.onnx` (a valid one-op ONNX model); outputs go to `{dir}/out.tflite` or
//! `{dir}/out.npz`.

mod common;
use common::*;
use edgequant_ir::ops::Relu;
use edgequant_ir::{DType, Graph, Tensor};
use edgequant_onnx::proto::{
    tensor_shape_proto::dimension::Value as Dim, tensor_shape_proto::Dimension, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use prost::Message;
use std::path::Path;

/// One row of the table.
struct Row {
    number: String,
    file: Option<String>,
    command: String,
    exit: i32,
    error: String,
}

fn unquote(cell: &str) -> String {
    let c = cell.trim();
    c.strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .unwrap_or(c)
        .to_string()
}

/// Rows of the first markdown table whose header starts with `| # |`.
fn table() -> Vec<Row> {
    let doc =
        std::fs::read_to_string(repo().join("docs/BAD_INPUTS.md")).expect("docs/BAD_INPUTS.md");
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in doc.lines() {
        if line.starts_with("| # |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        if !line.starts_with('|') {
            if !rows.is_empty() {
                break;
            }
            continue;
        }
        // | # | bad input | file | command | exit | error |
        let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 6, "table row with 6 cells expected: {line}");
        let file = unquote(cells[2]);
        rows.push(Row {
            number: cells[0].trim().to_string(),
            file: (file != "—").then_some(file),
            command: unquote(cells[3]),
            exit: cells[4].trim().parse().expect("exit code"),
            error: unquote(cells[5]).replace("\\|", "|"),
        });
    }
    rows
}

fn xorshift_bytes(n: usize, mut state: u32) -> Vec<u8> {
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// x → RELU → y with both shapes `shape`, written by edgequant.
fn relu_tflite(shape: &[usize]) -> Vec<u8> {
    let mut g = Graph::default();
    let x = g.add_tensor(Tensor::new("x", DType::F32, shape.to_vec()));
    let y = g.add_tensor(Tensor::new("y", DType::F32, shape.to_vec()));
    g.add_node("relu", Relu.into(), vec![Some(x)], vec![y]);
    g.inputs = vec![x];
    g.outputs = vec![y];
    edgequant_tflite::write_model(&g, "bad input table").expect("write relu model")
}

/// [`relu_tflite`] with every stored occurrence of each `(sentinel, value)` dimension
/// replaced, to produce shapes the writer would never write.
fn patched_relu(sentinels: &[(u32, i32)]) -> Vec<u8> {
    let shape: Vec<usize> = sentinels.iter().map(|&(s, _)| s as usize).collect();
    let mut b = relu_tflite(&shape);
    for &(s, v) in sentinels {
        let needle = s.to_le_bytes();
        let mut hits = 0;
        for i in 0..b.len() - 3 {
            if b[i..i + 4] == needle {
                b[i..i + 4].copy_from_slice(&v.to_le_bytes());
                hits += 1;
            }
        }
        assert_eq!(hits, 2, "sentinel {s} must occur in the shapes of x and y");
    }
    b
}

fn value_info(name: &str, dims: &[Dim]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(d.clone()),
                            denotation: None,
                        })
                        .collect(),
                }),
            })),
            denotation: None,
        }),
        doc_string: None,
    }
}

fn fixed(dims: &[i64]) -> Vec<Dim> {
    dims.iter().map(|&d| Dim::DimValue(d)).collect()
}

fn onnx_node(op: &str, name: &str, ins: &[&str], outs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: outs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn onnx_model(graph: GraphProto) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(13),
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// x [1,4] → Relu → y, with `nodes` replacing the Relu when given.
fn onnx_graph(nodes: Option<Vec<NodeProto>>, x: Vec<Dim>, out: &str) -> GraphProto {
    GraphProto {
        name: Some("g".into()),
        node: nodes.unwrap_or_else(|| vec![onnx_node("Relu", "relu", &["x"], &["y"])]),
        input: vec![value_info("x", &x)],
        output: vec![value_info(out, &[])],
        ..Default::default()
    }
}

fn valid_onnx() -> Vec<u8> {
    onnx_model(onnx_graph(None, fixed(&[1, 4]), "y"))
}

/// `.npy` bytes (format 1.0) with header dictionary `dict` followed by `data`.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

fn npy_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let arr = edgequant::arrays::Array {
        dtype: DType::F32,
        shape: shape.to_vec(),
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    };
    edgequant::arrays::encode_npy(&arr).expect("encode npy")
}

fn idx(type_byte: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, type_byte, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn npz(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        z.start_file(format!("{name}.npy"), opts)
            .expect("zip member");
        std::io::Write::write_all(&mut z, bytes).expect("zip write");
    }
    z.finish().expect("zip finish").into_inner()
}

/// The bytes of the bad file named `name` in the table.
fn make(name: &str) -> Vec<u8> {
    let float = std::fs::read(fixture("tutorial_cnn/float.tflite")).expect("float fixture");
    let sample = vec![0.5f32; 28 * 28];
    match name {
        "empty.tflite" => Vec::new(),
        "truncated.tflite" => float[..1000].to_vec(),
        "random_tfl3.tflite" => {
            let mut b = xorshift_bytes(4096, 0x9e37_79b9);
            b[4..8].copy_from_slice(b"TFL3");
            b
        }
        "wrong_identifier.tflite" => {
            let mut b = float;
            b[4..8].copy_from_slice(b"XXXX");
            b
        }
        "notes.txt" => b"these are not the weights you are looking for".to_vec(),
        "huge_tensor.tflite" => patched_relu(&[(77_001, 1 << 20), (77_003, 1 << 20)]),
        "overflow_shape.tflite" => patched_relu(&[
            (77_001, i32::MAX),
            (77_003, i32::MAX),
            (77_007, i32::MAX),
        ]),
        "negative_dim.tflite" => patched_relu(&[(77_001, 5), (77_003, -3)]),
        "unknown_custom_op.tflite" => {
            let mut b = std::fs::read(model("selfie_segmentation.tflite")).expect("read");
            let needle = b"Convolution2DTransposeBias";
            let pos = b
                .windows(needle.len())
                .position(|w| w == needle)
                .expect("custom op name in the model");
            b[pos + needle.len() - 1] = b'X';
            b
        }
        "random.onnx" => xorshift_bytes(4096, 0x1234_5678),
        "truncated.onnx" => {
            let b = valid_onnx();
            b[..b.len() / 2].to_vec()
        }
        "cycle.onnx" => onnx_model(onnx_graph(
            Some(vec![
                onnx_node("Add", "a", &["x", "b_out"], &["a_out"]),
                onnx_node("Relu", "b", &["a_out"], &["b_out"]),
            ]),
            fixed(&[1, 4]),
            "b_out",
        )),
        "deeply_nested.onnx" => {
            let mut g = onnx_graph(None, fixed(&[1, 4]), "y");
            for depth in 0..200 {
                let mut n = onnx_node("If", &format!("if{depth}"), &["c"], &["y"]);
                n.attribute = vec![AttributeProto {
                    name: Some("then_branch".into()),
                    g: Some(g),
                    ..Default::default()
                }];
                g = onnx_graph(Some(vec![n]), fixed(&[1, 4]), "y");
            }
            onnx_model(g)
        }
        "huge_initializer.onnx" => {
            let mut g = onnx_graph(
                Some(vec![onnx_node("Add", "add", &["x", "w"], &["y"])]),
                fixed(&[1, 4]),
                "y",
            );
            g.initializer = vec![TensorProto {
                name: Some("w".into()),
                dims: vec![1 << 20, 1 << 20],
                data_type: Some(1),
                ..Default::default()
            }];
            onnx_model(g)
        }
        "huge_input.onnx" => onnx_model(onnx_graph(None, fixed(&[1, 1 << 20, 1 << 20]), "y")),
        "unsupported_op.onnx" => onnx_model(onnx_graph(
            Some(vec![
                onnx_node("Relu", "r", &["x"], &["t"]),
                onnx_node("Frobnicate", "frob", &["t"], &["u"]),
                onnx_node("Einsum", "ein", &["u"], &["y"]),
            ]),
            fixed(&[1, 4]),
            "y",
        )),
        "dynamic_input.onnx" => onnx_model(onnx_graph(
            None,
            vec![Dim::DimParam("batch".into()), Dim::DimValue(4)],
            "y",
        )),
        "huge_header.npy" => {
            let mut b = b"\x93NUMPY\x02\x00".to_vec();
            b.extend_from_slice(&(1u32 << 30).to_le_bytes());
            b.extend_from_slice(b"{'descr': '<f4', ");
            b
        }
        "deeply_nested.npy" => npy(
            &format!(
                "{{'descr': '<f4', 'fortran_order': False, 'shape': (1, 28, 28, 1), 'x': {}1{}}}",
                "{".repeat(30),
                "}".repeat(30)
            ),
            &[0; 3136],
        ),
        "huge_shape.npy" => npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 28, 28, 1), }",
            &[0; 64],
        ),
        "overflow_shape.npy" => npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904, 28, 1), }",
            &[0; 64],
        ),
        "truncated.npy" => {
            let b = npy_f32(&[10, 28, 28, 1], &vec![0.5; 10 * 28 * 28]);
            b[..b.len() - 1000].to_vec()
        }
        "wrong_sample_shape.npy" => npy_f32(&[2, 32, 32, 1], &vec![0.5; 2 * 32 * 32]),
        "nan.npy" => {
            let mut v = [sample.clone(), sample.clone(), sample.clone()].concat();
            v[28 * 28 + 5] = f32::NAN;
            npy_f32(&[3, 28, 28, 1], &v)
        }
        "complex.npy" => npy(
            "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 28, 28, 1), }",
            &vec![0; 2 * 28 * 28 * 8],
        ),
        "int32.npy" => npy(
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 28, 28, 1), }",
            &vec![0; 2 * 28 * 28 * 4],
        ),
        "no_samples.npy" => npy_f32(&[0, 28, 28, 1], &[]),
        "good.npy" => npy_f32(&[2, 28, 28, 1], &[sample.clone(), sample.clone()].concat()),
        "missing_input.npz" => npz(&[
            ("a", npy_f32(&[1, 28, 28, 1], &sample)),
            ("b", npy_f32(&[1, 28, 28, 1], &sample)),
        ]),
        "huge_dims.idx" => idx(0x08, &[1 << 20, 1 << 20, 1 << 20], &[0; 64]),
        "overflow_dims.idx" => idx(0x0D, &[u32::MAX, u32::MAX, u32::MAX, u32::MAX], &[0; 64]),
        "bad_type.idx" => idx(0x07, &[2, 28, 28], &vec![0; 2 * 28 * 28]),
        "truncated.idx" => idx(0x08, &[10, 28, 28], &vec![7; 3 * 28 * 28]),
        "corrupt.idx.gz" => {
            let mut b = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
            b.extend_from_slice(&xorshift_bytes(256, 0x0bad_cafe));
            b
        }
        other => panic!("docs/BAD_INPUTS.md names file '{other}' that this test cannot build"),
    }
}

fn run_row(dir: &Path, row: &Row) -> Result<(), String> {
    let cmd = row.command.replace("{dir}", &s(dir));
    let args: Vec<&str> = cmd.split_whitespace().collect();
    let out = edgequant_raw(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let dir_s = s(dir);
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    let first = error_lines
        .first()
        .copied()
        .unwrap_or("")
        .replace(&dir_s, "{dir}");
    let mut problems = Vec::new();
    if out.status.code() != Some(row.exit) {
        problems.push(format!(
            "exit {:?}, table says {}",
            out.status.code(),
            row.exit
        ));
    }
    if first != row.error {
        problems.push(format!(
            "the error line differs:\n    got:   `{first}`\n    table: `{}`",
            row.error
        ));
    }
    if row.exit == 1
        && (error_lines.len() != 1
            || stderr.trim_end().lines().last() != error_lines.first().copied())
    {
        problems.push(format!(
            "bad-input errors are one line, the last of stderr, got:\n{stderr}"
        ));
    }
    if stderr.contains("internal error") || stderr.contains("panicked") {
        problems.push(format!("a panic: {stderr}"));
    }
    for o in ["out.tflite", "out.npz"] {
        if dir.join(o).exists() {
            let _ = std::fs::remove_file(dir.join(o));
            problems.push(format!("{o} written despite the error"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "row {} ({cmd}): {}",
            row.number,
            problems.join("; ")
        ))
    }
}

#[test]
fn every_row_of_the_bad_input_table() {
    let rows = table();
    assert!(
        rows.len() >= 25,
        "the table has {} rows, at least 25 expected",
        rows.len()
    );
    let dir = tempdir("bad_table");
    std::fs::copy(
        fixture("tutorial_cnn/float.tflite"),
        dir.join("float.tflite"),
    )
    .expect("copy");
    std::fs::write(dir.join("relu.onnx"), valid_onnx()).expect("write");
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        assert!(
            seen.insert(row.number.clone()),
            "row number {} repeated",
            row.number
        );
        if let Some(f) = &row.file {
            if f != "missing.tflite" {
                std::fs::write(dir.join(f), make(f)).expect("write bad file");
            }
        }
    }
    let failures: Vec<String> = rows.iter().filter_map(|r| run_row(&dir, r).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
