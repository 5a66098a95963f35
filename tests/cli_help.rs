//! `--help` as cargo and ripgrep show it: flags under headings, an Examples section for
//! every command, value names that say what they take, short flags for the common ones,
//! one name per option across commands (old names as hidden aliases), `backprop help
//! COMMAND`, and the same defaults (biases, split) in every command.

mod common;

use backprop::model_file::load_model;
use common::*;
use std::fs;

const COMMANDS: [&str; 9] = [
    "train",
    "eval",
    "predict",
    "export",
    "gradcheck",
    "graph",
    "explain",
    "serve",
    "completions",
];

/// The value names a flag may show: each says what the flag takes.
const VALUE_NAMES: [&str; 11] = [
    "FILE", "DIR", "N", "F", "LIST", "NAME", "NAME|DIR", "BYTES", "WHEN", "PORT", "ADDRESS",
];

fn help(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = backprop(dir.path(), args);
    assert_success(&out);
    stdout(&out)
}

/// The headings (lines ending in `:` at the margin) of a help text, in order.
fn headings(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .collect()
}

/// The lines of the section under `heading`, up to the next heading.
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

#[test]
fn train_help_groups_its_flags_under_headings() {
    let text = help(&["train", "--help"]);
    assert_eq!(
        headings(&text),
        [
            "Options:",
            "Data:",
            "Model:",
            "Optimisation:",
            "Output:",
            "Checkpoints:",
            "Performance:",
            "Examples:"
        ],
        "{text}"
    );
    for (heading, flags) in [
        ("Data:", &["--dataset", "--data-dir", "--val-fraction"][..]),
        (
            "Model:",
            &[
                "--hidden",
                "--activation",
                "--loss",
                "--bias",
                "--no-bias",
                "--init",
            ],
        ),
        (
            "Optimisation:",
            &[
                "--optimizer",
                "--lr",
                "--weight-decay",
                "-e, --epochs",
                "--steps",
                "-b, --batch-size",
                "--seed",
            ],
        ),
        (
            "Output:",
            &[
                "-o, --out",
                "--metrics",
                "--plot",
                "--grad-stats",
                "-q, --quiet",
            ],
        ),
        (
            "Checkpoints:",
            &[
                "--checkpoint-every",
                "--checkpoint",
                "--resume",
                "--resume-on-other-data",
            ],
        ),
        ("Performance:", &["-j, --threads", "--memory-limit"]),
    ] {
        let lines = section(&text, heading).join("\n");
        for flag in flags {
            assert!(
                lines.contains(&format!("{flag} ")) || lines.contains(&format!("{flag}\n")),
                "{flag} under {heading}:\n{lines}"
            );
        }
    }
}

#[test]
fn every_command_has_examples_of_itself() {
    for command in COMMANDS {
        for flag in ["-h", "--help"] {
            let text = help(&[command, flag]);
            let examples = section(&text, "Examples:");
            assert!(!examples.is_empty(), "{command} {flag}:\n{text}");
            let commands: Vec<&&str> = examples
                .iter()
                .filter(|l| l.starts_with(&format!("  backprop {command}")))
                .collect();
            assert!(
                (1..=4).contains(&commands.len()),
                "{command} {flag}: {examples:?}"
            );
            // Each example says what it does on the line above it, and fits on one line.
            for (i, line) in examples.iter().enumerate() {
                if line.starts_with("  backprop") {
                    assert!(examples[i - 1].starts_with("  # "), "{command}: {line}");
                } else {
                    assert!(
                        line.is_empty() || line.starts_with("  # "),
                        "{command}: {line}"
                    );
                }
            }
        }
    }
    let text = help(&["--help"]);
    assert!(section(&text, "Examples:").len() >= 2, "{text}");
}

#[test]
fn value_names_say_what_a_flag_takes() {
    for command in COMMANDS {
        for flag in ["-h", "--help"] {
            let text = help(&[command, flag]);
            let mut rest = text.as_str();
            while let Some(open) = rest.find('<') {
                let close = rest[open..].find('>').map(|c| open + c);
                let Some(close) = close else { break };
                let name = &rest[open + 1..close];
                let is_placeholder = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c == '|');
                if is_placeholder {
                    assert!(
                        VALUE_NAMES.contains(&name)
                            || (command == "completions" && name == "SHELL"),
                        "{command} {flag} shows <{name}>:\n{text}"
                    );
                }
                rest = &rest[close + 1..];
            }
        }
    }
}

