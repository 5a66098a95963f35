//! The gradient check: backward propagation against central finite differences, in `f64`.
//!
//! For every element `θ` of every parameter, `(J(θ + ε) - J(θ - ε)) / 2ε` estimates
//! `dJ/dθ` with an error of order `ε²`; backward propagation must agree within
//! `|a - n| <= atol + rtol |n|`, the test of `torch.autograd.gradcheck` (defaults
//! `ε = 1e-6`, `atol = 1e-5`, `rtol = 1e-3`).

use super::mlp::{Mlp, MlpConfig, MlpError};
use crate::rng::Rng;
use crate::tensor::{Shape, Tensor};

/// The step and tolerances of a gradient check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// The finite-difference step `ε`.
    pub eps: f64,
    /// The absolute tolerance.
    pub atol: f64,
    /// The relative tolerance.
    pub rtol: f64,
}

impl Default for Tolerance {
    /// `torch.autograd.gradcheck`'s: `ε = 1e-6`, `atol = 1e-5`, `rtol = 1e-3`.
    fn default() -> Self {
        Tolerance {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

impl Tolerance {
    /// Whether an analytic gradient `analytic` agrees with the numeric one `numeric`.
    pub fn accepts(&self, analytic: f64, numeric: f64) -> bool {
        (analytic - numeric).abs() <= self.atol + self.rtol * numeric.abs()
    }
}

/// The result of checking one parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterCheck {
    /// `W1`, `b1`, ...
    pub name: String,
    /// Its shape.
    pub shape: Shape,
    /// The largest `|a - n|` over its elements.
    pub max_abs_diff: f64,
    /// The largest `|a - n| / max(|a|, |n|)` over its elements (0 where both are 0).
    pub max_rel_diff: f64,
    /// Whether every element is within tolerance.
    pub passed: bool,
    /// The gradient from backward propagation.
    pub analytic: Tensor<f64>,
    /// The gradient from finite differences.
    pub numeric: Tensor<f64>,
}

/// The relative difference used in reports: `|a - n| / max(|a|, |n|)`, 0 when both are 0.
pub fn relative_difference(a: f64, n: f64) -> f64 {
    let scale = a.abs().max(n.abs());
    if scale == 0.0 {
        0.0
    } else {
        (a - n).abs() / scale
    }
}

/// Checks every parameter of `mlp` on its loaded batch: runs forward and backward once,
/// then estimates each gradient element by central differences of `J`. Parameters are left
/// exactly as they were; the gradients left in the graph are backward's.
pub fn check_gradients(
    mlp: &mut Mlp<f64>,
    tolerance: Tolerance,
) -> Result<Vec<ParameterCheck>, MlpError> {
    mlp.zero_grad();
    mlp.forward()?;
    mlp.backward()?;
    let objective = mlp.nodes().objective;
    let mut checks = Vec::new();
    for (name, id) in mlp.named_parameters().to_vec() {
        let analytic = mlp.graph().grad(id).cloned().unwrap_or_else(|| {
            Tensor::zeros(mlp.graph().value(id).rows(), mlp.graph().value(id).cols())
        });
        let shape = analytic.shape();
        let mut numeric = Tensor::zeros(shape.rows, shape.cols);
        for i in 0..shape.len() {
            let original = mlp.graph().value(id).as_slice()[i];
            mlp.graph_mut().parameter_mut(id).as_mut_slice()[i] = original + tolerance.eps;
            mlp.graph_mut().forward()?;
            let plus = mlp.graph().value(objective).item();
            mlp.graph_mut().parameter_mut(id).as_mut_slice()[i] = original - tolerance.eps;
            mlp.graph_mut().forward()?;
            let minus = mlp.graph().value(objective).item();
            mlp.graph_mut().parameter_mut(id).as_mut_slice()[i] = original;
            numeric.as_mut_slice()[i] = (plus - minus) / (2.0 * tolerance.eps);
        }
        let mut check = ParameterCheck {
            name,
            shape,
            max_abs_diff: 0.0,
            max_rel_diff: 0.0,
            passed: true,
            analytic,
            numeric,
        };
        for (&a, &n) in check
            .analytic
            .as_slice()
            .iter()
            .zip(check.numeric.as_slice())
        {
            check.max_abs_diff = check.max_abs_diff.max((a - n).abs());
            check.max_rel_diff = check.max_rel_diff.max(relative_difference(a, n));
            check.passed &= tolerance.accepts(a, n);
        }
        checks.push(check);
    }
    mlp.forward()?;
    Ok(checks)
}

/// A model at a random point for checking: weights as [`Mlp::new`] draws them, and biases
/// drawn from `N(0, 0.5²)` instead of zero.
///
/// Zero biases put relu networks exactly on the kink of `max(z, 0)` whenever a sample's
/// hidden units are all zero (then the next layer's `z` is exactly 0), where `relu` has no
/// derivative and finite differences see the average of its two slopes. A random bias moves
/// the check to a point where the function is differentiable.
pub fn random_model(config: MlpConfig, seed: u64) -> Result<Mlp<f64>, MlpError> {
    let mut mlp = Mlp::<f64>::new(config, seed)?;
    let mut rng = Rng::new(seed ^ 0xB1A5_B1A5);
    for k in 1..=mlp.config().depth() {
        if let Some(b) = mlp.nodes().biases[k - 1] {
            for v in mlp.graph_mut().parameter_mut(b).as_mut_slice() {
                *v = 0.5 * rng.normal();
            }
        }
    }
    Ok(mlp)
}

/// A batch of `batch` standard-normal inputs with uniform labels below `config.outputs`,
/// from `seed`.
pub fn random_batch(config: &MlpConfig, batch: usize, seed: u64) -> (Tensor<f64>, Vec<usize>) {
    let mut rng = Rng::new(seed ^ 0x5EED_DA7A);
    let x = Tensor::from_fn(batch, config.inputs, |_, _| rng.normal());
    let labels = (0..batch).map(|_| rng.below(config.outputs)).collect();
    (x, labels)
}
