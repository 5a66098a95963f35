//! Which of the seed's equations (D2L 4.7.1 – 4.7.14) produced each node of the graph: for a
//! variable, the forward equation that computed its value and the backward equation that
//! computed its gradient; for an operator, the forward rule it applies and the gradients its
//! vector-Jacobian product hands back in backward propagation. Numbering as in
//! `docs/equations.md`; deeper models add `(layer k)` as `backprop explain` does.

use crate::explain::render_text::equation_label;
use crate::graph::{Op, OpId, VarId};
use crate::nn::{Loss, Mlp};
use crate::tensor::Element;
use crate::viz::graph_view::NodeRef;
use serde::Serialize;

/// One equation: its number (`4.7.13`, `4.7.13 (layer 2)`) and the formula.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Equation {
    /// The number in D2L §4.7, or `step 0` for `∂J/∂J = 1` and its copies.
    pub number: String,
    /// The formula, in the seed's notation.
    pub formula: String,
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

/// The role of each variable, with the names the graph gave them.
struct Names<'a, T> {
    mlp: &'a Mlp<T>,
    depth: usize,
    layered: bool,
}

fn equation(number: &str, layer: Option<usize>, formula: String) -> Option<Equation> {
    Some(Equation {
        number: equation_label(number, layer),
        formula,
    })
}

impl<'a, T: Element> Names<'a, T> {
    fn of(mlp: &'a Mlp<T>) -> Self {
        let depth = mlp.config().depth();
        Names {
            mlp,
            depth,
            layered: depth > 2,
        }
    }

    fn name(&self, id: VarId) -> &str {
        &self.mlp.graph().variables()[id.0].name
    }

    fn layer(&self, k: usize) -> Option<usize> {
        self.layered.then_some(k)
    }

    /// `h_{k-1}` (`x` for the first layer).
    fn layer_input(&self, k: usize) -> &str {
        let nodes = self.mlp.nodes();
        if k == 1 {
            self.name(nodes.x)
        } else {
            self.name(nodes.hidden[k - 2])
        }
    }

    /// `z_k` (`o` for the last layer): what the layer's affine map produces.
    fn layer_output(&self, k: usize) -> &str {
        let nodes = self.mlp.nodes();
        if k == self.depth {
            self.name(nodes.output)
        } else {
            self.name(nodes.pre_activations[k - 1])
        }
    }

    fn affine(&self, k: usize, with_bias: bool) -> String {
        let nodes = self.mlp.nodes();
        let w = self.name(nodes.weights[k - 1]);
        match nodes.biases[k - 1] {
            Some(b) if with_bias => format!("{w} {} + {}", self.layer_input(k), self.name(b)),
            _ => format!("{w} {}", self.layer_input(k)),
        }
    }

