//! The multilayer perceptron of D2L §4.7, any depth, as a computational graph.
//!
//! For the D2L network (one hidden layer, no bias) the graph is exactly the figure of
//! §4.7: `z = x W1ᵀ` (4.7.1), `h = phi(z)` (4.7.2), `o = h W2ᵀ` (4.7.3), `l = l(o, y)` per
//! sample and `L = mean(l)` (4.7.4), `s = λ/2 (||W1||² + ||W2||²)` (4.7.5), `J = L + s`
//! (4.7.6). Deeper models repeat the first two steps per hidden layer (`z1, h1, z2, h2, ...`);
//! with biases, each product `u_k = h_{k-1} W_kᵀ` is followed by `z_k = u_k + b_k`.

use super::forward_only::ForwardBuffers;
use super::init;
use super::Loss;
use crate::graph::{Activation, Graph, GraphError, VarId};
use crate::rng::Rng;
use crate::tensor::{Element, Shape, Tensor};
use std::fmt;

/// The architecture and objective of an MLP.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// `d`, the number of input features.
    pub inputs: usize,
    /// The widths of the hidden layers (the D2L network has one, of `h` units).
    pub hidden: Vec<usize>,
    /// `q`, the number of outputs (classes).
    pub outputs: usize,
    /// `phi`, applied after every hidden layer.
    pub activation: Activation,
    /// `l`, the per-sample loss.
    pub loss: Loss,
    /// Whether every layer adds a bias (the D2L network has none). Biases are never penalised.
    pub bias: bool,
    /// `λ`, the weight of the L2 term `s = λ/2 Σ_k ||W_k||_F²`.
    pub weight_decay: f64,
}

impl MlpConfig {
    /// The D2L network of §4.7: `d` inputs, one hidden layer of `h` units, `q` outputs, no bias.
    pub fn d2l(
        d: usize,
        h: usize,
        q: usize,
        activation: Activation,
        loss: Loss,
        weight_decay: f64,
    ) -> Self {
        MlpConfig {
            inputs: d,
            hidden: vec![h],
            outputs: q,
            activation,
            loss,
            bias: false,
            weight_decay,
        }
    }

    /// `[d, h1, ..., q]`: the width of every layer, input first.
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut sizes = Vec::with_capacity(self.hidden.len() + 2);
        sizes.push(self.inputs);
        sizes.extend_from_slice(&self.hidden);
        sizes.push(self.outputs);
        sizes
    }

    /// The number of weight matrices (hidden layers + 1).
    pub fn depth(&self) -> usize {
        self.hidden.len() + 1
    }

    /// The shape of `W_k` (`k` from 1): `out x in`.
    pub fn weight_shape(&self, k: usize) -> Shape {
        let sizes = self.layer_sizes();
        Shape::new(sizes[k], sizes[k - 1])
    }

    /// The number of learnable numbers.
    pub fn parameter_count(&self) -> usize {
        (1..=self.depth())
            .map(|k| {
                let s = self.weight_shape(k);
                s.len() + if self.bias { s.rows } else { 0 }
            })
            .sum()
    }

    /// Checks that every size is positive and `λ` is finite and not negative.
    pub fn validate(&self) -> Result<(), MlpError> {
        if self.inputs == 0 {
            return Err(MlpError::Config("the input size must be at least 1".into()));
        }
        if self.outputs == 0 {
            return Err(MlpError::Config(
                "the number of outputs must be at least 1".into(),
            ));
        }
        if let Some(k) = self.hidden.iter().position(|&h| h == 0) {
            return Err(MlpError::Config(format!(
                "hidden layer {} has size 0; every hidden size must be at least 1",
                k + 1
            )));
        }
        if !self.weight_decay.is_finite() || self.weight_decay < 0.0 {
            return Err(MlpError::Config(format!(
                "the weight decay λ must be finite and not negative, got {}",
                crate::format::exact_number(self.weight_decay)
            )));
        }
        Ok(())
    }
}

impl fmt::Display for MlpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes: Vec<String> = self.layer_sizes().iter().map(|s| s.to_string()).collect();
        write!(
            f,
            "{} {}, {} loss, {}, λ = {}",
            sizes.join("-"),
            self.activation,
            self.loss,
            if self.bias { "bias" } else { "no bias" },
            crate::format::exact_number(self.weight_decay)
        )
    }
}

