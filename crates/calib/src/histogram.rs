//! An exactly mergeable, fixed-size histogram of f32 values and the range-selection algorithms
//! that run on it (percentile, entropy/KL, MSE).
//!
//! # Binning
//!
//! Bins have a width `w = 2^e` (a power of two) and are aligned on multiples of `w`: global
//! bin `k` holds the values `x` with `floor(x / w) == k`, i.e. `[k·w, (k+1)·w)`. The histogram
//! stores a window of `num_bins` consecutive bins starting at `origin = floor(min / w)`.
//! `e` is the smallest exponent (not below a floor tied to the largest magnitude, so that bin
//! indices stay far inside `i64`) for which `[min, max]` fits into `num_bins` bins.
//!
//! When new values widen the range, the histogram grows its range by re-binning, as ONNX
//! Runtime's `HistogramCollector` does, but with a fixed number of bins: doubling the width
//! merges bins pairwise, exactly (`floor(floor(x/w)/2) == floor(x/2w)`), so no count is ever
//! split or interpolated. Consequences, all tested:
//!
//! * the final histogram depends only on the multiset of observed values, not on their order
//!   nor on how they were split into batches;
//! * [`Histogram::merge`] is exact, commutative and associative, so per-thread histograms can be
//!   merged in any order with bit-identical results;
//! * memory is bounded (`num_bins` counters), unlike ORT's collector whose bin count grows.
//!
//! The price is resolution: the data range occupies between half and all of the `num_bins` bins.

use crate::error::CalibError;

/// Default number of histogram bins (TensorRT's and ONNX Runtime's default).
pub const DEFAULT_NUM_BINS: usize = 2048;

/// Smallest bin-width exponent; far below the smallest f32 subnormal (2^-149).
const MIN_LOG2_WIDTH: i32 = -200;

/// Bins are never narrower than `2^-FLOOR_BITS` times the largest observed magnitude, which
/// bounds bin indices by 2^41 (they must fit in i64 and in f64 exactly) and gives constant
/// tensors a sensible, deterministic width.
const FLOOR_BITS: i32 = 40;

/// `2^e` as f64, exact for `e` in the normal f64 exponent range (always the case here).
fn pow2(e: i32) -> f64 {
    let e = e.clamp(-1022, 1023);
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// Binary exponent of `|x|` (`floor(log2 |x|)`), exact for every f32 value; `-1023` for zero.
fn exponent(x: f32) -> i32 {
    let bits = (x as f64).abs().to_bits();
    ((bits >> 52) & 0x7ff) as i32 - 1023
}

/// `floor(t)` as an integer without a libm call (baseline x86-64 has no SSE4.1 `roundss`):
/// truncate, then step down for negative non-integers. Exact for `|t| < 2^62`; an f32 of
/// magnitude `>= 2^23` is an integer, so the comparison is exact too.
#[inline]
fn floor_f32(t: f32) -> i64 {
    let k = t as i64;
    k - i64::from((k as f32) > t)
}

/// As [`floor_f32`] for f64 (exact for `|t| < 2^62`).
#[inline]
fn floor_f64(t: f64) -> i64 {
    let k = t as i64;
    k - i64::from((k as f64) > t)
}

/// Rounds `x` to an f32 not above it.
pub(crate) fn f32_down(x: f64) -> f32 {
    let f = x as f32;
    if (f as f64) > x {
        f.next_down()
    } else {
        f
    }
}

/// Rounds `x` to an f32 not below it.
pub(crate) fn f32_up(x: f64) -> f32 {
    let f = x as f32;
    if (f as f64) < x {
        f.next_up()
    } else {
        f
    }
}

/// Minimum and maximum of `values`, or `None` for an empty slice. Errors with the first
/// non-finite element (NaN or ±infinity).
pub(crate) fn scan_finite(values: &[f32]) -> Result<Option<(f32, f32)>, CalibError> {
    if values.is_empty() {
        return Ok(None);
    }
    // Eight independent lanes with branch-free selects so the loop vectorizes; NaN never
    // wins a comparison, and the exponent test flags NaN and infinities.
    const LANES: usize = 8;
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let mut bad = [0u32; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for i in 0..LANES {
            let v = chunk[i];
            lo[i] = if v < lo[i] { v } else { lo[i] };
            hi[i] = if v > hi[i] { v } else { hi[i] };
            bad[i] |= u32::from(v.to_bits() & 0x7f80_0000 == 0x7f80_0000);
        }
    }
    for (i, &v) in tail.iter().enumerate() {
        lo[i] = if v < lo[i] { v } else { lo[i] };
        hi[i] = if v > hi[i] { v } else { hi[i] };
        bad[i] |= u32::from(v.to_bits() & 0x7f80_0000 == 0x7f80_0000);
    }
    if bad.iter().any(|&b| b != 0) {
        let (index, &value) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
            .unwrap_or((0, &f32::NAN));
        return Err(CalibError::NonFinite { index, value });
    }
    let lo = lo.iter().fold(f32::INFINITY, |a, &b| a.min(b));
    let hi = hi.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    Ok(Some((lo, hi)))
}

/// Fixed-size histogram with power-of-two bin widths; see the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    num_bins: usize,
    /// Empty until the first value; then exactly `num_bins` counters.
    counts: Vec<u64>,
    log2_width: i32,
    origin: i64,
    min: f32,
    max: f32,
    total: u64,
    zeros: u64,
}

