//! Hostile input files, through the release binary: a FIFO, a device, a socket or a folder
//! where a data file, an image, a model or a checkpoint is expected; a PNG or an IDX file
//! that claims (or inflates to) far more than its size; a damaged or edited checkpoint; a
//! resume on other data; an output name near the file system's limit. Each failure is one
//! line on stderr with exit code 1, within seconds, no panic, and every existing file keeps
//! its bytes.

mod common;

use backprop::data::{write_idx_images, write_idx_labels};
use common::{backprop_within, images, make_fifo, regular_files, stderr};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// How long any failing case may take (they used to block forever or read until memory ran
/// out); generous for a shared machine.
const LIMIT: Duration = Duration::from_secs(30);

/// Runs the binary in `dir` within [`LIMIT`].
fn run(dir: &Path, args: &[&str]) -> Output {
    backprop_within(dir, args, LIMIT)
}

/// Asserts exit code 1 and one line on stderr holding `needle`, without a panic.
fn assert_fails_with(output: &Output, needle: &str) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {text}");
    assert_eq!(text.trim_end().lines().count(), 1, "not one line: {text}");
    assert!(text.contains(needle), "expected {needle:?} in: {text}");
    assert!(
        !text.contains("panicked") && !text.contains("backtrace"),
        "{text}"
    );
}

/// Runs `args` in `dir`, asserts it fails with `needle` and that no regular file under `dir`
/// was created, changed or removed.
fn assert_refused(dir: &Path, args: &[&str], needle: &str) -> Output {
    let before = regular_files(dir);
    let output = run(dir, args);
    assert_fails_with(&output, needle);
    assert_eq!(
        regular_files(dir).keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the files changed"
    );
    assert!(regular_files(dir) == before, "a file's bytes changed");
    output
}

fn assert_success(output: &Output) {
    common::assert_success(output);
}

/// Writes a raw IDX training folder of `count` images of `rows x cols` (3 classes).
fn idx_folder(dir: &Path, name: &str, count: usize, rows: usize, cols: usize, seed: u64) {
    let folder = dir.join(name);
    fs::create_dir_all(&folder).unwrap();
    let (pixels, labels) = images(count, rows, cols, 3, seed);
    write_idx_images(
        &folder.join("train-images-idx3-ubyte"),
        rows,
        cols,
        &pixels,
        false,
    )
    .unwrap();
    write_idx_labels(&folder.join("train-labels-idx1-ubyte"), &labels, false).unwrap();
}

/// A folder `data` of 60 images of 6x5, a model trained on it, and a checkpoint taken inside
/// the first epoch (2 steps of batches of 16, position 32 of 60).
fn trained(dir: &Path) {
    idx_folder(dir, "data", 60, 6, 5, 1);
    let output = run(
        dir,
        &[
            "train",
            "--dataset",
            "data",
            "--hidden",
            "4",
            "--batch-size",
            "16",
            "--steps",
            "2",
            "--threads",
            "1",
            "--out",
            "model.safetensors",
            "--checkpoint",
            "ck.safetensors",
            "--quiet",
        ],
    );
    assert_success(&output);
}

/// `train --resume CHECKPOINT` on the same data, two more steps.
fn resume_args(checkpoint: &str) -> Vec<&str> {
    vec![
        "train",
        "--resume",
        checkpoint,
        "--steps",
        "4",
        "--out",
        "resumed.safetensors",
        "--quiet",
    ]
}

