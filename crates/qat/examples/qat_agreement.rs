//! Diagnostic: trains the tutorial CNN with quantization-aware training on MNIST (the
//! `bench/qat_accuracy` recipe: 2 epochs, quant delay 1200 steps, seed 1), then compares on the
//! 10k test images the fake-quantized model's predictions (burn) with the exported int8 model's
//! (edgequant's interpreter): both accuracies and the fraction of images where the two
//! predicted classes agree.
//!
//!     cargo run --release -p edgequant-qat --example qat_agreement -- $CACHE/mnist [STEPS]

use edgequant_calib::{load_dataset, read_labels, InputSpec, ReadOptions};
use edgequant_interp::{Interpreter, TensorData, TensorValue};
use edgequant_qat::{
    argmax, evaluate, export_int8, predict, train, QatOptions, Spec, TrainOptions,
};
use edgequant_quant::IntegerOptions;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: qat_agreement MNIST_DIR [STEPS]")?,
    );
    let steps: Option<usize> = args.next().map(|s| s.parse()).transpose()?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("specs/tutorial_cnn.spec"))?;
    let mut m = Spec::parse(&text, "tutorial_cnn")?.build(1)?;
    let input = [InputSpec::new("input", vec![28, 28, 1])];
    let load = |img: &str, lab: &str| -> Result<_, Box<dyn std::error::Error>> {
        let ds = load_dataset(&dir.join(img), &input, &ReadOptions::default())?;
        let labels = read_labels(&dir.join(lab), None)?;
        Ok((ds, labels))
    };
    let (train_ds, train_labels) = load("train-images-idx3-ubyte", "train-labels-idx1-ubyte")?;
    let (test_ds, test_labels) = load("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?;
    let opts = TrainOptions {
        epochs: 2,
        batch_size: 50,
        learning_rate: 1e-3,
        lr_schedule: edgequant_qat::LrSchedule::Constant,
        seed: 1,
        max_steps: steps,
        qat: Some(QatOptions {
            quant_delay: 1200,
            ..QatOptions::default()
        }),
    };
    train(&mut m, &train_ds, &train_labels, &opts, &mut |_| {})?;
    let fq_acc = evaluate(&m, &test_ds, &test_labels, true)?;
    let fl_acc = evaluate(&m, &test_ds, &test_labels, false)?;
    let samples: Vec<&[f32]> = test_ds.samples().iter().map(|s| s[0].as_slice()).collect();
    let fq = predict(&m, &samples, 500, true)?;
    let q = export_int8(&m, &IntegerOptions::default())?;
    let it = Interpreter::new(&q.graph)?;
    let shape = q.graph.tensor(q.graph.inputs[0]).shape.clone();
    let (mut agree, mut int_ok) = (0usize, 0usize);
    for ((s, f), &l) in samples.iter().zip(&fq).zip(&test_labels) {
        let out = it.run(vec![TensorValue::from_f32(shape.clone(), s.to_vec())?])?;
        let TensorData::F32(v) = &out[0].data else {
            return Err("float output expected".into());
        };
        let p = argmax(v);
        agree += usize::from(p == argmax(f));
        int_ok += usize::from(p == l as usize);
    }
    let n = test_labels.len() as f64;
    println!(
        "fake-quant {:.2} %, same weights without fake quant {:.2} %, int8 {:.2} %, agreement {:.2} %",
        fq_acc as f64 * 100.0,
        fl_acc as f64 * 100.0,
        int_ok as f64 / n * 100.0,
        agree as f64 / n * 100.0
    );
    Ok(())
}
