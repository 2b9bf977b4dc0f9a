//! Criterion benchmarks of the int8 kernels: optimized (im2col + AVX2/portable GEMM,
//! channel-vectorized depthwise) against their reference twins, at the shapes of the
//! tutorial MNIST CNN and a MobileNet-like block. Run:
//! `cargo bench -p edgequant-kernels --bench int_kernels`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgequant_kernels::int::conv::{
    conv2d_per_channel, conv2d_per_channel_ref, Conv2dParams, ConvOptions, PackedConvFilter,
};
use edgequant_kernels::int::depthwise_conv::{
    depthwise_conv_per_channel, depthwise_conv_per_channel_ref, DepthwiseOptions, DepthwiseParams,
};
use edgequant_kernels::int::fully_connected::{
    fully_connected, fully_connected_ref, FullyConnectedParams, PackedFcWeights,
};
use edgequant_kernels::int::{FusedActivation, QParams};
use edgequant_kernels::Parallelism;

fn data(n: usize, seed: u32) -> Vec<i8> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((s >> 8) % 255) as i8
        })
        .collect()
}

fn conv(c: &mut Criterion) {
    let mut g = c.benchmark_group("int8_conv2d");
    // (name, hw, in_c, out_c): MNIST CNN layers 2 and 3, a MobileNet-like 1x1.
    for &(name, hw, ic, oc, k) in &[
        ("mnist_conv2_14x14x32_64", 14usize, 32usize, 64usize, 3usize),
        ("mnist_conv3_7x7x64_64", 7, 64, 64, 3),
        ("pointwise_28x28x64_128", 28, 64, 128, 1),
    ] {
        let p = Conv2dParams::prepare::<i8>(
            ConvOptions {
                activation: FusedActivation::Relu,
                ..Default::default()
            },
            [1, hw, hw, ic],
            [oc, k, k, ic],
            QParams::new(0.05, -3),
            &vec![0.01; oc],
            QParams::new(0.1, -128),
        )
        .expect("valid conv");
        let input = data(hw * hw * ic, 1);
        let filter = data(oc * k * k * ic, 2);
        let bias: Vec<i32> = (0..oc as i32).map(|i| i * 17 - 300).collect();
        let packed = PackedConvFilter::new(&p, &filter).expect("pack");
        let mut out = vec![0i8; hw * hw * oc];
        g.throughput(Throughput::Elements((hw * hw * oc * k * k * ic) as u64));
        g.bench_function(BenchmarkId::new("reference", name), |b| {
            b.iter(|| conv2d_per_channel_ref(&p, &input, &filter, Some(&bias), &mut out))
        });
        for (label, par) in [
            ("gemm_1t", Parallelism::None),
            ("gemm_rayon", Parallelism::Rayon),
        ] {
            g.bench_function(BenchmarkId::new(label, name), |b| {
                b.iter(|| {
                    conv2d_per_channel(&p, &packed, &filter, &input, Some(&bias), &mut out, par)
                })
            });
        }
    }
    g.finish();
}

fn depthwise(c: &mut Criterion) {
    let mut g = c.benchmark_group("int8_depthwise");
    let (hw, ch) = (56usize, 64usize);
    let p = DepthwiseParams::prepare::<i8>(
        DepthwiseOptions::default(),
        [1, hw, hw, ch],
        [1, 3, 3, ch],
        QParams::new(0.05, 1),
        &vec![0.01; ch],
        QParams::new(0.1, 0),
    )
    .expect("valid depthwise");
    let input = data(hw * hw * ch, 3);
    let filter = data(9 * ch, 4);
    let mut out = vec![0i8; hw * hw * ch];
    g.throughput(Throughput::Elements((hw * hw * ch * 9) as u64));
    g.bench_function("reference", |b| {
        b.iter(|| depthwise_conv_per_channel_ref(&p, &input, &filter, None, &mut out))
    });
    g.bench_function("vectorized", |b| {
        b.iter(|| depthwise_conv_per_channel(&p, &input, &filter, None, &mut out))
    });
    g.finish();
}

fn fc(c: &mut Criterion) {
    let mut g = c.benchmark_group("int8_fully_connected");
    let (batches, depth, units) = (1usize, 3136usize, 64usize);
    let p = FullyConnectedParams::prepare::<i8>(
        batches,
        depth,
        units,
        QParams::new(0.05, -2),
        &[0.01],
        0,
        QParams::new(0.1, 0),
        FusedActivation::Relu,
    )
    .expect("valid fc");
    let input = data(batches * depth, 5);
    let filter = data(units * depth, 6);
    let w = PackedFcWeights::new(&p, &filter).expect("pack");
    let mut out = vec![0i8; batches * units];
    g.throughput(Throughput::Elements((batches * depth * units) as u64));
    g.bench_function("reference", |b| {
        b.iter(|| fully_connected_ref(&p, &input, &filter, None, &mut out))
    });
    g.bench_function("gemm", |b| {
        b.iter(|| {
            fully_connected(
                &p,
                &w,
                filter.len(),
                &input,
                None,
                &mut out,
                Parallelism::None,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, conv, depthwise, fc);
criterion_main!(benches);
