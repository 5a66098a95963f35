//! `backprop train` on a terminal of 80 and 40 columns: the progress bar, the epoch lines and
//! the lines at the start fit without wrapping. The terminal is a pseudo-terminal from
//! util-linux's `script`, its size set with `stty`; piped output keeps full lines.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Runs `backprop ARGS` in `dir` on a pseudo-terminal of `columns` columns (and `COLUMNS`
/// set to `environment_columns`, if given); returns what the terminal showed.
fn on_terminal(
    dir: &Path,
    columns: usize,
    environment_columns: Option<usize>,
    args: &[&str],
) -> String {
    let binary = env!("CARGO_BIN_EXE_backprop");
    // Set in the command, after `stty`: a shell running it (bash) resets COLUMNS to the
    // terminal's width after each command.
    let environment = match environment_columns {
        Some(columns) => format!("COLUMNS={columns}"),
        None => "-u COLUMNS".to_string(),
    };
    let command = format!(
        "stty rows 24 cols {columns}; exec env {environment} {binary} {}",
        args.join(" ")
    );
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("BACKPROP_DATA", dir.join("no-data-here"));
    let out = script
        .output()
        .expect("util-linux's `script` runs (apt-get install util-linux)");
    assert_success(&out);
    stdout(&out)
}

/// The lines as a terminal shows them: split at newlines and carriage returns (the bar
/// redraws itself), escape sequences removed, trailing blanks dropped. A line printed above
/// the bar is padded with blanks to the terminal's width and the bar follows it without a
/// newline (the terminal wraps): it is split where the bar's `epoch N` begins (no field but
/// the first starts with `epoch`).
fn shown_lines(text: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
        .split(['\n', '\r'])
        .flat_map(|segment| {
            // Where the bar's `epoch N/M` begins after a line of exactly the width, no blank
            // separates them: split before every `epoch <digit>` but the first character.
            let starts: Vec<usize> = segment
                .match_indices("epoch ")
                .map(|(at, _)| at)
                .filter(|&at| {
                    at > 0
                        && segment[at + "epoch ".len()..].starts_with(|c: char| c.is_ascii_digit())
                })
                .collect();
            let mut pieces = Vec::new();
            let mut from = 0;
            for at in starts.into_iter().chain([segment.len()]) {
                pieces.push(segment[from..at].trim_end().to_string());
                from = at;
            }
            pieces
        })
        .filter(|line| !line.is_empty())
        .collect()
}

fn assert_fits(lines: &[String], width: usize) {
    for line in lines {
        assert!(
            line.chars().count() <= width,
            "{} columns > {width}: {line}",
            line.chars().count()
        );
    }
}

const TRAIN: [&str; 8] = [
    "train",
    "--epochs",
    "2",
    "--val-fraction",
    "0.1",
    "--out",
    "m.safetensors",
    "--threads=1",
];

#[test]
fn at_eighty_columns_the_bar_and_every_line_fit() {
    let dir = tempfile::tempdir().unwrap();
    let lines = shown_lines(&on_terminal(dir.path(), 80, None, &TRAIN));
    assert_fits(&lines, 80);
    let bar = lines
        .iter()
        .find(|l| l.starts_with("epoch 2/2  [") && l.contains("/54,000 samples"))
        .unwrap_or_else(|| panic!("a bar with the samples: {lines:#?}"));
    assert!(bar.contains("loss ") && bar.contains("ETA "), "{bar}");
    let epoch = lines
        .iter()
        .find(|l| l.starts_with("epoch 2/2  loss"))
        .unwrap_or_else(|| panic!("an epoch line: {lines:#?}"));
    for field in ["acc ", "val acc ", "test acc "] {
        assert!(epoch.contains(field), "{field}: {epoch}");
    }
    assert!(lines
        .iter()
        .any(|l| l.starts_with("data: spiral, 3 classes")));
    assert!(lines.iter().any(|l| l == "model written to m.safetensors"));
}

#[test]
fn at_forty_columns_fields_are_left_out_and_text_is_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let lines = shown_lines(&on_terminal(dir.path(), 40, None, &TRAIN));
    assert_fits(&lines, 40);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("epoch 2/2  loss ") && l.contains("  acc ")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("  ")),
        "wrapped lines are indented: {lines:#?}"
    );
}

#[test]
fn columns_in_the_environment_narrow_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let lines = shown_lines(&on_terminal(dir.path(), 120, Some(50), &TRAIN));
    assert_fits(&lines, 50);
    assert!(lines.iter().any(|l| l.starts_with("epoch 2/2  loss")));
}

#[test]
fn piped_output_keeps_full_lines_whatever_columns_says() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(TRAIN)
        .current_dir(dir.path())
        .env("COLUMNS", "40")
        .output()
        .unwrap();
    assert_success(&out);
    let text = stdout(&out);
    let epoch = text
        .lines()
        .find(|l| l.starts_with("epoch 2/2"))
        .unwrap_or_else(|| panic!("{text}"));
    for field in ["step ", "J ", "val loss ", "test loss ", " samples/s"] {
        assert!(epoch.contains(field), "{field}: {epoch}");
    }
    assert!(text.lines().any(|l| l.chars().count() > 80), "{text}");
}
