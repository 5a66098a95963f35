//! Model files from other tools: plain `W1 .. Wk` files and PyTorch state dicts (Sequential
//! and named modules), in F32, F64, F16 and BF16, written here with the safetensors crate,
//! load as the same model; every malformed variant is one clear line and exit code 1.

mod common;

use backprop::model_file::save_model;
use backprop::model_io::import::{parse_any_model, ImportChoices, KeyLayout};
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::rng::Rng;
use backprop::tensor::Tensor;
use common::{assert_success, backprop, image_folder, stderr, stdout};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A model of `sizes` with random weights and (when `bias`) random biases, every value
/// exactly representable in `round` (the identity for f32).
fn model(sizes: &[usize], bias: bool, activation: Activation, round: fn(f32) -> f32) -> Mlp<f32> {
    let mut rng = Rng::new(7);
    let mut value = || round(rng.normal() as f32 * 0.5);
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for k in 1..sizes.len() {
        let (rows, cols) = (sizes[k], sizes[k - 1]);
        weights.push(
            Tensor::from_vec(rows, cols, (0..rows * cols).map(|_| value()).collect()).unwrap(),
        );
        biases.push(
            bias.then(|| Tensor::from_vec(1, rows, (0..rows).map(|_| value()).collect()).unwrap()),
        );
    }
    let config = MlpConfig {
        inputs: sizes[0],
        hidden: sizes[1..sizes.len() - 1].to_vec(),
        outputs: sizes[sizes.len() - 1],
        activation,
        loss: Loss::CrossEntropy,
        bias,
        weight_decay: 0.0,
    };
    Mlp::from_parameters(config, weights, biases).unwrap()
}

/// Rounds an f32 to a value exactly representable in some narrower type.
type Rounding = fn(f32) -> f32;
/// The name of layer `k`'s weight (`true`) or bias (`false`) in a key layout.
type KeyNames = fn(usize, bool) -> String;
/// A malformed file: its name, tensors, metadata, the flags given, and the message expected.
type MalformedCase<'a> = (
    &'a str,
    Vec<Entry>,
    Vec<(&'a str, &'a str)>,
    &'a [&'a str],
    String,
);

fn f32_exact(v: f32) -> f32 {
    v
}
fn f16_exact(v: f32) -> f32 {
    half::f16::from_f32(v).to_f32()
}
fn bf16_exact(v: f32) -> f32 {
    half::bf16::from_f32(v).to_f32()
}

/// The bytes of `values` in `dtype`.
fn encode(values: &[f32], dtype: Dtype) -> Vec<u8> {
    match dtype {
        Dtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        Dtype::F64 => values
            .iter()
            .flat_map(|&v| f64::from(v).to_le_bytes())
            .collect(),
        Dtype::F16 => values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect(),
        Dtype::BF16 => values
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect(),
        other => panic!("no encoding for {other:?}"),
    }
}

/// One tensor of a file to write.
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn entry(name: &str, dtype: Dtype, shape: &[usize], bytes: Vec<u8>) -> Entry {
    Entry {
        name: name.into(),
        dtype,
        shape: shape.to_vec(),
        bytes,
    }
}

/// The safetensors bytes of `entries` with `metadata`.
fn safetensors_file(entries: &[Entry], metadata: &[(&str, &str)]) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = entries
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                TensorView::new(e.dtype, e.shape.clone(), &e.bytes).unwrap(),
            )
        })
        .collect();
    let metadata: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    safetensors::serialize(views, Some(metadata)).unwrap()
}

/// The tensors of `mlp` under the names `name(k, is_weight)`, in `dtype`.
fn model_entries(mlp: &Mlp<f32>, dtype: Dtype, name: impl Fn(usize, bool) -> String) -> Vec<Entry> {
    let mut entries = Vec::new();
    for k in 1..=mlp.config().depth() {
        let w = mlp.weight(k);
        entries.push(entry(
            &name(k, true),
            dtype,
            &[w.rows(), w.cols()],
            encode(w.as_slice(), dtype),
        ));
        if let Some(b) = mlp.bias(k) {
            entries.push(entry(
                &name(k, false),
                dtype,
                &[b.cols()],
                encode(b.as_slice(), dtype),
            ));
        }
    }
    entries
}

/// Sequential indices: Linear layers at 0, 2, 4, ... (activations between them).
fn sequential(k: usize, weight: bool) -> String {
    format!("{}.{}", 2 * (k - 1), if weight { "weight" } else { "bias" })
}

/// Named modules fc1, fc2, ...
fn named(k: usize, weight: bool) -> String {
    format!("fc{k}.{}", if weight { "weight" } else { "bias" })
}

