//! `backprop eval`: loss, accuracy and confusion matrix of a trained model on one split of
//! a data set: by default the data set its file records, with the validation share training
//! held out, so that `--split val` reproduces the validation figures `train` printed.

use super::dataset_arg::load_splits;
use super::exit_status::UsageError;
use super::flag_values::{count, fraction};
use super::help_text;
use super::model_source::{open_model, ImportFlags};
use super::resource_limits::thread_count;
use anyhow::{bail, Context, Result};
use backprop::data::{held_out_count, Dataset};
use backprop::format;
use backprop::train::evaluate;
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// Which samples `eval` scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalSplit {
    /// The training file less the held-out validation tail: the samples training used.
    Train,
    /// The held-out tail of the training file (file order), as `train --val-fraction` split it.
    Val,
    /// The test files (`t10k-*`).
    Test,
}

impl std::fmt::Display for EvalSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EvalSplit::Train => "train",
            EvalSplit::Val => "val",
            EvalSplit::Test => "test",
        })
    }
}

/// Flags of `backprop eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The data [default: the data set the model file records].
    ///
    /// spiral, circles, xor, blobs, mnist, fashion-mnist, or a folder of IDX files.
    #[arg(long, value_name = "NAME|DIR", help_heading = help_text::DATA)]
    dataset: Option<String>,
    /// Folder of the mnist / fashion-mnist files.
    #[arg(long, value_name = "DIR", help_heading = help_text::DATA)]
    data_dir: Option<PathBuf>,
    /// The split.
    ///
    /// Which split to evaluate: test by default, as in every command (the samples a trained model did not learn from).
    #[arg(long, value_name = "NAME", value_enum, default_value_t = EvalSplit::Test, help_heading = help_text::DATA)]
    split: EvalSplit,
    /// The share held out for validation (--split train, val).
    ///
    /// The share F of the training file held out for validation: its last F, in file order, as `train --val-fraction` held it out [default: the one the
    /// model file records, else 0].
    #[arg(long, value_name = "F", value_parser = fraction, help_heading = help_text::DATA)]
    val_fraction: Option<f64>,
    /// The model file.
    ///
    /// As `backprop train --out` writes it, a PyTorch state dict of nn.Linear layers, or
    /// plain W1 .. Wk (safetensors).
    #[arg(long, value_name = "FILE", help_heading = help_text::MODEL)]
    model: PathBuf,
    #[command(flatten)]
    import: ImportFlags,
    /// Print one JSON object (loss and accuracy at full precision) instead of the report.
    #[arg(long, help_heading = help_text::OUTPUT)]
    json: bool,
    /// Also report how long loading and inference took.
    ///
    /// Loading is reading the model and the data; inference is the forward passes over
    /// the split (a "time" line, or a "timing" object with --json, in seconds: load, and
    /// inference as wall and as CPU time of all threads).
    #[arg(long, help_heading = help_text::OUTPUT)]
    timing: bool,
    /// Samples per batch [default: the training run's, else 1024].
    ///
    /// The loss is summed batch by batch, as training summed its validation loss, so the
    /// training run's size gives its figures to the last bit; another size changes only the
    /// last bits of the loss. A forward pass takes at most 1,024 samples.
    #[arg(short, long, value_name = "N", value_parser = count, help_heading = help_text::PERFORMANCE)]
    batch_size: Option<usize>,
    /// Threads [default: the training run's, else all cores].
    #[arg(short = 'j', long, value_name = "N", value_parser = count, help_heading = help_text::PERFORMANCE)]
    threads: Option<usize>,
}

/// What a model file's metadata records about the run that trained it (the `training` entry
/// `backprop train` writes).
#[derive(Debug, Default)]
struct TrainingRecord {
    dataset: Option<String>,
    data_dir: Option<PathBuf>,
    val_fraction: Option<f64>,
    batch_size: Option<usize>,
    threads: Option<usize>,
}

