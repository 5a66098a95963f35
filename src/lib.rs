//! # backprop
//!
//! Forward propagation, backward propagation and the computational graph of a multilayer
//! perceptron, exactly as *Dive into Deep Learning* §4.7 derives them, and a fast trainer.
//!
//! The D2L network's story (§4.7), in the order the code tells it:
//!
//! 1. A batch `X` (`B x d`, rows are samples) enters the graph ([`graph::Graph`]).
//! 2. Forward propagation: `z = x W1ᵀ` (4.7.1), `h = phi(z)` (4.7.2), `o = h W2ᵀ` (4.7.3),
//!    `L = mean l(o, y)` (4.7.4), `s = λ/2 (||W1||² + ||W2||²)` (4.7.5), `J = L + s` (4.7.6),
//!    each an operator of [`graph::ops`] that keeps what its backward rule reads.
//! 3. Backward propagation visits the operators in reverse: `dJ/do` (4.7.9), `λW` (4.7.10),
//!    `dJ/dW2` (4.7.11), `dJ/dh` (4.7.12), `dJ/dz` (4.7.13), `dJ/dW1` (4.7.14); each
//!    operator's vector-Jacobian product sits beside its forward rule in [`graph::ops`].
//! 4. The model ([`nn::Mlp`]) builds that graph for any depth; [`nn::gradcheck`] (the one
//!    finite-difference module) proves the gradients against finite differences.
//! 5. [`d2l`] holds the equations themselves: [`d2l::catalogue`] numbers and writes every
//!    one (plain text, Unicode, Markdown) for `explain`, `graph`, the playground and the
//!    docs, and [`d2l::closed_form`] computes them literally for one sample, for `explain`
//!    to set beside the graph.
//!
//! Numbers, byte sizes and durations shown to people are written by [`mod@format`].
//!
//! Tensors ([`tensor::Tensor`]) are generic over the element type: `f32` to train, `f64`
//! to check gradients.

// Every public item says what it is (CI's clippy run turns this into an error).
#![warn(missing_docs)]

pub mod atomic_file;
pub mod checkpoint;
pub mod d2l;
pub mod data;
pub mod explain;
pub mod format;
pub mod graph;
pub mod model_file;
pub mod model_io;
pub mod nn;
pub mod optim;
pub mod playground;
pub mod rng;
pub mod tensor;
pub mod train;
pub mod viz;
