//! `backprop explain`: all twelve equations of §4.7, in order, each gradient agreeing
//! three ways; text, colour and Markdown; deeper models; bad input.

mod common;

use backprop::model_file::save_model;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use common::*;
use std::collections::BTreeMap;
use std::fs;

const FORWARD: [&str; 6] = ["4.7.1", "4.7.2", "4.7.3", "4.7.4", "4.7.5", "4.7.6"];
const BACKWARD: [&str; 6] = ["4.7.9", "4.7.10", "4.7.11", "4.7.12", "4.7.13", "4.7.14"];

/// The "largest" value of every agreement line.
fn largest_differences(text: &str) -> Vec<f64> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("agreement:"))
        .map(|l| {
            let after = l.split("; largest ").nth(1).unwrap();
            after.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn the_twelve_equations_in_order_with_three_way_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(dir.path(), &["explain", "--no-bias"]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    // Each equation heads a line, in §4.7's order; formulas in the catalogue's Unicode.
    let mut position = 0;
    for equation in FORWARD.iter().chain(&BACKWARD) {
        let found = text[position..]
            .find(&format!("\n{equation} "))
            .unwrap_or_else(|| panic!("{equation} missing or out of order:\n{text}"));
        position += found + 1;
    }
    for formula in [
        "z = W1 x",
        "h = φ(z), φ = relu",
        "o = W2 h",
        "L = l(o, y)",
        "s = λ/2 (‖W1‖_F² + ‖W2‖_F²)",
        "J = L + s",
        "∂J/∂o = ∂L/∂o, ∂l/∂o = softmax(o) - onehot(y)",
        "∂s/∂W1 = λ W1",
        "∂s/∂W2 = λ W2",
        "∂J/∂W2 = ∂J/∂o hᵀ + λ W2",
        "∂J/∂h = W2ᵀ ∂J/∂o",
        "∂J/∂z = ∂J/∂h ⊙ φ'(z), φ'(z) = [z > 0]",
        "∂J/∂W1 = ∂J/∂z xᵀ + λ W1",
    ] {
        assert!(text.contains(formula), "{formula}");
    }
    // Seven gradients (4.7.10 for each weight), each three ways.
    assert_eq!(text.matches("  closed form  ").count(), 7);
    assert_eq!(text.matches("  graph backward  ").count(), 7);
    assert_eq!(text.matches("  finite differences  ").count(), 7);
    let largest = largest_differences(&text);
    assert_eq!(largest.len(), 7);
    assert!(largest.iter().all(|&d| d < 1e-6), "{largest:?}");
    assert!(text.contains("all 7 backward equations"));
    // The memory picture of the 4-5-3 network at batch 256, in f32: x, h, softmax(o), y.
    for kept in ["x ", "h ", "softmax(o) ", "y "] {
        assert!(text.contains(&format!("\n  {kept}")), "{kept}");
    }
    assert!(
        text.contains("training keeps 13.0 KiB (13,312 bytes)"),
        "{text}"
    );
    assert!(text.contains("prediction alone needs 9.0 KiB (9,216 bytes)"));
}

#[test]
fn colour_on_request_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(dir.path(), &["explain", "--color", "always"]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("\x1b[1;36m4.7.13"),
        "equation numbers coloured"
    );
    assert!(text.contains("\x1b[32m✓"), "agreement in green");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(["explain", "--color", "auto"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\x1b'));
}

#[test]
fn markdown_tables_for_notes() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &[
            "explain",
            "--no-bias",
            "--format",
            "markdown",
            "--out",
            "notes.md",
        ],
    );
    assert_success(&out);
    let md = fs::read_to_string(dir.path().join("notes.md")).unwrap();
    assert!(md.starts_with("# Forward and backward propagation"));
    assert!(md.contains("## Forward propagation") && md.contains("## Backward propagation"));
    assert!(md.contains("## Memory at batch size 256 (f32)"));
    for equation in FORWARD.iter().chain(&BACKWARD) {
        assert!(md.contains(&format!("\n| {equation} ")), "{equation}");
    }
    let backward_rows: Vec<&str> = md
        .lines()
        .filter(|l| BACKWARD.iter().any(|e| l.starts_with(&format!("| {e}"))))
        .collect();
    assert_eq!(backward_rows.len(), 7);
    for row in backward_rows {
        assert_eq!(row.matches(" | ").count(), 8, "nine cells: {row}");
        assert!(row.ends_with("| yes |"), "{row}");
    }
    assert!(!md.contains('\x1b'));
}

#[test]
fn deeper_biased_models_layer_by_layer() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &[
            "explain",
            "--hidden",
            "6,5",
            "--bias",
            "--activation",
            "tanh",
            "--loss",
            "mse",
            "--lambda",
            "0.1",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    for label in [
        "4.7.1 (layer 1)",
        "4.7.1 (layer 2)",
        "4.7.3 (layer 3)",
        "4.7.11 (layer 3)",
        "bias (layer 3)",
        "4.7.12 (layer 2)",
        "4.7.13 (layer 2)",
        "4.7.14 (layer 2)",
        "bias (layer 2)",
        "4.7.12 (layer 1)",
        "4.7.13 (layer 1)",
        "4.7.14 (layer 1)",
        "bias (layer 1)",
    ] {
        assert!(text.contains(&format!("\n{label} ")), "{label}");
    }
    assert!(text.contains("z2 = W2 h1 + b2"));
    assert!(text.contains("∂J/∂h1 = W2ᵀ ∂J/∂z2"));
    assert!(text.contains("∂J/∂W2 = ∂J/∂z2 h1ᵀ + λ W2"));
    let largest = largest_differences(&text);
    // 4.7.9, 4.7.10 x3, 4.7.11 + bias, then 4 per hidden layer.
    assert_eq!(largest.len(), 1 + 3 + 2 + 4 * 2);
    assert!(largest.iter().all(|&d| d < 1e-6), "{largest:?}");
}

#[test]
fn a_model_file_on_a_dataset_sample() {
    let dir = tempfile::tempdir().unwrap();
    let config = MlpConfig {
        inputs: 2,
        hidden: vec![16],
        outputs: 3,
        activation: Activation::Sigmoid,
        loss: Loss::CrossEntropy,
        bias: true,
        weight_decay: 0.0,
    };
    let mlp = Mlp::<f32>::new(config, 4).unwrap();
    save_model(&dir.path().join("m.safetensors"), &mlp, &BTreeMap::new()).unwrap();
    let out = backprop(
        dir.path(),
        &[
            "explain",
            "--model",
            "m.safetensors",
            "--dataset",
            "spiral",
            "--index",
            "7",
            "--batch-size",
            "10",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("2-16-3 sigmoid"));
    assert!(text.contains("sample 7 of the test split of spiral, label y = "));
    assert!(text.contains("at batch size 10 (f32)"));
    // x 10x2, h 10x16, softmax 10x3, y 10x1 floats.
    assert!(text.contains(&format!("({} bytes)", 4 * 10 * (2 + 16 + 3 + 1))));
    assert!(largest_differences(&text).iter().all(|&d| d < 1e-6));
}

#[test]
fn bad_input_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = MlpConfig::d2l(4, 3, 2, Activation::Relu, Loss::CrossEntropy, 0.0);
    let mlp = Mlp::<f32>::new(config, 0).unwrap();
    save_model(&dir.path().join("m.safetensors"), &mlp, &BTreeMap::new()).unwrap();
    let cases: [(&[&str], i32, &str); 6] = [
        (
            &["explain", "--model", "nope.safetensors"],
            1,
            "nope.safetensors",
        ),
        (
            &["explain", "--model", "m.safetensors", "--dataset", "spiral"],
            1,
            "has 2 input features, but the model takes 4",
        ),
        (
            &["explain", "--dataset", "no-such-folder"],
            2,
            "neither a dataset name",
        ),
        (&["explain", "--format", "html"], 2, "invalid value 'html'"),
        (
            &["explain", "--lambda=-1"],
            2,
            "expected a finite number of at least 0",
        ),
        (&["explain", "--hidden", "0"], 2, "expected at least 1"),
    ];
    for (args, code, message) in cases {
        let out = backprop(dir.path(), args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
        if code == 1 {
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
    }
}

/// The numbers in the `[...]` of a row, before its `…`.
fn row_values(line: &str) -> Vec<f64> {
    let inside = &line[line.find('[').unwrap() + 1..];
    let inside = inside.split(['…', ']']).next().unwrap();
    inside
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{v} in {line}")))
        .collect()
}

/// For a tensor larger than a row shows, the closed form, the graph and finite differences
/// show the same elements, named by an `elements` line (among them the largest).
#[test]
fn the_three_rows_of_a_large_gradient_show_the_same_named_elements() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &["explain", "--no-bias", "--inputs", "10", "--hidden", "20"],
    );
    assert_success(&out);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let mut named = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("  elements ") else {
            continue;
        };
        named += 1;
        let (positions, shape) = rest.trim().split_once(" of ").unwrap();
        let (rows, columns) = shape.split_once('×').unwrap();
        let (rows, columns): (usize, usize) = (rows.parse().unwrap(), columns.parse().unwrap());
        let positions: Vec<(usize, usize)> = positions
            .split_whitespace()
            .map(|p| {
                let (r, c) = p.trim_matches(['[', ']']).split_once(',').unwrap();
                (r.parse().unwrap(), c.parse().unwrap())
            })
            .collect();
        assert!(
            positions.iter().all(|&(r, c)| r < rows && c < columns),
            "{line}"
        );
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "in order: {line}"
        );
        let closed = row_values(lines[i + 1]);
        let graph = row_values(lines[i + 2]);
        let numeric = row_values(lines[i + 3]);
        assert!(
            lines[i + 1].starts_with("  closed form "),
            "{}",
            lines[i + 1]
        );
        assert!(
            lines[i + 2].starts_with("  graph backward "),
            "{}",
            lines[i + 2]
        );
        assert!(
            lines[i + 3].starts_with("  finite differences "),
            "{}",
            lines[i + 3]
        );
        assert_eq!(closed.len(), positions.len(), "{}", lines[i + 1]);
        assert_eq!(graph.len(), positions.len(), "{}", lines[i + 2]);
        assert_eq!(numeric.len(), positions.len(), "{}", lines[i + 3]);
        let scale = closed.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for ((c, g), n) in closed.iter().zip(&graph).zip(&numeric) {
            assert!((c - g).abs() <= 1e-3 * scale, "{c} {g}: {}", lines[i + 2]);
            assert!((c - n).abs() <= 1e-3 * scale, "{c} {n}: {}", lines[i + 3]);
        }
        if rows * columns > 64 {
            assert!(
                lines[i + 3].contains(&format!("(65 of {} elements checked)", rows * columns)),
                "{}",
                lines[i + 3]
            );
        }
    }
    // W1 (20x10) twice, W2 (3x20) twice, dJ/dh and dJ/dz (20x1): six gradients.
    assert_eq!(named, 6, "{text}");
}
