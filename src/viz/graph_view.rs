//! What the drawing of a computational graph shows: every variable and operator that a
//! forward pass of an [`Mlp`] built, with its label, shape and (optionally) values,
//! gradients and the bytes kept for backward.
//!
//! The nodes are the graph's own ([`crate::graph::Graph::variables`] and
//! [`crate::graph::Graph::operators`]); nothing is drawn that the graph does not hold.
//! [`super::graph_layout`] places them, [`super::graph_svg`] and [`super::graph_dot`] draw
//! them.

use crate::format::{bytes, count, short_number, values_or_norm};
use crate::graph::{Op, OpId, SavedForBackward, VarId, VarKind};
use crate::nn::Mlp;
use crate::tensor::Element;

/// A node of the graph: a variable or an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeRef {
    /// A variable (drawn as a square).
    Variable(VarId),
    /// An operator (drawn as a circle).
    Operator(OpId),
}

/// How a node is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Data fed in (`x`, `y`): a white square.
    Input,
    /// A parameter (`W1`, `b1`): a shaded square.
    Parameter,
    /// An operator's output: a white square.
    Intermediate,
    /// An operator: a circle.
    Operator,
}

/// One node as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewNode {
    /// The graph node it shows.
    pub node: NodeRef,
    /// How it is drawn.
    pub kind: NodeKind,
    /// The variable's name (`z`, `W1`) or the operator's symbol (`×`, `φ`, `l`, `+`).
    pub label: String,
    /// Lines under the node: the shape (variables) or the rule (operators), then values,
    /// gradient and bytes kept when asked for.
    pub details: Vec<String>,
    /// Bytes forward keeps of it for backward, when `--saved` asked for it and it is kept.
    pub kept_bytes: Option<usize>,
    /// Whether it belongs to the L2 term's sub-chain (`‖W_k‖²`, their sum and the scale),
    /// which the drawing groups as §4.7's single operator `l2`.
    pub in_l2_group: bool,
}

/// What to show on the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ViewOptions {
    /// `Some(B)`: shapes as the batch `B x n` the graph computes; `None`: per sample, as
    /// §4.7's column vectors `n x 1`.
    pub batch: Option<usize>,
    /// Show a summary of each variable's value and gradient.
    pub values: bool,
    /// Mark what forward keeps for backward, with its bytes.
    pub saved: bool,
}

/// The drawable graph: nodes and data-flow edges (variable to operator, operator to its
/// output).
#[derive(Clone, Debug, PartialEq)]
pub struct GraphView {
    /// A one-line description of the model and the view.
    pub title: String,
    /// Every variable and operator of the graph.
    pub nodes: Vec<ViewNode>,
    /// `(from, to)` indices into `nodes`, in the direction data flows.
    pub edges: Vec<(usize, usize)>,
}

impl GraphView {
    /// The index of the node showing `node`.
    pub fn index_of(&self, node: NodeRef) -> Option<usize> {
        self.nodes.iter().position(|n| n.node == node)
    }
}

