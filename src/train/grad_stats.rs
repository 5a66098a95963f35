//! Gradient diagnostics (`backprop train --grad-stats`): per epoch, the norms of `dJ/dW_k`
//! and of each hidden layer's `dJ/dz_k`, so that vanishing gradients (4.7.13: every layer
//! multiplies by `phi'(z)`, at most 1/4 for the sigmoid) show up next to the loss curves.
//!
//! Each value is the **mean over the epoch's steps** of the Frobenius norm at that step,
//! taken after backward and before the update:
//!
//! - `grad_norm_W{k}`: `‖dJ/dW_k‖_F`, the full gradient the optimiser receives (`λ W_k`
//!   included, 4.7.11 / 4.7.14);
//! - `grad_norm_z{k}`: `‖dJ/dZ_k‖_F` of the minibatch's `B x n_k` matrix (4.7.13); since
//!   `J` averages the losses, each row is `1/B` of that sample's gradient.
//!
//! The values go into [`EpochRecord::extra`], hence into the metrics file and the plot's
//! third panel.

use super::metrics::EpochRecord;
use super::trainer::{StepProgress, TrainingObserver};
use crate::nn::Mlp;
use std::collections::BTreeMap;

/// The key prefix of every gradient statistic in [`EpochRecord::extra`].
pub const KEY_PREFIX: &str = "grad_norm_";

/// An observer that adds gradient norms to each epoch's record, then hands every event on
/// to `inner`.
pub struct GradientStatistics<'a> {
    inner: &'a mut dyn TrainingObserver,
    sums: BTreeMap<String, f64>,
    steps: usize,
}

impl<'a> GradientStatistics<'a> {
    /// Wraps `inner`, which receives the records with the statistics added.
    pub fn new(inner: &'a mut dyn TrainingObserver) -> Self {
        GradientStatistics {
            inner,
            sums: BTreeMap::new(),
            steps: 0,
        }
    }

    fn add(&mut self, key: String, value: f64) {
        *self.sums.entry(key).or_insert(0.0) += value;
    }
}

/// The Frobenius norm, accumulated in `f64`.
fn norm(values: &[f32]) -> f64 {
    values
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt()
}

impl TrainingObserver for GradientStatistics<'_> {
    fn after_backward(&mut self, mlp: &Mlp<f32>) {
        for k in 1..=mlp.config().depth() {
            if let Some(grad) = mlp.weight_grad(k) {
                self.add(format!("{KEY_PREFIX}W{k}"), norm(grad.as_slice()));
            }
        }
        for (k, &z) in mlp.nodes().pre_activations.iter().enumerate() {
            if let Some(grad) = mlp.graph().grad(z) {
                self.add(format!("{KEY_PREFIX}z{}", k + 1), norm(grad.as_slice()));
            }
        }
        self.steps += 1;
        self.inner.after_backward(mlp);
    }

    fn on_step(&mut self, progress: &StepProgress) {
        self.inner.on_step(progress);
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> anyhow::Result<()> {
        let mut record = record.clone();
        let steps = self.steps.max(1) as f64;
        for (key, sum) in std::mem::take(&mut self.sums) {
            record.extra.insert(key, sum / steps);
        }
        self.steps = 0;
        self.inner.on_epoch(&record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::graph::Activation;
    use crate::nn::{Loss, MlpConfig};
    use crate::optim::OptimizerKind;
    use crate::train::{TrainConfig, TrainData, Trainer};

    #[derive(Default)]
    struct Collect(Vec<EpochRecord>);
    impl TrainingObserver for Collect {
        fn on_epoch(&mut self, record: &EpochRecord) -> anyhow::Result<()> {
            self.0.push(record.clone());
            Ok(())
        }
    }

    #[test]
    fn every_weight_and_hidden_layer_gets_a_mean_norm_per_epoch() {
        let features: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
        let labels: Vec<u8> = (0..32).map(|i| (i % 3) as u8).collect();
        let data = Dataset::from_floats(features, labels, 2).unwrap();
        let config = MlpConfig {
            inputs: 2,
            hidden: vec![6, 5],
            outputs: 3,
            activation: Activation::Sigmoid,
            loss: Loss::CrossEntropy,
            bias: true,
            weight_decay: 0.0,
        };
        let mut mlp = Mlp::<f32>::new(config, 3).unwrap();
        let mut collect = Collect::default();
        let mut stats = GradientStatistics::new(&mut collect);
        let mut trainer = Trainer::new(TrainConfig {
            epochs: 2,
            max_steps: None,
            batch_size: 8,
            shuffle: false,
            seed: 0,
            learning_rate: 0.1,
            optimizer: OptimizerKind::Sgd,
        })
        .unwrap();
        let data = TrainData {
            train: &data,
            validation: None,
            test: None,
        };
        trainer.run(&mut mlp, data, &mut stats).unwrap();
        assert_eq!(collect.0.len(), 2);
        for record in &collect.0 {
            let keys: Vec<&str> = record.extra.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "grad_norm_W1",
                    "grad_norm_W2",
                    "grad_norm_W3",
                    "grad_norm_z1",
                    "grad_norm_z2"
                ]
            );
            assert!(record.extra.values().all(|v| v.is_finite() && *v > 0.0));
        }
    }
}
