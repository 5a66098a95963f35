//! The numbers plugged into the graph's equations, for one sample after one forward and
//! one backward pass of the engine: each variable's forward equation with its operands'
//! values, and each *contribution* to a gradient — what one operator's vector-Jacobian
//! product ([`Op::vjp`], the engine's own rule, run on the engine's own values) hands back
//! along one edge. A variable read by two operators gets two contributions, and its
//! gradient is their sum: each `W_k` feeds its product and the L2 term, so
//! `∂J/∂W2 = ∂J/∂o hᵀ + λ W2` is 4.7.11's data path plus 4.7.10's `λ W2`.
//!
//! Terms are named as the catalogue ([`crate::d2l::catalogue::Formulas`]) writes the
//! equations; every number is written by [`crate::format::operand`]; names are typeset by
//! [`crate::viz::math_text`].

use super::equations::node_equations;
use crate::d2l::catalogue::{gradient, Formula, Formulas};
use crate::format::operand;
use crate::graph::{Graph, Op, OpId, VarId};
use crate::nn::Mlp;
use crate::tensor::{Tensor, Write};
use crate::viz::graph_view::NodeRef;
use crate::viz::math_text::html;

/// One operator's share of one variable's gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// The operator whose vector-Jacobian product it is.
    pub operator: OpId,
    /// The variable it is a share of the gradient of.
    pub variable: VarId,
    /// The equation it belongs to (`4.7.11`; `4.7.10` for the L2 term's `λ W`).
    pub number: String,
    /// The term, in Unicode: `∂J/∂o hᵀ`, `λ W2`.
    pub term: String,
    /// The term with its operands' numbers, as HTML: `[0.12, -0.3]ᵀ [0.5, 0, 1.2]`.
    pub plugged_html: String,
    /// Its value, in the engine's layout (rows are samples), row-major.
    pub value: Tensor<f64>,
}

/// The right side of a formula's equation, cut at its top-level ` + `: the terms of
/// `∂J/∂W2 = ∂J/∂o hᵀ + λ W2` are `∂J/∂o hᵀ` and `λ W2`.
fn terms(formula: &Formula) -> Vec<String> {
    let right = formula
        .equation
        .split_once(" = ")
        .map_or(formula.equation.as_str(), |(_, r)| r);
    right.split(" + ").map(str::to_string).collect()
}

/// `(rows, cols)` of `id` as §4.7 writes it for one sample: weights as they are (`h x d`),
/// every other row (`x`, `z`, `h`, `o`, a bias) as a column `n x 1`.
pub fn section_shape(mlp: &Mlp<f64>, id: VarId) -> (usize, usize) {
    let value = mlp.graph().value(id);
    if mlp.nodes().weights.contains(&id) || value.rows() != 1 {
        (value.rows(), value.cols())
    } else {
        (value.cols(), 1)
    }
}

/// `values` of variable `id`'s shape, as an operand in §4.7's orientation.
fn shown(mlp: &Mlp<f64>, id: VarId, values: &Tensor<f64>) -> String {
    let (rows, cols) = section_shape(mlp, id);
    operand(values.as_slice(), rows, cols)
}

/// The value of `id`, as an operand.
pub fn value_text(mlp: &Mlp<f64>, id: VarId) -> String {
    shown(mlp, id, mlp.graph().value(id))
}

/// The gradient of `id`, as an operand, when backward computed one.
pub fn gradient_text(mlp: &Mlp<f64>, id: VarId) -> Option<String> {
    mlp.graph().grad(id).map(|g| shown(mlp, id, g))
}

/// The engine's names and values that the terms are written with.
struct Plugging<'a> {
    mlp: &'a Mlp<f64>,
    graph: &'a Graph<f64>,
    formulas: Formulas,
}

impl<'a> Plugging<'a> {
    fn new(mlp: &'a Mlp<f64>) -> Self {
        Plugging {
            mlp,
            graph: mlp.graph(),
            formulas: Formulas::of(mlp),
        }
    }

    fn name(&self, id: VarId) -> &str {
        &self.graph.variables()[id.0].name
    }

    fn value(&self, id: VarId) -> String {
        value_text(self.mlp, id)
    }

