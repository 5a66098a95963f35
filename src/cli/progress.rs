//! What `backprop train` shows while it runs: a progress bar on a terminal, plain lines
//! otherwise; and the metrics file, written after every epoch.

use backprop::train::metrics::{format_epoch_line, MetricsLog};
use backprop::train::{EpochRecord, StepProgress, TrainingObserver};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Reports training to the user and to the metrics file.
pub struct TrainingReporter {
    bar: Option<ProgressBar>,
    bar_epoch: usize,
    total_epochs: usize,
    metrics: Option<MetricsLog>,
    /// Every epoch's record, for the plot.
    pub records: Vec<EpochRecord>,
}

impl TrainingReporter {
    /// A reporter; the progress bar shows only when stderr is a terminal and not `quiet`.
    pub fn new(total_epochs: usize, quiet: bool, metrics: Option<MetricsLog>) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix} [{bar:30}] {pos}/{len} samples  loss {msg}  {per_sec}  ETA {eta}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar
        });
        TrainingReporter {
            bar,
            bar_epoch: 0,
            total_epochs,
            metrics,
            records: Vec::new(),
        }
    }

    /// Prints a line above the bar (or plainly).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl TrainingObserver for TrainingReporter {
    fn on_step(&mut self, progress: &StepProgress) {
        let Some(bar) = &self.bar else { return };
        if progress.epoch != self.bar_epoch {
            self.bar_epoch = progress.epoch;
            bar.reset();
            bar.set_length(progress.epoch_samples as u64);
            bar.set_prefix(format!("{}/{}", progress.epoch, self.total_epochs));
        }
        bar.set_position(progress.samples_in_epoch as u64);
        bar.set_message(format!("{:.4}", progress.running_loss));
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> anyhow::Result<()> {
        self.println(&format_epoch_line(record, self.total_epochs));
        if let Some(metrics) = &mut self.metrics {
            metrics.push(record.clone())?;
        }
        self.records.push(record.clone());
        Ok(())
    }
}
