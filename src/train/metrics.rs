//! Per-epoch training metrics: one [`EpochRecord`] per epoch, kept in a JSON Lines file.
//!
//! The file holds one JSON object per line, one line per epoch, in the order the epochs ran.
//! [`MetricsLog`] rewrites the whole file atomically each time an epoch is added, so a reader
//! (a plotting script, a second terminal, a crash) always sees a complete file.
//!
//! Losses and accuracies are plain numbers; an evaluation that was not run (no validation set,
//! test set not evaluated this epoch) is left out of the JSON object rather than written as
//! `null`. A value that is not finite (a diverged run has a NaN loss) is written as `null`,
//! because JSON has no NaN, and is read back as NaN.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

use crate::atomic_file::write_atomically;
use crate::format::{
    count, fit_line, loss, percent, rate, rounded_count, seconds, Field, FieldForm,
};

/// What was measured in one training epoch.
///
/// Losses are means over the examples of the set; accuracies are fractions in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch number, counted from 1: the record of the first epoch has `epoch == 1`.
    pub epoch: usize,
    /// The number of optimiser steps (minibatch updates) taken since training started,
    /// up to and including this epoch.
    pub step: usize,
    /// Mean training loss L over the epoch (cross-entropy, without regularisation).
    #[serde(deserialize_with = "number_or_null_as_nan")]
    pub train_loss: f64,
    /// Mean training objective J = L + s over the epoch, where s is the L2 penalty (D2L 4.7).
    #[serde(deserialize_with = "number_or_null_as_nan")]
    pub train_objective: f64,
    /// Fraction of training examples classified correctly during the epoch.
    #[serde(deserialize_with = "number_or_null_as_nan")]
    pub train_accuracy: f64,
    /// Mean loss L on the validation set, if one was evaluated.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_number_or_null_as_nan"
    )]
    pub val_loss: Option<f64>,
    /// Accuracy on the validation set, if one was evaluated.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_number_or_null_as_nan"
    )]
    pub val_accuracy: Option<f64>,
    /// Mean loss L on the test set, if it was evaluated.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_number_or_null_as_nan"
    )]
    pub test_loss: Option<f64>,
    /// Accuracy on the test set, if it was evaluated.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_number_or_null_as_nan"
    )]
    pub test_accuracy: Option<f64>,
    /// Wall-clock seconds spent training in this epoch, evaluation excluded.
    #[serde(deserialize_with = "number_or_null_as_nan")]
    pub epoch_seconds: f64,
    /// Training examples processed per second in this epoch (evaluation excluded).
    #[serde(deserialize_with = "number_or_null_as_nan")]
    pub samples_per_second: f64,
    /// Further named per-epoch values (gradient norms per layer, learning rate, ...),
    /// written as extra top-level fields of the JSON object.
    #[serde(flatten, deserialize_with = "extra_numbers_or_null_as_nan")]
    pub extra: BTreeMap<String, f64>,
}

/// Reads a JSON number, or `null` (how a non-finite value was written) as NaN.
fn number_or_null_as_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// Reads a field that is present: a number, or `null` (a non-finite value) as `Some(NaN)`.
/// An absent field never reaches this function; `#[serde(default)]` makes it `None`.
fn present_number_or_null_as_nan<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    number_or_null_as_nan(deserializer).map(Some)
}

/// Reads the extra fields: numbers, with `null` (a non-finite value) as NaN.
fn extra_numbers_or_null_as_nan<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, f64>, D::Error> {
    let values = BTreeMap::<String, Option<f64>>::deserialize(deserializer)?;
    Ok(values
        .into_iter()
        .map(|(name, value)| (name, value.unwrap_or(f64::NAN)))
        .collect())
}

/// Failure to write or read a metrics file.
#[derive(Debug, Error)]
pub enum MetricsError {
    /// The metrics file could not be written.
    #[error("cannot write the metrics file {}: {source}", path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The metrics file could not be read.
    #[error("cannot read the metrics file {}: {source}", path.display())]
    Read {
        /// The file being read.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// A line of the metrics file is not an epoch record.
    #[error(
        "line {line} of the metrics file {} is not an epoch record (expected one JSON object \
         per line with epoch, step, train_loss, train_objective, train_accuracy, epoch_seconds \
         and samples_per_second): {source}",
        path.display()
    )]
    Parse {
        /// The file being read.
        path: PathBuf,
        /// The line number, counted from 1.
        line: usize,
        /// What the JSON parser found wrong.
        source: serde_json::Error,
    },
}

