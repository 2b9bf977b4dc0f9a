//! Property tests of the quantization-parameter helpers and the histogram.

use edgequant_calib::histogram::Histogram;
use edgequant_calib::params::{
    asymmetric_params, bias_params, dequantize_value, int16_activation_params,
    int8_activation_params, int8_weight_params, quantize_bias_i32, quantize_int8_weights,
    quantize_value, uint8_params, weight_and_bias_params, INT16_MAX,
};
use proptest::prelude::*;

/// A finite f32 of moderate magnitude, with extra weight on 0 and on exact ties.
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -1.0e4f32..1.0e4,
        2 => -1.0f32..1.0,
        1 => Just(0.0f32),
        1 => -1.0e-3f32..1.0e-3,
        1 => (-1000i32..1000).prop_map(|i| i as f32 * 0.5),
    ]
}

fn range() -> impl Strategy<Value = (f32, f32)> {
    (value(), value()).prop_map(|(a, b)| if a <= b { (a, b) } else { (b, a) })
}

/// Checks the affine-quantization contract on `[min, max]` for integers in `[qmin, qmax]`.
fn check_affine(min: f32, max: f32, qmin: i32, qmax: i32, scale: f32, zp: i32, probes: &[f32]) {
    assert!(scale.is_finite() && scale > 0.0, "scale {scale}");
    assert!((qmin..=qmax).contains(&zp), "zero point {zp}");
    // 0.0 is exactly representable: it quantizes to the zero point, which dequantizes to 0.
    assert_eq!(quantize_value(0.0, scale, zp, qmin, qmax), zp);
    assert_eq!(dequantize_value(zp, scale, zp), 0.0);
    let lo = min.min(0.0);
    let hi = max.max(0.0);
    for &t in probes {
        let x = lo + (hi - lo) * t;
        let x = x.clamp(lo, hi);
        let q = quantize_value(x, scale, zp, qmin, qmax);
        assert!((qmin..=qmax).contains(&q));
        let err = (dequantize_value(q, scale, zp) - x).abs();
        // scale/2 from rounding; a relative epsilon for the f32 arithmetic of x/scale.
        let tol = scale * 0.5 * (1.0 + 1e-4) + x.abs() * 1e-6;
        assert!(
            err <= tol,
            "x {x} in [{min}, {max}]: q {q}, error {err} > scale/2 = {} (scale {scale}, zp {zp})",
            scale / 2.0
        );
    }
}

