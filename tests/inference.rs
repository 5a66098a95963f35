//! Inference without the graph (`train::evaluate`, behind `eval` and a trainer's validation)
//! gives exactly the figures of the graph's forward pass, which is how `eval` computed them
//! before: the same loss bits, accuracy and confusion matrix, on one thread or two and at any
//! batch size. `eval --timing` reports loading and inference times.

mod common;

use backprop::data::{load_folder, write_idx_images, write_idx_labels, Dataset};
use backprop::nn::mlp::argmax;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::train::{evaluate, Evaluation};
use common::{assert_success, backprop, image_folder, images, stderr, stdout};
use std::path::Path;

/// A generated MNIST-shaped IDX folder (28x28, 10 classes) read back as `eval` reads it.
fn mnist_shaped_folder(dir: &Path, samples: usize) -> Dataset {
    let (pixels, labels) = images(samples, 28, 28, 10, 9);
    write_idx_images(&dir.join("train-images-idx3-ubyte"), 28, 28, &pixels, false).unwrap();
    write_idx_labels(&dir.join("train-labels-idx1-ubyte"), &labels, false).unwrap();
    load_folder(dir).unwrap().train
}

/// What `eval` computed before it had a forward pass of its own: the graph's forward pass,
/// batch by batch, the per-sample losses summed per batch.
fn graph_evaluation(mlp: &mut Mlp<f32>, data: &Dataset, batch_size: usize) -> Evaluation {
    let q = mlp.config().outputs;
    let mut confusion = vec![vec![0usize; q]; q];
    let mut loss_sum = 0.0f64;
    let indices: Vec<usize> = (0..data.len()).collect();
    for batch in indices.chunks(batch_size) {
        data.gather_features(batch, mlp.features_mut(batch.len()));
        mlp.set_labels(batch.iter().map(|&i| data.labels()[i] as usize))
            .unwrap();
        mlp.forward().unwrap();
        loss_sum += mlp
            .per_sample_losses()
            .as_slice()
            .iter()
            .map(|&l| l as f64)
            .sum::<f64>();
        for (row, &i) in mlp.outputs().as_slice().chunks_exact(q).zip(batch) {
            confusion[data.labels()[i] as usize][argmax(row)] += 1;
        }
    }
    let correct: usize = (0..q).map(|c| confusion[c][c]).sum();
    Evaluation {
        loss: loss_sum / data.len() as f64,
        accuracy: correct as f64 / data.len() as f64,
        confusion,
        samples: data.len(),
    }
}

#[test]
fn evaluation_is_the_graphs_forward_pass_bit_for_bit_on_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let data = mnist_shaped_folder(dir.path(), 1500);
    let models = [
        // The D2L network, as in §4.7: no bias.
        MlpConfig::d2l(784, 64, 10, Activation::Relu, Loss::CrossEntropy, 1e-4),
        MlpConfig {
            inputs: 784,
            hidden: vec![48, 32],
            outputs: 10,
            activation: Activation::Sigmoid,
            loss: Loss::CrossEntropy,
            bias: true,
            weight_decay: 0.0,
        },
        MlpConfig {
            inputs: 784,
            hidden: vec![40],
            outputs: 10,
            activation: Activation::Tanh,
            loss: Loss::Squared,
            bias: true,
            weight_decay: 0.0,
        },
    ];
    for config in models {
        let mut mlp = Mlp::<f32>::new(config.clone(), 11).unwrap();
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                // A batch of one, ragged batches, the training default, all samples in one
                // batch (scored in forward passes of 1,024 and 476), and a batch larger than
                // the data (clamped to it).
                for batch_size in [1, 37, 256, 1500, 5000] {
                    let want = graph_evaluation(&mut mlp, &data, batch_size);
                    let got = evaluate(&mut mlp, &data, batch_size).unwrap();
                    let case = format!("{config}, {threads} threads, batch {batch_size}");
                    assert_eq!(got.loss.to_bits(), want.loss.to_bits(), "{case}");
                    assert_eq!(got.accuracy.to_bits(), want.accuracy.to_bits(), "{case}");
                    assert_eq!(got.confusion, want.confusion, "{case}");
                    assert_eq!(got.samples, 1500, "{case}");
                    // A fresh model classifies some, not all, samples right: the
                    // comparison covers both.
                    assert!(got.accuracy > 0.0 && got.accuracy < 1.0, "{case}: {got:?}");
                }
            });
        }
    }
}