    fn grad(&self, id: VarId) -> String {
        gradient_text(self.mlp, id).unwrap_or_else(|| "?".to_string())
    }

    /// The layer `k` (from 1) whose weight is `w`.
    fn weight_layer(&self, w: VarId) -> Option<usize> {
        self.mlp
            .nodes()
            .weights
            .iter()
            .position(|&v| v == w)
            .map(|k| k + 1)
    }

    /// The one-hot label column of the sample.
    fn one_hot(&self, y: VarId, classes: usize) -> String {
        let label = self.graph.value(y).as_slice()[0] as usize;
        let column: Vec<f64> = (0..classes).map(|j| f64::from(j == label)).collect();
        operand(&column, classes, 1)
    }

    /// `W` transposed, as an operand (`in x out`).
    fn transposed(&self, w: VarId) -> String {
        let value = self.graph.value(w);
        let (rows, cols) = (value.rows(), value.cols());
        let t: Vec<f64> = (0..cols * rows)
            .map(|i| value.as_slice()[(i % rows) * cols + i / rows])
            .collect();
        operand(&t, cols, rows)
    }

    /// The term operator `op` gives input number `i`, with its numbers: the catalogue's
    /// equation number and term, and the operands plugged in (HTML).
    fn term(&self, op: OpId, i: usize) -> (String, String, String) {
        let operator = &self.graph.operators()[op.0];
        let input = operator.inputs[i];
        let out = operator.output;
        let f = &self.formulas;
        let own_number = || {
            node_equations(self.mlp, NodeRef::Variable(input))
                .backward
                .map_or_else(String::new, |e| e.number)
        };
        let dout = self.grad(out);
        match (&operator.op, i) {
            (Op::MatMul, 1) => {
                let k = self.weight_layer(input).unwrap_or(1);
                let formula = f.weight_gradient(k);
                let x = operator.inputs[0];
                let (n, _) = section_shape(self.mlp, x);
                let x_row = operand(self.graph.value(x).as_slice(), 1, n);
                (
                    formula.label(),
                    terms(&formula)[0].clone(),
                    format!("{} {}", html(&dout), html(&x_row)),
                )
            }
            (Op::MatMul, _) => {
                let w = operator.inputs[1];
                let k = self.weight_layer(w).unwrap_or(2);
                let formula = f.hidden_gradient(k - 1);
                (
                    formula.label(),
                    terms(&formula)[0].clone(),
                    format!("{} {}", html(&self.transposed(w)), html(&dout)),
                )
            }
            (Op::Activation(phi), _) => {
                let h = self.graph.value(out);
                let slope: Vec<f64> = h
                    .as_slice()
                    .iter()
                    .map(|&h| phi.derivative_from_output(h))
                    .collect();
                let (n, _) = section_shape(self.mlp, out);
                let k = self
                    .mlp
                    .nodes()
                    .pre_activations
                    .iter()
                    .position(|&z| z == input)
                    .map_or(1, |k| k + 1);
                let formula = f.pre_activation_gradient(k);
                (
                    formula.label(),
                    terms(&formula)[0].clone(),
                    format!("{} ⊙ {}", html(&dout), html(&operand(&slope, n, 1))),
                )
            }
            (Op::SoftmaxCrossEntropy { probabilities }, _) => {
                let q = probabilities.cols();
                let term = format!("{} (softmax(o) - onehot(y))", gradient(self.name(out)));
                let plugged = format!(
                    "{} · ({} - {})",
                    dout,
                    operand(probabilities.as_slice(), q, 1),
                    self.one_hot(operator.inputs[1], q)
                );
                (own_number(), term, html(&plugged))
            }
            (Op::SquaredLoss, _) => {
                let q = self.graph.value(input).cols();
                let term = format!("{} (o - onehot(y))", gradient(self.name(out)));
                let plugged = format!(
                    "{} · ({} - {})",
                    dout,
                    self.value(input),
                    self.one_hot(operator.inputs[1], q)
                );
                (own_number(), term, html(&plugged))
            }
            (Op::Mean, _) => {
                let b = self.graph.value(input).len();
                let term = format!("{} / B", gradient(self.name(out)));
                (own_number(), term, html(&format!("{dout} / {b}")))
            }
            (Op::SquaredFrobenius, _) => {
                let k = self.weight_layer(input).unwrap_or(1);
                let lambda = 2.0 * self.graph.grad(out).map_or(0.0, |g| g.item());
                let formula = f.penalty_gradient(k);
                let term = terms(&f.weight_gradient(k)).pop().unwrap_or_default();
                let plugged = format!("{} · {}", operand(&[lambda], 1, 1), self.value(input));
                (formula.number.to_string(), term, html(&plugged))
            }
            (Op::Scale(c), _) => {
                let term = format!("λ/2 {}", gradient(self.name(out)));
                let plugged = format!("{} · {dout}", operand(&[*c], 1, 1));
                (own_number(), term, html(&plugged))
            }
            (Op::AddBias, _) | (Op::Add, _) => {
                (own_number(), gradient(self.name(out)), html(&dout))
            }
        }
    }

