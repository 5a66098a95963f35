//! `BACKPROP_ISA` runs the kernels of a narrower instruction set than the CPU's widest, so
//! every level this CPU has is trained on here, end to end: each is deterministic, all agree
//! up to the order of their sums, and a level that cannot run is a one-line usage error.

mod common;

use backprop::tensor::isa::Isa;
use common::{assert_success, metrics, stderr};
use std::path::Path;
use std::process::{Command, Output};

fn train_on(dir: &Path, isa: &str, out: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args([
            "train",
            "--dataset",
            "digits",
            "-e",
            "2",
            "--hidden",
            "96",
            "--batch-size",
            "100",
            "--threads",
            "2",
            "--quiet",
            "-o",
            &format!("{out}.safetensors"),
            "--metrics",
            &format!("{out}.jsonl"),
        ])
        .current_dir(dir)
        .env("BACKPROP_DATA", dir.join("no-data-here"))
        .env("BACKPROP_ISA", isa)
        .output()
        .expect("the binary runs")
}

/// A 28 x 28 folder large enough for the products to take the blocked, two-thread path.
fn digits(dir: &Path) {
    common::bar_digit_folder(dir, "digits", 700, 0);
}

#[test]
fn every_level_this_cpu_has_trains_deterministically_and_all_agree() {
    let dir = tempfile::tempdir().unwrap();
    digits(dir.path());
    let levels: Vec<Isa> = Isa::WIDEST_FIRST
        .into_iter()
        .filter(|isa| isa.runs_here())
        .collect();
    let mut losses = Vec::new();
    for isa in &levels {
        let runs: Vec<Vec<u8>> = (0..2)
            .map(|run| {
                let out = format!("{}-{run}", isa.name());
                assert_success(&train_on(dir.path(), isa.name(), &out));
                std::fs::read(dir.path().join(format!("{out}.safetensors"))).unwrap()
            })
            .collect();
        assert!(
            runs[0] == runs[1],
            "{isa:?}: two runs wrote different models"
        );
        let last = metrics(&dir.path().join(format!("{}-0.jsonl", isa.name())));
        let loss = last.last().unwrap()["train_loss"].as_f64().unwrap();
        losses.push((isa.name(), loss));
    }
    eprintln!("final training loss per level: {losses:?}");
    let (_, reference) = losses[0];
    assert!(
        reference < 2.0,
        "the widest level did not learn: {reference}"
    );
    for &(name, loss) in &losses {
        assert!(
            (loss - reference).abs() <= 1e-3 * reference.max(1e-3),
            "{name}: final loss {loss} against {reference} on the widest level"
        );
    }
}

#[test]
fn an_unknown_or_missing_instruction_set_is_a_one_line_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    digits(dir.path());
    let output = train_on(dir.path(), "sse9", "never");
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("BACKPROP_ISA=\"sse9\"") && message.contains("avx512, avx2 or baseline"),
        "{message}"
    );
    assert!(!dir.path().join("never.safetensors").exists());
    if let Some(missing) = Isa::WIDEST_FIRST.into_iter().find(|isa| !isa.runs_here()) {
        let output = train_on(dir.path(), missing.name(), "never");
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(&output).contains("this CPU lacks it"),
            "{}",
            stderr(&output)
        );
    }
}
