//! What the command-line tests share: running the binary and generating small IDX datasets.
#![allow(dead_code)]

use backprop::data::{write_idx_images, write_idx_labels};
use backprop::nn::{Activation, Loss, MlpConfig};
use backprop::rng::Rng;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `backprop ARGS` in `dir` with a clean data environment.
pub fn backprop(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(args)
        .current_dir(dir)
        .env("BACKPROP_DATA", dir.join("no-data-here"))
        .env_remove("BACKPROP_MIRROR")
        .output()
        .expect("the binary runs")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that the command succeeded, showing its output otherwise.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
}

/// `count` images of `rows x cols` in `classes` classes: class `c` lights a horizontal band
/// whose position depends on `c`, over uniform noise; learnable by a small MLP.
pub fn images(
    count: usize,
    rows: usize,
    cols: usize,
    classes: usize,
    seed: u64,
) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let mut pixels = Vec::with_capacity(count * rows * cols);
    let mut labels = Vec::with_capacity(count);
    for i in 0..count {
        let class = (i * 7 + rng.below(3)) % classes;
        labels.push(class as u8);
        let band = class * rows / classes;
        for r in 0..rows {
            for _ in 0..cols {
                let base = if r == band { 200 } else { 0 };
                pixels.push((base + rng.below(56)) as u8);
            }
        }
    }
    (pixels, labels)
}

/// Writes an IDX dataset folder (gzip) with a training split and, if `test > 0`, a test
/// split; returns its path.
pub fn image_folder(dir: &Path, name: &str, train: usize, test: usize, classes: usize) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let (pixels, labels) = images(train, 6, 5, classes, 1);
    write_idx_images(
        &folder.join("train-images-idx3-ubyte.gz"),
        6,
        5,
        &pixels,
        true,
    )
    .unwrap();
    write_idx_labels(&folder.join("train-labels-idx1-ubyte.gz"), &labels, true).unwrap();
    if test > 0 {
        let (pixels, labels) = images(test, 6, 5, classes, 2);
        write_idx_images(&folder.join("t10k-images-idx3-ubyte"), 6, 5, &pixels, false).unwrap();
        write_idx_labels(&folder.join("t10k-labels-idx1-ubyte"), &labels, false).unwrap();
    }
    folder
}

