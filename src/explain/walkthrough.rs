//! Computes an [`Explanation`]: one forward and backward pass through the graph, §4.7's
//! closed forms beside it, and finite differences beside both.

use super::agreement::{checked_indices, index_of_largest, scale_of, scaled_difference};
use super::{BackwardStep, Explanation, ForwardStep};
use crate::d2l::catalogue::{Formula, Formulas, Notation};
use crate::d2l::closed_form::{ClosedForm, ForwardValues, Gradients};
use crate::graph::VarId;
use crate::nn::gradcheck::central_differences;
use crate::nn::memory::memory_picture;
use crate::nn::mlp::MlpError;
use crate::nn::precision::convert_precision;
use crate::nn::Mlp;
use crate::tensor::{Shape, Tensor};

/// What to explain: a model (in `f64`), one sample, and the batch size for the memory picture.
#[derive(Clone, Debug)]
pub struct ExplainInput {
    /// The model; its parameters are used as they are.
    pub mlp: Mlp<f64>,
    /// The sample's features (`d` of them).
    pub x: Vec<f64>,
    /// Its label, a class index below `q`.
    pub label: usize,
    /// Where the sample comes from, for the heading.
    pub sample_description: String,
    /// The batch size the memory picture is computed for.
    pub memory_batch_size: usize,
}

/// Runs forward and backward once (the graph's, and §4.7's closed forms), checks every
/// gradient by central finite differences, and returns the whole walk-through.
pub fn explain(input: ExplainInput) -> Result<Explanation, MlpError> {
    let ExplainInput {
        mut mlp,
        x,
        label,
        sample_description,
        memory_batch_size,
    } = input;
    let config = mlp.config().clone();
    if x.len() != config.inputs {
        return Err(MlpError::Batch(format!(
            "the model takes {} input features, the sample has {}",
            config.inputs,
            x.len()
        )));
    }
    if label >= config.outputs {
        return Err(MlpError::Batch(format!(
            "label {label} is not below the model's {} outputs",
            config.outputs
        )));
    }
    let x_row = Tensor::from_vec(1, x.len(), x.clone()).expect("one row of d features");
    mlp.set_batch(&x_row, &[label])?;
    mlp.zero_grad();
    mlp.forward()?;
    // ds/dW from the graph: backward from s alone.
    let penalty = mlp.nodes().penalty;
    mlp.graph_mut().backward(penalty)?;
    let graph_ds_dw: Vec<Vec<f64>> = (1..=config.depth())
        .map(|k| grad_values(&mlp, mlp.nodes().weights[k - 1]))
        .collect();
    mlp.zero_grad();
    mlp.backward()?;

    let closed_form = ClosedForm::of_mlp(&mlp);
    let forward = closed_form.forward(&x, label);
    let backward = closed_form.backward(&forward, label);
    let names = Formulas::of(&mlp);

    let forward_steps = forward_steps(&mlp, &names, &forward, label);
    let mut backward_steps = Vec::new();
    let checker = Checker {
        closed_form: &closed_form,
        forward: &forward,
        label,
    };
    backward_steps.push(checker.output_step(&mlp, &names, &backward));
    for k in 1..=config.depth() {
        backward_steps.push(checker.penalty_step(&names, &backward, &graph_ds_dw, k));
    }
    let depth = config.depth();
    backward_steps.push(checker.weight_step(&mlp, &names, &backward, depth));
    if let Some(step) = checker.bias_step(&mlp, &names, &backward, depth) {
        backward_steps.push(step);
    }
    for k in (1..depth).rev() {
        backward_steps.push(checker.hidden_step(&mlp, &names, &backward, k));
        backward_steps.push(checker.pre_activation_step(&mlp, &names, &backward, k));
        backward_steps.push(checker.weight_step(&mlp, &names, &backward, k));
        if let Some(step) = checker.bias_step(&mlp, &names, &backward, k) {
            backward_steps.push(step);
        }
    }

    let memory = memory_at_batch_size(&mlp, &x, label, memory_batch_size)?;
    Ok(Explanation {
        model: config.to_string(),
        sample: sample_description,
        forward: forward_steps,
        backward: backward_steps,
        memory,
    })
}