#[test]
fn short_help_is_one_line_per_flag_and_long_help_says_more() {
    for command in COMMANDS {
        let short = help(&[command, "-h"]);
        let long = help(&[command, "--help"]);
        for heading in headings(&short) {
            if heading == "Examples:" || heading == "Arguments:" {
                continue;
            }
            for line in section(&short, heading) {
                if line.is_empty() {
                    continue;
                }
                assert!(
                    line.trim_start().starts_with('-'),
                    "{command} -h: a continuation line under {heading}: {line:?}\n{short}"
                );
                let words = line
                    .trim_start()
                    .split_once("  ")
                    .map_or("", |(_, help)| help);
                assert!(
                    !words.trim().is_empty(),
                    "{command} -h: {line:?} has no help"
                );
            }
        }
        assert!(long.len() >= short.len(), "{command}");
    }
    let long = help(&["train", "--help"]);
    let short = help(&["train", "-h"]);
    assert!(long.contains("t10k-images-idx3-ubyte"));
    assert!(!short.contains("t10k-images-idx3-ubyte"));
}

#[test]
fn help_command_equals_the_help_flag() {
    for command in COMMANDS {
        assert_eq!(
            help(&["help", command]),
            help(&[command, "--help"]),
            "{command}"
        );
    }
}

#[test]
fn explain_takes_one_sample_at_index() {
    let text = help(&["explain", "--help"]);
    assert!(!text.contains("first of the batch"), "{text}");
    let index = section(&text, "Data:")
        .into_iter()
        .skip_while(|l| !l.contains("--index"))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(index.contains("Which sample of the split"), "{index}");
}

#[test]
fn short_flags_do_what_the_long_ones_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = backprop(
        d,
        &[
            "train",
            "--hidden",
            "8",
            "-e",
            "2",
            "-b",
            "64",
            "-j",
            "1",
            "-q",
            "-o",
            "s.safetensors",
        ],
    );
    assert_success(&out);
    assert!(stdout(&out).contains("epoch 2"), "{}", stdout(&out));
    let model = load_model(&d.join("s.safetensors")).unwrap();
    let training: serde_json::Value = serde_json::from_str(&model.metadata["training"]).unwrap();
    assert_eq!(training["epochs"], 2);
    assert_eq!(training["batch_size"], 64);
    assert_eq!(training["threads"], 1);

    let out = backprop(
        d,
        &[
            "eval",
            "--model",
            "s.safetensors",
            "-b",
            "7",
            "-j",
            "1",
            "--json",
        ],
    );
    assert_success(&out);
    let short = backprop(d, &["graph", "-b", "3", "-o", "short.svg"]);
    assert_success(&short);
    let long = backprop(d, &["graph", "--batch-size", "3", "--out", "long.svg"]);
    assert_success(&long);
    assert_eq!(
        fs::read(d.join("short.svg")).unwrap(),
        fs::read(d.join("long.svg")).unwrap()
    );
    assert_success(&backprop(d, &["explain", "-b", "16", "-o", "e.txt"]));
    assert!(fs::read_to_string(d.join("e.txt"))
        .unwrap()
        .contains("4.7.1"));
    assert_success(&backprop(
        d,
        &[
            "export",
            "--model",
            "s.safetensors",
            "--format",
            "onnx",
            "-o",
            "s.onnx",
        ],
    ));
    assert_success(&backprop(
        d,
        &[
            "gradcheck",
            "--activation",
            "relu",
            "--loss",
            "mse",
            "-b",
            "2",
        ],
    ));
}

#[test]
fn old_names_work_as_hidden_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // graph --batch is --batch-size.
    assert_success(&backprop(d, &["graph", "--batch", "4", "--out", "old.svg"]));
    assert_success(&backprop(
        d,
        &["graph", "--batch-size", "4", "--out", "new.svg"],
    ));
    assert_eq!(
        fs::read(d.join("old.svg")).unwrap(),
        fs::read(d.join("new.svg")).unwrap()
    );
    // --lambda is --weight-decay in explain, graph and gradcheck.
    for command in ["explain", "graph", "gradcheck"] {
        let old = backprop(
            d,
            &[
                command,
                "--lambda",
                "0.25",
                "--activation",
                "tanh",
                "--loss",
                "mse",
            ],
        );
        assert_success(&old);
        let new = backprop(
            d,
            &[
                command,
                "--weight-decay",
                "0.25",
                "--activation",
                "tanh",
                "--loss",
                "mse",
            ],
        );
        assert_success(&new);
        assert_eq!(stdout(&old), stdout(&new), "{command}");
        let other = backprop(
            d,
            &[
                command,
                "--weight-decay",
                "0.5",
                "--activation",
                "tanh",
                "--loss",
                "mse",
            ],
        );
        assert_ne!(stdout(&other), stdout(&new), "{command}: the value is used");
        for flag in ["-h", "--help"] {
            let text = help(&[command, flag]);
            assert!(!text.contains("--lambda"), "{command} {flag}:\n{text}");
            assert!(text.contains("--weight-decay <F>"), "{command} {flag}");
        }
    }
    let text = help(&["graph", "--help"]);
    assert!(!text.contains("--batch "), "{text}");
    assert!(text.contains("-b, --batch-size <N>"), "{text}");
}