/// The epoch records of one training run, mirrored to a JSON Lines file.
///
/// Every [`push`](MetricsLog::push) rewrites the whole file atomically, so the file on disk
/// always holds every record pushed so far and is never half-written.
#[derive(Debug, Clone)]
pub struct MetricsLog {
    path: PathBuf,
    records: Vec<EpochRecord>,
}

impl MetricsLog {
    /// A log to be written at `path`, holding `earlier` (a resumed run's epochs) first.
    /// Nothing is written until the first [`push`](MetricsLog::push), so a run that fails
    /// before its first epoch ends leaves a file already at `path` as it was.
    pub fn new(path: &Path, earlier: Vec<EpochRecord>) -> Self {
        Self {
            path: path.to_path_buf(),
            records: earlier,
        }
    }

    /// Adds the record of an epoch and rewrites the file with all records.
    ///
    /// If the write fails the record is still kept in memory, so the next successful push
    /// writes it too.
    pub fn push(&mut self, record: EpochRecord) -> Result<(), MetricsError> {
        self.records.push(record);
        self.write_file()
    }

    /// The records pushed so far, oldest first.
    pub fn records(&self) -> &[EpochRecord] {
        &self.records
    }

    /// The file the log is written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_file(&self) -> Result<(), MetricsError> {
        write_atomically(&self.path, |writer| {
            for record in &self.records {
                serde_json::to_writer(&mut *writer, record).map_err(io::Error::other)?;
                writer.write_all(b"\n")?;
            }
            Ok(())
        })
        .map_err(|source| MetricsError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// Reads every epoch record of a JSON Lines metrics file, in file order. Blank lines are skipped.
pub fn read_jsonl(path: &Path) -> Result<Vec<EpochRecord>, MetricsError> {
    let text = fs::read_to_string(path).map_err(|source| MetricsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|source| MetricsError::Parse {
                path: path.to_path_buf(),
                line: index + 1,
                source,
            })
        })
        .collect()
}

/// Formats a record as one line for the terminal, for example
/// `epoch 3/10  step 705  loss 0.2412  J 0.2450  acc 93.12%  val loss 0.2601 acc 92.40%  1.23 s  48,712 samples/s`.
///
/// `total_epochs` is the number of epochs the run will train for. Validation and test
/// results appear only when the record has them; the extra values are not shown.
pub fn format_epoch_line(record: &EpochRecord, total_epochs: usize) -> String {
    fit_epoch_line(record, total_epochs, None)
}