impl Histogram {
    /// An empty histogram of `num_bins` bins. `num_bins` must be at least 16.
    pub fn new(num_bins: usize) -> Result<Self, CalibError> {
        if num_bins < 16 {
            return Err(CalibError::Config(format!(
                "a histogram needs at least 16 bins, got {num_bins}"
            )));
        }
        Ok(Histogram {
            num_bins,
            counts: Vec::new(),
            log2_width: MIN_LOG2_WIDTH,
            origin: 0,
            min: 0.0,
            max: 0.0,
            total: 0,
            zeros: 0,
        })
    }

    /// An empty histogram of [`DEFAULT_NUM_BINS`] bins.
    pub fn with_default_bins() -> Self {
        Histogram {
            num_bins: DEFAULT_NUM_BINS,
            counts: Vec::new(),
            log2_width: MIN_LOG2_WIDTH,
            origin: 0,
            min: 0.0,
            max: 0.0,
            total: 0,
            zeros: 0,
        }
    }

    /// Number of bins (fixed at construction).
    pub fn num_bins(&self) -> usize {
        self.num_bins
    }

    /// True until a value has been observed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Number of values observed.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Number of observed values that were exactly zero (±0.0).
    pub fn zeros(&self) -> u64 {
        self.zeros
    }

    /// Exact minimum and maximum of the observed values.
    pub fn min_max(&self) -> Option<(f32, f32)> {
        (!self.is_empty()).then_some((self.min, self.max))
    }

    /// Bin width (a power of two).
    pub fn bin_width(&self) -> f64 {
        pow2(self.log2_width)
    }

    /// Global index of the first stored bin: `counts()[j]` counts the values in
    /// `[(origin + j)·w, (origin + j + 1)·w)`.
    pub fn origin(&self) -> i64 {
        self.origin
    }

    /// The bin counters (empty before the first value).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Left edge of global bin `k`.
    fn edge(&self, k: i64) -> f64 {
        k as f64 * self.bin_width()
    }

    fn floor_log2_width(&self, maxabs: f32) -> i32 {
        (exponent(maxabs) - FLOOR_BITS).max(MIN_LOG2_WIDTH)
    }

    fn span(min: f32, max: f32, e: i32) -> i64 {
        let inv = pow2(-e);
        let hi = (max as f64 * inv).floor() as i64;
        let lo = (min as f64 * inv).floor() as i64;
        hi - lo + 1
    }

    /// Smallest width exponent `>= start` (and `>=` the magnitude floor) for which `[min, max]`
    /// fits into the bins. The set of admissible exponents is upward closed, so this is a pure
    /// function of `(min, max)` and `start`.
    fn required_log2_width(&self, min: f32, max: f32, start: i32) -> i32 {
        let maxabs = min.abs().max(max.abs());
        let mut e = start.max(self.floor_log2_width(maxabs));
        let len = max as f64 - min as f64;
        if len > 0.0 {
            // span(e) > len / 2^e, so any fitting e satisfies e > log2(len / num_bins).
            let lower = (len / self.num_bins as f64).log2().floor() as i32 - 1;
            e = e.max(lower);
        }
        while Self::span(min, max, e) > self.num_bins as i64 {
            e += 1;
        }
        e
    }

