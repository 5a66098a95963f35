//! The training loop: minibatches, forward, backward, update; epoch after epoch.
//!
//! There is one loop. [`Trainer::step`] makes one parameter update on the next minibatch of
//! the epoch's order (starting the next epoch, with its seeded shuffle, when the order is
//! used up); [`Trainer::run`] calls it until the configured epochs or steps are done and
//! makes each epoch's record; the playground's session ([`crate::playground::session`])
//! calls it once per step it shows. The same configuration, seed and data give the same
//! weights either way.

use super::awake::with_workers_awake;
use super::evaluate::{evaluate, Evaluation};
use super::metrics::EpochRecord;
use crate::data::Dataset;
use crate::format::exact_number;
use crate::nn::mlp::{ForwardValues, MlpError};
use crate::nn::Mlp;
use crate::optim::{Optimizer, OptimizerKind};
use crate::rng::Rng;
use crate::tensor::Tensor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

/// Receives training events (a progress bar, a metrics file, a plot...). An observer is
/// `Send` because a training step runs inside a rayon join (the one in `train/awake.rs`
/// that keeps the pool's threads awake through the step).
pub trait TrainingObserver: Send {
    /// After every backward pass, before the update: the model holds this step's values and
    /// gradients, `dJ/dθ` for every parameter (`λ W` included) and `dJ/dz` for every hidden
    /// layer, as [`Mlp::backward`] documents (for gradient statistics).
    fn after_backward(&mut self, _mlp: &Mlp<f32>) {}
    /// After every parameter update.
    fn on_step(&mut self, _progress: &StepProgress) {}
    /// After every epoch, with its record; an error stops training.
    fn on_epoch(&mut self, _record: &EpochRecord) -> anyhow::Result<()> {
        Ok(())
    }
    /// Every [`Trainer::set_checkpoint_every`] steps, between two steps, once the parameters
    /// were checked to be finite: `trainer` holds a state to save
    /// ([`Trainer::state`]); an error stops training.
    fn on_checkpoint(&mut self, _trainer: &Trainer, _mlp: &Mlp<f32>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// An observer that ignores everything.
pub struct NoObserver;
impl TrainingObserver for NoObserver {}

/// The setting that most probably made a run diverge, as its error message names it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DivergenceCause {
    /// The steps were too long for the loss surface.
    LearningRate(f64),
    /// `s = λ/2 Σ_k ‖W_k‖²` itself was not a finite number.
    PenaltyOverflow(f64),
    /// The decay part of a gradient step, `W ← (1 − lr·λ) W` for SGD, makes every weight grow
    /// once `lr·λ` passes `limit` (2 for SGD, `2 (1 + μ)` with momentum `μ`).
    DecayStep {
        /// `λ`.
        weight_decay: f64,
        /// The learning rate.
        learning_rate: f64,
        /// The largest stable `lr·λ` for the update rule.
        limit: f64,
    },
}

impl DivergenceCause {
    /// The weight decay when `lr·λ` is beyond what the update rule keeps stable (Adam's
    /// steps do not scale with the gradient, so it has no such limit) or when `λ` made the
    /// penalty overflow (`penalty_overflowed`: `s` not finite while `Σ‖W_k‖²` is), else the
    /// learning rate.
    pub fn of(config: &TrainConfig, weight_decay: f64, penalty_overflowed: bool) -> Self {
        let learning_rate = config.learning_rate;
        let limit = match config.optimizer {
            OptimizerKind::Sgd => Some(2.0),
            OptimizerKind::Momentum { momentum } => Some(2.0 * (1.0 + momentum)),
            OptimizerKind::Adam { .. } => None,
        };
        match limit {
            // First: a decay step that grows the weights ends in an overflowing penalty too.
            Some(limit) if learning_rate * weight_decay > limit => DivergenceCause::DecayStep {
                weight_decay,
                learning_rate,
                limit,
            },
            _ if penalty_overflowed => DivergenceCause::PenaltyOverflow(weight_decay),
            _ => DivergenceCause::LearningRate(learning_rate),
        }
    }
}

impl std::fmt::Display for DivergenceCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            DivergenceCause::LearningRate(rate) => write!(
                f,
                "the learning rate ({}) is probably too large for this model",
                exact_number(rate)
            ),
            DivergenceCause::PenaltyOverflow(weight_decay) => write!(
                f,
                "the weight decay ({}) is too large: λ/2 Σ‖W‖² overflowed",
                exact_number(weight_decay)
            ),
            DivergenceCause::DecayStep {
                weight_decay,
                learning_rate,
                limit,
            } => write!(
                f,
                "the weight decay ({}) is too large for learning rate {}: lr·λ = {}, and \
                 above {} the decay part of each step makes every weight grow",
                exact_number(weight_decay),
                exact_number(learning_rate),
                exact_number(learning_rate * weight_decay),
                exact_number(limit)
            ),
        }
    }
}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration cannot be used.
    #[error("{0}")]
    Config(String),
    /// The loss or a gradient stopped being a finite number.
    #[error("step {step} (epoch {epoch}): the objective became {value}; {cause}")]
    Diverged {
        /// The update that produced it.
        step: u64,
        /// The epoch.
        epoch: usize,
        /// The value of `J`.
        value: f32,
        /// Which setting is probably to blame ([`DivergenceCause`]).
        cause: DivergenceCause,
    },
    /// A parameter stopped being a finite number after an update (the gradient overflowed).
    #[error("step {step} (epoch {epoch}): parameter {parameter} became {value} after the update; {cause}")]
    ParameterDiverged {
        /// The last update made (the one that produced it).
        step: u64,
        /// The epoch.
        epoch: usize,
        /// The parameter's name (`W1`, `b2`, ...).
        parameter: String,
        /// The first non-finite value found.
        value: f32,
        /// Which setting is probably to blame ([`DivergenceCause`]).
        cause: DivergenceCause,
    },
    /// The stop flag was raised ([`Trainer::set_stop_flag`]); training stopped between two
    /// steps and [`Trainer::state`] can be saved and resumed.
    #[error("training was interrupted after step {step} (epoch {epoch})")]
    Interrupted {
        /// Parameter updates made.
        step: u64,
        /// The epoch in progress.
        epoch: usize,
    },
    /// A saved state does not fit this configuration or data.
    #[error("cannot resume: {0}")]
    Resume(String),
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
    /// Whether epoch `epoch` still has batches to train on or its record to emit.
    epoch_in_progress: bool,
    /// Where the next batch starts in `order`.
    position: usize,
    totals: EpochTotals,
    checkpoint_every: Option<u64>,
    stop: Option<Arc<AtomicBool>>,
}

