//! Evaluation: loss, accuracy and confusion matrix of a model on a dataset.

use crate::data::Dataset;
use crate::nn::mlp::{argmax, MlpError};
use crate::nn::Mlp;

/// The result of evaluating a model on a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean per-sample loss `L` (without the L2 term).
    pub loss: f64,
    /// The fraction of samples classified correctly.
    pub accuracy: f64,
    /// `confusion[true][predicted]`: how many samples of each class went to each class.
    pub confusion: Vec<Vec<usize>>,
    /// Number of samples.
    pub samples: usize,
}

/// Evaluates `mlp` on every sample of `data`, `batch_size` samples at a time (forward
/// propagation only). Labels must be below the model's number of outputs.
pub fn evaluate(
    mlp: &mut Mlp<f32>,
    data: &Dataset,
    batch_size: usize,
) -> Result<Evaluation, MlpError> {
    evaluate_each(mlp, data, batch_size, |_, _| {})
}

/// [`evaluate`], also handing `each` every sample's index and outputs `o` (in sample
/// order), as the same batched forward pass computed them.
pub fn evaluate_each(
    mlp: &mut Mlp<f32>,
    data: &Dataset,
    batch_size: usize,
    mut each: impl FnMut(usize, &[f32]),
) -> Result<Evaluation, MlpError> {
    if data.input_dim() != mlp.config().inputs {
        return Err(MlpError::Batch(format!(
            "the model takes {} input features, the data has {}",
            mlp.config().inputs,
            data.input_dim()
        )));
    }
    let q = mlp.config().outputs;
    let mut confusion = vec![vec![0usize; q]; q];
    let mut loss_sum = 0.0f64;
    let batch_size = batch_size.max(1);
    let indices: Vec<usize> = (0..data.len()).collect();
    for batch in indices.chunks(batch_size) {
        data.gather_features(batch, mlp.features_mut(batch.len()));
        mlp.set_labels(batch.iter().map(|&i| data.labels()[i] as usize))?;
        mlp.forward()?;
        loss_sum += mlp
            .per_sample_losses()
            .as_slice()
            .iter()
            .map(|&l| l as f64)
            .sum::<f64>();
        for (row, &i) in mlp.outputs().as_slice().chunks_exact(q).zip(batch) {
            confusion[data.labels()[i] as usize][argmax(row)] += 1;
            each(i, row);
        }
    }
    let samples = data.len();
    let correct: usize = (0..q).map(|c| confusion[c][c]).sum();
    Ok(Evaluation {
        loss: loss_sum / samples as f64,
        accuracy: correct as f64 / samples as f64,
        confusion,
        samples,
    })
}