#[test]
fn a_fifo_as_image_model_checkpoint_or_data_file_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    trained(dir);
    make_fifo(&dir.join("pipe"));
    let message = "pipe is a FIFO, not a regular file";
    assert_refused(
        dir,
        &["predict", "--model", "model.safetensors", "--image", "pipe"],
        message,
    );
    assert_refused(
        dir,
        &["eval", "--model", "pipe", "--dataset", "data"],
        message,
    );
    assert_refused(
        dir,
        &["predict", "--model", "pipe", "--image", "pipe"],
        message,
    );
    assert_refused(dir, &["train", "--resume", "pipe", "--quiet"], message);
    assert_refused(
        dir,
        &["train", "--dataset", "data", "--init", "pipe", "--quiet"],
        message,
    );
    // The FIFO as the dataset folder itself, in the command that trains and the one that
    // serves: named for what it is.
    for command in ["train", "serve"] {
        assert_refused(
            dir,
            &[command, "--dataset", "pipe"],
            "--dataset 'pipe' is a FIFO, not a folder of IDX files",
        );
    }

    // A dataset whose image file is a FIFO.
    idx_folder(dir, "fifo-data", 10, 6, 5, 2);
    fs::remove_file(dir.join("fifo-data/train-images-idx3-ubyte")).unwrap();
    make_fifo(&dir.join("fifo-data/train-images-idx3-ubyte"));
    assert_refused(
        dir,
        &["train", "--dataset", "fifo-data", "--quiet"],
        "fifo-data/train-images-idx3-ubyte is a FIFO, not a regular file",
    );
}

#[test]
fn a_link_to_dev_zero_a_folder_or_a_socket_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    trained(dir);
    symlink("/dev/zero", dir.join("zero")).unwrap();
    fs::create_dir(dir.join("folder")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(dir.join("socket")).unwrap();
    let device = "zero is a character device (a symbolic link to /dev/zero), not a regular file";
    assert_refused(
        dir,
        &["predict", "--model", "model.safetensors", "--image", "zero"],
        device,
    );
    assert_refused(
        dir,
        &["eval", "--model", "zero", "--dataset", "data"],
        device,
    );
    assert_refused(dir, &["train", "--resume", "zero", "--quiet"], device);
    assert_refused(
        dir,
        &[
            "predict",
            "--model",
            "model.safetensors",
            "--image",
            "folder",
        ],
        "folder is a folder, not a regular file",
    );
    assert_refused(
        dir,
        &["eval", "--model", "folder", "--dataset", "data"],
        "folder is a folder, not a regular file",
    );
    assert_refused(
        dir,
        &["eval", "--model", "socket", "--dataset", "data"],
        "socket is a socket, not a regular file",
    );

    // Dataset files that are a device and a folder.
    idx_folder(dir, "odd-data", 10, 6, 5, 2);
    fs::remove_file(dir.join("odd-data/train-labels-idx1-ubyte")).unwrap();
    symlink("/dev/zero", dir.join("odd-data/train-labels-idx1-ubyte")).unwrap();
    assert_refused(
        dir,
        &["train", "--dataset", "odd-data", "--quiet"],
        "train-labels-idx1-ubyte is a character device (a symbolic link to /dev/zero), not a regular file",
    );
    fs::remove_file(dir.join("odd-data/train-labels-idx1-ubyte")).unwrap();
    fs::create_dir(dir.join("odd-data/train-labels-idx1-ubyte")).unwrap();
    assert_refused(
        dir,
        &["train", "--dataset", "odd-data", "--quiet"],
        "train-labels-idx1-ubyte is a folder, not a regular file",
    );
}

/// A valid 8-bit greyscale PNG of `width x height` black pixels, assembled chunk by chunk
/// (zlib at its best level squeezes 10 million black pixels into a few KB, quickly).
fn black_png(path: &Path, width: u32, height: u32) {
    fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, no interlacing
    chunk(&mut png, b"IHDR", &header);
    // Each row: filter type 0, then `width` zero bytes.
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), Compression::best());
    let rows = vec![0u8; (width as usize + 1) * 4096];
    let mut left = height as usize;
    while left > 0 {
        let n = left.min(4096);
        encoder
            .write_all(&rows[..n * (width as usize + 1)])
            .unwrap();
        left -= n;
    }
    chunk(&mut png, b"IDAT", &encoder.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    fs::write(path, png).unwrap();
}

