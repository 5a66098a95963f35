//! Which of §4.7's equations (4.7.1 – 4.7.14) produced each node of the graph: for a
//! variable, the forward equation that computed its value and the backward equation that
//! computed its gradient; for an operator, the forward rule it applies and the gradients its
//! vector-Jacobian product hands back in backward propagation. The formulas are the
//! catalogue's ([`crate::d2l::catalogue`]) in Unicode; deeper models add `(layer k)` as
//! `backprop explain` does.

use crate::d2l::catalogue::{equation_label, gradient, Formula, Formulas, Notation};
use crate::graph::{Op, OpId, VarId};
use crate::nn::Mlp;
use crate::tensor::Element;
use crate::viz::graph_view::NodeRef;
use crate::viz::math_text;
use serde::Serialize;

/// One equation: its number (`4.7.13`, `4.7.13 (layer 2)`) and the formula.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Equation {
    /// The number in D2L §4.7, or `step 0` for `∂J/∂J = 1` and its copies.
    pub number: String,
    /// The formula, in Unicode (`∂J/∂z = ∂J/∂h ⊙ φ'(z), …`).
    pub formula: String,
    /// The formula as HTML, names typeset ([`math_text::html`]: `W1` as W<sub>1</sub>).
    pub formula_html: String,
}

impl Equation {
    /// Equation `number` with `formula` (Unicode).
    fn new(number: String, formula: String) -> Equation {
        Equation {
            formula_html: math_text::html(&formula),
            number,
            formula,
        }
    }
}

/// The equations behind one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeEquations {
    /// What computed the value in forward propagation (none for data and parameters).
    pub forward: Option<Equation>,
    /// What computed the gradient in backward propagation (none where there is none).
    pub backward: Option<Equation>,
}

/// The equations of `node` in `mlp`'s graph.
pub fn node_equations<T: Element>(mlp: &Mlp<T>, node: NodeRef) -> NodeEquations {
    let names = Names::of(mlp);
    match node {
        NodeRef::Variable(id) => NodeEquations {
            forward: names.forward_of(id),
            backward: names.backward_of(id),
        },
        NodeRef::Operator(id) => NodeEquations {
            forward: names.forward_of(mlp.graph().operators()[id.0].output),
            backward: names.operator_backward(id),
        },
    }
}

/// Which equation each node of one model's graph has: the graph's nodes matched to the
/// catalogue's formulas with this model's names.
struct Names<'a, T> {
    mlp: &'a Mlp<T>,
    formulas: Formulas,
}

/// `formula` as the page shows it.
fn shown(formula: Formula) -> Option<Equation> {
    Some(Equation::new(
        formula.label(),
        formula.render(Notation::Unicode),
    ))
}

/// An equation that §4.7 does not number (`step 0`, `bias`), or a variant of one.
fn equation(number: &str, layer: Option<usize>, formula: String) -> Option<Equation> {
    Some(Equation::new(equation_label(number, layer), formula))
}

impl<'a, T: Element> Names<'a, T> {
    fn of(mlp: &'a Mlp<T>) -> Self {
        Names {
            mlp,
            formulas: Formulas::of(mlp),
        }
    }

    fn depth(&self) -> usize {
        self.formulas.depth()
    }

    fn name(&self, id: VarId) -> &str {
        &self.mlp.graph().variables()[id.0].name
    }

    fn layer(&self, k: usize) -> Option<usize> {
        self.formulas.layered().then_some(k)
    }

    fn pre_activation_gradient(&self, k: usize) -> Option<Equation> {
        shown(self.formulas.pre_activation_gradient(k))
    }

    fn forward_of(&self, id: VarId) -> Option<Equation> {
        let nodes = self.mlp.nodes();
        let f = &self.formulas;
        for k in 1..=self.depth() {
            if nodes.products[k - 1] == Some(id) {
                let number = if k == self.depth() { "4.7.3" } else { "4.7.1" };
                return equation(
                    number,
                    self.layer(k),
                    format!(
                        "{} = {} (before the bias)",
                        self.name(id),
                        f.affine(k, false)
                    ),
                );
            }
            if k < self.depth() && nodes.pre_activations[k - 1] == id {
                return shown(f.pre_activation(k));
            }
            if k < self.depth() && nodes.hidden[k - 1] == id {
                return shown(f.hidden_output(k));
            }
        }
        if id == nodes.output {
            shown(f.output())
        } else if id == nodes.per_sample_loss {
            equation("4.7.4", None, f.loss_rule().to_string())
        } else if id == nodes.loss {
            equation("4.7.4", None, "L = mean of l(o, y) over the batch".into())
        } else if id == nodes.penalty {
            shown(f.penalty())
        } else if id == nodes.objective {
            shown(f.objective())
        } else if self.mlp.graph().variables()[id.0].producer.is_some() {
            equation("4.7.5", None, format!("{} (part of s)", self.name(id)))
        } else {
            None
        }
    }

