//! Checkpoints and `--resume`: 2 epochs plus a resume to 4 give weights bit-identical to 4
//! epochs in one run, for every optimiser and from a checkpoint taken inside an epoch; a
//! diverging run names the step and the learning rate and leaves the last good checkpoint;
//! a checkpoint records the run's output flags, so that `--resume` alone writes where the run
//! wrote (and checkpoints without them still resume).

mod common;

use backprop::checkpoint::load_checkpoint;
use backprop::model_file::load_model;
use common::{assert_success, backprop, image_folder, metrics, regular_files, stderr};
use std::fs;
use std::path::Path;

/// Every parameter of a model file, as raw bits.
fn parameter_bits(path: &Path) -> Vec<(String, Vec<u32>)> {
    let model = load_model(path).unwrap();
    let mlp = &model.mlp;
    mlp.named_parameters()
        .iter()
        .map(|(name, id)| {
            let bits = mlp
                .graph()
                .value(*id)
                .as_slice()
                .iter()
                .map(|v| v.to_bits())
                .collect();
            (name.clone(), bits)
        })
        .collect()
}

fn train(dir: &Path, optimizer: &str, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--dataset",
        "data",
        "--hidden",
        "12,7",
        "--optimizer",
        optimizer,
        "--lr",
        if optimizer == "adam" { "0.01" } else { "0.05" },
        "--weight-decay",
        "0.001",
        "--batch-size",
        "16",
        "--val-fraction",
        "0.25",
        "--threads",
        "2",
        "--quiet",
    ];
    args.extend(extra);
    let out = backprop(dir, &args);
    assert_success(&out);
}

#[test]
fn two_epochs_and_a_resume_to_four_equal_four_epochs_for_every_optimizer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 150, 40, 4);
    for optimizer in ["sgd", "momentum", "adam"] {
        let full = format!("{optimizer}-full.safetensors");
        train(
            d,
            optimizer,
            &["--epochs", "4", "--out", &full, "--metrics", "full.jsonl"],
        );

        // Stopped at the end of epoch 2 (the final checkpoint of a 2-epoch run).
        let half = format!("{optimizer}-half.safetensors");
        train(
            d,
            optimizer,
            &["--epochs", "2", "--out", &half, "--checkpoint-every", "5"],
        );
        let checkpoint = format!("{optimizer}-half.checkpoint.safetensors");
        let saved = load_checkpoint(&d.join(&checkpoint)).unwrap();
        assert_eq!((saved.state.epoch, saved.state.step), (2, 14));
        let resumed = format!("{optimizer}-resumed.safetensors");
        let out = backprop(
            d,
            &[
                "train",
                "--resume",
                &checkpoint,
                "--epochs",
                "4",
                "--quiet",
                "--out",
                &resumed,
                "--metrics",
                "resumed.jsonl",
            ],
        );
        assert_success(&out);
        assert_eq!(
            parameter_bits(&d.join(&resumed)),
            parameter_bits(&d.join(&full)),
            "{optimizer}: resumed after epoch 2"
        );
        // The resumed metrics hold all four epochs, equal to the single run's but for timing.
        let strip = |records: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
            records
                .into_iter()
                .map(|mut r| {
                    let r = r.as_object_mut().unwrap();
                    r.remove("epoch_seconds");
                    r.remove("samples_per_second");
                    serde_json::Value::Object(r.clone())
                })
                .collect()
        };
        assert_eq!(
            strip(metrics(&d.join("resumed.jsonl"))),
            strip(metrics(&d.join("full.jsonl"))),
            "{optimizer}"
        );

        // Stopped inside epoch 2 (7 steps per epoch).
        let mid = format!("{optimizer}-mid.safetensors");
        train(
            d,
            optimizer,
            &["--steps", "11", "--out", &mid, "--checkpoint-every", "4"],
        );
        let checkpoint = format!("{optimizer}-mid.checkpoint.safetensors");
        let saved = load_checkpoint(&d.join(&checkpoint)).unwrap();
        assert_eq!((saved.state.epoch, saved.state.step), (2, 11));
        assert!(saved.state.epoch_in_progress);
        let resumed_mid = format!("{optimizer}-resumed-mid.safetensors");
        let out = backprop(
            d,
            &[
                "train",
                "--resume",
                &checkpoint,
                "--epochs",
                "4",
                "--quiet",
                "--out",
                &resumed_mid,
            ],
        );
        assert_success(&out);
        assert_eq!(
            parameter_bits(&d.join(&resumed_mid)),
            parameter_bits(&d.join(&full)),
            "{optimizer}: resumed inside epoch 2"
        );
    }
}

