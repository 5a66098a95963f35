//! `backprop train --grad-stats`: gradient norms per layer in the metrics and the plot, and
//! the vanishing gradients of a deep sigmoid network next to relu.

mod common;

use common::*;
use std::fs;

fn train(dir: &std::path::Path, activation: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let metrics = format!("{activation}.jsonl");
    let plot = format!("{activation}.svg");
    let model = format!("{activation}.safetensors");
    let mut args = vec![
        "train",
        "--hidden",
        "32,32,32,32,32",
        "--activation",
        activation,
        "--steps",
        "30",
        "--metrics",
        &metrics,
        "--plot",
        &plot,
        "--out",
        &model,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let out = backprop(dir, &args);
    assert_success(&out);
    common::metrics(&dir.join(&metrics))
}

#[test]
fn norms_of_every_layer_go_to_the_metrics_and_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let records = train(dir.path(), "relu", &["--grad-stats"]);
    let record = &records[0];
    for k in 1..=6 {
        let v = record[format!("grad_norm_W{k}")].as_f64().unwrap();
        assert!(v.is_finite() && v > 0.0, "W{k}: {v}");
    }
    for k in 1..=5 {
        let v = record[format!("grad_norm_z{k}")].as_f64().unwrap();
        assert!(v.is_finite() && v > 0.0, "z{k}: {v}");
    }
    assert!(
        record.get("grad_norm_z6").is_none(),
        "o is not a hidden layer"
    );
    let svg = fs::read_to_string(dir.path().join("relu.svg")).unwrap();
    assert!(svg.contains("Gradient norms (mean over each epoch"));
    assert!(svg.contains("‖∂J/∂W₁‖") && svg.contains("‖∂J/∂z₅‖"));
}

#[test]
fn without_the_flag_there_are_no_gradient_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let records = train(dir.path(), "relu", &[]);
    assert!(records[0]
        .as_object()
        .unwrap()
        .keys()
        .all(|k| !k.starts_with("grad_norm")));
    let svg = fs::read_to_string(dir.path().join("relu.svg")).unwrap();
    assert!(!svg.contains("Gradient norms"));
}

#[test]
fn sigmoid_gradients_vanish_towards_the_input_and_relu_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let ratio = |records: &[serde_json::Value]| {
        records[0]["grad_norm_W1"].as_f64().unwrap() / records[0]["grad_norm_W6"].as_f64().unwrap()
    };
    let sigmoid = ratio(&train(dir.path(), "sigmoid", &["--grad-stats"]));
    let relu = ratio(&train(dir.path(), "relu", &["--grad-stats"]));
    // phi'(z) <= 1/4 for the sigmoid: five layers shrink dJ/dW1 by orders of magnitude.
    assert!(sigmoid < 0.01, "sigmoid ‖dJ/dW1‖ / ‖dJ/dW6‖ = {sigmoid}");
    assert!(relu > 0.05, "relu ‖dJ/dW1‖ / ‖dJ/dW6‖ = {relu}");
}
