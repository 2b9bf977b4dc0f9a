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
