//! The same model in another element type: `f32` to train and draw, `f64` to check.

use super::mlp::{Mlp, MlpError};
use crate::tensor::{Element, Tensor};

/// A copy of `mlp` with its parameters converted to `U` (rounded to nearest for `f32`;
/// exact from `f32` to `f64`).
pub fn convert_precision<T: Element, U: Element>(mlp: &Mlp<T>) -> Result<Mlp<U>, MlpError> {
    let depth = mlp.config().depth();
    Mlp::from_parameters(
        mlp.config().clone(),
        (1..=depth).map(|k| mlp.weight(k).cast()).collect(),
        (1..=depth).map(|k| mlp.bias(k).map(Tensor::cast)).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Activation;
    use crate::nn::{Loss, MlpConfig};

    #[test]
    fn f32_to_f64_keeps_every_parameter_exactly() {
        let mut config = MlpConfig::d2l(3, 4, 2, Activation::Tanh, Loss::Squared, 0.5);
        config.bias = true;
        let small = Mlp::<f32>::new(config.clone(), 7).unwrap();
        let wide: Mlp<f64> = convert_precision(&small).unwrap();
        assert_eq!(wide.config(), &config);
        for k in 1..=2 {
            assert_eq!(wide.weight(k).cast::<f32>(), *small.weight(k));
            assert!(wide.bias(k).is_some());
        }
    }
}
