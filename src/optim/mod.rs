//! Optimisers: plain SGD, SGD with momentum, and Adam.
//!
//! An optimiser turns the gradient `dJ/dθ` that backward propagation left in the graph into
//! an update of each parameter, and knows nothing else about the objective. The L2 term
//! `s = λ/2 Σ_k ‖W_k‖²` is part of `J`, and the graph is the one place that differentiates
//! it: after [`Mlp::backward`] every weight's gradient holds `dL/dW_k + λ W_k` (4.7.10) and
//! every bias's holds `dL/db_k` (biases are never penalised), so weight decay enters the
//! update through the gradient, for weights only.

use crate::nn::Mlp;
use crate::tensor::vectorised::vectorised;
use crate::tensor::{kernels, Element, Tensor};
use rayon::prelude::*;
use std::fmt;

/// Which update rule, with its hyper-parameters (the learning rate is passed per step).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// `θ ← θ - lr g`
    Sgd,
    /// `v ← μ v + g`, `θ ← θ - lr v` (PyTorch's SGD with momentum, no dampening).
    Momentum {
        /// `μ`
        momentum: f64,
    },
    /// Adam (Kingma and Ba), with bias correction.
    Adam {
        /// Decay of the first moment.
        beta1: f64,
        /// Decay of the second moment.
        beta2: f64,
        /// Added to the root of the second moment.
        epsilon: f64,
    },
}

impl OptimizerKind {
    /// Momentum with `μ = 0.9`.
    pub const MOMENTUM: OptimizerKind = OptimizerKind::Momentum { momentum: 0.9 };
    /// Adam with `β1 = 0.9`, `β2 = 0.999`, `ε = 1e-8`.
    pub const ADAM: OptimizerKind = OptimizerKind::Adam {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
    };

    /// The name used on the command line and in model files.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum { .. } => "momentum",
            OptimizerKind::Adam { .. } => "adam",
        }
    }

    /// Parses `sgd`, `momentum` or `adam` (with the default hyper-parameters).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sgd" => Some(OptimizerKind::Sgd),
            "momentum" => Some(Self::MOMENTUM),
            "adam" => Some(Self::ADAM),
            _ => None,
        }
    }
}

/// The command line's names (`sgd`, `momentum`, `adam`), each with its default
/// hyper-parameters; the variants carry data, so clap's derive cannot write this.
impl clap::ValueEnum for OptimizerKind {
    fn value_variants<'a>() -> &'a [Self] {
        &[OptimizerKind::Sgd, Self::MOMENTUM, Self::ADAM]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An optimiser with its per-parameter state (velocities, moments) and step count.
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    kind: OptimizerKind,
    /// One state tensor per parameter and moment: empty for SGD, `[v]` for momentum,
    /// `[m, v]` for Adam; allocated at the first step.
    state: Vec<Vec<Tensor<T>>>,
    steps: u64,
}

impl<T: Element> Optimizer<T> {
    /// A fresh optimiser.
    pub fn new(kind: OptimizerKind) -> Self {
        Optimizer {
            kind,
            state: Vec::new(),
            steps: 0,
        }
    }

    /// The update rule.
    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// How many updates were made.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The state tensors, per parameter (for checkpoints).
    pub fn state(&self) -> &[Vec<Tensor<T>>] {
        &self.state
    }

    /// Restores saved state and step count (from a checkpoint).
    pub fn restore(&mut self, state: Vec<Vec<Tensor<T>>>, steps: u64) {
        self.state = state;
        self.steps = steps;
    }

