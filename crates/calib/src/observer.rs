//! Range observers: they watch the values a tensor takes during calibration and pick the float
//! range `[min, max]` that the quantization parameters are derived from (see [`crate::params`]).
//!
//! Every observer is deterministic: the same values in the same batches give bit-identical
//! ranges. [`MinMax`] and the histogram observers are also independent of batch order and
//! batching, and merge exactly, so multi-threaded calibration (one observer per thread, merged
//! at the end) gives the same result as a single thread. [`MovingAverageMinMax`] is by nature
//! order dependent; see its documentation.

use crate::error::CalibError;
use crate::histogram::{scan_finite, Histogram, DEFAULT_NUM_BINS};
use std::fmt;
use std::str::FromStr;

/// Watches the values of one tensor and proposes its quantization range.
///
/// Contract:
/// * [`Observer::observe`] is called once per batch (typically one calibration sample) with
///   all the values of the tensor; an empty slice is a no-op. A NaN or infinite value is an
///   error ([`CalibError::NonFinite`] with its position) and leaves the observer unchanged; the
///   caller adds the tensor name and sample index with [`CalibError::in_sample`].
/// * [`Observer::range`] returns `(min, max)` with `min <= max`, both finite, or
///   [`CalibError::NoData`] before any value. The range is not forced to contain 0 nor to be
///   non-degenerate: the parameter helpers in [`crate::params`] do that, as TFLite does.
/// * [`Observer::merge`] folds in an observer of the same kind and settings that watched
///   other samples (multi-threaded calibration).
pub trait Observer: Send {
    /// Records one batch of values.
    fn observe(&mut self, values: &[f32]) -> Result<(), CalibError>;

    /// The selected range.
    fn range(&self) -> Result<(f32, f32), CalibError>;

    /// Folds `other` (same kind and settings) into `self`.
    fn merge(&mut self, other: &Self) -> Result<(), CalibError>
    where
        Self: Sized;
}

/// Running minimum and maximum over all observed values: TFLite's calibrator
/// (`tensorflow/lite/tools/optimize/calibration`, `MinMax::Update`) and ONNX Runtime's
/// `MinMaxCalibrater`. The default calibrator.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinMax {
    range: Option<(f32, f32)>,
}

impl MinMax {
    /// An observer that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Observer for MinMax {
    fn observe(&mut self, values: &[f32]) -> Result<(), CalibError> {
        if let Some((lo, hi)) = scan_finite(values)? {
            self.range = Some(match self.range {
                Some((a, b)) => (a.min(lo), b.max(hi)),
                None => (lo, hi),
            });
        }
        Ok(())
    }

    fn range(&self) -> Result<(f32, f32), CalibError> {
        self.range.ok_or(CalibError::NoData)
    }

    fn merge(&mut self, other: &Self) -> Result<(), CalibError> {
        if let Some((lo, hi)) = other.range {
            self.range = Some(match self.range {
                Some((a, b)) => (a.min(lo), b.max(hi)),
                None => (lo, hi),
            });
        }
        Ok(())
    }
}

/// Default decay of [`MovingAverageMinMax`]: TensorFlow's QAT `MovingAvgQuantize`
/// (`ema_decay=0.999`).
pub const DEFAULT_EMA_DECAY: f32 = 0.999;

/// Exponential moving average of each batch's min and max, as TensorFlow's quantization-aware
/// training tracks activation ranges (`tf.quantization` / tfmot `MovingAvgQuantize`):
/// each batch's range is first widened to contain 0, then
/// `min -= (min - batch_min) * (1 - decay)` (same for max), in f32, without zero-debiasing.
///
/// The first batch initializes the average (TF QAT instead starts from fixed variables,
/// usually `[-6, 6]`: use [`MovingAverageMinMax::with_initial_range`] for that).
///
/// The result depends on batch order. [`Observer::merge`] combines two averages weighted by
/// their batch counts; merge per-thread observers in a fixed order for reproducible results.
#[derive(Clone, Debug, PartialEq)]
pub struct MovingAverageMinMax {
    decay: f32,
    state: Option<(f32, f32)>,
    batches: u64,
}

