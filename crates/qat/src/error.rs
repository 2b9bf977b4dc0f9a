use thiserror::Error;

/// Errors of model building, training and export. Messages name the spec line, layer, node,
/// file or sample they are about.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum QatError {
    /// A model description (spec) problem: `file:line: message`.
    #[error("{file}:{line}: {message}")]
    Spec {
        file: String,
        line: usize,
        message: String,
    },
    /// A node of an imported graph that training cannot lower, or a malformed one.
    #[error("{0}")]
    Unsupported(String),
    /// Data or labels that do not fit the model or each other.
    #[error("{0}")]
    Data(String),
    /// Invalid training options.
    #[error("{0}")]
    Options(String),
    /// Training diverged (a non-finite loss).
    #[error("training diverged: loss is {loss} at step {step}")]
    Diverged { step: usize, loss: f32 },
    #[error(transparent)]
    Ir(#[from] edgequant_ir::IrError),
    #[error(transparent)]
    Quant(#[from] edgequant_quant::QuantError),
    #[error(transparent)]
    Calib(#[from] edgequant_calib::CalibError),
    #[error(transparent)]
    Tflite(#[from] edgequant_tflite::TfliteError),
}
