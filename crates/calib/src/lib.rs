//! edgequant calibration.
//!
//! * [`observer`]: range observers that watch a tensor's values during calibration —
//!   [`MinMax`] (default), [`MovingAverageMinMax`] (TF QAT's EMA), and [`HistogramObserver`]
//!   with percentile, entropy (KL, TensorRT) or MSE range selection on an exactly mergeable
//!   [`Histogram`]. All deterministic; NaN/infinity is an error.
//! * [`params`]: float range → [`edgequant_ir::QuantParams`] per the TFLite quantization spec
//!   (DESIGN.md section 3), bit-exact with TensorFlow's converter: asymmetric int8 activations,
//!   symmetric per-channel narrow-range int8 weights, int16 activations, int32/int64 bias.
//! * [`data`]: calibration/evaluation [`Dataset`]s from `.npy`/`.npz`, IDX (MNIST, optionally
//!   gzip) and image folders, and label readers, with validation and clear errors.
//!
//! The crate depends only on `edgequant-ir`; it never edits graphs. Calibration drivers (the
//! interpreter's value hook, the `quant` passes) feed observers and turn ranges into parameters.

pub mod data;
mod error;
pub mod histogram;
pub mod observer;
pub mod params;

pub use data::{load_dataset, read_labels, Dataset, InputSpec, Layout, ReadOptions, Sample};
pub use error::CalibError;
pub use histogram::Histogram;
pub use observer::{
    AnyObserver, CalibratorKind, HistogramObserver, MinMax, MovingAverageMinMax, Observer,
    RangeMethod,
};
pub use params::{
    asymmetric_params, bias_params, int16_activation_params, int8_activation_params,
    int8_weight_params, quantize_int8_weights, uint8_params,
};