/// The forward equations, each compared with the value the graph's forward pass holds.
fn forward_steps(
    mlp: &Mlp<f64>,
    names: &Formulas,
    forward: &ForwardValues,
    label: usize,
) -> Vec<ForwardStep> {
    let nodes = mlp.nodes();
    let depth = mlp.config().depth();
    let mut steps = Vec::new();
    let step = |formula: Formula, values: &[f64], id: VarId| {
        let graph = mlp.graph().value(id).as_slice();
        ForwardStep {
            equation: formula.number,
            layer: formula.layer,
            formula: formula.render(Notation::Unicode),
            shape: column_shape(values.len()),
            values: values.to_vec(),
            graph_difference: scaled_difference(
                values.iter().copied().zip(graph.iter().copied()),
                scale_of(values, graph),
            ),
        }
    };
    for k in 1..depth {
        steps.push(step(
            names.pre_activation(k),
            &forward.z[k - 1],
            nodes.pre_activations[k - 1],
        ));
        steps.push(step(
            names.hidden_output(k),
            &forward.h[k - 1],
            nodes.hidden[k - 1],
        ));
    }
    steps.push(step(names.output(), &forward.o, nodes.output));
    let mut loss = names.loss();
    loss.details.push(format!("y = {label}"));
    steps.push(step(loss, &[forward.loss], nodes.loss));
    steps.push(step(names.penalty(), &[forward.penalty], nodes.penalty));
    steps.push(step(
        names.objective(),
        &[forward.objective],
        nodes.objective,
    ));
    steps
}

/// Builds backward steps: the closed form and the graph are given, finite differences are
/// computed here.
struct Checker<'a> {
    closed_form: &'a ClosedForm,
    forward: &'a ForwardValues,
    label: usize,
}

