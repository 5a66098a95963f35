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
