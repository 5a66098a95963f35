//! §4.7's closed-form gradients, equations 4.7.9 to 4.7.14 written out literally for one
//! sample at a time (column vectors, as §4.7 writes them), must equal what backward
//! propagation through the graph computes for the D2L network (one hidden layer, no bias);
//! and `docs/equations.md`'s catalogue table must be the catalogue's Markdown rendering.
//!
//! The closed form here is a deliberately independent copy of the library's
//! (`backprop::d2l::closed_form`): written out again with plain `Vec<Vec<f64>>` loops and
//! sharing no code with the library, so that a mistake in either one shows up as a
//! difference instead of being checked against itself.

use backprop::d2l::catalogue::markdown_table;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::rng::Rng;
use backprop::tensor::Tensor;

/// A column vector or matrix, written out with plain loops so that the test shares no code
/// with the engine.
type Matrix = Vec<Vec<f64>>;

fn mat_vec(m: &Matrix, v: &[f64]) -> Vec<f64> {
    m.iter()
        .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
        .collect()
}

fn transpose(m: &Matrix) -> Matrix {
    (0..m[0].len())
        .map(|c| m.iter().map(|row| row[c]).collect())
        .collect()
}

fn outer(a: &[f64], b: &[f64]) -> Matrix {
    a.iter()
        .map(|&ai| b.iter().map(|&bj| ai * bj).collect())
        .collect()
}

fn to_matrix(t: &Tensor<f64>) -> Matrix {
    (0..t.rows()).map(|r| t.row(r).to_vec()).collect()
}

fn phi(activation: Activation, z: f64) -> f64 {
    match activation {
        Activation::Relu => z.max(0.0),
        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        Activation::Tanh => z.tanh(),
    }
}

fn phi_prime(activation: Activation, z: f64) -> f64 {
    match activation {
        Activation::Relu => {
            if z > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Sigmoid => phi(activation, z) * (1.0 - phi(activation, z)),
        Activation::Tanh => 1.0 - z.tanh().powi(2),
    }
}

/// dl/do for one sample.
fn dl_do(loss: Loss, o: &[f64], y: usize) -> Vec<f64> {
    match loss {
        Loss::CrossEntropy => {
            let max = o.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = o.iter().map(|v| (v - max).exp()).sum();
            o.iter()
                .enumerate()
                .map(|(j, v)| (v - max).exp() / sum - if j == y { 1.0 } else { 0.0 })
                .collect()
        }
        Loss::Squared => o
            .iter()
            .enumerate()
            .map(|(j, v)| v - if j == y { 1.0 } else { 0.0 })
            .collect(),
    }
}

fn assert_equal(name: &str, closed_form: &Matrix, graph: &Tensor<f64>) {
    let graph = to_matrix(graph);
    assert_eq!(closed_form.len(), graph.len(), "{name}: rows");
    let scale = closed_form
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for (r, (a, b)) in closed_form.iter().zip(&graph).enumerate() {
        for (c, (a, b)) in a.iter().zip(b).enumerate() {
            let tolerance = 1e-12 * a.abs().max(b.abs()).max(1e-3 * scale);
            assert!(
                (a - b).abs() <= tolerance,
                "{name}[{r},{c}]: closed form {a:e}, graph {b:e}"
            );
        }
    }
}

fn check(activation: Activation, loss: Loss, batch: usize, seed: u64) {
    let (d, h, q, lambda) = (7, 6, 4, 0.03);
    let config = MlpConfig::d2l(d, h, q, activation, loss, lambda);
    let mut mlp = Mlp::<f64>::new(config, seed).unwrap();
    let mut rng = Rng::new(seed + 100);
    let x = Tensor::from_fn(batch, d, |_, _| rng.normal());
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(q)).collect();
    mlp.set_batch(&x, &labels).unwrap();
    mlp.forward().unwrap();
    mlp.backward().unwrap();

    let w1 = to_matrix(mlp.weight(1));
    let w2 = to_matrix(mlp.weight(2));
    // J = (1/B) Σ_i l(o_i, y_i) + s, so §4.7's per-sample gradients are summed with a
    // weight of 1/B, and the L2 gradient (4.7.10) is added once.
    let mut dj_dw1 = vec![vec![0.0; d]; h];
    let mut dj_dw2 = vec![vec![0.0; h]; q];
    for (i, &y) in labels.iter().enumerate() {
        let x = x.row(i).to_vec();
        let z = mat_vec(&w1, &x); // 4.7.1
        let h_vec: Vec<f64> = z.iter().map(|&z| phi(activation, z)).collect(); // 4.7.2
        let o = mat_vec(&w2, &h_vec); // 4.7.3
        let dj_do: Vec<f64> = dl_do(loss, &o, y) // 4.7.9
            .iter()
            .map(|g| g / batch as f64)
            .collect();
        let dj_dh = mat_vec(&transpose(&w2), &dj_do); // 4.7.12
        let dj_dz: Vec<f64> = dj_dh // 4.7.13
            .iter()
            .zip(&z)
            .map(|(g, &z)| g * phi_prime(activation, z))
            .collect();
        let sample_w2 = outer(&dj_do, &h_vec); // 4.7.11, data term
        let sample_w1 = outer(&dj_dz, &x); // 4.7.14, data term
        for (acc, s) in dj_dw2.iter_mut().zip(&sample_w2) {
            for (a, s) in acc.iter_mut().zip(s) {
                *a += s;
            }
        }
        for (acc, s) in dj_dw1.iter_mut().zip(&sample_w1) {
            for (a, s) in acc.iter_mut().zip(s) {
                *a += s;
            }
        }
    }
    // 4.7.10: ds/dW = λ W, added in 4.7.11 and 4.7.14.
    for (acc, w) in dj_dw2.iter_mut().zip(&w2) {
        for (a, w) in acc.iter_mut().zip(w) {
            *a += lambda * w;
        }
    }
    for (acc, w) in dj_dw1.iter_mut().zip(&w1) {
        for (a, w) in acc.iter_mut().zip(w) {
            *a += lambda * w;
        }
    }

    let context = format!("{activation} {loss} B={batch} seed={seed}");
    assert_equal(
        &format!("dJ/dW2 ({context})"),
        &dj_dw2,
        mlp.weight_grad(2).unwrap(),
    );
    assert_equal(
        &format!("dJ/dW1 ({context})"),
        &dj_dw1,
        mlp.weight_grad(1).unwrap(),
    );

    if batch == 1 {
        // For one sample the intermediate gradients are §4.7's vectors themselves.
        let nodes = mlp.nodes().clone();
        let graph = mlp.graph();
        let x0 = x.row(0).to_vec();
        let z = mat_vec(&w1, &x0);
        let h_vec: Vec<f64> = z.iter().map(|&z| phi(activation, z)).collect();
        let o = mat_vec(&w2, &h_vec);
        let dj_do = dl_do(loss, &o, labels[0]);
        let dj_dh = mat_vec(&transpose(&w2), &dj_do);
        let dj_dz: Vec<f64> = dj_dh
            .iter()
            .zip(&z)
            .map(|(g, &z)| g * phi_prime(activation, z))
            .collect();
        assert_equal(
            "dJ/do (4.7.9)",
            &vec![dj_do],
            graph.grad(nodes.output).unwrap(),
        );
        assert_equal(
            "dJ/dh (4.7.12)",
            &vec![dj_dh],
            graph.grad(nodes.hidden[0]).unwrap(),
        );
        assert_equal(
            "dJ/dz (4.7.13)",
            &vec![dj_dz],
            graph.grad(nodes.pre_activations[0]).unwrap(),
        );
        assert_equal("z (4.7.1)", &vec![z], graph.value(nodes.pre_activations[0]));
        assert_equal("h (4.7.2)", &vec![h_vec], graph.value(nodes.hidden[0]));
        assert_equal("o (4.7.3)", &vec![o], graph.value(nodes.output));
    }
}

