//! `backprop train`, `eval` and `predict` from the command line, on generated data.

mod common;

use backprop::model_file::{load_model, save_model};
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use common::*;
use std::collections::BTreeMap;
use std::fs;

#[test]
fn train_with_no_flags_learns_the_spiral() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &["train", "--metrics", "m.jsonl", "--plot", "curves.svg"],
    );
    assert_success(&out);
    assert!(stdout(&out).contains("epoch 10/10"), "{}", stdout(&out));
    let records = metrics(&dir.path().join("m.jsonl"));
    assert_eq!(records.len(), 10);
    let last = &records[9];
    assert!(last["test_accuracy"].as_f64().unwrap() >= 0.95, "{last}");
    for key in [
        "epoch",
        "step",
        "train_loss",
        "train_objective",
        "train_accuracy",
        "test_loss",
        "test_accuracy",
        "epoch_seconds",
        "samples_per_second",
    ] {
        assert!(last.get(key).is_some(), "metrics lack {key}: {last}");
    }
    assert!(
        last.get("val_loss").is_none(),
        "no validation split was asked for"
    );
    let model = load_model(&dir.path().join("model.safetensors")).unwrap();
    assert_eq!(model.mlp.config().layer_sizes(), vec![2, 256, 3]);
    assert!(model.mlp.config().bias);
    let svg = fs::read_to_string(dir.path().join("curves.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("test accuracy"));
}

/// The first lines say what is trained on how many threads, and why each split of the
/// spiral has its size (10,002 = 3 x 3,334: MNIST's 10,000 rounded up per class).
#[test]
fn the_start_explains_the_sizes_of_the_spiral_splits() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &["train", "--steps", "1", "--threads", "1", "--quiet"],
    );
    assert_success(&out);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("training 2-256-3 relu") && lines[0].ends_with("on spiral, 1 thread"),
        "{text}"
    );
    assert_eq!(
        lines[1],
        "data: spiral, 3 classes: 60,000 train, 10,002 test (generated: 20,000 per class for \
         training, 3,334 per class for test: MNIST's 10,000 test samples rounded up to a \
         whole number per class)"
    );
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            "xor",
            "--steps",
            "1",
            "--val-fraction",
            "0.1",
            "--threads",
            "2",
            "--quiet",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("on xor, 2 threads\n"), "{text}");
    assert!(
        text.contains(
            "\ndata: xor, 2 classes: 1,000 train (900 after --val-fraction 0.1 holds out 100 \
             for validation), 1,000 test (generated: 500 per class for training, 500 per \
             class for test)\n"
        ),
        "{text}"
    );
}

#[test]
fn the_same_command_twice_gives_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 300, 0, 3);
    let data = data.to_str().unwrap();
    for threads in ["1", "2"] {
        let mut models = Vec::new();
        for run in 0..2 {
            let name = format!("model-{threads}-{run}.safetensors");
            let out = backprop(
                dir.path(),
                &[
                    "train",
                    "--dataset",
                    data,
                    "--hidden",
                    "32,16",
                    "--epochs",
                    "3",
                    "--batch-size",
                    "64",
                    "--optimizer",
                    "adam",
                    "--lr",
                    "0.01",
                    "--seed",
                    "5",
                    "--threads",
                    threads,
                    "--out",
                    &name,
                ],
            );
            assert_success(&out);
            models.push(fs::read(dir.path().join(&name)).unwrap());
        }
        assert!(
            models[0] == models[1],
            "--threads {threads}: two runs differ"
        );
    }
    // A different seed gives a different model.
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data,
            "--hidden",
            "32,16",
            "--epochs",
            "3",
            "--batch-size",
            "64",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--seed",
            "6",
            "--threads",
            "2",
            "--out",
            "other.safetensors",
        ],
    );
    assert_success(&out);
    assert!(
        fs::read(dir.path().join("other.safetensors")).unwrap()
            != fs::read(dir.path().join("model-2-0.safetensors")).unwrap()
    );
}

