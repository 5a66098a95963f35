//! `backprop train`: the main job.

use super::bias_flags::BiasFlags;
use super::checkpoint_writer::CheckpointWriter;
use super::dataset_arg::load_splits;
use super::exit_status::{Interrupted, UsageError};
use super::flag_values::{count, fraction, non_negative_number, positive_number, whole_number};
use super::given_flags::GivenFlags;
use super::help_text;
use super::model_source::open_model;
use super::output_paths::{shown, Content, OutputPaths};
use super::progress::TrainingReporter;
use super::resource_limits::{thread_count, training_bytes, MemoryLimitArgs};
use super::stop_signals::StopSignals;
use anyhow::{anyhow, bail, Context, Result};
use backprop::checkpoint::{default_checkpoint_path, load_checkpoint, Checkpoint};
use backprop::data::Dataset;
use backprop::format;
use backprop::model_file::save_model;
use backprop::model_io::import::ImportChoices;
use backprop::nn::memory::memory_picture;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::optim::OptimizerKind;
use backprop::train::grad_stats::{self, GradientStatistics, KEY_PREFIX};
use backprop::train::metrics::MetricsLog;
use backprop::train::{EpochRecord, TrainConfig, TrainData, TrainError, Trainer, TrainingObserver};
use backprop::viz::plot::{plot_training_curves, plot_training_curves_with_extra, ExtraPanel};
use clap::Args;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The most epochs one run makes, counted from the start of the first run when resumed: every
/// epoch's record (about 200 bytes, more with `--grad-stats`) stays in memory and in the
/// header of every checkpoint, which safetensors caps at 100 MB.
pub const MAX_EPOCHS: usize = 100_000;

/// Flags of `backprop train`, grouped in `--help` under the headings of [`help_text`].
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// The data: a built-in name or a folder of IDX files.
    ///
    /// spiral, circles, xor and blobs are generated here; mnist and fashion-mnist are
    /// downloaded (see --data-dir). A folder holds IDX files: train-images-idx3-ubyte and train-labels-idx1-ubyte (.gz or
    /// not), and for a test split t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte.
    #[arg(long, value_name = "NAME|DIR", default_value = "spiral", help_heading = help_text::DATA)]
    pub dataset: String,
    /// Folder of the mnist / fashion-mnist files.
    ///
    /// [default: $BACKPROP_DATA/<name>, else ~/.cache/backprop/<name>; downloaded there when
    /// missing]
    #[arg(long, value_name = "DIR", help_heading = help_text::DATA)]
    pub data_dir: Option<PathBuf>,
    /// Hold out the last F of the training file for validation.
    ///
    /// The tail in file order, so that `backprop eval --split val` scores the same samples.
    #[arg(long, value_name = "F", default_value = "0", value_parser = fraction, help_heading = help_text::DATA)]
    pub val_fraction: f64,
    /// Hidden layer widths, comma-separated [default: 256].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = count, help_heading = help_text::MODEL)]
    pub hidden: Option<Vec<usize>>,
    /// The activation [default: relu].
    ///
    /// The activation phi of every hidden layer; with --init or --resume, the file's.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::MODEL)]
    pub activation: Option<Activation>,
    /// The loss [default: cross-entropy].
    ///
    /// The loss l; with --init or --resume, the file's.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::MODEL)]
    pub loss: Option<Loss>,
    #[command(flatten)]
    pub bias: BiasFlags,
    /// Start from the weights in this model file.
    ///
    /// The architecture comes from the file; --hidden, --activation, --loss and --bias /
    /// --no-bias may only repeat it.
    #[arg(long, value_name = "FILE", help_heading = help_text::MODEL)]
    pub init: Option<PathBuf>,
    /// The optimiser.
    ///
    /// sgd, momentum (heavy ball, 0.9) or adam.
    #[arg(long, value_name = "NAME", value_enum, default_value_t = OptimizerKind::Sgd, help_heading = help_text::OPTIMISATION)]
    pub optimizer: OptimizerKind,
    /// Learning rate.
    #[arg(long, value_name = "F", default_value = "0.1", value_parser = positive_number, help_heading = help_text::OPTIMISATION)]
    pub lr: f64,
    /// The λ of the penalty λ/2 Σ_k ||W_k||² on the weights.
    ///
    /// §4.7's J gets the term λ/2 Σ_k ||W_k||², whose gradient λ W_k goes into the optimiser;
    /// biases are never penalised.
    #[arg(long, value_name = "F", default_value = "0", value_parser = non_negative_number, help_heading = help_text::OPTIMISATION)]
    pub weight_decay: f64,
    /// Passes over the training set.
    #[arg(short, long, value_name = "N", default_value = "10", value_parser = count, help_heading = help_text::OPTIMISATION)]
    pub epochs: usize,
    /// Stop after exactly N parameter updates (instead of --epochs).
    ///
    /// Giving both --steps and --epochs is a usage error.
    #[arg(long, value_name = "N", value_parser = count, conflicts_with = "epochs", help_heading = help_text::OPTIMISATION)]
    pub steps: Option<usize>,
    /// Samples per minibatch (the last, partial batch is used).
    #[arg(short, long, value_name = "N", default_value = "256", value_parser = count, help_heading = help_text::OPTIMISATION)]
    pub batch_size: usize,
    /// Visit samples in file order instead of a seeded shuffle each epoch.
    #[arg(long, help_heading = help_text::OPTIMISATION)]
    pub no_shuffle: bool,
    /// Seed of the initial weights and of the shuffles.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = whole_number, help_heading = help_text::OPTIMISATION)]
    pub seed: u64,
    /// Where to write the trained model (safetensors).
    #[arg(short, long, value_name = "FILE", default_value = "model.safetensors", help_heading = help_text::OUTPUT)]
    pub out: PathBuf,
    /// Write one JSON object per epoch to this file.
    #[arg(long, value_name = "FILE", help_heading = help_text::OUTPUT)]
    pub metrics: Option<PathBuf>,
    /// Draw loss and accuracy curves to this file (.svg or .png).
    #[arg(long, value_name = "FILE", help_heading = help_text::OUTPUT)]
    pub plot: Option<PathBuf>,
    /// Record the norms of ∂J/∂W_k and ∂J/∂z_k per epoch.
    ///
    /// The mean over the epoch's steps of the norm of each weight's gradient and of each
    /// hidden layer's ∂J/∂z_k, into the metrics (grad_norm_W1, grad_norm_z1, ...) and a
    /// third, log-scale panel of the plot; without --metrics or --plot, printed as a table at
    /// the end.
    #[arg(long, help_heading = help_text::OUTPUT)]
    pub grad_stats: bool,
    /// Plain lines instead of a progress bar.
    #[arg(short, long, help_heading = help_text::OUTPUT)]
    pub quiet: bool,
    /// Write a checkpoint every N parameter updates, and at the end.
    ///
    /// A checkpoint holds the weights, the optimiser's and the generator's state, the epoch
    /// and the step, and the run's output flags.
    #[arg(long, value_name = "N", value_parser = count, help_heading = help_text::CHECKPOINTS)]
    pub checkpoint_every: Option<usize>,
    /// Where checkpoints go; giving it also writes one at the end.
    ///
    /// [default: the --resume file; else the --out file's name with .checkpoint.safetensors]
    #[arg(long, value_name = "FILE", help_heading = help_text::CHECKPOINTS)]
    pub checkpoint: Option<PathBuf>,
    /// Continue the run saved in this checkpoint, exactly.
    ///
    /// The run keeps its configuration and writes where it wrote (--out, --metrics, --plot,
    /// checkpoints) unless an output flag is typed again; --epochs / --steps count from the
    /// start of the first run.
    #[arg(long, value_name = "FILE", conflicts_with = "init", help_heading = help_text::CHECKPOINTS)]
    pub resume: Option<PathBuf>,
    /// Resume on a training set other than the checkpoint's (on purpose).
    ///
    /// Same number of samples, other content; without this flag that is an error.
    #[arg(long, requires = "resume", help_heading = help_text::CHECKPOINTS)]
    pub resume_on_other_data: bool,
    /// Threads [default: all cores].
    ///
    /// Same command, seed and threads: bit-identical weights.
    #[arg(short = 'j', long, value_name = "N", value_parser = count, help_heading = help_text::PERFORMANCE)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub memory: MemoryLimitArgs,
}

