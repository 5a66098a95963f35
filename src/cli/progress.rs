//! What `backprop train` shows while it runs: a progress bar on a terminal, plain lines
//! otherwise; and the metrics file, written after every epoch. On a terminal the bar and
//! every line fit its width (`$COLUMNS` when set, else the terminal's own): fields are
//! shortened or left out by [`format::fit_line`], text is wrapped by [`format::wrap`].

use backprop::format::{self, Field, FieldForm};
use backprop::train::metrics::{fit_epoch_line, MetricsLog};
use backprop::train::{EpochRecord, StepProgress, TrainingObserver};
use console::Term;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Reports training to the user and to the metrics file.
pub struct TrainingReporter {
    /// Whether to show a bar (stderr is a terminal and not `--quiet`).
    show_bar: bool,
    /// The bar, created at the first step so that nothing empty is drawn before.
    bar: Option<ProgressBar>,
    /// What the bar shows, fitted to stderr's width.
    bar_layout: Option<BarLayout>,
    bar_epoch: usize,
    total_epochs: usize,
    /// The columns of stdout, where lines go before the bar and without one (None: not a
    /// terminal, lines are not fitted).
    stdout_width: Option<usize>,
    /// The columns of stderr, where lines go above the bar.
    stderr_width: Option<usize>,
    metrics: Option<MetricsLog>,
    /// Every epoch's record, for the plot.
    pub records: Vec<EpochRecord>,
}

/// The columns of the terminal `term` writes to, or `None` when it is not a terminal:
/// `$COLUMNS` when it holds a positive number, else the terminal's size (80 when it has
/// none).
pub fn terminal_width(term: &Term) -> Option<usize> {
    if !term.is_term() {
        return None;
    }
    let from_environment = std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.trim().parse::<usize>().ok())
        .filter(|&columns| columns > 0);
    Some(from_environment.unwrap_or_else(|| {
        term.size_checked()
            .map_or(DEFAULT_WIDTH, |(_, columns)| usize::from(columns))
    }))
}

/// The width assumed for a terminal that reports none.
const DEFAULT_WIDTH: usize = 80;

impl TrainingReporter {
    /// A reporter; the progress bar shows only when stderr is a terminal and not `quiet`.
    pub fn new(total_epochs: usize, quiet: bool, metrics: Option<MetricsLog>) -> Self {
        let stderr_width = terminal_width(&Term::stderr());
        TrainingReporter {
            show_bar: !quiet && stderr_width.is_some(),
            bar: None,
            bar_layout: None,
            bar_epoch: 0,
            total_epochs,
            stdout_width: terminal_width(&Term::stdout()),
            stderr_width,
            metrics,
            records: Vec::new(),
        }
    }

    /// The columns of the stream that [`println`](Self::println) writes to.
    pub fn line_width(&self) -> Option<usize> {
        match &self.bar {
            Some(_) => self.stderr_width,
            None => self.stdout_width,
        }
    }

    /// Prints a line above the bar (or plainly).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    /// Prints `text` wrapped at spaces to the terminal's width, continuation lines indented
    /// by two spaces.
    pub fn println_wrapped(&self, text: &str) {
        self.println(&format::wrap(text, self.line_width(), 2));
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
        let (total_epochs, width) = (self.total_epochs, self.stderr_width);
        let layout = self
            .bar_layout
            .get_or_insert_with(|| BarLayout::fit(width, total_epochs, progress.epoch_samples));
        let bar = self.bar.get_or_insert_with(|| new_bar(layout));
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
        bar.set_message(layout.message(progress.running_loss, rate));
        if first {
            // Drawn only now that it is filled in, so no empty bar ever shows.
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> anyhow::Result<()> {
        self.println(&fit_epoch_line(
            record,
            self.total_epochs,
            self.line_width(),
        ));
        if let Some(metrics) = &mut self.metrics {
            metrics.push(record.clone())?;
        }
        self.records.push(record.clone());
        Ok(())
    }
}

/// How the throughput shows in the bar's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RateForm {
    /// `48,712 samples/s`.
    Long,
    /// `48,712/s`.
    Short,
    /// Left out.
    None,
}

/// The columns reserved for a throughput figure (`9,999,999`).
const RATE_COLUMNS: usize = 9;

/// The columns reserved for the running loss (`12.3456`).
const LOSS_COLUMNS: usize = 7;

/// What the progress bar shows in a given width: the template (epoch, bar, samples, running
/// loss, throughput, time left) with the fields that fit, and how the message writes the
/// throughput.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BarLayout {
    /// The indicatif template.
    template: String,
    /// How [`BarLayout::message`] writes the throughput.
    rate: RateForm,
}

