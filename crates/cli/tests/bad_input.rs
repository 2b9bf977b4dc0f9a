//! Corrupt and hostile model files give a one-line error and exit code 1, never a panic
//! (issue 2 item 6).

mod common;
use common::*;

fn expect_clean_error(tag: &str, bytes: &[u8], ext: &str) -> String {
    let dir = tempdir(tag);
    let p = dir.join(format!("bad.{ext}"));
    std::fs::write(&p, bytes).expect("write");
    let mut last = String::new();
    for cmd in [
        vec!["inspect", &s(&p) as &str],
        vec!["convert", &s(&p), "-o", &s(&dir.join("o.tflite"))],
    ] {
        let out = edgequant_raw(&cmd);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{tag}: {cmd:?} exit status; stderr: {err}"
        );
        assert!(err.starts_with("error: "), "{tag}: stderr: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{tag}: one line expected: {err}"
        );
        assert!(
            !dir.join("o.tflite").exists(),
            "{tag}: output written despite error"
        );
        last = err;
    }
    let _ = std::fs::remove_dir_all(&dir);
    last
}

fn real() -> Vec<u8> {
    std::fs::read(model("hand_recrop.tflite")).expect("read model")
}

#[test]
fn truncated_files() {
    let b = real();
    for cut in [0, 3, 8, 100, b.len() / 2, b.len() - 1] {
        expect_clean_error(&format!("trunc{cut}"), &b[..cut], "tflite");
    }
}