impl TrainArgs {
    /// The checkpoint file: `--checkpoint`; else, resuming, the `--resume` file (a resumed
    /// run continues in the file it resumed from); else derived from `--out`.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.checkpoint
            .clone()
            .or_else(|| self.resume.clone())
            .unwrap_or_else(|| default_checkpoint_path(&self.out))
    }
}

/// Runs `backprop train`; `given` says which flags were typed (they override what a resumed
/// checkpoint saved, or conflict with it).
pub fn run(args: &TrainArgs, given: &GivenFlags) -> Result<bool> {
    let resumed = args.resume.as_deref().map(load_checkpoint).transpose()?;
    let resolved;
    let args = match &resumed {
        Some(checkpoint) => {
            resolved = resumed_args(args, given, checkpoint)?;
            &resolved
        }
        None => args,
    };
    check_output_paths(args)?;
    let threads = thread_count(args.threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")?;
    let dataset_recorded =
        resumed.is_some() && !given.contains("dataset") && !given.contains("data_dir");
    pool.install(|| train(args, threads, resumed, dataset_recorded))
}

/// The run, step by step: load the data, resolve the model (new, `--init` or `--resume`),
/// open the outputs, train, save the model, draw the plot. `dataset_recorded`: the data
/// flags come from the `--resume` checkpoint, not the command line.
fn train(
    args: &TrainArgs,
    threads: usize,
    resumed: Option<Checkpoint>,
    dataset_recorded: bool,
) -> Result<bool> {
    let data = load_data(args, dataset_recorded)?;
    let mut start = resolve_start(args, &data.train, resumed)?;
    check_resumed_run_is_unfinished(args, &start.trainer)?;
    let mut reporter = open_outputs(args, &mut start, &data)?;
    // From here on, SIGINT and SIGTERM stop training cleanly (after the current step).
    let signals = StopSignals::install()?;
    start.trainer.set_stop_flag(signals.stop_flag());
    report_start(args, &mut start, &data, threads, &reporter)?;
    let steps = train_and_checkpoint(args, threads, &mut start, &data, &mut reporter, &signals)?;
    save_trained_model(args, threads, &start.mlp, &data.train, steps)?;
    draw_plot(args, &start.mlp, &reporter.records)?;
    report_other_outputs(args);
    report_gradient_statistics(args, &reporter.records);
    Ok(true)
}

/// The three splits of a run: training (less the held-out tail), validation, test.
struct RunData {
    train: Dataset,
    validation: Option<Dataset>,
    test: Option<Dataset>,
}

impl RunData {
    /// The splits as the trainer takes them.
    fn view(&self) -> TrainData<'_> {
        TrainData {
            train: &self.train,
            validation: self.validation.as_ref(),
            test: self.test.as_ref(),
        }
    }
}