impl BarLayout {
    /// The layout that fits `width` columns (all fields without one) for `total_epochs`
    /// epochs of `epoch_samples` samples, every figure at its widest. Leaving out first the
    /// word "samples" of the throughput, then the word "samples" of the count, narrowing the
    /// bar, the throughput, the count, the bar, and last the time left; the epoch and the
    /// running loss always show.
    fn fit(width: Option<usize>, total_epochs: usize, epoch_samples: usize) -> BarLayout {
        let epochs = format::columns(&format::count(total_epochs as u64));
        let samples = format::columns(&format::count(epoch_samples as u64));
        let loss = format!("loss {}", "0".repeat(LOSS_COLUMNS));
        let loss_columns = format::columns(&loss);
        let rate = |text: &str| loss_columns + 2 + RATE_COLUMNS + format::columns(text);
        let bar = |length: usize, keep: u32| {
            FieldForm::taking(format!("[{{bar:{length}}}]"), length + 2, keep)
        };
        let fields = [
            Field::new(vec![FieldForm::taking(
                "epoch {prefix}",
                6 + 2 * epochs + 1,
                u32::MAX,
            )]),
            Field::new(vec![
                bar(30, 12),
                bar(20, 25),
                bar(10, 40),
                FieldForm::new("", 0),
            ]),
            Field::new(vec![
                FieldForm::taking("{human_pos}/{human_len} samples", 2 * samples + 9, 15),
                FieldForm::taking("{human_pos}/{human_len}", 2 * samples + 1, 30),
                FieldForm::new("", 0),
            ]),
            Field::new(vec![
                FieldForm::taking("{msg}", rate(" samples/s"), 10),
                FieldForm::taking("{msg}", rate("/s"), 20),
                FieldForm::taking("{msg}", loss_columns, u32::MAX),
            ]),
            Field::new(vec![
                FieldForm::taking("ETA {eta}", 8, 50),
                FieldForm::new("", 0),
            ]),
        ];
        let chosen = match width {
            Some(width) => format::fit_forms(&fields, width),
            None => vec![0; fields.len()],
        };
        BarLayout {
            template: format::join_forms(&fields, &chosen),
            rate: [RateForm::Long, RateForm::Short, RateForm::None][chosen[3]],
        }
    }

    /// The message: the running loss, and the throughput as the layout has room for.
    fn message(&self, running_loss: f64, per_second: f64) -> String {
        let loss = format!("loss {}", format::loss(running_loss));
        match self.rate {
            RateForm::Long => format!("{loss}  {}", format::rate(per_second, "samples")),
            RateForm::Short => format!("{loss}  {}/s", format::rounded_count(per_second)),
            RateForm::None => loss,
        }
    }
}

/// A bar for stderr (hidden until the first step fills it in) in `layout`; counts with
/// thousands separators as [`format::count`] writes them (indicatif's `human_pos` and
/// `human_len` group digits the same way).
fn new_bar(layout: &BarLayout) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(&layout.template)
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar's line in `width` columns at its widest figures (the template expanded as
    /// indicatif expands it; `{bar:N}` takes N columns): the last of 10 epochs of 60,000
    /// samples, halfway, loss 12.3456 at 9,999,999 samples/s, 59 s left.
    fn drawn(width: usize) -> String {
        let layout = BarLayout::fit(Some(width), 10, 60_000);
        let line = layout
            .template
            .replace("{prefix}", "10/10")
            .replace("{human_pos}", "30,000")
            .replace("{human_len}", "60,000")
            .replace("{msg}", &layout.message(12.3456, 9_999_999.0))
            .replace("{eta}", "59s");
        let mut expanded = String::new();
        let mut rest = line.as_str();
        while let Some(start) = rest.find("{bar:") {
            expanded.push_str(&rest[..start]);
            let end = start + rest[start..].find('}').unwrap();
            let length: usize = rest[start + 5..end].parse().unwrap();
            expanded.push_str(&"=".repeat(length));
            rest = &rest[end + 1..];
        }
        expanded.push_str(rest);
        expanded
    }

    #[test]
    fn the_bar_fits_every_width_from_forty_columns() {
        for width in 40..=160 {
            let line = drawn(width);
            assert!(format::columns(&line) <= width, "{width}: {line}");
        }
    }

    #[test]
    fn a_wide_terminal_shows_every_field_and_a_narrow_one_the_essential() {
        let wide = drawn(160);
        for field in [
            "epoch 10/10",
            "30,000/60,000 samples",
            "samples/s",
            "ETA 59s",
        ] {
            assert!(wide.contains(field), "{field}: {wide}");
        }
        assert!(wide.contains(&"=".repeat(30)), "{wide}");
        let eighty = drawn(80);
        for field in [
            "epoch 10/10",
            "[====",
            "30,000/60,000",
            "loss 12.3456",
            "ETA 59s",
        ] {
            assert!(eighty.contains(field), "{field}: {eighty}");
        }
        let forty = drawn(40);
        assert!(forty.starts_with("epoch 10/10"), "{forty}");
        assert!(
            forty.contains("loss 12.3456") && forty.contains("ETA 59s"),
            "{forty}"
        );
        assert_eq!(BarLayout::fit(None, 10, 60_000).rate, RateForm::Long);
    }
}
