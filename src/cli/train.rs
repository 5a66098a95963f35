//! `backprop train`: the main job.

use super::checkpoint_writer::CheckpointWriter;
use super::dataset_arg::load_splits;
use super::exit_status::{Interrupted, UsageError};
use super::flag_values::{count, fraction, non_negative_number, positive_number};
use super::given_flags::GivenFlags;
use super::progress::TrainingReporter;
use super::stop_signals::StopSignals;
use anyhow::{bail, Context, Result};
use backprop::checkpoint::{default_checkpoint_path, load_checkpoint, Checkpoint};
use backprop::data::Dataset;
use backprop::format;
use backprop::model_file::{load_model, save_model};
use backprop::nn::memory::memory_picture;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::optim::OptimizerKind;
use backprop::train::grad_stats::{GradientStatistics, KEY_PREFIX};
use backprop::train::metrics::MetricsLog;
use backprop::train::{TrainConfig, TrainData, TrainError, Trainer, TrainingObserver};
use backprop::viz::plot::{plot_training_curves, plot_training_curves_with_extra, ExtraPanel};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Flags of `backprop train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// spiral (built in), circles, xor, blobs, mnist, fashion-mnist, or a folder of IDX files.
    #[arg(long, default_value = "spiral")]
    pub dataset: String,
    /// Folder of the mnist / fashion-mnist files (default: $BACKPROP_DATA/<name>, else
    /// ~/.cache/backprop/<name>).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Hold out the last F of the training file (file order) for validation.
    #[arg(long, default_value = "0", value_parser = fraction)]
    pub val_fraction: f64,
    /// Hidden layer widths, comma-separated [default: 256].
    #[arg(long, value_delimiter = ',', value_parser = count)]
    pub hidden: Option<Vec<usize>>,
    /// The activation phi [default: relu].
    #[arg(long, value_parser = ["relu", "sigmoid", "tanh"])]
    pub activation: Option<String>,
    /// The loss l [default: cross-entropy].
    #[arg(long, value_parser = ["cross-entropy", "mse"])]
    pub loss: Option<String>,
    /// Give every layer a bias (the default).
    #[arg(long, overrides_with = "no_bias")]
    pub bias: bool,
    /// No biases, as in the seed.
    #[arg(long)]
    pub no_bias: bool,
    /// Start from the weights in this model file (the architecture comes from the file).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Seed of the initial weights and of the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// sgd, momentum (0.9) or adam.
    #[arg(long, default_value = "sgd", value_parser = ["sgd", "momentum", "adam"])]
    pub optimizer: String,
    /// Learning rate.
    #[arg(long, default_value = "0.1", value_parser = positive_number)]
    pub lr: f64,
    /// The seed's λ: J gets the term λ/2 Σ_k ||W_k||², whose gradient λ W goes into the
    /// optimiser (weights only, never biases).
    #[arg(long, default_value = "0", value_parser = non_negative_number)]
    pub weight_decay: f64,
    /// Passes over the training set.
    #[arg(long, default_value = "10", value_parser = count)]
    pub epochs: usize,
    /// Stop after exactly N parameter updates (instead of --epochs).
    #[arg(long, value_parser = count)]
    pub steps: Option<usize>,
    /// Samples per minibatch (the last, partial batch is used).
    #[arg(long, default_value = "256", value_parser = count)]
    pub batch_size: usize,
    /// Visit samples in file order instead of a seeded shuffle each epoch.
    #[arg(long)]
    pub no_shuffle: bool,
    /// Threads [default: all cores]. Same command, seed and threads: identical weights.
    #[arg(long, value_parser = count)]
    pub threads: Option<usize>,
    /// Plain lines instead of a progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Write one JSON object per epoch to this file.
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// Draw loss and accuracy curves to this file (.svg or .png).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Record per epoch the norms of dJ/dW_k and of each hidden layer's dJ/dz_k (mean over
    /// the epoch's steps) into the metrics (grad_norm_W1, grad_norm_z1, ...) and a third,
    /// log-scale panel of the plot.
    #[arg(long)]
    pub grad_stats: bool,
    /// Where to write the trained model (safetensors).
    #[arg(long, default_value = "model.safetensors")]
    pub out: PathBuf,
    /// Write a checkpoint (weights, optimiser and generator state, epoch, step) every N
    /// parameter updates, and at the end.
    #[arg(long, value_parser = count)]
    pub checkpoint_every: Option<usize>,
    /// Where checkpoints go [default: the --out file's name with .checkpoint.safetensors];
    /// giving it also writes a checkpoint at the end.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue the run saved in this checkpoint, exactly; its configuration is kept, and
    /// --epochs / --steps count from the start of the first run.
    #[arg(long, conflicts_with = "init")]
    pub resume: Option<PathBuf>,
}

impl TrainArgs {
    /// The checkpoint file: `--checkpoint`, else derived from `--out`.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.checkpoint
            .clone()
            .unwrap_or_else(|| default_checkpoint_path(&self.out))
    }
}

/// Runs `backprop train`; `given` says which flags were typed (they override what a resumed
/// checkpoint saved, or conflict with it).
pub fn run(args: &TrainArgs, given: &GivenFlags) -> Result<bool> {
    let resumed = match &args.resume {
        Some(path) => Some(load_checkpoint(path)?),
        None => None,
    };
    let resolved;
    let args = match &resumed {
        Some(checkpoint) => {
            resolved = resumed_args(args, given, checkpoint)?;
            &resolved
        }
        None => args,
    };
    if let Some(plot) = &args.plot {
        backprop::viz::plot::check_plot_path(plot)?;
    }
    if args.checkpoint_path() == args.out {
        return Err(UsageError(format!(
            "--checkpoint and --out both name {}; checkpoints need a file of their own",
            args.out.display()
        ))
        .into());
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")?;
    pool.install(|| train(args, threads, resumed))
}

fn train(args: &TrainArgs, threads: usize, resumed: Option<Checkpoint>) -> Result<bool> {
    let splits = load_splits(&args.dataset, args.data_dir.as_deref(), !args.quiet)?;
    let (train_set, validation): (Dataset, Option<Dataset>) = if args.val_fraction > 0.0 {
        let (train, val) = splits.train.split_tail(args.val_fraction)?;
        (train, Some(val))
    } else {
        (splits.train, None)
    };
    let test = splits.test;

    let (start, resumed) = match resumed {
        Some(checkpoint) => {
            let source = format!("--resume {}", args.resume.as_ref().unwrap().display());
            (
                Some((source, checkpoint.mlp)),
                Some((checkpoint.state, checkpoint.records)),
            )
        }
        None => (None, None),
    };
    let mut mlp = build_model(args, &train_set, start)?;
    let trainer_config = TrainConfig {
        epochs: args.epochs,
        max_steps: args.steps.map(|s| s as u64),
        batch_size: args.batch_size,
        shuffle: !args.no_shuffle,
        seed: args.seed,
        learning_rate: args.lr,
        optimizer: OptimizerKind::from_name(&args.optimizer).expect("clap checked the name"),
    };
    let total_epochs = match args.steps {
        Some(steps) => steps.div_ceil(train_set.len().div_ceil(args.batch_size)),
        None => args.epochs,
    };
    let data = TrainData {
        train: &train_set,
        validation: validation.as_ref(),
        test: test.as_ref(),
    };
    let (mut trainer, earlier_records) = match resumed {
        Some((state, records)) => (Trainer::resume(trainer_config, state)?, records),
        None => (Trainer::new(trainer_config)?, Vec::new()),
    };
    // Every check on the data is done before the first file is created.
    trainer.check_data(&mlp, data)?;
    trainer.set_checkpoint_every(args.checkpoint_every.map(|n| n as u64));
    let mut metrics = args
        .metrics
        .as_deref()
        .map(MetricsLog::create)
        .transpose()?;
    if let Some(metrics) = &mut metrics {
        for record in &earlier_records {
            metrics.push(record.clone())?;
        }
    }
    let mut reporter = TrainingReporter::new(total_epochs, args.quiet, metrics);
    reporter.records = earlier_records.clone();
    // From here on, SIGINT and SIGTERM stop training cleanly (after the current step).
    let signals = StopSignals::install()?;
    trainer.set_stop_flag(signals.stop_flag());
    reporter.println(&format!(
        "training {} on {} ({} samples{}{}), {} threads",
        mlp.config(),
        args.dataset,
        train_set.len(),
        validation
            .as_ref()
            .map_or(String::new(), |v| format!(", {} for validation", v.len())),
        test.as_ref()
            .map_or(String::new(), |t| format!(", {} for test", t.len())),
        threads
    ));
    reporter.println(&memory_line(&mut mlp, &train_set, args.batch_size)?);
    if let Some(resume) = &args.resume {
        reporter.println(&format!(
            "resuming {} at step {} (epoch {})",
            resume.display(),
            trainer.steps(),
            trainer.epoch()
        ));
    }
    let mut image_metadata = BTreeMap::new();
    if let Some((rows, cols)) = train_set.image_shape() {
        image_metadata.insert("image_shape".to_string(), format!("{rows}x{cols}"));
    }
    let mut gradient_statistics;
    let observer: &mut dyn TrainingObserver = if args.grad_stats {
        gradient_statistics = GradientStatistics::new(&mut reporter);
        &mut gradient_statistics
    } else {
        &mut reporter
    };
    let mut checkpoints = CheckpointWriter::new(
        observer,
        args.checkpoint_path(),
        run_description(args, threads),
        image_metadata.clone(),
        earlier_records,
    );
    let result = trainer.run(&mut mlp, data, &mut checkpoints);
    let summary = match result {
        Ok(summary) => summary,
        Err(TrainError::Interrupted { step, epoch }) => {
            checkpoints.write(&trainer, &mlp)?;
            drop(checkpoints);
            reporter.finish();
            let signal = signals.received();
            let path = args.checkpoint_path();
            return Err(Interrupted {
                message: format!(
                    "interrupted by {} after step {step} (epoch {epoch}); checkpoint written to {}; \
                     continue with: backprop train --resume {}",
                    signal.map_or("a signal", |s| s.name),
                    path.display(),
                    path.display()
                ),
                exit_code: signal.map_or(130, |s| s.exit_code),
            }
            .into());
        }
        Err(error) => {
            let last_good = checkpoints.last_written_step().map(|step| {
                format!(
                    "; the last good checkpoint, {}, holds step {step}",
                    checkpoints.path().display()
                )
            });
            drop(checkpoints);
            reporter.finish();
            bail!("{error}{}", last_good.unwrap_or_default());
        }
    };
    if args.checkpoint_every.is_some() || args.checkpoint.is_some() {
        checkpoints.write(&trainer, &mlp)?;
    }
    drop(checkpoints);
    reporter.finish();

    let mut metadata = image_metadata;
    metadata.insert(
        "training".to_string(),
        training_description(args, threads, summary.steps),
    );
    save_model(&args.out, &mlp, &metadata)?;
    println!("model written to {}", args.out.display());
    if let Some(plot) = &args.plot {
        let title = format!("{} on {}", mlp.config(), args.dataset);
        if args.grad_stats {
            let panel = ExtraPanel::with_prefix(
                &reporter.records,
                KEY_PREFIX,
                "Gradient norms (mean over each epoch's steps)",
                "‖∂J/∂W_k‖, ‖∂J/∂z_k‖",
            );
            plot_training_curves_with_extra(plot, &reporter.records, &title, panel.as_ref())?;
        } else {
            plot_training_curves(plot, &reporter.records, &title)?;
        }
        println!("plot written to {}", plot.display());
    }
    if let Some(metrics) = &args.metrics {
        println!("metrics written to {}", metrics.display());
    }
    if args.checkpoint_every.is_some() || args.checkpoint.is_some() {
        println!("checkpoint written to {}", args.checkpoint_path().display());
    }
    Ok(true)
}

/// The flags of a resumed run: the checkpoint's configuration, with `--epochs`, `--steps`,
/// `--threads` and the output flags taken from the command line. A flag that would change
/// the run (`--lr`, `--dataset`...) is a usage error unless it repeats the saved value.
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
        .map_err(|e| anyhow::anyhow!("{path}: the checkpoint's run description is damaged: {e}"))?;
    let config = &checkpoint.config;
    let mut resolved = args.clone();
    let keep = |id: &str, flag: &str, typed: String, saved: String| -> Result<()> {
        if given.contains(id) && typed != saved {
            return Err(UsageError(format!(
                "{flag} {typed} conflicts with --resume {path}, whose run has {saved}; drop \
                 {flag} (a resumed run keeps its configuration)"
            ))
            .into());
        }
        Ok(())
    };
    keep(
        "dataset",
        "--dataset",
        args.dataset.clone(),
        run.dataset.clone(),
    )?;
    keep(
        "data_dir",
        "--data-dir",
        display_path(&args.data_dir),
        display_path(&run.data_dir),
    )?;
    keep(
        "val_fraction",
        "--val-fraction",
        args.val_fraction.to_string(),
        run.val_fraction.to_string(),
    )?;
    keep(
        "seed",
        "--seed",
        args.seed.to_string(),
        config.seed.to_string(),
    )?;
    keep(
        "optimizer",
        "--optimizer",
        args.optimizer.clone(),
        config.optimizer.name().to_string(),
    )?;
    keep(
        "lr",
        "--lr",
        args.lr.to_string(),
        config.learning_rate.to_string(),
    )?;
    let weight_decay = checkpoint.mlp.config().weight_decay;
    keep(
        "weight_decay",
        "--weight-decay",
        args.weight_decay.to_string(),
        weight_decay.to_string(),
    )?;
    keep(
        "batch_size",
        "--batch-size",
        args.batch_size.to_string(),
        config.batch_size.to_string(),
    )?;
    let shuffle_name = |shuffle: bool| if shuffle { "shuffling" } else { "no shuffling" };
    keep(
        "no_shuffle",
        "--no-shuffle",
        shuffle_name(!args.no_shuffle).into(),
        shuffle_name(config.shuffle).into(),
    )?;
    resolved.dataset = run.dataset;
    resolved.data_dir = run.data_dir;
    resolved.val_fraction = run.val_fraction;
    resolved.seed = config.seed;
    resolved.optimizer = config.optimizer.name().to_string();
    resolved.lr = config.learning_rate;
    resolved.weight_decay = weight_decay;
    resolved.batch_size = config.batch_size;
    resolved.no_shuffle = !config.shuffle;
    if !given.contains("threads") {
        resolved.threads = Some(run.threads);
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

fn display_path(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or("no --data-dir".into(), |p| p.display().to_string())
}

/// What a checkpoint records of the command line, beyond the trainer's configuration and the
/// model: where the data came from, and the threads (for bit-identical results).
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedRun {
    dataset: String,
    data_dir: Option<PathBuf>,
    val_fraction: f64,
    threads: usize,
}

fn run_description(args: &TrainArgs, threads: usize) -> serde_json::Value {
    serde_json::to_value(SavedRun {
        dataset: args.dataset.clone(),
        data_dir: args.data_dir.clone(),
        val_fraction: args.val_fraction,
        threads,
    })
    .expect("plain data serializes")
}

/// The model to train: `start` (from `--resume`, named by its flag), `--init`, or new from
/// the flags and the data.
fn build_model(
    args: &TrainArgs,
    train_set: &Dataset,
    start: Option<(String, Mlp<f32>)>,
) -> Result<Mlp<f32>> {
    let activation = args
        .activation
        .as_deref()
        .map(|a| Activation::from_name(a).expect("clap checked the name"));
    let loss = args
        .loss
        .as_deref()
        .map(|l| Loss::from_name(l).expect("clap checked the name"));
    let bias = if args.no_bias {
        Some(false)
    } else if args.bias {
        Some(true)
    } else {
        None
    };
    let start = match (start, &args.init) {
        (Some(start), _) => Some(start),
        (None, Some(path)) => Some((format!("--init {}", path.display()), load_model(path)?.mlp)),
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
            loaded.reconfigured(config)?
        }
        None => {
            let config = MlpConfig {
                inputs: train_set.input_dim(),
                hidden: args.hidden.clone().unwrap_or_else(|| vec![256]),
                outputs: train_set.num_classes(),
                activation: activation.unwrap_or(Activation::Relu),
                loss: loss.unwrap_or(Loss::CrossEntropy),
                bias: bias.unwrap_or(true),
                weight_decay: args.weight_decay,
            };
            Mlp::new(config, args.seed)?
        }
    };
    Ok(mlp)
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
        "val_fraction": args.val_fraction,
        "optimizer": args.optimizer,
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
