//! One module per subcommand.

pub mod bench;
pub mod compare;
pub mod convert;
pub mod demo;
pub mod eval;
pub mod inspect;
pub mod preprocess;
pub mod qat;
pub mod quantize;
pub mod run;
pub mod target_accuracy;
pub mod train;
