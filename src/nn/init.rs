//! Initial weights: He for relu, Xavier (Glorot) for sigmoid and tanh, biases zero.

use crate::graph::Activation;
use crate::rng::Rng;
use crate::tensor::{Element, Tensor};

/// The standard deviation of the normal distribution a weight `W (fan_out x fan_in)` is
/// drawn from: He, `sqrt(2 / fan_in)`, for relu (it keeps the variance of `h` from layer to
/// layer when half the units are zero); Xavier/Glorot, `sqrt(2 / (fan_in + fan_out))`, for
/// sigmoid and tanh.
pub fn weight_std(activation: Activation, fan_in: usize, fan_out: usize) -> f64 {
    match activation {
        Activation::Relu => (2.0 / fan_in as f64).sqrt(),
        Activation::Sigmoid | Activation::Tanh => (2.0 / (fan_in + fan_out) as f64).sqrt(),
    }
}

/// A `fan_out x fan_in` weight matrix drawn from `N(0, weight_std²)`. The draws are made in
/// `f64` and rounded, so `f32` and `f64` models from one seed hold the same numbers.
pub fn weight<T: Element>(
    rng: &mut Rng,
    activation: Activation,
    fan_in: usize,
    fan_out: usize,
) -> Tensor<T> {
    let std = weight_std(activation, fan_in, fan_out);
    Tensor::from_fn(fan_out, fan_in, |_, _| T::from_f64(std * rng.normal()))
}