    /// The forward equation of the variable `out` (an operator's output) with its
    /// operands' numbers and its value, as HTML: `z = W1 x = [[…]] [0.5, -0.3]ᵀ = […]ᵀ`.
    fn forward(&self, out: VarId) -> Option<String> {
        let op = self.graph.variables()[out.0].producer?;
        let operator = &self.graph.operators()[op.0];
        let inputs = &operator.inputs;
        let name = |i: usize| self.name(inputs[i]);
        let value = |i: usize| self.value(inputs[i]);
        let (rule, plugged) = match &operator.op {
            Op::MatMul => (
                format!("{} {}", name(1), name(0)),
                format!("{} {}", value(1), value(0)),
            ),
            Op::AddBias | Op::Add => (
                format!("{} + {}", name(0), name(1)),
                format!("{} + {}", value(0), value(1)),
            ),
            Op::Activation(phi) => (format!("φ({})", name(0)), format!("{phi}({})", value(0))),
            Op::SoftmaxCrossEntropy { .. } => {
                let label = self.graph.value(inputs[1]).as_slice()[0] as usize;
                (
                    "-log softmax(o)_y".to_string(),
                    format!("-log softmax({})_{label}", value(0)),
                )
            }
            Op::SquaredLoss => {
                let q = self.graph.value(inputs[0]).cols();
                (
                    "1/2 ‖o - onehot(y)‖²".to_string(),
                    format!("1/2 ‖{} - {}‖²", value(0), self.one_hot(inputs[1], q)),
                )
            }
            Op::Mean => (format!("mean({})", name(0)), format!("mean({})", value(0))),
            Op::SquaredFrobenius => (format!("‖{}‖_F²", name(0)), format!("‖{}‖²", value(0))),
            Op::Scale(c) => (
                format!("λ/2 · {}", name(0)),
                format!("{} · {}", operand(&[*c], 1, 1), value(0)),
            ),
        };
        Some(format!(
            "{} = {} = {} = {}",
            html(self.name(out)),
            html(&rule),
            html(&plugged),
            html(&self.value(out))
        ))
    }
}

/// Every contribution backward propagation made for the sample: for each operator it ran,
/// in backward order, one [`Term`] per input that takes a gradient. Empty when backward did
/// not run (no gradient of the objective is stored).
pub fn contributions(mlp: &Mlp<f64>) -> Vec<Term> {
    let plugging = Plugging::new(mlp);
    let graph = mlp.graph();
    let mut found = Vec::new();
    for op in graph.reverse_topological_order(mlp.nodes().objective) {
        let operator = &graph.operators()[op.0];
        let Some(out_grad) = graph.grad(operator.output) else {
            continue;
        };
        for (i, &input) in operator.inputs.iter().enumerate() {
            if !operator.op.is_differentiable_input(i) || !graph.requires_grad(input) {
                continue;
            }
            let shape = graph.value(input);
            let mut value = Tensor::zeros(shape.rows(), shape.cols());
            let values: Vec<&Tensor<f64>> =
                operator.inputs.iter().map(|&v| graph.value(v)).collect();
            operator.op.vjp(
                i,
                &values,
                graph.value(operator.output),
                out_grad,
                &mut value,
                Write::Overwrite,
            );
            let (number, term, plugged_html) = plugging.term(op, i);
            found.push(Term {
                operator: op,
                variable: input,
                number,
                term,
                plugged_html,
                value,
            });
        }
    }
    found
}

