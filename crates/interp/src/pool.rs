//! Reuse of float32 buffers between nodes and between runs.

use crate::{TensorData, TensorValue};

/// Keep at most this many free buffers.
const MAX_FREE: usize = 32;

/// Free float32 buffers. Handing out a recycled buffer skips the allocation and the page
/// faults of a fresh one; contents are unspecified (kernels overwrite every output element).
#[derive(Debug, Default)]
pub(crate) struct Pool {
    free: Vec<Vec<f32>>,
}

impl Pool {
    /// A buffer of exactly `n` elements (contents unspecified).
    pub fn alloc(&mut self, n: usize) -> Vec<f32> {
        // Best fit among buffers not more than twice too large.
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= n && b.capacity() <= n.saturating_mul(2).max(64))
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                let mut v = self.free.swap_remove(i);
                if v.len() >= n {
                    v.truncate(n);
                } else {
                    v.resize(n, 0.0);
                }
                v
            }
            None => vec![0.0; n],
        }
    }

    /// Returns a buffer for reuse.
    pub fn recycle_vec(&mut self, v: Vec<f32>) {
        if v.capacity() == 0 {
            return;
        }
        if self.free.len() >= MAX_FREE {
            // Drop the smallest to keep the big (expensive) ones.
            if let Some((i, _)) = self
                .free
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| b.capacity())
            {
                if self.free[i].capacity() < v.capacity() {
                    self.free.swap_remove(i);
                } else {
                    return;
                }
            }
        }
        self.free.push(v);
    }

    /// Returns the buffer of a float32 value for reuse (other types are dropped).
    pub fn recycle(&mut self, v: TensorValue) {
        if let TensorData::F32(b) = v.data {
            self.recycle_vec(b);
        }
    }

    /// Moves all buffers of `other` into `self`.
    pub fn merge(&mut self, other: Pool) {
        for v in other.free {
            self.recycle_vec(v);
        }
    }
}