const PROBES: [f32; 9] = [0.0, 1.0, 0.5, 0.25, 0.75, 0.001, 0.999, 0.3333, 0.6667];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn int8_activation_contract((min, max) in range(), t in 0.0f32..=1.0) {
        let p = int8_activation_params(min, max).unwrap();
        prop_assert!(p.is_per_tensor() && p.axis.is_none());
        let mut probes = PROBES.to_vec();
        probes.push(t);
        check_affine(min, max, -128, 127, p.scale[0], p.zero_point[0], &probes);
    }

    #[test]
    fn uint8_contract((min, max) in range(), t in 0.0f32..=1.0) {
        let p = uint8_params(min, max).unwrap();
        let mut probes = PROBES.to_vec();
        probes.push(t);
        check_affine(min, max, 0, 255, p.scale[0], p.zero_point[0], &probes);
    }

    #[test]
    fn narrow_integer_ranges_contract((min, max) in range(), bits in 2u32..=12) {
        let qmax = (1i32 << (bits - 1)) - 1;
        let qmin = -qmax - 1;
        let p = asymmetric_params(min, max, qmin, qmax).unwrap();
        check_affine(min, max, qmin, qmax, p.scale[0], p.zero_point[0], &PROBES);
    }

    #[test]
    fn int16_contract((min, max) in range(), t in 0.0f32..=1.0) {
        let p = int16_activation_params(min, max).unwrap();
        prop_assert_eq!(p.zero_point.clone(), vec![0]);
        let mut probes = PROBES.to_vec();
        probes.push(t);
        check_affine(min, max, -INT16_MAX, INT16_MAX, p.scale[0], 0, &probes);
    }

    #[test]
    fn weights_contract(
        (shape, values) in (1usize..5, 1usize..4, 1usize..4, 1usize..6)
            .prop_flat_map(|(o, h, w, i)| {
                let n = o * h * w * i;
                (Just(vec![o, h, w, i]), prop::collection::vec(value(), n))
            }),
        axis in prop_oneof![Just(None), Just(Some(0usize)), Just(Some(3usize))],
        zero_channel in any::<bool>(),
    ) {
        let mut values = values;
        if zero_channel {
            // all-zero first channel along the axis
            let (channels, inner) = match axis {
                Some(a) => (shape[a], shape[a + 1..].iter().product::<usize>()),
                None => (1, values.len()),
            };
            for (i, v) in values.iter_mut().enumerate() {
                if (i / inner) % channels == 0 {
                    *v = 0.0;
                }
            }
        }
        let (q, p) = quantize_int8_weights(&values, &shape, axis).unwrap();
        let p2 = int8_weight_params(&values, &shape, axis).unwrap();
        prop_assert_eq!(&p, &p2);
        prop_assert_eq!(p.axis, axis);
        prop_assert!(p.zero_point.iter().all(|&z| z == 0));
        prop_assert!(p.scale.iter().all(|s| s.is_finite() && *s > 0.0));
        let (channels, inner) = match axis {
            Some(a) => (shape[a], shape[a + 1..].iter().product::<usize>()),
            None => (1, values.len()),
        };
        prop_assert_eq!(p.scale.len(), channels);
        for (i, (&w, &qv)) in values.iter().zip(&q).enumerate() {
            prop_assert!((-127..=127).contains(&(qv as i32)));
            let s = p.scale[(i / inner) % channels];
            let err = (qv as f32 * s - w).abs();
            prop_assert!(err <= s * 0.5 * (1.0 + 1e-4) + w.abs() * 1e-6, "w {} q {} s {}", w, qv, s);
        }
    }

    #[test]
    fn bias_contract(
        in_scale in 1e-4f32..1.0,
        w_scales in prop::collection::vec(1e-4f32..1.0, 1..6),
        bias_seed in prop::collection::vec(-100.0f32..100.0, 6),
    ) {
        let n = w_scales.len();
        let weight = edgequant_ir::QuantParams {
            zero_point: vec![0; n],
            scale: w_scales.clone(),
            axis: Some(0),
        };
        let bias: Vec<f32> = bias_seed[..n].to_vec();
        let b = bias_params(in_scale, &weight).unwrap();
        for (s, w) in b.scale.iter().zip(&w_scales) {
            prop_assert_eq!(*s, in_scale * w);
        }
        let (w2, b2) = weight_and_bias_params(in_scale, &weight, &bias).unwrap();
        let q = quantize_bias_i32(&bias, &b2).unwrap();
        for i in 0..n {
            prop_assert!(w2.scale[i] >= w_scales[i] * (1.0 - 1e-6));
            prop_assert!((q[i] as i64).abs() <= i32::MAX as i64 / 2 + 1);
            let err = (q[i] as f64 * b2.scale[i] as f64 - bias[i] as f64).abs();
            prop_assert!(err <= b2.scale[i] as f64 * 0.5 * (1.0 + 1e-4) + bias[i].abs() as f64 * 1e-6);
        }
    }

    #[test]
    fn histogram_split_and_merge_equal_whole(
        values in prop::collection::vec(value(), 1..400),
        cut_a in 0usize..400,
        cut_b in 0usize..400,
    ) {
        let n = values.len();
        let (a, b) = (cut_a % (n + 1), cut_b % (n + 1));
        let (a, b) = (a.min(b), a.max(b));
        let mut whole = Histogram::new(64).unwrap();
        whole.observe(&values).unwrap();
        let mut parts = [Histogram::new(64).unwrap(), Histogram::new(64).unwrap(), Histogram::new(64).unwrap()];
        parts[0].observe(&values[..a]).unwrap();
        parts[1].observe(&values[a..b]).unwrap();
        parts[2].observe(&values[b..]).unwrap();
        let mut merged = parts[2].clone();
        merged.merge(&parts[0]).unwrap();
        merged.merge(&parts[1]).unwrap();
        prop_assert_eq!(&merged, &whole);
        let mut sequential = Histogram::new(64).unwrap();
        for chunk in [&values[b..], &values[..a], &values[a..b]] {
            sequential.observe(chunk).unwrap();
        }
        prop_assert_eq!(&sequential, &whole);
        let (min, max) = whole.min_max().unwrap();
        for (lo, hi) in [
            whole.percentile_range(99.9).unwrap(),
            whole.entropy_range(16).unwrap(),
            whole.mse_range(255).unwrap(),
        ] {
            prop_assert!(lo <= hi);
            prop_assert!(lo >= min.min(0.0) && hi <= max.max(0.0), "[{}, {}] outside [{}, {}]", lo, hi, min, max);
            prop_assert!(lo.is_finite() && hi.is_finite());
        }
    }
}
