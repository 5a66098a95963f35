//! The D2L network's computational graph (or a deeper model's) for one selected sample, as `backprop graph --values`
//! draws it (the same [`graph_view`], [`layout`] and [`graph_svg`]), with every node's
//! value, gradient and equations for the page to show on hover or click, and the order in
//! which backward propagation visits the operators.

use super::equations::{node_equations, NodeEquations};
use crate::data::Dataset;
use crate::nn::precision::convert_precision;
use crate::nn::Mlp;
use crate::tensor::Tensor;
use crate::viz::graph_layout::layout;
use crate::viz::graph_svg::graph_svg;
use crate::viz::graph_view::{graph_view, NodeKind, NodeRef, ViewOptions};
use serde::Serialize;

/// The most numbers of one value or gradient sent to the page.
pub const MAX_SHOWN_NUMBERS: usize = 64;

/// One node of the drawing with its numbers for the selected sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphNode {
    /// Its `data-node` index in the SVG.
    pub index: usize,
    /// The name or operator symbol drawn.
    pub label: String,
    /// `input`, `parameter`, `intermediate` or `operator`.
    pub kind: &'static str,
    /// `rows x cols` of a variable's value (empty for operators).
    pub shape: String,
    /// The value, row-major, at most [`MAX_SHOWN_NUMBERS`] numbers (variables only).
    pub value: Vec<f64>,
    /// `∂J` of the variable, as `value` (empty when it has none).
    pub gradient: Vec<f64>,
    /// The Frobenius norm of the gradient, when there is one.
    pub gradient_norm: Option<f64>,
    /// The forward and backward equations behind it.
    pub equations: NodeEquations,
}

/// The graph for one sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct D2lGraph {
    /// The drawing.
    pub svg: String,
    /// Every node, indexed as in the drawing.
    pub nodes: Vec<GraphNode>,
    /// Operator nodes in the order backward propagation applies their rules.
    pub backward_order: Vec<usize>,
    /// The sample's coordinates.
    pub x: [f64; 2],
    /// The sample's class.
    pub label: usize,
    /// `J` for this sample alone.
    pub objective: f64,
}

/// One forward and one backward pass of (an `f64` copy of) `mlp` on sample `index` of
/// `data`, drawn. `None` when `index` is out of range.
pub fn d2l_graph(mlp: &Mlp<f32>, data: &Dataset, index: usize) -> Option<D2lGraph> {
    let features: Vec<f64> = data.feature_row(index)?.map(f64::from).collect();
    let label = *data.labels().get(index)? as usize;
    let mut mlp: Mlp<f64> = convert_precision(mlp).ok()?;
    let x = Tensor::from_vec(1, features.len(), features.clone())?;
    mlp.set_batch(&x, &[label]).ok()?;
    mlp.zero_grad();
    let objective = mlp.forward().ok()?.objective;
    mlp.backward().ok()?;
    let view = graph_view(
        &mlp,
        ViewOptions {
            batch: None,
            values: true,
            saved: false,
        },
    );
    let svg = graph_svg(&view, &layout(&mlp, &view));
    let graph = mlp.graph();
    let nodes = view
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let (shape, value, gradient) = match node.node {
                NodeRef::Variable(id) => {
                    let value = graph.value(id);
                    let gradient = graph.grad(id).map(|g| g.as_slice().to_vec());
                    (
                        format!("{}x{}", value.rows(), value.cols()),
                        value.as_slice().to_vec(),
                        gradient,
                    )
                }
                NodeRef::Operator(_) => (String::new(), Vec::new(), None),
            };
            let gradient_norm = gradient
                .as_ref()
                .map(|g| g.iter().map(|v| v * v).sum::<f64>().sqrt());
            GraphNode {
                index,
                label: node.label.clone(),
                kind: match node.kind {
                    NodeKind::Input => "input",
                    NodeKind::Parameter => "parameter",
                    NodeKind::Intermediate => "intermediate",
                    NodeKind::Operator => "operator",
                },
                shape,
                value: value.into_iter().take(MAX_SHOWN_NUMBERS).collect(),
                gradient: gradient
                    .unwrap_or_default()
                    .into_iter()
                    .take(MAX_SHOWN_NUMBERS)
                    .collect(),
                gradient_norm,
                equations: node_equations(&mlp, node.node),
            }
        })
        .collect();
    let backward_order = graph
        .reverse_topological_order(mlp.nodes().objective)
        .into_iter()
        .filter_map(|op| view.index_of(NodeRef::Operator(op)))
        .collect();
    Some(D2lGraph {
        svg,
        nodes,
        backward_order,
        x: [features[0], features.get(1).copied().unwrap_or(0.0)],
        label,
        objective,
    })
}