/// The running sums of the epoch in progress, from which its record is made.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochTotals {
    /// `Σ L · rows` over the batches so far.
    pub loss_sum: f64,
    /// `Σ J · rows` over the batches so far.
    pub objective_sum: f64,
    /// Correct predictions so far.
    pub correct: usize,
    /// Samples trained on so far.
    pub seen: usize,
    /// Training time so far.
    pub training_time: Duration,
}

/// Everything a [`Trainer`] needs to continue exactly where it was (for checkpoints): with
/// the same model parameters and configuration, [`Trainer::resume`] from this state makes
/// the same updates, bit for bit, as the run it was taken from.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainerState {
    /// The epoch, from 1 (0 before the first).
    pub epoch: usize,
    /// Parameter updates made.
    pub step: u64,
    /// Whether `epoch` still has batches to train on or its record to emit.
    pub epoch_in_progress: bool,
    /// The epoch's sample order (empty when no epoch is in progress).
    pub order: Vec<usize>,
    /// Where the next batch starts in `order`.
    pub position: usize,
    /// The shuffling generator's state.
    pub rng: [u64; 4],
    /// The optimiser's update count (Adam's `t`).
    pub optimizer_steps: u64,
    /// The optimiser's tensors per parameter, in [`Mlp::named_parameters`] order (see
    /// [`Optimizer::state`]); empty before the first update.
    pub optimizer_state: Vec<Vec<Tensor<f32>>>,
    /// The running sums of the epoch in progress.
    pub totals: EpochTotals,
}