#[test]
fn a_png_of_too_many_pixels_is_refused_from_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    trained(dir);
    black_png(&dir.join("tall.png"), 1, 20_000_000);
    assert!(fs::metadata(dir.join("tall.png")).unwrap().len() < 100_000);
    assert_refused(
        dir,
        &[
            "predict",
            "--model",
            "model.safetensors",
            "--image",
            "tall.png",
        ],
        "tall.png is 1x20000000 pixels, more than the limit of 16777216 pixels",
    );
}

#[test]
fn a_tall_png_within_the_limit_is_predicted_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // A model of 28x28 inputs, as for MNIST: resizing 1 x 10,000,000 to 28 columns once
    // held 10,000,000 x 28 intermediate values (2.24 GB).
    idx_folder(dir, "mnist-like", 20, 28, 28, 3);
    let output = run(
        dir,
        &[
            "train",
            "--dataset",
            "mnist-like",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--out",
            "model.safetensors",
            "--quiet",
        ],
    );
    assert_success(&output);
    black_png(&dir.join("tall.png"), 1, 10_000_000);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_backprop"));
    command
        .args([
            "predict",
            "--model",
            "model.safetensors",
            "--image",
            "tall.png",
        ])
        .current_dir(dir);
    // At most 1 GiB of heap and other private writable memory.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    assert_success(&output);
    assert!(common::stdout(&output).contains("class"), "{output:?}");
}

/// Gzip of `header` followed by `zeros` zero bytes.
fn gzip_idx(path: &Path, header: &[u8], zeros: usize) {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(header).unwrap();
    let block = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(block.len());
        encoder.write_all(&block[..n]).unwrap();
        left -= n;
    }
    fs::write(path, encoder.finish().unwrap()).unwrap();
}

fn image_header(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut header = vec![0, 0, 8, 3];
    for size in [count, rows, cols] {
        header.extend_from_slice(&size.to_be_bytes());
    }
    header
}

#[test]
fn an_idx_gzip_bomb_is_refused_without_inflating_it() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    idx_folder(dir, "bomb", 10, 6, 5, 1);
    let images = dir.join("bomb/train-images-idx3-ubyte");
    fs::remove_file(&images).unwrap();
    let images = dir.join("bomb/train-images-idx3-ubyte.gz");

    // The header declares 10 images of 6x5, and 64 MB follow: reading stops one byte past
    // the 300 declared.
    gzip_idx(&images, &image_header(10, 6, 5), 64 << 20);
    assert!(fs::metadata(&images).unwrap().len() < 1 << 20);
    assert_refused(
        dir,
        &["train", "--dataset", "bomb", "--quiet"],
        "train-images-idx3-ubyte.gz has trailing bytes: its header declares 300 bytes of data but more follow",
    );

    // The header declares 100 million images (3 GB): refused before anything is inflated.
    gzip_idx(&images, &image_header(100_000_000, 6, 5), 4 << 20);
    assert_refused(
        dir,
        &["train", "--dataset", "bomb", "--quiet"],
        "declares 3000000000 bytes of data, more than the limit of 1073741824 bytes for an IDX file",
    );

    // Two images of 5000x5000 would make a model of 25 million inputs: refused from the
    // header, before their 50 MB are inflated.
    gzip_idx(&images, &image_header(2, 5000, 5000), 50_000_000);
    assert_refused(
        dir,
        &["train", "--dataset", "bomb", "--quiet"],
        "declares images of 5000x5000 pixels, more than the limit of 16777216 pixels per image",
    );
}

#[test]
fn a_checkpoint_with_a_flipped_byte_is_reported_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    trained(dir);
    let mut bytes = fs::read(dir.join("ck.safetensors")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(dir.join("damaged.safetensors"), &bytes).unwrap();
    assert_refused(
        dir,
        &resume_args("damaged.safetensors"),
        "damaged.safetensors: the checkpoint is damaged: its content has checksum",
    );
    // The undamaged checkpoint resumes.
    assert_success(&run(dir, &resume_args("ck.safetensors")));
}

