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
//!   state, the epoch records so far, the caller's description of the run (`run`) and the
//!   [`DataFingerprint`] of the training set;
//! - the metadata entry `checkpoint_checksum`: the MD5 of everything else in the file (every
//!   tensor's name, type, shape and bytes, and every other metadata entry; see
//!   [`content_checksum`]).
//!
//! Reading a checkpoint trusts nothing: the checksum must match (a flipped byte anywhere in
//! a tensor or a metadata value is reported as damage), the file must be a regular file of
//! at most [`MAX_CHECKPOINT_FILE_BYTES`], and every field is range-checked against the
//! others: the configuration must be one [`Trainer::new`] accepts, the sample order a
//! permutation of the training set's samples, the position inside the epoch, the step the
//! one that epoch and position imply, the optimiser's update count equal to the step, the
//! generator's state not all zero.
//!
//! Checkpoints are written atomically ([`crate::atomic_file`]): a process killed at any
//! instant leaves the previous checkpoint or the new one, complete.

use crate::atomic_file::write_bytes_atomically;
use crate::data::regular_file::{read_regular, RegularFileError};
use crate::data::DataFingerprint;
use crate::model_file::{
    echoed, f32_bytes, model_metadata, model_tensors, parse_model, safetensors_bytes, shortened,
    NamedBuffer, ParseError,
};
use crate::nn::Mlp;
use crate::optim::OptimizerKind;
use crate::tensor::Tensor;
use crate::train::{EpochRecord, EpochTotals, TrainConfig, Trainer, TrainerState};
use md5::{Digest, Md5};
use safetensors::tensor::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The metadata key that holds a checkpoint's training state (absent from plain model files).
pub const CHECKPOINT_KEY: &str = "checkpoint";

/// The metadata key that holds a checkpoint's checksum ([`content_checksum`]).
pub const CHECKSUM_KEY: &str = "checkpoint_checksum";

/// The version of the `checkpoint` metadata this crate writes and reads (2: with a checksum
/// and the fingerprint of the training data).
pub const CHECKPOINT_VERSION: u32 = 2;

/// The largest checkpoint file read: 4 GiB, room for the weights of the largest model file
/// ([`crate::model_file::MAX_MODEL_FILE_BYTES`]), Adam's two moments and the sample order.
pub const MAX_CHECKPOINT_FILE_BYTES: u64 = 4 << 30;

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
    /// The path is not a regular file (a FIFO, a device, a folder), or is too large.
    #[error(transparent)]
    NotReadable(RegularFileError),
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
    /// The fingerprint of the training set the run was trained on.
    pub data: DataFingerprint,
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
    /// The fingerprint of the training set ([`crate::data::Dataset::fingerprint`]).
    pub data: &'a DataFingerprint,
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
        data: extras.data.clone(),
    };
    let mut metadata = model_metadata(mlp, extras.model_metadata);
    metadata.insert(
        CHECKPOINT_KEY.into(),
        serde_json::to_string(&saved).map_err(|e| e.to_string())?,
    );
    let checksum = checksum(
        tensors.iter().map(|buffer| {
            (
                buffer.name.as_str(),
                buffer.dtype,
                buffer.shape.as_slice(),
                buffer.bytes.as_slice(),
            )
        }),
        &metadata,
    );
    metadata.insert(CHECKSUM_KEY.into(), checksum);
    safetensors_bytes(&tensors, metadata)
}

/// The checksum of a checkpoint's content: MD5, in lowercase hex, over every tensor (in
/// name order: its name, data type, shape and bytes) and every metadata entry but
/// [`CHECKSUM_KEY`] (in key order), each part preceded by its length. It detects damage
/// (a flipped bit, a truncated write); it is not meant to resist forgery.
pub fn content_checksum(bytes: &[u8]) -> Result<String, String> {
    let (tensors, metadata) = read_safetensors(bytes)?;
    Ok(safetensors_checksum(&tensors, &metadata))
}

