//! A layered layout of the MLP's graph in the style of D2L's Figure 4.7.1: data flows from
//! the input at the lower left to the objective `J` at the upper right.
//!
//! Columns follow data flow. The *spine* (`x`, the products, `z`, `phi`, `h`, ..., `o`, the
//! loss, `L`) runs left to right and rises a little with every column. Each product's
//! parameters sit above it, the labels `y` below the loss. The L2 term's sub-chain sits in two
//! rows above everything: the squared norms straight above their weights, then their sum, the
//! scale by `λ/2` and `s`. The final `+` takes `L` from below and `s` from above, and `J` ends
//! the top row at the right.

use super::graph_view::{GraphView, NodeRef};
use crate::graph::{Op, VarId};
use crate::nn::Mlp;
use crate::tensor::Element;

/// Horizontal distance between columns, in pixels.
pub const COLUMN_WIDTH: f64 = 104.0;
/// How far a parameter sits above its product, and the labels below the loss.
const SIDE_OFFSET: f64 = 118.0;
/// Distance between the rows of the L2 sub-chain, and from the highest parameter to them.
const ROW_GAP: f64 = 100.0;
/// The most the spine rises in total, in pixels.
const MAX_TOTAL_RISE: f64 = 240.0;
/// The most the spine rises per column.
const MAX_RISE_PER_COLUMN: f64 = 16.0;

/// A point on the canvas (y grows downwards, as in SVG).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Horizontal position.
    pub x: f64,
    /// Vertical position, downwards.
    pub y: f64,
}

/// Where every node of a [`GraphView`] goes, in pixels relative to an origin that the
/// renderer shifts (coordinates may be negative).
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// The centre of each node, indexed like `GraphView::nodes`.
    pub positions: Vec<Point>,
    /// The column of each node (data-flow order, from 0 at `x`).
    pub columns: Vec<usize>,
}

/// Which horizontal band a node is in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Band {
    /// On the rising spine.
    Spine,
    /// Above its consumer on the spine (parameters).
    Above,
    /// Below its consumer on the spine (labels).
    Below,
    /// The lower L2 row (squared norms).
    NormRow,
    /// The upper L2 row (sums, scale, `s`) and `J`.
    TopRow,
    /// Between the spine and the top row (the final `+`).
    Middle,
}

/// Lays out `view`, the view of `mlp`'s graph.
pub fn layout<T: Element>(mlp: &Mlp<T>, view: &GraphView) -> Layout {
    let graph = mlp.graph();
    let nodes = mlp.nodes();
    let mut placed: Vec<Option<(usize, Band)>> = vec![None; view.nodes.len()];
    let index = |node: NodeRef| {
        view.index_of(node)
            .expect("every graph node is in the view")
    };

    // The spine: x, then each layer's product [, bias sum] [, activation], then the loss.
    let mut spine: Vec<VarId> = vec![nodes.x];
    for k in 0..nodes.weights.len() {
        if let Some(u) = nodes.products[k] {
            spine.push(u);
        }
        if k + 1 < nodes.weights.len() {
            spine.push(nodes.pre_activations[k]);
            spine.push(nodes.hidden[k]);
        } else {
            spine.push(nodes.output);
        }
    }
    spine.push(nodes.per_sample_loss);
    spine.push(nodes.loss);
    let mut column = 0;
    for (i, &v) in spine.iter().enumerate() {
        if i > 0 {
            let op = graph.variables()[v.0]
                .producer
                .expect("spine variables have producers");
            placed[index(NodeRef::Operator(op))] = Some((column, Band::Spine));
            column += 1;
        }
        placed[index(NodeRef::Variable(v))] = Some((column, Band::Spine));
        column += 1;
    }

    // Everything else, in the order forward evaluates the operators.
    for (o, operator) in graph.operators().iter().enumerate() {
        let op = index(NodeRef::Operator(crate::graph::OpId(o)));
        if let Some((op_column, Band::Spine)) = placed[op] {
            for &input in &operator.inputs {
                let v = index(NodeRef::Variable(input));
                if placed[v].is_none() {
                    placed[v] = Some((op_column, side_band(&operator.op)));
                }
            }
            continue;
        }
        let input_column = |placed: &[Option<(usize, Band)>]| {
            operator
                .inputs
                .iter()
                .map(|&i| placed[index(NodeRef::Variable(i))].map_or(0, |(c, _)| c))
                .max()
                .unwrap_or(0)
        };
        let output = index(NodeRef::Variable(operator.output));
        let (op_place, output_place) = if operator.output == nodes.objective {
            let c = input_column(&placed) + 1;
            ((c, Band::Middle), (c + 1, Band::TopRow))
        } else if matches!(operator.op, Op::SquaredFrobenius) {
            let c = input_column(&placed);
            ((c, Band::NormRow), (c + 1, Band::NormRow))
        } else {
            let c = input_column(&placed) + 1;
            ((c, Band::TopRow), (c + 1, Band::TopRow))
        };
        placed[op] = Some(op_place);
        placed[output] = Some(output_place);
    }

    let places: Vec<(usize, Band)> = placed
        .into_iter()
        .map(|p| p.unwrap_or((0, Band::Below)))
        .collect();
    let columns_used = places.iter().map(|(c, _)| c + 1).max().unwrap_or(1);
    let rise = MAX_RISE_PER_COLUMN.min(MAX_TOTAL_RISE / columns_used as f64);
    let spine_y = |column: usize| -(column as f64) * rise;
    let highest_side = places
        .iter()
        .filter(|(_, band)| *band == Band::Above)
        .map(|&(c, _)| spine_y(c) - SIDE_OFFSET)
        .fold(spine_y(columns_used), f64::min);
    let norm_row = highest_side - ROW_GAP;
    let top_row = norm_row - ROW_GAP;
    let loss_column = places[index(NodeRef::Variable(nodes.loss))].0;

    let positions = places
        .iter()
        .map(|&(column, band)| Point {
            x: column as f64 * COLUMN_WIDTH,
            y: match band {
                Band::Spine => spine_y(column),
                Band::Above => spine_y(column) - SIDE_OFFSET,
                Band::Below => spine_y(column) + SIDE_OFFSET,
                Band::NormRow => norm_row,
                Band::TopRow => top_row,
                Band::Middle => (spine_y(loss_column) + top_row) / 2.0,
            },
        })
        .collect();
    Layout {
        positions,
        columns: places.iter().map(|&(c, _)| c).collect(),
    }
}

