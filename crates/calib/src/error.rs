use std::path::PathBuf;
use thiserror::Error;

/// Errors raised by observers, quantization-parameter helpers and data readers.
///
/// Observer errors ([`CalibError::NonFinite`], [`CalibError::NoData`]) carry no tensor or sample
/// name: the caller knows which tensor and which sample it was observing and wraps the error
/// (see [`CalibError::in_sample`]). Data-reader errors always name the file, and where it applies
/// the model input and the sample index.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CalibError {
    /// An observed value is NaN or infinite. `index` is the position inside the slice given to
    /// [`crate::Observer::observe`].
    #[error("value {value} at element {index} is not finite (NaN or infinity)")]
    NonFinite { index: usize, value: f32 },

    /// A [`CalibError::NonFinite`] (or other observer error) attributed by the caller to a tensor
    /// and a calibration sample.
    #[error("tensor '{tensor}', calibration sample {sample}: {source}")]
    InSample {
        tensor: String,
        sample: usize,
        #[source]
        source: Box<CalibError>,
    },

    /// An observer was asked for a range before it saw any value.
    #[error("no values were observed")]
    NoData,

    /// A range given to a quantization-parameter helper is unusable.
    #[error("invalid range [{min}, {max}]: {reason}")]
    InvalidRange { min: f32, max: f32, reason: String },

    /// Invalid arguments (observer settings, read options, shapes given by the caller).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// Two observers of different kinds or settings cannot be merged.
    #[error("cannot merge observers: {0}")]
    Merge(String),

    /// An I/O error while reading a data file.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A data file is malformed or of an unrecognized format.
    #[error("{}: {reason}", path.display())]
    Format { path: PathBuf, reason: String },

    /// A data file's declared sizes do not match its contents (short read, trailing bytes,
    /// dimensions whose product overflows).
    #[error("{}: truncated or corrupt: {reason}", path.display())]
    Truncated { path: PathBuf, reason: String },

    /// A data source holds no sample.
    #[error("{}: no samples (empty data)", path.display())]
    EmptyData { path: PathBuf },

    /// The per-sample shape of the data does not match the model input.
    #[error("{}: model input '{input}' expects per-sample shape {expected:?}, data has {got:?}{hint}", path.display())]
    Shape {
        path: PathBuf,
        input: String,
        expected: Vec<usize>,
        got: Vec<usize>,
        hint: String,
    },

    /// The element type of an array is not one this reader accepts.
    #[error("{}: {what}: unsupported dtype {got} (expected {expected})", path.display())]
    DType {
        path: PathBuf,
        what: String,
        expected: String,
        got: String,
    },

    /// Calibration/evaluation data contains NaN or infinity.
    #[error("{}: model input '{input}', sample {sample}: value {value} at element {index} is not finite (NaN or infinity)", path.display())]
    NonFiniteData {
        path: PathBuf,
        input: String,
        sample: usize,
        index: usize,
        value: f32,
    },

    /// An `.npz` archive has no array for a model input.
    #[error("{}: no array for model input '{input}' (arrays in the archive: {available})", path.display())]
    MissingInput {
        path: PathBuf,
        input: String,
        available: String,
    },

    /// Labels are malformed or do not match the samples.
    #[error("{}: labels: {reason}", path.display())]
    Labels { path: PathBuf, reason: String },
}

impl CalibError {
    /// Attributes an observer error to `tensor` and calibration sample `sample`, so the user can
    /// find the offending input (for example a NaN in sample 17 of input `x`).
    pub fn in_sample(self, tensor: impl Into<String>, sample: usize) -> CalibError {
        CalibError::InSample {
            tensor: tensor.into(),
            sample,
            source: Box::new(self),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> CalibError {
        CalibError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> CalibError {
        CalibError::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn truncated(path: impl Into<PathBuf>, reason: impl Into<String>) -> CalibError {
        CalibError::Truncated {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
