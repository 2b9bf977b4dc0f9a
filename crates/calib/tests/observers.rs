//! Observer behaviour: ranges, errors, determinism, exact merging.

use edgequant_calib::histogram::Histogram;
use edgequant_calib::observer::{
    DEFAULT_EMA_DECAY, DEFAULT_PERCENTILE, DEFAULT_QUANTIZED_BINS, INT8_STEPS,
};
use edgequant_calib::params::int8_activation_params;
use edgequant_calib::{
    AnyObserver, CalibError, CalibratorKind, HistogramObserver, MinMax, MovingAverageMinMax,
    Observer, RangeMethod,
};

/// Deterministic pseudo-random numbers (xorshift64*), no dependency.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Approximately normal (sum of 12 uniforms - 6).
    fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.uniform()).sum::<f32>() - 6.0
    }
}

fn normal_data(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut r = Rng(seed);
    (0..n).map(|_| r.normal() * scale).collect()
}

fn all_kinds() -> Vec<CalibratorKind> {
    CalibratorKind::NAMES
        .iter()
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn minmax_tracks_extremes_across_batches() {
    let mut o = MinMax::new();
    assert!(matches!(o.range(), Err(CalibError::NoData)));
    o.observe(&[]).unwrap();
    assert!(matches!(o.range(), Err(CalibError::NoData)));
    o.observe(&[1.0, -2.0, 3.0]).unwrap();
    o.observe(&[0.5, 7.5]).unwrap();
    assert_eq!(o.range().unwrap(), (-2.0, 7.5));
}

#[test]
fn non_finite_values_are_errors_and_leave_state_unchanged() {
    for kind in all_kinds() {
        let mut o = kind.build().unwrap();
        o.observe(&[1.0, 2.0]).unwrap();
        let before = o.clone();
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let err = o.observe(&[0.0, 1.0, bad, 4.0]).unwrap_err();
            match &err {
                CalibError::NonFinite { index, .. } => assert_eq!(*index, 2, "{kind}"),
                e => panic!("{kind}: unexpected error {e}"),
            }
            assert_eq!(o, before, "{kind}: state changed by a failed observe");
        }
        // The caller names tensor and sample.
        let err = o
            .observe(&[f32::NAN])
            .unwrap_err()
            .in_sample("conv1/out", 17);
        let msg = err.to_string();
        assert!(
            msg.contains("conv1/out") && msg.contains("17") && msg.contains("NaN"),
            "{msg}"
        );
    }
}

#[test]
fn moving_average_follows_tf_qat_update() {
    let mut o = MovingAverageMinMax::default();
    assert_eq!(o.decay(), DEFAULT_EMA_DECAY);
    o.observe(&[1.0, 2.0]).unwrap();
    // First batch initializes, widened to contain 0.
    assert_eq!(o.range().unwrap(), (0.0, 2.0));
    o.observe(&[-4.0, 10.0]).unwrap();
    let k = 1.0f32 - 0.999;
    let want = (0.0 - (0.0 - -4.0f32) * k, 2.0 - (2.0 - 10.0f32) * k);
    assert_eq!(o.range().unwrap(), want);
    assert_eq!(o.batches(), 2);

    let mut tf = MovingAverageMinMax::with_initial_range(0.999, -6.0, 6.0).unwrap();
    tf.observe(&[-1.0, 1.0]).unwrap();
    let (lo, hi) = tf.range().unwrap();
    assert_eq!(lo, -6.0 - (-6.0 - -1.0f32) * k);
    assert_eq!(hi, 6.0 - (6.0 - 1.0f32) * k);

    assert!(MovingAverageMinMax::new(1.5).is_err());
    assert!(MovingAverageMinMax::new(-0.1).is_err());
    // `min - batch_min` overflows f32 here; the update must stay finite.
    let mut extreme = MovingAverageMinMax::with_initial_range(0.5, f32::MAX, f32::MAX).unwrap();
    extreme.observe(&[f32::MIN]).unwrap();
    let (lo, hi) = extreme.range().unwrap();
    assert!(lo.is_finite() && hi.is_finite() && lo <= hi, "[{lo}, {hi}]");
    assert_eq!(lo, 0.0);

    let mut last = MovingAverageMinMax::new(0.0).unwrap();
    last.observe(&[5.0]).unwrap();
    last.observe(&[3.0]).unwrap();
    assert_eq!(last.range().unwrap(), (0.0, 3.0));
}

#[test]
fn moving_average_merge_weights_by_batches() {
    let mut a = MovingAverageMinMax::new(0.5).unwrap();
    a.observe(&[-2.0, 2.0]).unwrap();
    let mut b = MovingAverageMinMax::new(0.5).unwrap();
    b.observe(&[-4.0, 4.0]).unwrap();
    b.observe(&[-4.0, 4.0]).unwrap();
    a.merge(&b).unwrap();
    let (lo, hi) = a.range().unwrap();
    assert!((lo - (-2.0 - 8.0) / 3.0).abs() < 1e-6);
    assert!((hi - (2.0 + 8.0) / 3.0).abs() < 1e-6);
    let c = MovingAverageMinMax::new(0.9).unwrap();
    assert!(matches!(a.merge(&c), Err(CalibError::Merge(_))));
}

