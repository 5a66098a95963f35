//! Optimisers: plain SGD, SGD with momentum, and Adam.
//!
//! An optimiser turns the gradient `dJ/dθ` that backward propagation left in the graph into
//! an update of each parameter. The seed's L2 term is part of `J`, so the gradient already
//! holds `λ W` for every weight (4.7.10) and nothing for biases: weight decay enters the
//! optimiser through the gradient, for weights only.

use crate::nn::{DeferredDecay, Mlp};
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

    /// Updates every parameter of `mlp` from the gradient of the last backward pass.
    /// Parameters without a gradient are left alone.
    ///
    /// With `decay` (from [`Mlp::backward_for_update`]), the gradient of each weight lacks
    /// its decay term, and the update adds it as it reads the gradient: `g = dL/dW + λ W`,
    /// then the rule below with `g` (for SGD, `W ← W - lr (dL/dW + λ W)`), so that `W` and its
    /// gradient are read once per step. Biases never decay.
    pub fn step(&mut self, mlp: &mut Mlp<T>, learning_rate: f64, decay: Option<DeferredDecay<T>>) {
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
            let decay = decay
                .filter(|_| mlp.nodes().weights.contains(&id))
                .map(|d| d.factor);
            let (value, grad) = mlp.graph_mut().parameter_and_grad_mut(id);
            let Some(grad) = grad else { continue };
            let (value, grad) = (value.as_mut_slice(), grad.as_slice());
            let state = &mut self.state[p];
            // One monomorphic loop per case, so that no branch is left inside it.
            match decay {
                Some(factor) => update(
                    self.kind,
                    self.steps,
                    lr,
                    value,
                    grad,
                    state,
                    Decayed(factor),
                ),
                None => update(self.kind, self.steps, lr, value, grad, state, AsComputed),
            }
        }
    }
}

/// How the optimiser reads `dJ/dW` from the gradient that backward propagation left.
trait GradientCompletion<T>: Copy + Send + Sync {
    /// `dJ/dW` from the stored gradient `g` and the weight `w`.
    fn complete(self, g: T, w: T) -> T;
}

/// The stored gradient is complete.
#[derive(Clone, Copy)]
struct AsComputed;

impl<T> GradientCompletion<T> for AsComputed {
    #[inline(always)]
    fn complete(self, g: T, _w: T) -> T {
        g
    }
}

/// The stored gradient lacks the decay term: 4.7.10, `dJ/dW = dL/dW + λ W`.
#[derive(Clone, Copy)]
struct Decayed<T>(T);

impl<T: Element> GradientCompletion<T> for Decayed<T> {
    #[inline(always)]
    fn complete(self, g: T, w: T) -> T {
        g + self.0 * w
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
    gradient: impl GradientCompletion<T>,
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
                            *w -= lr * gradient.complete(g, *w);
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
                                *v = mu * *v + gradient.complete(g, *w);
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
                                let g = gradient.complete(g, *w);
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

    /// Three steps with the decay term left to the update must give the weights that three
    /// steps with complete gradients give, for every optimizer, with biases (which never
    /// decay) and a large `λ` (so that a lost or doubled term shows).
    #[test]
    fn decay_folded_into_the_update_matches_complete_gradients() {
        for kind in [
            OptimizerKind::Sgd,
            OptimizerKind::MOMENTUM,
            OptimizerKind::ADAM,
        ] {
            let config = MlpConfig {
                bias: true,
                ..MlpConfig::seed(6, 5, 3, Activation::Tanh, Loss::CrossEntropy, 0.3)
            };
            let mut complete = Mlp::<f64>::new(config, 7).unwrap();
            let mut folded = complete.clone();
            let (mut complete_opt, mut folded_opt) = (Optimizer::new(kind), Optimizer::new(kind));
            for step in 0..3 {
                for mlp in [&mut complete, &mut folded] {
                    for (i, x) in mlp.features_mut(4).iter_mut().enumerate() {
                        *x = ((i * 7 + step) % 11) as f64 / 5.0 - 1.0;
                    }
                    mlp.set_labels([0, 2, 1, 2].into_iter()).unwrap();
                    mlp.zero_grad();
                    mlp.forward().unwrap();
                }
                complete.backward().unwrap();
                complete_opt.step(&mut complete, 0.1, None);
                let decay = folded.backward_for_update().unwrap();
                assert_eq!(decay.factor, 0.3);
                folded_opt.step(&mut folded, 0.1, Some(decay));
            }
            for ((name, a), (_, b)) in complete
                .named_parameters()
                .iter()
                .zip(folded.named_parameters())
            {
                let (a, b) = (complete.graph().value(*a), folded.graph().value(*b));
                for (x, y) in a.as_slice().iter().zip(b.as_slice()) {
                    assert!((x - y).abs() <= 1e-14, "{kind:?} {name}: {x} vs {y}");
                }
            }
        }
    }
}