#[test]
fn closed_form_gradients_equal_the_graph_for_one_sample() {
    for activation in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        for loss in [Loss::CrossEntropy, Loss::Squared] {
            for seed in 0..4 {
                check(activation, loss, 1, seed);
            }
        }
    }
}

#[test]
fn closed_form_gradients_equal_the_graph_for_a_batch() {
    for activation in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        for loss in [Loss::CrossEntropy, Loss::Squared] {
            for seed in 0..4 {
                check(activation, loss, 9, seed);
            }
        }
    }
}

#[test]
fn the_objective_is_section_4_7s_j() {
    // 4.7.4 to 4.7.6: J = mean_i l(o_i, y_i) + λ/2 (||W1||² + ||W2||²), by hand.
    let config = MlpConfig::d2l(3, 4, 2, Activation::Tanh, Loss::CrossEntropy, 0.5);
    let mut mlp = Mlp::<f64>::new(config, 9).unwrap();
    let x = Tensor::from_vec(2, 3, vec![0.5, -1.0, 2.0, 0.0, 0.25, -0.75]).unwrap();
    let labels = [1, 0];
    mlp.set_batch(&x, &labels).unwrap();
    let values = mlp.forward().unwrap();
    let w1 = to_matrix(mlp.weight(1));
    let w2 = to_matrix(mlp.weight(2));
    let mut loss = 0.0;
    for (i, &y) in labels.iter().enumerate() {
        let z = mat_vec(&w1, x.row(i));
        let h: Vec<f64> = z.iter().map(|z| z.tanh()).collect();
        let o = mat_vec(&w2, &h);
        let log_sum_exp = o.iter().map(|v| v.exp()).sum::<f64>().ln();
        loss += (log_sum_exp - o[y]) / 2.0;
    }
    let norms: f64 = w1.iter().chain(&w2).flatten().map(|w| w * w).sum();
    let s = 0.5 / 2.0 * norms;
    assert!((values.loss - loss).abs() < 1e-12 * loss.abs());
    assert!((values.penalty - s).abs() < 1e-12 * s);
    assert!((values.objective - (loss + s)).abs() < 1e-12 * (loss + s));
}

/// `docs/equations.md` shows the catalogue: the part between its markers is exactly
/// `markdown_table()`, so the page cannot drift from the formulas the program prints.
#[test]
fn the_docs_catalogue_table_is_the_catalogues_markdown() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/equations.md"))
        .expect("docs/equations.md is readable");
    let start = "<!-- catalogue:start -->\n";
    let end = "<!-- catalogue:end -->";
    let from = docs.find(start).expect("the start marker") + start.len();
    let to = docs.find(end).expect("the end marker");
    let table = markdown_table();
    assert_eq!(
        &docs[from..to],
        table,
        "docs/equations.md's catalogue table differs from backprop::d2l::catalogue; put this \
         between its markers:\n{table}"
    );
}