/// Loads `--dataset` and holds out the last `--val-fraction` of its training split. A data
/// set recorded in the `--resume` checkpoint (`recorded`) that cannot be loaded is the
/// checkpoint's problem (exit 1: the data has moved), not a usage error.
fn load_data(args: &TrainArgs, recorded: bool) -> Result<RunData> {
    let splits = match load_splits(&args.dataset, args.data_dir.as_deref(), !args.quiet) {
        Ok(splits) => splits,
        Err(error) if recorded => bail!(
            "--resume {} was trained on --dataset {}{} (recorded in the checkpoint), which \
             cannot be loaded here: {error:#}",
            args.resume.as_deref().map_or(String::new(), shell_word),
            shell_word(Path::new(&args.dataset)),
            args.data_dir
                .as_deref()
                .map_or(String::new(), |dir| format!(
                    " --data-dir {}",
                    shell_word(dir)
                ))
        ),
        Err(error) => return Err(error),
    };
    let (train, validation) = if args.val_fraction > 0.0 {
        let (train, validation) = splits.train.split_tail(args.val_fraction)?;
        (train, Some(validation))
    } else {
        (splits.train, None)
    };
    Ok(RunData {
        train,
        validation,
        test: splits.test,
    })
}

/// Where training starts: the model, the trainer (fresh or resumed) and the epochs a resumed
/// run already recorded.
struct Start {
    mlp: Mlp<f32>,
    trainer: Trainer,
    earlier_records: Vec<EpochRecord>,
}

/// The model and trainer to start from: the checkpoint of `--resume`, else `--init`'s model
/// or a new one from the flags, checked against the data and the memory limit.
fn resolve_start(
    args: &TrainArgs,
    train_set: &Dataset,
    resumed: Option<Checkpoint>,
) -> Result<Start> {
    let (loaded, resumed) = match resumed {
        Some(checkpoint) => {
            let source = format!("--resume {}", args.resume.as_ref().unwrap().display());
            let fingerprint = train_set.fingerprint();
            if checkpoint.data != fingerprint && !args.resume_on_other_data {
                bail!(
                    "{source} was trained on other data ({}); --dataset {} gives {}; pass \
                     --resume-on-other-data to continue on this data on purpose",
                    checkpoint.data,
                    args.dataset,
                    fingerprint
                );
            }
            (
                Some((source, checkpoint.mlp)),
                Some((checkpoint.state, checkpoint.records)),
            )
        }
        None => (None, None),
    };
    let mlp = build_model(args, train_set, loaded)?;
    let trainer_config = TrainConfig {
        epochs: args.epochs,
        max_steps: args.steps.map(|s| s as u64),
        batch_size: args.batch_size,
        shuffle: !args.no_shuffle,
        seed: args.seed,
        learning_rate: args.lr,
        optimizer: args.optimizer,
    };
    let (trainer, earlier_records) = match resumed {
        Some((state, records)) => (Trainer::resume(trainer_config, state)?, records),
        None => (Trainer::new(trainer_config)?, Vec::new()),
    };
    Ok(Start {
        mlp,
        trainer,
        earlier_records,
    })
}

/// Refuses to resume a run that has already reached what `--epochs` or `--steps` asks for:
/// it would train nothing and only write its outputs again.
fn check_resumed_run_is_unfinished(args: &TrainArgs, trainer: &Trainer) -> Result<()> {
    let Some(resume) = &args.resume else {
        return Ok(());
    };
    let done = match args.steps {
        Some(steps) if trainer.steps() >= steps as u64 => format!(
            "--steps {}: {} has already made {} steps; give --steps {} or more to continue it",
            format::count(steps as u64),
            shown(resume),
            format::count(trainer.steps()),
            format::count(trainer.steps() + 1)
        ),
        None if trainer.completed_epochs() >= args.epochs => format!(
            "--epochs {}: {} has already trained {} (step {}); give --epochs {} or more to continue it",
            format::count(args.epochs as u64),
            shown(resume),
            format::counted(trainer.completed_epochs() as u64, "epoch", "epochs"),
            format::count(trainer.steps()),
            format::count(trainer.completed_epochs() as u64 + 1)
        ),
        _ => return Ok(()),
    };
    Err(UsageError(done).into())
}