#[test]
fn resuming_on_other_data_of_the_same_size_needs_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    trained(dir);
    // Same folder, same sizes, other pixels.
    idx_folder(dir, "data", 60, 6, 5, 77);
    assert_refused(
        dir,
        &resume_args("ck.safetensors"),
        "--resume ck.safetensors was trained on other data (60 samples of 30 features, MD5 ",
    );
    let mut args = resume_args("ck.safetensors");
    args.push("--resume-on-other-data");
    let output = run(dir, &args);
    assert_success(&output);
    assert!(dir.join("resumed.safetensors").is_file());
}

/// Copies the checkpoint `ck.safetensors` to `to` with its `checkpoint` metadata edited by
/// `edit` and its sample order by `edit_order`, resealed ([`common::resealed_checkpoint`]).
fn edited_checkpoint(
    dir: &Path,
    to: &str,
    edit: impl FnOnce(&mut serde_json::Value),
    edit_order: impl FnOnce(&mut Vec<u64>),
) {
    let bytes = fs::read(dir.join("ck.safetensors")).unwrap();
    let resealed = common::resealed_checkpoint(&bytes, edit, |tensors| {
        let order = &mut tensors
            .get_mut("trainer.order")
            .expect("the checkpoint is inside an epoch")
            .2;
        let mut indices: Vec<u64> = order
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        edit_order(&mut indices);
        *order = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
    });
    fs::write(dir.join(to), resealed).unwrap();
}

#[test]
fn every_field_of_a_checkpoint_is_range_checked() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    trained(dir);

    // Resealing without an edit gives a checkpoint that resumes: the cases below fail for
    // their edit alone.
    edited_checkpoint(dir, "same.safetensors", |_| {}, |_| {});
    assert_success(&run(dir, &resume_args("same.safetensors")));
    fs::remove_file(dir.join("resumed.safetensors")).unwrap();

    edited_checkpoint(
        dir,
        "batch0.safetensors",
        |saved| saved["config"]["batch_size"] = 0.into(),
        |_| {},
    );
    assert_refused(
        dir,
        &resume_args("batch0.safetensors"),
        "the checkpoint's configuration is invalid: the batch size must be at least 1",
    );

    edited_checkpoint(dir, "zeros.safetensors", |_| {}, |order| order.fill(0));
    assert_refused(
        dir,
        &resume_args("zeros.safetensors"),
        "the saved sample order visits sample 0 twice; expected a permutation of 0..60",
    );

    edited_checkpoint(dir, "past.safetensors", |_| {}, |order| order[0] = 60);
    assert_refused(
        dir,
        &resume_args("past.safetensors"),
        "the saved sample order holds 60, past the 60 samples",
    );

    edited_checkpoint(
        dir,
        "rng.safetensors",
        |saved| saved["trainer"]["rng"] = serde_json::json!([0, 0, 0, 0]),
        |_| {},
    );
    assert_refused(
        dir,
        &resume_args("rng.safetensors"),
        "the shuffling generator's saved state is all zeros",
    );

    edited_checkpoint(
        dir,
        "adam-t.safetensors",
        |saved| saved["trainer"]["optimizer_steps"] = u64::MAX.into(),
        |_| {},
    );
    assert_refused(
        dir,
        &resume_args("adam-t.safetensors"),
        "the optimiser's saved update count 18446744073709551615 differs from the saved step 2",
    );

    edited_checkpoint(
        dir,
        "step.safetensors",
        |saved| saved["trainer"]["step"] = 9.into(),
        |_| {},
    );
    assert_refused(
        dir,
        &resume_args("step.safetensors"),
        "the saved step 9 does not fit the saved epoch 1 and position 32",
    );

    edited_checkpoint(
        dir,
        "position.safetensors",
        |saved| saved["trainer"]["position"] = 61.into(),
        |_| {},
    );
    assert_refused(
        dir,
        &resume_args("position.safetensors"),
        "the saved position 61 is past the epoch's 60 samples",
    );

    edited_checkpoint(
        dir,
        "epoch.safetensors",
        |saved| saved["trainer"]["epoch"] = 0.into(),
        |_| {},
    );
    assert_refused(
        dir,
        &resume_args("epoch.safetensors"),
        "the checkpoint is inside epoch 0; epochs count from 1",
    );

    // A 4 MB value is echoed cut to a readable length.
    edited_checkpoint(
        dir,
        "long.safetensors",
        |saved| saved["config"]["optimizer"] = "x".repeat(4 << 20).into(),
        |_| {},
    );
    let output = assert_refused(
        dir,
        &resume_args("long.safetensors"),
        "unknown optimiser 'xxxxxxxx",
    );
    let text = stderr(&output);
    assert!(text.len() < 300, "{} bytes: {text}", text.len());
    assert!(text.contains("(4194304 bytes in all)"), "{text}");
}