#[test]
fn histogram_is_independent_of_batching_and_order() {
    let data = normal_data(1, 50_000, 3.0);
    let mut whole = Histogram::with_default_bins();
    whole.observe(&data).unwrap();

    let mut batched = Histogram::with_default_bins();
    for chunk in data.chunks(777) {
        batched.observe(chunk).unwrap();
    }
    let mut reversed = Histogram::with_default_bins();
    for chunk in data.rchunks(1000) {
        reversed.observe(chunk).unwrap();
    }
    // Start small, then widen a lot: forces many re-binnings.
    let mut sorted = data.clone();
    sorted.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let mut growing = Histogram::with_default_bins();
    for chunk in sorted.chunks(64) {
        growing.observe(chunk).unwrap();
    }
    assert_eq!(whole, batched);
    assert_eq!(whole, reversed);
    assert_eq!(whole, growing);
    assert_eq!(whole.total(), 50_000);
    assert_eq!(whole.counts().iter().sum::<u64>(), 50_000);
}

#[test]
fn histogram_merge_is_exact_commutative_associative() {
    let parts: Vec<Vec<f32>> = vec![
        normal_data(2, 5000, 0.01),
        normal_data(3, 5000, 100.0),
        (0..1000).map(|i| i as f32).collect(),
        vec![0.0; 300],
    ];
    let mut all = Histogram::with_default_bins();
    for p in &parts {
        all.observe(p).unwrap();
    }
    let hs: Vec<Histogram> = parts
        .iter()
        .map(|p| {
            let mut h = Histogram::with_default_bins();
            h.observe(p).unwrap();
            h
        })
        .collect();
    let merge = |order: &[usize]| {
        let mut acc = Histogram::with_default_bins();
        for &i in order {
            acc.merge(&hs[i]).unwrap();
        }
        acc
    };
    assert_eq!(merge(&[0, 1, 2, 3]), all);
    assert_eq!(merge(&[3, 2, 1, 0]), all);
    assert_eq!(merge(&[1, 3, 0, 2]), all);
    // ((0+1)+(2+3)) == all
    let mut left = hs[0].clone();
    left.merge(&hs[1]).unwrap();
    let mut right = hs[2].clone();
    right.merge(&hs[3]).unwrap();
    left.merge(&right).unwrap();
    assert_eq!(left, all);
    assert_eq!(all.zeros(), 300 + 1);
    let other = Histogram::new(512).unwrap();
    assert!(matches!(left.merge(&other), Err(CalibError::Merge(_))));
    assert!(Histogram::new(8).is_err());
}