/// Checks the data against the model (every check is done before the first file is
/// written), then sets up the metrics log (with a resumed run's epochs; written from the
/// first epoch's end on), the progress reporter and the stop signals.
fn open_outputs(args: &TrainArgs, start: &mut Start, data: &RunData) -> Result<TrainingReporter> {
    start.trainer.check_data(&start.mlp, data.view())?;
    start
        .trainer
        .set_checkpoint_every(args.checkpoint_every.map(|n| n as u64));
    let metrics = args
        .metrics
        .as_deref()
        .map(|path| MetricsLog::new(path, start.earlier_records.clone()));
    let total_epochs = match args.steps {
        Some(steps) => steps.div_ceil(data.train.len().div_ceil(args.batch_size)),
        None => args.epochs,
    };
    if total_epochs > MAX_EPOCHS {
        let asked = match args.steps {
            Some(steps) => format!(
                "--steps {steps} makes {} epochs of {} samples",
                format::count(total_epochs as u64),
                data.train.len()
            ),
            None => format!("--epochs {}", format::count(total_epochs as u64)),
        };
        return Err(UsageError(format!(
            "{asked}; a run makes at most {} epochs (each epoch's record is kept in memory and in every checkpoint)",
            format::count(MAX_EPOCHS as u64)
        ))
        .into());
    }
    let mut reporter = TrainingReporter::new(total_epochs, args.quiet, metrics);
    reporter.records = start.earlier_records.clone();
    Ok(reporter)
}

/// Says what is trained on what (model, threads), how big each split is and why, the memory
/// a batch needs, and where a resumed run starts; each line wrapped to the terminal's width.
fn report_start(
    args: &TrainArgs,
    start: &mut Start,
    data: &RunData,
    threads: usize,
    reporter: &TrainingReporter,
) -> Result<()> {
    reporter.println_wrapped(&run_header(args, &start.mlp, threads));
    reporter.println_wrapped(&data_line(&args.dataset, args.val_fraction, data));
    reporter.println_wrapped(&memory_line(&mut start.mlp, &data.train, args.batch_size)?);
    if let Some(resume) = &args.resume {
        reporter.println_wrapped(&format!(
            "resuming {} at step {} (epoch {})",
            resume.display(),
            format::count(start.trainer.steps()),
            format::count(start.trainer.epoch() as u64)
        ));
    }
    Ok(())
}

/// The first line of a run: the model, the data set and the threads.
fn run_header(args: &TrainArgs, mlp: &Mlp<f32>, threads: usize) -> String {
    format!(
        "training {} on {}, {}",
        mlp.config(),
        args.dataset,
        format::counted(threads as u64, "thread", "threads")
    )
}

/// The names of `--dataset` whose samples are generated (not read from files).
const GENERATED_DATASETS: [&str; 4] = ["spiral", "circles", "xor", "blobs"];

/// The size of MNIST's test split, which the spiral's test split follows.
const MNIST_TEST_SAMPLES: usize = 10_000;

/// One line on the splits of `dataset` and why they have their sizes: the classes, the
/// training split and what `--val-fraction` holds out of it, the test split, and for
/// generated data the samples per class, e.g. `data: spiral, 3 classes: 60,000 train,
/// 10,002 test (generated: 20,000 per class for training, 3,334 per class for test: MNIST's
/// 10,000 test samples rounded up to a whole number per class)`.
fn data_line(dataset: &str, val_fraction: f64, data: &RunData) -> String {
    let validation = data.validation.as_ref().map_or(0, Dataset::len);
    let train_labels: Vec<u8> = data
        .train
        .labels()
        .iter()
        .chain(data.validation.iter().flat_map(|v| v.labels()))
        .copied()
        .collect();
    let classes = data
        .train
        .num_classes()
        .max(data.validation.as_ref().map_or(0, Dataset::num_classes))
        .max(data.test.as_ref().map_or(0, Dataset::num_classes));
    let mut line = format!(
        "data: {dataset}, {}: {} train",
        format::counted(classes as u64, "class", "classes"),
        format::count(train_labels.len() as u64)
    );
    if validation > 0 {
        line.push_str(&format!(
            " ({} after --val-fraction {} holds out {} for validation)",
            format::count(data.train.len() as u64),
            format::exact_number(val_fraction),
            format::count(validation as u64)
        ));
    }
    match &data.test {
        Some(test) => line.push_str(&format!(", {} test", format::count(test.len() as u64))),
        None => line.push_str(", no test split"),
    }
    if GENERATED_DATASETS.contains(&dataset) {
        let per_class = |labels: &[u8], split: &str| {
            equal_class_count(labels, classes)
                .map(|n| format!("{} per class for {split}", format::count(n as u64)))
        };
        let mut parts: Vec<String> = per_class(&train_labels, "training").into_iter().collect();
        if let Some(test) = &data.test {
            parts.extend(per_class(test.labels(), "test"));
            let rounded_up = MNIST_TEST_SAMPLES.div_ceil(classes.max(1)) * classes;
            if dataset == "spiral" && test.len() != MNIST_TEST_SAMPLES && test.len() == rounded_up {
                if let Some(last) = parts.last_mut() {
                    last.push_str(&format!(
                        ": MNIST's {} test samples rounded up to a whole number per class",
                        format::count(MNIST_TEST_SAMPLES as u64)
                    ));
                }
            }
        }
        if !parts.is_empty() {
            line.push_str(&format!(" (generated: {})", parts.join(", ")));
        }
    }
    line
}