    fn affine_number(&self, k: usize) -> &'static str {
        if k == self.depth {
            "4.7.3"
        } else {
            "4.7.1"
        }
    }

    fn weight_gradient(&self, k: usize) -> Option<Equation> {
        let w = self.name(self.mlp.nodes().weights[k - 1]);
        let number = if k == self.depth { "4.7.11" } else { "4.7.14" };
        equation(
            number,
            self.layer(k),
            format!(
                "∂J/∂{w} = ∂J/∂{} {}ᵀ + λ {w}",
                self.layer_output(k),
                self.layer_input(k)
            ),
        )
    }

    fn hidden_gradient(&self, k: usize) -> Option<Equation> {
        let nodes = self.mlp.nodes();
        equation(
            "4.7.12",
            self.layer(k),
            format!(
                "∂J/∂{} = {}ᵀ ∂J/∂{}",
                self.name(nodes.hidden[k - 1]),
                self.name(nodes.weights[k]),
                self.layer_output(k + 1)
            ),
        )
    }

    fn pre_activation_gradient(&self, k: usize) -> Option<Equation> {
        let nodes = self.mlp.nodes();
        let z = self.name(nodes.pre_activations[k - 1]);
        equation(
            "4.7.13",
            self.layer(k),
            format!(
                "∂J/∂{z} = ∂J/∂{} ⊙ φ'({z}), φ = {}",
                self.name(nodes.hidden[k - 1]),
                self.mlp.config().activation
            ),
        )
    }

    fn output_gradient(&self) -> Option<Equation> {
        let rule = match self.mlp.config().loss {
            Loss::CrossEntropy => "softmax(o) - onehot(y)",
            Loss::Squared => "o - onehot(y)",
        };
        equation("4.7.9", None, format!("∂J/∂o = ∂L/∂o = {rule}"))
    }

    fn bias_gradient(&self, k: usize) -> Option<Equation> {
        let nodes = self.mlp.nodes();
        let b = nodes.biases[k - 1]?;
        equation(
            "bias",
            Some(k),
            format!("∂J/∂{} = ∂J/∂{}", self.name(b), self.layer_output(k)),
        )
    }

    fn forward_of(&self, id: VarId) -> Option<Equation> {
        let nodes = self.mlp.nodes();
        let config = self.mlp.config();
        for k in 1..=self.depth {
            if nodes.products[k - 1] == Some(id) {
                return equation(
                    self.affine_number(k),
                    self.layer(k),
                    format!(
                        "{} = {} (before the bias)",
                        self.name(id),
                        self.affine(k, false)
                    ),
                );
            }
            if k < self.depth && nodes.pre_activations[k - 1] == id {
                return equation(
                    "4.7.1",
                    self.layer(k),
                    format!("{} = {}", self.name(id), self.affine(k, true)),
                );
            }
            if k < self.depth && nodes.hidden[k - 1] == id {
                return equation(
                    "4.7.2",
                    self.layer(k),
                    format!(
                        "{} = φ({}), φ = {}",
                        self.name(id),
                        self.name(nodes.pre_activations[k - 1]),
                        config.activation
                    ),
                );
            }
        }
        let loss = match config.loss {
            Loss::CrossEntropy => "-log softmax(o)_y",
            Loss::Squared => "1/2 ‖o - onehot(y)‖²",
        };
        if id == nodes.output {
            equation(
                "4.7.3",
                self.layer(self.depth),
                format!("o = {}", self.affine(self.depth, true)),
            )
        } else if id == nodes.per_sample_loss {
            equation("4.7.4", None, format!("l(o, y) = {loss}"))
        } else if id == nodes.loss {
            equation("4.7.4", None, "L = mean of l(o, y) over the batch".into())
        } else if id == nodes.penalty {
            equation(
                "4.7.5",
                None,
                format!("s = λ/2 Σ_k ‖W_k‖_F², λ = {}", config.weight_decay),
            )
        } else if id == nodes.objective {
            equation("4.7.6", None, "J = L + s".into())
        } else if self.mlp.graph().variables()[id.0].producer.is_some() {
            equation("4.7.5", None, format!("{} (part of s)", self.name(id)))
        } else {
            None
        }
    }

    fn backward_of(&self, id: VarId) -> Option<Equation> {
        let nodes = self.mlp.nodes();
        for k in 1..=self.depth {
            if nodes.weights[k - 1] == id {
                return self.weight_gradient(k);
            }
            if nodes.biases[k - 1] == Some(id) {
                return self.bias_gradient(k);
            }
            if nodes.products[k - 1] == Some(id) {
                return if k == self.depth {
                    self.output_gradient()
                } else {
                    self.pre_activation_gradient(k)
                };
            }
            if k < self.depth && nodes.pre_activations[k - 1] == id {
                return self.pre_activation_gradient(k);
            }
            if k < self.depth && nodes.hidden[k - 1] == id {
                return self.hidden_gradient(k);
            }
        }
        if id == nodes.output {
            self.output_gradient()
        } else if id == nodes.per_sample_loss {
            equation("step 0", None, "∂J/∂l = 1/B per sample (the mean)".into())
        } else if id == nodes.loss {
            equation("step 0", None, "∂J/∂L = 1".into())
        } else if id == nodes.penalty {
            equation("step 0", None, "∂J/∂s = 1".into())
        } else if id == nodes.objective {
            equation("step 0", None, "∂J/∂J = 1".into())
        } else if self.mlp.graph().variables()[id.0].producer.is_some() {
            equation("4.7.10", None, format!("∂J/∂{} = λ/2", self.name(id)))
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
                Some(Equation {
                    number: numbers.join(", "),
                    formula: formulas.join(";  "),
                })
            }
            Op::AddBias => inputs.get(1).and_then(|&b| self.backward_of(b)),
            Op::Activation(_) => self.backward_of(inputs[0]),
            Op::SoftmaxCrossEntropy { .. } | Op::SquaredLoss => self.output_gradient(),
            Op::Mean => self.backward_of(inputs[0]),
            Op::SquaredFrobenius => {
                let w = self.name(inputs[0]);
                equation("4.7.10", None, format!("∂s/∂{w} = λ/2 · 2 {w} = λ {w}"))
            }
            Op::Scale(_) => equation("4.7.10", None, "∂s/∂(Σ‖W‖²) = λ/2".into()),
            Op::Add if operator.output == self.mlp.nodes().objective => {
                equation("step 0", None, "∂J/∂L = ∂J/∂s = 1".into())
            }
            Op::Add => equation("4.7.10", None, "a sum passes λ/2 on to each ‖W‖²".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, MlpConfig};

    #[test]
    fn the_seed_network_names_every_backward_equation() {
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
