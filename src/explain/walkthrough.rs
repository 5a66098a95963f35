//! Computes an [`Explanation`]: one forward and backward pass through the graph, the seed's
//! closed forms beside it, and finite differences beside both.

use super::finite_differences::{
    central_differences, checked_indices, index_of_largest, relative_difference, scale_of,
};
use super::{BackwardStep, Explanation, ForwardStep};
use crate::graph::VarId;
use crate::nn::memory::memory_picture;
use crate::nn::mlp::MlpError;
use crate::nn::precision::convert_precision;
use crate::nn::seed_equations::{SeedBackward, SeedForward, SeedNetwork};
use crate::nn::{Loss, Mlp};
use crate::tensor::Tensor;

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

/// Names of the model's variables as the graph calls them (`z`/`h` for the seed's single
/// hidden layer, `z1`, `h1`, ... for deeper models).
struct Names {
    weights: Vec<String>,
    biases: Vec<Option<String>>,
    z: Vec<String>,
    h: Vec<String>,
}

impl Names {
    fn of(mlp: &Mlp<f64>) -> Self {
        let graph = mlp.graph();
        let name = |v: VarId| graph.variables()[v.0].name.clone();
        let nodes = mlp.nodes();
        Names {
            weights: nodes.weights.iter().map(|&v| name(v)).collect(),
            biases: nodes.biases.iter().map(|b| b.map(name)).collect(),
            z: nodes.pre_activations.iter().map(|&v| name(v)).collect(),
            h: nodes.hidden.iter().map(|&v| name(v)).collect(),
        }
    }

    /// The input of layer `k` (from 1): `x`, then `h1`, ...
    fn input(&self, k: usize) -> &str {
        if k == 1 {
            "x"
        } else {
            &self.h[k - 2]
        }
    }

    /// The gradient flowing into layer `k`'s product: `dJ/do` for the last, `dJ/dz_k` else.
    fn upstream(&self, k: usize) -> String {
        if k == self.weights.len() {
            "dJ/do".to_string()
        } else {
            format!("dJ/d{}", self.z[k - 1])
        }
    }

    fn affine(&self, k: usize) -> String {
        let product = format!("{} {}", self.weights[k - 1], self.input(k));
        match &self.biases[k - 1] {
            Some(b) => format!("{product} + {b}"),
            None => product,
        }
    }
}

/// Runs forward and backward once (the graph's, and the seed's closed forms), checks every
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

    let seed = SeedNetwork::of_mlp(&mlp);
    let forward = seed.forward(&x, label);
    let backward = seed.backward(&forward, label);
    let names = Names::of(&mlp);

    let forward_steps = forward_steps(&mlp, &names, &forward, label);
    let mut backward_steps = Vec::new();
    let checker = Checker {
        seed: &seed,
        forward: &forward,
        label,
    };
    backward_steps.push(checker.output_step(&mlp, &backward));
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
    names: &Names,
    forward: &SeedForward,
    label: usize,
) -> Vec<ForwardStep> {
    let nodes = mlp.nodes();
    let config = mlp.config();
    let depth = config.depth();
    let layered = depth > 2;
    let mut steps = Vec::new();
    let step = |equation, layer, formula: String, values: &[f64], id: VarId| {
        let graph = mlp.graph().value(id).as_slice();
        ForwardStep {
            equation,
            layer,
            formula,
            shape: column_shape(values.len()),
            values: values.to_vec(),
            graph_difference: relative_difference(
                values.iter().copied().zip(graph.iter().copied()),
                scale_of(values, graph),
            ),
        }
    };
    for k in 1..depth {
        let layer = layered.then_some(k);
        steps.push(step(
            "4.7.1",
            layer,
            format!("{} = {}", names.z[k - 1], names.affine(k)),
            &forward.z[k - 1],
            nodes.pre_activations[k - 1],
        ));
        steps.push(step(
            "4.7.2",
            layer,
            format!(
                "{} = phi({}), phi = {}",
                names.h[k - 1],
                names.z[k - 1],
                config.activation
            ),
            &forward.h[k - 1],
            nodes.hidden[k - 1],
        ));
    }
    steps.push(step(
        "4.7.3",
        layered.then_some(depth),
        format!("o = {}", names.affine(depth)),
        &forward.o,
        nodes.output,
    ));
    let loss = match config.loss {
        Loss::CrossEntropy => "-log softmax(o)_y",
        Loss::Squared => "1/2 ‖o - onehot(y)‖²",
    };
    steps.push(step(
        "4.7.4",
        None,
        format!("L = l(o, y) = {loss}, y = {label}"),
        &[forward.loss],
        nodes.loss,
    ));
    let norms: Vec<String> = names.weights.iter().map(|w| format!("‖{w}‖_F²")).collect();
    steps.push(step(
        "4.7.5",
        None,
        format!(
            "s = λ/2 ({}), λ = {}",
            norms.join(" + "),
            config.weight_decay
        ),
        &[forward.penalty],
        nodes.penalty,
    ));
    steps.push(step(
        "4.7.6",
        None,
        "J = L + s".to_string(),
        &[forward.objective],
        nodes.objective,
    ));
    steps
}

