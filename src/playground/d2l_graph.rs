//! The D2L network's computational graph (or a deeper model's) for one selected sample, as `backprop graph --values`
//! draws it (the same [`graph_view`], [`layout`] and [`graph_svg`]), with every node's
//! value, gradient and equations for the page to show on hover or click, the equations
//! with their numbers plugged in, each operator's contribution to each gradient
//! ([`super::plugged`]), and the order in which backward propagation visits the operators.
//!
//! Shapes are §4.7's for one sample (`x` is `d x 1`, `W1` is `h x d`), in the drawing and
//! in the JSON alike; names are typeset with subscripts; every number for people is
//! written by [`crate::format`].

use super::equations::{node_equations, NodeEquations};
use super::plugged::{
    backward_plugged, contributions, forward_plugged, gradient_text, section_shape, value_text,
    Term,
};
use crate::data::Dataset;
use crate::format::{operand, short_number};
use crate::nn::mlp::softmax;
use crate::nn::precision::convert_precision;
use crate::nn::Mlp;
use crate::tensor::Tensor;
use crate::viz::graph_layout::layout;
use crate::viz::graph_svg::graph_svg;
use crate::viz::graph_view::{graph_view, NodeKind, NodeRef, ViewOptions};
use crate::viz::math_text;
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
    /// `rows x cols` of a variable's value in the engine, rows being samples (empty for
    /// operators).
    pub shape: String,
    /// The shape as §4.7 writes it for one sample and the drawing labels it: `2x1` for `x`,
    /// `16x2` for `W1`, `scalar`, `label` (empty for operators).
    pub section_shape: String,
    /// The label typeset as HTML (`W<sub>1</sub>`).
    pub label_html: String,
    /// The value, row-major, at most [`MAX_SHOWN_NUMBERS`] numbers (variables only).
    pub value: Vec<f64>,
    /// `∂J` of the variable, as `value` (empty when it has none).
    pub gradient: Vec<f64>,
    /// The Frobenius norm of the gradient, when there is one.
    pub gradient_norm: Option<f64>,
    /// That norm as people read it.
    pub gradient_norm_text: Option<String>,
    /// The forward and backward equations behind it.
    pub equations: NodeEquations,
    /// The value as people read it, abbreviated with its shape (variables only).
    pub value_text: Option<String>,
    /// The gradient as people read it; `None` when backward computed none for it.
    pub gradient_text: Option<String>,
    /// The forward equation with its operands' numbers and the result, as HTML (for
    /// operators' outputs): `z = W1 x = [[…]] [0.5, -0.3]ᵀ = […]ᵀ`.
    pub forward_plugged: Option<String>,
    /// The gradient as the sum of its contributions, symbolically, with numbers and the
    /// result, as HTML: `∂J/∂W2 = ∂J/∂o hᵀ + λ W2 = […]ᵀ […] + 0.01 · [[…]] = [[…]]`.
    pub backward_plugged: Option<String>,
    /// What each operator that reads the variable hands back to it in backward
    /// propagation, in the order forward applies the operators; the gradient is their sum.
    /// Empty for operators, for variables without a gradient, and when backward did not
    /// run.
    pub contributions: Vec<Contribution>,
}

/// One operator's vector-Jacobian product along one edge: a share of a variable's gradient.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Contribution {
    /// The operator's `data-node` index (the edge runs from the variable to it).
    pub operator: usize,
    /// The variable's `data-node` index.
    pub variable: usize,
    /// The equation it belongs to (`4.7.11` for `∂J/∂o hᵀ`, `4.7.10` for `λ W2`).
    pub number: String,
    /// The term in Unicode (`∂J/∂o hᵀ`).
    pub term: String,
    /// The term typeset as HTML.
    pub term_html: String,
    /// The term with its operands' numbers, as HTML.
    pub plugged: String,
    /// Its value, row-major, at most [`MAX_SHOWN_NUMBERS`] numbers (as `gradient`).
    pub value: Vec<f64>,
    /// Its value as people read it.
    pub value_text: String,
    /// Its Frobenius norm.
    pub norm: f64,
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
    /// `softmax(o)`: the class probabilities the network gives the sample.
    pub probabilities: Vec<f64>,
    /// Whether backward propagation ran for the sample: when not, no node has a gradient or
    /// contributions, and the drawing writes `∂J not computed yet`.
    pub gradients_computed: bool,
    /// The sample as people read it: `x = [0.5, -0.3]ᵀ, y = 1, J = 0.6931`.
    pub caption: String,
}

