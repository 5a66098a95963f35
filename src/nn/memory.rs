//! The memory picture of §4.7's last section: training keeps intermediates from forward
//! until backward reads them, prediction keeps nothing.
//!
//! What training keeps is read from the graph itself ([`Graph::saved_for_backward`], from
//! each operator's [`crate::graph::Op::saved_for_backward`]); what prediction needs is the
//! peak of [`Mlp::predict`], which holds two layer outputs at a time. Parameters are left out
//! of both: the model holds them either way.
//!
//! [`Graph::saved_for_backward`]: crate::graph::Graph::saved_for_backward

use crate::d2l::catalogue::{gradient, Formulas};
use crate::graph::{Op, OpId, SavedForBackward, VarId};
use crate::nn::Mlp;
use crate::tensor::Element;

/// One tensor that forward propagation keeps for backward.
#[derive(Clone, Debug, PartialEq)]
pub struct KeptTensor {
    /// The variable's name (`x`, `h`, `y`), or the buffer's (`softmax(o)`).
    pub name: String,
    /// The variable, when it is one.
    pub variable: Option<VarId>,
    /// The operator owning it, when it is an operator's buffer.
    pub operator: Option<OpId>,
    /// Its number of elements at the loaded batch size.
    pub elements: usize,
    /// Its size in bytes.
    pub bytes: usize,
    /// Why backward needs it.
    pub reason: String,
}

/// What training keeps for backward, next to what prediction alone needs, at one batch size.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPicture {
    /// The batch size `B` the figures are for.
    pub batch_size: usize,
    /// Bytes per element (4 for `f32`, 8 for `f64`).
    pub element_bytes: usize,
    /// The tensors forward keeps, in the order the operators are evaluated.
    pub kept: Vec<KeptTensor>,
    /// Their total in bytes.
    pub training_bytes: usize,
    /// The peak bytes of prediction ([`Mlp::predict`]): two layer outputs at a time.
    pub prediction_bytes: usize,
}

/// The memory picture of `mlp` at the batch size of its last forward pass.
pub fn memory_picture<T: Element>(mlp: &Mlp<T>) -> MemoryPicture {
    let graph = mlp.graph();
    let element_bytes = std::mem::size_of::<T>();
    let batch_size = graph.value(mlp.nodes().x).rows();
    let kept: Vec<KeptTensor> = graph
        .saved_for_backward()
        .into_iter()
        .map(|saved| match saved {
            SavedForBackward::Variable(v) => {
                let elements = graph.value(v).len();
                KeptTensor {
                    name: graph.variables()[v.0].name.clone(),
                    variable: Some(v),
                    operator: None,
                    elements,
                    bytes: elements * element_bytes,
                    reason: reason_for_variable(mlp, v),
                }
            }
            SavedForBackward::OperatorBuffer { op, elements } => {
                let node = &graph.operators()[op.0];
                let input = &graph.variables()[node.inputs[0].0].name;
                let (name, reason) = match node.op {
                    Op::SoftmaxCrossEntropy { .. } => (
                        format!("softmax({input})"),
                        format!("∂l/∂{input} = softmax({input}) - onehot(y) (4.7.9)"),
                    ),
                    _ => (
                        format!("{} buffer", node.op.name()),
                        format!("the backward rule of {}", node.op.name()),
                    ),
                };
                KeptTensor {
                    name,
                    variable: None,
                    operator: Some(op),
                    elements,
                    bytes: elements * element_bytes,
                    reason,
                }
            }
        })
        .collect();
    let training_bytes = kept.iter().map(|k| k.bytes).sum();
    let sizes = mlp.config().layer_sizes();
    let prediction_bytes = sizes
        .windows(2)
        .map(|pair| batch_size * (pair[0] + pair[1]) * element_bytes)
        .max()
        .unwrap_or(0);
    MemoryPicture {
        batch_size,
        element_bytes,
        kept,
        training_bytes,
        prediction_bytes,
    }
}

/// Which backward rule reads variable `v`, with the catalogue's names and numbers.
fn reason_for_variable<T: Element>(mlp: &Mlp<T>, v: VarId) -> String {
    let nodes = mlp.nodes();
    let formulas = Formulas::of(mlp);
    let name = &mlp.graph().variables()[v.0].name;
    if v == nodes.y {
        return "onehot(y) in ∂l/∂o (4.7.9)".to_string();
    }
    // The input of layer k feeds ∂J/∂W_k = ∂J/∂z_k h_{k-1}ᵀ (4.7.11 or 4.7.14).
    let weight_gradient = |k: usize| {
        let formula = formulas.weight_gradient(k);
        format!(
            "{} = {} {}ᵀ ({})",
            gradient(&formulas.weights[k - 1]),
            formulas.upstream_gradient(k),
            formulas.layer_input(k),
            formula.number
        )
    };
    if let Some(k) = nodes.hidden.iter().position(|&h| h == v) {
        let z = &formulas.pre_activations[k];
        return format!(
            "{} and φ'({z}) from {name} (4.7.13)",
            weight_gradient(k + 2)
        );
    }
    if v == nodes.x {
        return weight_gradient(1);
    }
    if v == nodes.output {
        return "∂l/∂o = o - onehot(y) (4.7.9)".to_string();
    }
    "read by a backward rule".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Activation;
    use crate::nn::{Loss, MlpConfig};
    use crate::tensor::Tensor;

    #[test]
    fn the_d2l_network_keeps_x_h_softmax_and_y() {
        let config = MlpConfig::d2l(4, 5, 3, Activation::Relu, Loss::CrossEntropy, 0.1);
        let mut mlp = Mlp::<f32>::new(config, 1).unwrap();
        let x = Tensor::from_fn(8, 4, |r, c| (r + c) as f32 * 0.1);
        mlp.set_batch(&x, &[0, 1, 2, 0, 1, 2, 0, 1]).unwrap();
        mlp.forward().unwrap();
        let picture = memory_picture(&mlp);
        let names: Vec<&str> = picture.kept.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["x", "h", "softmax(o)", "y"]);
        assert_eq!(picture.kept[0].reason, "∂J/∂W1 = ∂J/∂z xᵀ (4.7.14)");
        assert_eq!(
            picture.kept[1].reason,
            "∂J/∂W2 = ∂J/∂o hᵀ (4.7.11) and φ'(z) from h (4.7.13)"
        );
        let elements: Vec<usize> = picture.kept.iter().map(|k| k.elements).collect();
        assert_eq!(elements, [8 * 4, 8 * 5, 8 * 3, 8]);
        assert_eq!(picture.training_bytes, 4 * 8 * (4 + 5 + 3 + 1));
        // Prediction: the largest pair of consecutive layer outputs, 8 x (4 + 5) or 8 x (5 + 3).
        assert_eq!(picture.prediction_bytes, 4 * 8 * 9);
    }
}
