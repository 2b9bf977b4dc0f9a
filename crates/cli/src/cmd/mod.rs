//! One module per subcommand.

pub mod bench;
pub mod convert;
pub mod demo;
pub mod eval;
pub mod inspect;
pub mod quantize;
pub mod run;
