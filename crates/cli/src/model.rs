//! Loading models of any supported format into the IR.

use anyhow::{bail, Context, Result};
use edgequant_ir::Graph;
use std::path::Path;

/// A model file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Tflite,
    Onnx,
}

impl Format {
    /// Name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tflite => "tflite",
            Format::Onnx => "onnx",
        }
    }
}

/// A model read from disk.
pub struct Loaded {
    pub graph: Graph,
    pub format: Format,
    pub size_bytes: u64,
    pub description: String,
}

/// Options that affect import.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Fixed shapes for model inputs with dynamic dimensions (ONNX), by input name.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Keep the source layout (NCHW) at the graph boundary (ONNX).
    pub keep_io_layout: bool,
}

/// Detects the format from the file contents: the `TFL3` flatbuffer identifier at byte 4 marks
/// .tflite; otherwise a `.onnx` extension marks ONNX.
pub fn detect(path: &Path, bytes: &[u8]) -> Result<Format> {
    if bytes.get(4..8) == Some(b"TFL3") {
        return Ok(Format::Tflite);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("onnx") => Ok(Format::Onnx),
        Some("tflite") => bail!(
            "'{}' is not a .tflite file: the flatbuffer identifier at byte 4 is not 'TFL3'",
            path.display()
        ),
        _ => bail!(
            "'{}': unknown model format (expected a .tflite file with identifier 'TFL3' or a .onnx file)",
            path.display()
        ),
    }
}

/// Reads and imports a model file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    load_bytes(path, &bytes, opts)
}

/// Imports a model from its file contents; `path` names it in errors and its extension is
/// used by [`detect`].
pub fn load_bytes(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Loaded> {
    let format = detect(path, bytes)?;
    let size_bytes = bytes.len() as u64;
    let (graph, description) = match format {
        Format::Tflite => {
            if !opts.input_shapes.is_empty() {
                bail!("--input-shape applies to ONNX models only");
            }
            let m = edgequant_tflite::read_model(bytes)
                .with_context(|| format!("cannot read '{}'", path.display()))?;
            (m.graph, m.description)
        }
        Format::Onnx => {
            let io = edgequant_onnx::ImportOptions {
                input_shapes: opts.input_shapes.iter().cloned().collect(),
                keep_io_layout: opts.keep_io_layout,
            };
            let g = edgequant_onnx::read_onnx(bytes, &io)
                .with_context(|| format!("cannot import '{}'", path.display()))?;
            (g, String::new())
        }
    };
    Ok(Loaded {
        graph,
        format,
        size_bytes,
        description,
    })
}
