//! What the hidden units learned: each row of `W1` (the weights from the 784 pixels into one
//! hidden unit, whose product with `x` is that unit's `z` of 4.7.1) drawn as a 28 x 28
//! image, the units with the largest `‖row‖₂` first.

use crate::data::mnist_framing::MNIST_SIDE;
use crate::nn::Mlp;
use serde::Serialize;

/// The most units one reply holds (the widest hidden layer of image mode).
pub const MAX_UNITS: usize = super::settings::MAX_IMAGE_WIDTH;
/// The units a reply holds unless asked for fewer or more.
pub const DEFAULT_UNITS: usize = 64;

/// One row of `W1`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitWeights {
    /// The unit `j` (row `j` of `W1`).
    pub unit: usize,
    /// `‖W1[j]‖₂`.
    pub norm: f64,
    /// The 784 weights, row-major as the image's pixels.
    pub weights: Vec<f32>,
}

/// The rows of `W1` sent, largest norm first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HiddenUnits {
    /// Image rows (28).
    pub rows: usize,
    /// Image columns (28).
    pub cols: usize,
    /// Rows of `W1` in all.
    pub hidden: usize,
    /// The step the weights are from.
    pub step: u64,
    /// The largest `|w|` over the rows sent (one colour scale for all of them).
    pub scale: f32,
    /// The rows sent.
    pub units: Vec<UnitWeights>,
}

/// The `limit` rows of `mlp`'s `W1` with the largest norms (ties: the lower unit first), at
/// step `step`; all rows when it has fewer. `None` unless `W1` takes 28 x 28 images.
pub fn hidden_units(mlp: &Mlp<f32>, limit: usize, step: u64) -> Option<HiddenUnits> {
    let w = mlp.weight(1);
    if w.cols() != MNIST_SIDE * MNIST_SIDE {
        return None;
    }
    let rows: Vec<&[f32]> = w.as_slice().chunks_exact(w.cols()).collect();
    let mut order: Vec<(usize, f64)> = rows
        .iter()
        .enumerate()
        .map(|(j, row)| (j, crate::format::norm(&to_f64(row))))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(limit);
    let units: Vec<UnitWeights> = order
        .into_iter()
        .map(|(unit, norm)| UnitWeights {
            unit,
            norm,
            weights: rows[unit].to_vec(),
        })
        .collect();
    let scale = units
        .iter()
        .flat_map(|u| u.weights.iter())
        .fold(0.0f32, |m, w| m.max(w.abs()));
    Some(HiddenUnits {
        rows: MNIST_SIDE,
        cols: MNIST_SIDE,
        hidden: w.rows(),
        step,
        scale,
        units,
    })
}

fn to_f64(row: &[f32]) -> Vec<f64> {
    row.iter().map(|&v| f64::from(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Loss, MlpConfig};

    #[test]
    fn the_rows_come_largest_norm_first_and_the_scale_is_their_largest_weight() {
        let config = MlpConfig::d2l(784, 5, 10, Activation::Relu, Loss::CrossEntropy, 0.0);
        let mlp: Mlp<f32> = Mlp::new(config, 3).unwrap();
        let units = hidden_units(&mlp, 3, 7).unwrap();
        assert_eq!((units.hidden, units.step, units.units.len()), (5, 7, 3));
        let norms: Vec<f64> = units.units.iter().map(|u| u.norm).collect();
        assert!(norms.windows(2).all(|w| w[0] >= w[1]), "{norms:?}");
        let w = mlp.weight(1).as_slice();
        let first = &units.units[0];
        assert_eq!(first.weights, &w[first.unit * 784..(first.unit + 1) * 784]);
        let most = units
            .units
            .iter()
            .flat_map(|u| &u.weights)
            .fold(0.0f32, |m, w| m.max(w.abs()));
        assert_eq!(units.scale, most);
        assert_eq!(hidden_units(&mlp, 64, 0).unwrap().units.len(), 5);
    }
}
