//! The README's commands run as written: every ```` ```sh ```` block, in the order of the
//! README, in one fresh folder, with `backprop` on `PATH` (as after `cargo install --path .`),
//! a home folder of its own and a small generated MNIST in `~/data/mnist`, where the README
//! tells the reader to put it. A block passes when it exits 0.
//!
//! Three kinds of line are not run, each for a reason the test checks instead:
//! - `scripts/test` is the command running this test; `bench/compare.sh` and
//!   `bench/interop_check.sh` install PyTorch from the network; `cargo install --path .` is a
//!   seven-minute build of the binary this test already has. Each must exist and be
//!   executable (or, for `cargo install`, name this package).
//! - `cargo run --release -- ARGS` runs as `backprop ARGS` (the same binary).
//! - `backprop serve ...` runs until Ctrl-C: it is started, must print its URL within 20 s and
//!   answer `GET /` with 200, and is then stopped.
//!
//! ```` ```python ```` blocks must parse (with `python3`, when it is installed); the files the
//! README's Python writes (PyTorch is not installed here) are written by this test instead,
//! with the same tensor names and shapes, so that the shell blocks after them run.

mod common;

use backprop::data::{write_idx_images, write_idx_labels};
use backprop::rng::Rng;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fenced block of the README: its info string, its first line number and its text.
struct Block {
    language: String,
    line: usize,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match open.take() {
                Some(block) => found.push(block),
                None => {
                    open = Some(Block {
                        language: info.trim().to_string(),
                        line: number + 2,
                        text: String::new(),
                    })
                }
            }
        } else if let Some(block) = open.as_mut() {
            block.text.push_str(line);
            block.text.push('\n');
        }
    }
    assert!(open.is_none(), "README.md has an unclosed code block");
    found
}

/// Commands the test does not run, with the file each names (checked to exist).
const NOT_RUN: [&str; 4] = [
    "scripts/test",
    "bench/compare.sh",
    "bench/interop_check.sh",
    "cargo install --path .",
];

