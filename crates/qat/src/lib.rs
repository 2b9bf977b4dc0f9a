//! edgequant training and quantization-aware training (DESIGN.md section 2, issue 6).
//!
//! A [`Model`] comes from a model description ([`Spec::parse`] + [`Spec::build`], format in
//! docs/SPEC.md) or from a float IR graph ([`Model::from_graph`], e.g. an imported .tflite or
//! ONNX model to fine-tune). [`train`] lowers its layers to burn ops (Flex CPU backend with
//! autodiff) and trains it with Adam and sparse categorical cross-entropy; with
//! [`TrainOptions::qat`] it trains quantization-aware: weights are fake-quantized per channel
//! (symmetric, narrow range), activations with moving-average min/max observers on exactly the
//! tensors that become integer tensors in the exported graph, after a quant delay, with batch
//! norms folded into their convolution (batch-statistics correction, frozen after
//! `freeze_bn`). [`export_float`] gives the float IR graph, [`export_int8`] the fully-integer
//! graph from the learned ranges, [`to_tflite`] the file bytes.
//!
//! ```no_run
//! # fn main() -> Result<(), edgequant_qat::QatError> {
//! # let (data, labels): (edgequant_calib::Dataset, Vec<u32>) = unimplemented!();
//! let spec = edgequant_qat::Spec::parse(&std::fs::read_to_string("specs/tutorial_cnn.spec").unwrap(), "tutorial_cnn.spec")?;
//! let mut model = spec.build(42)?;
//! let opts = edgequant_qat::TrainOptions { epochs: 2, ..Default::default() };
//! edgequant_qat::train(&mut model, &data, &labels, &opts, &mut |_| {})?;
//! let float = edgequant_qat::export_float(&model)?;
//! # Ok(()) }
//! ```

mod batchnorm;
mod conv;
mod error;
mod export;
mod model;
mod pool;
mod prim;
mod schedule;
mod spec;
mod train;

pub use error::QatError;
pub use export::{export_float, export_graph, export_int8, learned_ranges, to_tflite, Exported};
pub use model::{Act, BatchNorm, Kind, Model, Node, ObsKey, Param};
pub use schedule::LrSchedule;
pub use spec::{Spec, SpecLayer, LAYER_TYPES};
pub use train::{
    argmax, check_data, evaluate, predict, train, QatOptions, StepInfo, TrainOptions, TrainReport,
};
