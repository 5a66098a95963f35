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

mod command_line {
    //! `backprop gradcheck --model FILE`: a trained model, checked on samples of a dataset.

    use backprop::model_file::save_model;
    use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::process::{Command, Output};

    fn backprop(dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_backprop"))
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    }

    fn text(out: &Output) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    #[test]
    fn a_trained_model_passes_on_samples_of_its_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let out = backprop(
            dir.path(),
            &[
                "train",
                "--dataset",
                "xor",
                "--hidden",
                "8,6",
                "--epochs",
                "2",
                "--out",
                "xor.safetensors",
                "--quiet",
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        let out = backprop(
            dir.path(),
            &[
                "gradcheck",
                "--model",
                "xor.safetensors",
                "--dataset",
                "xor",
                "--split",
                "test",
                "--index",
                "10",
                "--batch-size",
                "5",
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        let report = text(&out);
        assert!(
            report.contains("2-8-6-2 relu")
                && report.contains("samples 10..14 of the test split of xor"),
            "{report}"
        );
        for param in ["W1", "b1", "W2", "b2", "W3", "b3"] {
            let row = report
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{param} ")))
                .unwrap_or_else(|| panic!("{param}: {report}"));
            assert!(row.ends_with(" ok"), "{row}");
        }
        assert!(report.ends_with("all gradients agree\n"), "{report}");
        // Without a dataset: random inputs.
        let out = backprop(dir.path(), &["gradcheck", "--model", "xor.safetensors"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("8 samples x ~ N(0, 1)"),
            "{}",
            text(&out)
        );
    }

    #[test]
    fn a_large_model_is_checked_on_a_selection_of_elements() {
        let dir = tempfile::tempdir().unwrap();
        let config = MlpConfig::d2l(100, 1000, 10, Activation::Tanh, Loss::CrossEntropy, 0.0);
        let mlp = Mlp::<f32>::new(config, 1).unwrap();
        save_model(
            &dir.path().join("large.safetensors"),
            &mlp,
            &BTreeMap::new(),
        )
        .unwrap();
        let out = backprop(dir.path(), &["gradcheck", "--model", "large.safetensors"]);
        assert!(out.status.success(), "{}", text(&out));
        let report = text(&out);
        assert!(report.contains("elements checked"), "{report}");
        assert!(report.contains("ok      65 of 100,000"), "{report}");
    }

    #[test]
    fn a_corrupt_or_missing_model_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("corrupt.safetensors"), b"not a model").unwrap();
        for (file, exit_code) in [("corrupt.safetensors", 1), ("missing.safetensors", 1)] {
            let eval = backprop(dir.path(), &["eval", "--model", file, "--dataset", "xor"]);
            assert_eq!(eval.status.code(), Some(exit_code), "eval: {}", text(&eval));
            let out = backprop(dir.path(), &["gradcheck", "--model", file]);
            assert_eq!(out.status.code(), Some(exit_code), "{}", text(&out));
            let message = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(message.lines().count(), 1, "{message}");
            assert!(
                message.starts_with("error: ") && message.contains(file),
                "{message}"
            );
            assert!(out.stdout.is_empty(), "nothing checked");
        }
        // The size flags describe random models; with --model they are a usage error.
        let out = backprop(
            dir.path(),
            &[
                "gradcheck",
                "--model",
                "corrupt.safetensors",
                "--hidden",
                "3",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    }
}