/// The tensors and the metadata of a safetensors file.
fn read_safetensors(bytes: &[u8]) -> Result<(SafeTensors<'_>, HashMap<String, String>), String> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| format!("not a safetensors file ({e})"))?;
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|e| format!("not a safetensors file ({e})"))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    Ok((tensors, metadata))
}

fn safetensors_checksum(tensors: &SafeTensors<'_>, metadata: &HashMap<String, String>) -> String {
    let views = tensors.tensors();
    checksum(
        views
            .iter()
            .map(|(name, view)| (name.as_str(), view.dtype(), view.shape(), view.data())),
        metadata,
    )
}

fn checksum<'a>(
    tensors: impl Iterator<Item = (&'a str, Dtype, &'a [usize], &'a [u8])>,
    metadata: &HashMap<String, String>,
) -> String {
    let mut digest = Md5::new();
    let mut part = |bytes: &[u8]| {
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    };
    let mut tensors: Vec<_> = tensors.collect();
    tensors.sort_by(|a, b| a.0.cmp(b.0));
    for (name, dtype, shape, data) in tensors {
        part(name.as_bytes());
        part(format!("{dtype:?}").as_bytes());
        let shape: Vec<u8> = shape
            .iter()
            .flat_map(|&size| (size as u64).to_le_bytes())
            .collect();
        part(&shape);
        part(data);
    }
    let mut entries: Vec<_> = metadata
        .iter()
        .filter(|(key, _)| key.as_str() != CHECKSUM_KEY)
        .collect();
    entries.sort();
    for (key, value) in entries {
        part(key.as_bytes());
        part(value.as_bytes());
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads a checkpoint written by [`save_checkpoint`]: only a regular file of at most
/// [`MAX_CHECKPOINT_FILE_BYTES`], checked as [`parse_checkpoint`] says.
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let bytes =
        read_regular(path, MAX_CHECKPOINT_FILE_BYTES, "a checkpoint").map_err(
            |error| match error {
                RegularFileError::Io { path, error } => CheckpointError::Io {
                    path,
                    source: error,
                },
                other => CheckpointError::NotReadable(other),
            },
        )?;
    parse_checkpoint(&bytes).map_err(|detail| CheckpointError::Invalid {
        path: path.to_path_buf(),
        detail,
    })
}

/// Parses the bytes of a checkpoint; never panics, whatever the bytes. The checksum is
/// checked before anything else is believed, then every field is range-checked (see the
/// module documentation).
pub fn parse_checkpoint(bytes: &[u8]) -> Result<Checkpoint, String> {
    let (tensors, metadata) = read_safetensors(bytes)?;
    if !metadata.contains_key(CHECKPOINT_KEY) {
        return Err(format!(
            "a model file but not a checkpoint (no '{CHECKPOINT_KEY}' metadata); \
             use --init to start a new run from its weights"
        ));
    }
    let stored = metadata.get(CHECKSUM_KEY).ok_or_else(|| {
        format!(
            "the checkpoint has no '{CHECKSUM_KEY}' (written by an older version of backprop, \
             or not by backprop); it cannot be checked, so it is not resumed"
        )
    })?;
    let computed = safetensors_checksum(&tensors, &metadata);
    if *stored != computed {
        return Err(format!(
            "the checkpoint is damaged: its content has checksum {computed}, but it was \
             written with {}",
            echoed(stored)
        ));
    }
    let loaded = parse_model(bytes).map_err(|error| match error {
        ParseError::NotSafetensors(detail) => format!("not a safetensors file ({detail})"),
        ParseError::Invalid(detail) => detail,
    })?;
    let text = &loaded.metadata[CHECKPOINT_KEY];
    let saved: SavedCheckpoint = serde_json::from_str(text).map_err(|e| {
        format!(
            "the '{CHECKPOINT_KEY}' metadata is damaged: {}",
            shortened(&e.to_string())
        )
    })?;
    if saved.version != CHECKPOINT_VERSION {
        return Err(format!(
            "checkpoint version {} is not supported (this program reads version {CHECKPOINT_VERSION})",
            saved.version
        ));
    }
    let config = saved.config.to_config()?;
    Trainer::new(config.clone())
        .map_err(|e| format!("the checkpoint's configuration is invalid: {e}"))?;
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
                let second_moment =
                    matches!(config.optimizer, OptimizerKind::Adam { .. }) && i == 1;
                if second_moment && values.iter().any(|&v| v < 0.0) {
                    return Err(format!(
                        "tensor {tensor_name} (Adam's second moment, a running mean of squared \
                         gradients) holds a negative value"
                    ));
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
    check_counters(trainer, &order, &config, &saved.data, moments)?;
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
        data: saved.data,
    })
}

