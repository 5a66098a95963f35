//! Flags shared by `graph` and `explain`: which model (a file, or a small D2L network) and
//! which samples (from a dataset, or random).

use super::bias_flags::BiasFlags;
use super::dataset_arg::{load_splits, Split};
use super::flag_values::{count, index, non_negative_number, whole_number};
use super::help_text;
use super::model_source::open_model;
use super::output_paths::{Content, OutputPaths};
use super::resource_limits::{check_inspected_depth, inspection_bytes, MemoryLimitArgs};
use anyhow::{bail, Context, Result};
use backprop::data::Dataset;
use backprop::model_io::import::ImportChoices;
use backprop::nn::gradcheck::{random_batch, random_model};
use backprop::nn::precision::convert_precision;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::tensor::Tensor;
use clap::Args;
use std::path::{Path, PathBuf};

/// The model: `--model FILE`, or a new network built from the size flags.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// A model file to use instead of a new network.
    ///
    /// As `backprop train` writes it (any depth, with or without biases), a PyTorch state
    /// dict of nn.Linear layers, or plain W1 .. Wk (safetensors). Without it: a new network
    /// of --inputs, --hidden and --outputs, with biases unless --no-bias (with --no-bias and
    /// one hidden layer, the D2L network).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bias", "no_bias"], help_heading = help_text::MODEL)]
    pub model: Option<PathBuf>,
    /// Number of input features d [default: the dataset's, else 4].
    #[arg(long, value_name = "N", value_parser = count, conflicts_with = "model", help_heading = help_text::MODEL)]
    pub inputs: Option<usize>,
    /// Hidden layer widths, comma-separated.
    #[arg(long, value_name = "LIST", default_value = "5", value_delimiter = ',', value_parser = count, conflicts_with = "model", help_heading = help_text::MODEL)]
    pub hidden: Vec<usize>,
    /// Number of outputs q [default: the dataset's classes, else 3].
    #[arg(long, value_name = "N", value_parser = count, conflicts_with = "model", help_heading = help_text::MODEL)]
    pub outputs: Option<usize>,
    /// The activation [default: relu].
    ///
    /// The activation phi; with --model, the file's by default, and it must agree with the file when the file names one.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::MODEL)]
    pub activation: Option<Activation>,
    /// The loss [default: cross-entropy].
    ///
    /// The loss l; with --model, the file's by default, and it must agree with the file when the file names one.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::MODEL)]
    pub loss: Option<Loss>,
    /// Biases of a new network, drawn from N(0, 0.5²) (see [`BiasFlags`]).
    #[command(flatten)]
    pub bias: BiasFlags,
    /// The λ of s = λ/2 Σ_k ||W_k||² [default: 0.01, or the model file's].
    #[arg(long, value_name = "F", alias = "lambda", value_parser = non_negative_number, help_heading = help_text::OPTIMISATION)]
    pub weight_decay: Option<f64>,
    /// Seed of the random weights and of the random sample.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = whole_number, help_heading = help_text::MODEL)]
    pub seed: u64,
}

/// The samples: from `--dataset` at `--index`, or random.
#[derive(Args, Debug, Clone)]
pub struct SampleArgs {
    /// Take the samples from this data set (else x ~ N(0, 1), random labels).
    ///
    /// spiral, circles, xor, blobs, mnist, fashion-mnist or a folder of IDX files.
    #[arg(long, value_name = "NAME|DIR", help_heading = help_text::DATA)]
    pub dataset: Option<String>,
    /// Folder of the mnist / fashion-mnist files.
    #[arg(long, value_name = "DIR", requires = "dataset", help_heading = help_text::DATA)]
    pub data_dir: Option<PathBuf>,
    /// Which sample of the split, counted from 0.
    ///
    /// With a batch (graph --batch-size B), the batch is samples N to N + B - 1.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = index, requires = "dataset", help_heading = help_text::DATA)]
    pub index: usize,
    /// The split.
    ///
    /// Which split of the data set: test by default, as in every command (the samples a trained model did not learn from).
    #[arg(long, value_name = "NAME", value_enum, default_value_t = Split::Test, requires = "dataset", help_heading = help_text::DATA)]
    pub split: Split,
}

/// Checks `--out` (writable, its extension not another kind of file than `content`, and not
/// the `--model` file or a dataset file) before anything is read or written; shared by `graph`
/// and `explain`.
pub fn check_paths(
    out: Option<&Path>,
    content: Content,
    model: &ModelArgs,
    sample: &SampleArgs,
) -> Result<()> {
    let Some(out) = out else {
        return Ok(());
    };
    let mut paths = OutputPaths::new();
    paths.output("--out", out, content);
    if let Some(model) = &model.model {
        paths.input("--model", model);
    }
    if let Some(dataset) = &sample.dataset {
        let folder = Path::new(dataset);
        if folder.is_dir() {
            paths.inputs_in_folder("--dataset", folder);
        }
    }
    if let Some(data_dir) = &sample.data_dir {
        paths.inputs_in_folder("--data-dir", data_dir);
    }
    paths.check()?;
    Ok(())
}