/// Mixed into the seed for the shuffling generator, so that the sample order is not drawn
/// from the stream that [`Mlp::new`] draws the initial weights from (the seed itself).
pub const SHUFFLE_SEED_MIX: u64 = 0x5348_5546_464C_4521;

/// What one [`Trainer::step`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepOutcome {
    /// The parameters were updated.
    Updated {
        /// What the forward pass before the update gave.
        values: ForwardValues<f32>,
        /// Whether this was the last batch of the epoch's order.
        epoch_complete: bool,
    },
    /// The configured epochs or steps are done; nothing was changed.
    Finished,
}

/// Whether [`update_on_batch`] updated the parameters.
enum BatchUpdate {
    /// The parameters were updated; the forward pass gave these values.
    Updated(ForwardValues<f32>),
    /// The objective was not finite, so nothing was updated.
    NonFinite(ForwardValues<f32>),
}

/// One parameter update on the samples `batch` of `train`: gather the batch (u8 -> f32
/// on the fly), forward propagation, backward propagation ([`Mlp::backward`]: the gradient
/// store then holds `dJ/dθ`, whoever observes), then the optimiser's update. Allocates
/// nothing once the model has seen a batch of this size.
fn update_on_batch(
    mlp: &mut Mlp<f32>,
    optimizer: &mut Optimizer<f32>,
    train: &Dataset,
    batch: &[usize],
    learning_rate: f64,
    observer: &mut dyn TrainingObserver,
) -> Result<BatchUpdate, MlpError> {
    with_workers_awake(|| {
        train.gather_features(batch, mlp.features_mut(batch.len()));
        mlp.set_labels(batch.iter().map(|&i| train.labels()[i] as usize))?;
        mlp.zero_grad();
        let values = mlp.forward()?;
        if !values.objective.is_finite() {
            return Ok(BatchUpdate::NonFinite(values));
        }
        mlp.backward()?;
        observer.after_backward(mlp);
        optimizer.step(mlp, learning_rate);
        Ok(BatchUpdate::Updated(values))
    })
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
            rng: Rng::new(config.seed ^ SHUFFLE_SEED_MIX),
            config,
            epoch: 0,
            step: 0,
            order: Vec::new(),
            epoch_in_progress: false,
            position: 0,
            totals: EpochTotals::default(),
            checkpoint_every: None,
            stop: None,
        })
    }

    /// A run continuing from `state` (saved by [`Trainer::state`]) with `config`, whose
    /// `epochs` and `max_steps` may differ from the saved run's (they are totals, counted from
    /// the start of the first run).
    pub fn resume(config: TrainConfig, state: TrainerState) -> Result<Self, TrainError> {
        let mut trainer = Trainer::new(config)?;
        if state.epoch_in_progress && state.position > state.order.len() {
            return Err(TrainError::Resume(format!(
                "the saved position {} is past the end of the epoch's {} samples",
                state.position,
                state.order.len()
            )));
        }
        trainer
            .optimizer
            .restore(state.optimizer_state, state.optimizer_steps);
        trainer.rng = Rng::from_state(state.rng);
        trainer.epoch = state.epoch;
        trainer.step = state.step;
        trainer.order = state.order;
        trainer.epoch_in_progress = state.epoch_in_progress;
        trainer.position = state.position;
        trainer.totals = state.totals;
        Ok(trainer)
    }

    /// The state to save in a checkpoint, taken between two steps.
    pub fn state(&self) -> TrainerState {
        TrainerState {
            epoch: self.epoch,
            step: self.step,
            epoch_in_progress: self.epoch_in_progress,
            order: if self.epoch_in_progress {
                self.order.clone()
            } else {
                Vec::new()
            },
            position: self.position,
            rng: self.rng.state(),
            optimizer_steps: self.optimizer.steps(),
            optimizer_state: self.optimizer.state().to_vec(),
            totals: self.totals,
        }
    }

    /// The configuration of the run.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Calls [`TrainingObserver::on_checkpoint`] after every `steps` parameter updates
    /// (`None`: never).
    pub fn set_checkpoint_every(&mut self, steps: Option<u64>) {
        self.checkpoint_every = steps.filter(|&s| s > 0);
    }

    /// A flag that, once raised (by a signal handler, say), stops training before the next
    /// step with [`TrainError::Interrupted`]; the current step always finishes.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
    }

    /// Parameter updates made so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The epoch in progress or last finished, from 1 (0 before the first).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Passes over the training set completed so far (an epoch counts once its last batch
    /// was trained on).
    pub fn completed_epochs(&self) -> usize {
        if self.batches_left() {
            self.epoch - 1
        } else {
            self.epoch
        }
    }

    /// Checks that the model and data can be trained together (input features, labels below
    /// the number of outputs, a non-empty training set); [`Trainer::run`] checks it too, so a
    /// caller can check before creating any output file.
    pub fn check_data(&self, mlp: &Mlp<f32>, data: TrainData<'_>) -> Result<(), TrainError> {
        let train = data.train;
        check_features(mlp, train)?;
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
        if self.epoch_in_progress && self.order.len() != train.len() {
            return Err(TrainError::Resume(format!(
                "the saved epoch visits {} training samples, but the training set has {}",
                self.order.len(),
                train.len()
            )));
        }
        if self.epoch_in_progress && self.order.iter().any(|&i| i >= train.len()) {
            return Err(TrainError::Resume(
                "the saved sample order indexes past the training set".into(),
            ));
        }
        let parameters = mlp.named_parameters();
        let saved = self.optimizer.state();
        if !saved.is_empty() {
            let shapes_fit = saved.len() == parameters.len()
                && saved.iter().zip(parameters).all(|(tensors, (_, id))| {
                    let value = mlp.graph().value(*id);
                    tensors
                        .iter()
                        .all(|t| t.rows() == value.rows() && t.cols() == value.cols())
                });
            if !shapes_fit {
                return Err(TrainError::Resume(
                    "the saved optimiser state does not fit the model's parameters".into(),
                ));
            }
        }
        Ok(())
    }

    /// One parameter update of `mlp` on the next minibatch of `train`, the one training step
    /// that [`Trainer::run`] and the playground share:
    ///
    /// 1. when the epoch's order is used up (or before the first), the next epoch begins:
    ///    the samples `0..n`, shuffled by the seeded generator unless `shuffle` is off;
    /// 2. when the stop flag is raised, no update: [`TrainError::Interrupted`] (the state
    ///    can be saved and resumed);
    /// 3. the next `batch_size` samples of the order (fewer at the end of the epoch):
    ///    forward, backward ([`TrainingObserver::after_backward`]), the optimiser's update;
    ///    a non-finite objective stops with [`TrainError::Diverged`] before the update;
    /// 4. the epoch's running sums, [`TrainingObserver::on_step`], and every
    ///    [`Trainer::set_checkpoint_every`] steps [`TrainingObserver::on_checkpoint`].
    ///
    /// Returns [`StepOutcome::Finished`], changing nothing, once the configured epochs or
    /// steps are done. Call [`Trainer::check_data`] once before the first step (labels are
    /// not checked here); allocates nothing once an epoch of `train` has been trained.
    pub fn step(
        &mut self,
        mlp: &mut Mlp<f32>,
        train: &Dataset,
        observer: &mut dyn TrainingObserver,
    ) -> Result<StepOutcome, TrainError> {
        let n = train.len();
        if self.steps_exhausted()
            || (self.config.max_steps.is_none()
                && self.epoch >= self.config.epochs
                && !self.batches_left())
        {
            return Ok(StepOutcome::Finished);
        }
        check_features(mlp, train)?;
        if self.epoch_in_progress && self.order.len() != n {
            return Err(TrainError::Resume(format!(
                "the epoch visits {} training samples, but the training set has {n}",
                self.order.len()
            )));
        }
        if !self.batches_left() {
            self.begin_epoch(n);
        }
        if self
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
        {
            self.check_parameters(mlp)?;
            return Err(TrainError::Interrupted {
                step: self.step,
                epoch: self.epoch,
            });
        }
        let batch_size = self.config.batch_size.min(n);
        let epoch_samples = match self.config.max_steps {
            Some(max) => n.min(
                self.position
                    .saturating_add(((max - self.step) as usize).saturating_mul(batch_size)),
            ),
            None => n,
        };
        let start = self.position;
        let began = Instant::now();
        let end = (start + batch_size).min(n);
        let batch = &self.order[start..end];
        let values = match update_on_batch(
            mlp,
            &mut self.optimizer,
            train,
            batch,
            self.config.learning_rate,
            observer,
        )? {
            BatchUpdate::Updated(values) => values,
            BatchUpdate::NonFinite(values) => {
                return Err(TrainError::Diverged {
                    step: self.step + 1,
                    epoch: self.epoch,
                    value: values.objective,
                    cause: DivergenceCause::of(
                        &self.config,
                        mlp.config().weight_decay,
                        !values.penalty.is_finite() && weights_square_sum_is_finite(mlp),
                    ),
                })
            }
        };
        self.step += 1;
        let totals = &mut self.totals;
        totals.training_time += began.elapsed();
        let rows = end - start;
        totals.loss_sum += values.loss as f64 * rows as f64;
        totals.objective_sum += values.objective as f64 * rows as f64;
        totals.correct += mlp.correct_predictions();
        totals.seen += rows;
        self.position = end;
        observer.on_step(&StepProgress {
            epoch: self.epoch,
            step: self.step,
            samples_in_epoch: totals.seen,
            epoch_samples,
            running_loss: totals.loss_sum / totals.seen as f64,
            epoch_elapsed: totals.training_time,
        });
        if self
            .checkpoint_every
            .is_some_and(|k| self.step.is_multiple_of(k))
        {
            self.check_parameters(mlp)?;
            observer.on_checkpoint(self, mlp)?;
        }
        Ok(StepOutcome::Updated {
            values,
            epoch_complete: end >= n,
        })
    }

    /// Trains `mlp` on `data` until the configured epochs or steps are done: [`Trainer::step`]
    /// until the epoch's order is used up or the steps are done, then the epoch's record
    /// (validation and test figures measured after it) to [`TrainingObserver::on_epoch`].
    pub fn run(
        &mut self,
        mlp: &mut Mlp<f32>,
        data: TrainData<'_>,
        observer: &mut dyn TrainingObserver,
    ) -> Result<TrainSummary, TrainError> {
        self.check_data(mlp, data)?;
        crate::tensor::matmul::prepare_threads();
        let mut records = Vec::new();
        while !self.finished() {
            while !self.epoch_trained() && !self.steps_exhausted() {
                if self.step(mlp, data.train, observer)? == StepOutcome::Finished {
                    break;
                }
            }
            self.check_parameters(mlp)?;
            if !self.batches_left() {
                self.epoch_in_progress = false;
            }
            let record = self.epoch_record(mlp, data)?;
            observer.on_epoch(&record)?;
            records.push(record);
        }
        Ok(TrainSummary {
            records,
            steps: self.step,
        })
    }

    /// Begins the next epoch over `n` samples: its order (seeded shuffle unless `shuffle`
    /// is off) and fresh running sums.
    fn begin_epoch(&mut self, n: usize) {
        self.epoch += 1;
        self.order.clear();
        self.order.extend(0..n);
        if self.config.shuffle {
            self.rng.shuffle(&mut self.order);
        }
        self.position = 0;
        self.totals = EpochTotals::default();
        self.epoch_in_progress = true;
    }

    /// Whether the epoch in progress has trained on all its samples (its record is due).
    fn epoch_trained(&self) -> bool {
        self.epoch_in_progress && !self.batches_left()
    }

    /// Whether the epoch in progress still has samples to train on.
    fn batches_left(&self) -> bool {
        self.epoch_in_progress && self.position < self.order.len()
    }

    /// The record of the epoch in progress or just finished: the running sums of its
    /// batches, and the validation and test figures measured now.
    fn epoch_record(
        &self,
        mlp: &mut Mlp<f32>,
        data: TrainData<'_>,
    ) -> Result<EpochRecord, TrainError> {
        let EpochTotals {
            loss_sum,
            objective_sum,
            correct,
            seen,
            training_time,
        } = self.totals;
        let validation = data
            .validation
            .map(|set| evaluate(mlp, set, self.config.batch_size))
            .transpose()?;
        let test = data
            .test
            .map(|set| evaluate(mlp, set, self.config.batch_size))
            .transpose()?;
        let seconds = training_time.as_secs_f64();
        Ok(EpochRecord {
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
        })
    }

    fn steps_exhausted(&self) -> bool {
        self.config.max_steps.is_some_and(|max| self.step >= max)
    }

    fn finished(&self) -> bool {
        match self.config.max_steps {
            Some(max) => self.step >= max,
            None => self.epoch >= self.config.epochs && !self.epoch_in_progress,
        }
    }

    /// Fails with [`TrainError::ParameterDiverged`] when a parameter is not finite: the
    /// loss of each step is checked before its update, so this catches the last update.
    fn check_parameters(&self, mlp: &Mlp<f32>) -> Result<(), TrainError> {
        for (name, id) in mlp.named_parameters() {
            let values = mlp.graph().value(*id).as_slice();
            if let Some(&value) = values.iter().find(|v| !v.is_finite()) {
                return Err(TrainError::ParameterDiverged {
                    step: self.step,
                    epoch: self.epoch,
                    parameter: name.clone(),
                    value,
                    cause: DivergenceCause::of(&self.config, mlp.config().weight_decay, false),
                });
            }
        }
        Ok(())
    }
}