impl MovingAverageMinMax {
    /// An observer with `decay` in `[0, 1]` (0 keeps only the last batch).
    pub fn new(decay: f32) -> Result<Self, CalibError> {
        if !(0.0..=1.0).contains(&decay) {
            return Err(CalibError::Config(format!(
                "moving-average decay must be in [0, 1], got {decay}"
            )));
        }
        Ok(MovingAverageMinMax {
            decay,
            state: None,
            batches: 0,
        })
    }

    /// An observer whose average starts at `[min, max]` instead of the first batch (TF QAT's
    /// initial `min_var`/`max_var`).
    pub fn with_initial_range(decay: f32, min: f32, max: f32) -> Result<Self, CalibError> {
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(CalibError::InvalidRange {
                min,
                max,
                reason: "initial moving-average range must be finite with min <= max".into(),
            });
        }
        let mut o = Self::new(decay)?;
        o.state = Some((min, max));
        Ok(o)
    }

    /// The decay factor.
    pub fn decay(&self) -> f32 {
        self.decay
    }

    /// Number of non-empty batches observed.
    pub fn batches(&self) -> u64 {
        self.batches
    }
}

impl Default for MovingAverageMinMax {
    fn default() -> Self {
        MovingAverageMinMax {
            decay: DEFAULT_EMA_DECAY,
            state: None,
            batches: 0,
        }
    }
}

impl Observer for MovingAverageMinMax {
    fn observe(&mut self, values: &[f32]) -> Result<(), CalibError> {
        let Some((lo, hi)) = scan_finite(values)? else {
            return Ok(());
        };
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let k = 1.0 - self.decay;
        // `x - (x - v) * k` is a convex combination of x and v; only its f32 intermediate
        // `x - v` can overflow (ranges near ±f32::MAX): redo such updates in f64.
        let ema = |x: f32, v: f32| {
            let r = x - (x - v) * k;
            if r.is_finite() {
                r
            } else {
                (x as f64 - (x as f64 - v as f64) * k as f64) as f32
            }
        };
        self.state = Some(match self.state {
            None => (lo, hi),
            Some((a, b)) => (ema(a, lo), ema(b, hi)),
        });
        self.batches += 1;
        Ok(())
    }

    fn range(&self) -> Result<(f32, f32), CalibError> {
        self.state.ok_or(CalibError::NoData)
    }

    fn merge(&mut self, other: &Self) -> Result<(), CalibError> {
        if self.decay != other.decay {
            return Err(CalibError::Merge(format!(
                "moving averages with decays {} and {}",
                self.decay, other.decay
            )));
        }
        match (self.state, other.state) {
            (_, None) => {}
            (None, Some(s)) => {
                self.state = Some(s);
                self.batches = other.batches;
            }
            (Some((a, b)), Some((c, d))) => {
                let (n, m) = (self.batches.max(1) as f64, other.batches.max(1) as f64);
                let mix = |x: f32, y: f32| ((x as f64 * n + y as f64 * m) / (n + m)) as f32;
                self.state = Some((mix(a, c), mix(b, d)));
                self.batches += other.batches;
            }
        }
        Ok(())
    }
}

/// How a [`HistogramObserver`] turns its histogram into a range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RangeMethod {
    /// Keep the central `percentile` percent ([`Histogram::percentile_range`]).
    Percentile(f64),
    /// Minimize the KL divergence with `num_quantized_bins` levels
    /// ([`Histogram::entropy_range`]).
    Entropy { num_quantized_bins: usize },
    /// Minimize the expected squared error with `steps` quantization steps
    /// ([`Histogram::mse_range`]).
    Mse { steps: u32 },
}

/// Default percentile of the percentile calibrator (ONNX Runtime's default).
pub const DEFAULT_PERCENTILE: f64 = 99.999;
/// Default number of quantized bins of the entropy calibrator (TensorRT's and ORT's).
pub const DEFAULT_QUANTIZED_BINS: usize = 128;
/// Quantization steps of int8 (`127 - (-128)`), the MSE calibrator's default.
pub const INT8_STEPS: u32 = 255;

/// Histogram-based observer: collects a [`Histogram`] (default [`DEFAULT_NUM_BINS`] bins) and
/// selects the range with a [`RangeMethod`].
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramObserver {
    hist: Histogram,
    method: RangeMethod,
}

