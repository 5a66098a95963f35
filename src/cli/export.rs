//! `backprop export`: a model file as an ONNX graph, or as a Python module that rebuilds it
//! in PyTorch.

use super::help_text;
use super::model_source::{open_model, ImportFlags};
use super::output_paths::{Content, OutputFormat, OutputPaths};
use anyhow::{Context, Result};
use backprop::atomic_file::write_bytes_atomically;
use backprop::model_io::onnx::onnx_bytes;
use backprop::model_io::pytorch::pytorch_module;
use backprop::nn::Loss;
use clap::Args;
use std::path::{Path, PathBuf};

/// What `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// An ONNX graph (opset 13): outputs `logits` and `probabilities`.
    Onnx,
    /// A Python module that rebuilds the nn.Sequential and loads the weights from the
    /// model file.
    Pytorch,
}

impl OutputFormat for ExportFormat {
    fn content(self) -> Content {
        match self {
            ExportFormat::Onnx => Content::Onnx,
            ExportFormat::Pytorch => Content::Python,
        }
    }
}

/// Flags of `backprop export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model file.
    ///
    /// As `backprop train --out` writes it, a PyTorch state dict of nn.Linear layers, or
    /// plain W1 .. Wk (safetensors).
    #[arg(long, value_name = "FILE", help_heading = help_text::MODEL)]
    model: PathBuf,
    #[command(flatten)]
    import: ImportFlags,
    /// onnx or pytorch.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::OUTPUT)]
    format: ExportFormat,
    /// Where to write it (required for onnx; pytorch prints without it).
    ///
    /// Without it, the Python module goes to standard output.
    #[arg(short, long, value_name = "FILE", required_if_eq("format", "onnx"), help_heading = help_text::OUTPUT)]
    out: Option<PathBuf>,
}

/// Runs `backprop export`.
pub fn run(args: &ExportArgs) -> Result<bool> {
    if let Some(out) = &args.out {
        let mut paths = OutputPaths::new();
        paths
            .output("--out", out, args.format.content())
            .input("--model", &args.model);
        paths.check()?;
    }
    // The exported graph ends in logits and softmax whatever the training loss was.
    let imported = open_model(&args.model, &args.import.choices(Some(Loss::CrossEntropy)))?;
    let mlp = &imported.loaded.mlp;
    let bytes = match args.format {
        ExportFormat::Onnx => onnx_bytes(mlp),
        ExportFormat::Pytorch => {
            let weights = weights_path(&args.model, args.out.as_deref())?;
            pytorch_module(mlp.config(), &imported.layers, &weights).into_bytes()
        }
    };
    match &args.out {
        Some(out) => {
            write_bytes_atomically(out, &bytes)
                .with_context(|| format!("writing --out {}", out.display()))?;
            println!(
                "{} ({}) written to {}",
                match args.format {
                    ExportFormat::Onnx => "ONNX model",
                    ExportFormat::Pytorch => "PyTorch module",
                },
                mlp.config(),
                out.display()
            );
        }
        None => print!("{}", String::from_utf8_lossy(&bytes)),
    }
    Ok(true)
}

/// How the Python module names the model file: its name alone when both sit in one folder,
/// else its absolute path.
fn weights_path(model: &Path, out: Option<&Path>) -> Result<String> {
    let model = model
        .canonicalize()
        .with_context(|| format!("--model {}", model.display()))?;
    let folder = out
        .map(|out| match out.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .and_then(|folder| folder.canonicalize().ok());
    let same_folder = folder.is_some_and(|folder| model.parent() == Some(folder.as_path()));
    let shown = if same_folder {
        model.file_name().map(PathBuf::from).unwrap_or(model)
    } else {
        model
    };
    shown
        .to_str()
        .map(String::from)
        .context("the model file's path is not valid UTF-8, which a Python module needs")
}
