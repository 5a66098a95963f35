//! Central finite differences in `f64`, and the gradient check built on them: backward
//! propagation against finite differences.
//!
//! This is the crate's one finite-difference module: `backprop gradcheck` and
//! `backprop explain` both estimate derivatives with [`central_difference`] and its step
//! [`STEP`]. For every element `θ` of every parameter, `(J(θ + ε) - J(θ - ε)) / 2ε`
//! estimates `dJ/dθ` with an error of order `ε²`; backward propagation must agree within
//! `|a - n| <= atol + rtol |n|`, the test of `torch.autograd.gradcheck` (whose defaults are
//! used: `ε = 1e-6`, `atol = 1e-5`, `rtol = 1e-3`). [`relative_difference`] is the one
//! per-element relative difference the reports print.

use super::mlp::{Mlp, MlpConfig, MlpError};
use crate::rng::Rng;
use crate::tensor::{Shape, Tensor};

/// The step `ε` of every central difference, `torch.autograd.gradcheck`'s: small enough
/// that the `ε²` truncation error is negligible, large enough that the rounding error
/// `~1e-16 |J| / ε` is too.
pub const STEP: f64 = 1e-6;

/// `(f(x + ε) - f(x - ε)) / 2ε` with `ε =` [`STEP`]: the derivative at `x` of a function
/// of one element, which `objective_at` evaluates (with the element set to its argument).
/// The caller restores the element afterwards.
pub fn central_difference<E>(
    x: f64,
    mut objective_at: impl FnMut(f64) -> Result<f64, E>,
) -> Result<f64, E> {
    let plus = objective_at(x + STEP)?;
    let minus = objective_at(x - STEP)?;
    Ok((plus - minus) / (2.0 * STEP))
}

/// [`central_difference`] of `f` with respect to each element `i` of `indices` of `v`.
/// `v` is restored exactly after each probe.
pub fn central_differences(
    v: &mut [f64],
    indices: &[usize],
    mut f: impl FnMut(&[f64]) -> f64,
) -> Vec<f64> {
    indices
        .iter()
        .map(|&i| {
            let original = v[i];
            let derivative = central_difference(original, |probe| {
                v[i] = probe;
                Ok::<f64, std::convert::Infallible>(f(v))
            });
            v[i] = original;
            match derivative {
                Ok(d) => d,
                Err(never) => match never {},
            }
        })
        .collect()
}

/// The tolerances of a gradient check (the step is [`STEP`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// The absolute tolerance.
    pub atol: f64,
    /// The relative tolerance.
    pub rtol: f64,
}

impl Default for Tolerance {
    /// `torch.autograd.gradcheck`'s: `atol = 1e-5`, `rtol = 1e-3`.
    fn default() -> Self {
        Tolerance {
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
    /// Whether every checked element is within tolerance.
    pub passed: bool,
    /// How many elements finite differences checked (all, or a selection).
    pub checked: usize,
    /// The gradient from backward propagation.
    pub analytic: Tensor<f64>,
    /// The gradient from finite differences (0 at the elements not checked).
    pub numeric: Tensor<f64>,
}

/// The relative difference of two numbers: `|a - n| / max(|a|, |n|)`, 0 when both are 0.
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
    check_gradient_elements(mlp, tolerance, |len, _| (0..len).collect())
}

/// [`check_gradients`] on the elements `select` picks of each parameter (given its number of
/// elements and backward's gradient), for models too large to check element by element.
pub fn check_gradient_elements(
    mlp: &mut Mlp<f64>,
    tolerance: Tolerance,
    select: impl Fn(usize, &[f64]) -> Vec<usize>,
) -> Result<Vec<ParameterCheck>, MlpError> {
    mlp.zero_grad();
    mlp.forward()?;
    let objective = mlp.nodes().objective;
    let value = mlp.graph().value(objective).item();
    if !value.is_finite() {
        return Err(MlpError::Config(format!(
            "the objective J is {value} at these weights and samples (λ = {}), and finite \
             differences of it mean nothing; a gradient check needs a finite J",
            crate::format::exact_number(mlp.config().weight_decay)
        )));
    }
    mlp.backward()?;
    let mut checks = Vec::new();
    for (name, id) in mlp.named_parameters().to_vec() {
        let analytic = mlp.graph().grad(id).cloned().unwrap_or_else(|| {
            Tensor::zeros(mlp.graph().value(id).rows(), mlp.graph().value(id).cols())
        });
        let shape = analytic.shape();
        let elements = select(shape.len(), analytic.as_slice());
        let mut numeric = Tensor::zeros(shape.rows, shape.cols);
        for &i in &elements {
            let original = mlp.graph().value(id).as_slice()[i];
            let derivative = central_difference(original, |probe| {
                mlp.graph_mut().parameter_mut(id).as_mut_slice()[i] = probe;
                mlp.graph_mut().forward()?;
                Ok::<f64, MlpError>(mlp.graph().value(objective).item())
            });
            mlp.graph_mut().parameter_mut(id).as_mut_slice()[i] = original;
            numeric.as_mut_slice()[i] = derivative?;
        }
        let mut check = ParameterCheck {
            name,
            shape,
            max_abs_diff: 0.0,
            max_rel_diff: 0.0,
            passed: true,
            checked: elements.len(),
            analytic,
            numeric,
        };
        for &i in &elements {
            let (a, n) = (check.analytic.as_slice()[i], check.numeric.as_slice()[i]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_differences_of_a_cubic() {
        let mut v = vec![1.0, 2.0, 3.0];
        let d = central_differences(&mut v, &[0, 2], |v| v[0].powi(3) + v[1] * v[2]);
        assert!((d[0] - 3.0).abs() < 1e-8, "{d:?}");
        assert!((d[1] - 2.0).abs() < 1e-8, "{d:?}");
        assert_eq!(v, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn the_larger_number_scales_the_relative_difference() {
        assert_eq!(relative_difference(2.0, 1.0), 0.5);
        assert_eq!(relative_difference(-1.0, 1.0), 2.0);
        assert_eq!(relative_difference(0.0, 0.0), 0.0);
    }
}
