//! Interrupting training: SIGINT and SIGTERM finish the current step, write a checkpoint that
//! resumes to the same weights as an uninterrupted run, and exit 130 / 143; SIGKILL at any
//! instant leaves every model and checkpoint file complete (or absent), never half-written.

mod common;

use backprop::checkpoint::load_checkpoint;
use backprop::model_file::load_model;
use backprop::rng::Rng;
use common::{assert_success, backprop, image_folder};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Starts `backprop ARGS` in `dir` without waiting for it.
fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(args)
        .current_dir(dir)
        .env("BACKPROP_DATA", dir.join("no-data-here"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Sends `signal` (`INT`, `TERM`) to the process.
fn send(child: &Child, signal: &str) {
    let number = match signal {
        "INT" => libc::SIGINT,
        "TERM" => libc::SIGTERM,
        other => panic!("no such signal in this test: {other}"),
    };
    // SAFETY: sending a signal to our own child process, which has not been reaped yet.
    let result = unsafe { libc::kill(child.id() as libc::pid_t, number) };
    assert_eq!(result, 0, "kill -{signal} failed");
}

/// Waits until `path` exists and is not empty (the first epoch's metrics: training runs).
fn wait_for_content(path: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while fs::metadata(path).map_or(true, |m| m.len() == 0) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "training ended before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "training did not start");
        sleep(Duration::from_millis(5));
    }
}

/// Every parameter of a model file as raw bits.
fn parameter_bits(path: &Path) -> Vec<Vec<u32>> {
    let model = load_model(path).unwrap();
    model
        .mlp
        .named_parameters()
        .iter()
        .map(|(_, id)| {
            let value = model.mlp.graph().value(*id);
            value.as_slice().iter().map(|v| v.to_bits()).collect()
        })
        .collect()
}

const LONG_RUN: [&str; 12] = [
    "train",
    "--dataset",
    "data",
    "--optimizer",
    "adam",
    "--lr",
    "0.001",
    "--batch-size",
    "8",
    "--threads",
    "1",
    "--quiet",
];

fn interrupt_and_resume(signal: &str, expected_code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 200, 0, 3);
    let mut args = LONG_RUN.to_vec();
    args.extend([
        "--hidden",
        "32",
        "--epochs",
        "100000",
        "--metrics",
        "m.jsonl",
    ]);
    let mut child = spawn(d, &args);
    wait_for_content(&d.join("m.jsonl"), &mut child);
    send(&child, signal);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(expected_code), "{err}");
    assert!(
        err.contains(&format!("interrupted by SIG{signal} after step")),
        "{err}"
    );
    assert!(
        err.contains(
            "; continue with: backprop train --resume model.checkpoint.safetensors --out \
             model.safetensors --metrics m.jsonl\n"
        ),
        "{err}"
    );
    assert!(
        !d.join("model.safetensors").exists(),
        "the model is written only at the end"
    );

    let checkpoint = load_checkpoint(&d.join("model.checkpoint.safetensors")).unwrap();
    assert!(checkpoint.state.step > 0);
    // Resuming to the end of the next epoch gives the weights of an uninterrupted run.
    let epochs = (checkpoint.state.epoch + 1).to_string();
    let out = backprop(
        d,
        &[
            "train",
            "--resume",
            "model.checkpoint.safetensors",
            "--epochs",
            &epochs,
            "--quiet",
            "--out",
            "resumed.safetensors",
        ],
    );
    assert_success(&out);
    let mut args = LONG_RUN.to_vec();
    args.extend([
        "--hidden",
        "32",
        "--epochs",
        &epochs,
        "--out",
        "straight.safetensors",
    ]);
    assert_success(&backprop(d, &args));
    assert_eq!(
        parameter_bits(&d.join("resumed.safetensors")),
        parameter_bits(&d.join("straight.safetensors")),
        "interrupted at step {} and resumed",
        checkpoint.state.step
    );
}

#[test]
fn sigint_writes_a_checkpoint_that_resumes_exactly_and_exits_130() {
    interrupt_and_resume("INT", 130);
}

#[test]
fn sigterm_writes_a_checkpoint_and_exits_143() {
    interrupt_and_resume("TERM", 143);
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 300, 0, 3);
    let mut rng = Rng::new(20);
    let mut outcomes = [0usize; 3]; // nothing yet, checkpoint only, checkpoint and model
    for round in 0..20 {
        let mut args = LONG_RUN.to_vec();
        args.extend(["--hidden", "64", "--epochs", "3", "--checkpoint-every", "1"]);
        let mut child = spawn(d, &args);
        sleep(Duration::from_micros(rng.below(250_000) as u64));
        child.kill().unwrap();
        child.wait().unwrap();

        let checkpoint = d.join("model.checkpoint.safetensors");
        let model = d.join("model.safetensors");
        if checkpoint.exists() {
            let saved = load_checkpoint(&checkpoint)
                .unwrap_or_else(|e| panic!("round {round}: the checkpoint is damaged: {e}"));
            assert!(saved.state.step >= 1);
            load_model(&checkpoint).unwrap();
        } else {
            assert!(
                !model.exists(),
                "round {round}: a model without a checkpoint"
            );
        }
        if model.exists() {
            let loaded = load_model(&model)
                .unwrap_or_else(|e| panic!("round {round}: the model is damaged: {e}"));
            assert_eq!(loaded.mlp.config().layer_sizes(), vec![30, 64, 3]);
        }
        outcomes[usize::from(checkpoint.exists()) + usize::from(model.exists())] += 1;
        // Start each round from nothing, so that early kills are tested too.
        if round % 4 == 3 {
            let _ = fs::remove_file(&checkpoint);
            let _ = fs::remove_file(&model);
        }
    }
    // Leftover temporary files of killed writers are hidden and never read.
    for entry in fs::read_dir(d).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with('.')
                || ["data", "model.safetensors", "model.checkpoint.safetensors"]
                    .contains(&name.as_str()),
            "{name}"
        );
    }
    eprintln!("kill outcomes (none, checkpoint, checkpoint+model): {outcomes:?}");
    assert!(
        outcomes[1] > 0,
        "some kills landed during training: {outcomes:?}"
    );
}