/// The view of `mlp`'s graph after its last forward (and, for `values`, backward) pass.
pub fn graph_view<T: Element>(mlp: &Mlp<T>, options: ViewOptions) -> GraphView {
    let graph = mlp.graph();
    let variables = graph.variables();
    let operators = graph.operators();
    let batch_dependent = batch_dependent_variables(mlp);
    let l2_group = l2_group(mlp);
    let saved = graph.saved_for_backward();
    let element_bytes = std::mem::size_of::<f32>();

    let mut nodes = Vec::new();
    for (v, variable) in variables.iter().enumerate() {
        let id = VarId(v);
        let value = graph.value(id);
        let mut details = vec![shape_label(
            value.rows(),
            value.cols(),
            Role {
                batch_dependent: batch_dependent[v],
                label: id == mlp.nodes().y,
                bias: mlp.nodes().biases.contains(&Some(id)),
            },
            options.batch,
        )];
        if options.values {
            let values: Vec<f64> = value.as_slice().iter().map(|x| x.to_f64()).collect();
            details.push(format!("value {}", values_or_norm(&values)));
            details.push(match graph.grad(id) {
                Some(g) => {
                    let g: Vec<f64> = g.as_slice().iter().map(|x| x.to_f64()).collect();
                    format!("∂J {}", values_or_norm(&g))
                }
                None => "∂J none".to_string(),
            });
        }
        let kept_bytes = (options.saved && saved.contains(&SavedForBackward::Variable(id)))
            .then(|| value.len() * element_bytes);
        if let Some(kept) = kept_bytes {
            details.push(format!("kept: {}", bytes(kept)));
        }
        nodes.push(ViewNode {
            node: NodeRef::Variable(id),
            kind: match variable.kind {
                VarKind::Input => NodeKind::Input,
                VarKind::Parameter => NodeKind::Parameter,
                VarKind::Intermediate => NodeKind::Intermediate,
            },
            label: variable.name.clone(),
            details,
            kept_bytes,
            in_l2_group: l2_group.contains(&NodeRef::Variable(id)),
        });
    }
    for (o, operator) in operators.iter().enumerate() {
        let id = OpId(o);
        let (symbol, rule) = operator_symbol(&operator.op);
        let mut details = vec![rule];
        let kept_bytes = options
            .saved
            .then(|| {
                saved.iter().find_map(|s| match s {
                    SavedForBackward::OperatorBuffer { op, elements } if *op == id => {
                        Some(elements * element_bytes)
                    }
                    _ => None,
                })
            })
            .flatten();
        if let Some(kept) = kept_bytes {
            let input = &variables[operator.inputs[0].0].name;
            details.push(format!("kept: softmax({input}) {}", bytes(kept)));
        }
        nodes.push(ViewNode {
            node: NodeRef::Operator(id),
            kind: NodeKind::Operator,
            label: symbol,
            details,
            kept_bytes,
            in_l2_group: l2_group.contains(&NodeRef::Operator(id)),
        });
    }
    let index = |node: NodeRef| nodes.iter().position(|n| n.node == node).expect("listed");
    let mut edges = Vec::new();
    for (o, operator) in operators.iter().enumerate() {
        let op = index(NodeRef::Operator(OpId(o)));
        for &input in &operator.inputs {
            edges.push((index(NodeRef::Variable(input)), op));
        }
        edges.push((op, index(NodeRef::Variable(operator.output))));
    }
    let view = match options.batch {
        Some(b) => format!("batch B = {}", count(b as u64)),
        None => "one sample".to_string(),
    };
    GraphView {
        title: format!("{}; {view}", mlp.config()),
        nodes,
        edges,
    }
}

/// The operator's symbol in the drawing and its rule in words: `×` for the products, `φ` for
/// the activation, `l` for the per-sample loss, `+`, `‖·‖²`, `λ/2`, `mean`.
pub fn operator_symbol<T: Element>(op: &Op<T>) -> (String, String) {
    match op {
        Op::MatMul => ("×".into(), "product".into()),
        Op::AddBias => ("+".into(), "add bias".into()),
        Op::Activation(a) => ("φ".into(), a.name().into()),
        Op::SoftmaxCrossEntropy { .. } => ("l".into(), "cross-entropy".into()),
        Op::SquaredLoss => ("l".into(), "squared loss".into()),
        Op::SquaredFrobenius => ("‖·‖²".into(), "squared norm".into()),
        Op::Add => ("+".into(), "add".into()),
        Op::Scale(c) => ("λ/2".into(), format!("× {}", short_number(c.to_f64()))),
        Op::Mean => ("mean".into(), "over the batch".into()),
    }
}

/// What a variable is, as far as its shape label goes.
#[derive(Clone, Copy, Debug)]
struct Role {
    /// It has one row per sample.
    batch_dependent: bool,
    /// It is the labels `y`.
    label: bool,
    /// It is a bias (a `1 x n` row in the engine, a column `n x 1` in §4.7's notation).
    bias: bool,
}

/// `n x 1` per sample (§4.7's column vectors, biases included), `B x n` for a batch, `h x d`
/// for a weight, `scalar` for `1 x 1` values that do not depend on the batch.
fn shape_label(rows: usize, cols: usize, role: Role, batch: Option<usize>) -> String {
    match (role.batch_dependent, batch) {
        (true, None) if role.label => "label".to_string(),
        (true, None) if cols == 1 => "scalar".to_string(),
        (true, None) => format!("{cols}x1"),
        (true, Some(_)) => format!("B x {cols}"),
        (false, _) if rows == 1 && cols == 1 => "scalar".to_string(),
        (false, None) if role.bias => format!("{cols}x1"),
        (false, _) => format!("{rows}x{cols}"),
    }
}