/// Plain W1 .. Wk and b1 .. bk.
fn plain(k: usize, weight: bool) -> String {
    format!("{}{k}", if weight { "W" } else { "b" })
}

/// Random inputs for `mlp`.
fn inputs(mlp: &Mlp<f32>, rows: usize) -> Tensor<f32> {
    let mut rng = Rng::new(3);
    let d = mlp.config().inputs;
    Tensor::from_vec(
        rows,
        d,
        (0..rows * d).map(|_| rng.normal() as f32).collect(),
    )
    .unwrap()
}

/// The outputs of both models on the same inputs, bit for bit.
fn assert_same_outputs(original: &Mlp<f32>, loaded: &Mlp<f32>) {
    assert_eq!(original.config(), loaded.config());
    let x = inputs(original, 17);
    let a = original.predict(&x).unwrap();
    let b = loaded.predict(&x).unwrap();
    let bits = |t: &Tensor<f32>| t.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
}

fn relu() -> ImportChoices {
    ImportChoices {
        activation: Some(Activation::Relu),
        loss: Some(Loss::CrossEntropy),
        fallback_loss: None,
    }
}

#[test]
fn every_layout_and_dtype_loads_as_the_same_model() {
    let cases: [(Dtype, Rounding); 4] = [
        (Dtype::F32, f32_exact),
        (Dtype::F64, f32_exact),
        (Dtype::F16, f16_exact),
        (Dtype::BF16, bf16_exact),
    ];
    let layouts: [(KeyNames, KeyLayout); 3] = [
        (plain, KeyLayout::Plain),
        (sequential, KeyLayout::PyTorch),
        (named, KeyLayout::PyTorch),
    ];
    for (dtype, round) in cases {
        for bias in [true, false] {
            let original = model(&[6, 9, 5, 3], bias, Activation::Relu, round);
            for (names, layout) in &layouts {
                let bytes =
                    safetensors_file(&model_entries(&original, dtype, names), &[("format", "pt")]);
                let imported = parse_any_model(&bytes, &relu()).unwrap();
                assert_eq!(&imported.layout, layout, "{dtype:?}");
                assert_same_outputs(&original, &imported.loaded.mlp);
                assert_eq!(imported.layers[2].weight, names(3, true));
                assert_eq!(imported.layers[1].bias, bias.then(|| names(2, false)));
                match dtype {
                    Dtype::F32 => assert!(imported.notes.is_empty(), "{:?}", imported.notes),
                    Dtype::F64 => assert!(
                        imported.notes.iter().any(|n| n.contains(
                            "F64 tensor(s) rounded to the nearest f32 (largest change 0.000e0)"
                        )),
                        "{:?}",
                        imported.notes
                    ),
                    _ => {
                        assert!(
                            imported.notes.iter().any(|n| n
                                .contains(&format!("{dtype:?} tensor(s) widened to f32 exactly"))),
                            "{:?}",
                            imported.notes
                        )
                    }
                }
            }
        }
    }
}

