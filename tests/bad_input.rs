//! The bad-input table: every user-controlled path (IDX files, model files, checkpoints,
//! flags, output paths, sizes) ends in one clear line on stderr and exit code 2 (usage) or 1
//! (the rest), never a panic or a backtrace, and leaves every file as it was (no model,
//! metrics, plot or checkpoint created; a pre-existing `--out` or `--metrics` file keeps its
//! bytes).

mod common;

use backprop::data::{encode_idx_images, encode_idx_labels};
use backprop::model_file::save_model;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use common::{assert_success, image_folder, images};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The bytes of the pre-existing model file every case must leave alone.
const PREVIOUS_MODEL: &[u8] = b"the previous model, which a failed run must not touch";

/// The bytes of the pre-existing metrics file every case must leave alone.
const PREVIOUS_METRICS: &[u8] = b"{\"epoch\": 1, \"note\": \"the previous run's metrics\"}\n";

/// Runs the binary with backtraces requested, so that a panic would show one.
fn run(dir: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(args)
        .current_dir(dir)
        .env("BACKPROP_DATA", dir.join("no-data-here"))
        .env("RUST_BACKTRACE", "1")
        .env_remove("BACKPROP_MIRROR")
        .output()
        .expect("the binary runs")
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

/// A training folder (raw IDX) holding exactly these two files.
fn idx_folder(dir: &Path, name: &str, images: &[u8], labels: &[u8]) -> String {
    let folder = dir.join(name);
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("train-images-idx3-ubyte"), images).unwrap();
    fs::write(folder.join("train-labels-idx1-ubyte"), labels).unwrap();
    name.to_string()
}

fn model_config(inputs: usize, outputs: usize) -> MlpConfig {
    MlpConfig {
        inputs,
        hidden: vec![4],
        outputs,
        activation: Activation::Relu,
        loss: Loss::CrossEntropy,
        bias: true,
        weight_decay: 0.0,
    }
}

