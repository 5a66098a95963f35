//! Flags that say what they do: conflicting flags, unknown names and flags that would
//! otherwise do nothing visible, through the release binary.

mod common;

use common::*;

#[test]
fn epochs_and_steps_together_are_a_usage_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &["train", "--epochs", "2", "--steps", "10", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(message.contains("--epochs"), "{message}");
    assert!(message.contains("--steps"), "{message}");
    assert!(message.contains("cannot be used with"), "{message}");
    assert!(!dir.path().join("model.safetensors").exists());
}

#[test]
fn a_misspelt_dataset_name_gets_a_suggestion_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(dir.path(), &["train", "--dataset", "spirall", "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(message.contains("did you mean 'spiral'?"), "{message}");
    assert!(
        message.contains("spiral, circles, xor, blobs, mnist, fashion-mnist"),
        "{message}"
    );
    assert!(!dir.path().join("model.safetensors").exists());
}

#[test]
fn a_missing_dataset_folder_lists_the_names_without_a_far_fetched_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &["train", "--dataset", "my-images/here", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(message.contains("neither a dataset name"), "{message}");
    assert!(!message.contains("did you mean"), "{message}");
}

#[test]
fn grad_stats_alone_prints_its_table_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--hidden",
            "8,8",
            "--epochs",
            "2",
            "--grad-stats",
            "--threads",
            "1",
            "--quiet",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let title = lines
        .iter()
        .position(|l| l.starts_with("gradient norms"))
        .unwrap_or_else(|| panic!("no table in:\n{text}"));
    let header: Vec<&str> = lines[title + 1].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "epoch",
            "‖∂J/∂W1‖",
            "‖∂J/∂W2‖",
            "‖∂J/∂W3‖",
            "‖∂J/∂z1‖",
            "‖∂J/∂z2‖"
        ]
    );
    for (epoch, line) in lines[title + 2..title + 4].iter().enumerate() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells.len(), 6, "{line}");
        assert_eq!(cells[0], (epoch + 1).to_string());
        for cell in &cells[1..] {
            let value: f64 = cell.parse().unwrap_or_else(|_| panic!("{line}"));
            assert!(value.is_finite() && value > 0.0, "{line}");
        }
    }
}

#[test]
fn grad_stats_with_metrics_leaves_the_console_to_the_metrics_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(
        dir.path(),
        &[
            "train",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--grad-stats",
            "--metrics",
            "m.jsonl",
            "--quiet",
        ],
    );
    assert_success(&out);
    assert!(!stdout(&out).contains("gradient norms"), "{}", stdout(&out));
    let records = metrics(&dir.path().join("m.jsonl"));
    assert!(records[0].get("grad_norm_W1").is_some());
}

#[test]
fn completion_scripts_cover_the_commands_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = backprop(dir.path(), &["completions", shell]);
        assert_success(&out);
        let script = stdout(&out);
        assert!(script.len() > 100, "{shell}: {script}");
        assert!(script.contains("train"), "{shell}");
        assert!(script.contains("grad-stats"), "{shell}");
    }
    let out = backprop(dir.path(), &["completions", "bsh"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("bash"), "{}", stderr(&out));
}