    /// Moves the stored counts to width exponent `e` (>= the current one) and the window that
    /// starts at `floor(min / 2^e)`.
    fn rebin(&mut self, min: f32, e: i32) {
        let origin = (min as f64 * pow2(-e)).floor() as i64;
        if self.counts.is_empty() {
            self.counts = vec![0; self.num_bins];
        } else if e != self.log2_width || origin != self.origin {
            let shift = (e - self.log2_width).clamp(0, 63) as u32;
            let mut counts = vec![0u64; self.num_bins];
            for (j, &c) in self.counts.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let k = (self.origin + j as i64) >> shift;
                let idx = (k - origin).clamp(0, self.num_bins as i64 - 1) as usize;
                counts[idx] += c;
            }
            self.counts = counts;
        }
        self.log2_width = e;
        self.origin = origin;
    }

    /// Adds `values` to the histogram, widening its range (by exact re-binning) if needed.
    ///
    /// Errors, leaving the histogram unchanged, if a value is NaN or infinite.
    pub fn observe(&mut self, values: &[f32]) -> Result<(), CalibError> {
        let Some((bmin, bmax)) = scan_finite(values)? else {
            return Ok(());
        };
        let (min, max, start) = if self.is_empty() {
            (bmin, bmax, MIN_LOG2_WIDTH)
        } else {
            (self.min.min(bmin), self.max.max(bmax), self.log2_width)
        };
        let e = self.required_log2_width(min, max, start);
        self.rebin(min, e);
        self.min = min;
        self.max = max;
        let origin = self.origin;
        let last = self.num_bins as i64 - 1;
        let mut zeros = 0u64;
        if (-126..=127).contains(&-e) {
            // 2^-e is an f32 and x * 2^-e is exact in f32 (|x| / w < 2^41 by construction):
            // same bins as the f64 path, faster.
            let inv = pow2(-e) as f32;
            for &x in values {
                let k = floor_f32(x * inv);
                let idx = (k - origin).clamp(0, last) as usize;
                self.counts[idx] += 1;
                zeros += u64::from(x == 0.0);
            }
        } else {
            let inv = pow2(-e);
            for &x in values {
                let k = floor_f64(x as f64 * inv);
                let idx = (k - origin).clamp(0, last) as usize;
                self.counts[idx] += 1;
                zeros += u64::from(x == 0.0);
            }
        }
        self.zeros += zeros;
        self.total += values.len() as u64;
        Ok(())
    }

    /// Adds the counts of `other`. Exact: the result equals the histogram of the union of both
    /// value multisets. Errors if the bin counts differ.
    pub fn merge(&mut self, other: &Histogram) -> Result<(), CalibError> {
        if self.num_bins != other.num_bins {
            return Err(CalibError::Merge(format!(
                "histograms have {} and {} bins",
                self.num_bins, other.num_bins
            )));
        }
        if other.is_empty() {
            return Ok(());
        }
        if self.is_empty() {
            *self = other.clone();
            return Ok(());
        }
        let min = self.min.min(other.min);
        let max = self.max.max(other.max);
        let e = self.required_log2_width(min, max, self.log2_width.max(other.log2_width));
        self.rebin(min, e);
        let shift = (e - other.log2_width).clamp(0, 63) as u32;
        let last = self.num_bins as i64 - 1;
        for (j, &c) in other.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let k = (other.origin + j as i64) >> shift;
            let idx = (k - self.origin).clamp(0, last) as usize;
            self.counts[idx] += c;
        }
        self.min = min;
        self.max = max;
        self.total += other.total;
        self.zeros += other.zeros;
        Ok(())
    }

    fn nonempty(&self) -> Result<(f32, f32), CalibError> {
        self.min_max().ok_or(CalibError::NoData)
    }

    /// Range keeping the central `percentile` percent of the values: `(100 - percentile) / 2`
    /// percent may be clipped on each side (ONNX Runtime's non-symmetric percentile calibrator).
    ///
    /// The lower bound is the left edge of the first bin at which more than the allowed count
    /// has accumulated from below, the upper bound the right edge of the corresponding bin from
    /// above, both clamped to the observed `[min, max]`. `percentile = 100` gives `[min, max]`.
    pub fn percentile_range(&self, percentile: f64) -> Result<(f32, f32), CalibError> {
        if !(percentile > 0.0 && percentile <= 100.0) {
            return Err(CalibError::Config(format!(
                "percentile must be in (0, 100], got {percentile}"
            )));
        }
        let (min, max) = self.nonempty()?;
        let cut = self.total as f64 * (100.0 - percentile) / 200.0;
        let mut acc = 0u64;
        let mut lo_bin = 0usize;
        for (j, &c) in self.counts.iter().enumerate() {
            acc += c;
            if acc as f64 > cut {
                lo_bin = j;
                break;
            }
        }
        acc = 0;
        let mut hi_bin = self.num_bins - 1;
        for (j, &c) in self.counts.iter().enumerate().rev() {
            acc += c;
            if acc as f64 > cut {
                hi_bin = j;
                break;
            }
        }
        let lo = f32_down(self.edge(self.origin + lo_bin as i64)).max(min);
        let hi = f32_up(self.edge(self.origin + hi_bin as i64 + 1)).min(max);
        Ok((lo.min(hi), hi.max(lo)))
    }

    /// Range chosen by minimizing the KL divergence between the clipped distribution and its
    /// quantized version: TensorRT's entropy calibration ("8-bit Inference with TensorRT",
    /// GTC 2017) as implemented by MXNet/TVM and ONNX Runtime, with the two refinements of
    /// NVIDIA's `pytorch-quantization` histogram calibrator that make it work on activations
    /// with many exact zeros (post-ReLU) and on one-sided tensors:
    ///
    /// * exact zeros are left out of the distribution (0 is exactly representable whatever the
    ///   range, so they never carry quantization error; otherwise their spike in the first bin
    ///   dominates the divergence and drives the threshold far too low);
    /// * the quantized grid is the asymmetric one: for a candidate threshold `T` the range
    ///   `[max(min, -T), min(max, T)]` has `2 * num_quantized_bins - 1` steps, so the number
    ///   of `levels` on `[0, T]` grows from `num_quantized_bins` (symmetric data, 128 for int8)
    ///   to `2 * num_quantized_bins` (one-sided data) as the other side shrinks.
    ///
    /// The histogram is folded onto `|x|` (exact: bin edges are aligned on 0); for every
    /// candidate threshold `T = i·w`, `levels <= i <= bins`, the reference distribution `P` is
    /// the first `i` bins with the outliers added to the last one, the candidate `Q` is those
    /// bins merged into `levels` groups and spread back over the non-empty bins of each group;
    /// both are smoothed (eps 1e-4) and `KL(P||Q)` is computed in f64. The smallest `i` with
    /// the minimal divergence wins. The result is `(max(min, -T), min(max, T))`, i.e. the
    /// threshold clamped to the observed range as ORT does.
    pub fn entropy_range(&self, num_quantized_bins: usize) -> Result<(f32, f32), CalibError> {
        if num_quantized_bins < 2 {
            return Err(CalibError::Config(format!(
                "entropy calibration needs at least 2 quantized bins, got {num_quantized_bins}"
            )));
        }
        let (min, max) = self.nonempty()?;
        // Fold onto |x|: global bin k >= 0 -> k, k < 0 -> -k-1 (the bin [k w, (k+1) w) mirrors
        // onto [(-k-1) w, -k w)), then merge bins pairwise (exact) until [0, max|x|] fits
        // into `num_bins` bins: data far from 0 would otherwise need a huge folded histogram.
        let fold = |k: i64| if k >= 0 { k } else { -k - 1 };
        let max_a = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(j, _)| fold(self.origin + j as i64))
            .max()
            .unwrap_or(0);
        let mut shift = 0u32;
        while (max_a >> shift) >= self.num_bins as i64 {
            shift += 1;
        }
        let width = self.bin_width() * pow2(shift as i32);
        let last = (max_a >> shift) as usize;
        let mut abs_counts = vec![0u64; last + 1];
        for (j, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                let a = (fold(self.origin + j as i64) >> shift) as usize;
                abs_counts[a.min(last)] += c;
            }
        }
        // Exact zeros sit in global bin 0, which folds onto bin 0.
        abs_counts[0] = abs_counts[0].saturating_sub(self.zeros);
        if abs_counts.iter().all(|&c| c == 0) {
            return Ok((min, max));
        }
        // Levels of the int8 grid that fall on [0, T] for a candidate threshold T: the
        // asymmetric range [max(min, -T), min(max, T)] has `steps` steps, so a one-sided tensor
        // spends all of them on [0, T] and a symmetric one half.
        let steps = (2 * num_quantized_bins - 1) as f64;
        let (neg, pos) = ((-(min as f64)).max(0.0), (max as f64).max(0.0));
        let levels_at = |i: usize| -> usize {
            let t = i as f64 * width;
            let span = neg.min(t) + pos.min(t);
            if span <= 0.0 {
                return num_quantized_bins;
            }
            ((steps * t / span).round() as usize).clamp(2, 2 * num_quantized_bins)
        };
        let nb = abs_counts.len();
        if nb <= levels_at(nb) {
            return Ok((min, max));
        }
        // suffix[i] = sum(abs_counts[i..])
        let mut suffix = vec![0u64; nb + 1];
        for i in (0..nb).rev() {
            suffix[i] = suffix[i + 1] + abs_counts[i];
        }
        let mut p = vec![0f64; nb];
        let mut q = vec![0f64; nb];
        let mut best_i = nb;
        let mut best_kl = f64::INFINITY;
        for i in num_quantized_bins..=nb {
            let num_quantized_bins = levels_at(i);
            if i < num_quantized_bins {
                continue;
            }
            let sliced = &abs_counts[..i];
            for (pv, &c) in p[..i].iter_mut().zip(sliced) {
                *pv = c as f64;
            }
            p[i - 1] += suffix[i] as f64;
            let merged = i / num_quantized_bins;
            for g in 0..num_quantized_bins {
                let start = g * merged;
                let stop = if g == num_quantized_bins - 1 {
                    i
                } else {
                    start + merged
                };
                let sum: u64 = sliced[start..stop].iter().sum();
                let nonzero = p[start..stop].iter().filter(|v| **v != 0.0).count();
                for j in start..stop {
                    q[j] = if p[j] != 0.0 && nonzero > 0 {
                        sum as f64 / nonzero as f64
                    } else {
                        0.0
                    };
                }
            }
            let kl = match (smooth(&mut p[..i]), smooth(&mut q[..i])) {
                (true, true) => kl_divergence(&p[..i], &q[..i]),
                _ => f64::INFINITY,
            };
            if kl < best_kl {
                best_kl = kl;
                best_i = i;
            }
        }
        let t = best_i as f64 * width;
        let lo = f32_down(-t).max(min);
        let hi = f32_up(t).min(max);
        Ok((lo.min(hi), hi.max(lo)))
    }

    /// Range `[lo, hi]` (always containing 0, as the quantized range will) minimizing the
    /// expected squared quantization error with `steps` quantization steps (255 for 8 bits).
    ///
    /// Error model per bin (values represented by the bin centre clamped to `[min, max]`):
    /// values below `lo` or above `hi` cost their squared clipping distance, values inside cost
    /// the uniform rounding noise `s²/12` with `s = (hi - lo) / steps`, and exact zeros cost
    /// nothing (0 is exactly representable). Candidates are the bin edges between the data
    /// extremes and 0 plus the extremes themselves; the search is exhaustive on a grid of at
    /// most 128 candidates per side, then exhaustive at full resolution around the best point.
    pub fn mse_range(&self, steps: u32) -> Result<(f32, f32), CalibError> {
        if steps == 0 {
            return Err(CalibError::Config(
                "MSE calibration needs at least one quantization step".into(),
            ));
        }
        let (min, max) = self.nonempty()?;
        let lo_cands = self.side_candidates(min, true);
        let hi_cands = self.side_candidates(max, false);
        if lo_cands.is_empty() && hi_cands.is_empty() {
            return Ok((min, max));
        }
        // Prefix sums over bins of count, count*v, count*v^2 (zeros excluded).
        let w = self.bin_width();
        let n = self.num_bins;
        let mut c_pre = vec![0f64; n + 1];
        let mut s1_pre = vec![0f64; n + 1];
        let mut s2_pre = vec![0f64; n + 1];
        for j in 0..n {
            let k = self.origin + j as i64;
            let mut c = self.counts[j] as f64;
            if k == 0 {
                c -= self.zeros as f64;
            }
            let v = ((k as f64 + 0.5) * w).clamp(min as f64, max as f64);
            c_pre[j + 1] = c_pre[j] + c;
            s1_pre[j + 1] = s1_pre[j] + c * v;
            s2_pre[j + 1] = s2_pre[j] + c * v * v;
        }
        let nonzero_total = c_pre[n];
        let lo_list: Vec<(f64, usize)> = if lo_cands.is_empty() {
            vec![(0.0, 0)]
        } else {
            lo_cands
        };
        let hi_list: Vec<(f64, usize)> = if hi_cands.is_empty() {
            vec![(0.0, n)]
        } else {
            hi_cands
        };
        let cost = |lo: (f64, usize), hi: (f64, usize)| -> f64 {
            let (lo_v, lo_j) = lo;
            let (hi_v, hi_j) = hi;
            // bins [0, lo_j) are below lo, bins [hi_j, n) above hi.
            let cb = c_pre[lo_j];
            let below = lo_v * lo_v * cb - 2.0 * lo_v * s1_pre[lo_j] + s2_pre[lo_j];
            let ca = c_pre[n] - c_pre[hi_j];
            let s1a = s1_pre[n] - s1_pre[hi_j];
            let s2a = s2_pre[n] - s2_pre[hi_j];
            let above = hi_v * hi_v * ca - 2.0 * hi_v * s1a + s2a;
            let inside = (nonzero_total - cb - ca).max(0.0);
            let s = (hi_v - lo_v) / steps as f64;
            below.max(0.0) + above.max(0.0) + inside * s * s / 12.0
        };
        let search = |lo_idx: &[usize], hi_idx: &[usize]| -> (usize, usize, f64) {
            let mut best = (0usize, 0usize, f64::INFINITY);
            for &a in lo_idx {
                for &b in hi_idx {
                    let c = cost(lo_list[a], hi_list[b]);
                    if c < best.2 {
                        best = (a, b, c);
                    }
                }
            }
            best
        };
        let grid = |len: usize, stride: usize| -> Vec<usize> {
            let mut v: Vec<usize> = (0..len).step_by(stride.max(1)).collect();
            if v.last() != Some(&(len - 1)) {
                v.push(len - 1);
            }
            v
        };
        const COARSE: usize = 128;
        let lo_stride = lo_list.len().div_ceil(COARSE);
        let hi_stride = hi_list.len().div_ceil(COARSE);
        let (a, b, _) = search(
            &grid(lo_list.len(), lo_stride),
            &grid(hi_list.len(), hi_stride),
        );
        let lo_fine: Vec<usize> =
            (a.saturating_sub(lo_stride)..(a + lo_stride + 1).min(lo_list.len())).collect();
        let hi_fine: Vec<usize> =
            (b.saturating_sub(hi_stride)..(b + hi_stride + 1).min(hi_list.len())).collect();
        let (a, b, _) = search(&lo_fine, &hi_fine);
        let lo = f32_down(lo_list[a].0).max(min).min(0.0_f32.max(min));
        let hi = f32_up(hi_list[b].0).min(max).max(0.0_f32.min(max));
        Ok((lo.min(hi), hi.max(lo)))
    }

    /// Clipping candidates on one side of zero as `(value, bin boundary index)`, ordered from
    /// the extreme towards zero. For the lower side the boundary index is the first stored bin
    /// at or above the value; for the upper side the first stored bin at or above the value's
    /// bin end. Empty when the data do not extend to that side of zero.
    fn side_candidates(&self, extreme: f32, lower: bool) -> Vec<(f64, usize)> {
        let n = self.num_bins as i64;
        let mut out = Vec::new();
        if lower {
            if extreme >= 0.0 {
                return out;
            }
            // the extreme itself: nothing below it
            out.push((extreme as f64, 0usize));
            // edges k*w with min < k*w <= 0 inside the stored window
            for k in (self.origin + 1)..=(self.origin + n).min(0) {
                let j = k - self.origin;
                if j >= 0 && j <= n {
                    out.push((self.edge(k), j as usize));
                }
            }
        } else {
            if extreme <= 0.0 {
                return out;
            }
            out.push((extreme as f64, self.num_bins));
            let top = self.origin + n; // one past the last stored bin
                                       // edges k*w with 0 <= k*w < max, from the top down; bins [k, top) are above.
            let mut k = top - 1;
            while k >= self.origin.max(0) {
                let e = self.edge(k);
                if e < extreme as f64 {
                    let j = k - self.origin;
                    if j >= 0 && j <= n {
                        out.push((e, j as usize));
                    }
                }
                k -= 1;
            }
        }
        out
    }
}

