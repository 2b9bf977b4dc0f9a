//! Bit-exactness of the parameter helpers against TensorFlow 2.21's converter.
//!
//! `golden/tf_params.txt` was produced by `golden/make_tf_params.py`: small Keras models
//! converted by `TFLiteConverter` (full int8 and 16x8) from random representative data; each
//! line pairs the float range the converter's calibrator recorded with the scale and zero point
//! it wrote (f32 bit patterns), and for every output channel of every conv/dense op the input
//! scale, max |weight|, bias value and the weight and bias scales written, plus samples of the
//! int8 weight and int32 bias values written.

use edgequant_calib::params::{
    int16_activation_params, int8_activation_params, quantize_bias_i32, quantize_int8_weights_with,
    symmetric_int8_scale, weight_and_bias_params,
};
use edgequant_ir::QuantParams;

const GOLDEN: &str = include_str!("golden/tf_params.txt");

fn f(hex: &str) -> f32 {
    f32::from_bits(u32::from_str_radix(hex, 16).expect("hex f32 bits in golden file"))
}

fn lines(tag: &str) -> Vec<Vec<&'static str>> {
    GOLDEN
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(tag))
        .map(|l| l.split_whitespace().skip(1).collect())
        .collect()
}

#[test]
fn golden_file_has_all_kinds() {
    assert!(lines("act8").len() >= 30);
    assert!(lines("act16").len() >= 30);
    assert!(lines("chan").len() >= 100);
}

#[test]
fn int8_activation_params_match_tf_converter() {
    for l in lines("act8") {
        let (min, max, scale, zp) = (f(l[0]), f(l[1]), f(l[2]), l[3].parse::<i32>().unwrap());
        let p = int8_activation_params(min, max).unwrap();
        assert_eq!(
            (p.scale[0].to_bits(), p.zero_point[0]),
            (scale.to_bits(), zp),
            "range [{min}, {max}]: got ({}, {}), TF wrote ({scale}, {zp})",
            p.scale[0],
            p.zero_point[0]
        );
    }
}

#[test]
fn int16_activation_params_match_tf_converter() {
    for l in lines("act16") {
        let (min, max, scale, zp) = (f(l[0]), f(l[1]), f(l[2]), l[3].parse::<i32>().unwrap());
        let p = int16_activation_params(min, max).unwrap();
        assert_eq!(zp, 0);
        if scale < f32::MIN_POSITIVE {
            // TF's legacy 16x8 quantizer divides a near-zero range (a dead ReLU, calibrated as
            // [0, FLT_MIN]) by 32767 and writes a subnormal scale; edgequant widens such ranges
            // by 1e-6 as the int8 path does, giving a usable normal scale instead.
            assert!(p.scale[0] >= f32::MIN_POSITIVE && p.scale[0].is_finite());
            continue;
        }
        assert_eq!(
            (p.scale[0].to_bits(), p.zero_point[0]),
            (scale.to_bits(), 0),
            "range [{min}, {max}]: got {}, TF wrote {scale}",
            p.scale[0]
        );
    }
}

#[test]
fn weight_and_bias_scales_match_tf_converter() {
    let mut adjusted = 0;
    for l in lines("chan") {
        let (in_scale, abs_max, bias, w_scale, b_scale) =
            (f(l[0]), f(l[1]), f(l[2]), f(l[3]), f(l[4]));
        let w0 = symmetric_int8_scale(abs_max).unwrap();
        let weight = QuantParams {
            scale: vec![w0],
            zero_point: vec![0],
            axis: Some(0),
        };
        let (w, b) = weight_and_bias_params(in_scale, &weight, &[bias]).unwrap();
        if w.scale[0] != w0 {
            adjusted += 1;
        }
        assert_eq!(
            (w.scale[0].to_bits(), b.scale[0].to_bits()),
            (w_scale.to_bits(), b_scale.to_bits()),
            "in {in_scale}, max|w| {abs_max}, bias {bias}: got ({}, {}), TF wrote ({w_scale}, \
             {b_scale})",
            w.scale[0],
            b.scale[0]
        );
    }
    // The golden models contain all-zero channels with a non-zero bias: the overflow
    // adjustment must have been exercised.
    assert!(adjusted > 0);
}

#[test]
fn weight_values_match_tf_converter() {
    let wq = lines("wq");
    assert!(wq.len() >= 500);
    for l in wq {
        let (scale, w, q) = (f(l[0]), f(l[1]), l[2].parse::<i8>().unwrap());
        let params = QuantParams {
            scale: vec![scale],
            zero_point: vec![0],
            axis: Some(0),
        };
        let got = quantize_int8_weights_with(&[w], &[1], &params).unwrap();
        assert_eq!(got[0], q, "weight {w} with scale {scale}");
    }
}

#[test]
fn bias_values_match_tf_converter() {
    let bq = lines("bq");
    assert!(bq.len() >= 100);
    for l in bq {
        let (scale, b, q) = (f(l[0]), f(l[1]), l[2].parse::<i32>().unwrap());
        let got = quantize_bias_i32(&[b], &QuantParams::per_tensor(scale, 0)).unwrap();
        assert_eq!(got[0], q, "bias {b} with scale {scale}");
    }
}