/// The number of samples of each of `classes` classes among `labels`, when every class has
/// the same number.
fn equal_class_count(labels: &[u8], classes: usize) -> Option<usize> {
    let mut counts = vec![0usize; classes];
    for &label in labels {
        *counts.get_mut(usize::from(label))? += 1;
    }
    let first = *counts.first()?;
    counts.iter().all(|&c| c == first).then_some(first)
}

/// Trains until the epochs or steps are done, writing checkpoints as asked; returns the
/// number of parameter updates. A stop signal ends training after the current step, with a
/// checkpoint; a diverged run names the last good checkpoint.
fn train_and_checkpoint(
    args: &TrainArgs,
    threads: usize,
    start: &mut Start,
    data: &RunData,
    reporter: &mut TrainingReporter,
    signals: &StopSignals,
) -> Result<u64> {
    let mut gradient_statistics;
    let observer: &mut dyn TrainingObserver = if args.grad_stats {
        gradient_statistics = GradientStatistics::new(reporter);
        &mut gradient_statistics
    } else {
        reporter
    };
    let mut checkpoints = CheckpointWriter::new(
        observer,
        args.checkpoint_path(),
        run_description(args, threads)?,
        image_metadata(&data.train),
        std::mem::take(&mut start.earlier_records),
        &data.train,
    );
    let (mlp, trainer) = (&mut start.mlp, &mut start.trainer);
    let result = trainer.run(mlp, data.view(), &mut checkpoints);
    let outcome = match result {
        Ok(summary) => {
            if writes_checkpoints(args) {
                checkpoints.write(trainer, mlp)?;
            }
            Ok(summary.steps)
        }
        Err(TrainError::Interrupted { step, epoch }) => {
            checkpoints.write(trainer, mlp)?;
            let signal = signals.received();
            let path = args.checkpoint_path();
            Err(Interrupted {
                message: format!(
                    "interrupted by {} after step {step} (epoch {epoch}); checkpoint written to {}; \
                     continue with: {}",
                    signal.map_or("a signal", |s| s.name),
                    path.display(),
                    resume_command(args, &path)
                ),
                exit_code: signal.map_or(130, |s| s.exit_code),
            }
            .into())
        }
        Err(error) => {
            let last_good = checkpoints.last_written_step().map(|step| {
                format!(
                    "; the last good checkpoint, {}, holds step {step}",
                    checkpoints.path().display()
                )
            });
            Err(anyhow!("{error}{}", last_good.unwrap_or_default()))
        }
    };
    drop(checkpoints);
    reporter.finish();
    outcome
}

/// Whether the run writes checkpoints (`--checkpoint-every` or `--checkpoint`).
fn writes_checkpoints(args: &TrainArgs) -> bool {
    args.checkpoint_every.is_some() || args.checkpoint.is_some()
}

/// The metadata every saved file carries about images: their shape, when the data has one.
fn image_metadata(train_set: &Dataset) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::new();
    if let Some((rows, cols)) = train_set.image_shape() {
        metadata.insert("image_shape".to_string(), format!("{rows}x{cols}"));
    }
    metadata
}

/// Writes the trained model to `--out`, with the image shape and the run's configuration.
fn save_trained_model(
    args: &TrainArgs,
    threads: usize,
    mlp: &Mlp<f32>,
    train_set: &Dataset,
    steps: u64,
) -> Result<()> {
    let mut metadata = image_metadata(train_set);
    metadata.insert(
        "training".to_string(),
        training_description(args, threads, steps),
    );
    save_model(&args.out, mlp, &metadata)?;
    println!("model written to {}", args.out.display());
    Ok(())
}

/// Draws the loss and accuracy curves to `--plot` (with a panel of gradient norms under
/// `--grad-stats`).
fn draw_plot(args: &TrainArgs, mlp: &Mlp<f32>, records: &[EpochRecord]) -> Result<()> {
    let Some(plot) = &args.plot else {
        return Ok(());
    };
    let title = format!("{} on {}", mlp.config(), args.dataset);
    if args.grad_stats {
        let panel = ExtraPanel::with_prefix(
            records,
            KEY_PREFIX,
            "Gradient norms (mean over each epoch's steps)",
            "‖∂J/∂Wₖ‖ (solid), ‖∂J/∂zₖ‖ (dashed)",
        );
        plot_training_curves_with_extra(plot, records, &title, panel.as_ref())?;
    } else {
        plot_training_curves(plot, records, &title)?;
    }
    println!("plot written to {}", plot.display());
    Ok(())
}

/// Says where the metrics and the final checkpoint went, and how to train the checkpoint's
/// run as long again.
fn report_other_outputs(args: &TrainArgs) {
    if let Some(metrics) = &args.metrics {
        println!("metrics written to {}", metrics.display());
    }
    if writes_checkpoints(args) {
        let path = args.checkpoint_path();
        let longer = match args.steps {
            Some(steps) => format!("--steps {}", steps.saturating_mul(2)),
            None => format!("--epochs {}", args.epochs.saturating_mul(2)),
        };
        println!(
            "checkpoint written to {}; train it as long again with: {} {longer}",
            path.display(),
            resume_command(args, &path)
        );
    }
}