impl HistogramObserver {
    /// An observer with `num_bins` bins (at least 16) and `method`, whose settings are checked.
    pub fn new(method: RangeMethod, num_bins: usize) -> Result<Self, CalibError> {
        match method {
            RangeMethod::Percentile(p) if !(p > 0.0 && p <= 100.0) => {
                return Err(CalibError::Config(format!(
                    "percentile must be in (0, 100], got {p}"
                )))
            }
            RangeMethod::Entropy { num_quantized_bins } if num_quantized_bins < 2 => {
                return Err(CalibError::Config(format!(
                    "entropy calibration needs at least 2 quantized bins, got {num_quantized_bins}"
                )))
            }
            RangeMethod::Mse { steps: 0 } => {
                return Err(CalibError::Config(
                    "MSE calibration needs at least one quantization step".into(),
                ))
            }
            _ => {}
        }
        Ok(HistogramObserver {
            hist: Histogram::new(num_bins)?,
            method,
        })
    }

    /// Percentile observer with [`DEFAULT_NUM_BINS`] bins.
    pub fn percentile(percentile: f64) -> Result<Self, CalibError> {
        Self::new(RangeMethod::Percentile(percentile), DEFAULT_NUM_BINS)
    }

    /// Entropy (KL) observer with [`DEFAULT_NUM_BINS`] bins and 128 quantized bins.
    pub fn entropy() -> Self {
        HistogramObserver {
            hist: Self::default_hist(),
            method: RangeMethod::Entropy {
                num_quantized_bins: DEFAULT_QUANTIZED_BINS,
            },
        }
    }

    /// MSE observer with [`DEFAULT_NUM_BINS`] bins and int8's 255 steps.
    pub fn mse() -> Self {
        HistogramObserver {
            hist: Self::default_hist(),
            method: RangeMethod::Mse { steps: INT8_STEPS },
        }
    }

    fn default_hist() -> Histogram {
        Histogram::with_default_bins()
    }

    /// The collected histogram.
    pub fn histogram(&self) -> &Histogram {
        &self.hist
    }

    /// The range-selection method.
    pub fn method(&self) -> RangeMethod {
        self.method
    }
}

impl Observer for HistogramObserver {
    fn observe(&mut self, values: &[f32]) -> Result<(), CalibError> {
        self.hist.observe(values)
    }

    fn range(&self) -> Result<(f32, f32), CalibError> {
        match self.method {
            RangeMethod::Percentile(p) => self.hist.percentile_range(p),
            RangeMethod::Entropy { num_quantized_bins } => {
                self.hist.entropy_range(num_quantized_bins)
            }
            RangeMethod::Mse { steps } => self.hist.mse_range(steps),
        }
    }

    fn merge(&mut self, other: &Self) -> Result<(), CalibError> {
        if self.method != other.method {
            return Err(CalibError::Merge(format!(
                "histogram observers with methods {:?} and {:?}",
                self.method, other.method
            )));
        }
        self.hist.merge(&other.hist)
    }
}

/// The calibrators selectable by name (`--calibrator`), with their settings.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum CalibratorKind {
    /// [`MinMax`] (the default).
    #[default]
    MinMax,
    /// [`MovingAverageMinMax`] with this decay.
    MovingAverage { decay: f32 },
    /// [`HistogramObserver`] with [`RangeMethod::Percentile`].
    Percentile { percentile: f64, num_bins: usize },
    /// [`HistogramObserver`] with [`RangeMethod::Entropy`].
    Entropy {
        num_quantized_bins: usize,
        num_bins: usize,
    },
    /// [`HistogramObserver`] with [`RangeMethod::Mse`].
    Mse { steps: u32, num_bins: usize },
}