#[test]
fn a_resumed_run_keeps_its_configuration_unless_a_flag_repeats_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 60, 0, 3);
    train(
        d,
        "momentum",
        &["--epochs", "1", "--checkpoint", "c.safetensors"],
    );
    // Repeating a saved value is allowed; the model file records the saved configuration.
    let out = backprop(
        d,
        &[
            "train",
            "--resume",
            "c.safetensors",
            "--epochs",
            "2",
            "--optimizer",
            "momentum",
            "--quiet",
            "--out",
            "r.safetensors",
        ],
    );
    assert_success(&out);
    let model = load_model(&d.join("r.safetensors")).unwrap();
    let training: serde_json::Value = serde_json::from_str(&model.metadata["training"]).unwrap();
    assert_eq!(training["optimizer"], "momentum");
    assert_eq!(training["lr"], 0.05);
    assert_eq!(training["batch_size"], 16);
    assert_eq!(training["steps"], 6);
    // A flag that would change the run is a usage error.
    let out = backprop(
        d,
        &["train", "--resume", "c.safetensors", "--batch-size", "8"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("--batch-size 8 conflicts with --resume c.safetensors, whose run has 16"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn divergence_names_the_step_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 64, 0, 3);
    fs::write(d.join("model.safetensors"), b"previous").unwrap();
    let out = backprop(
        d,
        &[
            "train",
            "--dataset",
            "data",
            "--hidden",
            "16",
            "--loss",
            "mse",
            "--lr",
            "20",
            "--batch-size",
            "8",
            "--epochs",
            "50",
            "--checkpoint-every",
            "1",
            "--quiet",
            "--threads",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("the objective became inf; the learning rate (20) is probably too large"),
        "{err}"
    );
    let step: u64 = err
        .split("step ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no step in {err}"));
    assert!(step > 1, "{err}");
    let checkpoint = load_checkpoint(&d.join("model.checkpoint.safetensors")).unwrap();
    assert!(checkpoint.state.step < step, "{err}");
    assert!(
        err.contains(&format!(
            "the last good checkpoint, model.checkpoint.safetensors, holds step {}",
            checkpoint.state.step
        )),
        "{err}"
    );
    assert_eq!(fs::read(d.join("model.safetensors")).unwrap(), b"previous");
}

#[test]
fn an_update_that_overflows_is_caught_before_any_checkpoint_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 64, 0, 3);
    let out = backprop(
        d,
        &[
            "train",
            "--dataset",
            "data",
            "--hidden",
            "16",
            "--lr",
            "1e300",
            "--epochs",
            "2",
            "--checkpoint-every",
            "1",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: step 1 (epoch 1): parameter W1 became"),
        "{err}"
    );
    assert!(err.contains("the learning rate (1e300)"), "{err}");
    assert!(!d.join("model.checkpoint.safetensors").exists());
    assert!(!d.join("model.safetensors").exists());
}

