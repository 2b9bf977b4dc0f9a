//! Scratch micro-benchmarks (development only).
use edgequant_kernels::float::*;
use edgequant_kernels::Parallelism;
use std::time::Instant;

fn time(name: &str, flops: f64, mut f: impl FnMut()) {
    let mut best = f64::INFINITY;
    for _ in 0..300 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{name:40} {:8.1} us {:6.1} GFLOP/s", best * 1e6, flops / best / 1e9);
}

fn dw(hw: usize, c: usize, k: usize, s: usize) {
    let p = DepthwiseConv2dParams {
        batch: 1, in_h: hw, in_w: hw, in_c: c, out_h: hw.div_ceil(s), out_w: hw.div_ceil(s),
        depth_multiplier: 1, kernel_h: k, kernel_w: k, stride_h: s, stride_w: s,
        dilation_h: 1, dilation_w: 1, pad_top: (k - 1) / 2, pad_left: (k - 1) / 2, clamp: Clamp::RELU6,
    };
    let x: Vec<f32> = (0..p.input_len().unwrap()).map(|i| (i % 17) as f32 * 0.1).collect();
    let w: Vec<f32> = (0..p.weights_len().unwrap()).map(|i| (i % 7) as f32 * 0.1).collect();
    let b = vec![0.1; c];
    let mut o = vec![0.0; p.output_len().unwrap()];
    let flops = 2.0 * (o.len() * k * k) as f64;
    time(&format!("dw {hw}x{hw}x{c} k{k} s{s}"), flops, || {
        depthwise_conv2d(&p, &w, Some(&b), &x, &mut o, Parallelism::None).unwrap()
    });
}

fn cv(name: &str, hw: usize, ic: usize, oc: usize, k: usize, s: usize) {
    let pad = (k - 1) / 2;
    let p = Conv2dParams {
        batch: 1, in_h: hw, in_w: hw, in_c: ic, out_h: hw.div_ceil(s), out_w: hw.div_ceil(s), out_c: oc,
        kernel_h: k, kernel_w: k, stride_h: s, stride_w: s, dilation_h: 1, dilation_w: 1,
        pad_top: if k == 2 { 0 } else { pad }, pad_left: if k == 2 { 0 } else { pad }, groups: 1, clamp: Clamp::NONE,
    };
    let x: Vec<f32> = (0..p.input_len().unwrap()).map(|i| (i % 17) as f32 * 0.1).collect();
    let w: Vec<f32> = (0..p.weights_len().unwrap()).map(|i| (i % 7) as f32 * 0.1).collect();
    let b = vec![0.1; oc];
    let packed = Conv2dWeights::pack(&p, &w, Some(&b)).unwrap();
    let mut o = vec![0.0; p.output_len().unwrap()];
    let flops = 2.0 * (o.len() * k * k * ic) as f64;
    for par in [Parallelism::None, Parallelism::Rayon] {
        time(&format!("conv {name} {par:?}"), flops, || conv2d(&p, &packed, &x, &mut o, par).unwrap());
    }
}

fn main() {
    cv("3x3s2 224x3->24", 224, 3, 24, 3, 2);
    cv("1x1 112x16->64", 112, 16, 64, 1, 1);
    cv("1x1 112x24->16", 112, 24, 16, 1, 1);
    cv("1x1 56x16->96", 56, 16, 96, 1, 1);
    cv("1x1 56x96->16", 56, 96, 16, 1, 1);
    cv("1x1 14x64->384", 14, 64, 384, 1, 1);
    cv("1x1 7x112->672", 7, 112, 672, 1, 1);
    cv("1x1 7x672->112", 7, 672, 112, 1, 1);
    cv("3x3s2 64x3->64", 64, 3, 64, 3, 2);
    cv("1x1 32x64->32", 32, 64, 32, 1, 1);
    cv("1x1 32x32->64", 32, 32, 64, 1, 1);
    cv("2x2s2 32x64->64", 32, 64, 64, 2, 2);
    cv("1x1 16x64->128", 16, 64, 128, 1, 1);
    cv("1x1 4x128->64", 4, 128, 64, 1, 1);
    cv("1x1 2x64->128", 2, 64, 128, 1, 1);
    dw(112, 24, 3, 1);
    dw(56, 96, 3, 1);
    dw(112, 64, 3, 2);
    dw(28, 144, 5, 1);
    dw(14, 384, 5, 1);
    dw(32, 32, 3, 1);
}