#[test]
fn random_bytes() {
    let mut state = 0x9e37_79b9_u32;
    for n in [16usize, 1000, 100_000] {
        let bytes: Vec<u8> = (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        expect_clean_error(&format!("random{n}"), &bytes, "tflite");
    }
}

#[test]
fn wrong_file_identifier() {
    let mut b = real();
    b[4..8].copy_from_slice(b"XXXX");
    let err = expect_clean_error("ident", &b, "tflite");
    assert!(err.contains("TFL3"), "{err}");
}

#[test]
fn corrupted_bytes_never_panic() {
    let b = real();
    let mut state = 0x1234_5678_u32;
    for round in 0..40 {
        let mut m = b.clone();
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let pos = 8 + (state as usize) % (m.len().min(4096) - 8);
            m[pos] ^= (state >> 24) as u8 | 1;
        }
        let dir = tempdir(&format!("flip{round}"));
        let p = dir.join("m.tflite");
        std::fs::write(&p, &m).expect("write");
        let out = edgequant_raw(&["inspect", &s(&p)]);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(1),
            "round {round}: exit {code:?}, stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn missing_file_and_unknown_format() {
    let out = edgequant_raw(&["inspect", "/nonexistent/model.tflite"]);
    assert_eq!(out.status.code(), Some(1));
    expect_clean_error("unknown", b"hello world, not a model", "bin");
}

#[test]
fn usage_error_exit_code() {
    let out = edgequant_raw(&["inspect"]);
    assert_eq!(out.status.code(), Some(2));
    let out = edgequant_raw(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn failed_run_keeps_existing_output_and_leaves_no_temp_files() {
    let dir = tempdir("atomic");
    let out = dir.join("model.tflite");
    std::fs::write(&out, b"previous contents").expect("write");
    let bad = dir.join("bad.tflite");
    std::fs::write(&bad, b"TFL3 but not a model").expect("write");
    let r = edgequant_raw(&["convert", &s(&bad), "-o", &s(&out)]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(std::fs::read(&out).expect("read"), b"previous contents");
    let good = model("hand_recrop.tflite");
    edgequant(&["convert", &s(&good), "-o", &s(&out)]);
    assert_eq!(
        &std::fs::read(&out).expect("read")[4..8],
        b"TFL3",
        "replaced on success"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn edgequant_env(args: &[&str], key: &str, value: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_edgequant"))
        .args(args)
        .env(key, value)
        .output()
        .expect("spawn edgequant")
}

fn assert_internal_error(out: &std::process::Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{what}: stderr: {err}");
    assert!(
        err.lines().any(|l| l.starts_with("internal error: ")),
        "{what}: {err}"
    );
    for needle in [
        "fault injected",
        "This is a bug in edgequant",
        "report it with the command line",
        "model file",
    ] {
        assert!(
            err.contains(needle),
            "{what}: '{needle}' missing from: {err}"
        );
    }
    assert!(
        !err.contains("RUST_BACKTRACE"),
        "{what}: raw panic output: {err}"
    );
}

fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// Exit codes are distinct: 0 ok, 1 bad input, 2 usage, 70 internal (a caught panic).
#[test]
fn exit_codes_are_distinct_and_panics_are_internal_errors() {
    let dir = tempdir("exit_codes");
    let good = fixture("tutorial_cnn/float.tflite");
    let out = dir.join("o.tflite");
    assert_eq!(
        edgequant_raw(&["convert", &s(&good), "-o", &s(&out)])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        edgequant_raw(&["inspect", "/nonexistent.tflite"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        edgequant_raw(&["inspect", "--bogus"]).status.code(),
        Some(2)
    );
    let r = edgequant_env(
        &["inspect", &s(&good)],
        edgequant::exit::INJECT_PANIC_ENV,
        "main",
    );
    assert_internal_error(&r, "panic in main");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A crash after the temporary file is written but before the rename leaves an existing output
/// untouched, and nothing (partial or whole) at the output path when there was none.
#[test]
fn crash_while_writing_keeps_existing_output() {
    let dir = tempdir("crash_write");
    let good = fixture("tutorial_cnn/float.tflite");
    let out = dir.join("model.tflite");
    std::fs::write(&out, b"previous contents").expect("write");
    for args in [
        vec!["convert".to_string(), s(&good), "-o".into(), s(&out)],
        vec![
            "quantize".to_string(),
            s(&good),
            "-o".into(),
            s(&out),
            "--mode".into(),
            "dynamic".into(),
        ],
    ] {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = edgequant_env(&refs, edgequant::exit::INJECT_PANIC_ENV, "write");
        assert_internal_error(&r, &args[0]);
        assert_eq!(
            std::fs::read(&out).expect("read"),
            b"previous contents",
            "{}: existing output replaced by a crashed run",
            args[0]
        );
    }
    let fresh = dir.join("fresh.tflite");
    let r = edgequant_env(
        &["convert", &s(&good), "-o", &s(&fresh)],
        edgequant::exit::INJECT_PANIC_ENV,
        "write",
    );
    assert_internal_error(&r, "fresh output");
    assert!(!fresh.exists(), "a crashed run created the output path");
    // The crashed runs' temporary files are hidden siblings, never the output path.
    for t in temp_files(&dir) {
        assert!(t.starts_with('.'), "temporary file {t} is not hidden");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run killed (SIGKILL) in the middle of a slow calibration leaves the existing output as it
/// was and writes nothing else to the output path.
#[test]
fn killed_quantize_keeps_existing_output() {
    let dir = tempdir("kill_quant");
    let good = fixture("tutorial_cnn/float.tflite");
    // 30000 real MNIST training images: several seconds of calibration.
    let train = cache().join("mnist/train-images-idx3-ubyte");
    assert!(
        train.exists(),
        "missing {}: run scripts/setup",
        train.display()
    );
    let out = dir.join("model.tflite");
    std::fs::write(&out, b"previous contents").expect("write");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_edgequant"))
        .args([
            "quantize",
            &s(&good),
            "-o",
            &s(&out),
            "--mode",
            "int8",
            "--data",
            &s(&train),
            "--samples",
            "30000",
            "--calibrator",
            "entropy",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let finished_early = child.try_wait().expect("try_wait").is_some();
    assert!(
        !finished_early,
        "quantize of 30000 samples finished within 1.5 s: the kill would not interrupt it"
    );
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert_eq!(std::fs::read(&out).expect("read"), b"previous contents");
    let others: Vec<String> = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "model.tflite" && !n.starts_with('.'))
        .collect();
    assert!(
        others.is_empty(),
        "files left by the killed run: {others:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