/// Why an MLP could not be built or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MlpError {
    /// The architecture is not valid.
    #[error("invalid model: {0}")]
    Config(String),
    /// A given parameter does not have the shape the architecture needs.
    #[error("parameter {name} is {got}, but the model needs {expected}")]
    ParameterShape {
        /// `W1`, `b2`, ...
        name: String,
        /// What the architecture needs.
        expected: String,
        /// What was given.
        got: String,
    },
    /// A batch does not fit the model.
    #[error("batch: {0}")]
    Batch(String),
    /// The graph rejected something (for example a label out of range).
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// The variables of an MLP's graph, by role.
#[derive(Clone, Debug)]
pub struct MlpNodes {
    /// `x`, the batch of inputs (`B x d`).
    pub x: VarId,
    /// `y`, the labels (`B x 1`, class indices).
    pub y: VarId,
    /// `W_1 .. W_k`.
    pub weights: Vec<VarId>,
    /// `b_1 .. b_k`, when the model has biases.
    pub biases: Vec<Option<VarId>>,
    /// The products `u_k = h_{k-1} W_kᵀ` before the bias, when the model has biases.
    pub products: Vec<Option<VarId>>,
    /// `z_k` of every hidden layer (4.7.1).
    pub pre_activations: Vec<VarId>,
    /// `h_k` of every hidden layer (4.7.2).
    pub hidden: Vec<VarId>,
    /// `o` (4.7.3).
    pub output: VarId,
    /// `l`, the per-sample losses (`B x 1`).
    pub per_sample_loss: VarId,
    /// `L`, their mean (4.7.4).
    pub loss: VarId,
    /// `‖W_k‖²_F` of every layer, the terms of `s`.
    pub squared_norms: Vec<VarId>,
    /// `s`, the L2 term (4.7.5).
    pub penalty: VarId,
    /// `J = L + s` (4.7.6).
    pub objective: VarId,
}

/// The layers' variables, as [`Mlp::from_parameters`] builds them.
struct LayerNodes {
    x: VarId,
    weights: Vec<VarId>,
    biases: Vec<Option<VarId>>,
    products: Vec<Option<VarId>>,
    pre_activations: Vec<VarId>,
    hidden: Vec<VarId>,
    output: VarId,
}

/// The objective's variables, as [`Mlp::from_parameters`] builds them.
struct ObjectiveNodes {
    y: VarId,
    per_sample_loss: VarId,
    loss: VarId,
    squared_norms: Vec<VarId>,
    penalty: VarId,
    objective: VarId,
}

/// The numbers one forward pass produces.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForwardValues<T> {
    /// `L`, the mean loss over the batch.
    pub loss: T,
    /// `s`, the L2 term.
    pub penalty: T,
    /// `J = L + s`.
    pub objective: T,
}

/// A multilayer perceptron: its configuration and the computational graph that evaluates
/// and differentiates it. The graph holds the parameters.
#[derive(Clone, Debug)]
pub struct Mlp<T> {
    config: MlpConfig,
    graph: Graph<T>,
    nodes: MlpNodes,
    /// `W1, b1, W2, b2, ...` with their variables.
    parameters: Vec<(String, VarId)>,
}

impl<T: Element> Mlp<T> {
    /// A new model with weights drawn from `seed` (see [`init`]) and zero biases.
    pub fn new(config: MlpConfig, seed: u64) -> Result<Self, MlpError> {
        config.validate()?;
        let mut rng = Rng::new(seed);
        let sizes = config.layer_sizes();
        let weights = (1..sizes.len())
            .map(|k| init::weight(&mut rng, config.activation, sizes[k - 1], sizes[k]))
            .collect();
        let biases = (1..sizes.len())
            .map(|k| config.bias.then(|| Tensor::zeros(1, sizes[k])))
            .collect();
        Self::from_parameters(config, weights, biases)
    }

    /// A model with the given parameters: `weights[k-1]` is `W_k` (`out x in`), `biases[k-1]`
    /// is `b_k` (`1 x out`, present exactly when `config.bias`). The parameters are checked
    /// against the architecture first ([`Mlp::check_parameters`]), then the graph is built
    /// around them: the layers (4.7.1 to 4.7.3), then the objective (4.7.4 to 4.7.6).
    pub fn from_parameters(
        config: MlpConfig,
        weights: Vec<Tensor<T>>,
        biases: Vec<Option<Tensor<T>>>,
    ) -> Result<Self, MlpError> {
        Self::check_parameters(&config, &weights, &biases)?;
        let mut graph = Graph::new();
        let layers = Self::build_layers(&mut graph, &config, weights, biases)?;
        let objective = Self::build_objective(&mut graph, &config, &layers)?;
        let mut parameters = Vec::new();
        for (k, (&w, b)) in layers.weights.iter().zip(&layers.biases).enumerate() {
            parameters.push((format!("W{}", k + 1), w));
            if let Some(b) = b {
                parameters.push((format!("b{}", k + 1), *b));
            }
        }
        Ok(Mlp {
            config,
            graph,
            parameters,
            nodes: MlpNodes {
                x: layers.x,
                y: objective.y,
                weights: layers.weights,
                biases: layers.biases,
                products: layers.products,
                pre_activations: layers.pre_activations,
                hidden: layers.hidden,
                output: layers.output,
                per_sample_loss: objective.per_sample_loss,
                loss: objective.loss,
                squared_norms: objective.squared_norms,
                penalty: objective.penalty,
                objective: objective.objective,
            },
        })
    }