#[test]
fn an_idx_folder_with_validation_and_test_splits() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 400, 120, 4);
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--val-fraction",
            "0.25",
            "--hidden",
            "16",
            "--epochs",
            "4",
            "--batch-size",
            "32",
            "--quiet",
            "--metrics",
            "m.jsonl",
            "--plot",
            "p.png",
            "--out",
            "idx.safetensors",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    // One line says how big each split is, and what --val-fraction held out.
    assert!(
        text.contains(&format!(
            "\ndata: {}, 4 classes: 400 train (300 after --val-fraction 0.25 holds out 100 \
             for validation), 120 test\n",
            data.display()
        )),
        "{text}"
    );
    let records = metrics(&dir.path().join("m.jsonl"));
    assert_eq!(records.len(), 4);
    // 300 training samples in batches of 32: 10 updates per epoch, the last batch partial.
    assert_eq!(records[3]["step"], 40);
    assert!(
        records[3]["val_accuracy"].as_f64().unwrap() > 0.9,
        "{}",
        records[3]
    );
    assert!(
        records[3]["test_accuracy"].as_f64().unwrap() > 0.9,
        "{}",
        records[3]
    );
    let png = fs::read(dir.path().join("p.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let model = load_model(&dir.path().join("idx.safetensors")).unwrap();
    assert_eq!(model.image_shape(), Some((6, 5)));
    assert_eq!(model.mlp.config().layer_sizes(), vec![30, 16, 4]);

    // eval: the test split by default, or the training split.
    let out = backprop(
        dir.path(),
        &[
            "eval",
            "--model",
            "idx.safetensors",
            "--dataset",
            data.to_str().unwrap(),
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("test split, 120 samples"), "{text}");
    assert!(text.contains("confusion matrix"), "{text}");
    let matrix_total: usize = text
        .lines()
        .skip_while(|l| !l.starts_with("confusion"))
        .skip(2)
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(|v| v.parse::<usize>().unwrap())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(matrix_total, 120);
    let out = backprop(
        dir.path(),
        &[
            "eval",
            "--model",
            "idx.safetensors",
            "--dataset",
            data.to_str().unwrap(),
            "--split",
            "train",
        ],
    );
    assert_success(&out);
    // The training split less the 25 % training held out for validation.
    assert!(stdout(&out).contains("train split, 300 samples"));
}

/// `--init`, `--no-shuffle`, `--steps 1` and one batch holding the whole file: the written
/// weights are `W - lr dJ/dW`, with dJ/dW from the equations of §4.7 in f64 (written out here,
/// independently of the engine).
#[test]
fn one_full_batch_step_is_the_d2l_gradient_descent() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 50, 0, 3);
    let (d, h, q) = (30, 7, 3);
    let (lr, lambda) = (0.5, 0.01);
    for activation in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        for loss in [Loss::CrossEntropy, Loss::Squared] {
            let config = MlpConfig::d2l(d, h, q, activation, loss, 0.0);
            let init = Mlp::<f32>::new(config, 3).unwrap();
            save_model(
                &dir.path().join("init.safetensors"),
                &init,
                &BTreeMap::new(),
            )
            .unwrap();
            let out = backprop(
                dir.path(),
                &[
                    "train",
                    "--dataset",
                    data.to_str().unwrap(),
                    "--init",
                    "init.safetensors",
                    "--no-shuffle",
                    "--steps",
                    "1",
                    "--batch-size",
                    "50",
                    "--lr",
                    "0.5",
                    "--weight-decay",
                    "0.01",
                    "--out",
                    "stepped.safetensors",
                    "--quiet",
                ],
            );
            assert_success(&out);
            let stepped = load_model(&dir.path().join("stepped.safetensors"))
                .unwrap()
                .mlp;

            // The reference, in f64, sample by sample as §4.7 writes it.
            let (pixels, labels) = images(50, 6, 5, 3, 1);
            let w1: Vec<Vec<f64>> = (0..h)
                .map(|r| init.weight(1).row(r).iter().map(|&v| v as f64).collect())
                .collect();
            let w2: Vec<Vec<f64>> = (0..q)
                .map(|r| init.weight(2).row(r).iter().map(|&v| v as f64).collect())
                .collect();
            let mut g1 = vec![vec![0.0; d]; h];
            let mut g2 = vec![vec![0.0; h]; q];
            for (i, &y) in labels.iter().enumerate() {
                let x: Vec<f64> = pixels[i * d..(i + 1) * d]
                    .iter()
                    .map(|&p| p as f64 / 255.0)
                    .collect();
                let z: Vec<f64> = w1
                    .iter()
                    .map(|row| row.iter().zip(&x).map(|(a, b)| a * b).sum())
                    .collect();
                let (hv, dphi): (Vec<f64>, Vec<f64>) = z
                    .iter()
                    .map(|&z| match activation {
                        Activation::Relu => (z.max(0.0), if z > 0.0 { 1.0 } else { 0.0 }),
                        Activation::Sigmoid => {
                            let s = 1.0 / (1.0 + (-z).exp());
                            (s, s * (1.0 - s))
                        }
                        Activation::Tanh => (z.tanh(), 1.0 - z.tanh().powi(2)),
                    })
                    .unzip();
                let o: Vec<f64> = w2
                    .iter()
                    .map(|row| row.iter().zip(&hv).map(|(a, b)| a * b).sum())
                    .collect();
                let onehot = |j: usize| if j == y as usize { 1.0 } else { 0.0 };
                let dl_do: Vec<f64> = match loss {
                    Loss::CrossEntropy => {
                        let m = o.iter().cloned().fold(f64::MIN, f64::max);
                        let s: f64 = o.iter().map(|v| (v - m).exp()).sum();
                        o.iter()
                            .enumerate()
                            .map(|(j, v)| (v - m).exp() / s - onehot(j))
                            .collect()
                    }
                    Loss::Squared => o.iter().enumerate().map(|(j, v)| v - onehot(j)).collect(),
                };
                let dj_do: Vec<f64> = dl_do.iter().map(|g| g / 50.0).collect(); // 4.7.9, J averages
                let dj_dh: Vec<f64> = (0..h)
                    .map(|k| (0..q).map(|j| w2[j][k] * dj_do[j]).sum())
                    .collect(); // 4.7.12
                let dj_dz: Vec<f64> = dj_dh.iter().zip(&dphi).map(|(a, b)| a * b).collect(); // 4.7.13
                for j in 0..q {
                    for k in 0..h {
                        g2[j][k] += dj_do[j] * hv[k]; // 4.7.11
                    }
                }
                for k in 0..h {
                    for c in 0..d {
                        g1[k][c] += dj_dz[k] * x[c]; // 4.7.14
                    }
                }
            }
            for (w, g, k) in [(&w1, &g1, 1), (&w2, &g2, 2)] {
                for (r, (w_row, g_row)) in w.iter().zip(g).enumerate() {
                    for (c, (&w, &g)) in w_row.iter().zip(g_row).enumerate() {
                        let expected = w - lr * (g + lambda * w); // 4.7.10: + λ W
                        let got = stepped.weight(k).get(r, c) as f64;
                        assert!(
                            (got - expected).abs() <= 1e-6 * expected.abs().max(1.0),
                            "{activation} {loss} W{k}[{r},{c}]: {got} vs {expected}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn optimizers_activations_and_losses_all_train() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 300, 100, 3);
    let data = data.to_str().unwrap();
    for (optimizer, lr, activation, loss) in [
        ("sgd", "0.5", "sigmoid", "mse"),
        ("momentum", "0.05", "tanh", "cross-entropy"),
        ("adam", "0.01", "relu", "mse"),
    ] {
        let out = backprop(
            dir.path(),
            &[
                "train",
                "--dataset",
                data,
                "--optimizer",
                optimizer,
                "--lr",
                lr,
                "--activation",
                activation,
                "--loss",
                loss,
                "--hidden",
                "16",
                "--epochs",
                "8",
                "--batch-size",
                "16",
                "--weight-decay",
                "0.001",
                "--metrics",
                "m.jsonl",
                "--no-bias",
                "--out",
                "o.safetensors",
            ],
        );
        assert_success(&out);
        let records = metrics(&dir.path().join("m.jsonl"));
        let first = records[0]["train_loss"].as_f64().unwrap();
        let last = records[7]["train_loss"].as_f64().unwrap();
        assert!(last < first, "{optimizer}: loss {first} -> {last}");
        assert!(
            records[7]["test_accuracy"].as_f64().unwrap() > 0.9,
            "{optimizer}: {}",
            records[7]
        );
        // J = L + λ/2 Σ||W||² > L when λ > 0.
        assert!(records[7]["train_objective"].as_f64().unwrap() > last);
        let model = load_model(&dir.path().join("o.safetensors")).unwrap();
        assert!(!model.mlp.config().bias);
        assert_eq!(model.mlp.config().activation.name(), activation);
        assert_eq!(model.mlp.config().loss.name(), loss);
        let training: serde_json::Value =
            serde_json::from_str(&model.metadata["training"]).unwrap();
        assert_eq!(training["optimizer"], optimizer);
    }
}

#[test]
fn steps_stop_after_exactly_that_many_updates() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 100, 0, 3);
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--steps",
            "7",
            "--batch-size",
            "30",
            "--metrics",
            "m.jsonl",
        ],
    );
    assert_success(&out);
    let records = metrics(&dir.path().join("m.jsonl"));
    // 4 updates per epoch (30, 30, 30, 10): one full epoch, then 3 updates of the second.
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["step"], 4);
    assert_eq!(records[1]["step"], 7);
}