#[test]
fn f64_values_are_rounded_to_the_nearest_f32_and_the_note_says_by_how_much() {
    let value = 0.1f64; // not an f32
    let bytes = safetensors_file(
        &[
            entry("W1", Dtype::F64, &[1, 1], value.to_le_bytes().to_vec()),
            entry(
                "W2",
                Dtype::F64,
                &[2, 1],
                [value, -value]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
        ],
        &[],
    );
    let imported = parse_any_model(&bytes, &relu()).unwrap();
    assert_eq!(imported.loaded.mlp.weight(1).as_slice(), &[0.1f32]);
    let change = (f64::from(0.1f32) - 0.1).abs();
    let expected =
        format!("2 F64 tensor(s) rounded to the nearest f32 (largest change {change:.3e})");
    assert_eq!(imported.notes, vec![expected]);
}

#[test]
fn layers_are_ordered_by_number_then_by_shape_when_the_names_say_nothing() {
    let original = model(&[4, 7, 6, 5, 3], true, Activation::Tanh, f32_exact);
    let choices = ImportChoices {
        activation: Some(Activation::Tanh),
        ..relu()
    };
    // fc2 before fc10 (as numbers, not as text).
    let numbered = |k: usize, w: bool| {
        format!(
            "net.fc{}.{}",
            [1, 2, 10, 11][k - 1],
            if w { "weight" } else { "bias" }
        )
    };
    let imported = parse_any_model(
        &safetensors_file(&model_entries(&original, Dtype::F32, numbered), &[]),
        &choices,
    )
    .unwrap();
    assert_same_outputs(&original, &imported.loaded.mlp);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    // input, hidden, middle, output: alphabetical order does not connect; the shapes allow
    // only one.
    let words = |k: usize, w: bool| {
        format!(
            "{}.{}",
            ["input", "hidden", "middle", "output"][k - 1],
            if w { "weight" } else { "bias" }
        )
    };
    let imported = parse_any_model(
        &safetensors_file(&model_entries(&original, Dtype::F32, words), &[]),
        &choices,
    )
    .unwrap();
    assert_same_outputs(&original, &imported.loaded.mlp);
    assert_eq!(
        imported.notes,
        vec!["the layer names do not give an order that connects; their shapes allow only input.weight, hidden.weight, middle.weight, output.weight".to_string()]
    );
}

#[test]
fn activation_and_loss_come_from_the_metadata_or_the_flags() {
    let original = model(&[3, 4, 2], true, Activation::Sigmoid, f32_exact);
    let entries = model_entries(&original, Dtype::F32, sequential);
    let with_metadata = safetensors_file(
        &entries,
        &[("activation", "sigmoid"), ("loss", "cross-entropy")],
    );
    let imported = parse_any_model(&with_metadata, &ImportChoices::default()).unwrap();
    assert_same_outputs(&original, &imported.loaded.mlp);
    let without = safetensors_file(&entries, &[]);
    let choices = ImportChoices {
        activation: Some(Activation::Sigmoid),
        loss: None,
        fallback_loss: Some(Loss::CrossEntropy),
    };
    assert_same_outputs(
        &original,
        &parse_any_model(&without, &choices).unwrap().loaded.mlp,
    );
    // A model without hidden layers needs no activation.
    let linear = model(&[3, 2], false, Activation::Relu, f32_exact);
    let bytes = safetensors_file(&model_entries(&linear, Dtype::F32, plain), &[]);
    let loaded = parse_any_model(
        &bytes,
        &ImportChoices {
            loss: Some(Loss::CrossEntropy),
            ..Default::default()
        },
    )
    .unwrap();
    assert_same_outputs(&linear, &loaded.loaded.mlp);
}

/// Writes the files the command-line tests read: a trained-looking backprop model, and the
/// same weights as a PyTorch state dict and as plain W1 .. Wk.
fn write_models(dir: &Path) -> Mlp<f32> {
    let original = model(&[30, 8, 4], true, Activation::Tanh, f32_exact);
    save_model(&dir.join("own.safetensors"), &original, &BTreeMap::new()).unwrap();
    std::fs::write(
        dir.join("torch.safetensors"),
        safetensors_file(
            &model_entries(&original, Dtype::F32, sequential),
            &[("format", "pt")],
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("plain.safetensors"),
        safetensors_file(&model_entries(&original, Dtype::F16, plain), &[]),
    )
    .unwrap();
    original
}

fn eval_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["eval", "--dataset", "data", "--json"];
    all.extend_from_slice(args);
    let out = backprop(dir, &all);
    assert_success(&out);
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

#[test]
fn every_command_that_reads_a_model_reads_a_pytorch_state_dict() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 200, 60, 4);
    write_models(d);
    let own = eval_json(d, &["--model", "own.safetensors"]);
    let torch = eval_json(
        d,
        &[
            "--model",
            "torch.safetensors",
            "--activation",
            "tanh",
            "--loss",
            "cross-entropy",
        ],
    );
    assert_eq!(own["loss"], torch["loss"]);
    assert_eq!(own["accuracy"], torch["accuracy"]);
    assert_eq!(own["confusion"], torch["confusion"]);
    assert_eq!(own["samples"], 60);

    // The F16 plain file: a note on stderr, the same architecture.
    let out = backprop(
        d,
        &[
            "eval",
            "--dataset",
            "data",
            "--model",
            "plain.safetensors",
            "--activation",
            "tanh",
            "--loss",
            "cross-entropy",
        ],
    );
    assert_success(&out);
    assert!(
        stderr(&out).contains("note: plain.safetensors: 4 F16 tensor(s) widened to f32 exactly"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("30-8-4 tanh, cross-entropy loss, bias"),
        "{}",
        stdout(&out)
    );

    // predict needs no loss (it prints softmax(o)); a 6x6 image for a model of 36 inputs.
    let square = model(&[36, 8, 4], true, Activation::Tanh, f32_exact);
    save_model(&d.join("square.safetensors"), &square, &BTreeMap::new()).unwrap();
    std::fs::write(
        d.join("square-torch.safetensors"),
        safetensors_file(
            &model_entries(&square, Dtype::BF16, named),
            &[("format", "pt")],
        ),
    )
    .unwrap();
    image::GrayImage::from_fn(6, 6, |x, y| image::Luma([((x * 40 + y * 10) % 256) as u8]))
        .save(d.join("digit.png"))
        .unwrap();
    let own = backprop(
        d,
        &[
            "predict",
            "--model",
            "square.safetensors",
            "--image",
            "digit.png",
            "--all",
        ],
    );
    assert_success(&own);
    let torch = backprop(
        d,
        &[
            "predict",
            "--model",
            "square-torch.safetensors",
            "--activation",
            "tanh",
            "--image",
            "digit.png",
            "--all",
        ],
    );
    assert_success(&torch);
    // BF16 weights differ from the f32 ones, so the probabilities agree to bf16 precision.
    let probabilities = |text: &str| -> Vec<f64> {
        text.lines()
            .skip(1)
            .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
            .collect()
    };
    let (a, b) = (probabilities(&stdout(&own)), probabilities(&stdout(&torch)));
    assert_eq!(a.len(), 4);
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 0.05),
        "{a:?} {b:?}"
    );
    let bf16_square = model(&[36, 8, 4], true, Activation::Tanh, bf16_exact);
    save_model(
        &d.join("square-bf16.safetensors"),
        &bf16_square,
        &BTreeMap::new(),
    )
    .unwrap();
    let exact = backprop(
        d,
        &[
            "predict",
            "--model",
            "square-bf16.safetensors",
            "--image",
            "digit.png",
            "--all",
        ],
    );
    assert_eq!(stdout(&exact), stdout(&torch));

    // train --init, graph and explain.
    let out = backprop(
        d,
        &[
            "train",
            "--dataset",
            "data",
            "--init",
            "torch.safetensors",
            "--activation",
            "tanh",
            "--loss",
            "cross-entropy",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "tuned.safetensors",
        ],
    );
    assert_success(&out);
    let out = backprop(
        d,
        &[
            "graph",
            "--model",
            "torch.safetensors",
            "--activation",
            "tanh",
            "--loss",
            "cross-entropy",
            "--format",
            "dot",
            "--out",
            "g.dot",
        ],
    );
    assert_success(&out);
    let dot = std::fs::read_to_string(d.join("g.dot")).unwrap();
    assert!(dot.contains("tanh"), "{dot}");
    let out = backprop(
        d,
        &[
            "explain",
            "--model",
            "torch.safetensors",
            "--activation",
            "tanh",
            "--loss",
            "cross-entropy",
            "--dataset",
            "data",
        ],
    );
    assert_success(&out);
}