/// One forward pass of (an `f64` copy of) `mlp` on sample `index` of `data`, and one
/// backward pass when `backward`, drawn. `None` when `index` is out of range.
pub fn d2l_graph(mlp: &Mlp<f32>, data: &Dataset, index: usize, backward: bool) -> Option<D2lGraph> {
    let features: Vec<f64> = data.feature_row(index)?.map(f64::from).collect();
    let label = *data.labels().get(index)? as usize;
    d2l_graph_of(mlp, features, label, backward)
}

/// [`d2l_graph`] for the sample `features` (a drawing, or a sample whose loss is asked for
/// another class) with the label `label`: `J`, and every gradient when `backward`, are
/// those of that label. `None` when the features do not fit the network or the label is not
/// one of its classes.
pub fn d2l_graph_of(
    mlp: &Mlp<f32>,
    features: Vec<f64>,
    label: usize,
    backward: bool,
) -> Option<D2lGraph> {
    if label >= mlp.config().outputs {
        return None;
    }
    let mut mlp: Mlp<f64> = convert_precision(mlp).ok()?;
    let x = Tensor::from_vec(1, features.len(), features.clone())?;
    mlp.set_batch(&x, &[label]).ok()?;
    mlp.zero_grad();
    let objective = mlp.forward().ok()?.objective;
    let probabilities = softmax(mlp.outputs().as_slice());
    if backward {
        mlp.backward().ok()?;
    }
    let mut view = graph_view(
        &mlp,
        ViewOptions {
            batch: None,
            values: true,
            saved: false,
        },
    );
    let graph = mlp.graph();
    if !backward {
        for node in &mut view.nodes {
            if let NodeRef::Variable(id) = node.node {
                if graph.requires_grad(id) {
                    for line in node.details.iter_mut().filter(|l| l.starts_with("∂J")) {
                        *line = "∂J not computed yet".to_string();
                    }
                }
            }
        }
    }
    let svg = graph_svg(&view, &layout(&mlp, &view));
    let terms = contributions(&mlp);
    let index_of = |node: NodeRef| view.index_of(node).unwrap_or(0);
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
            let variable = match node.node {
                NodeRef::Variable(id) => Some(id),
                NodeRef::Operator(_) => None,
            };
            let mut own: Vec<&Term> = terms
                .iter()
                .filter(|t| Some(t.variable) == variable)
                .collect();
            own.sort_by_key(|t| t.operator);
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
                section_shape: if variable.is_some() {
                    node.details.first().cloned().unwrap_or_default()
                } else {
                    String::new()
                },
                label_html: math_text::html(&node.label),
                value: value.into_iter().take(MAX_SHOWN_NUMBERS).collect(),
                gradient: gradient
                    .unwrap_or_default()
                    .into_iter()
                    .take(MAX_SHOWN_NUMBERS)
                    .collect(),
                gradient_norm,
                gradient_norm_text: gradient_norm.map(short_number),
                equations: node_equations(&mlp, node.node),
                value_text: variable.map(|id| value_text(&mlp, id)),
                gradient_text: variable.and_then(|id| gradient_text(&mlp, id)),
                forward_plugged: variable.and_then(|id| forward_plugged(&mlp, id)),
                backward_plugged: variable.and_then(|id| backward_plugged(&mlp, id, &own)),
                contributions: own
                    .iter()
                    .map(|t| contribution(&mlp, t, &index_of))
                    .collect(),
            }
        })
        .collect();
    let backward_order = graph
        .reverse_topological_order(mlp.nodes().objective)
        .into_iter()
        .filter_map(|op| view.index_of(NodeRef::Operator(op)))
        .collect();
    let caption = format!(
        "x = {}, y = {label}, J = {}",
        operand(&features, features.len(), 1),
        short_number(objective)
    );
    Some(D2lGraph {
        svg,
        nodes,
        backward_order,
        x: [features[0], features.get(1).copied().unwrap_or(0.0)],
        label,
        objective,
        probabilities,
        gradients_computed: backward,
        caption,
    })
}

/// `term` as the JSON gives it, with the drawing's indices.
fn contribution(mlp: &Mlp<f64>, term: &Term, index_of: &dyn Fn(NodeRef) -> usize) -> Contribution {
    let (rows, cols) = section_shape(mlp, term.variable);
    let values = term.value.as_slice();
    Contribution {
        operator: index_of(NodeRef::Operator(term.operator)),
        variable: index_of(NodeRef::Variable(term.variable)),
        number: term.number.clone(),
        term: term.term.clone(),
        term_html: math_text::html(&term.term),
        plugged: term.plugged_html.clone(),
        value: values.iter().copied().take(MAX_SHOWN_NUMBERS).collect(),
        value_text: operand(values, rows, cols),
        norm: crate::format::norm(values),
    }
}
