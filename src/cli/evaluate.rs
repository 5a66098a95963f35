//! `backprop eval`: loss, accuracy and confusion matrix of a trained model.

use super::dataset_arg::{load_splits, Split};
use super::flag_values::count;
use anyhow::{Context, Result};
use backprop::model_file::load_model;
use backprop::train::evaluate;
use clap::Args;
use std::path::PathBuf;

/// Flags of `backprop eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model file (safetensors, as `backprop train --out` writes it).
    #[arg(long)]
    model: PathBuf,
    /// spiral, circles, xor, blobs, mnist, fashion-mnist, or a folder of IDX files.
    #[arg(long, default_value = "spiral")]
    dataset: String,
    /// Folder of the mnist / fashion-mnist files.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Which split to evaluate.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    split: Split,
    /// Samples per forward pass.
    #[arg(long, default_value = "1024", value_parser = count)]
    batch_size: usize,
}

/// Runs `backprop eval`.
pub fn run(args: &EvalArgs) -> Result<bool> {
    let mut model = load_model(&args.model)?.mlp;
    let splits = load_splits(&args.dataset, args.data_dir.as_deref(), true)?;
    let data = match args.split {
        Split::Train => splits.train,
        Split::Test => splits.test.with_context(|| {
            format!(
                "the dataset '{}' has no test split (t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]); use --split train",
                args.dataset
            )
        })?,
    };
    if data.input_dim() != model.config().inputs {
        anyhow::bail!(
            "the model {} takes {} input features, but the dataset '{}' has {}",
            args.model.display(),
            model.config().inputs,
            args.dataset,
            data.input_dim()
        );
    }
    let q = model.config().outputs;
    if data.num_classes() > q {
        anyhow::bail!(
            "the {} split has label {}, but the model {} has only {q} outputs",
            args.split,
            data.num_classes() - 1,
            args.model.display()
        );
    }
    let result = evaluate(&mut model, &data, args.batch_size)?;
    println!("model    {} ({})", args.model.display(), model.config());
    println!(
        "data     {} {} split, {} samples",
        args.dataset, args.split, result.samples
    );
    println!("loss     {:.6}", result.loss);
    println!("accuracy {:.2}%", 100.0 * result.accuracy);
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