/// The command that continues this run from `checkpoint`, with every output flag of the run
/// (as the checkpoint records them too, so the flags are for the reader and for checkpoints
/// of older versions), each path quoted for the shell where it needs to be. `--checkpoint`
/// is left out: a resumed run writes its checkpoints to the file it resumes from.
fn resume_command(args: &TrainArgs, checkpoint: &Path) -> String {
    let mut words = vec![
        "backprop train --resume".to_string(),
        shell_word(checkpoint),
        "--out".into(),
        shell_word(&args.out),
    ];
    for (flag, path) in [("--metrics", &args.metrics), ("--plot", &args.plot)] {
        if let Some(path) = path {
            words.extend([flag.to_string(), shell_word(path)]);
        }
    }
    if let Some(every) = args.checkpoint_every {
        words.push(format!("--checkpoint-every {every}"));
    }
    if args.grad_stats {
        words.push("--grad-stats".into());
    }
    words.join(" ")
}

/// `path` as one word of a POSIX shell command: as it is when it holds only characters no
/// shell treats specially, else in single quotes (a `'` inside written as `'\''`).
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Under `--grad-stats` without `--metrics` or `--plot` (which would show the statistics),
/// prints their table, one row per epoch.
fn report_gradient_statistics(args: &TrainArgs, records: &[EpochRecord]) {
    if !args.grad_stats || args.metrics.is_some() || args.plot.is_some() {
        return;
    }
    if let Some(table) = grad_stats::table(records) {
        println!("{table}");
    }
}

/// Checks every file the run reads and writes before the first is written: that outputs
/// (`--out`, `--metrics`, `--plot`, checkpoints) are writable, carry no extension of another
/// kind of file (a plot's extension picks SVG or PNG), and name no other output or input (`--init`,
/// `--resume`, the dataset's files). Checkpoints may replace the `--resume` file they
/// continue.
fn check_output_paths(args: &TrainArgs) -> Result<()> {
    let checkpoint = args.checkpoint_path();
    let mut paths = OutputPaths::new();
    paths.output("--out", &args.out, Content::Safetensors);
    if let Some(metrics) = &args.metrics {
        paths.output("--metrics", metrics, Content::JsonLines);
    }
    if let Some(plot) = &args.plot {
        paths.output("--plot", plot, Content::Plot);
    }
    if writes_checkpoints(args) {
        paths.output("--checkpoint", &checkpoint, Content::Safetensors);
    }
    if let Some(init) = &args.init {
        paths.input("--init", init);
    }
    if let Some(resume) = &args.resume {
        paths
            .input("--resume", resume)
            .allow_replacing("--resume", "--checkpoint");
    }
    let dataset = Path::new(&args.dataset);
    if dataset.is_dir() {
        paths.inputs_in_folder("--dataset", dataset);
    }
    if let Some(data_dir) = &args.data_dir {
        if data_dir.to_str().is_none() {
            return Err(UsageError(format!(
                "--data-dir {}: the path is not valid UTF-8; give a path in UTF-8",
                data_dir.display()
            ))
            .into());
        }
        paths.inputs_in_folder("--data-dir", data_dir);
    }
    paths.check()?;
    Ok(())
}

/// The flags of a resumed run: the checkpoint's configuration; `--epochs`, `--steps`,
/// `--threads` and the output flags (`--out`, `--metrics`, `--plot`, `--checkpoint`,
/// `--checkpoint-every`, `--grad-stats`) from the command line when typed, else as the
/// checkpoint recorded them. A flag that would change the run (`--lr`, `--dataset`...) is a
/// usage error unless it repeats the saved value.
fn resumed_args(
    args: &TrainArgs,
    given: &GivenFlags,
    checkpoint: &Checkpoint,
) -> Result<TrainArgs> {
    let path = args
        .resume
        .as_ref()
        .expect("resuming")
        .display()
        .to_string();
    let run: SavedRun = serde_json::from_value(checkpoint.run.clone())
        .map_err(|e| anyhow!("{path}: the checkpoint's run description is damaged: {e}"))?;
    if !(0.0..1.0).contains(&run.val_fraction) {
        bail!(
            "{path}: the checkpoint's run description is damaged: val_fraction {} is not a \
             fraction in [0, 1)",
            format::exact_number(run.val_fraction)
        );
    }
    let config = &checkpoint.config;
    let weight_decay = checkpoint.mlp.config().weight_decay;
    let kept = KeptFlags {
        given,
        resume: &path,
    };
    kept.check("dataset", "--dataset", &args.dataset, &run.dataset)?;
    kept.check(
        "data_dir",
        "--data-dir",
        &DataDir(args.data_dir.clone()),
        &DataDir(run.data_dir.clone()),
    )?;
    kept.check(
        "val_fraction",
        "--val-fraction",
        &args.val_fraction,
        &run.val_fraction,
    )?;
    kept.check("seed", "--seed", &args.seed, &config.seed)?;
    kept.check(
        "optimizer",
        "--optimizer",
        &args.optimizer,
        &config.optimizer,
    )?;
    kept.check("lr", "--lr", &args.lr, &config.learning_rate)?;
    kept.check(
        "weight_decay",
        "--weight-decay",
        &args.weight_decay,
        &weight_decay,
    )?;
    kept.check(
        "batch_size",
        "--batch-size",
        &args.batch_size,
        &config.batch_size,
    )?;
    kept.check(
        "no_shuffle",
        "--no-shuffle",
        &Shuffling(!args.no_shuffle),
        &Shuffling(config.shuffle),
    )?;
    let mut resolved = args.clone();
    resolved.dataset = run.dataset;
    resolved.data_dir = run.data_dir;
    resolved.val_fraction = run.val_fraction;
    resolved.seed = config.seed;
    resolved.optimizer = config.optimizer;
    resolved.lr = config.learning_rate;
    resolved.weight_decay = weight_decay;
    resolved.batch_size = config.batch_size;
    resolved.no_shuffle = !config.shuffle;
    if !given.contains("threads") {
        resolved.threads = Some(run.threads);
    }
    if let Some(outputs) = run.outputs {
        outputs.fill_in(&mut resolved, given);
    }
    match (given.contains("epochs"), given.contains("steps")) {
        (false, false) => {
            resolved.epochs = config.epochs;
            resolved.steps = config.max_steps.map(|s| s as usize);
        }
        (true, false) => resolved.steps = None,
        _ => {}
    }
    Ok(resolved)
}