impl TrainingRecord {
    /// The record in `metadata`, or an empty one for a file without it.
    fn from_metadata(metadata: &HashMap<String, String>) -> Self {
        let Some(value) = metadata
            .get("training")
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        else {
            return TrainingRecord::default();
        };
        let size = |key: &str| {
            value[key]
                .as_u64()
                .and_then(|v| usize::try_from(v).ok())
                .filter(|&v| v >= 1)
        };
        TrainingRecord {
            dataset: value["dataset"].as_str().map(String::from),
            data_dir: value["data_dir"].as_str().map(PathBuf::from),
            val_fraction: value["val_fraction"]
                .as_f64()
                .filter(|f| (0.0..1.0).contains(f)),
            batch_size: size("batch_size"),
            threads: size("threads"),
        }
    }
}

/// Runs `backprop eval`.
pub fn run(args: &EvalArgs) -> Result<bool> {
    let started = Instant::now();
    if args.split == EvalSplit::Test && args.val_fraction.is_some() {
        return Err(UsageError(
            "--val-fraction applies to --split train or val; the test split is the test files, \
             whatever the validation share"
                .into(),
        )
        .into());
    }
    let imported = open_model(&args.model, &args.import.choices(None))?;
    let record = TrainingRecord::from_metadata(&imported.loaded.metadata);
    // The thread count of the training run, when this machine allows it, so that the
    // figures are the ones training computed.
    let threads = match args.threads {
        Some(threads) => thread_count(Some(threads))?,
        None => record
            .threads
            .and_then(|t| thread_count(Some(t)).ok())
            .map_or_else(|| thread_count(None), Ok)?,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting the thread pool")?;
    let mut model = imported.loaded.mlp;
    pool.install(|| evaluate_split(args, &record, &mut model, started))
}

/// Loads the split, scores `model` on it and prints the result.
fn evaluate_split(
    args: &EvalArgs,
    record: &TrainingRecord,
    model: &mut backprop::nn::Mlp<f32>,
    started: Instant,
) -> Result<bool> {
    let (dataset, data) = load_split(args, record)?;
    if data.input_dim() != model.config().inputs {
        bail!(
            "the model {} takes {} input features, but the dataset '{dataset}' has {}",
            args.model.display(),
            model.config().inputs,
            data.input_dim()
        );
    }
    let q = model.config().outputs;
    if data.num_classes() > q {
        bail!(
            "the {} split has label {}, but the model {} has only {q} outputs",
            args.split,
            data.num_classes() - 1,
            args.model.display()
        );
    }
    let batch_size = args.batch_size.or(record.batch_size).unwrap_or(1024);
    let (inference_began, cpu_began) = (Instant::now(), process_cpu_seconds());
    let result = evaluate(model, &data, batch_size)?;
    let load_seconds = (inference_began - started).as_secs_f64();
    let inference_seconds = inference_began.elapsed().as_secs_f64();
    let inference_cpu_seconds = process_cpu_seconds() - cpu_began;
    if args.json {
        let mut report = serde_json::json!({
            "model": args.model.display().to_string(),
            "dataset": dataset,
            "split": args.split.to_string(),
            "samples": result.samples,
            "loss": result.loss,
            "accuracy": result.accuracy,
            "confusion": result.confusion,
        });
        if args.timing {
            report["timing"] = serde_json::json!({
                "load_seconds": load_seconds,
                "inference_seconds": inference_seconds,
                "inference_cpu_seconds": inference_cpu_seconds,
            });
        }
        println!("{report}");
        return Ok(true);
    }
    println!("model    {} ({})", args.model.display(), model.config());
    println!(
        "data     {dataset} {} split, {}",
        args.split,
        format::counted(result.samples as u64, "sample", "samples")
    );
    println!("loss     {:.6}", result.loss);
    println!("accuracy {:.2}%", 100.0 * result.accuracy);
    if args.timing {
        println!(
            "time     load {}, inference {} ({})",
            format::seconds(load_seconds),
            format::seconds(inference_seconds),
            format::rate(result.samples as f64 / inference_seconds, "samples")
        );
    }
    println!("\nconfusion matrix (rows: true class, columns: predicted class)");
    let width = result
        .confusion
        .iter()
        .flatten()
        .max()
        .map_or(1, |m| m.to_string().len())
        .max(q.to_string().len())
        + 1;
    let mut header = format!("{:>6}", "");
    for c in 0..q {
        header.push_str(&format!("{c:>width$}"));
    }
    println!("{header}");
    for (true_class, row) in result.confusion.iter().enumerate() {
        let mut line = format!("{true_class:>6}");
        for count in row {
            line.push_str(&format!("{count:>width$}"));
        }
        println!("{line}");
    }
    Ok(true)
}

/// The CPU time of the process so far, all threads together, in seconds (0 where the clock
/// cannot be read): on a machine shared with other work it shows what inference cost, however
/// long it waited for a core.
fn process_cpu_seconds() -> f64 {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid timespec for the call to write.
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut time) } != 0 {
        return 0.0;
    }
    time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9
}

