//! `backprop train`: the main job.

use super::dataset_arg::load_splits;
use super::flag_values::{count, fraction, non_negative_number, positive_number};
use super::progress::TrainingReporter;
use anyhow::{bail, Context, Result};
use backprop::data::Dataset;
use backprop::model_file::{load_model, save_model};
use backprop::nn::memory::memory_picture;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::optim::OptimizerKind;
use backprop::train::grad_stats::{GradientStatistics, KEY_PREFIX};
use backprop::train::metrics::MetricsLog;
use backprop::train::{TrainConfig, TrainData, Trainer};
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
}

/// Runs `backprop train`.
pub fn run(args: &TrainArgs) -> Result<bool> {
    if let Some(plot) = &args.plot {
        backprop::viz::plot::check_plot_path(plot)?;
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")?;
    pool.install(|| train(args, threads))
}

fn train(args: &TrainArgs, threads: usize) -> Result<bool> {
    let splits = load_splits(&args.dataset, args.data_dir.as_deref(), !args.quiet)?;
    let (train_set, validation): (Dataset, Option<Dataset>) = if args.val_fraction > 0.0 {
        let (train, val) = splits.train.split_tail(args.val_fraction)?;
        (train, Some(val))
    } else {
        (splits.train, None)
    };
    let test = splits.test;

    let mut mlp = build_model(args, &train_set)?;
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
    let metrics = args
        .metrics
        .as_deref()
        .map(MetricsLog::create)
        .transpose()?;
    let mut reporter = TrainingReporter::new(total_epochs, args.quiet, metrics);
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
    let mut trainer = Trainer::new(trainer_config)?;
    let data = TrainData {
        train: &train_set,
        validation: validation.as_ref(),
        test: test.as_ref(),
    };
    let result = if args.grad_stats {
        trainer.run(&mut mlp, data, &mut GradientStatistics::new(&mut reporter))
    } else {
        trainer.run(&mut mlp, data, &mut reporter)
    };
    reporter.finish();
    let summary = result?;

    let mut metadata = BTreeMap::new();
    metadata.insert(
        "training".to_string(),
        training_description(args, threads, summary.steps),
    );
    if let Some((rows, cols)) = train_set.image_shape() {
        metadata.insert("image_shape".to_string(), format!("{rows}x{cols}"));
    }
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
    Ok(true)
}

/// The model to train: from `--init`, or new from the flags and the data.
fn build_model(args: &TrainArgs, train_set: &Dataset) -> Result<Mlp<f32>> {
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
    let mlp = match &args.init {
        Some(path) => {
            let loaded = load_model(path)?;
            let from_file = loaded.mlp.config().clone();
            let conflict = |flag: &str, given: String, file: String| -> Result<()> {
                if given != file {
                    bail!(
                        "{flag} {given} conflicts with --init {}, whose model has {file}; \
                         drop {flag} (the architecture comes from the file)",
                        path.display()
                    );
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
                    "--init {} takes {} input features, but the data has {}",
                    path.display(),
                    from_file.inputs,
                    train_set.input_dim()
                );
            }
            let config = MlpConfig {
                weight_decay: args.weight_decay,
                ..from_file
            };
            loaded.mlp.reconfigured(config)?
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
        .map(|k| format!("{} {}", k.name, bytes(k.bytes)))
        .collect();
    Ok(format!(
        "memory per batch of {rows}: training keeps {} for backward ({}); prediction needs {}",
        bytes(picture.training_bytes),
        kept.join(", "),
        bytes(picture.prediction_bytes)
    ))
}

/// A byte count for people: `1.03 MB`, `262 kB`, `512 B`.
fn bytes(count: usize) -> String {
    match count {
        0..1_000 => format!("{count} B"),
        1_000..1_000_000 => format!("{:.0} kB", count as f64 / 1e3),
        _ => format!("{:.2} MB", count as f64 / 1e6),
    }
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