/// Stops a run through its stop flag after `steps` updates (an observer standing in for a
/// signal handler).
struct StopAfter {
    steps: u64,
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl backprop::train::TrainingObserver for StopAfter {
    fn on_step(&mut self, progress: &backprop::train::StepProgress) {
        if progress.step == self.steps {
            self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[test]
fn a_checkpoint_holds_the_trainer_state_exactly() {
    use backprop::checkpoint::{checkpoint_bytes, parse_checkpoint, CheckpointExtras};
    use backprop::data::{xor, XorConfig};
    use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
    use backprop::optim::OptimizerKind;
    use backprop::train::{TrainConfig, TrainData, TrainError, Trainer};

    let data = xor(&XorConfig::default()).unwrap().train;
    let mut mlp = Mlp::new(
        MlpConfig {
            inputs: 2,
            hidden: vec![5],
            outputs: 2,
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            bias: true,
            weight_decay: 0.01,
        },
        3,
    )
    .unwrap();
    let config = TrainConfig {
        epochs: 3,
        max_steps: None,
        batch_size: 96,
        shuffle: true,
        seed: 9,
        learning_rate: 0.02,
        optimizer: OptimizerKind::ADAM,
    };
    let mut trainer = Trainer::new(config.clone()).unwrap();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    trainer.set_stop_flag(flag.clone());
    let train_data = TrainData {
        train: &data,
        validation: None,
        test: None,
    };
    let mut observer = StopAfter { steps: 15, flag };
    let error = trainer
        .run(&mut mlp, train_data, &mut observer)
        .unwrap_err();
    assert!(
        matches!(error, TrainError::Interrupted { step: 15, epoch: 2 }),
        "{error}"
    );

    let run = serde_json::json!({"anything": "the caller wants"});
    let bytes = checkpoint_bytes(
        &mlp,
        &trainer,
        CheckpointExtras {
            records: &[],
            run: &run,
            model_metadata: &Default::default(),
            data: &data.fingerprint(),
        },
    )
    .unwrap();
    let checkpoint = parse_checkpoint(&bytes).unwrap();
    assert_eq!(checkpoint.state, trainer.state());
    assert!(checkpoint.state.epoch_in_progress && checkpoint.state.position == 4 * 96);
    assert_eq!(checkpoint.config, config);
    assert_eq!(checkpoint.run, run);
    assert_eq!(checkpoint.mlp.weight(1), mlp.weight(1));

    // Damaged checkpoints are errors, not panics.
    for cut in [10, bytes.len() / 2, bytes.len() - 1] {
        assert!(parse_checkpoint(&bytes[..cut]).is_err());
    }
}

/// The arguments of a short run on `data` that writes every kind of output, with spaces in
/// two of the paths.
const RUN_WITH_OUTPUTS: [&str; 20] = [
    "train",
    "--dataset",
    "data",
    "--hidden",
    "6",
    "--batch-size",
    "16",
    "--epochs",
    "2",
    "--threads",
    "1",
    "--quiet",
    "--out",
    "my run.safetensors",
    "--metrics",
    "its metrics.jsonl",
    "--plot",
    "curves.svg",
    "--checkpoint-every",
    "3",
];

#[test]
fn the_resume_hint_repeats_every_output_flag_quoted_for_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 60, 0, 3);
    let out = backprop(d, &RUN_WITH_OUTPUTS);
    assert_success(&out);
    let expected = "checkpoint written to my run.checkpoint.safetensors; train it as long again \
                    with: backprop train --resume 'my run.checkpoint.safetensors' --out 'my \
                    run.safetensors' --metrics 'its metrics.jsonl' --plot curves.svg \
                    --checkpoint-every 3 --epochs 4";
    assert!(
        common::stdout(&out).lines().any(|l| l == expected),
        "{}",
        common::stdout(&out)
    );
}

#[test]
fn resume_alone_writes_where_the_run_wrote_and_a_typed_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 60, 0, 3);
    assert_success(&backprop(d, &RUN_WITH_OUTPUTS));
    for file in ["my run.safetensors", "its metrics.jsonl", "curves.svg"] {
        fs::remove_file(d.join(file)).unwrap();
    }
    let checkpoint = "my run.checkpoint.safetensors";
    let out = backprop(
        d,
        &["train", "--resume", checkpoint, "--epochs", "3", "--quiet"],
    );
    assert_success(&out);
    assert!(!d.join("model.safetensors").exists());
    let model = load_model(&d.join("my run.safetensors")).unwrap();
    let training: serde_json::Value = serde_json::from_str(&model.metadata["training"]).unwrap();
    assert_eq!(training["epochs"], 3);
    assert_eq!(metrics(&d.join("its metrics.jsonl")).len(), 3);
    assert!(fs::read_to_string(d.join("curves.svg"))
        .unwrap()
        .starts_with("<svg"));
    // --checkpoint-every was recorded too: the resumed run checkpointed as it went.
    let saved = load_checkpoint(&d.join(checkpoint)).unwrap();
    assert_eq!(saved.state.epoch, 3);

    // A flag typed on the resume command wins over the recorded one.
    let before = fs::read(d.join("its metrics.jsonl")).unwrap();
    let out = backprop(
        d,
        &[
            "train",
            "--resume",
            checkpoint,
            "--epochs",
            "4",
            "--quiet",
            "--metrics",
            "new.jsonl",
            "--out",
            "new.safetensors",
        ],
    );
    assert_success(&out);
    assert_eq!(metrics(&d.join("new.jsonl")).len(), 4);
    assert_eq!(fs::read(d.join("its metrics.jsonl")).unwrap(), before);
    assert_eq!(
        load_model(&d.join("new.safetensors"))
            .unwrap()
            .mlp
            .config()
            .hidden,
        vec![6]
    );
    // Checkpoints go on into the file the run resumed from, whatever --out says.
    assert!(!d.join("new.checkpoint.safetensors").exists());
    assert_eq!(load_checkpoint(&d.join(checkpoint)).unwrap().state.epoch, 4);