    fn backward_of(&self, id: VarId) -> Option<Equation> {
        let nodes = self.mlp.nodes();
        let f = &self.formulas;
        for k in 1..=self.depth() {
            if nodes.weights[k - 1] == id {
                return shown(f.weight_gradient(k));
            }
            if nodes.biases[k - 1] == Some(id) {
                return f.bias_gradient(k).and_then(shown);
            }
            if nodes.products[k - 1] == Some(id) {
                return if k == self.depth() {
                    shown(f.output_gradient())
                } else {
                    self.pre_activation_gradient(k)
                };
            }
            if k < self.depth() && nodes.pre_activations[k - 1] == id {
                return self.pre_activation_gradient(k);
            }
            if k < self.depth() && nodes.hidden[k - 1] == id {
                return shown(f.hidden_gradient(k));
            }
        }
        if id == nodes.output {
            shown(f.output_gradient())
        } else if id == nodes.per_sample_loss {
            equation(
                "step 0",
                None,
                format!("{} = 1/B per sample (the mean)", gradient("l")),
            )
        } else if id == nodes.loss {
            equation("step 0", None, format!("{} = 1", gradient("L")))
        } else if id == nodes.penalty {
            equation("step 0", None, format!("{} = 1", gradient("s")))
        } else if id == nodes.objective {
            equation("step 0", None, format!("{} = 1", gradient("J")))
        } else if self.mlp.graph().variables()[id.0].producer.is_some() {
            equation("4.7.10", None, format!("{} = λ/2", gradient(self.name(id))))
        } else {
            None
        }
    }

    /// What an operator's vector-Jacobian product computes.
    fn operator_backward(&self, id: OpId) -> Option<Equation> {
        let graph = self.mlp.graph();
        let operator = &graph.operators()[id.0];
        let inputs = &operator.inputs;
        match &operator.op {
            Op::MatMul => {
                let parts: Vec<Equation> = inputs
                    .iter()
                    .filter(|&&input| graph.requires_grad(input))
                    .filter_map(|&input| self.backward_of(input))
                    .collect();
                let numbers: Vec<&str> = parts.iter().map(|p| p.number.as_str()).collect();
                let formulas: Vec<&str> = parts.iter().map(|p| p.formula.as_str()).collect();
                Some(Equation::new(numbers.join(", "), formulas.join(";  ")))
            }
            Op::AddBias => inputs.get(1).and_then(|&b| self.backward_of(b)),
            Op::Activation(_) => self.backward_of(inputs[0]),
            Op::SoftmaxCrossEntropy { .. } | Op::SquaredLoss => {
                shown(self.formulas.output_gradient())
            }
            Op::Mean => self.backward_of(inputs[0]),
            Op::SquaredFrobenius => {
                let w = self.name(inputs[0]);
                equation("4.7.10", None, format!("∂s/∂{w} = λ/2 · 2 {w} = λ {w}"))
            }
            Op::Scale(_) => equation("4.7.10", None, "∂s/∂(Σ‖W‖²) = λ/2".into()),
            Op::Add if operator.output == self.mlp.nodes().objective => equation(
                "step 0",
                None,
                format!("{} = {} = 1", gradient("L"), gradient("s")),
            ),
            Op::Add => equation("4.7.10", None, "a sum passes λ/2 on to each ‖W‖²".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Loss, MlpConfig};

    #[test]
    fn the_d2l_network_names_every_backward_equation() {
        let config = MlpConfig {
            inputs: 4,
            hidden: vec![5],
            outputs: 3,
            activation: Activation::Relu,
            loss: Loss::CrossEntropy,
            bias: false,
            weight_decay: 0.01,
        };
        let mlp: Mlp<f64> = Mlp::new(config, 0).unwrap();
        let nodes = mlp.nodes().clone();
        let backward = |id| {
            node_equations(&mlp, NodeRef::Variable(id))
                .backward
                .unwrap()
                .number
        };
        assert_eq!(backward(nodes.output), "4.7.9");
        assert_eq!(backward(nodes.weights[1]), "4.7.11");
        assert_eq!(backward(nodes.hidden[0]), "4.7.12");
        assert_eq!(backward(nodes.pre_activations[0]), "4.7.13");
        assert_eq!(backward(nodes.weights[0]), "4.7.14");
        let forward = |id| {
            node_equations(&mlp, NodeRef::Variable(id))
                .forward
                .unwrap()
                .number
        };
        assert_eq!(forward(nodes.pre_activations[0]), "4.7.1");
        assert_eq!(forward(nodes.hidden[0]), "4.7.2");
        assert_eq!(forward(nodes.output), "4.7.3");
        assert_eq!(forward(nodes.loss), "4.7.4");
        assert_eq!(forward(nodes.penalty), "4.7.5");
        assert_eq!(forward(nodes.objective), "4.7.6");
    }
}