impl Checker<'_> {
    /// A step whose finite differences are those of `objective` around `at`.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        formula: Formula,
        shape: Shape,
        closed_form: Vec<f64>,
        graph: Vec<f64>,
        mut at: Vec<f64>,
        objective: impl FnMut(&[f64]) -> f64,
    ) -> BackwardStep {
        let indices = checked_indices(closed_form.len(), index_of_largest(&closed_form));
        let numeric = central_differences(&mut at, &indices, objective);
        let scale = scale_of(&closed_form, &graph);
        let closed_vs_graph = scaled_difference(
            closed_form.iter().copied().zip(graph.iter().copied()),
            scale,
        );
        let closed_vs_finite_differences = scaled_difference(
            indices
                .iter()
                .zip(&numeric)
                .map(|(&i, &n)| (closed_form[i], n)),
            scale,
        );
        let graph_vs_finite_differences = scaled_difference(
            indices.iter().zip(&numeric).map(|(&i, &n)| (graph[i], n)),
            scale,
        );
        BackwardStep {
            equation: formula.number,
            layer: formula.layer,
            formula: formula.render(Notation::Unicode),
            shape: shape_text(shape),
            columns: shape.cols,
            finite_differences: indices.into_iter().zip(numeric).collect(),
            closed_form,
            graph,
            closed_vs_graph,
            closed_vs_finite_differences,
            graph_vs_finite_differences,
        }
    }

    /// 4.7.9: `dJ/do = dL/do`.
    fn output_step(&self, mlp: &Mlp<f64>, names: &Formulas, backward: &Gradients) -> BackwardStep {
        self.step(
            names.output_gradient(),
            Shape::new(backward.dj_do.len(), 1),
            backward.dj_do.clone(),
            grad_values(mlp, mlp.nodes().output),
            self.forward.o.clone(),
            |o| self.closed_form.objective_from_output(o, self.label),
        )
    }

    /// 4.7.10: `ds/dW_k = λ W_k`; finite differences of `s` alone.
    fn penalty_step(
        &self,
        names: &Formulas,
        backward: &Gradients,
        graph_ds_dw: &[Vec<f64>],
        k: usize,
    ) -> BackwardStep {
        let mut perturbed = self.closed_form.clone();
        let weight = self.closed_form.weights[k - 1].clone();
        self.step(
            names.penalty_gradient(k),
            weight.shape(),
            backward.ds_dw[k - 1].as_slice().to_vec(),
            graph_ds_dw[k - 1].clone(),
            weight.as_slice().to_vec(),
            move |values| {
                perturbed.weights[k - 1]
                    .as_mut_slice()
                    .copy_from_slice(values);
                perturbed.penalty()
            },
        )
    }

    /// 4.7.11 (last layer) and 4.7.14 (the others): `dJ/dW_k = dJ/dz_k h_{k-1}ᵀ + λ W_k`.
    fn weight_step(
        &self,
        mlp: &Mlp<f64>,
        names: &Formulas,
        backward: &Gradients,
        k: usize,
    ) -> BackwardStep {
        let mut perturbed = self.closed_form.clone();
        let weight = self.closed_form.weights[k - 1].clone();
        let (x, label) = (self.forward.x.clone(), self.label);
        self.step(
            names.weight_gradient(k),
            weight.shape(),
            backward.dj_dw[k - 1].as_slice().to_vec(),
            grad_values(mlp, mlp.nodes().weights[k - 1]),
            weight.as_slice().to_vec(),
            move |values| {
                perturbed.weights[k - 1]
                    .as_mut_slice()
                    .copy_from_slice(values);
                perturbed.forward(&x, label).objective
            },
        )
    }

    /// Beyond the D2L network: `dJ/db_k = dJ/dz_k` (or `dJ/do`), when the model has biases.
    fn bias_step(
        &self,
        mlp: &Mlp<f64>,
        names: &Formulas,
        backward: &Gradients,
        k: usize,
    ) -> Option<BackwardStep> {
        let formula = names.bias_gradient(k)?;
        let closed = backward.dj_db[k - 1].clone()?;
        let id = mlp.nodes().biases[k - 1]?;
        let mut perturbed = self.closed_form.clone();
        let (x, label) = (self.forward.x.clone(), self.label);
        let bias = self.closed_form.biases[k - 1].clone()?;
        Some(self.step(
            formula,
            Shape::new(closed.len(), 1),
            closed,
            grad_values(mlp, id),
            bias,
            move |values| {
                perturbed.biases[k - 1] = Some(values.to_vec());
                perturbed.forward(&x, label).objective
            },
        ))
    }

    /// 4.7.12: `dJ/dh_k = W_{k+1}ᵀ dJ/dz_{k+1}`.
    fn hidden_step(
        &self,
        mlp: &Mlp<f64>,
        names: &Formulas,
        backward: &Gradients,
        k: usize,
    ) -> BackwardStep {
        self.step(
            names.hidden_gradient(k),
            Shape::new(backward.dj_dh[k - 1].len(), 1),
            backward.dj_dh[k - 1].clone(),
            grad_values(mlp, mlp.nodes().hidden[k - 1]),
            self.forward.h[k - 1].clone(),
            |h| self.closed_form.objective_from_hidden(k, h, self.label),
        )
    }

    /// 4.7.13: `dJ/dz_k = dJ/dh_k ⊙ phi'(z_k)`.
    fn pre_activation_step(
        &self,
        mlp: &Mlp<f64>,
        names: &Formulas,
        backward: &Gradients,
        k: usize,
    ) -> BackwardStep {
        self.step(
            names.pre_activation_gradient(k),
            Shape::new(backward.dj_dz[k - 1].len(), 1),
            backward.dj_dz[k - 1].clone(),
            grad_values(mlp, mlp.nodes().pre_activations[k - 1]),
            self.forward.z[k - 1].clone(),
            |z| {
                self.closed_form
                    .objective_from_pre_activation(k, z, self.label)
            },
        )
    }
}

/// The graph's gradient of a variable, or zeros of its shape when backward computed none.
fn grad_values(mlp: &Mlp<f64>, id: VarId) -> Vec<f64> {
    match mlp.graph().grad(id) {
        Some(g) => g.as_slice().to_vec(),
        None => vec![0.0; mlp.graph().value(id).len()],
    }
}

/// `n x 1`, or `scalar` for one element: §4.7's column-vector shapes.
fn column_shape(n: usize) -> String {
    shape_text(Shape::new(n, 1))
}

/// A shape as §4.7 writes it: `5x4`, `5x1`, or `scalar` for one element.
fn shape_text(shape: Shape) -> String {
    if shape.len() == 1 {
        "scalar".to_string()
    } else {
        shape.to_string()
    }
}

/// The memory picture at `batch_size` copies of the sample, in `f32` as training runs.
fn memory_at_batch_size(
    mlp: &Mlp<f64>,
    x: &[f64],
    label: usize,
    batch_size: usize,
) -> Result<crate::nn::memory::MemoryPicture, MlpError> {
    let mut training: Mlp<f32> = convert_precision(mlp)?;
    let batch_size = batch_size.max(1);
    let d = x.len();
    let batch = Tensor::from_fn(batch_size, d, |_, c| x[c] as f32);
    training.set_batch(&batch, &vec![label; batch_size])?;
    training.forward()?;
    Ok(memory_picture(&training))
}
