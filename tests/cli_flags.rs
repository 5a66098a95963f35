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
