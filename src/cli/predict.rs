//! `backprop predict`: class probabilities for one grayscale image.

use super::help_text;
use super::model_source::{open_model, ImportFlags};
use anyhow::{bail, Result};
use backprop::data::png_input::load_grayscale_image;
use backprop::nn::Loss;
use backprop::tensor::Tensor;
use clap::Args;
use std::path::PathBuf;

/// Flags of `backprop predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A PNG image, converted to grayscale and resized to the model's input.
    #[arg(long, value_name = "FILE", help_heading = help_text::DATA)]
    image: PathBuf,
    /// Invert the image (x = 1 - gray), for a dark digit on a light background.
    ///
    /// MNIST digits are light on dark.
    #[arg(long, help_heading = help_text::DATA)]
    invert: bool,
    /// The model file.
    ///
    /// As `backprop train --out` writes it, a PyTorch state dict of nn.Linear layers, or
    /// plain W1 .. Wk (safetensors).
    #[arg(long, value_name = "FILE", help_heading = help_text::MODEL)]
    model: PathBuf,
    #[command(flatten)]
    import: ImportFlags,
}

/// Runs `backprop predict`.
pub fn run(args: &PredictArgs) -> Result<bool> {
    // The probabilities are softmax(o) whatever the loss, so a file need not name one.
    let loaded = open_model(&args.model, &args.import.choices(Some(Loss::CrossEntropy)))?.loaded;
    let inputs = loaded.mlp.config().inputs;
    let (rows, cols) = match loaded.image_shape() {
        Some(shape) if shape.0 * shape.1 == inputs => shape,
        _ => {
            let side = (inputs as f64).sqrt().round() as usize;
            if side * side != inputs {
                bail!(
                    "the model {} takes {inputs} features, which is not a square image; \
                     predict works on models trained on images",
                    args.model.display()
                );
            }
            (side, side)
        }
    };
    let mut pixels = load_grayscale_image(&args.image, cols, rows)?;
    if args.invert {
        for p in &mut pixels {
            *p = 1.0 - *p;
        }
    }
    let x = Tensor::from_vec(1, inputs, pixels).expect("the image has rows x cols pixels");
    let logits = loaded.mlp.predict(&x)?;
    let o = logits.row(0);
    let max = o.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = o.iter().map(|&v| ((v - max) as f64).exp()).collect();
    let sum: f64 = exps.iter().sum();
    let best = backprop::nn::mlp::argmax(o);
    println!("class  probability");
    for (class, e) in exps.iter().enumerate() {
        let marker = if class == best { "  <- predicted" } else { "" };
        println!("{class:>5}  {:>10.6}{marker}", e / sum);
    }
    Ok(true)
}