#[test]
fn an_output_name_of_250_bytes_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    idx_folder(dir, "data", 60, 6, 5, 1);
    let name = format!("{}.safetensors", "m".repeat(250 - ".safetensors".len()));
    assert_eq!(name.len(), 250);
    let before = regular_files(dir);
    let output = run(
        dir,
        &[
            "train",
            "--dataset",
            "data",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--out",
            &name,
            "--quiet",
        ],
    );
    assert_success(&output);
    let after = regular_files(dir);
    // Exactly one new file (no temporary left behind), and the others unchanged.
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.contains_key(Path::new(&name)));
    for (path, bytes) in &before {
        assert_eq!(&after[path], bytes, "{}", path.display());
    }
    assert!(backprop::model_file::load_model(&dir.join(&name)).is_ok());
}

/// Asserts exit code 2 (a usage error) and one line on stderr holding `needle`, without a
/// panic, and that no regular file under `dir` was created, changed or removed.
fn assert_usage_refused(dir: &Path, args: &[&str], needle: &str) {
    let before = regular_files(dir);
    let output = run(dir, args);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "stderr: {text}");
    assert_eq!(text.trim_end().lines().count(), 1, "not one line: {text}");
    assert!(text.contains(needle), "expected {needle:?} in: {text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(
        regular_files(dir) == before,
        "a file was created, changed or removed"
    );
}

/// `train` for one epoch on `data`, quietly, writing the model to `out`.
fn one_epoch_to(out: &str) -> [&str; 8] {
    [
        "train",
        "--dataset",
        "data",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        out,
    ]
}

#[test]
fn an_output_that_is_a_fifo_a_device_or_a_folder_name_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    trained(dir);
    make_fifo(&dir.join("pipe"));
    symlink("/dev/null", dir.join("null")).unwrap();
    let train = |flag: &'static str, path: &'static str| {
        let mut args = vec![
            "train",
            "--dataset",
            "data",
            "--hidden",
            "4",
            "--epochs",
            "1",
        ];
        args.extend(["--quiet", "--out", "fresh.safetensors", flag, path]);
        args
    };
    for flag in ["--metrics", "--plot", "--checkpoint"] {
        let path = if flag == "--plot" { "pipe.svg" } else { "pipe" };
        if flag == "--plot" {
            make_fifo(&dir.join("pipe.svg"));
        }
        assert_usage_refused(
            dir,
            &train(flag, path),
            &format!("{flag} {path}: is a FIFO, not a regular file"),
        );
    }
    assert_usage_refused(
        dir,
        &one_epoch_to("null"),
        "--out null: is a character device, not a regular file",
    );
    assert_usage_refused(
        dir,
        &["graph", "--out", "pipe"],
        "--out pipe: is a FIFO, not a regular file",
    );
    // A trailing slash names a folder, also one that does not exist yet.
    assert_usage_refused(
        dir,
        &train("--plot", "plot.svg/"),
        "--plot plot.svg/: ends with /, which names a folder",
    );
    let kinds = |name: &str| fs::symlink_metadata(dir.join(name)).unwrap().file_type();
    use std::os::unix::fs::FileTypeExt;
    assert!(kinds("pipe").is_fifo() && kinds("pipe.svg").is_fifo());
    assert!(kinds("null").is_symlink());
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn an_output_path_that_is_not_utf8_is_a_usage_error() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    idx_folder(dir, "data", 60, 6, 5, 1);
    let name = OsStr::from_bytes(b"m\xff.jsonl");
    for flag in ["--metrics", "--out", "--checkpoint"] {
        let before = regular_files(dir);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_backprop"))
            .current_dir(dir)
            .args([
                "train",
                "--dataset",
                "data",
                "--hidden",
                "4",
                "--epochs",
                "1",
            ])
            .args(if flag == "--out" {
                vec!["--quiet"]
            } else {
                vec!["--quiet", "--out", "fresh.safetensors"]
            })
            .arg(flag)
            .arg(name)
            .output()
            .unwrap();
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{flag}: {text}");
        assert_eq!(text.trim_end().lines().count(), 1, "not one line: {text}");
        assert!(text.contains("is not valid UTF-8"), "{text}");
        assert!(regular_files(dir) == before, "{flag}: files changed");
    }
}

