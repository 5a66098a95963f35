//! Forward propagation without the graph, for inference (`eval`, `predict`, a trainer's
//! validation): the layers' products and activations and nothing kept for backward.
//!
//! The graph's forward pass keeps every intermediate (`u_k`, `z_k`, `h_k`, `softmax(o)`), the
//! squared norms of the weights and `J`, because backward reads them. Inference needs only the
//! outputs `o`: here each layer's result replaces the one before it, in two buffers that are
//! reused from batch to batch, so a pass allocates nothing once the buffers have grown to the
//! batch. The bias and the activation are applied in one pass over the product, in place.
//!
//! Every value is computed with the same operations in the same order as the graph's forward
//! (the same product, then `u + b`, then `phi`), so the outputs are bit-identical to
//! [`Mlp::forward`]'s.

use super::mlp::Mlp;
use crate::graph::Activation;
use crate::tensor::matmul::matmul_a_bt;
use crate::tensor::vectorised::vectorised;
use crate::tensor::{Element, Shape, Tensor, Write};

/// The two activation buffers of a forward-only pass: the batch is loaded into one, and each
/// layer writes the other and swaps them.
#[derive(Clone, Debug, Default)]
pub struct ForwardBuffers<T> {
    current: Tensor<T>,
    next: Tensor<T>,
}

impl<T: Element> ForwardBuffers<T> {
    /// Empty buffers; they grow to the first batch and keep their allocation after it.
    pub fn new() -> Self {
        ForwardBuffers {
            current: Tensor::default(),
            next: Tensor::default(),
        }
    }

    /// Buffers for batches of up to `rows` samples of `mlp`: both hold `rows` times the widest
    /// layer (inputs included), so that no pass of up to `rows` samples allocates.
    pub fn for_batches(mlp: &Mlp<T>, rows: usize) -> Self {
        let widest = mlp.config().layer_sizes().into_iter().max().unwrap_or(0);
        ForwardBuffers {
            current: Tensor::zeros(rows, widest),
            next: Tensor::zeros(rows, widest),
        }
    }

    /// The input batch `x` resized to `rows x inputs`, to be filled in place (row-major).
    pub fn input_mut(&mut self, rows: usize, inputs: usize) -> &mut [T] {
        self.current.reshape_in_place(Shape::new(rows, inputs));
        self.current.as_mut_slice()
    }

    /// Forward propagation of the loaded batch through `mlp`'s layers: per layer
    /// `u_k = h_{k-1} W_kᵀ` (4.7.1, 4.7.3), `z_k = u_k + b_k` with a bias, and for hidden layers
    /// `h_k = phi(z_k)` (4.7.2). Returns the outputs `o` (`rows x q`).
    ///
    /// # Panics
    /// When the loaded batch does not have `mlp`'s number of inputs (a programming error:
    /// load it with [`ForwardBuffers::input_mut`] and the model's input size).
    pub fn forward(&mut self, mlp: &Mlp<T>) -> &Tensor<T> {
        let depth = mlp.config().depth();
        let phi = mlp.config().activation;
        for k in 1..=depth {
            let w = mlp.weight(k);
            self.next
                .reshape_in_place(Shape::new(self.current.rows(), w.rows()));
            matmul_a_bt(&mut self.next, &self.current, w, Write::Overwrite);
            let activation = (k < depth).then_some(phi);
            bias_and_activation(
                self.next.as_mut_slice(),
                mlp.bias(k).map(Tensor::as_slice),
                activation,
            );
            std::mem::swap(&mut self.current, &mut self.next);
        }
        &self.current
    }

    /// The outputs `o` of the last [`ForwardBuffers::forward`].
    pub fn outputs(&self) -> &Tensor<T> {
        &self.current
    }

    /// Gives up the outputs of the last pass (the buffers start empty again).
    pub fn into_outputs(self) -> Tensor<T> {
        self.current
    }
}

/// In place over the rows of a layer's product `u`: `z = u + b` when there is a bias, then
/// `h = phi(z)` (4.7.2) for a hidden layer. One loop per case, so that each is a plain loop the
/// compiler vectorises.
fn bias_and_activation<T: Element>(u: &mut [T], bias: Option<&[T]>, phi: Option<Activation>) {
    #[inline(always)]
    fn rows<T: Element>(u: &mut [T], b: &[T], f: impl Fn(T) -> T) {
        for row in u.chunks_exact_mut(b.len()) {
            for (v, &b) in row.iter_mut().zip(b) {
                *v = f(*v + b);
            }
        }
    }
    #[inline(always)]
    fn each<T: Element>(u: &mut [T], f: impl Fn(T) -> T) {
        for v in u.iter_mut() {
            *v = f(*v);
        }
    }
    let relu = |z: T| Activation::Relu.apply(z);
    let sigmoid = |z: T| Activation::Sigmoid.apply(z);
    let tanh = |z: T| Activation::Tanh.apply(z);
    vectorised(
        #[inline(always)]
        || match (bias, phi) {
            (Some(b), None) => rows(u, b, |z| z),
            (Some(b), Some(Activation::Relu)) => rows(u, b, relu),
            (Some(b), Some(Activation::Sigmoid)) => rows(u, b, sigmoid),
            (Some(b), Some(Activation::Tanh)) => rows(u, b, tanh),
            (None, None) => {}
            (None, Some(Activation::Relu)) => each(u, relu),
            (None, Some(Activation::Sigmoid)) => each(u, sigmoid),
            (None, Some(Activation::Tanh)) => each(u, tanh),
        },
    );
}