    /// Checks that `config` is valid and that the parameters have the shapes it needs:
    /// `depth` weights `W_k` of `out x in`, and a `1 x out` bias per layer exactly when the
    /// model has biases.
    pub fn check_parameters(
        config: &MlpConfig,
        weights: &[Tensor<T>],
        biases: &[Option<Tensor<T>>],
    ) -> Result<(), MlpError> {
        config.validate()?;
        let depth = config.depth();
        if weights.len() != depth || biases.len() != depth {
            return Err(MlpError::Config(format!(
                "{} weight matrices and {} biases given for a model of {depth} layers",
                weights.len(),
                biases.len()
            )));
        }
        for (k, (w, b)) in weights.iter().zip(biases).enumerate() {
            let expected = config.weight_shape(k + 1);
            if w.shape() != expected {
                return Err(MlpError::ParameterShape {
                    name: format!("W{}", k + 1),
                    expected: expected.to_string(),
                    got: w.shape().to_string(),
                });
            }
            match (config.bias, b) {
                (true, Some(b)) if b.shape() == Shape::new(1, expected.rows) => {}
                (false, None) => {}
                (true, b) => {
                    return Err(MlpError::ParameterShape {
                        name: format!("b{}", k + 1),
                        expected: format!("1x{}", expected.rows),
                        got: b
                            .as_ref()
                            .map_or("missing".to_string(), |b| b.shape().to_string()),
                    })
                }
                (false, Some(_)) => {
                    return Err(MlpError::Config(format!(
                        "b{} given for a model without biases",
                        k + 1
                    )))
                }
            }
        }

        Ok(())
    }

    /// Adds `x` and the layers to `graph`: per layer `k`, the parameter `W_k`, `u_k = h_{k-1}
    /// W_kᵀ` (4.7.1 / 4.7.3), `z_k = u_k + b_k` with a bias, and for hidden layers `h_k =
    /// phi(z_k)` (4.7.2). With one hidden layer (the D2L network) the names are the book's
    /// (`z`, `h`).
    fn build_layers(
        graph: &mut Graph<T>,
        config: &MlpConfig,
        weights: Vec<Tensor<T>>,
        biases: Vec<Option<Tensor<T>>>,
    ) -> Result<LayerNodes, MlpError> {
        let depth = config.depth();
        let d2l_names = config.hidden.len() == 1;
        let numbered = |base: &str, k: usize| {
            if d2l_names {
                base.to_string()
            } else {
                format!("{base}{k}")
            }
        };
        let x = graph.input("x", 1, config.inputs);
        let mut layer_input = x;
        let mut weight_ids = Vec::with_capacity(depth);
        let mut bias_ids = Vec::with_capacity(depth);
        let mut products = Vec::with_capacity(depth);
        let mut pre_activations = Vec::with_capacity(depth - 1);
        let mut hidden = Vec::with_capacity(depth - 1);
        let mut output = x;
        for (k, (w, b)) in weights.into_iter().zip(biases).enumerate() {
            let k = k + 1;
            let last = k == depth;
            let w = graph.parameter(&format!("W{k}"), w);
            weight_ids.push(w);
            let pre_activation_name = if last {
                "o".to_string()
            } else {
                numbered("z", k)
            };
            let z = match b {
                Some(b) => {
                    let b = graph.parameter(&format!("b{k}"), b);
                    bias_ids.push(Some(b));
                    let u_name = if last {
                        "u_o".to_string()
                    } else {
                        numbered("u", k)
                    };
                    let u = graph.matmul(layer_input, w, &u_name)?;
                    products.push(Some(u));
                    graph.add_bias(u, b, &pre_activation_name)?
                }
                None => {
                    bias_ids.push(None);
                    products.push(None);
                    graph.matmul(layer_input, w, &pre_activation_name)?
                }
            };
            if last {
                output = z;
            } else {
                pre_activations.push(z);
                let h = graph.activation(config.activation, z, &numbered("h", k))?;
                hidden.push(h);
                layer_input = h;
            }
        }
        Ok(LayerNodes {
            x,
            weights: weight_ids,
            biases: bias_ids,
            products,
            pre_activations,
            hidden,
            output,
        })
    }

