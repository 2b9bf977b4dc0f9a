//! `edgequant demo` (issue 7 item 1): the README's main command, end to end, with no
//! arguments: every mode's model, accuracy on the 10k MNIST test images from edgequant and
//! LiteRT, and the HTML report.

mod common;
use common::*;
use std::path::Path;

#[test]
fn demo_writes_models_table_and_report() {
    let dir = tempdir("demo");
    let out_dir = dir.join("out");
    // The test environment is required (scripts/setup): the LiteRT column must be filled.
    python();
    let out = edgequant(&["demo", "--out", &s(&out_dir), "--runs", "5"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for f in [
        "float.tflite",
        "dynamic.tflite",
        "int8.tflite",
        "float16.tflite",
        "qat_int8.tflite",
        "report.html",
    ] {
        assert!(out_dir.join(f).exists(), "missing {f}\n{stdout}\n{stderr}");
    }
    assert!(stdout.contains("on 10000 MNIST test images"), "{stdout}");
    // One row per mode: edgequant accuracy, LiteRT accuracy (default kernels), size.
    let mut accs = Vec::new();
    for mode in [
        "float32",
        "dynamic range",
        "int8 (int8 I/O)",
        "float16",
        "QAT int8 (int8 I/O)",
    ] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(mode))
            .unwrap_or_else(|| panic!("no row '{mode}':\n{stdout}"));
        let cells: Vec<&str> = row[mode.len()..].split_whitespace().collect();
        let pct = |c: &str| -> f64 {
            c.trim_end_matches('%')
                .parse()
                .unwrap_or_else(|_| panic!("bad cell '{c}' in: {row}"))
        };
        let (ours, lite) = (pct(cells[0]), pct(cells[2]));
        let size: u64 = cells[3].parse().unwrap();
        let file = cells.last().unwrap();
        assert_eq!(
            size,
            std::fs::metadata(file).unwrap().len(),
            "size column of {mode}"
        );
        // The LiteRT column uses LiteRT's default kernels, whose integer rounding differs from
        // the reference kernels by up to 1 LSB depending on the CPU (measured on an AVX2-only
        // AMD EPYC: QAT int8 98.34 % vs 98.40 %, i.e. 6 of 10,000 predictions). edgequant
        // reproduces the reference kernels, so against those the accuracy must be identical.
        assert!(
            (0.0..=100.0).contains(&lite),
            "{mode}: LiteRT column {lite}"
        );
        let reference = litert_mnist_accuracy(Path::new(file), true)
            .1
            .map(|a| (a * 100.0).round() / 100.0)
            .expect("reference kernels");
        assert!(
            ours == reference,
            "{mode}: edgequant {ours} % vs LiteRT reference kernels {reference} %"
        );
        accs.push(ours);
    }
    // The demo trains the float model itself on 10,000 training images (3 epochs, seed 42):
    // measured 97.19 % on the 10k test set (TensorFlow's 1 epoch on all 60,000: 98.17 %).
    // DESIGN.md: every quantized mode within 0.3 points of float (TF's converter: −0.0 to
    // +0.1); the QAT model at least float − 0.3.
    assert!(accs[0] >= 96.5, "float model under-trained: {accs:?}");
    for a in &accs[1..4] {
        assert!((a - accs[0]).abs() <= 0.3, "{accs:?}");
    }
    assert!(accs[4] >= accs[0] - 0.3, "QAT below float: {accs:?}");
    // The int8 model's input scale and zero point are printed for the user.
    assert!(
        stderr.contains("scale") && stderr.contains("zero_point"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Layers to keep in float"));
}

/// Every subcommand's `--help` shows usage examples.
#[test]
fn every_subcommand_help_has_examples() {
    let top = edgequant(&["--help"]);
    let text = String::from_utf8_lossy(&top.stdout);
    let cmds: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Command names start at column 2; wrapped descriptions are indented further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    for want in [
        "inspect", "run", "convert", "quantize", "bench", "eval", "compare", "demo",
    ] {
        assert!(cmds.contains(&want), "'{want}' missing from {cmds:?}");
    }
    for c in cmds {
        let out = edgequant(&[c, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("Examples:"),
            "edgequant {c} --help has no examples:\n{help}"
        );
        assert!(
            help.contains(&format!("edgequant {c} ")),
            "edgequant {c} --help shows no example command line"
        );
    }
}