#[test]
fn a_label_beyond_the_outputs_is_the_error_of_the_first_batch_that_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = mnist_shaped_folder(dir.path(), 300);
    // Five outputs for labels 0..9: the first sample with a label from 5 fails.
    let config = MlpConfig::d2l(784, 16, 5, Activation::Relu, Loss::CrossEntropy, 0.0);
    let mut mlp = Mlp::<f32>::new(config, 1).unwrap();
    let first = data.labels().iter().position(|&l| l >= 5).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let error = pool
        .install(|| evaluate(&mut mlp, &data, 8))
        .unwrap_err()
        .to_string();
    let label = data.labels()[first];
    assert!(
        error.contains(&format!("label {label} of sample {} is", first % 8)),
        "first bad sample {first} (label {label}): {error}"
    );
}

fn eval(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "eval",
        "--model",
        "model.safetensors",
        "--dataset",
        "data",
        "--split",
        "train",
    ];
    args.extend_from_slice(extra);
    backprop(dir, &args)
}

/// Trains a small model on a generated IDX folder in `dir` (`data`, `model.safetensors`).
fn trained(dir: &Path) {
    image_folder(dir, "data", 300, 0, 4);
    assert_success(&backprop(
        dir,
        &[
            "train",
            "--dataset",
            "data",
            "--hidden",
            "12",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--quiet",
            "--out",
            "model.safetensors",
        ],
    ));
}

#[test]
fn eval_gives_the_same_figures_on_one_or_two_threads_and_at_any_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let figures = |extra: &[&str]| {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let out = eval(d, &args);
        assert_success(&out);
        let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        (
            report["loss"].as_f64().unwrap().to_bits(),
            report["accuracy"].clone(),
            report["confusion"].clone(),
        )
    };
    let one = figures(&["--threads", "1", "--batch-size", "32"]);
    assert_eq!(figures(&["--threads", "2", "--batch-size", "32"]), one);
    // Another batch size sums the losses in other groups: the same accuracy and confusion,
    // a loss equal to the last bits or so.
    let (loss, accuracy, confusion) = figures(&["--threads", "2", "--batch-size", "7"]);
    assert_eq!((accuracy, confusion), (one.1.clone(), one.2.clone()));
    assert!((f64::from_bits(loss) - f64::from_bits(one.0)).abs() < 1e-12);
    // A batch far larger than the data is the data: nothing of that size is allocated.
    let huge = figures(&["--threads", "2", "--batch-size", "1000000000000000"]);
    assert_eq!(huge, figures(&["--threads", "1", "--batch-size", "300"]));
}

#[test]
fn eval_timing_reports_loading_and_inference_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let out = eval(d, &["--json", "--timing"]);
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    for key in ["load_seconds", "inference_seconds", "inference_cpu_seconds"] {
        let seconds = report["timing"][key].as_f64().unwrap();
        assert!(seconds > 0.0 && seconds < 60.0, "{key}: {report}");
    }
    assert_eq!(report["samples"], 300);
    // Without --timing the JSON keeps its fields, and no timing.
    let plain = eval(d, &["--json"]);
    let plain: serde_json::Value = serde_json::from_str(stdout(&plain).trim()).unwrap();
    assert!(plain.get("timing").is_none(), "{plain}");
    assert_eq!(plain["loss"], report["loss"]);

    let text = stdout(&eval(d, &["--timing"]));
    let line = text
        .lines()
        .find(|l| l.starts_with("time "))
        .unwrap_or_else(|| panic!("no time line in:\n{text}"));
    assert!(
        line.contains("load ") && line.contains("inference ") && line.ends_with(" samples/s)"),
        "{line}"
    );
    assert!(!stdout(&eval(d, &[])).contains("inference"));
}

#[test]
fn eval_timing_takes_no_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    trained(d);
    let out = eval(d, &["--timing=yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.starts_with("error: ") && message.contains("--timing"),
        "{message}"
    );
}
