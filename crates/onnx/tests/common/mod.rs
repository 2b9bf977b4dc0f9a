//! Shared helpers of the ONNX integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The edgequant cache (`$EDGEQUANT_CACHE`, default `$HOME/.cache/edgequant`).
pub fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("EDGEQUANT_CACHE") {
        return PathBuf::from(c);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache").join("edgequant")
}

/// A required file or directory of the test material; panics (failing the test) with a
/// pointer to scripts/setup when it is missing.
pub fn require(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} not found at {}: run scripts/setup (it fetches and generates the test material)",
        path.display()
    );
    path
}

/// Relative L2 error `|a - b| / |b|`.
pub fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let den: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (num / den.max(1e-300)).sqrt()
}
