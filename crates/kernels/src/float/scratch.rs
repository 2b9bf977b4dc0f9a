//! Per-thread scratch buffers for kernels (im2col columns, expanded inputs).

use std::cell::RefCell;

/// Buffers larger than this are not kept between calls.
const KEEP_MAX: usize = 1 << 20;

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a scratch slice of `n` floats (contents unspecified) owned by the current
/// thread. Reentrant calls (never made by this crate) fall back to a fresh allocation.
pub(crate) fn with_scratch<R>(n: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    if n > KEEP_MAX {
        let mut v = vec![0.0; n];
        return f(&mut v);
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            if v.len() < n {
                v.resize(n, 0.0);
            }
            f(&mut v[..n])
        }
        Err(_) => {
            let mut v = vec![0.0; n];
            f(&mut v)
        }
    })
}
