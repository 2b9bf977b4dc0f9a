//! The `edgequant` command-line tool.

use clap::{Parser, Subcommand};
use edgequant::{cmd, exit};

/// edgequant: turn float neural networks into small, fast fixed-point .tflite models.
#[derive(Parser)]
#[command(name = "edgequant", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Inspect(cmd::inspect::Args),
    Run(cmd::run::Args),
    Convert(cmd::convert::Args),
    Quantize(cmd::quantize::Args),
    Bench(cmd::bench::Args),
    Demo(cmd::demo::Args),
    Eval(cmd::eval::Args),
    Train(cmd::train::Args),
    Qat(cmd::qat::Args),
    Compare(cmd::compare::Args),
}

fn main() {
    exit::install_panic_hook();
    let cli = Cli::parse();
    exit::fault_point("main");
    let result = match cli.command {
        Command::Inspect(a) => cmd::inspect::main(a),
        Command::Run(a) => cmd::run::main(a),
        Command::Convert(a) => cmd::convert::main(a),
        Command::Quantize(a) => cmd::quantize::main(a),
        Command::Bench(a) => cmd::bench::main(a),
        Command::Demo(a) => cmd::demo::main(a),
        Command::Eval(a) => cmd::eval::main(a),
        Command::Train(a) => cmd::train::main(a),
        Command::Qat(a) => cmd::qat::main(a),
        Command::Compare(a) => cmd::compare::main(a),
    };
    if let Err(e) = result {
        exit::report(&e);
    }
}
