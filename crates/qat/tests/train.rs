//! Training and quantization-aware training through the library API on a committed MNIST
//! subset: training learns, the exported float graph computes what the trained model computes,
//! seeds reproduce, imported models lower and fine-tune, bad data is rejected.

use edgequant_calib::{load_dataset, read_labels, Dataset, InputSpec, ReadOptions};
use edgequant_interp::{Interpreter, TensorData, TensorValue};
use edgequant_ir::{DType, Graph};
use edgequant_qat::{
    argmax, evaluate, export_float, export_int8, predict, to_tflite, train, Model, QatError,
    QatOptions, Spec, TrainOptions,
};
use edgequant_quant::{IntegerOptions, IoType};
use std::path::PathBuf;

fn repo(rel: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// A committed spec. Batch norms get momentum 0.5 instead of Keras's 0.99: these tests train
/// for tens of steps, and with 0.99 (or even 0.9: 0.9^40 = 0.015 of the initial variance 1
/// against batch variances near 1e-3 after the first layer) the moving statistics used at
/// inference would still be mostly their initial values.
fn spec(name: &str, seed: u64) -> Model {
    let p = repo(&format!("specs/{name}.spec"));
    let text = std::fs::read_to_string(&p)
        .expect("read spec")
        .replace("BatchNormalization", "BatchNormalization momentum=0.5");
    Spec::parse(&text, name)
        .expect("parse")
        .build(seed)
        .expect("build")
}

/// (images, labels) of the committed subset: "test" = the first N MNIST test images (used for
/// training here), "train" = 100 MNIST training images (held out).
fn mnist(part: &str, n: usize) -> (Dataset, Vec<u32>) {
    let (img, lab) = match part {
        "test" => (
            "fixtures/mnist_subset/t10k-images-idx3-ubyte.gz",
            "fixtures/mnist_subset/t10k-labels-idx1-ubyte.gz",
        ),
        _ => (
            "fixtures/mnist_subset/train-images-100.idx3.gz",
            "fixtures/mnist_subset/train-labels-100.idx1.gz",
        ),
    };
    let opts = ReadOptions {
        max_samples: Some(n),
        ..ReadOptions::default()
    };
    let ds = load_dataset(
        &repo(img),
        &[InputSpec::new("input", vec![28, 28, 1])],
        &opts,
    )
    .expect("load images");
    let labels = read_labels(&repo(lab), Some(n)).expect("labels");
    (ds, labels)
}

fn interp_outputs(g: &Graph, samples: &[&[f32]]) -> Vec<Vec<f32>> {
    let it = Interpreter::new(g).expect("interpreter");
    let shape = g.tensor(g.inputs[0]).shape.clone();
    let dt = g.tensor(g.inputs[0]).dtype;
    assert_eq!(dt, DType::F32);
    samples
        .iter()
        .map(|s| {
            let out = it
                .run(vec![
                    TensorValue::from_f32(shape.clone(), s.to_vec()).expect("value")
                ])
                .expect("run");
            match &out[0].data {
                TensorData::F32(v) => v.clone(),
                other => panic!("float output expected, got {:?}", other.dtype()),
            }
        })
        .collect()
}

fn quick(epochs: usize, steps: Option<usize>, qat: Option<QatOptions>) -> TrainOptions {
    TrainOptions {
        epochs,
        batch_size: 50,
        learning_rate: 1e-3,
        lr_schedule: edgequant_qat::LrSchedule::Constant,
        seed: 7,
        max_steps: steps,
        qat,
    }
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

#[test]
fn tutorial_cnn_trains_and_float_export_matches() {
    let (train_ds, train_labels) = mnist("test", 1000);
    let (held, held_labels) = mnist("train", 100);
    let mut m = spec("tutorial_cnn", 1);
    let report = train(
        &mut m,
        &train_ds,
        &train_labels,
        &quick(2, None, None),
        &mut |_| {},
    )
    .expect("train");
    assert_eq!(report.step_losses.len(), 40);
    let first = mean(&report.step_losses[..5]);
    let last = mean(&report.step_losses[35..]);
    eprintln!("loss {first:.3} -> {last:.3}");
    assert!(
        last < first * 0.5,
        "loss did not decrease: {first} -> {last}"
    );
    let acc = evaluate(&m, &held, &held_labels, false).expect("eval");
    eprintln!("held-out accuracy {:.1} %", acc * 100.0);
    // Chance is 10 %; 40 steps on 1000 images reach far more.
    assert!(acc >= 0.7, "held-out accuracy {acc}");

    // The exported float graph (BN as MUL+ADD, softmax) computes what burn computes.
    let g = export_float(&m).expect("export");
    let samples: Vec<&[f32]> = held
        .samples()
        .iter()
        .take(20)
        .map(|s| s[0].as_slice())
        .collect();
    let ours = interp_outputs(&g, &samples);
    let burn = predict(&m, &samples, 20, false).expect("predict");
    let mut worst = 0f32;
    for (a, b) in ours.iter().zip(&burn) {
        assert_eq!(argmax(a), argmax(b));
        for (x, y) in a.iter().zip(b) {
            worst = worst.max((x - y).abs());
        }
    }
    eprintln!("max |interp - burn| on softmax outputs: {worst:e}");
    // Softmax outputs in [0, 1]; the two sides sum convolutions in different orders
    // (float32 rounding differences of ~1e-6 relative through 5 layers).
    assert!(
        worst <= 1e-4,
        "float export differs from the trained model by {worst}"
    );
    let bytes = to_tflite(&g, "test").expect("tflite");
    assert!(
        bytes.len() > 1_000_000 && bytes.len() < 1_100_000,
        "{}",
        bytes.len()
    );
}

#[test]
fn seeded_training_is_reproducible() {
    let (ds, labels) = mnist("test", 300);
    let run = || {
        let mut m = spec("residual", 3);
        let r = train(&mut m, &ds, &labels, &quick(1, Some(4), None), &mut |_| {}).expect("train");
        let bytes = to_tflite(&export_float(&m).expect("export"), "t").expect("tflite");
        (r.step_losses, bytes)
    };
    let (l1, b1) = run();
    let (l2, b2) = run();
    assert_eq!(l1.len(), 4);
    assert_eq!(l1, l2, "loss curves differ");
    assert!(b1 == b2, "output bytes differ");
    // A different seed gives a different model.
    let mut m = spec("residual", 4);
    train(&mut m, &ds, &labels, &quick(1, Some(4), None), &mut |_| {}).expect("train");
    let b3 = to_tflite(&export_float(&m).expect("export"), "t").expect("tflite");
    assert!(b3 != b1);
}

fn int8_accuracy(g: &Graph, ds: &Dataset, labels: &[u32]) -> f32 {
    let samples: Vec<&[f32]> = ds.samples().iter().map(|s| s[0].as_slice()).collect();
    let out = interp_outputs(g, &samples);
    let ok = out
        .iter()
        .zip(labels)
        .filter(|(o, &l)| argmax(o) == l as usize)
        .count();
    ok as f32 / labels.len() as f32
}

fn qat_and_check(name: &str, m: &mut Model, steps: usize, delay: usize, freeze: Option<usize>) {
    let (ds, labels) = mnist("test", 1000);
    let (held, held_labels) = mnist("train", 100);
    let opts = quick(
        5,
        Some(steps),
        Some(QatOptions {
            quant_delay: delay,
            freeze_bn: freeze,
            ema_decay: 0.9,
        }),
    );
    let r = train(m, &ds, &labels, &opts, &mut |_| {}).expect("qat");
    assert_eq!(r.step_losses.len(), steps);
    let q = export_int8(
        m,
        &IntegerOptions {
            integer_only: true,
            ..IntegerOptions::default()
        },
    )
    .expect("export int8");
    assert!(q.float_nodes.is_empty());
    let ints = q
        .graph
        .tensors
        .iter()
        .filter(|t| !t.is_const() && t.dtype == DType::I8)
        .count();
    assert!(ints >= 5, "{name}: only {ints} int8 activations");
    let fq = evaluate(m, &held, &held_labels, true).expect("eval fq");
    let int8 = int8_accuracy(&q.graph, &held, &held_labels);
    eprintln!(
        "{name}: fake-quant accuracy {:.1} %, int8 {:.1} %",
        fq * 100.0,
        int8 * 100.0
    );
    assert!(int8 >= 0.6, "{name}: int8 accuracy {int8}");
    // The integer model is what training simulated: accuracies within 5 points on 100 images.
    assert!(
        (int8 - fq).abs() <= 0.05,
        "{name}: int8 {int8} vs fake-quant {fq}"
    );
}

#[test]
fn qat_tutorial_bn_after_relu() {
    let mut m = spec("tutorial_cnn", 2);
    qat_and_check("tutorial_cnn", &mut m, 40, 15, Some(30));
}

#[test]
fn qat_conv_bn_relu_folded() {
    let mut m = spec("conv_bn_relu", 2);
    qat_and_check("conv_bn_relu", &mut m, 60, 20, Some(50));
}

#[test]
fn qat_residual_relu_after_add() {
    let mut m = spec("residual", 2);
    qat_and_check("residual", &mut m, 40, 15, None);
}

#[test]
fn imported_tflite_lowers_exactly_and_fine_tunes() {
    let bytes = std::fs::read(repo("fixtures/tutorial_cnn/float.tflite")).expect("fixture");
    let g = edgequant_tflite::read_model(&bytes).expect("read").graph;
    let g = edgequant_quant::prepare_float(&g).expect("prepare");
    let mut m = Model::from_graph(&g).expect("lower");
    let (held, held_labels) = mnist("train", 100);
    let samples: Vec<&[f32]> = held
        .samples()
        .iter()
        .take(10)
        .map(|s| s[0].as_slice())
        .collect();
    let orig = interp_outputs(&g, &samples);
    let lowered = predict(&m, &samples, 10, false).expect("predict");
    for (a, b) in orig.iter().zip(&lowered) {
        for (x, y) in a.iter().zip(b) {
            // Same model, different summation order (see the float export test).
            assert!((x - y).abs() <= 1e-4, "lowered model differs: {x} vs {y}");
        }
    }
    let before = evaluate(&m, &held, &held_labels, false).expect("eval");
    assert!(before >= 0.9, "the TF-trained fixture scores {before}");
    qat_and_check("tflite import", &mut m, 20, 0, None);
}

#[test]
fn bad_data_is_rejected() {
    let (ds, mut labels) = mnist("train", 100);
    let mut m = spec("tutorial_cnn", 0);
    labels[7] = 10;
    let e = train(&mut m, &ds, &labels, &quick(1, Some(1), None), &mut |_| {}).unwrap_err();
    assert!(matches!(e, QatError::Data(_)));
    assert!(
        e.to_string()
            .contains("label 10 of sample 7 is out of range"),
        "{e}"
    );

    let e = train(
        &mut m,
        &ds,
        &labels[..50],
        &quick(1, Some(1), None),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("50 labels for 100 samples"), "{e}");

    let flat = Dataset::new(
        "flat.npy",
        vec![InputSpec::new("x", vec![10])],
        vec![vec![vec![0.0; 10]]],
    )
    .expect("dataset");
    let e = train(&mut m, &flat, &[0], &quick(1, Some(1), None), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("samples have shape [10]"), "{e}");

    let (ds, labels) = mnist("train", 100);
    let mut o = quick(1, Some(1), None);
    o.batch_size = 0;
    assert!(matches!(
        train(&mut m, &ds, &labels, &o, &mut |_| {}),
        Err(QatError::Options(_))
    ));

    let e = export_int8(
        &m,
        &IntegerOptions {
            input_type: IoType::Int8,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("no learned activation ranges"),
        "{e}"
    );
}
