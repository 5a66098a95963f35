//! `backprop predict`: class probabilities for one grayscale image.

use super::help_text;
use super::model_source::{open_model, ImportFlags};
use anyhow::{bail, Result};
use backprop::data::mnist_framing::{frame_like_mnist, MNIST_SIDE};
use backprop::data::png_input::{load_grey_picture, resize_picture};
use backprop::nn::Loss;
use backprop::tensor::Tensor;
use clap::Args;
use std::path::PathBuf;

/// Flags of `backprop predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A PNG image, converted to grayscale and prepared as MNIST prepared its digits.
    ///
    /// For a model of 28 x 28 inputs the digit is scaled into a 20 x 20 box and centred by
    /// its centre of mass in 28 x 28; other models get the picture resized to their input.
    #[arg(long, value_name = "FILE", help_heading = help_text::DATA)]
    image: PathBuf,
    /// Invert the image (x = 1 - gray), for a dark digit on a light background.
    ///
    /// MNIST digits are light on dark. Without this flag a light background is detected
    /// from the picture's border and inverted, with a note.
    #[arg(long, help_heading = help_text::DATA)]
    invert: bool,
    /// Use the picture as it is: no MNIST framing, no inversion unless --invert.
    ///
    /// The grey levels are only resized to the model's input.
    #[arg(long, help_heading = help_text::DATA)]
    as_is: bool,
    /// The model file.
    ///
    /// As `backprop train --out` writes it, a PyTorch state dict of nn.Linear layers, or
    /// plain W1 .. Wk (safetensors).
    #[arg(long, value_name = "FILE", help_heading = help_text::MODEL)]
    model: PathBuf,
    #[command(flatten)]
    import: ImportFlags,
    /// List every class, not the three most probable.
    #[arg(long, help_heading = help_text::OUTPUT)]
    all: bool,
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
    let picture = load_grey_picture(&args.image)?;
    let invert = args.invert || (!args.as_is && picture.has_light_background());
    if invert && !args.invert {
        eprintln!(
            "note: {} has a light background; inverted to light ink on dark, as MNIST \
             (--as-is keeps it)",
            args.image.display()
        );
    }
    let pixels = if (rows, cols) == (MNIST_SIDE, MNIST_SIDE) && !args.as_is {
        frame_like_mnist(&picture.ink(invert), picture.width, picture.height)
    } else {
        resize_picture(&picture, cols, rows)
            .into_iter()
            .map(|level| {
                let level = (level / 255.0) as f32;
                if invert {
                    1.0 - level
                } else {
                    level
                }
            })
            .collect()
    };
    let x = Tensor::from_vec(1, inputs, pixels).expect("the image has rows x cols pixels");
    let logits = loaded.mlp.predict(&x)?;
    let o = logits.row(0);
    let probabilities = backprop::nn::mlp::softmax(o);
    let best = backprop::nn::mlp::argmax(o);
    // Most probable first; ties keep the lower class first (a stable sort).
    let mut ranked: Vec<usize> = (0..probabilities.len()).collect();
    ranked.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    ranked.truncate(if args.all { probabilities.len() } else { 3 });
    println!("class  probability");
    for class in ranked {
        let marker = if class == best { "  <- predicted" } else { "" };
        println!("{class:>5}  {:>10.6}{marker}", probabilities[class]);
    }
    Ok(true)
}