/// Runs `eval --model FILE` (with `flags`) on the generated data and returns stderr, after
/// checking exit code 1 and a single line.
fn failing_eval(dir: &Path, file: &str, flags: &[&str]) -> String {
    let mut args = vec!["eval", "--dataset", "data", "--model", file];
    args.extend_from_slice(flags);
    let out = backprop(dir, &args);
    assert_eq!(out.status.code(), Some(1), "{file}: {}", stderr(&out));
    let text = stderr(&out);
    assert_eq!(text.trim_end().lines().count(), 1, "{file}: {text}");
    text
}

#[test]
fn every_malformed_file_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    image_folder(d, "data", 50, 20, 4);
    let original = write_models(d);
    let f32s = |n: usize| encode(&vec![0.25; n], Dtype::F32);
    let w =
        |name: &str, shape: &[usize]| entry(name, Dtype::F32, shape, f32s(shape.iter().product()));
    let flags = ["--activation", "tanh", "--loss", "cross-entropy"];
    let cases: Vec<MalformedCase> = vec![
        ("chain", vec![w("0.weight", &[8, 30]), w("2.weight", &[4, 5])], vec![],
         &flags[..], "the shapes do not connect: 0.weight (8x30) gives 8 outputs, but the next layer 2.weight (4x5) takes 5 inputs".into()),
        ("plain-chain", vec![w("W1", &[8, 30]), w("W2", &[4, 5])], vec![],
         &flags[..], "the shapes do not connect: W1 (8x30) gives 8 outputs".into()),
        ("3d", vec![w("0.weight", &[8, 30, 1]), w("2.weight", &[4, 8])], vec![],
         &flags[..], "tensor 0.weight has shape [8, 30, 1]; a weight must be 2-D (out x in)".into()),
        ("2d-bias", vec![w("W1", &[8, 30]), w("b1", &[8, 1]), w("W2", &[4, 8]), w("b2", &[4])], vec![],
         &flags[..], "tensor b1 has shape [8, 1]; a bias must be 1-D (out)".into()),
        ("bias-length", vec![w("W1", &[8, 30]), w("b1", &[7]), w("W2", &[4, 8]), w("b2", &[4])], vec![],
         &flags[..], "tensor b1 has 7 entries, but W1 has 8 rows (outputs)".into()),
        ("mixed", vec![w("W1", &[8, 30]), w("2.weight", &[4, 8])], vec![],
         &flags[..], "the key set is ambiguous: W1 is a plain W<k> / b<k> name and 2.weight a PyTorch one".into()),
        ("same-order", vec![w("fc01.weight", &[8, 30]), w("fc1.weight", &[4, 8])], vec![],
         &flags[..], "the key set is ambiguous: layers fc01 and fc1 have no order".into()),
        ("batch-norm", vec![w("0.weight", &[8, 30]), w("1.running_mean", &[8]), w("2.weight", &[4, 8])], vec![],
         &flags[..], "tensor 1.running_mean is neither W<k> / b<k> nor <layer>.weight / <layer>.bias".into()),
        ("some-biases", vec![w("0.weight", &[8, 30]), w("0.bias", &[8]), w("2.weight", &[4, 8])], vec![],
         &flags[..], "tensor 2.bias is missing: 0.bias is present, and biases come for every layer or none".into()),
        ("bias-alone", vec![w("0.weight", &[8, 30]), w("1.bias", &[8]), w("2.weight", &[4, 8])], vec![],
         &flags[..], "tensor 1.bias has no 1.weight".into()),
        ("gap", vec![w("W1", &[8, 30]), w("W3", &[4, 8])], vec![],
         &flags[..], "tensor W2 is missing (the file has W3)".into()),
        ("stray-bias", vec![w("W1", &[8, 30]), w("b1", &[8]), w("W2", &[4, 8]), w("b2", &[4]), w("b3", &[4])], vec![],
         &flags[..], "tensor b3 has no weight W3".into()),
        // An empty layer is named before any question of activation or loss (no flags given).
        ("empty-layer", vec![w("W1", &[0, 30]), w("W2", &[4, 0])], vec![],
         &[][..], "tensor W1 has shape [0, 30]; a layer needs at least one output and one input".into()),
        ("int", vec![entry("W1", Dtype::I64, &[8, 30], vec![0; 8 * 30 * 8]), w("W2", &[4, 8])], vec![],
         &flags[..], "tensor W1 is I64; expected F32, F64, F16 or BF16".into()),
        ("huge", vec![entry("W1", Dtype::F64, &[1, 30], (0..30).flat_map(|_| 1e300f64.to_le_bytes()).collect()), w("W2", &[4, 1])], vec![],
         &flags[..], "tensor W1 holds a value at index 0 that is not a finite f32".into()),
        ("no-activation", vec![w("W1", &[8, 30]), w("W2", &[4, 8])], vec![],
         &["--loss", "mse"][..], "the file does not say which activation the model uses; give --activation (relu, sigmoid or tanh)".into()),
        ("no-loss", vec![w("W1", &[8, 30]), w("W2", &[4, 8])], vec![],
         &["--activation", "relu"][..], "the file does not say which loss the model uses; give --loss (cross-entropy or mse)".into()),
        ("conflict", vec![w("W1", &[8, 30]), w("W2", &[4, 8])], vec![("activation", "sigmoid")],
         &flags[..], "--activation tanh conflicts with the file, whose metadata says sigmoid; drop --activation".into()),
        ("unknown-activation", vec![w("W1", &[8, 30]), w("W2", &[4, 8])], vec![("activation", "gelu")],
         &["--loss", "mse"][..], "the metadata's activation 'gelu' is not relu, sigmoid or tanh".into()),
    ];
    for (name, entries, metadata, flags, message) in cases {
        let file = format!("{name}.safetensors");
        std::fs::write(d.join(&file), safetensors_file(&entries, &metadata)).unwrap();
        let text = failing_eval(d, &file, flags);
        assert!(
            text.contains(&format!("{file}: {message}")),
            "{name}: {text}"
        );
    }
    // A file without tensors (written by hand: the header is only the metadata).
    let header = br#"{"__metadata__":{"format":"pt"}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    std::fs::write(d.join("empty.safetensors"), bytes).unwrap();
    let text = failing_eval(d, "empty.safetensors", &flags);
    assert!(
        text.contains("empty.safetensors: the file holds no tensors"),
        "{text}"
    );
    // backprop's own files: flags must agree with what they record.
    let text = failing_eval(d, "own.safetensors", &["--activation", "relu"]);
    assert!(
        text.contains("--activation relu conflicts with the file, whose metadata says tanh"),
        "{text}"
    );
    assert_eq!(original.config().activation, Activation::Tanh);
}
