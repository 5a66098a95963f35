//! Central finite differences in f64 agree with backward propagation, for every parameter of
//! every architecture the project supports (the tolerances of `torch.autograd.gradcheck`).

use backprop::nn::gradcheck::{check_gradients, random_batch, random_model, Tolerance};
use backprop::nn::{Activation, Loss, MlpConfig};
use proptest::prelude::*;

fn assert_gradients_agree(config: MlpConfig, batch: usize, seed: u64) {
    let mut mlp = random_model(config.clone(), seed).unwrap();
    let (x, labels) = random_batch(&config, batch, seed);
    mlp.set_batch(&x, &labels).unwrap();
    let checks = check_gradients(&mut mlp, Tolerance::default()).unwrap();
    let expected = config.depth() * if config.bias { 2 } else { 1 };
    assert_eq!(checks.len(), expected, "one check per parameter tensor");
    for check in checks {
        assert!(
            check.passed,
            "{config}, batch {batch}, seed {seed}: {} max |a-n| {:e}, max rel {:e}",
            check.name, check.max_abs_diff, check.max_rel_diff
        );
        // The check is not vacuous: the gradient is not zero everywhere.
        let norm: f64 = check.analytic.squared_frobenius();
        assert!(norm > 0.0, "{config}: {} has a zero gradient", check.name);
    }
}

#[test]
fn every_activation_loss_bias_and_depth() {
    for hidden in [vec![5], vec![6, 4], vec![5, 4, 3]] {
        for activation in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            for loss in [Loss::CrossEntropy, Loss::Squared] {
                for bias in [false, true] {
                    let config = MlpConfig {
                        inputs: 4,
                        hidden: hidden.clone(),
                        outputs: 3,
                        activation,
                        loss,
                        bias,
                        weight_decay: 0.05,
                    };
                    assert_gradients_agree(config, 6, 11);
                }
            }
        }
    }
}

#[test]
fn a_wrong_gradient_is_caught() {
    // The check must be able to fail: corrupt the analytic gradient and compare again.
    let config = MlpConfig::d2l(3, 4, 2, Activation::Tanh, Loss::Squared, 0.0);
    let mut mlp = random_model(config.clone(), 1).unwrap();
    let (x, labels) = random_batch(&config, 5, 1);
    mlp.set_batch(&x, &labels).unwrap();
    let checks = check_gradients(&mut mlp, Tolerance::default()).unwrap();
    let tolerance = Tolerance::default();
    let w1 = &checks[0];
    let a = w1.analytic.as_slice()[0];
    let n = w1.numeric.as_slice()[0];
    assert!(tolerance.accepts(a, n));
    assert!(!tolerance.accepts(a * 1.01 + 1e-4, n));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_shapes_and_seeds(
        inputs in 1usize..6,
        hidden in proptest::collection::vec(1usize..6, 1..4),
        outputs in 2usize..5,
        activation in prop_oneof![Just(Activation::Relu), Just(Activation::Sigmoid), Just(Activation::Tanh)],
        loss in prop_oneof![Just(Loss::CrossEntropy), Just(Loss::Squared)],
        bias in any::<bool>(),
        weight_decay in 0.0f64..0.5,
        batch in 1usize..7,
        seed in any::<u64>(),
    ) {
        let config = MlpConfig { inputs, hidden, outputs, activation, loss, bias, weight_decay };
        let mut mlp = random_model(config.clone(), seed).unwrap();
        let (x, labels) = random_batch(&config, batch, seed);
        mlp.set_batch(&x, &labels).unwrap();
        for check in check_gradients(&mut mlp, Tolerance::default()).unwrap() {
            prop_assert!(check.passed, "{}: {} max |a-n| {:e}", config, check.name, check.max_abs_diff);
        }
    }
}