    // Asking for no more than the checkpoint has done would train nothing: refused, and no
    // file is written again.
    let before = regular_files(d);
    for (asked, message) in [
        (
            ["--epochs", "4"],
            "--epochs 4: my run.checkpoint.safetensors has already trained 4 epochs (step ",
        ),
        (
            ["--epochs", "2"],
            "; give --epochs 5 or more to continue it",
        ),
        (
            ["--steps", "3"],
            "--steps 3: my run.checkpoint.safetensors has already made ",
        ),
    ] {
        let out = backprop(
            d,
            &[
                "train", "--resume", checkpoint, asked[0], asked[1], "--quiet",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{asked:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(message),
            "{asked:?}: {}",
            stderr(&out)
        );
    }
    assert!(regular_files(d) == before, "a file was written");
}

/// Rewrites the checkpoint `from` into `to` with its `run` entry changed by `edit`, resealed
/// with its checksum ([`common::resealed_checkpoint`]).
fn with_run_entry(dir: &Path, from: &str, to: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let bytes = fs::read(dir.join(from)).unwrap();
    let resealed = common::resealed_checkpoint(&bytes, |saved| edit(&mut saved["run"]), |_| {});
    fs::write(dir.join(to), resealed).unwrap();
}

/// Rewrites the checkpoint `from` into `to` as a version without recorded outputs wrote it:
/// the `run` entry without `outputs`, resealed with its checksum.
fn without_recorded_outputs(dir: &Path, from: &str, to: &str) {
    with_run_entry(dir, from, to, |run| {
        assert!(run["outputs"].is_object(), "{run}");
        run.as_object_mut().unwrap().remove("outputs");
    });
}

#[test]
fn a_negative_adam_second_moment_is_refused_even_when_resealed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 60, 0, 3);
    let mut args = RUN_WITH_OUTPUTS.to_vec();
    args.extend(["--optimizer", "adam"]);
    assert_success(&backprop(d, &args));
    let bytes = fs::read(d.join("my run.checkpoint.safetensors")).unwrap();
    let resealed = common::resealed_checkpoint(
        &bytes,
        |_| {},
        |tensors| {
            let second_moment = &mut tensors.get_mut("optimizer.W1.1").unwrap().2;
            second_moment[..4].copy_from_slice(&(-1.0f32).to_le_bytes());
        },
    );
    fs::write(d.join("forged.safetensors"), resealed).unwrap();
    let out = backprop(d, &["train", "--resume", "forged.safetensors", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains(
            "tensor optimizer.W1.1 (Adam's second moment, a running mean of squared gradients) \
             holds a negative value"
        ),
        "{text}"
    );
}

#[test]
fn a_checkpoint_whose_run_holds_out_more_than_everything_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 60, 0, 3);
    assert_success(&backprop(d, &RUN_WITH_OUTPUTS));
    with_run_entry(
        d,
        "my run.checkpoint.safetensors",
        "odd.safetensors",
        |run| {
            run["val_fraction"] = serde_json::json!(1.5);
        },
    );
    let out = backprop(d, &["train", "--resume", "odd.safetensors", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        text.trim_end(),
        "error: odd.safetensors: the checkpoint's run description is damaged: val_fraction 1.5 \
         is not a fraction in [0, 1)"
    );
}

#[test]
fn a_checkpoint_without_recorded_outputs_resumes_to_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 60, 0, 3);
    assert_success(&backprop(d, &RUN_WITH_OUTPUTS));
    without_recorded_outputs(d, "my run.checkpoint.safetensors", "old.safetensors");
    let out = backprop(
        d,
        &[
            "train",
            "--resume",
            "old.safetensors",
            "--epochs",
            "3",
            "--quiet",
        ],
    );
    assert_success(&out);
    assert!(d.join("model.safetensors").exists(), "the default --out");
    // Nothing else is written: no metrics, no plot, no checkpoint beside the default --out.
    assert!(!d.join("model.checkpoint.safetensors").exists());
    let resumed = load_model(&d.join("model.safetensors")).unwrap();
    let training: serde_json::Value = serde_json::from_str(&resumed.metadata["training"]).unwrap();
    assert_eq!(training["epochs"], 3);
    // The same run resumed from the newer checkpoint with the same outputs typed ends with
    // the same weights.
    let out = backprop(
        d,
        &[
            "train",
            "--resume",
            "my run.checkpoint.safetensors",
            "--epochs",
            "3",
            "--quiet",
            "--out",
            "same.safetensors",
        ],
    );
    assert_success(&out);
    assert_eq!(
        parameter_bits(&d.join("model.safetensors")),
        parameter_bits(&d.join("same.safetensors"))
    );
}

#[test]
fn a_recorded_data_folder_that_has_moved_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 60, 0, 3);
    assert_success(&backprop(d, &RUN_WITH_OUTPUTS));
    fs::rename(d.join("data"), d.join("moved")).unwrap();
    let files_before = common::regular_files(d);
    let out = backprop(
        d,
        &[
            "train",
            "--resume",
            "my run.checkpoint.safetensors",
            "-e",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(
        message.contains(
            "--resume 'my run.checkpoint.safetensors' was trained on --dataset data (recorded in \
             the checkpoint), which cannot be loaded here"
        ),
        "{message}"
    );
    assert_eq!(
        common::regular_files(d),
        files_before,
        "a failing run changes no file"
    );
    // Typing a --dataset other than the recorded one stays a usage error.
    let out = backprop(
        d,
        &[
            "train",
            "--resume",
            "my run.checkpoint.safetensors",
            "--dataset",
            "moved",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