#[test]
fn a_run_that_diverges_at_once_keeps_an_existing_metrics_file() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    idx_folder(dir, "data", 60, 6, 5, 1);
    fs::write(dir.join("metrics.jsonl"), "an earlier run's records\n").unwrap();
    let args = three_small_epochs(&[
        "--lr",
        "1e308",
        "--metrics",
        "metrics.jsonl",
        "--out",
        "model.safetensors",
    ]);
    assert_refused(dir, &args, "is probably too large");
}

/// `train` on `data` for three epochs of batches of 4 through 4 hidden units, quietly, with
/// `extra` flags.
fn three_small_epochs<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--dataset",
        "data",
        "--hidden",
        "4",
        "--epochs",
        "3",
        "--batch-size",
        "4",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn a_run_diverging_through_its_weight_decay_blames_the_weight_decay() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    idx_folder(dir, "data", 60, 6, 5, 1);
    let train = |decay: &str, optimizer: &str| {
        let args = three_small_epochs(&["--weight-decay", decay, "--optimizer", optimizer]);
        stderr(&assert_refused(dir, &args, "weight decay"))
    };
    // Adam's steps stay short whatever λ, but λ/2 ‖W‖² is beyond f32 at the first step.
    let text = train("1e308", "adam");
    assert!(
        text.contains("the weight decay (1e308) is too large: λ/2 Σ‖W‖² overflowed"),
        "{text}"
    );
    assert!(!text.contains("learning rate"), "{text}");
    // lr·λ = 0.1 · 1e5 = 1e4, far above SGD's 2: the decay step alone grows the weights.
    let text = train("1e5", "sgd");
    assert!(
        text.contains(
            "the weight decay (100000) is too large for learning rate 0.1: lr·λ = 10000, and \
             above 2 the decay part of each step makes every weight grow"
        ),
        "{text}"
    );
}

#[test]
fn an_output_through_a_symbolic_link_replaces_the_file_it_points_to() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    idx_folder(dir, "data", 60, 6, 5, 1);
    fs::create_dir(dir.join("models")).unwrap();
    fs::write(dir.join("models/real.safetensors"), "old").unwrap();
    symlink("models/real.safetensors", dir.join("latest.safetensors")).unwrap();
    let output = run(dir, &one_epoch_to("latest.safetensors"));
    assert_success(&output);
    assert!(fs::symlink_metadata(dir.join("latest.safetensors"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(backprop::model_file::load_model(&dir.join("models/real.safetensors")).is_ok());
    // A link to nothing is refused.
    symlink("models/missing.safetensors", dir.join("dangling")).unwrap();
    assert_usage_refused(
        dir,
        &one_epoch_to("dangling"),
        "--out dangling: is a symbolic link to a file that does not exist",
    );
    // Nor is a link in a loop of links.
    symlink("loop-b", dir.join("loop-a")).unwrap();
    symlink("loop-a", dir.join("loop-b")).unwrap();
    assert_usage_refused(
        dir,
        &one_epoch_to("loop-a"),
        "--out loop-a: is a symbolic link in a loop of links that never reaches a file",
    );
}