/// Checks the trainer's saved counters against each other, the sample order, the
/// configuration and the size of the training set.
fn check_counters(
    trainer: &SavedState,
    order: &[usize],
    config: &TrainConfig,
    data: &DataFingerprint,
    moments: usize,
) -> Result<(), String> {
    let samples = data.samples;
    if samples == 0 {
        return Err("the checkpoint's training set has 0 samples; expected at least 1".into());
    }
    if trainer.rng == [0; 4] {
        return Err(
            "the shuffling generator's saved state is all zeros, which the generator never \
             reaches (the checkpoint is damaged)"
                .into(),
        );
    }
    if trainer.epoch_in_progress {
        if trainer.epoch == 0 {
            return Err("the checkpoint is inside epoch 0; epochs count from 1".into());
        }
        if order.len() != samples {
            return Err(format!(
                "the saved sample order has {} entries, but the training set has {samples} samples",
                order.len()
            ));
        }
        let mut seen = vec![false; samples];
        for &index in order {
            match seen.get_mut(index) {
                Some(slot) if !*slot => *slot = true,
                Some(_) => {
                    return Err(format!(
                        "the saved sample order visits sample {index} twice; expected a \
                         permutation of 0..{samples}"
                    ))
                }
                None => {
                    return Err(format!(
                        "the saved sample order holds {index}, past the {samples} samples; \
                         expected a permutation of 0..{samples}"
                    ))
                }
            }
        }
        if trainer.position > samples {
            return Err(format!(
                "the saved position {} is past the epoch's {samples} samples",
                trainer.position
            ));
        }
    } else if !order.is_empty() {
        return Err("the checkpoint holds a sample order but no epoch in progress".into());
    }
    // Each epoch takes ceil(samples / batch) steps, the last batch being smaller.
    let batch = config.batch_size.min(samples) as u128;
    let per_epoch = (samples as u128).div_ceil(batch);
    let (finished, in_epoch) = if trainer.epoch_in_progress {
        (
            trainer.epoch as u128 - 1,
            (trainer.position as u128).div_ceil(batch),
        )
    } else {
        (trainer.epoch as u128, 0)
    };
    let expected = finished * per_epoch + in_epoch;
    if u128::from(trainer.step) != expected {
        return Err(format!(
            "the saved step {} does not fit the saved epoch {} and position {} (epochs of \
             {samples} samples in batches of {batch} give step {expected})",
            trainer.step, trainer.epoch, trainer.position
        ));
    }
    if trainer.optimizer_steps != trainer.step {
        return Err(format!(
            "the optimiser's saved update count {} differs from the saved step {}",
            trainer.optimizer_steps, trainer.step
        ));
    }
    if moments > 0 && trainer.step > 0 && !trainer.optimizer_tensors {
        return Err(format!(
            "the checkpoint is at step {} but holds no {} optimiser state",
            trainer.step,
            config.optimizer.name()
        ));
    }
    if trainer.correct > trainer.seen || trainer.seen > samples {
        return Err(format!(
            "the saved epoch totals are impossible: {} correct of {} seen, with {samples} samples",
            trainer.correct, trainer.seen
        ));
    }
    for (name, sum) in [
        ("loss", trainer.loss_sum),
        ("objective", trainer.objective_sum),
    ] {
        if !(sum.is_finite() && sum >= 0.0) {
            return Err(format!(
                "the saved {name} sum {sum} is not a finite number at least 0"
            ));
        }
    }
    Ok(())
}

