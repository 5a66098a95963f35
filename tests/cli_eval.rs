//! `backprop eval` reproduces what `train` printed: without `--dataset` it reads the data
//! set the model file records, and `--split val` is exactly the share training held out.

mod common;

use common::{assert_success, backprop, image_folder, metrics, stderr, stdout};
use std::path::Path;

/// Trains on a generated IDX folder with a validation share and metrics; returns the last
/// epoch's record.
fn train(dir: &Path, extra: &[&str]) -> serde_json::Value {
    image_folder(dir, "data", 250, 80, 4);
    let mut args = vec![
        "train",
        "--dataset",
        "data",
        "--val-fraction",
        "0.2",
        "--hidden",
        "12",
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--lr",
        "0.05",
        "--quiet",
        "--metrics",
        "m.jsonl",
        "--out",
        "model.safetensors",
    ];
    args.extend_from_slice(extra);
    assert_success(&backprop(dir, &args));
    metrics(&dir.join("m.jsonl")).pop().unwrap()
}

fn eval_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["eval", "--model", "model.safetensors", "--json"];
    all.extend_from_slice(args);
    let out = backprop(dir, &all);
    assert_success(&out);
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

#[test]
fn eval_split_val_is_exactly_the_last_epochs_validation_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let last = train(d, &["--activation", "tanh"]);
    let val = eval_json(d, &["--split", "val"]);
    assert_eq!(val["samples"], 50);
    assert_eq!(val["dataset"], "data");
    assert_eq!(
        val["loss"].as_f64().unwrap().to_bits(),
        last["val_loss"].as_f64().unwrap().to_bits(),
        "{val} {last}"
    );
    assert_eq!(
        val["accuracy"].as_f64().unwrap().to_bits(),
        last["val_accuracy"].as_f64().unwrap().to_bits()
    );
    let test = eval_json(d, &["--split", "test"]);
    assert_eq!(test["samples"], 80);
    assert_eq!(test["loss"], last["test_loss"]);
    assert_eq!(test["accuracy"], last["test_accuracy"]);
    // The training split is what training used: the file less the held-out tail.
    assert_eq!(eval_json(d, &["--split", "train"])["samples"], 200);

    // The report prints the same figures, rounded.
    let out = backprop(
        d,
        &["eval", "--model", "model.safetensors", "--split", "val"],
    );
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("data     data val split, 50 samples"),
        "{text}"
    );
    let loss = format!("loss     {:.6}", last["val_loss"].as_f64().unwrap());
    let accuracy = format!(
        "accuracy {:.2}%",
        100.0 * last["val_accuracy"].as_f64().unwrap()
    );
    assert!(
        text.contains(&loss) && text.contains(&accuracy),
        "{text}\n{loss}\n{accuracy}"
    );

    // Another batch size and thread count still give the recorded figures to the printed
    // precision; --val-fraction and --dataset override the record.
    let other = eval_json(
        d,
        &["--split", "val", "--batch-size", "7", "--threads", "1"],
    );
    assert!((other["loss"].as_f64().unwrap() - last["val_loss"].as_f64().unwrap()).abs() < 1e-6);
    assert_eq!(other["accuracy"], last["val_accuracy"]);
    let wider = eval_json(d, &["--split", "val", "--val-fraction", "0.4"]);
    assert_eq!(wider["samples"], 100);
    // A wider share than training held out scores samples the model was trained on: said on
    // stderr, counted. The recorded share, or a narrower one, is held out and says nothing.
    let scored = |share: &str| {
        let out = backprop(
            d,
            &[
                "eval",
                "--model",
                "model.safetensors",
                "--split",
                "val",
                "--val-fraction",
                share,
            ],
        );
        assert_success(&out);
        stderr(&out)
    };
    assert_eq!(
        scored("0.4").trim_end(),
        "note: model.safetensors was trained with validation share 0.2; 50 of the 100 samples \
         scored here as validation were in its training data"
    );
    assert_eq!(scored("0.2"), "");
    assert_eq!(scored("0.1"), "");
    let copy = d.join("copy");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(d.join("data")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let copied = eval_json(d, &["--split", "val", "--dataset", "copy"]);
    assert_eq!(copied["loss"], val["loss"]);
}

#[test]
fn a_model_whose_data_set_is_gone_says_which_one_it_was_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train(d, &[]);
    std::fs::rename(d.join("data"), d.join("moved")).unwrap();
    let out = backprop(
        d,
        &["eval", "--model", "model.safetensors", "--split", "val"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    assert!(
        text.contains(
            "the model model.safetensors was trained on --dataset data (recorded in its metadata), which cannot be loaded here; give --dataset"
        ),
        "{text}"
    );
    let moved = eval_json(d, &["--split", "val", "--dataset", "moved"]);
    assert_eq!(moved["samples"], 50);
}

#[test]
fn split_val_needs_a_validation_share() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 100, 0, 3);
    assert_success(&backprop(
        d,
        &[
            "train",
            "--dataset",
            "data",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "model.safetensors",
        ],
    ));
    let out = backprop(
        d,
        &["eval", "--model", "model.safetensors", "--split", "val"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("records no validation share: it was trained on the whole training split, so no part of it is held out (score --split test, or give --val-fraction to score a tail it was trained on)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        eval_json(d, &["--split", "val", "--val-fraction", "0.1"])["samples"],
        10
    );
    let out = backprop(d, &["eval", "--model", "model.safetensors"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no test split"),
        "{}",
        stderr(&out)
    );
    let out = backprop(
        d,
        &[
            "eval",
            "--model",
            "model.safetensors",
            "--val-fraction",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected a fraction in [0, 1)"),
        "{}",
        stderr(&out)
    );
}
