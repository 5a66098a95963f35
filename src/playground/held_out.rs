//! The held-out split as the network classifies it: the confusion matrix (row = true class,
//! column = predicted), and the images of one cell with their probabilities `softmax(o)`.
//! Both run the batched forward pass of [`evaluate`] over the whole split, on a copy of the
//! session's network taken under its lock (so training is not held up meanwhile).

use crate::data::{Dataset, Features};
use crate::nn::mlp::{argmax, softmax, MlpError};
use crate::nn::Mlp;
use crate::train::evaluate::{evaluate, evaluate_each};
use serde::Serialize;

/// The most images one examples reply holds.
pub const MAX_EXAMPLES: usize = 64;
/// The images an examples reply holds unless asked for another number.
pub const DEFAULT_EXAMPLES: usize = 24;
/// Samples per batch of the forward pass.
const BATCH: usize = 1024;

/// The confusion matrix of a split.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Confusion {
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<usize>>,
    /// Images classified.
    pub total: usize,
    /// The share on the diagonal.
    pub accuracy: f64,
}

/// The confusion matrix of `mlp` on `data`.
pub fn confusion(mlp: &mut Mlp<f32>, data: &Dataset) -> Result<Confusion, MlpError> {
    let evaluation = evaluate(mlp, data, BATCH)?;
    Ok(Confusion {
        counts: evaluation.confusion,
        total: evaluation.samples,
        accuracy: evaluation.accuracy,
    })
}

/// One image of a cell.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Example {
    /// Its index in the split.
    pub index: usize,
    /// Its 784 grey bytes as stored (0 – 255).
    pub pixels: Vec<u8>,
    /// `softmax(o)`.
    pub probabilities: Vec<f64>,
}

/// A page of a cell's images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Examples {
    /// The true class of every image.
    pub actual: usize,
    /// The class the network gives every image.
    pub predicted: usize,
    /// How many images the cell holds.
    pub total: usize,
    /// How many of them, in split order, come before the first one sent.
    pub offset: usize,
    /// At most `limit` of them, in split order.
    pub examples: Vec<Example>,
}

/// The images of `data` whose label is `actual` and which `mlp` classifies as `predicted`:
/// their count, and the `limit` of them after the first `offset`.
pub fn examples(
    mlp: &mut Mlp<f32>,
    data: &Dataset,
    actual: usize,
    predicted: usize,
    offset: usize,
    limit: usize,
) -> Result<Examples, MlpError> {
    let Features::Bytes(bytes) = data.features() else {
        return Err(MlpError::Batch("the split holds no images".to_string()));
    };
    let dim = data.input_dim();
    let labels = data.labels();
    let mut total = 0;
    let mut shown = Vec::new();
    evaluate_each(mlp, data, BATCH, |index, o| {
        if labels[index] as usize == actual && argmax(o) == predicted {
            if total >= offset && shown.len() < limit {
                shown.push(Example {
                    index,
                    pixels: bytes[index * dim..(index + 1) * dim].to_vec(),
                    probabilities: softmax(o),
                });
            }
            total += 1;
        }
    })?;
    Ok(Examples {
        actual,
        predicted,
        total,
        offset,
        examples: shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Loss, MlpConfig};

    #[test]
    fn a_cells_images_are_those_the_confusion_matrix_counts_there() {
        let pixels = (0..60 * 784).map(|i| (i * 31 % 251) as u8).collect();
        let labels = (0..60).map(|i| (i % 3) as u8).collect();
        let data = Dataset::from_images(pixels, labels, 28, 28).unwrap();
        let config = MlpConfig::d2l(784, 8, 3, Activation::Relu, Loss::CrossEntropy, 0.0);
        let mut mlp: Mlp<f32> = Mlp::new(config, 1).unwrap();
        let matrix = confusion(&mut mlp, &data).unwrap();
        assert_eq!(matrix.total, 60);
        for actual in 0..3 {
            for predicted in 0..3 {
                let cell = examples(&mut mlp, &data, actual, predicted, 0, 100).unwrap();
                assert_eq!(cell.total, matrix.counts[actual][predicted]);
                assert_eq!(cell.examples.len(), cell.total);
                for example in &cell.examples {
                    assert_eq!(data.labels()[example.index] as usize, actual);
                    assert_eq!(argmax(&example.probabilities), predicted);
                    let sum: f64 = example.probabilities.iter().sum();
                    assert!((sum - 1.0).abs() < 1e-9);
                }
                let later = examples(&mut mlp, &data, actual, predicted, 1, 1).unwrap();
                assert_eq!(later.total, cell.total);
                assert_eq!(
                    later.examples.first().map(|e| e.index),
                    cell.examples.get(1).map(|e| e.index)
                );
            }
        }
    }
}