#[test]
fn init_takes_the_architecture_from_the_file_and_rejects_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 60, 0, 3);
    let data = data.to_str().unwrap();
    let config = MlpConfig {
        inputs: 30,
        hidden: vec![9, 4],
        outputs: 5,
        activation: Activation::Tanh,
        loss: Loss::CrossEntropy,
        bias: true,
        weight_decay: 0.0,
    };
    save_model(
        &dir.path().join("init.safetensors"),
        &Mlp::<f32>::new(config, 1).unwrap(),
        &BTreeMap::new(),
    )
    .unwrap();
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data,
            "--init",
            "init.safetensors",
            "--epochs",
            "1",
        ],
    );
    assert_success(&out);
    let model = load_model(&dir.path().join("model.safetensors")).unwrap();
    assert_eq!(
        model.mlp.config().layer_sizes(),
        vec![30, 9, 4, 5],
        "the outputs come from the file"
    );

    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data,
            "--init",
            "init.safetensors",
            "--hidden",
            "8",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--hidden 8 conflicts with --init"),
        "{}",
        stderr(&out)
    );

    let out = backprop(dir.path(), &["train", "--init", "init.safetensors"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("takes 30 input features, but the data has 2"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_flags_are_usage_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (vec!["--lr", "0"], "expected a finite number above 0"),
        (vec!["--lr", "nan"], "expected a finite number above 0"),
        (vec!["--batch-size", "0"], "expected at least 1"),
        (vec!["--hidden", "16,0"], "expected at least 1"),
        (vec!["--val-fraction", "1"], "expected a fraction in [0, 1)"),
        (vec!["--optimizer", "rmsprop"], "invalid value 'rmsprop'"),
        (vec!["--activation", "gelu"], "invalid value 'gelu'"),
        (
            vec!["--weight-decay=-1"],
            "expected a finite number of at least 0",
        ),
    ] {
        let mut full = vec!["train"];
        full.extend(args.iter());
        let out = backprop(dir.path(), &full);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let out = backprop(dir.path(), &["train", "--dataset", "imagenet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("neither a dataset name"),
        "{}",
        stderr(&out)
    );
    let out = backprop(dir.path(), &["train", "--plot", "curves.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("a plot is drawn as SVG or PNG"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

#[test]
fn an_offline_named_dataset_says_which_files_to_put_where() {
    let dir = tempfile::tempdir().unwrap();
    // A loopback port with nothing listening stands in for the unreachable internet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(["train", "--dataset", "mnist", "--data-dir", "cache"])
        .current_dir(dir.path())
        .env("BACKPROP_MIRROR", format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for file in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        assert!(err.contains(file), "{err}");
    }
    assert!(err.contains("cache"), "{err}");
}

#[test]
fn predict_gives_probabilities_for_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 300, 0, 3);
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--hidden",
            "16",
            "--epochs",
            "10",
            "--batch-size",
            "16",
        ],
    );
    assert_success(&out);
    // A 12x10 image of class 1's pattern (band at row 2 of 6), twice the model's size.
    let mut img = image::GrayImage::new(10, 12);
    for y in 0..12 {
        for x in 0..10 {
            img.put_pixel(x, y, image::Luma([if y / 2 == 2 { 220 } else { 20 }]));
        }
    }
    img.save(dir.path().join("digit.png")).unwrap();
    let out = backprop(
        dir.path(),
        &[
            "predict",
            "--model",
            "model.safetensors",
            "--image",
            "digit.png",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    let predicted = text.lines().find(|l| l.contains("<- predicted")).unwrap();
    assert!(predicted.trim_start().starts_with('1'), "{text}");
    let total: f64 = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-4, "{text}");

    let out = backprop(
        dir.path(),
        &[
            "predict",
            "--model",
            "model.safetensors",
            "--image",
            "missing.png",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.png"));
}

/// On a terminal (160 columns wide) a progress bar shows loss, samples/s and time left;
/// piped output (and `--quiet`) gets plain lines only. `script` (util-linux, essential on Debian) provides the
/// terminal.
#[test]
fn a_progress_bar_on_a_terminal_plain_lines_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 2000, 0, 3);
    let command = format!(
        "stty rows 24 cols 160; {} train --dataset {} --epochs 2 --batch-size 16 --hidden 16",
        env!("CARGO_BIN_EXE_backprop"),
        data.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .output()
        .expect("script (util-linux) runs the command on a pseudo-terminal");
    assert_success(&out);
    let screen = stdout(&out);
    assert!(screen.contains("samples/s  ETA"), "{screen}");
    assert!(screen.contains("epoch 2/2  ["), "{screen}");
    assert!(screen.contains("epoch 2/2  step 250"), "{screen}");

    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--hidden",
            "16",
        ],
    );
    assert_success(&out);
    let plain = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!plain.contains("ETA"), "{plain}");
    assert!(plain.contains("epoch 2/2  step 250"), "{plain}");
}

#[test]
fn bias_flags_choose_whether_layers_have_biases() {
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 60, 0, 3);
    let data = data.to_str().unwrap();
    for (flags, expected) in [
        (vec!["--bias"], true),
        (vec!["--no-bias"], false),
        (vec!["--no-bias", "--bias"], true),
        (vec![], true),
    ] {
        let mut args = vec![
            "train",
            "--dataset",
            data,
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--out",
            "b.safetensors",
        ];
        args.extend(flags.iter());
        let out = backprop(dir.path(), &args);
        assert_success(&out);
        let model = load_model(&dir.path().join("b.safetensors")).unwrap();
        assert_eq!(model.mlp.config().bias, expected, "{flags:?}");
        assert_eq!(model.mlp.bias(1).is_some(), expected, "{flags:?}");
    }
}

#[test]
fn a_batch_larger_than_the_data_trains_on_full_batches_within_the_memory_limit() {
    // The memory estimate counts the batch training really uses (at most every sample), so a
    // huge --batch-size on a small set is full-batch gradient descent, not a refusal.
    let dir = tempfile::tempdir().unwrap();
    let data = image_folder(dir.path(), "data", 40, 0, 3);
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--hidden",
            "4",
            "--epochs",
            "2",
            "--quiet",
            "--batch-size",
            "18446744073709551615",
        ],
    );
    assert_success(&out);
    assert!(
        stdout(&out).contains("epoch 2/2  step 2 "),
        "{}",
        stdout(&out)
    );
    // --memory-limit is the one way past the limit, and it is read.
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--memory-limit",
            "64K",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("above the memory limit of 64.0 KiB"));
}
