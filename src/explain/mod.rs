//! `backprop explain`: §4.7's derivation, equation by equation, on real numbers.
//!
//! For one sample, [`walkthrough::explain`] computes every forward equation (4.7.1 to 4.7.6)
//! and every backward equation (4.7.9 to 4.7.14) and checks each gradient three ways: the
//! closed form ([`crate::d2l::closed_form`]), the graph's backward pass, and central
//! finite differences in `f64` ([`crate::nn::gradcheck::central_differences`]). The result
//! is an [`Explanation`], which [`render_text`] prints for a terminal (with or without colour) and
//! [`render_markdown`] for notes. Deeper or biased models are explained layer by layer under
//! the same equation numbers.

pub mod agreement;
pub mod render_markdown;
pub mod render_text;
pub mod walkthrough;

use crate::nn::memory::MemoryPicture;

pub use walkthrough::{explain, ExplainInput};

/// The largest scaled difference ([`agreement::scaled_difference`]) between the three ways
/// of computing a gradient that counts as agreement.
pub const AGREEMENT_TOLERANCE: f64 = 1e-6;

/// A walk through forward and backward propagation for one sample.
#[derive(Clone, Debug)]
pub struct Explanation {
    /// The model, as [`crate::nn::MlpConfig`] prints it.
    pub model: String,
    /// Where the sample comes from, and its label.
    pub sample: String,
    /// The forward equations in order.
    pub forward: Vec<ForwardStep>,
    /// The backward equations in order.
    pub backward: Vec<BackwardStep>,
    /// What training keeps for backward, and what prediction needs.
    pub memory: MemoryPicture,
}

impl Explanation {
    /// The largest scaled difference over all backward steps.
    pub fn largest_difference(&self) -> f64 {
        self.backward
            .iter()
            .map(BackwardStep::largest_difference)
            .fold(0.0, f64::max)
    }

    /// Whether every gradient agrees three ways within [`AGREEMENT_TOLERANCE`].
    pub fn all_agree(&self) -> bool {
        self.backward.iter().all(BackwardStep::agrees)
    }
}

/// One forward equation evaluated.
#[derive(Clone, Debug)]
pub struct ForwardStep {
    /// The equation's number in §4.7, e.g. `"4.7.1"`.
    pub equation: &'static str,
    /// The layer, for models with more than one hidden layer.
    pub layer: Option<usize>,
    /// The equation with this model's names, in Unicode, e.g. `"z = W1 x"`.
    pub formula: String,
    /// The shape of the result, column-vector style as §4.7 writes it (`"5x1"`).
    pub shape: String,
    /// The result, by §4.7's closed form.
    pub values: Vec<f64>,
    /// The largest difference to the graph's forward pass, scaled by the largest element.
    pub graph_difference: f64,
}

/// One backward equation, computed three ways.
#[derive(Clone, Debug)]
pub struct BackwardStep {
    /// The equation's number in §4.7, e.g. `"4.7.13"`, or `"bias"` for a bias gradient
    /// (beyond the D2L network).
    pub equation: &'static str,
    /// The layer, for models with more than one hidden layer (and for 4.7.10, per weight).
    pub layer: Option<usize>,
    /// The equation with this model's names, in Unicode, e.g. `"∂J/∂z = ∂J/∂h ⊙ φ'(z), …"`.
    pub formula: String,
    /// The shape of the gradient, as §4.7 writes it.
    pub shape: String,
    /// The number of columns of the gradient (element `i` is `[i / columns, i % columns]`).
    pub columns: usize,
    /// By §4.7's closed form (row-major).
    pub closed_form: Vec<f64>,
    /// By the graph's backward pass (row-major).
    pub graph: Vec<f64>,
    /// The elements checked by finite differences, and their values.
    pub finite_differences: Vec<(usize, f64)>,
    /// Closed form vs graph, scaled by the tensor's largest element.
    pub closed_vs_graph: f64,
    /// Closed form vs finite differences, on the checked elements.
    pub closed_vs_finite_differences: f64,
    /// Graph vs finite differences, on the checked elements.
    pub graph_vs_finite_differences: f64,
}

impl BackwardStep {
    /// The largest of the three scaled differences.
    pub fn largest_difference(&self) -> f64 {
        self.closed_vs_graph
            .max(self.closed_vs_finite_differences)
            .max(self.graph_vs_finite_differences)
    }

    /// The elements the three rows of a report show: every checked element when there are
    /// at most [`SHOWN_ELEMENTS`](crate::format::SHOWN_ELEMENTS), else the first of them and
    /// the element of largest magnitude, in order.
    pub fn shown_elements(&self) -> Vec<usize> {
        let checked: Vec<usize> = self.finite_differences.iter().map(|&(i, _)| i).collect();
        if checked.len() <= crate::format::SHOWN_ELEMENTS {
            return checked;
        }
        let largest = agreement::index_of_largest(&self.closed_form);
        let mut shown: Vec<usize> = checked
            .iter()
            .copied()
            .filter(|&i| i != largest)
            .take(crate::format::SHOWN_ELEMENTS - 1)
            .collect();
        shown.push(largest);
        shown.sort_unstable();
        shown
    }

    /// The position `[row,column]` of element `index`.
    pub fn position(&self, index: usize) -> String {
        let columns = self.columns.max(1);
        format!("[{},{}]", index / columns, index % columns)
    }

    /// Whether the three ways agree within [`AGREEMENT_TOLERANCE`].
    pub fn agrees(&self) -> bool {
        self.largest_difference() < AGREEMENT_TOLERANCE
    }
}