    /// Updates every parameter of `mlp` from the gradient `dJ/dθ` of the last backward
    /// pass, by the rule of [`OptimizerKind`]. Parameters without a gradient are left alone.
    pub fn step(&mut self, mlp: &mut Mlp<T>, learning_rate: f64) {
        let moments = match self.kind {
            OptimizerKind::Sgd => 0,
            OptimizerKind::Momentum { .. } => 1,
            OptimizerKind::Adam { .. } => 2,
        };
        if self.state.len() != mlp.named_parameters().len() {
            self.state = mlp
                .named_parameters()
                .iter()
                .map(|(_, id)| {
                    let value = mlp.graph().value(*id);
                    (0..moments)
                        .map(|_| Tensor::zeros(value.rows(), value.cols()))
                        .collect()
                })
                .collect();
        }
        self.steps += 1;
        let lr = T::from_f64(learning_rate);
        for p in 0..mlp.named_parameters().len() {
            let id = mlp.named_parameters()[p].1;
            let (value, grad) = mlp.graph_mut().parameter_and_grad_mut(id);
            let Some(grad) = grad else { continue };
            let (value, grad) = (value.as_mut_slice(), grad.as_slice());
            let state = &mut self.state[p];
            update(self.kind, self.steps, lr, value, grad, state);
        }
    }
}

/// Applies one update of rule `kind` (at step number `steps`) to one parameter, split over
/// the pool's threads; every element is updated independently.
fn update<T: Element>(
    kind: OptimizerKind,
    steps: u64,
    lr: T,
    value: &mut [T],
    grad: &[T],
    state: &mut [Tensor<T>],
) {
    let chunk = kernels::chunk_len(value.len());
    match kind {
        // θ ← θ - lr g
        OptimizerKind::Sgd => value
            .par_chunks_mut(chunk)
            .zip(grad.par_chunks(chunk))
            .for_each(|(value, grad)| {
                vectorised(
                    #[inline(always)]
                    || {
                        for (w, &g) in value.iter_mut().zip(grad) {
                            *w -= lr * g;
                        }
                    },
                )
            }),
        // v ← μ v + g,  θ ← θ - lr v
        OptimizerKind::Momentum { momentum } => {
            let mu = T::from_f64(momentum);
            let velocity = state[0].as_mut_slice();
            value
                .par_chunks_mut(chunk)
                .zip(grad.par_chunks(chunk))
                .zip(velocity.par_chunks_mut(chunk))
                .for_each(|((value, grad), velocity)| {
                    vectorised(
                        #[inline(always)]
                        || {
                            for ((w, &g), v) in value.iter_mut().zip(grad).zip(velocity) {
                                *v = mu * *v + g;
                                *w -= lr * *v;
                            }
                        },
                    )
                });
        }
        // m ← β1 m + (1-β1) g,  v ← β2 v + (1-β2) g²,  θ ← θ - lr m̂ / (√v̂ + ε)
        OptimizerKind::Adam {
            beta1,
            beta2,
            epsilon,
        } => {
            let t = steps.min(i32::MAX as u64) as i32;
            let b1 = T::from_f64(beta1);
            let b2 = T::from_f64(beta2);
            let eps = T::from_f64(epsilon);
            let correction1 = T::ONE / (T::ONE - b1.powi(t));
            let correction2 = T::ONE / (T::ONE - b2.powi(t));
            let (first, second) = state.split_at_mut(1);
            let m = first[0].as_mut_slice();
            let v = second[0].as_mut_slice();
            value
                .par_chunks_mut(chunk)
                .zip(grad.par_chunks(chunk))
                .zip(m.par_chunks_mut(chunk))
                .zip(v.par_chunks_mut(chunk))
                .for_each(|(((value, grad), m), v)| {
                    vectorised(
                        #[inline(always)]
                        || {
                            for (((w, &g), m), v) in value.iter_mut().zip(grad).zip(m).zip(v) {
                                *m = b1 * *m + (T::ONE - b1) * g;
                                *v = b2 * *v + (T::ONE - b2) * g * g;
                                let m_hat = *m * correction1;
                                let v_hat = *v * correction2;
                                *w -= lr * m_hat / (v_hat.sqrt() + eps);
                            }
                        },
                    )
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Loss, MlpConfig};

    /// Three steps of each rule, against the rule written out by hand from `dL/dθ` of a twin
    /// model without the L2 term: the decay term reaches the weights through the gradient
    /// (`g = dL/dW + λ W`), exactly once, and never the biases. A large `λ` makes a lost or
    /// doubled term show.
    #[test]
    fn each_rule_updates_with_the_decayed_gradient_of_weights_only() {
        let lambda = 0.3;
        let lr = 0.1;
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::MOMENTUM,
            OptimizerKind::ADAM,
        ] {
            let config = MlpConfig {
                bias: true,
                ..MlpConfig::d2l(6, 5, 3, Activation::Tanh, Loss::CrossEntropy, lambda)
            };
            let undecayed = MlpConfig {
                weight_decay: 0.0,
                ..config.clone()
            };
            let mut mlp = Mlp::<f64>::new(config, 7).unwrap();
            let mut optimizer = Optimizer::new(kind);
            let mut expected: Vec<Vec<f64>> = mlp
                .named_parameters()
                .iter()
                .map(|(_, id)| mlp.graph().value(*id).as_slice().to_vec())
                .collect();
            let mut first = vec![vec![0.0; 0]; expected.len()];
            let mut second = first.clone();
            for step in 0..3 {
                let mut twin = mlp.reconfigured(undecayed.clone()).unwrap();
                for model in [&mut mlp, &mut twin] {
                    for (i, x) in model.features_mut(4).iter_mut().enumerate() {
                        *x = ((i * 7 + step) % 11) as f64 / 5.0 - 1.0;
                    }
                    model.set_labels([0, 2, 1, 2].into_iter()).unwrap();
                    model.zero_grad();
                    model.forward().unwrap();
                    model.backward().unwrap();
                }
                let t = (step + 1) as i32;
                for (p, (name, id)) in twin.named_parameters().iter().enumerate() {
                    let is_weight = name.starts_with('W');
                    let loss_grad = twin.graph().grad(*id).unwrap().as_slice();
                    let theta = &mut expected[p];
                    first[p].resize(theta.len(), 0.0);
                    second[p].resize(theta.len(), 0.0);
                    for i in 0..theta.len() {
                        let g = loss_grad[i] + if is_weight { lambda * theta[i] } else { 0.0 };
                        match kind {
                            OptimizerKind::Sgd => theta[i] -= lr * g,
                            OptimizerKind::Momentum { momentum } => {
                                first[p][i] = momentum * first[p][i] + g;
                                theta[i] -= lr * first[p][i];
                            }
                            OptimizerKind::Adam {
                                beta1,
                                beta2,
                                epsilon,
                            } => {
                                first[p][i] = beta1 * first[p][i] + (1.0 - beta1) * g;
                                second[p][i] = beta2 * second[p][i] + (1.0 - beta2) * g * g;
                                let m_hat = first[p][i] / (1.0 - beta1.powi(t));
                                let v_hat = second[p][i] / (1.0 - beta2.powi(t));
                                theta[i] -= lr * m_hat / (v_hat.sqrt() + epsilon);
                            }
                        }
                    }
                }
                optimizer.step(&mut mlp, lr);
            }
            for ((name, id), expected) in mlp.named_parameters().iter().zip(&expected) {
                let got = mlp.graph().value(*id).as_slice();
                for (x, y) in got.iter().zip(expected) {
                    assert!((x - y).abs() <= 1e-12, "{kind:?} {name}: {x} vs {y}");
                }
            }
        }
    }
}