/// Where a spine operator's second input goes: the labels below the loss, a bias above.
fn side_band<T: Element>(op: &Op<T>) -> Band {
    match op {
        Op::SoftmaxCrossEntropy { .. } | Op::SquaredLoss => Band::Below,
        _ => Band::Above,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Activation;
    use crate::nn::{Loss, MlpConfig};
    use crate::tensor::Tensor;
    use crate::viz::graph_view::{graph_view, ViewOptions};

    fn laid_out(hidden: Vec<usize>, bias: bool) -> (GraphView, Layout) {
        let config = MlpConfig {
            inputs: 4,
            hidden,
            outputs: 3,
            activation: Activation::Sigmoid,
            loss: Loss::CrossEntropy,
            bias,
            weight_decay: 0.01,
        };
        let mut mlp = Mlp::<f32>::new(config, 0).unwrap();
        mlp.set_batch(&Tensor::zeros(1, 4), &[0]).unwrap();
        mlp.forward().unwrap();
        let view = graph_view(&mlp, ViewOptions::default());
        let layout = layout(&mlp, &view);
        (view, layout)
    }

    fn at(view: &GraphView, layout: &Layout, label: &str) -> Point {
        layout.positions[view.nodes.iter().position(|n| n.label == label).unwrap()]
    }

    #[test]
    fn input_lower_left_objective_upper_right() {
        for (hidden, bias) in [(vec![5], false), (vec![6, 5, 4], true)] {
            let (view, layout) = laid_out(hidden, bias);
            let x = at(&view, &layout, "x");
            let j = at(&view, &layout, "J");
            for p in &layout.positions {
                assert!(x.x <= p.x, "x is leftmost");
                assert!(j.x >= p.x, "J is rightmost");
                assert!(j.y <= p.y, "J is at the top");
            }
            assert!(x.y > j.y);
        }
    }

    #[test]
    fn parameters_above_their_products_and_no_two_nodes_overlap() {
        let (view, layout) = laid_out(vec![5], false);
        let w1 = at(&view, &layout, "W1");
        let z = at(&view, &layout, "z");
        assert!(w1.y < z.y && (w1.x - z.x).abs() <= COLUMN_WIDTH);
        let y = at(&view, &layout, "y");
        assert!(y.y > at(&view, &layout, "o").y, "labels below the spine");
        for (i, a) in layout.positions.iter().enumerate() {
            for b in &layout.positions[i + 1..] {
                assert!(
                    (a.x - b.x).abs() >= COLUMN_WIDTH / 2.0 || (a.y - b.y).abs() >= 60.0,
                    "{a:?} and {b:?} overlap"
                );
            }
        }
    }
}