/// For each variable, whether it has one row per sample: the inputs, and every operator
/// output computed from them, up to the operators that reduce over the batch (the mean).
fn batch_dependent_variables<T: Element>(mlp: &Mlp<T>) -> Vec<bool> {
    let graph = mlp.graph();
    let mut dependent: Vec<bool> = graph
        .variables()
        .iter()
        .map(|v| v.kind == VarKind::Input)
        .collect();
    for operator in graph.operators() {
        let reduces = matches!(operator.op, Op::Mean | Op::SquaredFrobenius);
        dependent[operator.output.0] = !reduces && operator.inputs.iter().any(|&i| dependent[i.0]);
    }
    dependent
}

/// The nodes strictly between the weights and `s`: the squared norms, their sums and the
/// scale by `λ/2` (§4.7's single operator `l2`).
fn l2_group<T: Element>(mlp: &Mlp<T>) -> Vec<NodeRef> {
    let graph = mlp.graph();
    let mut group = Vec::new();
    let mut frontier = vec![mlp.nodes().penalty];
    while let Some(v) = frontier.pop() {
        let Some(op) = graph.variables()[v.0].producer else {
            continue;
        };
        group.push(NodeRef::Operator(op));
        for &input in &graph.operators()[op.0].inputs {
            if graph.variables()[input.0].kind == VarKind::Intermediate {
                group.push(NodeRef::Variable(input));
                frontier.push(input);
            }
        }
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Activation;
    use crate::nn::{Loss, MlpConfig};
    use crate::tensor::Tensor;

    fn d2l_network(batch: usize) -> Mlp<f32> {
        let config = MlpConfig::d2l(4, 5, 3, Activation::Relu, Loss::CrossEntropy, 0.01);
        let mut mlp = Mlp::<f32>::new(config, 0).unwrap();
        let x = Tensor::from_fn(batch, 4, |r, c| (r * 4 + c) as f32 * 0.1 - 0.5);
        mlp.set_batch(&x, &vec![1; batch]).unwrap();
        mlp.forward().unwrap();
        mlp.backward().unwrap();
        mlp
    }

    fn node<'a>(view: &'a GraphView, label: &str) -> &'a ViewNode {
        view.nodes.iter().find(|n| n.label == label).unwrap()
    }

    #[test]
    fn per_sample_shapes_are_section_4_7s_column_vectors() {
        let view = graph_view(&d2l_network(1), ViewOptions::default());
        assert_eq!(node(&view, "x").details, ["4x1"]);
        assert_eq!(node(&view, "z").details, ["5x1"]);
        assert_eq!(node(&view, "W1").details, ["5x4"]);
        assert_eq!(node(&view, "W1").kind, NodeKind::Parameter);
        assert_eq!(node(&view, "o").details, ["3x1"]);
        assert_eq!(node(&view, "l").details, ["scalar"]);
        assert_eq!(node(&view, "L").details, ["scalar"]);
        assert_eq!(node(&view, "J").details, ["scalar"]);
        assert_eq!(node(&view, "y").details, ["label"]);
        assert_eq!(node(&view, "φ").details, ["relu"]);
        assert!(node(&view, "λ/2").in_l2_group);
        assert!(node(&view, "‖W1‖²").in_l2_group);
        assert!(!node(&view, "s").in_l2_group);
        // Every operator has its inputs' edges and one output edge.
        // Two products, phi, loss, mean, two norms, sum, scale, J's add: 25 edges.
        assert_eq!(view.edges.len(), 25);
    }

    #[test]
    fn batch_shapes_values_and_kept_bytes() {
        let options = ViewOptions {
            batch: Some(8),
            values: true,
            saved: true,
        };
        let view = graph_view(&d2l_network(8), options);
        let h = node(&view, "h");
        assert_eq!(h.details[0], "B x 5");
        assert!(h.details[1].starts_with("value ‖·‖ "), "{:?}", h.details);
        assert!(h.details[2].starts_with("∂J ‖·‖ "), "{:?}", h.details);
        assert_eq!(h.kept_bytes, Some(8 * 5 * 4));
        assert_eq!(node(&view, "x").details[2], "∂J none");
        assert_eq!(node(&view, "z").kept_bytes, None, "phi' is computed from h");
        let loss_operator = view
            .nodes
            .iter()
            .find(|n| n.label == "l" && n.kind == NodeKind::Operator)
            .unwrap();
        assert_eq!(loss_operator.kept_bytes, Some(8 * 3 * 4), "softmax(o)");
    }
}