/// Reads a metrics file as JSON values, one per line.
pub fn metrics(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `samples` random MNIST-shaped images (28x28 bytes, 10 classes), from `seed`.
pub fn mnist_shaped(samples: usize, seed: u64) -> backprop::data::Dataset {
    let mut rng = Rng::new(seed);
    let pixels = (0..samples * 784).map(|_| rng.below(256) as u8).collect();
    let labels = (0..samples).map(|_| rng.below(10) as u8).collect();
    backprop::data::Dataset::from_images(pixels, labels, 28, 28).unwrap()
}

/// The network trained on [`mnist_shaped`] data where the matrix products run at full size:
/// 784-`hidden`-10, relu, softmax cross-entropy, with biases, λ = 10⁻⁴.
pub fn mnist_config(hidden: &[usize]) -> MlpConfig {
    MlpConfig {
        inputs: 784,
        hidden: hidden.to_vec(),
        outputs: 10,
        activation: Activation::Relu,
        loss: Loss::CrossEntropy,
        bias: true,
        weight_decay: 1e-4,
    }
}

/// Runs `backprop ARGS` in `dir` as [`backprop`] does (with `RUST_BACKTRACE=1`, so that a
/// panic would show one), but kills it and fails the test if it runs longer than `limit`:
/// for inputs that used to make the binary block forever.
pub fn backprop_within(dir: &Path, args: &[&str], limit: std::time::Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(args)
        .current_dir(dir)
        .env("BACKPROP_DATA", dir.join("no-data-here"))
        .env("RUST_BACKTRACE", "1")
        .env_remove("BACKPROP_MIRROR")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(limit) {
        Ok(output) => output.expect("waiting for the binary"),
        Err(_) => {
            // SAFETY: sending a signal to the child this function started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("backprop {args:?} still ran after {limit:?}");
        }
    }
}

/// Creates a FIFO (named pipe) at `path`.
pub fn make_fifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `name` is a valid C string that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Every regular file under `dir` with its bytes (FIFOs, devices and sockets are skipped, and
/// symbolic links are not followed, so taking a snapshot never blocks).
pub fn regular_files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let kind = std::fs::symlink_metadata(&path).unwrap().file_type();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

/// The width of class `class`'s bar in a [`bar_digits`] image: 2, 4, ... 20 pixels.
pub fn bar_width(class: usize) -> usize {
    2 * (class + 1)
}

/// `count` 28 x 28 "digits" of 10 classes, already framed as MNIST framed its digits: class
/// `c` is a bar [`bar_width`]`(c)` pixels wide and 20 tall, centred (rows 4..24), in ink
/// 200 to 255 on a ground of 0 to 15. A drawing of a bar of the same proportions, framed,
/// looks like its class. Labels cycle through the classes with a seeded jitter.
pub fn bar_digits(count: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let mut pixels = Vec::with_capacity(count * 784);
    let mut labels = Vec::with_capacity(count);
    for i in 0..count {
        let class = (i + rng.below(2)) % 10;
        labels.push(class as u8);
        let width = bar_width(class);
        let left = 14 - width / 2;
        for r in 0..28 {
            for c in 0..28 {
                let ink = (4..24).contains(&r) && (left..left + width).contains(&c);
                let level = if ink {
                    200 + rng.below(56)
                } else {
                    rng.below(16)
                };
                pixels.push(level as u8);
            }
        }
    }
    (pixels, labels)
}

/// Writes a folder of [`bar_digits`]: `train` training images and, if `test > 0`, a test
/// split; returns its path.
pub fn bar_digit_folder(dir: &Path, name: &str, train: usize, test: usize) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let (pixels, labels) = bar_digits(train, 1);
    write_idx_images(
        &folder.join("train-images-idx3-ubyte.gz"),
        28,
        28,
        &pixels,
        true,
    )
    .unwrap();
    write_idx_labels(&folder.join("train-labels-idx1-ubyte.gz"), &labels, true).unwrap();
    if test > 0 {
        let (pixels, labels) = bar_digits(test, 2);
        write_idx_images(
            &folder.join("t10k-images-idx3-ubyte"),
            28,
            28,
            &pixels,
            false,
        )
        .unwrap();
        write_idx_labels(&folder.join("t10k-labels-idx1-ubyte"), &labels, false).unwrap();
    }
    folder
}

/// A tensor of a safetensors file, owned: its data type, shape and little-endian bytes.
pub type OwnedTensor = (safetensors::Dtype, Vec<usize>, Vec<u8>);

/// The checkpoint `bytes` with its `checkpoint` metadata edited by `edit_saved` and its
/// tensors (by name) by `edit_tensors`, resealed with the checksum of the new content (as a
/// careful forger would), so that the range checks, not the checksum, must catch what is
/// wrong.
pub fn resealed_checkpoint(
    bytes: &[u8],
    edit_saved: impl FnOnce(&mut serde_json::Value),
    edit_tensors: impl FnOnce(&mut std::collections::BTreeMap<String, OwnedTensor>),
) -> Vec<u8> {
    use backprop::checkpoint::{content_checksum, CHECKPOINT_KEY, CHECKSUM_KEY};
    use safetensors::tensor::{SafeTensors, TensorView};
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    let mut saved: serde_json::Value = serde_json::from_str(&metadata[CHECKPOINT_KEY]).unwrap();
    edit_saved(&mut saved);
    metadata.insert(CHECKPOINT_KEY.into(), saved.to_string());
    metadata.remove(CHECKSUM_KEY);
    let mut owned: std::collections::BTreeMap<String, OwnedTensor> =
        SafeTensors::deserialize(bytes)
            .unwrap()
            .tensors()
            .into_iter()
            .map(|(name, view)| {
                let tensor = (view.dtype(), view.shape().to_vec(), view.data().to_vec());
                (name, tensor)
            })
            .collect();
    edit_tensors(&mut owned);
    let serialize = |metadata: &std::collections::HashMap<String, String>| {
        let views: Vec<(String, TensorView)> = owned
            .iter()
            .map(|(name, (dtype, shape, data))| {
                let view = TensorView::new(*dtype, shape.clone(), data).unwrap();
                (name.clone(), view)
            })
            .collect();
        safetensors::serialize(views, Some(metadata.clone())).unwrap()
    };
    let unsealed = serialize(&metadata);
    metadata.insert(CHECKSUM_KEY.into(), content_checksum(&unsealed).unwrap());
    serialize(&metadata)
}
