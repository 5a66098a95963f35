//! The training loop: minibatches, forward, backward, update; epoch after epoch.

use super::evaluate::{evaluate, Evaluation};
use super::metrics::EpochRecord;
use crate::data::Dataset;
use crate::nn::mlp::{ForwardValues, MlpError};
use crate::nn::Mlp;
use crate::optim::{Optimizer, OptimizerKind};
use crate::rng::Rng;
use std::time::{Duration, Instant};

/// How to train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Number of passes over the training set (ignored when `max_steps` is set).
    pub epochs: usize,
    /// Stop after exactly this many parameter updates, whatever the epoch.
    pub max_steps: Option<u64>,
    /// Samples per minibatch; the last batch of an epoch may be smaller (it is used, not
    /// dropped).
    pub batch_size: usize,
    /// Visit the samples in a new seeded random order each epoch (else in file order).
    pub shuffle: bool,
    /// Seed of the shuffles.
    pub seed: u64,
    /// The learning rate.
    pub learning_rate: f64,
    /// The update rule.
    pub optimizer: OptimizerKind,
}

/// The data to train on: a training set and optional validation and test sets.
#[derive(Clone, Copy, Debug)]
pub struct TrainData<'a> {
    /// What the model learns from.
    pub train: &'a Dataset,
    /// Held out from the training file (`--val-fraction`).
    pub validation: Option<&'a Dataset>,
    /// The test split.
    pub test: Option<&'a Dataset>,
}

/// Where training is, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepProgress {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Parameter updates made so far.
    pub step: u64,
    /// Samples trained on so far in this epoch.
    pub samples_in_epoch: usize,
    /// Samples this epoch will train on.
    pub epoch_samples: usize,
    /// The mean loss `L` over this epoch's batches so far.
    pub running_loss: f64,
    /// Training time of this epoch so far.
    pub epoch_elapsed: Duration,
}

/// Receives training events (a progress bar, a metrics file, a plot...).
pub trait TrainingObserver {
    /// After every backward pass, before the update: the model holds this step's values and
    /// gradients (for gradient statistics).
    fn after_backward(&mut self, _mlp: &Mlp<f32>) {}
    /// After every parameter update.
    fn on_step(&mut self, _progress: &StepProgress) {}
    /// After every epoch, with its record; an error stops training.
    fn on_epoch(&mut self, _record: &EpochRecord) -> anyhow::Result<()> {
        Ok(())
    }
}

/// An observer that ignores everything.
pub struct NoObserver;
impl TrainingObserver for NoObserver {}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration cannot be used.
    #[error("{0}")]
    Config(String),
    /// The loss or a gradient stopped being a finite number.
    #[error("step {step} (epoch {epoch}): the objective became {value}; the learning rate ({learning_rate}) is probably too large for this model")]
    Diverged {
        /// The update that produced it.
        step: u64,
        /// The epoch.
        epoch: usize,
        /// The value of `J`.
        value: f32,
        /// The learning rate in use.
        learning_rate: f64,
    },
    /// The model rejected a batch.
    #[error(transparent)]
    Model(#[from] MlpError),
    /// An observer failed (for example, writing the metrics file).
    #[error(transparent)]
    Observer(#[from] anyhow::Error),
}

/// The state of a training run: the optimiser, the shuffling generator and the counters.
#[derive(Clone, Debug)]
pub struct Trainer {
    config: TrainConfig,
    optimizer: Optimizer<f32>,
    rng: Rng,
    epoch: usize,
    step: u64,
    order: Vec<usize>,
}

/// What one training step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepOutcome {
    /// The parameters were updated; the forward pass gave these values.
    Updated(ForwardValues<f32>),
    /// The objective was not finite, so nothing was updated.
    NonFinite(ForwardValues<f32>),
}

/// One parameter update on the samples `batch` of `train`: gather the batch (u8 -> f32
/// on the fly), forward propagation, backward propagation, then the optimiser's update.
/// Allocates nothing once the model has seen a batch of this size.
pub fn train_step(
    mlp: &mut Mlp<f32>,
    optimizer: &mut Optimizer<f32>,
    train: &Dataset,
    batch: &[usize],
    learning_rate: f64,
    observer: &mut dyn TrainingObserver,
) -> Result<StepOutcome, MlpError> {
    train.gather_features(batch, mlp.features_mut(batch.len()));
    mlp.set_labels(batch.iter().map(|&i| train.labels()[i] as usize))?;
    mlp.zero_grad();
    let values = mlp.forward()?;
    if !values.objective.is_finite() {
        return Ok(StepOutcome::NonFinite(values));
    }
    mlp.backward()?;
    observer.after_backward(mlp);
    optimizer.step(mlp, learning_rate);
    Ok(StepOutcome::Updated(values))
}

/// The final figures of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSummary {
    /// One record per epoch (the last one may be partial with `max_steps`).
    pub records: Vec<EpochRecord>,
    /// Parameter updates made.
    pub steps: u64,
}