/// Builds backward steps: the closed form and the graph are given, finite differences are
/// computed here.
struct Checker<'a> {
    seed: &'a SeedNetwork,
    forward: &'a SeedForward,
    label: usize,
}

impl Checker<'_> {
    fn layered(&self) -> bool {
        self.seed.depth() > 2
    }

    /// A step whose finite differences are those of `objective` around `at`.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        equation: &'static str,
        layer: Option<usize>,
        formula: String,
        shape: String,
        closed_form: Vec<f64>,
        graph: Vec<f64>,
        mut at: Vec<f64>,
        objective: impl FnMut(&[f64]) -> f64,
    ) -> BackwardStep {
        let indices = checked_indices(closed_form.len(), index_of_largest(&closed_form));
        let numeric = central_differences(&mut at, &indices, objective);
        let scale = scale_of(&closed_form, &graph);
        let closed_vs_graph = relative_difference(
            closed_form.iter().copied().zip(graph.iter().copied()),
            scale,
        );
        let closed_vs_finite_differences = relative_difference(
            indices
                .iter()
                .zip(&numeric)
                .map(|(&i, &n)| (closed_form[i], n)),
            scale,
        );
        let graph_vs_finite_differences = relative_difference(
            indices.iter().zip(&numeric).map(|(&i, &n)| (graph[i], n)),
            scale,
        );
        BackwardStep {
            equation,
            layer,
            formula,
            shape,
            finite_differences: indices.into_iter().zip(numeric).collect(),
            closed_form,
            graph,
            closed_vs_graph,
            closed_vs_finite_differences,
            graph_vs_finite_differences,
        }
    }

    /// 4.7.9: `dJ/do = dL/do`.
    fn output_step(&self, mlp: &Mlp<f64>, backward: &SeedBackward) -> BackwardStep {
        let rule = match mlp.config().loss {
            Loss::CrossEntropy => "softmax(o) - onehot(y)",
            Loss::Squared => "o - onehot(y)",
        };
        self.step(
            "4.7.9",
            None,
            format!("dJ/do = dL/do = {rule}"),
            column_shape(backward.dj_do.len()),
            backward.dj_do.clone(),
            grad_values(mlp, mlp.nodes().output),
            self.forward.o.clone(),
            |o| self.seed.objective_from_output(o, self.label),
        )
    }

    /// 4.7.10: `ds/dW_k = λ W_k`; finite differences of `s` alone.
    fn penalty_step(
        &self,
        names: &Names,
        backward: &SeedBackward,
        graph_ds_dw: &[Vec<f64>],
        k: usize,
    ) -> BackwardStep {
        let w = &names.weights[k - 1];
        let mut perturbed = self.seed.clone();
        let weight = self.seed.weights[k - 1].clone();
        self.step(
            "4.7.10",
            Some(k),
            format!("ds/d{w} = λ {w}"),
            weight.shape().to_string(),
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
        names: &Names,
        backward: &SeedBackward,
        k: usize,
    ) -> BackwardStep {
        let depth = self.seed.depth();
        let w = &names.weights[k - 1];
        let equation = if k == depth { "4.7.11" } else { "4.7.14" };
        let mut perturbed = self.seed.clone();
        let weight = self.seed.weights[k - 1].clone();
        let (x, label) = (self.forward.x.clone(), self.label);
        self.step(
            equation,
            self.layered().then_some(k),
            format!(
                "dJ/d{w} = {} {}ᵀ + λ {w}",
                names.upstream(k),
                names.input(k)
            ),
            weight.shape().to_string(),
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

    /// Beyond the seed: `dJ/db_k = dJ/dz_k` (or `dJ/do`), when the model has biases.
    fn bias_step(
        &self,
        mlp: &Mlp<f64>,
        names: &Names,
        backward: &SeedBackward,
        k: usize,
    ) -> Option<BackwardStep> {
        let b = names.biases[k - 1].as_ref()?;
        let closed = backward.dj_db[k - 1].clone()?;
        let id = mlp.nodes().biases[k - 1]?;
        let mut perturbed = self.seed.clone();
        let (x, label) = (self.forward.x.clone(), self.label);
        let bias = self.seed.biases[k - 1].clone()?;
        Some(self.step(
            "bias",
            self.layered().then_some(k),
            format!("dJ/d{b} = {}", names.upstream(k)),
            column_shape(closed.len()),
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
        names: &Names,
        backward: &SeedBackward,
        k: usize,
    ) -> BackwardStep {
        let h = &names.h[k - 1];
        self.step(
            "4.7.12",
            self.layered().then_some(k),
            format!("dJ/d{h} = {}ᵀ {}", names.weights[k], names.upstream(k + 1)),
            column_shape(backward.dj_dh[k - 1].len()),
            backward.dj_dh[k - 1].clone(),
            grad_values(mlp, mlp.nodes().hidden[k - 1]),
            self.forward.h[k - 1].clone(),
            |h| self.seed.objective_from_hidden(k, h, self.label),
        )
    }

    /// 4.7.13: `dJ/dz_k = dJ/dh_k ⊙ phi'(z_k)`.
    fn pre_activation_step(
        &self,
        mlp: &Mlp<f64>,
        names: &Names,
        backward: &SeedBackward,
        k: usize,
    ) -> BackwardStep {
        let (z, h) = (&names.z[k - 1], &names.h[k - 1]);
        self.step(
            "4.7.13",
            self.layered().then_some(k),
            format!(
                "dJ/d{z} = dJ/d{h} ⊙ phi'({z}), phi' = {}",
                derivative_name(mlp)
            ),
            column_shape(backward.dj_dz[k - 1].len()),
            backward.dj_dz[k - 1].clone(),
            grad_values(mlp, mlp.nodes().pre_activations[k - 1]),
            self.forward.z[k - 1].clone(),
            |z| self.seed.objective_from_pre_activation(k, z, self.label),
        )
    }
}

/// How `phi'` reads for the model's activation.
fn derivative_name(mlp: &Mlp<f64>) -> &'static str {
    match mlp.config().activation {
        crate::graph::Activation::Relu => "[z > 0]",
        crate::graph::Activation::Sigmoid => "σ(z)(1 - σ(z))",
        crate::graph::Activation::Tanh => "1 - tanh²(z)",
    }
}

/// The graph's gradient of a variable, or zeros of its shape when backward computed none.
fn grad_values(mlp: &Mlp<f64>, id: VarId) -> Vec<f64> {
    match mlp.graph().grad(id) {
        Some(g) => g.as_slice().to_vec(),
        None => vec![0.0; mlp.graph().value(id).len()],
    }
}

/// `n x 1`, or `scalar` for one element: the seed's column-vector shapes.
fn column_shape(n: usize) -> String {
    if n == 1 {
        "scalar".to_string()
    } else {
        format!("{n}x1")
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
