//! One hidden unit, as the network view's thumbnail shows it (TensorFlow Playground's
//! neuron pictures): its output `h_L[u] = phi(z_L[u])` (4.7.1 – 4.7.2) over the input
//! plane, computed by the model's own forward pass (the graph's, [`Mlp::forward`]) on a
//! square grid, with the unit's incoming weights (row `u` of `W_L`) and bias.

use super::heatmap::Extent;
use super::ticks::{boundary_ticks, Tick};
use crate::format::short_number;
use crate::nn::Mlp;
use crate::tensor::Tensor;
use serde::Serialize;

/// The finest grid (cells per side) a thumbnail may ask for: every hidden layer of the
/// grid's batch is kept by the forward pass, so this bounds its memory.
pub const MAX_NEURON_RESOLUTION: usize = 48;

/// A hidden unit's output over the plane, row by row from the top (largest `y`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NeuronOutput {
    /// The hidden layer `L` (1 for the D2L network's `h`).
    pub layer: usize,
    /// The unit `u`, from 0 (its row of `W_L`).
    pub unit: usize,
    /// `phi`'s name.
    pub activation: String,
    /// The region covered (the decision boundary's).
    pub extent: Extent,
    /// The ticks of both axes ([`boundary_ticks`] of the extent).
    pub ticks: Vec<Tick>,
    /// Cells per side.
    pub resolution: usize,
    /// `h_L[u]` at every cell centre.
    pub values: Vec<f32>,
    /// The smallest and largest of `values`.
    pub range: [f32; 2],
    /// Row `u` of `W_L`: the weight from each unit of the layer below (or input).
    pub incoming: Vec<f32>,
    /// `b_L[u]`, when the model has biases.
    pub bias: Option<f32>,
    /// `incoming`, `bias` and `range` as the page writes them ([`short_number`]).
    pub text: NeuronText,
}

/// The figures of a [`NeuronOutput`] for people.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NeuronText {
    /// Each incoming weight.
    pub incoming: Vec<String>,
    /// The bias, when there is one.
    pub bias: Option<String>,
    /// The smallest and largest output.
    pub range: [String; 2],
}

/// `h_L[u]` of `mlp` on a `resolution x resolution` grid over `extent` (resolution clamped
/// to `2..=`[`MAX_NEURON_RESOLUTION`]). `None` when `layer` is not a hidden layer
/// (`1..=` the number of hidden layers) or `unit` is not one of its units.
pub fn neuron_output(
    mlp: &Mlp<f32>,
    extent: Extent,
    layer: usize,
    unit: usize,
    resolution: usize,
) -> Option<NeuronOutput> {
    let config = mlp.config();
    let width = *config.hidden.get(layer.checked_sub(1)?)?;
    if unit >= width {
        return None;
    }
    let resolution = resolution.clamp(2, MAX_NEURON_RESOLUTION);
    let cells = resolution * resolution;
    let cell = (extent.max - extent.min) / resolution as f64;
    let mut points = Vec::with_capacity(cells * 2);
    for row in 0..resolution {
        let y = extent.max - (row as f64 + 0.5) * cell;
        for col in 0..resolution {
            points.push((extent.min + (col as f64 + 0.5) * cell) as f32);
            points.push(y as f32);
        }
    }
    let x = Tensor::from_vec(cells, config.inputs, points)?;
    let mut grid = mlp.clone();
    grid.set_batch(&x, &vec![0; cells]).ok()?;
    grid.forward().ok()?;
    let hidden = grid.graph().value(grid.nodes().hidden[layer - 1]);
    let values: Vec<f32> = hidden
        .as_slice()
        .chunks_exact(width)
        .map(|row| row[unit])
        .collect();
    let low = values.iter().copied().fold(f32::INFINITY, f32::min);
    let high = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let w = mlp.weight(layer);
    let incoming = w.as_slice()[unit * w.cols()..(unit + 1) * w.cols()].to_vec();
    let bias = mlp.bias(layer).map(|b| b.as_slice()[unit]);
    let text = NeuronText {
        incoming: incoming.iter().map(|&v| short_number(v.into())).collect(),
        bias: bias.map(|b| short_number(b.into())),
        range: [short_number(low.into()), short_number(high.into())],
    };
    Some(NeuronOutput {
        layer,
        unit,
        activation: config.activation.to_string(),
        extent,
        ticks: boundary_ticks(extent.min, extent.max),
        resolution,
        values,
        range: [low, high],
        incoming,
        bias,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Loss, MlpConfig};

    #[test]
    fn a_units_output_is_phi_of_its_row_of_w_times_the_layer_below() {
        let config = MlpConfig {
            inputs: 2,
            hidden: vec![3, 2],
            outputs: 2,
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            bias: true,
            weight_decay: 0.0,
        };
        let mlp = Mlp::<f32>::new(config, 5).unwrap();
        let extent = Extent {
            min: -1.0,
            max: 1.0,
        };
        let out = neuron_output(&mlp, extent, 1, 2, 2).unwrap();
        // The top-left cell centre is (-0.5, 0.5); b1 is zero.
        let w = mlp.weight(1).as_slice();
        let expected = (w[4] * -0.5 + w[5] * 0.5).tanh();
        assert!((out.values[0] - expected).abs() < 1e-6, "{out:?}");
        assert_eq!(out.incoming, vec![w[4], w[5]]);
        assert_eq!(out.bias, Some(0.0));
        assert_eq!(out.values.len(), 4);
        assert!(neuron_output(&mlp, extent, 2, 1, 8).is_some());
        assert!(neuron_output(&mlp, extent, 2, 2, 8).is_none());
        assert!(neuron_output(&mlp, extent, 0, 0, 8).is_none());
        assert!(neuron_output(&mlp, extent, 3, 0, 8).is_none());
    }
}
