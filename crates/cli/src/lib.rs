//! The `edgequant` command-line tool as a library: model loading, array files, atomic output
//! and the subcommands. The binary in `main.rs` only parses arguments and dispatches.

pub mod arrays;
pub mod cmd;
pub mod describe;
pub mod evaluate;
pub mod exit;
pub mod model;
pub mod output;
pub mod report;
pub mod values;
