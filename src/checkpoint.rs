//! Checkpoints: a model file that also holds everything needed to continue training exactly.
//!
//! A checkpoint is a safetensors model file (the tensors `W1 .. Wk`, `b1 .. bk` and the
//! metadata of [`crate::model_file`], so `eval`, `predict` and `--init` read it as a model)
//! with, in addition:
//!
//! - one tensor `optimizer.<parameter>.<i>` (F32, the parameter's `rows x cols`) per
//!   optimiser moment: none for SGD, the velocity for momentum, `m` and `v` for Adam;
//! - `trainer.order` (U64): the sample order of the epoch in progress;
//! - the metadata entry `checkpoint`: JSON with the training configuration, the trainer's
//!   counters (epoch, step, position in the epoch, running sums), the shuffling generator's
//!   state, the epoch records so far, and the caller's description of the run (`run`).
//!
//! Checkpoints are written atomically ([`crate::atomic_file`]): a process killed at any
//! instant leaves the previous checkpoint or the new one, complete.

use crate::atomic_file::write_bytes_atomically;
use crate::model_file::{
    f32_bytes, model_metadata, model_tensors, parse_model, safetensors_bytes, NamedBuffer,
    ParseError,
};
use crate::nn::Mlp;
use crate::optim::OptimizerKind;
use crate::tensor::Tensor;
use crate::train::{EpochRecord, EpochTotals, TrainConfig, Trainer, TrainerState};
use safetensors::tensor::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The metadata key that holds a checkpoint's training state (absent from plain model files).
pub const CHECKPOINT_KEY: &str = "checkpoint";

/// The version of the `checkpoint` metadata this crate writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not a checkpoint of this crate, or a damaged one.
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what was expected.
        detail: String,
    },
}

/// A checkpoint read back: the model, the training configuration and the trainer's state.
#[derive(Debug)]
pub struct Checkpoint {
    /// The model's parameters at the checkpoint.
    pub mlp: Mlp<f32>,
    /// Every metadata entry of the file (the model's, and `checkpoint`).
    pub metadata: HashMap<String, String>,
    /// The configuration of the run that wrote it.
    pub config: TrainConfig,
    /// The trainer's state, for [`Trainer::resume`].
    pub state: TrainerState,
    /// The epoch records made before the checkpoint.
    pub records: Vec<EpochRecord>,
    /// The caller's description of the run (the command line stores its data flags here).
    pub run: serde_json::Value,
}

/// What a checkpoint adds to the model and the trainer: the records so far, the caller's
/// description of the run, and extra model metadata (as for [`crate::model_file::save_model`]).
#[derive(Clone, Copy, Debug)]
pub struct CheckpointExtras<'a> {
    /// The epoch records so far.
    pub records: &'a [EpochRecord],
    /// The caller's description of the run, returned as [`Checkpoint::run`].
    pub run: &'a serde_json::Value,
    /// More model metadata (the image shape, say).
    pub model_metadata: &'a BTreeMap<String, String>,
}

/// The checkpoint written beside the model file `out`: `model.safetensors` gives
/// `model.checkpoint.safetensors`.
pub fn default_checkpoint_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    out.with_file_name(format!("{stem}.checkpoint.safetensors"))
}

/// Writes a checkpoint of `mlp` and `trainer` to `path`, atomically.
pub fn save_checkpoint(
    path: &Path,
    mlp: &Mlp<f32>,
    trainer: &Trainer,
    extras: CheckpointExtras<'_>,
) -> Result<(), CheckpointError> {
    let bytes =
        checkpoint_bytes(mlp, trainer, extras).map_err(|detail| CheckpointError::Invalid {
            path: path.to_path_buf(),
            detail,
        })?;
    write_bytes_atomically(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The bytes of a checkpoint (see [`save_checkpoint`]).
pub fn checkpoint_bytes(
    mlp: &Mlp<f32>,
    trainer: &Trainer,
    extras: CheckpointExtras<'_>,
) -> Result<Vec<u8>, String> {
    let state = trainer.state();
    let mut tensors = model_tensors(mlp);
    for ((name, _), moments) in mlp.named_parameters().iter().zip(&state.optimizer_state) {
        for (i, moment) in moments.iter().enumerate() {
            tensors.push(NamedBuffer {
                name: format!("optimizer.{name}.{i}"),
                shape: vec![moment.rows(), moment.cols()],
                dtype: Dtype::F32,
                bytes: f32_bytes(moment.as_slice()),
            });
        }
    }
    if !state.order.is_empty() {
        tensors.push(NamedBuffer {
            name: "trainer.order".into(),
            shape: vec![state.order.len()],
            dtype: Dtype::U64,
            bytes: state
                .order
                .iter()
                .flat_map(|&i| (i as u64).to_le_bytes())
                .collect(),
        });
    }
    let saved = SavedCheckpoint {
        version: CHECKPOINT_VERSION,
        config: SavedConfig::from(trainer.config()),
        trainer: SavedState {
            epoch: state.epoch,
            step: state.step,
            epoch_in_progress: state.epoch_in_progress,
            position: state.position,
            rng: state.rng,
            optimizer_steps: state.optimizer_steps,
            optimizer_tensors: !state.optimizer_state.is_empty(),
            loss_sum: state.totals.loss_sum,
            objective_sum: state.totals.objective_sum,
            correct: state.totals.correct,
            seen: state.totals.seen,
            training_nanos: state.totals.training_time.as_nanos().min(u64::MAX as u128) as u64,
        },
        records: extras.records.to_vec(),
        run: extras.run.clone(),
    };
    let mut metadata = model_metadata(mlp, extras.model_metadata);
    metadata.insert(
        CHECKPOINT_KEY.into(),
        serde_json::to_string(&saved).map_err(|e| e.to_string())?,
    );
    safetensors_bytes(&tensors, metadata)
}

/// Reads a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_checkpoint(&bytes).map_err(|detail| CheckpointError::Invalid {
        path: path.to_path_buf(),
        detail,
    })
}

