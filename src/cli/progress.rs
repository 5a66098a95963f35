//! What `backprop train` shows while it runs: a progress bar on a terminal, plain lines
//! otherwise; and the metrics file, written after every epoch.

use backprop::format;
use backprop::train::metrics::{format_epoch_line, MetricsLog};
use backprop::train::{EpochRecord, StepProgress, TrainingObserver};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Reports training to the user and to the metrics file.
pub struct TrainingReporter {
    /// Whether to show a bar (stderr is a terminal and not `--quiet`).
    show_bar: bool,
    /// The bar, created at the first step so that nothing empty is drawn before.
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
        TrainingReporter {
            show_bar: !quiet && std::io::stderr().is_terminal(),
            bar: None,
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
        if !self.show_bar {
            return;
        }
        let first = self.bar.is_none();
        let bar = self.bar.get_or_insert_with(new_bar);
        if progress.epoch != self.bar_epoch {
            self.bar_epoch = progress.epoch;
            bar.reset();
            bar.set_length(progress.epoch_samples as u64);
            bar.set_prefix(format!(
                "{}/{}",
                format::count(progress.epoch as u64),
                format::count(self.total_epochs as u64)
            ));
        }
        bar.set_position(progress.samples_in_epoch as u64);
        let seconds = progress.epoch_elapsed.as_secs_f64();
        let rate = if seconds > 0.0 {
            progress.samples_in_epoch as f64 / seconds
        } else {
            0.0
        };
        bar.set_message(format!(
            "loss {:.4}  {}",
            progress.running_loss,
            format::rate(rate, "samples")
        ));
        if first {
            // Drawn only now that it is filled in, so no empty bar ever shows.
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
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

/// A bar for stderr (hidden until the first step fills it in): epoch, samples, running loss,
/// samples per second, time left; counts with thousands separators as [`format::count`]
/// writes them (indicatif's `human_pos` and `human_len` group digits the same way).
fn new_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {human_pos}/{human_len} samples  {msg}  ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar
}