impl Trainer {
    /// A new run.
    pub fn new(config: TrainConfig) -> Result<Self, TrainError> {
        if config.batch_size == 0 {
            return Err(TrainError::Config(
                "the batch size must be at least 1".into(),
            ));
        }
        if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
            return Err(TrainError::Config(format!(
                "the learning rate must be a finite number above 0, got {}",
                config.learning_rate
            )));
        }
        if config.max_steps.is_none() && config.epochs == 0 {
            return Err(TrainError::Config(
                "the number of epochs must be at least 1".into(),
            ));
        }
        if config.max_steps == Some(0) {
            return Err(TrainError::Config(
                "the number of steps must be at least 1".into(),
            ));
        }
        Ok(Trainer {
            optimizer: Optimizer::new(config.optimizer),
            rng: Rng::new(config.seed ^ 0x5348_5546_464C_4521),
            config,
            epoch: 0,
            step: 0,
            order: Vec::new(),
        })
    }

    /// Parameter updates made so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Trains `mlp` on `data` until the configured epochs or steps are done.
    pub fn run(
        &mut self,
        mlp: &mut Mlp<f32>,
        data: TrainData<'_>,
        observer: &mut dyn TrainingObserver,
    ) -> Result<TrainSummary, TrainError> {
        let train = data.train;
        if train.is_empty() {
            return Err(TrainError::Config("the training set is empty".into()));
        }
        if train.input_dim() != mlp.config().inputs {
            return Err(TrainError::Config(format!(
                "the model takes {} input features, the training data has {}",
                mlp.config().inputs,
                train.input_dim()
            )));
        }
        let outputs = mlp.config().outputs;
        for (name, set) in [
            ("training", Some(train)),
            ("validation", data.validation),
            ("test", data.test),
        ] {
            if let Some(set) = set {
                if set.num_classes() > outputs {
                    return Err(TrainError::Config(format!(
                        "the {name} set has label {}, but the model has only {outputs} outputs",
                        set.num_classes() - 1
                    )));
                }
                if set.input_dim() != mlp.config().inputs {
                    return Err(TrainError::Config(format!(
                        "the {name} set has {} input features, the model takes {}",
                        set.input_dim(),
                        mlp.config().inputs
                    )));
                }
            }
        }
        crate::tensor::matmul::prepare_threads();
        let mut records = Vec::new();
        let n = train.len();
        let batch_size = self.config.batch_size.min(n);
        loop {
            if self.finished() {
                break;
            }
            self.epoch += 1;
            self.order.clear();
            self.order.extend(0..n);
            if self.config.shuffle {
                self.rng.shuffle(&mut self.order);
            }
            let epoch_samples = match self.config.max_steps {
                Some(max) => n.min(((max - self.step) as usize).saturating_mul(batch_size)),
                None => n,
            };
            let mut loss_sum = 0.0f64;
            let mut objective_sum = 0.0f64;
            let mut correct = 0usize;
            let mut seen = 0usize;
            let mut training_time = Duration::ZERO;
            let mut start = 0;
            while start < n && !self.steps_exhausted() {
                let began = Instant::now();
                let end = (start + batch_size).min(n);
                let batch = &self.order[start..end];
                let values = match train_step(
                    mlp,
                    &mut self.optimizer,
                    train,
                    batch,
                    self.config.learning_rate,
                    observer,
                )? {
                    StepOutcome::Updated(values) => values,
                    StepOutcome::NonFinite(values) => {
                        return Err(TrainError::Diverged {
                            step: self.step + 1,
                            epoch: self.epoch,
                            value: values.objective,
                            learning_rate: self.config.learning_rate,
                        })
                    }
                };
                self.step += 1;
                training_time += began.elapsed();

                let rows = batch.len();
                loss_sum += values.loss as f64 * rows as f64;
                objective_sum += values.objective as f64 * rows as f64;
                correct += mlp.correct_predictions();
                seen += rows;
                start = end;
                observer.on_step(&StepProgress {
                    epoch: self.epoch,
                    step: self.step,
                    samples_in_epoch: seen,
                    epoch_samples,
                    running_loss: loss_sum / seen as f64,
                    epoch_elapsed: training_time,
                });
            }
            let validation = data
                .validation
                .map(|set| evaluate(mlp, set, self.config.batch_size))
                .transpose()?;
            let test = data
                .test
                .map(|set| evaluate(mlp, set, self.config.batch_size))
                .transpose()?;
            let seconds = training_time.as_secs_f64();
            let record = EpochRecord {
                epoch: self.epoch,
                step: self.step as usize,
                train_loss: loss_sum / seen as f64,
                train_objective: objective_sum / seen as f64,
                train_accuracy: correct as f64 / seen as f64,
                val_loss: validation.as_ref().map(|e: &Evaluation| e.loss),
                val_accuracy: validation.as_ref().map(|e| e.accuracy),
                test_loss: test.as_ref().map(|e| e.loss),
                test_accuracy: test.as_ref().map(|e| e.accuracy),
                epoch_seconds: seconds,
                samples_per_second: if seconds > 0.0 {
                    seen as f64 / seconds
                } else {
                    0.0
                },
                extra: Default::default(),
            };
            observer.on_epoch(&record)?;
            records.push(record);
        }
        Ok(TrainSummary {
            records,
            steps: self.step,
        })
    }

    fn steps_exhausted(&self) -> bool {
        self.config.max_steps.is_some_and(|max| self.step >= max)
    }

    fn finished(&self) -> bool {
        match self.config.max_steps {
            Some(max) => self.step >= max,
            None => self.epoch >= self.config.epochs,
        }
    }
}