    /// Adds the objective to `graph` after the layers: the labels `y`, the per-sample losses
    /// and their mean `L` (4.7.4), `s = λ/2 Σ_k ‖W_k‖²` (4.7.5) and `J = L + s` (4.7.6).
    fn build_objective(
        graph: &mut Graph<T>,
        config: &MlpConfig,
        layers: &LayerNodes,
    ) -> Result<ObjectiveNodes, MlpError> {
        let depth = config.depth();
        let (output, weight_ids) = (layers.output, &layers.weights);
        let y = graph.input("y", 1, 1);
        let per_sample_loss = match config.loss {
            Loss::CrossEntropy => graph.softmax_cross_entropy(output, y, "l")?,
            Loss::Squared => graph.squared_loss(output, y, "l")?,
        };
        let loss = graph.mean(per_sample_loss, "L")?;
        let mut norms = Vec::with_capacity(depth);
        for (k, &w) in weight_ids.iter().enumerate() {
            norms.push(graph.squared_frobenius(w, &format!("‖W{}‖²", k + 1))?);
        }
        let mut sum = norms[0];
        for (k, &norm) in norms.iter().enumerate().skip(1) {
            let name = if k + 1 == depth {
                "Σ‖W‖²".to_string()
            } else {
                format!("Σ‖W‖² (1..{})", k + 1)
            };
            sum = graph.add(sum, norm, &name)?;
        }
        let penalty = graph.scale(sum, T::from_f64(config.weight_decay / 2.0), "s")?;
        let objective = graph.add(loss, penalty, "J")?;

        Ok(ObjectiveNodes {
            y,
            per_sample_loss,
            loss,
            squared_norms: norms,
            penalty,
            objective,
        })
    }

    /// The same parameters under another configuration of equal shapes (for example another
    /// `λ`): the graph is rebuilt around copies of the current parameters.
    pub fn reconfigured(&self, config: MlpConfig) -> Result<Self, MlpError> {
        let depth = self.config.depth();
        let weights = (1..=depth).map(|k| self.weight(k).clone()).collect();
        let biases = (1..=depth).map(|k| self.bias(k).cloned()).collect();
        Self::from_parameters(config, weights, biases)
    }

    /// The configuration.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The computational graph.
    pub fn graph(&self) -> &Graph<T> {
        &self.graph
    }

    /// The computational graph, mutable (to update parameters or run it by hand).
    pub fn graph_mut(&mut self) -> &mut Graph<T> {
        &mut self.graph
    }

    /// The graph's variables by role.
    pub fn nodes(&self) -> &MlpNodes {
        &self.nodes
    }

    /// Loads a batch: `x` is `B x d`, `labels` holds `B` class indices.
    pub fn set_batch(&mut self, x: &Tensor<T>, labels: &[usize]) -> Result<(), MlpError> {
        if x.cols() != self.config.inputs {
            return Err(MlpError::Batch(format!(
                "the model takes {} input features, the batch has {}",
                self.config.inputs,
                x.cols()
            )));
        }
        if labels.len() != x.rows() {
            return Err(MlpError::Batch(format!(
                "{} samples but {} labels",
                x.rows(),
                labels.len()
            )));
        }
        self.graph.set_input(self.nodes.x, x)?;
        self.set_labels(labels.iter().copied())?;
        Ok(())
    }

    /// Resizes the input `x` to `rows` samples and returns it to be filled in place
    /// (`rows x d`, row-major): the training loop gathers a batch here without a copy.
    pub fn features_mut(&mut self, rows: usize) -> &mut [T] {
        self.graph
            .input_mut(self.nodes.x, rows)
            .expect("x is an input of the graph")
    }

    /// Sets the labels `y` of the batch from class indices.
    pub fn set_labels(
        &mut self,
        labels: impl ExactSizeIterator<Item = usize>,
    ) -> Result<(), MlpError> {
        let y = self.graph.input_mut(self.nodes.y, labels.len())?;
        for (slot, label) in y.iter_mut().zip(labels) {
            *slot = T::from_f64(label as f64);
        }
        Ok(())
    }

