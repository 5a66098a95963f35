//! `backprop graph`: the SVG shows the graph a forward pass built, in the layout of D2L's
//! Figure 4.7.1; the DOT is well formed; flags and bad input behave.

mod common;

use backprop::model_file::save_model;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use common::*;
use std::collections::{BTreeMap, HashSet};
use std::fs;

/// The centre of the node titled `name` in the SVG (its square, or its circle).
fn centre(svg: &str, name: &str) -> (f64, f64) {
    let start = svg
        .find(&format!("<title>{name}</title>"))
        .unwrap_or_else(|| panic!("no node {name}"));
    let rest = &svg[start..];
    let number = |key: &str| -> f64 {
        let at = rest.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
        let end = rest[at..].find('"').unwrap();
        rest[at..at + end].parse().unwrap()
    };
    if rest.find("<circle").unwrap_or(usize::MAX) < rest.find("<rect").unwrap_or(usize::MAX) {
        (number("cx"), number("cy"))
    } else {
        (
            number("x") + number("width") / 2.0,
            number("y") + number("height") / 2.0,
        )
    }
}

#[test]
fn the_d2l_figure_as_svg() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &["graph", "--no-bias", "--format", "svg", "--out", "g.svg"],
    );
    assert_success(&out);
    let svg = fs::read_to_string(dir.path().join("g.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // Every variable of §4.7's figure, as a square; the parameters shaded.
    for name in ["x", "W1", "z", "h", "W2", "o", "y", "L", "s", "J"] {
        let node = svg.find(&format!("<title>{name}</title>")).unwrap();
        let group_start = svg[..node].rfind("<g class=\"node").unwrap();
        let group = &svg[group_start..node + 200];
        assert!(group.contains("<rect"), "{name} is a square: {group}");
        let parameter = name.starts_with('W');
        assert_eq!(group.contains("node parameter"), parameter, "{group}");
    }
    // The operators as circles: two products, phi, the loss l, the norms of l2, the sums.
    let operators = svg.matches("<g class=\"node operator").count();
    assert_eq!(operators, 10, "×, φ, ×, l, mean, ‖·‖² twice, +, λ/2, +");
    assert_eq!(
        svg.matches("<circle").count(),
        operators + 1,
        "plus the legend"
    );
    for symbol in [
        "<title>×</title>",
        "<title>φ</title>",
        "<title>l</title>",
        "<title>+</title>",
    ] {
        assert!(svg.contains(symbol), "{symbol}");
    }
    assert!(svg.contains("class=\"group l2\"") && svg.contains("l2: s = λ/2"));
    // One arrow per operator input and output.
    assert_eq!(svg.matches("class=\"edge\"").count(), 25);
    assert!(svg.contains("marker-end=\"url(#arrow)\""));
    // Per-sample shapes, as §4.7's column vectors.
    assert!(svg.contains(">5x1<") && svg.contains(">4x1<") && svg.contains(">5x4<"));
    // The input at the lower left, J at the upper right, data flowing left to right.
    let (x, j) = (centre(&svg, "x"), centre(&svg, "J"));
    assert!(x.0 < j.0 && x.1 > j.1, "x {x:?}, J {j:?}");
    for name in ["W1", "z", "h", "W2", "o", "y", "L", "s"] {
        let p = centre(&svg, name);
        assert!(x.0 <= p.0 && p.0 <= j.0, "{name} between x and J: {p:?}");
        assert!(p.1 >= j.1, "{name} not above J");
    }
    assert!(centre(&svg, "z").0 < centre(&svg, "h").0);
    assert!(centre(&svg, "h").0 < centre(&svg, "o").0);
    assert!(
        centre(&svg, "W1").1 < centre(&svg, "z").1,
        "W1 above the product"
    );
}

#[test]
fn batch_values_and_saved_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &[
            "graph",
            "--no-bias",
            "--out",
            "g.svg",
            "--batch",
            "8",
            "--values",
            "--saved",
        ],
    );
    assert_success(&out);
    let svg = fs::read_to_string(dir.path().join("g.svg")).unwrap();
    assert!(svg.contains("batch B = 8"));
    assert!(svg.contains(">B x 5<") && svg.contains(">B x 4<"));
    assert!(svg.contains(">value ‖·‖ ") && svg.contains(">∂J ‖·‖ "));
    assert!(svg.contains(">∂J none<"), "x has no gradient");
    // Kept for backward: x (8x4), h (8x5), softmax(o) (8x3), y (8x1), as f32.
    assert!(svg.contains(">kept: 128 B<"), "x");
    assert!(svg.contains(">kept: 160 B<"), "h");
    assert!(svg.contains(">kept: softmax(o) 96 B<"));
    assert!(svg.contains(">kept: 32 B<"), "y");
    assert_eq!(
        svg.matches("class=\"node intermediate kept\"").count(),
        1,
        "only h"
    );
    assert_eq!(
        svg.matches("class=\"node input kept\"").count(),
        2,
        "x and y"
    );
}