/// Whether `Σ_k ‖W_k‖²` is a finite `f32`: when it is and `s = λ/2 Σ_k ‖W_k‖²` is not, `λ`
/// made the penalty overflow, not the weights.
fn weights_square_sum_is_finite(mlp: &Mlp<f32>) -> bool {
    let sum: f64 = mlp
        .nodes()
        .weights
        .iter()
        .flat_map(|&id| mlp.graph().value(id).as_slice())
        .map(|&w| f64::from(w) * f64::from(w))
        .sum();
    (sum as f32).is_finite()
}

/// The training set is not empty and its samples have as many features as the model has
/// inputs.
fn check_features(mlp: &Mlp<f32>, train: &Dataset) -> Result<(), TrainError> {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(optimizer: OptimizerKind) -> TrainConfig {
        TrainConfig {
            epochs: 1,
            max_steps: None,
            batch_size: 8,
            shuffle: true,
            seed: 0,
            learning_rate: 0.1,
            optimizer,
        }
    }

    #[test]
    fn divergence_blames_the_weight_decay_beyond_the_update_rules_stable_limit() {
        // SGD: W ← (1 − lr·λ) W grows once lr·λ > 2.
        let sgd = config(OptimizerKind::Sgd);
        assert_eq!(
            DivergenceCause::of(&sgd, 30.0, false),
            DivergenceCause::DecayStep {
                weight_decay: 30.0,
                learning_rate: 0.1,
                limit: 2.0
            }
        );
        assert_eq!(
            DivergenceCause::of(&sgd, 10.0, false),
            DivergenceCause::LearningRate(0.1)
        );
        // Momentum μ = 0.9 stays stable up to lr·λ = 2 (1 + μ) = 3.8.
        let momentum = config(OptimizerKind::MOMENTUM);
        assert_eq!(
            DivergenceCause::of(&momentum, 30.0, false),
            DivergenceCause::LearningRate(0.1)
        );
        assert!(matches!(
            DivergenceCause::of(&momentum, 40.0, false),
            DivergenceCause::DecayStep { limit, .. } if (limit - 3.8).abs() < 1e-12
        ));
        // Adam's steps do not grow with λ: only an overflowing penalty blames it.
        let adam = config(OptimizerKind::ADAM);
        assert_eq!(
            DivergenceCause::of(&adam, 1e9, false),
            DivergenceCause::LearningRate(0.1)
        );
        assert_eq!(
            DivergenceCause::of(&adam, 1e300, true),
            DivergenceCause::PenaltyOverflow(1e300)
        );
    }
}
