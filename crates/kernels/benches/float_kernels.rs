//! Criterion benchmarks of the hot float kernels at shapes taken from the mediapipe models
//! (hand_landmark_lite, iris_landmark). Run: `cargo bench -p edgequant-kernels`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgequant_kernels::float::{
    conv2d, depthwise_conv2d, fully_connected, Clamp, Conv2dParams, Conv2dWeights,
    DepthwiseConv2dParams, FullyConnectedWeights,
};
use edgequant_kernels::Parallelism;

fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn conv_params(hw: usize, ic: usize, oc: usize, k: usize, stride: usize) -> Conv2dParams {
    let pad = (k - 1) / 2;
    Conv2dParams {
        batch: 1,
        in_h: hw,
        in_w: hw,
        in_c: ic,
        out_h: hw.div_ceil(stride),
        out_w: hw.div_ceil(stride),
        out_c: oc,
        kernel_h: k,
        kernel_w: k,
        stride_h: stride,
        stride_w: stride,
        dilation_h: 1,
        dilation_w: 1,
        pad_top: pad,
        pad_left: pad,
        groups: 1,
        clamp: Clamp::RELU,
    }
}

fn bench_conv(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv2d");
    let cases = [
        ("3x3s2_224x3_to_24", conv_params(224, 3, 24, 3, 2)),
        ("3x3s1_32x32_to_32", conv_params(32, 32, 32, 3, 1)),
        ("1x1_112x16_to_64", conv_params(112, 16, 64, 1, 1)),
        ("1x1_56x96_to_16", conv_params(56, 96, 16, 1, 1)),
        ("1x1_32x32_to_64", conv_params(32, 32, 64, 1, 1)),
        ("1x1_7x672_to_112", conv_params(7, 672, 112, 1, 1)),
        ("1x1_4x128_to_64", conv_params(4, 128, 64, 1, 1)),
    ];
    for (name, p) in cases {
        let w = data(p.weights_len().unwrap(), 1);
        let b = data(p.out_c, 2);
        let x = data(p.input_len().unwrap(), 3);
        let packed = Conv2dWeights::pack(&p, &w, Some(&b)).unwrap();
        let mut out = vec![0.0; p.output_len().unwrap()];
        let macs = p.output_len().unwrap() * p.kernel_h * p.kernel_w * p.in_c;
        g.throughput(Throughput::Elements(macs as u64));
        for par in [Parallelism::None, Parallelism::Rayon] {
            g.bench_with_input(BenchmarkId::new(name, format!("{par:?}")), &p, |bch, p| {
                bch.iter(|| conv2d(p, &packed, &x, &mut out, par).unwrap())
            });
        }
    }
    g.finish();
}

fn bench_depthwise(c: &mut Criterion) {
    let mut g = c.benchmark_group("depthwise_conv2d");
    let mk = |hw: usize, ch: usize, k: usize, stride: usize| DepthwiseConv2dParams {
        batch: 1,
        in_h: hw,
        in_w: hw,
        in_c: ch,
        out_h: hw.div_ceil(stride),
        out_w: hw.div_ceil(stride),
        depth_multiplier: 1,
        kernel_h: k,
        kernel_w: k,
        stride_h: stride,
        stride_w: stride,
        dilation_h: 1,
        dilation_w: 1,
        pad_top: (k - 1) / 2,
        pad_left: (k - 1) / 2,
        clamp: Clamp::RELU6,
    };
    let cases = [
        ("3x3_112x24", mk(112, 24, 3, 1)),
        ("3x3s2_112x64", mk(112, 64, 3, 2)),
        ("5x5_28x144", mk(28, 144, 5, 1)),
        ("5x5_7x672", mk(7, 672, 5, 1)),
        ("3x3_32x32", mk(32, 32, 3, 1)),
    ];
    for (name, p) in cases {
        let w = data(p.weights_len().unwrap(), 1);
        let b = data(p.out_c(), 2);
        let x = data(p.input_len().unwrap(), 3);
        let mut out = vec![0.0; p.output_len().unwrap()];
        let macs = p.output_len().unwrap() * p.kernel_h * p.kernel_w;
        g.throughput(Throughput::Elements(macs as u64));
        for par in [Parallelism::None, Parallelism::Rayon] {
            g.bench_with_input(BenchmarkId::new(name, format!("{par:?}")), &p, |bch, p| {
                bch.iter(|| depthwise_conv2d(p, &w, Some(&b), &x, &mut out, par).unwrap())
            });
        }
    }
    g.finish();
}

fn bench_fc(c: &mut Criterion) {
    let mut g = c.benchmark_group("fully_connected");
    for (name, rows, i, o) in [
        ("672_to_63", 1, 672, 63),
        ("1024_to_1000", 1, 1024, 1000),
        ("b32_256_to_256", 32, 256, 256),
    ] {
        let w = FullyConnectedWeights::pack(&data(o * i, 1), o, i, Some(&data(o, 2))).unwrap();
        let x = data(rows * i, 3);
        let mut out = vec![0.0; rows * o];
        g.throughput(Throughput::Elements((rows * i * o) as u64));
        for par in [Parallelism::None, Parallelism::Rayon] {
            g.bench_function(BenchmarkId::new(name, format!("{par:?}")), |bch| {
                bch.iter(|| fully_connected(&w, &x, &mut out, Clamp::NONE, par).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_conv, bench_depthwise, bench_fc);
criterion_main!(benches);