/// A safetensors file with the metadata of a 30-4-3 model and the given tensors.
fn safetensors_file(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let metadata: HashMap<String, String> = [
        ("format", "backprop-mlp"),
        ("layer_sizes", "30,4,3"),
        ("activation", "relu"),
        ("loss", "cross-entropy"),
        ("bias", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            (
                name.to_string(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    fs::write(path, safetensors::serialize(views, Some(metadata)).unwrap()).unwrap();
}

fn zeros(count: usize, width: usize) -> Vec<u8> {
    vec![0; count * width]
}

/// Writes every input the table needs into `dir`.
fn write_inputs(dir: &Path) {
    let (pixels, labels) = images(20, 6, 5, 3, 1);
    let good_images = encode_idx_images(6, 5, &pixels, false).unwrap();
    let good_labels = encode_idx_labels(&labels, false).unwrap();

    let mut wrong_magic = good_images.clone();
    wrong_magic[0] = 0x12;
    idx_folder(dir, "wrong-magic", &wrong_magic, &good_labels);
    let mut wrong_dims = good_images.clone();
    wrong_dims[3] = 2;
    idx_folder(dir, "wrong-dims", &wrong_dims, &good_labels);
    let mut wrong_type = good_images.clone();
    wrong_type[2] = 0x0d;
    idx_folder(dir, "wrong-type", &wrong_type, &good_labels);
    idx_folder(
        dir,
        "truncated",
        &good_images[..good_images.len() - 1],
        &good_labels,
    );
    let mut trailing = good_images.clone();
    trailing.push(0);
    idx_folder(dir, "trailing", &trailing, &good_labels);
    idx_folder(dir, "short-header", &good_images[..10], &good_labels);
    let zero_items = [0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 5];
    idx_folder(dir, "zero-items", &zero_items, &good_labels);
    let fewer_labels = encode_idx_labels(&labels[..19], false).unwrap();
    idx_folder(dir, "count-mismatch", &good_images, &fewer_labels);
    let mut high_labels = labels.clone();
    high_labels[7] = 5;
    let high_labels = encode_idx_labels(&high_labels, false).unwrap();
    idx_folder(dir, "label-5", &good_images, &high_labels);

    let gzipped = encode_idx_images(6, 5, &pixels, true).unwrap();
    let mut flipped = gzipped.clone();
    let middle = flipped.len() / 2;
    for byte in &mut flipped[middle..middle + 8] {
        *byte ^= 0xa5;
    }
    let corrupt = dir.join("corrupt-gzip");
    fs::create_dir_all(&corrupt).unwrap();
    fs::write(corrupt.join("train-images-idx3-ubyte.gz"), &flipped).unwrap();
    fs::write(corrupt.join("train-labels-idx1-ubyte"), &good_labels).unwrap();
    let cut = dir.join("truncated-gzip");
    fs::create_dir_all(&cut).unwrap();
    fs::write(
        cut.join("train-images-idx3-ubyte.gz"),
        &gzipped[..gzipped.len() / 2],
    )
    .unwrap();
    fs::write(cut.join("train-labels-idx1-ubyte"), &good_labels).unwrap();
    let no_labels = dir.join("no-labels");
    fs::create_dir_all(&no_labels).unwrap();
    fs::write(no_labels.join("train-images-idx3-ubyte"), &good_images).unwrap();

    image_folder(dir, "good", 40, 0, 3);

    // Model files.
    let none = BTreeMap::new();
    save_model(
        &dir.join("three-outputs.safetensors"),
        &Mlp::new(model_config(30, 3), 0).unwrap(),
        &none,
    )
    .unwrap();
    save_model(
        &dir.join("two-inputs.safetensors"),
        &Mlp::new(model_config(2, 3), 0).unwrap(),
        &none,
    )
    .unwrap();
    fs::write(dir.join("text.safetensors"), "W1 = [[1, 2], [3, 4]]\n").unwrap();
    let mut huge_header = (1u64 << 40).to_le_bytes().to_vec();
    huge_header.resize(100, b' ');
    fs::write(dir.join("huge-header.safetensors"), &huge_header).unwrap();
    let mut long_header = 5000u64.to_le_bytes().to_vec();
    long_header.resize(100, b' ');
    fs::write(dir.join("long-header.safetensors"), &long_header).unwrap();
    let f32s = |count: usize| zeros(count, 4);
    safetensors_file(
        &dir.join("missing-w2.safetensors"),
        &[
            ("W1", Dtype::F32, vec![4, 30], f32s(120)),
            ("b1", Dtype::F32, vec![4], f32s(4)),
            ("b2", Dtype::F32, vec![3], f32s(3)),
        ],
    );
    safetensors_file(
        &dir.join("wrong-shape.safetensors"),
        &[
            ("W1", Dtype::F32, vec![30, 4], f32s(120)),
            ("b1", Dtype::F32, vec![4], f32s(4)),
            ("W2", Dtype::F32, vec![3, 4], f32s(12)),
            ("b2", Dtype::F32, vec![3], f32s(3)),
        ],
    );
    safetensors_file(
        &dir.join("wrong-dtype.safetensors"),
        &[
            ("W1", Dtype::F64, vec![4, 30], zeros(120, 8)),
            ("b1", Dtype::F32, vec![4], f32s(4)),
            ("W2", Dtype::F32, vec![3, 4], f32s(12)),
            ("b2", Dtype::F32, vec![3], f32s(3)),
        ],
    );
    let mut nan_w2 = f32s(12);
    nan_w2[20..24].copy_from_slice(&f32::NAN.to_le_bytes());
    safetensors_file(
        &dir.join("nan.safetensors"),
        &[
            ("W1", Dtype::F32, vec![4, 30], f32s(120)),
            ("b1", Dtype::F32, vec![4], f32s(4)),
            ("W2", Dtype::F32, vec![3, 4], nan_w2),
            ("b2", Dtype::F32, vec![3], f32s(3)),
        ],
    );

    // A checkpoint to resume.
    let out = run(
        dir,
        &[
            "train",
            "--dataset",
            "good",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "run.safetensors",
            "--checkpoint",
            "run.checkpoint.safetensors",
        ]
        .map(String::from),
    );
    assert_success(&out);

    // Inputs for the output and size checks.
    fs::hard_link(
        dir.join("three-outputs.safetensors"),
        dir.join("hard-link-to-model.jsonl"),
    )
    .unwrap();
    let big = 3000 * 3000;
    let big_images = encode_idx_images(3000, 3000, &vec![0; 2 * big], false).unwrap();
    let big_labels = encode_idx_labels(&[0, 1], false).unwrap();
    idx_folder(dir, "two-3000x3000-images", &big_images, &big_labels);
    let deep = MlpConfig {
        hidden: vec![1; 1001],
        ..model_config(4, 3)
    };
    save_model(
        &dir.join("deep.safetensors"),
        &Mlp::new(deep, 0).unwrap(),
        &none,
    )
    .unwrap();

    fs::write(dir.join("model.safetensors"), PREVIOUS_MODEL).unwrap();
    fs::write(dir.join("metrics.jsonl"), PREVIOUS_METRICS).unwrap();
}

/// One row of the table: extra arguments, the exit code, and a piece of the message.
struct Case {
    args: Vec<String>,
    code: i32,
    message: &'static str,
}

/// `backprop train` with every output flag, on `dataset`, plus `extra` (which replaces a
/// default flag of the same name).
fn train(dataset: &str, extra: &[&str], code: i32, message: &'static str) -> Case {
    let defaults = [
        ("--dataset", dataset),
        ("--epochs", "1"),
        ("--out", "model.safetensors"),
        ("--metrics", "metrics.jsonl"),
        ("--plot", "curves.svg"),
        ("--checkpoint-every", "1"),
    ];
    let mut args = vec!["train".to_string(), "--quiet".to_string()];
    for (flag, value) in defaults {
        let replaced = extra.iter().any(|e| e.split('=').next() == Some(flag));
        if !replaced {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Case {
        args,
        code,
        message,
    }
}

fn eval(model: &str, message: &'static str) -> Case {
    Case {
        args: [
            "eval",
            "--model",
            model,
            "--dataset",
            "good",
            "--split",
            "train",
        ]
        .map(String::from)
        .to_vec(),
        code: 1,
        message,
    }
}

/// Any other command, with its arguments.
fn command(args: &[&str], code: i32, message: &'static str) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        code,
        message,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // IDX files.
        train("wrong-magic", &[], 1, "is not an IDX file: it starts with bytes 12 00"),
        train("wrong-dims", &[], 1, "has 2 dimension(s), expected 3 for an IDX images file"),
        train("wrong-type", &[], 1, "holds IDX data type 0x0d, expected 0x08"),
        train("truncated", &[], 1, "is truncated: its header declares 600 bytes of data but only 599 follow"),
        train("trailing", &[], 1, "has trailing bytes: its header declares 600 bytes"),
        train("short-header", &[], 1, "is too short to be an IDX file"),
        train("zero-items", &[], 1, "declares zero items; expected at least one"),
        train("count-mismatch", &[], 1, "holds 20 images but"),
        train("corrupt-gzip", &[], 1, "is not a valid gzip file"),
        train("truncated-gzip", &[], 1, "is not a valid gzip file"),
        train("no-labels", &[], 1, "has no train-labels-idx1-ubyte"),
        train(
            "label-5",
            &["--init", "three-outputs.safetensors"],
            1,
            "the training set has label 5, but the model has only 3 outputs",
        ),
        // Model files (--init, eval --model, --resume).
        train("good", &["--init", "text.safetensors"], 1, "text.safetensors: not a safetensors file"),
        train("good", &["--init", "huge-header.safetensors"], 1, "huge-header.safetensors: not a safetensors file"),
        train("good", &["--init", "long-header.safetensors"], 1, "long-header.safetensors: not a safetensors file"),
        train("good", &["--init", "missing-w2.safetensors"], 1, "tensor W2 is missing"),
        train("good", &["--init", "wrong-shape.safetensors"], 1, "tensor W1 has shape [30, 4], expected [4, 30]"),
        train("good", &["--init", "wrong-dtype.safetensors"], 1, "tensor W1 is F64, expected F32"),
        train("good", &["--init", "nan.safetensors"], 1, "tensor W2 holds a non-finite value"),
        train("good", &["--init", "absent.safetensors"], 1, "absent.safetensors"),
        train("good", &["--init", "two-inputs.safetensors"], 1, "takes 2 input features, but the data has 30"),
        train("good", &["--init", "three-outputs.safetensors", "--hidden", "8"], 2, "--hidden 8 conflicts with --init three-outputs.safetensors"),
        eval("wrong-dtype.safetensors", "tensor W1 is F64, expected F32"),
        eval("text.safetensors", "not a safetensors file"),
        eval(
            "two-inputs.safetensors",
            "the model two-inputs.safetensors takes 2 input features, but the dataset 'good' has 30",
        ),
        train("good", &["--resume", "three-outputs.safetensors"], 1, "not a checkpoint"),
        train("good", &["--resume", "text.safetensors"], 1, "not a safetensors file"),
        train("good", &["--resume", "run.checkpoint.safetensors", "--lr", "0.5"], 2, "--lr 0.5 conflicts with --resume run.checkpoint.safetensors, whose run has 0.1"),
        train("xor", &["--resume", "run.checkpoint.safetensors"], 2, "--dataset xor conflicts with --resume"),
        train("good", &["--resume", "run.checkpoint.safetensors", "--init", "three-outputs.safetensors"], 2, "cannot be used with"),
        // Flags.
        train("good", &["--lr", "0"], 2, "expected a finite number above 0"),
        train("good", &["--lr=-1"], 2, "expected a finite number above 0"),
        train("good", &["--lr", "nan"], 2, "expected a finite number above 0"),
        train("good", &["--lr", "inf"], 2, "expected a finite number above 0"),
        train("good", &["--lr", "fast"], 2, "'fast' is not a number"),
        train("good", &["--batch-size", "0"], 2, "expected at least 1"),
        train("good", &["--hidden", "0"], 2, "expected at least 1"),
        train("good", &["--hidden", "16,0"], 2, "expected at least 1"),
        train("good", &["--epochs", "0"], 2, "expected at least 1"),
        train(
            "good",
            &["--epochs", "100001"],
            2,
            "--epochs 100,001; a run makes at most 100,000 epochs",
        ),
        train("good", &["--steps", "0"], 2, "expected at least 1"),
        train("good", &["--checkpoint-every", "0"], 2, "expected at least 1"),
        train("good", &["--threads", "0"], 2, "expected at least 1"),
        train("good", &["--val-fraction", "1"], 2, "expected a fraction in [0, 1)"),
        train("good", &["--val-fraction=-0.1"], 2, "expected a fraction in [0, 1)"),
        // A negative value is the flag's value, refused by its range, not an unknown flag.
        train("good", &["--val-fraction", "-0.1"], 2, "-0.1 is out of range: expected a fraction in [0, 1)"),
        train("good", &["--lr", "-1"], 2, "-1 is out of range: expected a finite number above 0"),
        train("good", &["--weight-decay", "-0.5"], 2, "-0.5 is out of range: expected a finite number of at least 0"),
        train("good", &["--seed", "-1"], 2, "invalid value '-1' for '--seed <N>': '-1' is not a whole number"),
        train(
            "good",
            &["--seed", "18446744073709551616"],
            2,
            "18446744073709551616 is out of range: expected at most 18446744073709551615",
        ),
        train("good", &["--epochs", "-3"], 2, "'-3' is not a whole number"),
        train("good", &["--epochs", "99999999999999999999"], 2, "99999999999999999999 is out of range: too large"),
        train("good", &["--val-fraction", "1e-300"], 1, "holding out 1e-300 of "),
        train("good", &["--weight-decay", "inf"], 2, "expected a finite number of at least 0"),
        train("good", &["--optimizer", "rmsprop"], 2, "invalid value 'rmsprop' for '--optimizer"),
        train("good", &["--activation", "gelu"], 2, "invalid value 'gelu' for '--activation"),
        train("good", &["--loss", "hinge"], 2, "invalid value 'hinge' for '--loss"),
        train("good", &["--epoch", "3"], 2, "unexpected argument '--epoch' found (tip: a similar argument exists: '--epochs')"),
        train(
            "good",
            &["--checkpoint", "model.safetensors"],
            2,
            "--out and --checkpoint both name model.safetensors",
        ),
        // Outputs: two outputs, or an output and an input, naming one file.
        train("good", &["--plot", "model.svg", "--out", "model.svg"], 2, "--out and --plot both name model.svg"),
        train("good", &["--metrics", "model.safetensors"], 2, "--out and --metrics both name model.safetensors"),
        train("good", &["--metrics", "./model.safetensors"], 2, "--out and --metrics both name model.safetensors"),
        train("good", &["--init", "three-outputs.safetensors", "--metrics", "three-outputs.safetensors"], 2, "--metrics three-outputs.safetensors is the file --init reads (three-outputs.safetensors)"),
        train("good", &["--init", "three-outputs.safetensors", "--metrics", "hard-link-to-model.jsonl"], 2, "--metrics hard-link-to-model.jsonl is the file --init reads"),
        train("good", &["--resume", "run.checkpoint.safetensors", "--checkpoint", "fresh.checkpoint.safetensors", "--metrics", "run.checkpoint.safetensors"], 2, "--metrics run.checkpoint.safetensors is the file --resume reads"),
        train("good", &["--out", "good/train-images-idx3-ubyte.gz"], 2, "--out good/train-images-idx3-ubyte.gz is the file --dataset reads"),
        // Outputs: folders that are missing, not folders, or folders given as files.
        train("good", &["--plot", "missing-folder/p.svg"], 2, "--plot missing-folder/p.svg: the folder missing-folder does not exist"),
        train("good", &["--out", "missing-folder/m.safetensors"], 2, "--out missing-folder/m.safetensors: the folder missing-folder does not exist"),
        train("good", &["--checkpoint", "missing-folder/c.safetensors"], 2, "--checkpoint missing-folder/c.safetensors: the folder missing-folder does not exist"),
        train("good", &["--metrics", "text.safetensors/m.jsonl"], 2, "--metrics text.safetensors/m.jsonl: text.safetensors is not a folder"),
        train("good", &["--out", "good"], 2, "--out good: is a folder"),
        command(&["graph", "--out", "deep.safetensors", "--model", "deep.safetensors"], 2, "--out deep.safetensors is the file --model reads"),
        command(&["graph", "--out", "missing-folder/g.svg"], 2, "--out missing-folder/g.svg: the folder missing-folder does not exist"),
        command(&["explain", "--out", "good"], 2, "--out good: is a folder"),
        // Caps on sizes, from the memory they would need.
        train("good", &["--hidden", "30000000"], 2, "above the memory limit of 2.0 GiB"),
        train("good", &["--hidden", "4", "--memory-limit", "1K"], 2, "above the memory limit of 1.0 KiB"),
        train("two-3000x3000-images", &[], 2, "training 9000000-256-2"),
        train("good", &["--memory-limit", "lots"], 2, "expected a byte count such as 512M or 8G"),
        train("good", &["--threads", "100000"], 2, "--threads 100000 is out of range"),
        command(&["explain", "--batch-size", "18446744073709551615"], 2, "above the memory limit"),
        command(&["explain", "--hidden", "1000000000000"], 2, "above the memory limit"),
        command(&["explain", "--outputs", "1000000000000"], 2, "above the memory limit"),
        command(&["explain", "--dataset", "spiral", "--index", "-1"], 2, "invalid value '-1' for '--index <N>': '-1' is not a whole number"),
        command(&["gradcheck", "--seed", "-2"], 2, "invalid value '-2' for '--seed <N>': '-2' is not a whole number"),
        command(&["gradcheck", "--batch-size", "-3"], 2, "-3 is not in 1..=100000"),
        command(&["graph", "--batch", "1000000000000"], 2, "above the memory limit"),
        command(&["graph", "--inputs", "1000000000000"], 2, "above the memory limit"),
        command(&["gradcheck", "--inputs", "4096", "--hidden", "4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096,4096", "--batch-size", "100000"], 2, "above the memory limit"),
        command(&["gradcheck", "--inputs", "4096", "--hidden", "4096"], 2, "multiply-adds of finite differences"),
        command(&["gradcheck", "--weight-decay", "1e308"], 1, "the objective J is inf at these weights and samples (λ = 1e308), and finite differences of it mean nothing"),
        // Depth: graph and explain refuse more than 1,000 hidden layers.
        command(&["graph", "--model", "deep.safetensors"], 2, "--model deep.safetensors has 1001 hidden layers; graph and explain show at most 1000"),
        command(&["explain", "--model", "deep.safetensors"], 2, "has 1001 hidden layers"),
        command(&["graph", "--hidden", &["1"; 1001].join(",")], 2, "has 1001 hidden layers"),
        train("imagenet", &[], 2, "--dataset 'imagenet' is neither a dataset name"),
        train("text.safetensors", &[], 1, "--dataset 'text.safetensors' is a file, not a folder of IDX files; the names are spiral, "),
        // An output whose extension names another kind of file than the one written.
        train("good", &["--plot", "curves.txt"], 2, "--plot curves.txt: a plot is drawn as SVG or PNG, chosen by the name's extension; name it .svg or .png"),
        train("good", &["--out", "model.onnx"], 2, "--out model.onnx: the name says an ONNX graph, but this output is a safetensors file; name it .safetensors"),
        train("good", &["--metrics", "run.safetensors"], 2, "--metrics run.safetensors: the name says a safetensors file, but this output is JSON; name it .jsonl, .json or .ndjson"),
        train("good", &["--checkpoint", "run.pt"], 2, "--checkpoint run.pt: the name says a PyTorch pickle"),
        command(&["export", "--model", "model.safetensors", "--format", "onnx", "--out", "model.v2.safetensors"], 2, "the name says a safetensors file, but this output is an ONNX graph; name it .onnx"),
        command(&["export", "--model", "model.safetensors", "--format", "pytorch", "--out", "model.onnx"], 2, "the name says an ONNX graph, but this output is a Python module; name it .py"),
        command(&["graph", "--out", "graph.png"], 2, "--out graph.png: the name says a PNG picture, but this output is an SVG drawing; name it .svg"),
        command(&["graph", "--format", "svg", "--out", "graph.dot"], 2, "the name says a Graphviz DOT graph, but this output is an SVG drawing"),
        command(&["explain", "--format", "text", "--out", "notes.md"], 2, "--out notes.md: the name says Markdown, but this output is plain text; name it .txt"),
    ]
}

#[test]
fn every_bad_input_gets_one_line_an_exit_code_and_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let before = snapshot(dir.path());
    for case in cases() {
        let out = run(dir.path(), &case.args);
        let err = String::from_utf8_lossy(&out.stderr);
        let shown = format!(
            "{:?}\nexit {:?}\nstderr:\n{err}",
            case.args,
            out.status.code()
        );
        assert_eq!(out.status.code(), Some(case.code), "{shown}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {shown}");
        assert!(err.starts_with("error: "), "{shown}");
        assert!(
            err.contains(case.message),
            "expected {:?}: {shown}",
            case.message
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{shown}"
        );
        assert_eq!(
            snapshot(dir.path()),
            before,
            "no file created or changed: {shown}"
        );
    }
    assert_eq!(
        fs::read(dir.path().join("model.safetensors")).unwrap(),
        PREVIOUS_MODEL
    );
    assert_eq!(
        fs::read(dir.path().join("metrics.jsonl")).unwrap(),
        PREVIOUS_METRICS
    );
}

#[test]
fn an_os_error_is_printed_once_and_long_values_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("a-folder")).unwrap();
    let long = "x".repeat(5_000);
    for args in [
        vec!["eval", "--model", "a-folder"],
        vec!["train", "--dataset", &long],
        vec!["train", "--out", &long],
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let out = run(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        let shown = format!("{:?}\nstderr:\n{err}", &args[..2]);
        assert!(matches!(out.status.code(), Some(1 | 2)), "{shown}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {shown}");
        assert!(
            err.chars().count() < 700,
            "cut to a readable length: {shown}"
        );
        assert!(!err.contains("panicked"), "{shown}");
        let os_errors = err.matches("(os error").count();
        assert!(os_errors <= 1, "one OS error, printed once: {shown}");
    }
}