#[test]
fn every_command_that_builds_a_network_has_biases_unless_no_bias() {
    for command in ["train", "graph", "explain", "gradcheck"] {
        let text = help(&[command, "--help"]);
        let model = section(&text, "Model:").join("\n");
        assert!(model.contains("--bias"), "{command}:\n{model}");
        assert!(model.contains("--no-bias"), "{command}:\n{model}");
        assert!(
            model.contains("the D2L network of §4.7"),
            "{command}:\n{model}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let biased = stdout(&backprop(d, &["explain"]));
    assert!(biased.contains("z = W1 x + b1"), "{biased}");
    assert!(biased.contains("∂J/∂b1 = ∂J/∂z"), "{biased}");
    let d2l = backprop(d, &["explain", "--no-bias"]);
    assert_success(&d2l);
    let d2l = stdout(&d2l);
    assert!(
        d2l.contains("z = W1 x\n") || d2l.contains("z = W1 x "),
        "{d2l}"
    );
    assert!(!d2l.contains("∂J/∂b1"), "{d2l}");
    // The last of --bias and --no-bias wins.
    assert_eq!(
        stdout(&backprop(d, &["explain", "--bias", "--no-bias"])),
        d2l
    );
    assert_eq!(
        stdout(&backprop(d, &["explain", "--no-bias", "--bias"])),
        biased
    );
    let check = stdout(&backprop(
        d,
        &["gradcheck", "--activation", "relu", "--loss", "mse"],
    ));
    assert!(check.contains("b1"), "{check}");
    let check = stdout(&backprop(
        d,
        &[
            "gradcheck",
            "--no-bias",
            "--activation",
            "relu",
            "--loss",
            "mse",
        ],
    ));
    assert!(!check.contains("b1"), "{check}");
}

#[test]
fn every_command_reads_the_test_split_unless_told_otherwise() {
    for command in ["eval", "graph", "explain"] {
        let text = help(&[command, "--help"]);
        let split = section(&text, "Data:")
            .into_iter()
            .skip_while(|l| !l.starts_with("      --split"))
            .take_while(|l| !l.starts_with("      --val-fraction"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(split.contains("[default: test]"), "{command}:\n{split}");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 30, 10, 3);
    image_folder(d, "train-only", 30, 0, 3);
    let out = backprop(d, &["explain", "--dataset", "data", "--index", "2"]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("sample 2 of the test split of data"),
        "{}",
        stdout(&out)
    );
    let out = backprop(d, &["explain", "--dataset", "data", "--split", "train"]);
    assert!(stdout(&out).contains("sample 0 of the train split of data"));
    let out = backprop(d, &["explain", "--dataset", "train-only"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has no test split"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("use --split train"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn flags_that_would_override_each_other_are_usage_errors_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_success(&backprop(
        d,
        &[
            "train",
            "--hidden",
            "4",
            "-e",
            "1",
            "-q",
            "-o",
            "m.safetensors",
        ],
    ));
    for (args, first, second) in [
        (
            &["explain", "--out", "e.txt", "--color", "always"][..],
            "--out",
            "--color",
        ),
        (
            &["graph", "--model", "m.safetensors", "--no-bias"][..],
            "--model",
            "--no-bias",
        ),
        (
            &["explain", "--model", "m.safetensors", "--bias"][..],
            "--model",
            "--bias",
        ),
        (
            &[
                "train",
                "--init",
                "m.safetensors",
                "--resume",
                "m.safetensors",
            ][..],
            "--init",
            "--resume",
        ),
        (
            &["eval", "--model", "m.safetensors", "--val-fraction", "0.2"][..],
            "--val-fraction",
            "--split",
        ),
    ] {
        let out = backprop(d, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let message = stderr(&out);
        assert_eq!(message.trim_end().lines().count(), 1, "{message}");
        assert!(
            message.contains(first) && message.contains(second),
            "{args:?}: {message}"
        );
    }
    assert!(!d.join("e.txt").exists());
}

#[test]
fn the_examples_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_backprop"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    // train first: the other commands' examples use the model it writes.
    for command in ["train", "eval", "export", "gradcheck", "graph", "explain"] {
        let text = help(&[command, "--help"]);
        for example in section(&text, "Examples:") {
            let example = example.trim();
            // MNIST downloads (and the --resume example continues that run; resuming is
            // tested in checkpoint_resume.rs); the rest runs here on the built-in data.
            if !example.starts_with("backprop ")
                || example.contains("mnist")
                || example.contains("--resume")
            {
                continue;
            }
            let out = std::process::Command::new("sh")
                .args(["-c", example])
                .current_dir(d)
                .env("PATH", &path)
                .env("BACKPROP_DATA", d.join("no-data-here"))
                .output()
                .unwrap();
            assert_success(&out);
            ran += 1;
        }
    }
    assert!(ran >= 12, "{ran} examples ran");
    for file in [
        "spiral.safetensors",
        "model.safetensors",
        "xor.svg",
        "spiral.onnx",
        "spiral_model.py",
        "d2l.svg",
        "graph.dot",
        "notes.md",
    ] {
        assert!(d.join(file).exists(), "{file}");
    }
}