#[test]
fn multithreaded_calibration_matches_single_thread() {
    let samples: Vec<Vec<f32>> = (0..40)
        .map(|s| normal_data(100 + s, 2000, 1.0 + s as f32))
        .collect();
    for kind in all_kinds() {
        if kind.name() == "moving-average" {
            continue; // order dependent by nature (documented)
        }
        let mut single = kind.build().unwrap();
        for s in &samples {
            single.observe(s).unwrap();
        }
        let chunks: Vec<AnyObserver> = std::thread::scope(|scope| {
            let handles: Vec<_> = samples
                .chunks(7)
                .map(|chunk| {
                    scope.spawn(move || {
                        let mut o = kind.build().unwrap();
                        for s in chunk {
                            o.observe(s).unwrap();
                        }
                        o
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut merged = kind.build().unwrap();
        for o in chunks.iter().rev() {
            merged.merge(o).unwrap();
        }
        assert_eq!(merged.range().unwrap(), single.range().unwrap(), "{kind}");
    }
}

#[test]
fn percentile_clips_rare_outliers() {
    let mut data: Vec<f32> = (0..100_000).map(|i| i as f32 / 100_000.0).collect();
    data.push(1000.0);
    let mut o = HistogramObserver::percentile(99.99).unwrap();
    o.observe(&data).unwrap();
    let (lo, hi) = o.range().unwrap();
    assert_eq!(lo, 0.0);
    assert!(hi < 10.0 && hi > 0.9, "hi {hi}");
    let mut full = HistogramObserver::percentile(100.0).unwrap();
    full.observe(&data).unwrap();
    assert_eq!(full.range().unwrap(), (0.0, 1000.0));
    assert!(HistogramObserver::percentile(0.0).is_err());
    assert!(HistogramObserver::percentile(100.5).is_err());
    assert!(HistogramObserver::percentile(f64::NAN).is_err());
}

#[test]
fn entropy_and_mse_clip_long_tails_but_keep_the_bulk() {
    let mut data = normal_data(7, 200_000, 1.0);
    data.extend([40.0, -35.0, 50.0]);
    for (name, mut o) in [
        ("entropy", HistogramObserver::entropy()),
        ("mse", HistogramObserver::mse()),
        ("percentile", HistogramObserver::percentile(99.99).unwrap()),
    ] {
        o.observe(&data).unwrap();
        let (lo, hi) = o.range().unwrap();
        assert!(
            lo < -2.0 && hi > 2.0,
            "{name}: range [{lo}, {hi}] cuts the bulk"
        );
        if name == "mse" {
            // Three outliers at 35..50 cost ~1000 each when clipped to the bulk, as much as the
            // rounding noise of 200k values in a wide range: MSE clips them only partly.
            assert!(
                lo > -35.0 && hi < 50.0,
                "{name}: range [{lo}, {hi}] is [min, max]"
            );
        } else {
            assert!(
                lo > -30.0 && hi < 30.0,
                "{name}: range [{lo}, {hi}] keeps the outliers"
            );
        }
    }
}

#[test]
fn one_sided_data_gets_zero_lower_bound() {
    let mut r = Rng(9);
    let relu: Vec<f32> = (0..100_000).map(|_| r.normal().max(0.0) * 2.0).collect();
    for kind in all_kinds() {
        let mut o = kind.build().unwrap();
        o.observe(&relu).unwrap();
        let (lo, hi) = o.range().unwrap();
        assert_eq!(lo, 0.0, "{kind}");
        assert!(hi > 2.0 && hi <= 12.0, "{kind}: hi {hi}");
    }
}

#[test]
fn constant_and_zero_tensors_give_valid_ranges_and_params() {
    for values in [
        vec![0.0f32; 100],
        vec![5.0; 100],
        vec![-3.25; 10],
        vec![1e-30; 5],
    ] {
        for kind in all_kinds() {
            let mut o = kind.build().unwrap();
            o.observe(&values).unwrap();
            let (lo, hi) = o.range().unwrap();
            assert!(lo <= hi && lo.is_finite() && hi.is_finite(), "{kind}");
            if kind.name() != "moving-average" {
                assert_eq!((lo, hi), (values[0], values[0]), "{kind}");
            }
            let p = int8_activation_params(lo, hi).unwrap();
            assert!(p.scale[0] > 0.0 && p.scale[0].is_finite());
            assert!((-128..=127).contains(&p.zero_point[0]));
        }
    }
}

#[test]
fn calibrator_names_parse_and_build() {
    assert_eq!(CalibratorKind::default(), CalibratorKind::MinMax);
    for name in CalibratorKind::NAMES {
        let k: CalibratorKind = name.parse().unwrap();
        assert_eq!(k.name(), *name);
        assert_eq!(k.to_string(), *name);
        k.build().unwrap();
    }
    assert_eq!(
        "KL".parse::<CalibratorKind>().unwrap(),
        CalibratorKind::Entropy {
            num_quantized_bins: DEFAULT_QUANTIZED_BINS,
            num_bins: 2048
        }
    );
    assert_eq!(DEFAULT_PERCENTILE, 99.999);
    assert_eq!(
        "percentile".parse::<CalibratorKind>().unwrap(),
        CalibratorKind::Percentile {
            percentile: DEFAULT_PERCENTILE,
            num_bins: 2048
        }
    );
    let err = "histogram"
        .parse::<CalibratorKind>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("minmax") && err.contains("entropy"), "{err}");
    assert!(CalibratorKind::Entropy {
        num_quantized_bins: 1,
        num_bins: 2048
    }
    .build()
    .is_err());
    assert!(CalibratorKind::Mse {
        steps: 0,
        num_bins: 2048
    }
    .build()
    .is_err());
    assert!(CalibratorKind::Percentile {
        percentile: 99.0,
        num_bins: 4
    }
    .build()
    .is_err());
    assert!(HistogramObserver::new(RangeMethod::Mse { steps: INT8_STEPS }, 4096).is_ok());
    let mut a = CalibratorKind::MinMax.build().unwrap();
    let b = CalibratorKind::Mse {
        steps: 255,
        num_bins: 2048,
    }
    .build()
    .unwrap();
    assert!(matches!(a.merge(&b), Err(CalibError::Merge(_))));
    let mut e = HistogramObserver::entropy();
    assert!(matches!(
        e.merge(&HistogramObserver::mse()),
        Err(CalibError::Merge(_))
    ));
}

#[test]
fn histogram_handles_extreme_magnitudes() {
    let mut h = Histogram::with_default_bins();
    h.observe(&[f32::MAX, f32::MIN, 0.0, f32::from_bits(1)])
        .unwrap();
    h.observe(&[1.0, -1.0]).unwrap();
    assert_eq!(h.min_max(), Some((f32::MIN, f32::MAX)));
    assert_eq!(h.total(), 6);
    let (lo, hi) = h.percentile_range(100.0).unwrap();
    assert_eq!((lo, hi), (f32::MIN, f32::MAX));
    let (lo, hi) = h.entropy_range(128).unwrap();
    assert!(lo <= hi);
    let (lo, hi) = h.mse_range(255).unwrap();
    assert!(lo <= 0.0 && hi >= 0.0);

    let mut tiny = Histogram::with_default_bins();
    tiny.observe(&[f32::from_bits(1), f32::from_bits(3), -f32::from_bits(2)])
        .unwrap();
    assert_eq!(
        tiny.percentile_range(100.0).unwrap(),
        (-f32::from_bits(2), f32::from_bits(3))
    );
}