    /// Forward propagation (4.7.1 to 4.7.6) on the loaded batch.
    pub fn forward(&mut self) -> Result<ForwardValues<T>, MlpError> {
        let rows = self.graph.value(self.nodes.x).rows();
        let labels = self.graph.value(self.nodes.y).rows();
        if rows != labels {
            return Err(MlpError::Batch(format!(
                "{rows} samples but {labels} labels"
            )));
        }
        if rows == 0 {
            return Err(MlpError::Batch("the batch is empty".into()));
        }
        self.graph.forward()?;
        Ok(ForwardValues {
            loss: self.graph.value(self.nodes.loss).item(),
            penalty: self.graph.value(self.nodes.penalty).item(),
            objective: self.graph.value(self.nodes.objective).item(),
        })
    }

    /// Backward propagation (4.7.9 to 4.7.14) from `J`: afterwards every parameter holds
    /// `dJ/dθ` (for a weight, `dL/dW_k + λ W_k`, 4.7.11 and 4.7.14 with the decay term of
    /// 4.7.10) and every hidden layer's `z_k` holds `dJ/dz_k` (see [`Graph::backward`]).
    /// Parameter gradients accumulate until [`Mlp::zero_grad`], as in PyTorch.
    pub fn backward(&mut self) -> Result<(), MlpError> {
        self.graph.backward(self.nodes.objective)?;
        Ok(())
    }

    /// Forgets the accumulated parameter gradients.
    pub fn zero_grad(&mut self) {
        self.graph.zero_grad();
    }

    /// `W_k`, `k` from 1.
    pub fn weight(&self, k: usize) -> &Tensor<T> {
        self.graph.value(self.nodes.weights[k - 1])
    }

    /// `b_k`, `k` from 1, when the model has biases.
    pub fn bias(&self, k: usize) -> Option<&Tensor<T>> {
        self.nodes.biases[k - 1].map(|b| self.graph.value(b))
    }

    /// `dJ/dW_k` from the last backward pass.
    pub fn weight_grad(&self, k: usize) -> Option<&Tensor<T>> {
        self.graph.grad(self.nodes.weights[k - 1])
    }

    /// `dJ/db_k` from the last backward pass.
    pub fn bias_grad(&self, k: usize) -> Option<&Tensor<T>> {
        self.nodes.biases[k - 1].and_then(|b| self.graph.grad(b))
    }

    /// Every parameter with its name, weights and biases of each layer in order
    /// (`W1, b1, W2, b2, ...`).
    pub fn named_parameters(&self) -> &[(String, VarId)] {
        &self.parameters
    }

    /// `o` of the last forward pass (`B x q`).
    pub fn outputs(&self) -> &Tensor<T> {
        self.graph.value(self.nodes.output)
    }

    /// The per-sample losses `l` of the last forward pass (`B x 1`).
    pub fn per_sample_losses(&self) -> &Tensor<T> {
        self.graph.value(self.nodes.per_sample_loss)
    }

    /// How many samples of the loaded batch the last forward pass classified correctly
    /// (the largest output is the label's; ties go to the lowest index).
    pub fn correct_predictions(&self) -> usize {
        let labels = self.graph.value(self.nodes.y).as_slice();
        let q = self.config.outputs;
        self.outputs()
            .as_slice()
            .chunks_exact(q)
            .zip(labels)
            .filter(|(row, &label)| argmax(row) == label.to_f64() as usize)
            .count()
    }

    /// Prediction: the outputs `o` for a batch `x` (`B x d`), without labels and without
    /// keeping anything for backward ([`ForwardBuffers`]: each layer's result replaces the
    /// previous one, so only two activations are alive at a time).
    pub fn predict(&self, x: &Tensor<T>) -> Result<Tensor<T>, MlpError> {
        if x.cols() != self.config.inputs {
            return Err(MlpError::Batch(format!(
                "the model takes {} input features, the input has {}",
                self.config.inputs,
                x.cols()
            )));
        }
        let mut buffers = ForwardBuffers::new();
        buffers
            .input_mut(x.rows(), x.cols())
            .copy_from_slice(x.as_slice());
        buffers.forward(self);
        Ok(buffers.into_outputs())
    }
}

/// `softmax(o)`, as in 4.7.4's `l = -log softmax(o)_y`: the class probabilities of outputs
/// `o`, computed in `f64` from `o - max(o)` (so no exponential overflows); they sum to 1.
pub fn softmax<T: Element>(o: &[T]) -> Vec<f64> {
    let Some(&first) = o.first() else {
        return Vec::new();
    };
    let max = o
        .iter()
        .copied()
        .fold(first, |a, b| if b > a { b } else { a });
    let exps: Vec<f64> = o.iter().map(|&v| (v - max).to_f64().exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// The index of the largest element (the first one on ties).
pub fn argmax<T: Element>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}