/// MXNet/TVM `_smooth_distribution`: moves `eps` of mass onto each empty bin, taking it evenly
/// from the non-empty ones. Returns false when that is impossible (no mass, or the non-empty
/// bins cannot give it without going non-positive).
fn smooth(p: &mut [f64]) -> bool {
    const EPS: f64 = 1e-4;
    let zeros = p.iter().filter(|v| **v == 0.0).count();
    let nonzeros = p.len() - zeros;
    if nonzeros == 0 {
        return false;
    }
    let eps1 = EPS * zeros as f64 / nonzeros as f64;
    if eps1 >= 1.0 {
        return false;
    }
    let mut ok = true;
    for v in p.iter_mut() {
        if *v == 0.0 {
            *v = EPS;
        } else {
            *v -= eps1;
            ok &= *v > 0.0;
        }
    }
    ok
}

/// `KL(P || Q)` of two unnormalized, strictly positive distributions (normalized here), as
/// `scipy.stats.entropy(p, q)`.
fn kl_divergence(p: &[f64], q: &[f64]) -> f64 {
    let sp: f64 = p.iter().sum();
    let sq: f64 = q.iter().sum();
    if sp <= 0.0 || sq <= 0.0 {
        return f64::INFINITY;
    }
    let mut kl = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let pa = a / sp;
        let qb = b / sq;
        if pa > 0.0 {
            if qb <= 0.0 {
                return f64::INFINITY;
            }
            kl += pa * (pa / qb).ln();
        }
    }
    kl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow2_and_exponent_are_exact() {
        assert_eq!(pow2(0), 1.0);
        assert_eq!(pow2(-3), 0.125);
        assert_eq!(pow2(10), 1024.0);
        assert_eq!(exponent(1.0), 0);
        assert_eq!(exponent(0.75), -1);
        assert_eq!(exponent(-8.5), 3);
        assert_eq!(exponent(f32::from_bits(1)), -149);
    }

    #[test]
    fn floor_helpers_match_floor() {
        for t in [
            0.0f32, -0.0, 0.5, -0.5, 1.0, -1.0, -1.5, 2.75, -1e-30, 16777217.0, -3e12,
        ] {
            assert_eq!(floor_f32(t), t.floor() as i64, "{t}");
            assert_eq!(floor_f64(t as f64), (t as f64).floor() as i64, "{t}");
        }
        assert_eq!(floor_f64(-4503599627370497.0), -4503599627370497);
    }

    #[test]
    fn rounding_helpers_bracket() {
        let x = 0.1f64;
        assert!((f32_down(x) as f64) <= x);
        assert!((f32_up(x) as f64) >= x);
        assert_eq!(f32_down(0.5), 0.5);
        assert_eq!(f32_up(0.5), 0.5);
    }

    /// Post-ReLU-like data: 80 % exact zeros, the rest spread uniformly over (0, 4]. Zeros
    /// cost nothing, so the threshold must keep (nearly) the whole uniform part; with the zero
    /// spike counted, KL picks a threshold far inside it.
    #[test]
    fn entropy_ignores_exact_zeros_and_uses_all_levels_on_one_side() {
        let mut v = vec![0.0f32; 80_000];
        v.extend((1..=20_000).map(|i| i as f32 * 4.0 / 20_000.0));
        let mut h = Histogram::with_default_bins();
        h.observe(&v).expect("observe");
        let (lo, hi) = h.entropy_range(128).expect("range");
        assert_eq!(lo, 0.0);
        assert!(
            (3.6..=4.0).contains(&hi),
            "threshold {hi} clips the uniform part"
        );
    }

    #[test]
    fn smoothing_and_kl() {
        let mut p = vec![1.0, 0.0, 3.0];
        assert!(smooth(&mut p));
        assert!(p.iter().all(|v| *v > 0.0));
        assert_eq!(kl_divergence(&[1.0, 2.0], &[2.0, 4.0]), 0.0);
        assert!(kl_divergence(&[1.0, 1.0], &[1.0, 3.0]) > 0.0);
        let mut empty = vec![0.0, 0.0];
        assert!(!smooth(&mut empty));
    }
}
