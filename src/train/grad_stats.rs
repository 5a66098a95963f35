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
use crate::format;
use crate::nn::Mlp;
use std::collections::BTreeMap;

/// The key prefix of every gradient statistic in [`EpochRecord::extra`].
pub const KEY_PREFIX: &str = "grad_norm_";

/// What a gradient statistic measures; weights sort before activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GradientOf {
    /// `‖∂J/∂W_k‖` (key `grad_norm_W{k}`).
    Weights,
    /// `‖∂J/∂z_k‖` (key `grad_norm_z{k}`).
    Activations,
}

impl GradientOf {
    /// The symbol the statistic differentiates by: `W` or `z`.
    pub fn symbol(self) -> char {
        match self {
            GradientOf::Weights => 'W',
            GradientOf::Activations => 'z',
        }
    }
}

/// Reads a statistic's key (`grad_norm_W3`, `grad_norm_z1`) back into what it measures and
/// its layer (from 1); `None` for any other key. The one reader of the keys this module
/// writes.
pub fn parse_key(key: &str) -> Option<(GradientOf, usize)> {
    let name = key.strip_prefix(KEY_PREFIX)?;
    let kind = match name.chars().next()? {
        'W' => GradientOf::Weights,
        'z' => GradientOf::Activations,
        _ => return None,
    };
    let layer = name[1..].parse().ok()?;
    Some((kind, layer))
}

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

/// The gradient statistics of `records` as a text table for the console: one row per
/// epoch, one right-aligned column per statistic (`‖∂J/∂W1‖`, ..., then `‖∂J/∂z1‖`, ...,
/// each in layer order), the values written by [`format::short_number`]; `None` when no
/// record holds a statistic.
pub fn table(records: &[EpochRecord]) -> Option<String> {
    let mut keys: Vec<(GradientOf, usize, &str)> = Vec::new();
    for record in records {
        for key in record.extra.keys() {
            let Some((kind, layer)) = parse_key(key) else {
                continue;
            };
            if !keys.iter().any(|&(_, _, k)| k == key) {
                keys.push((kind, layer, key));
            }
        }
    }
    if keys.is_empty() {
        return None;
    }
    keys.sort();
    let mut rows = vec![std::iter::once("epoch".to_string())
        .chain(
            keys.iter()
                .map(|&(kind, layer, _)| format!("‖∂J/∂{}{layer}‖", kind.symbol())),
        )
        .collect::<Vec<_>>()];
    for record in records {
        rows.push(
            std::iter::once(record.epoch.to_string())
                .chain(keys.iter().map(|&(_, _, key)| {
                    record
                        .extra
                        .get(key)
                        .map_or("-".to_string(), |&v| format::short_number(v))
                }))
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&widths)
                .map(|(cell, &width)| {
                    let pad = width - cell.chars().count();
                    format!("{}{cell}", " ".repeat(pad))
                })
                .collect::<Vec<_>>()
                .join("  ")
        })
        .collect();
    Some(format!(
        "gradient norms (mean over each epoch's steps):\n{}",
        lines.join("\n")
    ))
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
        let table = table(&collect.0).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        let header: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            header,
            [
                "epoch",
                "‖∂J/∂W1‖",
                "‖∂J/∂W2‖",
                "‖∂J/∂W3‖",
                "‖∂J/∂z1‖",
                "‖∂J/∂z2‖"
            ]
        );
        let first: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(first[0], "1");
        assert_eq!(
            first[1],
            format::short_number(collect.0[0].extra["grad_norm_W1"])
        );
        assert!(super::table(&[]).is_none());
    }

    #[test]
    fn layers_past_nine_come_after_nine_in_the_table() {
        let mut record: EpochRecord = serde_json::from_str(
            r#"{"epoch":1,"step":1,"train_loss":1,"train_objective":1,"train_accuracy":0.5,"epoch_seconds":1,"samples_per_second":1}"#,
        )
        .unwrap();
        for k in [1, 2, 9, 10] {
            record.extra.insert(format!("grad_norm_W{k}"), k as f64);
        }
        let table = table(&[record]).unwrap();
        let header: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            ["epoch", "‖∂J/∂W1‖", "‖∂J/∂W2‖", "‖∂J/∂W9‖", "‖∂J/∂W10‖"]
        );
    }
}