/// A simple DOT reader: checks the header, balanced braces, that every statement ends with a
/// semicolon, and returns the node ids with their attributes and the edges.
fn parse_dot(dot: &str) -> (BTreeMap<String, String>, Vec<(String, String)>) {
    let mut lines = dot.lines();
    assert_eq!(lines.next(), Some("digraph forward_propagation {"));
    let mut depth = 1;
    let mut nodes = BTreeMap::new();
    let mut edges = Vec::new();
    for line in lines {
        let line = line.trim();
        if line.ends_with('{') {
            assert!(line.starts_with("subgraph cluster_"), "{line}");
            depth += 1;
            continue;
        }
        if line == "}" {
            depth -= 1;
            continue;
        }
        assert!(depth > 0, "text after the closing brace: {line}");
        assert!(line.ends_with(';'), "statement without ';': {line}");
        assert!(quotes_balance(line), "unbalanced quotes: {line}");
        if let Some((from, to)) = line.trim_end_matches(';').split_once(" -> ") {
            edges.push((from.to_string(), to.to_string()));
        } else if let Some((id, attributes)) = line.split_once(" [") {
            let number = id.trim_start_matches("op").trim_start_matches('v');
            if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) {
                nodes.insert(id.to_string(), attributes.to_string());
            }
        }
    }
    assert_eq!(depth, 0, "unbalanced braces");
    (nodes, edges)
}

/// Whether the unescaped double quotes of `line` pair up.
fn quotes_balance(line: &str) -> bool {
    let mut open = false;
    let mut escaped = false;
    for c in line.chars() {
        match (c, escaped) {
            ('\\', false) => escaped = true,
            ('"', false) => open = !open,
            _ => escaped = false,
        }
    }
    !open
}

#[test]
fn dot_is_well_formed_and_matches_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(dir.path(), &["graph", "--no-bias", "--format", "dot"]);
    assert_success(&out);
    let (nodes, edges) = parse_dot(&stdout(&out));
    assert_eq!(nodes.len(), 14 + 10, "14 variables, 10 operators");
    assert_eq!(edges.len(), 25);
    let declared: HashSet<&String> = nodes.keys().collect();
    for (from, to) in &edges {
        assert!(
            declared.contains(from) && declared.contains(to),
            "{from} -> {to}"
        );
        assert_ne!(from.starts_with("op"), to.starts_with("op"), "bipartite");
    }
    let attributes = |label: &str| {
        nodes
            .values()
            .find(|a| a.starts_with(&format!("label=\"{label}\\n")))
            .unwrap_or_else(|| panic!("no node {label}"))
    };
    assert!(attributes("W1").contains("shape=box, style=filled"));
    assert!(attributes("x").contains("shape=box") && !attributes("x").contains("filled"));
    assert!(attributes("φ").contains("shape=circle"));
    assert!(attributes("×").contains("shape=circle"));
    assert!(stdout(&out).contains("subgraph cluster_l2"));

    // --out with a .dot name picks the format.
    let out = backprop(dir.path(), &["graph", "--out", "g.dot"]);
    assert_success(&out);
    parse_dot(&fs::read_to_string(dir.path().join("g.dot")).unwrap());
}

#[test]
fn a_deeper_biased_model_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = MlpConfig {
        inputs: 2,
        hidden: vec![6, 5],
        outputs: 3,
        activation: Activation::Sigmoid,
        loss: Loss::CrossEntropy,
        bias: true,
        weight_decay: 0.0,
    };
    let mlp = Mlp::<f32>::new(config, 1).unwrap();
    save_model(&dir.path().join("m.safetensors"), &mlp, &BTreeMap::new()).unwrap();
    let out = backprop(
        dir.path(),
        &[
            "graph",
            "--model",
            "m.safetensors",
            "--out",
            "g.svg",
            "--dataset",
            "spiral",
            "--index",
            "3",
            "--values",
        ],
    );
    assert_success(&out);
    let svg = fs::read_to_string(dir.path().join("g.svg")).unwrap();
    assert!(svg.contains("2-6-5-3 sigmoid"));
    for name in [
        "x", "W1", "b1", "u1", "z1", "h1", "W2", "b2", "z2", "h2", "W3", "b3", "o", "J",
    ] {
        assert!(svg.contains(&format!("<title>{name}</title>")), "{name}");
    }
    assert_eq!(svg.matches("node parameter").count(), 6);
    let (x, j) = (centre(&svg, "x"), centre(&svg, "J"));
    assert!(x.0 < j.0 && x.1 > j.1);
}

#[test]
fn bad_flags_and_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("junk.safetensors"), b"not a model").unwrap();
    let cases: [(&[&str], i32, &str); 7] = [
        (
            &["graph", "--model", "missing.safetensors"],
            1,
            "missing.safetensors",
        ),
        (
            &["graph", "--model", "junk.safetensors"],
            1,
            "not a safetensors file",
        ),
        (
            &["graph", "--model", "junk.safetensors", "--hidden", "3"],
            2,
            "cannot be used with",
        ),
        (&["graph", "--batch", "0"], 2, "expected at least 1"),
        (&["graph", "--format", "png"], 2, "invalid value 'png'"),
        (&["graph", "--index", "3"], 2, "--dataset"),
        (
            &["graph", "--dataset", "spiral", "--index", "99999999"],
            1,
            "goes past the end",
        ),
    ];
    for (args, code, message) in cases {
        let out = backprop(dir.path(), args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        if code == 1 {
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
    }
    let out = backprop(
        dir.path(),
        &["graph", "--dataset", "spiral", "--inputs", "4"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("has 2 input features, but the model takes 4"));
}