impl CalibratorKind {
    /// Names accepted by [`FromStr`].
    pub const NAMES: &'static [&'static str] =
        &["minmax", "moving-average", "percentile", "entropy", "mse"];

    /// Canonical name.
    pub fn name(&self) -> &'static str {
        match self {
            CalibratorKind::MinMax => "minmax",
            CalibratorKind::MovingAverage { .. } => "moving-average",
            CalibratorKind::Percentile { .. } => "percentile",
            CalibratorKind::Entropy { .. } => "entropy",
            CalibratorKind::Mse { .. } => "mse",
        }
    }

    /// A fresh observer of this kind; errors on invalid settings.
    pub fn build(&self) -> Result<AnyObserver, CalibError> {
        Ok(match *self {
            CalibratorKind::MinMax => AnyObserver::MinMax(MinMax::new()),
            CalibratorKind::MovingAverage { decay } => {
                AnyObserver::MovingAverage(MovingAverageMinMax::new(decay)?)
            }
            CalibratorKind::Percentile {
                percentile,
                num_bins,
            } => AnyObserver::Histogram(HistogramObserver::new(
                RangeMethod::Percentile(percentile),
                num_bins,
            )?),
            CalibratorKind::Entropy {
                num_quantized_bins,
                num_bins,
            } => AnyObserver::Histogram(HistogramObserver::new(
                RangeMethod::Entropy { num_quantized_bins },
                num_bins,
            )?),
            CalibratorKind::Mse { steps, num_bins } => AnyObserver::Histogram(
                HistogramObserver::new(RangeMethod::Mse { steps }, num_bins)?,
            ),
        })
    }
}

impl fmt::Display for CalibratorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CalibratorKind {
    type Err = CalibError;

    /// Parses `minmax`, `moving-average`, `percentile`, `entropy` (alias `kl`) or `mse`, with
    /// default settings.
    fn from_str(s: &str) -> Result<Self, CalibError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "minmax" | "min-max" | "min_max" => CalibratorKind::MinMax,
            "moving-average" | "moving_average" | "ema" => CalibratorKind::MovingAverage {
                decay: DEFAULT_EMA_DECAY,
            },
            "percentile" => CalibratorKind::Percentile {
                percentile: DEFAULT_PERCENTILE,
                num_bins: DEFAULT_NUM_BINS,
            },
            "entropy" | "kl" => CalibratorKind::Entropy {
                num_quantized_bins: DEFAULT_QUANTIZED_BINS,
                num_bins: DEFAULT_NUM_BINS,
            },
            "mse" => CalibratorKind::Mse {
                steps: INT8_STEPS,
                num_bins: DEFAULT_NUM_BINS,
            },
            _ => {
                return Err(CalibError::Config(format!(
                    "unknown calibrator '{s}' (expected one of: {})",
                    Self::NAMES.join(", ")
                )))
            }
        })
    }
}

/// Any observer, for code that picks the calibrator at run time ([`CalibratorKind::build`]).
#[derive(Clone, Debug, PartialEq)]
pub enum AnyObserver {
    MinMax(MinMax),
    MovingAverage(MovingAverageMinMax),
    Histogram(HistogramObserver),
}

impl Observer for AnyObserver {
    fn observe(&mut self, values: &[f32]) -> Result<(), CalibError> {
        match self {
            AnyObserver::MinMax(o) => o.observe(values),
            AnyObserver::MovingAverage(o) => o.observe(values),
            AnyObserver::Histogram(o) => o.observe(values),
        }
    }

    fn range(&self) -> Result<(f32, f32), CalibError> {
        match self {
            AnyObserver::MinMax(o) => o.range(),
            AnyObserver::MovingAverage(o) => o.range(),
            AnyObserver::Histogram(o) => o.range(),
        }
    }

    fn merge(&mut self, other: &Self) -> Result<(), CalibError> {
        match (self, other) {
            (AnyObserver::MinMax(a), AnyObserver::MinMax(b)) => a.merge(b),
            (AnyObserver::MovingAverage(a), AnyObserver::MovingAverage(b)) => a.merge(b),
            (AnyObserver::Histogram(a), AnyObserver::Histogram(b)) => a.merge(b),
            (a, b) => Err(CalibError::Merge(format!(
                "observers of different kinds ({} and {})",
                a.kind_name(),
                b.kind_name()
            ))),
        }
    }
}

impl AnyObserver {
    fn kind_name(&self) -> &'static str {
        match self {
            AnyObserver::MinMax(_) => "minmax",
            AnyObserver::MovingAverage(_) => "moving-average",
            AnyObserver::Histogram(_) => "histogram",
        }
    }
}