/// The block as a bash script: lines of [`NOT_RUN`] become checks, `cargo run --release --`
/// becomes `backprop`, `backprop serve` becomes `serve_briefly`.
fn script(block: &str, repository: &Path) -> String {
    let mut out = String::new();
    for line in block.lines() {
        let command = line.trim_start();
        if let Some(skipped) = NOT_RUN.iter().find(|c| command.starts_with(**c)) {
            let path = skipped.split_whitespace().next().unwrap();
            if *skipped == "cargo install --path ." {
                let manifest = std::fs::read_to_string(repository.join("Cargo.toml")).unwrap();
                assert!(manifest.contains("name = \"backprop\""), "{manifest}");
            } else {
                let file = repository.join(path);
                out.push_str(&format!("test -x '{}'\n", file.display()));
            }
            continue;
        }
        let line = line.replace("cargo run --release --", "backprop");
        let line = line.replace("backprop serve", "serve_briefly");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Defined before every block: starts the server, waits for its URL, asks for the page and
/// stops it.
const SERVE_BRIEFLY: &str = r#"
serve_briefly() {
  backprop serve "$@" > .serve.out 2>&1 &
  local pid=$! url=""
  for _ in $(seq 200); do
    url=$(grep -o 'http://[^ ]*/' .serve.out | head -n 1 || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -z "$url" ]; then cat .serve.out; kill "$pid"; return 1; fi
  local hostport=${url#http://}; hostport=${hostport%/}
  local host=${hostport%:*} port=${hostport##*:}
  [ "$host" = "0.0.0.0" ] && host=127.0.0.1
  exec 3<>"/dev/tcp/$host/$port"
  printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" >&3
  local status; read -r status <&3; exec 3<&-
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "serve answered: $status"
  case "$status" in *" 200 "*) return 0 ;; *) return 1 ;; esac
}
"#;

/// A small MNIST-shaped dataset (28x28, 10 classes) in the four files of the real one.
fn small_mnist(folder: &Path) {
    std::fs::create_dir_all(folder).unwrap();
    for (prefix, count, seed) in [("train", 600, 1), ("t10k", 200, 2)] {
        let (pixels, labels) = common::images(count, 28, 28, 10, seed);
        write_idx_images(
            &folder.join(format!("{prefix}-images-idx3-ubyte.gz")),
            28,
            28,
            &pixels,
            true,
        )
        .unwrap();
        write_idx_labels(
            &folder.join(format!("{prefix}-labels-idx1-ubyte.gz")),
            &labels,
            true,
        )
        .unwrap();
    }
}

/// What the README's Python writes with PyTorch: `nn.Sequential(nn.Linear(784, 256),
/// nn.ReLU(), nn.Linear(256, 10)).state_dict()` saved with safetensors.
fn pytorch_state_dict(path: &Path) {
    let mut rng = Rng::new(7);
    let mut tensors = Vec::new();
    for (name, shape) in [
        ("0.weight", vec![256, 784]),
        ("0.bias", vec![256]),
        ("2.weight", vec![10, 256]),
        ("2.bias", vec![10]),
    ] {
        let count: usize = shape.iter().product();
        let bytes: Vec<u8> = (0..count)
            .flat_map(|_| ((rng.below(2001) as f32 - 1000.0) * 5e-5).to_le_bytes())
            .collect();
        tensors.push((name.to_string(), shape, bytes));
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            (
                name.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

/// Files the README's Python blocks write, by name.
fn written_by_python(name: &str) -> Option<fn(&Path)> {
    match name {
        "from_torch.safetensors" => Some(pytorch_state_dict),
        _ => None,
    }
}

fn python_parses(code: &str, line: usize) {
    let Ok(status) = Command::new("python3").arg("--version").output() else {
        return;
    };
    if !status.status.success() {
        return;
    }
    let output = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(code.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        output.status.success(),
        "README.md line {line}: the Python block does not parse:\n{}",
        common::stderr(&output)
    );
}

#[test]
fn every_command_block_of_the_readme_runs_as_written() {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repository.join("README.md")).unwrap();
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let work = root.path().join("work");
    let bin = root.path().join("bin");
    for folder in [&home, &work, &bin] {
        std::fs::create_dir_all(folder).unwrap();
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_backprop"), bin.join("backprop")).unwrap();
    small_mnist(&home.join("data/mnist"));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let docs_before = common::regular_files(&repository.join("docs"));
    let cwd_file = root.path().join("cwd");
    std::fs::write(&cwd_file, work.display().to_string()).unwrap();

    let mut ran = 0;
    for block in blocks(&readme) {
        match block.language.as_str() {
            "sh" => {}
            "python" => {
                python_parses(&block.text, block.line);
                let cwd = std::fs::read_to_string(&cwd_file).unwrap();
                let cwd = cwd.trim_end();
                for word in block.text.split(['"', '\'']) {
                    if let Some(write) = written_by_python(word) {
                        write(&Path::new(cwd).join(word));
                    }
                }
                continue;
            }
            _ => continue,
        }
        let body = script(&block.text, &repository);
        let full = format!(
            "set -eo pipefail\n{SERVE_BRIEFLY}\ncd \"$(cat '{cwd}')\"\n{body}\npwd > '{cwd}'\n",
            cwd = cwd_file.display()
        );
        let output = Command::new("bash")
            .args(["-c", &full])
            .env("HOME", &home)
            .env("PATH", &path)
            .env("COLUMNS", "80")
            .env(
                "BACKPROP_MIRROR",
                "http://127.0.0.1:9/no-downloads-in-tests",
            )
            .env_remove("BACKPROP_DATA")
            .env_remove("XDG_CACHE_HOME")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "README.md line {}: the block failed (exit {:?}):\n{}\nstdout:\n{}\nstderr:\n{}",
            block.line,
            output.status.code(),
            block.text,
            common::stdout(&output),
            common::stderr(&output)
        );
        ran += 1;
    }
    assert!(ran >= 8, "only {ran} sh blocks found in README.md");

    // The tour writes into its own folders, never into the repository.
    assert!(
        common::regular_files(&repository.join("docs")) == docs_before,
        "running the README's commands changed a file in docs/"
    );
}

#[test]
fn the_block_reader_finds_sh_blocks_and_their_lines() {
    let found = blocks("text\n```sh\nbackprop train\n```\n\n```python\nprint(1)\n```\n");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].language, "sh");
    assert_eq!(found[0].line, 3);
    assert_eq!(found[0].text, "backprop train\n");
    let body = script(
        "cargo run --release -- train\nscripts/test\n",
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert!(body.starts_with("backprop train\n"), "{body}");
    assert!(body.contains("test -x"), "{body}");
}
