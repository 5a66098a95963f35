//! The observer that writes checkpoints during `backprop train`, in front of the observer that
//! reports progress.

use anyhow::Result;
use backprop::checkpoint::{save_checkpoint, CheckpointExtras};
use backprop::data::{DataFingerprint, Dataset};
use backprop::nn::Mlp;
use backprop::train::{EpochRecord, StepProgress, Trainer, TrainingObserver};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Writes a checkpoint whenever the trainer asks for one (and on demand), and passes every
/// event on to `inner`.
pub struct CheckpointWriter<'a> {
    inner: &'a mut dyn TrainingObserver,
    path: PathBuf,
    run: serde_json::Value,
    model_metadata: BTreeMap<String, String>,
    records: Vec<EpochRecord>,
    data: &'a Dataset,
    /// `data`'s fingerprint, computed by the first checkpoint: reading every byte of a large
    /// training set takes a tenth of a second, which a run that writes no checkpoint never
    /// needs to spend.
    fingerprint: Option<DataFingerprint>,
    last_written_step: Option<u64>,
}

impl<'a> CheckpointWriter<'a> {
    /// A writer of checkpoints to `path`; `records` are the epochs of the run so far (those
    /// of the checkpoint a run resumes from), `run` the command line's description of the run,
    /// `data` the training set, whose fingerprint each checkpoint records.
    pub fn new(
        inner: &'a mut dyn TrainingObserver,
        path: PathBuf,
        run: serde_json::Value,
        model_metadata: BTreeMap<String, String>,
        records: Vec<EpochRecord>,
        data: &'a Dataset,
    ) -> Self {
        CheckpointWriter {
            inner,
            path,
            run,
            model_metadata,
            records,
            data,
            fingerprint: None,
            last_written_step: None,
        }
    }

    /// Writes a checkpoint of `mlp` and `trainer` now.
    pub fn write(&mut self, trainer: &Trainer, mlp: &Mlp<f32>) -> Result<()> {
        let data = self.data;
        let fingerprint = self.fingerprint.get_or_insert_with(|| data.fingerprint());
        save_checkpoint(
            &self.path,
            mlp,
            trainer,
            CheckpointExtras {
                records: &self.records,
                run: &self.run,
                model_metadata: &self.model_metadata,
                data: fingerprint,
            },
        )?;
        self.last_written_step = Some(trainer.steps());
        Ok(())
    }

    /// The file checkpoints go to.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    /// The step of the last checkpoint this writer wrote, if any.
    pub fn last_written_step(&self) -> Option<u64> {
        self.last_written_step
    }
}

impl TrainingObserver for CheckpointWriter<'_> {
    fn after_backward(&mut self, mlp: &Mlp<f32>) {
        self.inner.after_backward(mlp);
    }

    fn on_step(&mut self, progress: &StepProgress) {
        self.inner.on_step(progress);
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> Result<()> {
        self.records.push(record.clone());
        self.inner.on_epoch(record)
    }

    fn on_checkpoint(&mut self, trainer: &Trainer, mlp: &Mlp<f32>) -> Result<()> {
        self.inner.on_checkpoint(trainer, mlp)?;
        self.write(trainer, mlp)
    }
}
