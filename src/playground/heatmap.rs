//! The decision boundary: the network's predicted class and its confidence on a square grid
//! covering the data, computed with [`Mlp::predict`] (forward propagation only).

use super::ticks::{boundary_ticks, Tick};
use crate::data::Dataset;
use crate::nn::mlp::argmax;
use crate::nn::Mlp;
use crate::tensor::Tensor;
use serde::Serialize;

/// The finest grid (cells per side) a request may ask for.
pub const MAX_RESOLUTION: usize = 128;

/// The square region shown: `[min, max]` on both axes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Extent {
    /// The smallest coordinate shown.
    pub min: f64,
    /// The largest coordinate shown.
    pub max: f64,
}

impl Extent {
    /// A square around every point of the datasets, with a 10 % margin.
    pub fn around(datasets: &[&Dataset]) -> Extent {
        let largest = datasets
            .iter()
            .flat_map(|d| (0..d.len()).filter_map(move |i| d.feature_row(i)))
            .flatten()
            .map(|v| v.abs() as f64)
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let half = (largest * 1.1).max(0.5);
        Extent {
            min: -half,
            max: half,
        }
    }
}

/// The grid's predictions, row by row from the top (largest `y`) to the bottom.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Heatmap {
    /// The region covered.
    pub extent: Extent,
    /// Cells per side.
    pub resolution: usize,
    /// The predicted class of each cell.
    pub classes: Vec<u8>,
    /// The softmax probability of the predicted class, rounded to 1/100.
    pub confidence: Vec<f32>,
    /// The ticks of both axes ([`boundary_ticks`] of the extent).
    pub ticks: Vec<Tick>,
}

/// Predicts every cell centre of a `resolution x resolution` grid over `extent`.
pub fn heatmap(mlp: &Mlp<f32>, extent: Extent, resolution: usize) -> Heatmap {
    let resolution = resolution.clamp(2, MAX_RESOLUTION);
    let cell = (extent.max - extent.min) / resolution as f64;
    let mut points = Vec::with_capacity(resolution * resolution * 2);
    for row in 0..resolution {
        let y = extent.max - (row as f64 + 0.5) * cell;
        for col in 0..resolution {
            points.push((extent.min + (col as f64 + 0.5) * cell) as f32);
            points.push(y as f32);
        }
    }
    let x = Tensor::from_vec(resolution * resolution, 2, points).expect("two coordinates per cell");
    let outputs = mlp
        .predict(&x)
        .expect("the playground's networks take 2 inputs");
    let q = outputs.cols();
    let mut classes = Vec::with_capacity(resolution * resolution);
    let mut confidence = Vec::with_capacity(resolution * resolution);
    for row in outputs.as_slice().chunks_exact(q) {
        let best = argmax(row);
        let largest = row[best];
        let total: f32 = row.iter().map(|&o| (o - largest).exp()).sum();
        classes.push(best as u8);
        confidence.push(((1.0 / total) * 100.0).round() / 100.0);
    }
    Heatmap {
        extent,
        resolution,
        classes,
        confidence,
        ticks: boundary_ticks(extent.min, extent.max),
    }
}

/// A dataset's points as `[x, y, label]` triples, for drawing.
pub fn labelled_points(data: &Dataset) -> Vec<[f32; 3]> {
    (0..data.len())
        .filter_map(|i| {
            let mut row = data.feature_row(i)?;
            Some([row.next()?, row.next()?, data.labels()[i] as f32])
        })
        .collect()
}