/// [`format_epoch_line`] in at most `width` columns (a terminal's): the fields worth least
/// go first (the throughput shortens to `48,712/s`, then the step, the evaluations' losses
/// (`val acc 92.40%`), the time, J, the throughput, then `val 92.40%` and finally the
/// evaluations themselves); epoch, loss and accuracy stay. Without a width, the full line.
pub fn fit_epoch_line(record: &EpochRecord, total_epochs: usize, width: Option<usize>) -> String {
    let mut fields = vec![
        Field::fixed(format!(
            "epoch {}/{}",
            count(record.epoch as u64),
            count(total_epochs as u64)
        )),
        Field::new(vec![
            FieldForm::new(format!("step {}", count(record.step as u64)), 20),
            FieldForm::new("", 0),
        ]),
        Field::fixed(format!("loss {}", loss(record.train_loss))),
        Field::new(vec![
            FieldForm::new(format!("J {}", loss(record.train_objective)), 35),
            FieldForm::new("", 0),
        ]),
        Field::fixed(format!("acc {}", percent(record.train_accuracy))),
    ];
    for (name, set_loss, accuracy, keep) in [
        ("val", record.val_loss, record.val_accuracy, 5),
        ("test", record.test_loss, record.test_accuracy, 0),
    ] {
        let mut forms = Vec::new();
        match (set_loss, accuracy) {
            (None, None) => continue,
            (Some(set_loss), Some(accuracy)) => forms.push(FieldForm::new(
                format!("{name} loss {} acc {}", loss(set_loss), percent(accuracy)),
                20 + keep,
            )),
            (Some(set_loss), None) => forms.push(FieldForm::new(
                format!("{name} loss {}", loss(set_loss)),
                50 + keep,
            )),
            (None, Some(_)) => {}
        }
        // The shorter forms of an accuracy, with or without a loss before them.
        if let Some(accuracy) = accuracy {
            forms.push(FieldForm::new(
                format!("{name} acc {}", percent(accuracy)),
                40 + keep,
            ));
            forms.push(FieldForm::new(
                format!("{name} {}", percent(accuracy)),
                50 + keep,
            ));
        }
        forms.push(FieldForm::new("", 0));
        fields.push(Field::new(forms));
    }
    fields.push(Field::new(vec![
        FieldForm::new(seconds(record.epoch_seconds), 30),
        FieldForm::new("", 0),
    ]));
    let throughput = rounded_count(record.samples_per_second);
    fields.push(Field::new(vec![
        FieldForm::new(rate(record.samples_per_second, "samples"), 10),
        FieldForm::new(format!("{throughput}/s"), 38),
        FieldForm::new("", 0),
    ]));
    fit_line(&fields, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize) -> EpochRecord {
        EpochRecord {
            epoch,
            step: epoch * 235,
            train_loss: 0.5 / epoch as f64,
            train_objective: 0.55 / epoch as f64,
            train_accuracy: 0.8 + 0.01 * epoch as f64,
            val_loss: None,
            val_accuracy: None,
            test_loss: None,
            test_accuracy: None,
            epoch_seconds: 1.25,
            samples_per_second: 48_000.0,
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn absent_evaluations_are_left_out_of_the_json() {
        let json = serde_json::to_string(&record(1)).unwrap();
        for absent in [
            "val_loss",
            "val_accuracy",
            "test_loss",
            "test_accuracy",
            "null",
        ] {
            assert!(!json.contains(absent), "{absent} in {json}");
        }
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 7);
    }

    #[test]
    fn a_record_with_every_field_survives_a_json_round_trip() {
        let mut full = record(3);
        full.val_loss = Some(0.31);
        full.val_accuracy = Some(0.905);
        full.test_loss = Some(0.33);
        full.test_accuracy = Some(0.9);
        full.extra.insert("grad_norm_W1".into(), 0.125);
        full.extra.insert("grad_norm_W2".into(), 2.5e-3);
        let json = serde_json::to_string(&full).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["grad_norm_W1"], 0.125, "extras are top-level fields");
        assert_eq!(value["val_accuracy"], 0.905);
        let back: EpochRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, full);
    }

    #[test]
    fn every_float_reads_back_bit_for_bit() {
        // Needs serde_json's `float_roundtrip` feature: its default parser can be off by one
        // unit in the last place, most visibly for values inside the flattened extras.
        let awkward = [
            0.1 + 0.2,
            1.0 / 3.0,
            0.42000000000000004,
            0.09999999999999999,
            5e-324,
        ];
        for value in awkward {
            let mut r = record(1);
            r.train_objective = value;
            r.val_loss = Some(value);
            r.extra.insert("grad_norm_W1".into(), value);
            let back: EpochRecord =
                serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(back.train_objective.to_bits(), value.to_bits());
            assert_eq!(back.val_loss.unwrap().to_bits(), value.to_bits());
            assert_eq!(back.extra["grad_norm_W1"].to_bits(), value.to_bits());
        }
    }

    #[test]
    fn non_finite_values_are_written_as_null_and_read_back_as_nan() {
        let mut diverged = record(2);
        diverged.train_loss = f64::NAN;
        diverged.val_loss = Some(f64::INFINITY);
        diverged.extra.insert("grad_norm_W1".into(), f64::NAN);
        let json = serde_json::to_string(&diverged).unwrap();
        assert!(json.contains("\"train_loss\":null"), "{json}");
        assert!(json.contains("\"val_loss\":null"), "{json}");
        let back: EpochRecord = serde_json::from_str(&json).unwrap();
        assert!(back.train_loss.is_nan());
        assert!(back.val_loss.unwrap().is_nan());
        assert_eq!(back.val_accuracy, None);
        assert!(back.extra["grad_norm_W1"].is_nan());
    }

    #[test]
    fn the_log_file_holds_every_pushed_record_after_each_push() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        fs::write(&path, "stale contents of an earlier run\n").unwrap();
        let mut log = MetricsLog::new(&path, Vec::new());
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "stale contents of an earlier run\n",
            "nothing is written before the first record"
        );

        log.push(record(1)).unwrap();
        assert_eq!(read_jsonl(&path).unwrap(), vec![record(1)]);
        let mut second = record(2);
        second.val_loss = Some(0.4);
        second.val_accuracy = Some(0.88);
        log.push(second.clone()).unwrap();
        assert_eq!(read_jsonl(&path).unwrap(), vec![record(1), second]);
        assert_eq!(log.records().len(), 2);

        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with('\n'));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["metrics.jsonl"], "no temporary file is left");
    }

    #[test]
    fn writing_a_log_in_a_missing_folder_fails_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no such folder").join("metrics.jsonl");
        let error = MetricsLog::new(&path, vec![record(1)])
            .push(record(2))
            .unwrap_err();
        assert!(matches!(error, MetricsError::Write { .. }));
        assert!(error.to_string().contains("no such folder"), "{error}");
    }

    #[test]
    fn reading_reports_the_line_that_is_not_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let good = serde_json::to_string(&record(1)).unwrap();
        fs::write(&path, format!("{good}\n\n{{\"epoch\": 2}}\n")).unwrap();
        let error = read_jsonl(&path).unwrap_err();
        assert!(
            matches!(error, MetricsError::Parse { line: 3, .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with("line 3 of the metrics file"),
            "{message}"
        );
        assert!(message.contains("missing field `step`"), "{message}");
    }

    #[test]
    fn reading_a_missing_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.jsonl");
        let error = read_jsonl(&path).unwrap_err();
        assert!(matches!(error, MetricsError::Read { .. }));
        assert!(error.to_string().contains("absent.jsonl"), "{error}");
    }

    #[test]
    fn the_terminal_line_shows_what_was_measured() {
        let mut full = record(3);
        full.step = 705;
        full.train_loss = 0.24123;
        full.train_objective = 0.245;
        full.train_accuracy = 0.93126;
        full.val_loss = Some(0.2601);
        full.val_accuracy = Some(0.924);
        full.epoch_seconds = 1.234;
        full.samples_per_second = 48_712.4;
        assert_eq!(
            format_epoch_line(&full, 10),
            "epoch 3/10  step 705  loss 0.2412  J 0.2450  acc 93.13%  \
             val loss 0.2601 acc 92.40%  1.23 s  48,712 samples/s"
        );
        full.test_loss = Some(0.3);
        full.test_accuracy = Some(0.9);
        full.samples_per_second = 1_234_567.0;
        assert!(format_epoch_line(&full, 10).ends_with(
            "val loss 0.2601 acc 92.40%  test loss 0.3000 acc 90.00%  1.23 s  1,234,567 samples/s"
        ));
        full.step = 32_532;
        assert!(format_epoch_line(&full, 10).starts_with("epoch 3/10  step 32,532  loss"));
    }

    #[test]
    fn the_terminal_line_fits_the_terminal_width() {
        let mut full = record(3);
        full.step = 32_532;
        full.val_loss = Some(0.2601);
        full.val_accuracy = Some(0.924);
        full.test_loss = Some(0.3);
        full.test_accuracy = Some(0.9);
        full.samples_per_second = 1_234_567.0;
        assert_eq!(
            fit_epoch_line(&full, 10, Some(80)),
            "epoch 3/10  loss 0.1667  J 0.1833  acc 83.00%  val acc 92.40%  test acc 90.00%"
        );
        assert_eq!(
            fit_epoch_line(&full, 10, Some(40)),
            "epoch 3/10  loss 0.1667  acc 83.00%"
        );
        for width in 0..200 {
            let line = fit_epoch_line(&full, 10, Some(width));
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
        assert_eq!(
            fit_epoch_line(&full, 10, None),
            format_epoch_line(&full, 10)
        );
    }
}