/// The check that a typed flag repeats what the resumed checkpoint saved.
struct KeptFlags<'a> {
    given: &'a GivenFlags,
    resume: &'a str,
}

impl KeptFlags<'_> {
    /// A usage error when the flag with this `id` was typed with a value other than `saved`.
    fn check<T: PartialEq + fmt::Display>(
        &self,
        id: &str,
        flag: &str,
        typed: &T,
        saved: &T,
    ) -> Result<()> {
        if self.given.contains(id) && typed != saved {
            return Err(UsageError(format!(
                "{flag} {typed} conflicts with --resume {}, whose run has {saved}; drop \
                 {flag} (a resumed run keeps its configuration)",
                self.resume
            ))
            .into());
        }
        Ok(())
    }
}

/// `--data-dir`, as a resumed run compares and shows it.
#[derive(PartialEq)]
struct DataDir(Option<PathBuf>);

impl fmt::Display for DataDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str("no --data-dir"),
        }
    }
}

/// Whether samples are shuffled, as a resumed run compares and shows it.
#[derive(PartialEq)]
struct Shuffling(bool);

impl fmt::Display for Shuffling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "shuffling" } else { "no shuffling" })
    }
}

/// What a checkpoint records of the command line, beyond the trainer's configuration and the
/// model: where the data came from, the threads (for bit-identical results) and the output
/// flags (so that `--resume` alone writes where the run wrote).
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedRun {
    dataset: String,
    data_dir: Option<PathBuf>,
    val_fraction: f64,
    threads: usize,
    /// Absent from checkpoints written before the outputs were recorded: a run resumed from
    /// one writes where the resume command's flags (or their defaults) say.
    #[serde(default)]
    outputs: Option<SavedOutputs>,
}

/// The output flags of a run, as typed (relative paths are taken from the folder the
/// resumed run starts in, as the resume hint is printed for that folder).
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedOutputs {
    out: PathBuf,
    metrics: Option<PathBuf>,
    plot: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
    checkpoint_every: Option<usize>,
    grad_stats: bool,
}

impl SavedOutputs {
    /// The output flags of `args`.
    fn of(args: &TrainArgs) -> Self {
        SavedOutputs {
            out: args.out.clone(),
            metrics: args.metrics.clone(),
            plot: args.plot.clone(),
            checkpoint: args.checkpoint.clone(),
            checkpoint_every: args.checkpoint_every,
            grad_stats: args.grad_stats,
        }
    }

    /// Sets every output flag of `args` that was not typed (`given`) to the recorded one; a
    /// recorded `--checkpoint` becomes the `--resume` file, so that resuming from a copy of a
    /// checkpoint never replaces the original.
    fn fill_in(self, args: &mut TrainArgs, given: &GivenFlags) {
        if !given.contains("out") {
            args.out = self.out;
        }
        if !given.contains("metrics") {
            args.metrics = self.metrics;
        }
        if !given.contains("plot") {
            args.plot = self.plot;
        }
        if !given.contains("checkpoint") && self.checkpoint.is_some() {
            args.checkpoint = args.resume.clone();
        }
        if !given.contains("checkpoint_every") {
            args.checkpoint_every = self.checkpoint_every;
        }
        if !given.contains("grad_stats") {
            args.grad_stats = self.grad_stats;
        }
    }
}

/// The `run` entry of the checkpoints of this run ([`SavedRun`]). Fails only for a path that
/// is not valid UTF-8, which [`check_output_paths`] refuses before.
fn run_description(args: &TrainArgs, threads: usize) -> Result<serde_json::Value> {
    let description = serde_json::to_value(SavedRun {
        dataset: args.dataset.clone(),
        data_dir: args.data_dir.clone(),
        val_fraction: args.val_fraction,
        threads,
        outputs: Some(SavedOutputs::of(args)),
    })
    .map_err(|error| {
        anyhow::anyhow!("cannot record the run's paths in its checkpoints: {error}")
    })?;
    Ok(description)
}