/// The split of `--dataset` that samples come from, if one was named.
pub fn load_sample_set(args: &SampleArgs) -> Result<Option<Dataset>> {
    let Some(spec) = &args.dataset else {
        return Ok(None);
    };
    let splits = load_splits(spec, args.data_dir.as_deref(), false)?;
    let set = match args.split {
        Split::Test => splits.test.with_context(|| {
            format!(
                "--dataset {spec} has no test split (t10k-images-idx3-ubyte[.gz] and \
                 t10k-labels-idx1-ubyte[.gz]); use --split train"
            )
        })?,
        Split::Train => splits.train,
    };
    Ok(Some(set))
}

/// The chosen model in `f64`, its parameters exact copies of the file's `f32` ones. A new
/// model takes its input and output sizes from `data` unless the flags give them. The model
/// must be at most [`MAX_INSPECTED_LAYERS`](super::resource_limits::MAX_INSPECTED_LAYERS)
/// deep, and inspecting it at `batch` samples must fit in the memory limit `memory`.
pub fn choose_model(
    args: &ModelArgs,
    memory: &MemoryLimitArgs,
    data: Option<&Dataset>,
    batch: usize,
) -> Result<Mlp<f64>> {
    let check_sizes = |config: &MlpConfig, source: &str| -> Result<()> {
        check_inspected_depth(config.hidden.len(), source)?;
        let what = format!("{source} ({config}) at {batch} sample(s)");
        memory.check(&what, inspection_bytes(config, batch))?;
        Ok(())
    };
    match &args.model {
        Some(path) => {
            let choices = ImportChoices {
                activation: args.activation,
                loss: args.loss,
                fallback_loss: None,
            };
            let loaded = open_model(path, &choices)?.loaded;
            check_sizes(loaded.mlp.config(), &format!("--model {}", path.display()))?;
            let mut mlp: Mlp<f64> = convert_precision(&loaded.mlp)?;
            if let Some(lambda) = args.weight_decay {
                let config = MlpConfig {
                    weight_decay: lambda,
                    ..mlp.config().clone()
                };
                mlp = mlp.reconfigured(config)?;
            }
            Ok(mlp)
        }
        None => {
            let config = MlpConfig {
                inputs: args
                    .inputs
                    .unwrap_or_else(|| data.map_or(4, Dataset::input_dim)),
                hidden: args.hidden.clone(),
                outputs: args
                    .outputs
                    .unwrap_or_else(|| data.map_or(3, |d| d.num_classes().max(2))),
                activation: args.activation.unwrap_or(Activation::Relu),
                loss: args.loss.unwrap_or(Loss::CrossEntropy),
                bias: args.bias.for_new_network(),
                weight_decay: args.weight_decay.unwrap_or(0.01),
            };
            check_sizes(&config, "the model of --inputs, --hidden and --outputs")?;
            Ok(random_model(config, args.seed)?)
        }
    }
}

/// `count` samples for `config`: rows `--index ..` of `data` (the split of `--dataset`), or
/// random ones when there is no dataset. Returns the features (`count x d`), the labels, and
/// a description.
pub fn choose_samples(
    args: &SampleArgs,
    data: Option<&Dataset>,
    config: &MlpConfig,
    count: usize,
    seed: u64,
) -> Result<(Tensor<f64>, Vec<usize>, String)> {
    let (Some(set), Some(spec)) = (data, &args.dataset) else {
        let (x, labels) = random_batch(config, count, seed);
        let description = if count == 1 {
            format!("x ~ N(0, 1) (seed {seed}), label y = {}", labels[0])
        } else {
            format!("{count} samples x ~ N(0, 1) (seed {seed}), random labels")
        };
        return Ok((x, labels, description));
    };
    if set.input_dim() != config.inputs {
        bail!(
            "--dataset {spec} has {} input features, but the model takes {}",
            set.input_dim(),
            config.inputs
        );
    }
    let end = args.index.saturating_add(count);
    if end > set.len() {
        bail!(
            "--index {} with {count} sample(s) goes past the end of the {} split of {spec}, which has {} samples",
            args.index,
            args.split,
            set.len()
        );
    }
    let mut features = Vec::with_capacity(count * config.inputs);
    let mut labels = Vec::with_capacity(count);
    for i in args.index..end {
        features.extend(
            set.feature_row(i)
                .expect("index checked above")
                .map(f64::from),
        );
        let label = set.labels()[i] as usize;
        if label >= config.outputs {
            bail!(
                "sample {i} of {spec} has label {label}, but the model has only {} outputs",
                config.outputs
            );
        }
        labels.push(label);
    }
    let x = Tensor::from_vec(count, config.inputs, features).expect("count x d features");
    let description = if count == 1 {
        format!(
            "sample {} of the {} split of {spec}, label y = {}",
            args.index, args.split, labels[0]
        )
    } else {
        format!(
            "samples {}..{} of the {} split of {spec}",
            args.index,
            end - 1,
            args.split
        )
    };
    Ok((x, labels, description))
}