/// Warns (on stderr) when `--val-fraction` holds out more of the training file than the
/// model's run did: the validation samples beyond that run's share are samples the model was
/// trained on, and its figures on them are not held-out figures.
fn note_trained_on_samples(args: &EvalArgs, record: &TrainingRecord, len: usize, share: f64) {
    let recorded = record.val_fraction.unwrap_or(0.0);
    let held_out = held_out_count(len, share);
    let seen = held_out.saturating_sub(held_out_count(len, recorded));
    if seen > 0 {
        eprintln!(
            "note: {} was trained with validation share {}; {} of the {} samples scored here \
             as validation were in its training data",
            args.model.display(),
            format::exact_number(recorded),
            format::count(seen as u64),
            format::count(held_out as u64)
        );
    }
}

/// The data set's name and the samples of `--split`: `--dataset`, else the one the model
/// file records; the training file split at the validation share as training split it.
fn load_split(args: &EvalArgs, record: &TrainingRecord) -> Result<(String, Dataset)> {
    let (dataset, recorded) = match (&args.dataset, &record.dataset) {
        (Some(dataset), _) => (dataset.clone(), false),
        (None, Some(dataset)) => (dataset.clone(), true),
        (None, None) => bail!(
            "the model file {} does not record the data set it was trained on; give --dataset",
            args.model.display()
        ),
    };
    // A recorded data set that cannot be loaded is the file's problem, not a usage error.
    // The recorded `--data-dir` goes with the recorded data set only.
    let data_dir = match (&args.data_dir, recorded) {
        (Some(dir), _) => Some(dir.as_path()),
        (None, true) => record.data_dir.as_deref(),
        (None, false) => None,
    };
    let splits = match load_splits(&dataset, data_dir, !args.json) {
        Ok(splits) => splits,
        Err(error) if recorded => bail!(
            "the model {} was trained on --dataset {dataset} (recorded in its metadata), which \
             cannot be loaded here; give --dataset: {error:#}",
            args.model.display()
        ),
        // Each of load_splits' errors names --dataset, or the folder and file it read.
        Err(error) => return Err(error),
    };
    let val_fraction = args.val_fraction.or(record.val_fraction).unwrap_or(0.0);
    if args.split == EvalSplit::Val && record.dataset.as_deref() == Some(dataset.as_str()) {
        note_trained_on_samples(args, record, splits.train.len(), val_fraction);
    }
    let data = match args.split {
        EvalSplit::Test => splits.test.with_context(|| {
            format!(
                "the dataset '{dataset}' has no test split (t10k-images-idx3-ubyte[.gz] and \
                 t10k-labels-idx1-ubyte[.gz]); use --split train or val"
            )
        })?,
        EvalSplit::Train if val_fraction == 0.0 => splits.train,
        EvalSplit::Train => splits.train.split_tail(val_fraction)?.0,
        EvalSplit::Val if val_fraction == 0.0 => bail!(
            "the model {} records no validation share: it was trained on the whole training \
             split, so no part of it is held out (score --split test, or give --val-fraction to \
             score a tail it was trained on)",
            args.model.display()
        ),
        EvalSplit::Val => splits.train.split_tail(val_fraction)?.1,
    };
    Ok((dataset, data))
}