/// The `checkpoint` metadata entry.
#[derive(Serialize, Deserialize)]
struct SavedCheckpoint {
    version: u32,
    config: SavedConfig,
    trainer: SavedState,
    records: Vec<EpochRecord>,
    run: serde_json::Value,
    data: DataFingerprint,
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
            other => {
                return Err(format!(
                    "unknown optimiser {} in the checkpoint",
                    echoed(other)
                ))
            }
        };
        let in_unit_interval = |name: &str, value: f64| {
            if (0.0..1.0).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "the checkpoint's {name} {value} is out of range; expected [0, 1)"
                ))
            }
        };
        match optimizer {
            OptimizerKind::Sgd => {}
            OptimizerKind::Momentum { momentum } => in_unit_interval("momentum", momentum)?,
            OptimizerKind::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                in_unit_interval("beta1", beta1)?;
                in_unit_interval("beta2", beta2)?;
                if !(epsilon.is_finite() && epsilon > 0.0) {
                    return Err(format!(
                        "the checkpoint's epsilon {epsilon} is not a finite number above 0"
                    ));
                }
            }
        }
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

    /// The bytes of a checkpoint of a small model after 3 steps of Adam on xor data.
    fn small_checkpoint() -> Vec<u8> {
        use crate::data::{xor, XorConfig};
        use crate::train::{NoObserver, TrainData};
        let data = xor(&XorConfig::default()).unwrap().train;
        let mut mlp = Mlp::new(
            crate::nn::MlpConfig {
                inputs: 2,
                hidden: vec![3],
                outputs: 2,
                activation: crate::nn::Activation::Tanh,
                loss: crate::nn::Loss::CrossEntropy,
                bias: true,
                weight_decay: 0.0,
            },
            1,
        )
        .unwrap();
        let mut trainer = Trainer::new(TrainConfig {
            epochs: 1,
            max_steps: Some(3),
            batch_size: 50,
            shuffle: true,
            seed: 4,
            learning_rate: 0.01,
            optimizer: OptimizerKind::ADAM,
        })
        .unwrap();
        let train = TrainData {
            train: &data,
            validation: None,
            test: None,
        };
        trainer.run(&mut mlp, train, &mut NoObserver).unwrap();
        checkpoint_bytes(
            &mlp,
            &trainer,
            CheckpointExtras {
                records: &[],
                run: &serde_json::Value::Null,
                model_metadata: &BTreeMap::new(),
                data: &data.fingerprint(),
            },
        )
        .unwrap()
    }

    #[test]
    fn any_flipped_bit_of_the_tensor_data_is_reported_as_damage() {
        let bytes = small_checkpoint();
        let checkpoint = parse_checkpoint(&bytes).unwrap();
        assert_eq!(checkpoint.state.step, 3);
        assert_eq!(
            content_checksum(&bytes).unwrap(),
            checkpoint.metadata[CHECKSUM_KEY]
        );
        let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        for position in (header..bytes.len()).step_by(97) {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x10;
            let error = parse_checkpoint(&damaged).unwrap_err();
            assert!(error.starts_with("the checkpoint is damaged"), "{error}");
        }
    }

    #[test]
    fn a_checkpoint_without_its_checksum_is_refused() {
        let bytes = small_checkpoint();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let tensors = SafeTensors::deserialize(&bytes).unwrap();
        let mut metadata = header.metadata().clone().unwrap();
        metadata.remove(CHECKSUM_KEY);
        let unsealed = safetensors::serialize(tensors.tensors(), Some(metadata)).unwrap();
        let error = parse_checkpoint(&unsealed).unwrap_err();
        assert!(error.contains("has no 'checkpoint_checksum'"), "{error}");
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