/// The forward equation of variable `id` with its numbers (HTML), for an operator's output.
pub fn forward_plugged(mlp: &Mlp<f64>, id: VarId) -> Option<String> {
    Plugging::new(mlp).forward(id)
}

/// `∂J/∂v = term + term = numbers + numbers = result` (HTML) for variable `id`, from its
/// contributions `terms`, written in the order forward applies their operators (the data
/// path before the L2 term, as §4.7 writes it), when it has a gradient.
pub fn backward_plugged(mlp: &Mlp<f64>, id: VarId, terms: &[&Term]) -> Option<String> {
    let result = gradient_text(mlp, id)?;
    if terms.is_empty() {
        return None;
    }
    let mut terms = terms.to_vec();
    terms.sort_by_key(|t| t.operator);
    let name = &mlp.graph().variables()[id.0].name;
    let symbolic: Vec<String> = terms.iter().map(|t| html(&t.term)).collect();
    let plugged: Vec<&str> = terms.iter().map(|t| t.plugged_html.as_str()).collect();
    Some(format!(
        "{} = {} = {} = {}",
        html(&gradient(name)),
        symbolic.join(" + "),
        plugged.join(" + "),
        html(&result)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Loss, MlpConfig};

    fn d2l_network(weight_decay: f64) -> Mlp<f64> {
        let config = MlpConfig::d2l(2, 3, 2, Activation::Relu, Loss::CrossEntropy, weight_decay);
        let mut mlp: Mlp<f64> = Mlp::new(config, 1).unwrap();
        let x = Tensor::from_vec(1, 2, vec![0.5, -0.25]).unwrap();
        mlp.set_batch(&x, &[1]).unwrap();
        mlp.forward().unwrap();
        mlp.backward().unwrap();
        mlp
    }

    #[test]
    fn each_weight_gets_the_data_path_and_the_l2_term_and_they_sum_to_its_gradient() {
        for lambda in [0.0, 0.1] {
            let mlp = d2l_network(lambda);
            let all = contributions(&mlp);
            for (k, number) in [(1, "4.7.14"), (2, "4.7.11")] {
                let w = mlp.nodes().weights[k - 1];
                let parts: Vec<&Term> = all.iter().filter(|t| t.variable == w).collect();
                assert_eq!(parts.len(), 2, "W{k}");
                let numbers: Vec<&str> = parts.iter().map(|t| t.number.as_str()).collect();
                assert!(
                    numbers.contains(&number) && numbers.contains(&"4.7.10"),
                    "{numbers:?}"
                );
                let grad = mlp.graph().grad(w).unwrap().as_slice();
                let value = mlp.graph().value(w).as_slice();
                let l2 = parts.iter().find(|t| t.number == "4.7.10").unwrap();
                for (j, g) in grad.iter().enumerate() {
                    let sum = parts[0].value.as_slice()[j] + parts[1].value.as_slice()[j];
                    assert!((sum - g).abs() <= 1e-12 * (1.0 + g.abs()), "W{k}[{j}]");
                    assert!((l2.value.as_slice()[j] - lambda * value[j]).abs() <= 1e-15);
                }
            }
        }
    }

    #[test]
    fn the_output_weights_gradient_reads_as_section_4_7_writes_it() {
        let mlp = d2l_network(0.01);
        let all = contributions(&mlp);
        let w2 = mlp.nodes().weights[1];
        let parts: Vec<&Term> = all.iter().filter(|t| t.variable == w2).collect();
        let text = backward_plugged(&mlp, w2, &parts).unwrap();
        assert!(
            text.starts_with("∂J/∂W<sub>2</sub> = ∂J/∂o hᵀ + λ W<sub>2</sub> = ["),
            "{text}"
        );
        assert!(text.contains("]ᵀ ["), "a column times a row: {text}");
        assert!(text.contains(" + 0.01 · [["), "{text}");
        let z = forward_plugged(&mlp, mlp.nodes().pre_activations[0]).unwrap();
        assert!(z.starts_with("z = W<sub>1</sub> x = [["), "{z}");
        assert_eq!(section_shape(&mlp, mlp.nodes().x), (2, 1));
        assert_eq!(section_shape(&mlp, w2), (2, 3));
    }
}
