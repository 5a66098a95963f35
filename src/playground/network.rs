//! The network as the page draws it: layer sizes and every weight and bias, so that edge
//! width and colour can show each weight's size and sign.

use crate::nn::Mlp;
use serde::Serialize;

/// The weights of every layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkWeights {
    /// `d, h_1, ..., q`.
    pub layer_sizes: Vec<usize>,
    /// `W_k` as rows (`out x in`), for `k = 1..`.
    pub weights: Vec<Vec<Vec<f32>>>,
    /// `b_k` when the model has biases (empty otherwise).
    pub biases: Vec<Vec<f32>>,
}

/// The current weights of `mlp`.
pub fn network_weights(mlp: &Mlp<f32>) -> NetworkWeights {
    let depth = mlp.config().depth();
    let weights = (1..=depth)
        .map(|k| {
            let w = mlp.weight(k);
            w.as_slice()
                .chunks_exact(w.cols().max(1))
                .map(<[f32]>::to_vec)
                .collect()
        })
        .collect();
    let biases = (1..=depth)
        .filter_map(|k| mlp.bias(k).map(|b| b.as_slice().to_vec()))
        .collect();
    NetworkWeights {
        layer_sizes: mlp.config().layer_sizes(),
        weights,
        biases,
    }
}