/// Parses the bytes of a checkpoint; never panics, whatever the bytes.
pub fn parse_checkpoint(bytes: &[u8]) -> Result<Checkpoint, String> {
    let loaded = parse_model(bytes).map_err(|error| match error {
        ParseError::NotSafetensors(detail) => format!("not a safetensors file ({detail})"),
        ParseError::Invalid(detail) => detail,
    })?;
    let text = loaded.metadata.get(CHECKPOINT_KEY).ok_or_else(|| {
        format!(
            "a model file but not a checkpoint (no '{CHECKPOINT_KEY}' metadata); \
             use --init to start a new run from its weights"
        )
    })?;
    let saved: SavedCheckpoint = serde_json::from_str(text)
        .map_err(|e| format!("the '{CHECKPOINT_KEY}' metadata is damaged: {e}"))?;
    if saved.version != CHECKPOINT_VERSION {
        return Err(format!(
            "checkpoint version {} is not supported (this program reads version {CHECKPOINT_VERSION})",
            saved.version
        ));
    }
    let config = saved.config.to_config()?;
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let mlp = loaded.mlp;

    let moments = match config.optimizer {
        OptimizerKind::Sgd => 0,
        OptimizerKind::Momentum { .. } => 1,
        OptimizerKind::Adam { .. } => 2,
    };
    let mut optimizer_state = Vec::new();
    if saved.trainer.optimizer_tensors {
        for (name, id) in mlp.named_parameters() {
            let value = mlp.graph().value(*id);
            let shape = [value.rows(), value.cols()];
            let mut tensors_of_parameter = Vec::with_capacity(moments);
            for i in 0..moments {
                let tensor_name = format!("optimizer.{name}.{i}");
                let view = tensors
                    .tensor(&tensor_name)
                    .map_err(|_| format!("tensor {tensor_name} is missing"))?;
                if view.dtype() != Dtype::F32 || view.shape() != shape {
                    return Err(format!(
                        "tensor {tensor_name} is {:?} {:?}, expected F32 {:?}",
                        view.dtype(),
                        view.shape(),
                        shape
                    ));
                }
                let values: Vec<f32> = view
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(format!("tensor {tensor_name} holds a non-finite value"));
                }
                tensors_of_parameter.push(
                    Tensor::from_vec(shape[0], shape[1], values)
                        .ok_or_else(|| format!("tensor {tensor_name} has the wrong size"))?,
                );
            }
            optimizer_state.push(tensors_of_parameter);
        }
    }

    let order = match tensors.tensor("trainer.order") {
        Ok(view) => {
            if view.dtype() != Dtype::U64 || view.shape().len() != 1 {
                return Err(format!(
                    "tensor trainer.order is {:?} {:?}, expected U64 [samples]",
                    view.dtype(),
                    view.shape()
                ));
            }
            view.data()
                .chunks_exact(8)
                .map(|c| {
                    let index = u64::from_le_bytes(c.try_into().expect("chunks of 8 bytes"));
                    usize::try_from(index)
                        .map_err(|_| format!("trainer.order holds the impossible index {index}"))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        Err(_) if !saved.trainer.epoch_in_progress => Vec::new(),
        Err(_) => return Err("tensor trainer.order is missing".into()),
    };
    let trainer = &saved.trainer;
    if trainer.epoch_in_progress && trainer.position > order.len() {
        return Err(format!(
            "the saved position {} is past the epoch's {} samples",
            trainer.position,
            order.len()
        ));
    }
    let state = TrainerState {
        epoch: trainer.epoch,
        step: trainer.step,
        epoch_in_progress: trainer.epoch_in_progress,
        order,
        position: trainer.position,
        rng: trainer.rng,
        optimizer_steps: trainer.optimizer_steps,
        optimizer_state,
        totals: EpochTotals {
            loss_sum: trainer.loss_sum,
            objective_sum: trainer.objective_sum,
            correct: trainer.correct,
            seen: trainer.seen,
            training_time: Duration::from_nanos(trainer.training_nanos),
        },
    };
    Ok(Checkpoint {
        mlp,
        metadata: loaded.metadata,
        config,
        state,
        records: saved.records,
        run: saved.run,
    })
}

/// The `checkpoint` metadata entry.
#[derive(Serialize, Deserialize)]
struct SavedCheckpoint {
    version: u32,
    config: SavedConfig,
    trainer: SavedState,
    records: Vec<EpochRecord>,
    run: serde_json::Value,
}

/// [`TrainConfig`] as JSON.
#[derive(Serialize, Deserialize)]
struct SavedConfig {
    epochs: usize,
    max_steps: Option<u64>,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    learning_rate: f64,
    optimizer: String,
    momentum: Option<f64>,
    beta1: Option<f64>,
    beta2: Option<f64>,
    epsilon: Option<f64>,
}

impl From<&TrainConfig> for SavedConfig {
    fn from(config: &TrainConfig) -> Self {
        let (momentum, beta1, beta2, epsilon) = match config.optimizer {
            OptimizerKind::Sgd => (None, None, None, None),
            OptimizerKind::Momentum { momentum } => (Some(momentum), None, None, None),
            OptimizerKind::Adam {
                beta1,
                beta2,
                epsilon,
            } => (None, Some(beta1), Some(beta2), Some(epsilon)),
        };
        SavedConfig {
            epochs: config.epochs,
            max_steps: config.max_steps,
            batch_size: config.batch_size,
            shuffle: config.shuffle,
            seed: config.seed,
            learning_rate: config.learning_rate,
            optimizer: config.optimizer.name().into(),
            momentum,
            beta1,
            beta2,
            epsilon,
        }
    }
}

impl SavedConfig {
    fn to_config(&self) -> Result<TrainConfig, String> {
        let missing = |what: &str| {
            format!(
                "the checkpoint's {} optimiser has no {what}",
                self.optimizer
            )
        };
        let optimizer = match self.optimizer.as_str() {
            "sgd" => OptimizerKind::Sgd,
            "momentum" => OptimizerKind::Momentum {
                momentum: self.momentum.ok_or_else(|| missing("momentum"))?,
            },
            "adam" => OptimizerKind::Adam {
                beta1: self.beta1.ok_or_else(|| missing("beta1"))?,
                beta2: self.beta2.ok_or_else(|| missing("beta2"))?,
                epsilon: self.epsilon.ok_or_else(|| missing("epsilon"))?,
            },
            other => return Err(format!("unknown optimiser '{other}' in the checkpoint")),
        };
        Ok(TrainConfig {
            epochs: self.epochs,
            max_steps: self.max_steps,
            batch_size: self.batch_size,
            shuffle: self.shuffle,
            seed: self.seed,
            learning_rate: self.learning_rate,
            optimizer,
        })
    }
}

/// [`TrainerState`] without its tensors, as JSON.
#[derive(Serialize, Deserialize)]
struct SavedState {
    epoch: usize,
    step: u64,
    epoch_in_progress: bool,
    position: usize,
    rng: [u64; 4],
    optimizer_steps: u64,
    optimizer_tensors: bool,
    loss_sum: f64,
    objective_sum: f64,
    correct: usize,
    seen: usize,
    training_nanos: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_checkpoint_sits_beside_the_model() {
        assert_eq!(
            default_checkpoint_path(Path::new("runs/model.safetensors")),
            Path::new("runs/model.checkpoint.safetensors")
        );
        assert_eq!(
            default_checkpoint_path(Path::new("net")),
            Path::new("net.checkpoint.safetensors")
        );
    }

    #[test]
    fn a_plain_model_file_is_not_a_checkpoint() {
        let mlp = Mlp::new(
            crate::nn::MlpConfig {
                inputs: 2,
                hidden: vec![3],
                outputs: 2,
                activation: crate::nn::Activation::Relu,
                loss: crate::nn::Loss::CrossEntropy,
                bias: true,
                weight_decay: 0.0,
            },
            0,
        )
        .unwrap();
        let bytes = crate::model_file::model_bytes(&mlp, &BTreeMap::new()).unwrap();
        let error = parse_checkpoint(&bytes).unwrap_err();
        assert!(error.contains("not a checkpoint"), "{error}");
    }
}