/// The model to train: `start` (from `--resume`, named by its flag), `--init`, or new from
/// the flags and the data.
fn build_model(
    args: &TrainArgs,
    train_set: &Dataset,
    start: Option<(String, Mlp<f32>)>,
) -> Result<Mlp<f32>> {
    let (activation, loss) = (args.activation, args.loss);
    let bias = args.bias.choice();
    let start = match (start, &args.init) {
        (Some(start), _) => Some(start),
        (None, Some(path)) => Some((
            format!("--init {}", path.display()),
            open_model(
                path,
                &ImportChoices {
                    activation,
                    loss,
                    fallback_loss: None,
                },
            )?
            .loaded
            .mlp,
        )),
        (None, None) => None,
    };
    let mlp = match start {
        Some((source, loaded)) => {
            let from_file = loaded.config().clone();
            let conflict = |flag: &str, given: String, file: String| -> Result<()> {
                if given != file {
                    return Err(UsageError(format!(
                        "{flag} {given} conflicts with {source}, whose model has {file}; \
                         drop {flag} (the architecture comes from the file)"
                    ))
                    .into());
                }
                Ok(())
            };
            if let Some(hidden) = &args.hidden {
                conflict("--hidden", join(hidden), join(&from_file.hidden))?;
            }
            if let Some(a) = activation {
                conflict(
                    "--activation",
                    a.to_string(),
                    from_file.activation.to_string(),
                )?;
            }
            if let Some(l) = loss {
                conflict("--loss", l.to_string(), from_file.loss.to_string())?;
            }
            if let Some(b) = bias {
                let name = |b: bool| if b { "biases" } else { "no biases" }.to_string();
                conflict(
                    if b { "--bias" } else { "--no-bias" },
                    name(b),
                    name(from_file.bias),
                )?;
            }
            if from_file.inputs != train_set.input_dim() {
                bail!(
                    "{source} takes {} input features, but the data has {}",
                    from_file.inputs,
                    train_set.input_dim()
                );
            }
            let config = MlpConfig {
                weight_decay: args.weight_decay,
                ..from_file
            };
            check_training_memory(args, &config, train_set.len())?;
            loaded.reconfigured(config)?
        }
        None => {
            let config = MlpConfig {
                inputs: train_set.input_dim(),
                hidden: args.hidden.clone().unwrap_or_else(|| vec![256]),
                outputs: train_set.num_classes(),
                activation: activation.unwrap_or(Activation::Relu),
                loss: loss.unwrap_or(Loss::CrossEntropy),
                bias: args.bias.for_new_network(),
                weight_decay: args.weight_decay,
            };
            check_training_memory(args, &config, train_set.len())?;
            Mlp::new(config, args.seed)?
        }
    };
    Ok(mlp)
}

/// A usage error when training `config` would need more than the memory limit, at the
/// batch size training uses (`--batch-size`, at most the number of samples).
fn check_training_memory(args: &TrainArgs, config: &MlpConfig, samples: usize) -> Result<()> {
    let batch = args.batch_size.min(samples);
    let what = format!("training {config} with batches of {batch}");
    args.memory.check(&what, training_bytes(config, batch))?;
    Ok(())
}

/// D2L 4.7's memory point, in numbers: the bytes forward keeps for backward per batch, next
/// to the bytes a prediction pass needs. Measured on the first batch (one forward pass, no
/// update), so that the graph's buffers have their training size.
fn memory_line(mlp: &mut Mlp<f32>, train_set: &Dataset, batch_size: usize) -> Result<String> {
    let rows = batch_size.min(train_set.len());
    let first: Vec<usize> = (0..rows).collect();
    train_set.gather_features(&first, mlp.features_mut(rows));
    mlp.set_labels(first.iter().map(|&i| train_set.labels()[i] as usize))?;
    mlp.forward()?;
    let picture = memory_picture(mlp);
    let kept: Vec<String> = picture
        .kept
        .iter()
        .map(|k| format!("{} {}", k.name, format::bytes(k.bytes)))
        .collect();
    Ok(format!(
        "memory per batch of {rows}: training keeps {} for backward ({}); prediction needs {}",
        format::bytes(picture.training_bytes),
        kept.join(", "),
        format::bytes(picture.prediction_bytes)
    ))
}

fn join(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The training configuration, as JSON for the model file's metadata.
fn training_description(args: &TrainArgs, threads: usize, steps: u64) -> String {
    serde_json::json!({
        "dataset": args.dataset,
        // Absolute, so that `eval --model` finds the files from any folder.
        "data_dir": args
            .data_dir
            .as_ref()
            .map(|dir| std::path::absolute(dir).unwrap_or_else(|_| dir.clone()).display().to_string()),
        "val_fraction": args.val_fraction,
        "optimizer": args.optimizer.name(),
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "epochs": args.epochs,
        "steps": steps,
        "batch_size": args.batch_size,
        "shuffle": !args.no_shuffle,
        "seed": args.seed,
        "threads": threads,
        "init": args.init.as_ref().map(|p| p.display().to_string()),
    })
    .to_string()
}
