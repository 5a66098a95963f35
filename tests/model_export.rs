//! `backprop export`: the ONNX file decodes (with the same protobuf messages) into the
//! expected nodes, shapes and initialisers, and running its graph gives `predict`'s
//! outputs; the Python module names the right layers; outputs are checked before writing.

mod common;

use backprop::model_file::{load_model, save_model};
use backprop::model_io::onnx::{ModelProto, NodeProto, TensorProto, ValueInfoProto, FLOAT};
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::rng::Rng;
use backprop::tensor::Tensor;
use common::{assert_success, backprop, stderr, stdout};
use prost::Message;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A model of `sizes` with random weights and biases.
fn model(sizes: &[usize], bias: bool, activation: Activation) -> Mlp<f32> {
    let mut rng = Rng::new(11);
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for k in 1..sizes.len() {
        let (rows, cols) = (sizes[k], sizes[k - 1]);
        let mut values = |n: usize| {
            (0..n)
                .map(|_| rng.normal() as f32 * 0.7)
                .collect::<Vec<_>>()
        };
        weights.push(Tensor::from_vec(rows, cols, values(rows * cols)).unwrap());
        biases.push(bias.then(|| Tensor::from_vec(1, rows, values(rows)).unwrap()));
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

/// The `[batch, n]` shape of a graph input or output, as text.
fn shape(value: &ValueInfoProto) -> String {
    let tensor = value.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    assert_eq!(tensor.elem_type, FLOAT);
    tensor
        .shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match (&d.dim_param, d.dim_value) {
            (Some(name), None) => name.clone(),
            (None, Some(size)) => size.to_string(),
            other => panic!("a dimension is a size or a name: {other:?}"),
        })
        .collect::<Vec<_>>()
        .join("x")
}

fn floats(tensor: &TensorProto) -> Vec<f32> {
    assert_eq!(tensor.data_type, FLOAT);
    tensor
        .raw_data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn attribute(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

/// Runs the decoded graph on `x` (rows are samples), implementing the operators it uses
/// as ONNX defines them: Gemm (A Bᵀ + C with transB = 1), Relu, Sigmoid, Tanh, Softmax.
fn run_graph(model: &ModelProto, x: &[Vec<f32>]) -> HashMap<String, Vec<Vec<f32>>> {
    let graph = model.graph.as_ref().unwrap();
    let constants: HashMap<&str, &TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    let mut values: HashMap<String, Vec<Vec<f32>>> = HashMap::new();
    values.insert(graph.input[0].name.clone(), x.to_vec());
    for node in &graph.node {
        let input = values[&node.input[0]].clone();
        let result: Vec<Vec<f32>> = match node.op_type.as_str() {
            "Gemm" => {
                assert_eq!(attribute(node, "transB"), Some(1));
                let w = constants[node.input[1].as_str()];
                let (rows, cols) = (w.dims[0] as usize, w.dims[1] as usize);
                let w = floats(w);
                let b = node
                    .input
                    .get(2)
                    .map(|name| floats(constants[name.as_str()]));
                input
                    .iter()
                    .map(|row| {
                        assert_eq!(row.len(), cols);
                        (0..rows)
                            .map(|r| {
                                let dot: f64 = (0..cols)
                                    .map(|c| f64::from(row[c]) * f64::from(w[r * cols + c]))
                                    .sum();
                                (dot + b.as_ref().map_or(0.0, |b| f64::from(b[r]))) as f32
                            })
                            .collect()
                    })
                    .collect()
            }
            "Relu" => input
                .iter()
                .map(|r| r.iter().map(|v| v.max(0.0)).collect())
                .collect(),
            "Sigmoid" => input
                .iter()
                .map(|r| r.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect())
                .collect(),
            "Tanh" => input
                .iter()
                .map(|r| r.iter().map(|v| v.tanh()).collect())
                .collect(),
            "Softmax" => {
                assert_eq!(attribute(node, "axis"), Some(-1));
                input
                    .iter()
                    .map(|r| {
                        let max = r.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                        let sum: f32 = r.iter().map(|v| (v - max).exp()).sum();
                        r.iter().map(|v| (v - max).exp() / sum).collect()
                    })
                    .collect()
            }
            other => panic!("unexpected operator {other}"),
        };
        values.insert(node.output[0].clone(), result);
    }
    values
}

fn export(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    backprop(dir, &all)
}

#[test]
fn the_onnx_file_holds_the_layers_and_computes_what_the_model_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (activation, op) in [
        (Activation::Relu, "Relu"),
        (Activation::Sigmoid, "Sigmoid"),
        (Activation::Tanh, "Tanh"),
    ] {
        for bias in [true, false] {
            let mlp = model(&[5, 7, 6, 3], bias, activation);
            save_model(&d.join("m.safetensors"), &mlp, &BTreeMap::new()).unwrap();
            let out = export(
                d,
                &[
                    "--model",
                    "m.safetensors",
                    "--format",
                    "onnx",
                    "--out",
                    "m.onnx",
                ],
            );
            assert_success(&out);
            assert!(
                stdout(&out).contains("ONNX model (5-7-6-3"),
                "{}",
                stdout(&out)
            );
            let onnx =
                ModelProto::decode(std::fs::read(d.join("m.onnx")).unwrap().as_slice()).unwrap();
            assert!(onnx
                .opset_import
                .iter()
                .any(|o| o.domain.is_empty() && o.version == 13));
            assert_eq!(onnx.ir_version, 7);
            let graph = onnx.graph.as_ref().unwrap();
            let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
            assert_eq!(ops, ["Gemm", op, "Gemm", op, "Gemm", "Softmax"]);
            assert_eq!(graph.input.len(), 1);
            assert_eq!(
                (
                    graph.input[0].name.as_str(),
                    shape(&graph.input[0]).as_str()
                ),
                ("input", "batchx5")
            );
            let outputs: Vec<(String, String)> = graph
                .output
                .iter()
                .map(|o| (o.name.clone(), shape(o)))
                .collect();
            assert_eq!(
                outputs,
                [
                    ("logits".to_string(), "batchx3".to_string()),
                    ("probabilities".to_string(), "batchx3".to_string())
                ]
            );
            let names: Vec<(&str, Vec<i64>)> = graph
                .initializer
                .iter()
                .map(|t| (t.name.as_str(), t.dims.clone()))
                .collect();
            let mut expected = vec![("W1", vec![7, 5])];
            if bias {
                expected.push(("b1", vec![7]));
            }
            expected.push(("W2", vec![6, 7]));
            if bias {
                expected.push(("b2", vec![6]));
            }
            expected.push(("W3", vec![3, 6]));
            if bias {
                expected.push(("b3", vec![3]));
            }
            assert_eq!(names, expected);
            assert_eq!(floats(&graph.initializer[0]), mlp.weight(1).as_slice());
            assert_eq!(graph.node[0].input.len(), if bias { 3 } else { 2 });

            let mut rng = Rng::new(5);
            let x: Vec<Vec<f32>> = (0..9)
                .map(|_| (0..5).map(|_| rng.normal() as f32).collect())
                .collect();
            let values = run_graph(&onnx, &x);
            let flat: Vec<f32> = x.concat();
            let logits = mlp.predict(&Tensor::from_vec(9, 5, flat).unwrap()).unwrap();
            for (i, row) in values["logits"].iter().enumerate() {
                for (a, b) in row.iter().zip(logits.row(i)) {
                    assert!((a - b).abs() < 1e-5, "{a} {b}");
                }
                let sum: f32 = values["probabilities"][i].iter().sum();
                assert!((sum - 1.0).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn the_pytorch_module_rebuilds_the_sequential_and_names_the_files_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mlp = model(&[4, 8, 3], true, Activation::Sigmoid);
    save_model(&d.join("m.safetensors"), &mlp, &BTreeMap::new()).unwrap();
    let out = export(
        d,
        &[
            "--model",
            "m.safetensors",
            "--format",
            "pytorch",
            "--out",
            "m.py",
        ],
    );
    assert_success(&out);
    let module = std::fs::read_to_string(d.join("m.py")).unwrap();
    let expected = "    return nn.Sequential(\n        nn.Linear(4, 8, bias=True),\n        nn.Sigmoid(),\n        nn.Linear(8, 3, bias=True),\n    )\n";
    assert!(module.contains(expected), "{module}");
    for line in [
        "WEIGHTS = \"m.safetensors\"",
        "ACTIVATION = \"sigmoid\"",
        "        \"0.weight\": tensors[\"W1\"],",
        "        \"0.bias\": tensors[\"b1\"],",
        "        \"2.weight\": tensors[\"W2\"],",
        "        \"2.bias\": tensors[\"b2\"],",
    ] {
        assert!(module.contains(line), "{line}\n{module}");
    }
    // Without --out the module is printed; a PyTorch state dict keeps its own tensor names,
    // and a model in another folder is named by its absolute path.
    let torch_dir = d.join("weights");
    std::fs::create_dir(&torch_dir).unwrap();
    let mut tensors = Vec::new();
    for (name, t) in [("fc1.weight", mlp.weight(1)), ("fc2.weight", mlp.weight(2))] {
        tensors.push((
            name,
            vec![t.rows(), t.cols()],
            t.as_slice()
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        ));
    }
    let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                *n,
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    std::fs::write(
        torch_dir.join("t.safetensors"),
        safetensors::serialize(views, None).unwrap(),
    )
    .unwrap();
    let out = export(
        d,
        &[
            "--model",
            "weights/t.safetensors",
            "--activation",
            "relu",
            "--format",
            "pytorch",
        ],
    );
    assert_success(&out);
    let module = stdout(&out);
    let absolute = torch_dir.join("t.safetensors").canonicalize().unwrap();
    assert!(
        module.contains(&format!("WEIGHTS = \"{}\"", absolute.display())),
        "{module}"
    );
    assert!(module.contains("nn.Linear(4, 8, bias=False),\n        nn.ReLU(),\n        nn.Linear(8, 3, bias=False),"), "{module}");
    assert!(module.contains("        \"0.weight\": tensors[\"fc1.weight\"],\n        \"2.weight\": tensors[\"fc2.weight\"],"), "{module}");
}

#[test]
fn export_checks_its_output_before_writing_and_fails_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    save_model(
        &d.join("m.safetensors"),
        &model(&[2, 3, 2], true, Activation::Relu),
        &BTreeMap::new(),
    )
    .unwrap();
    let before = std::fs::read(d.join("m.safetensors")).unwrap();
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &[
                "--model",
                "m.safetensors",
                "--format",
                "onnx",
                "--out",
                "m.safetensors",
            ],
            2,
            "is the file --model reads",
        ),
        (
            &[
                "--model",
                "m.safetensors",
                "--format",
                "onnx",
                "--out",
                "missing/m.onnx",
            ],
            2,
            "missing",
        ),
        (
            &["--model", "m.safetensors", "--format", "onnx"],
            2,
            "--out",
        ),
        (
            &[
                "--model",
                "absent.safetensors",
                "--format",
                "onnx",
                "--out",
                "a.onnx",
            ],
            1,
            "absent.safetensors",
        ),
    ];
    for (args, code, message) in cases {
        let out = export(d, args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        let text = stderr(&out);
        assert_eq!(text.trim_end().lines().count(), 1, "{text}");
        assert!(text.contains(message), "{args:?}: {text}");
    }
    assert_eq!(std::fs::read(d.join("m.safetensors")).unwrap(), before);
    assert!(!d.join("a.onnx").exists());
    // The exported model is the saved one: the file it was read from is unchanged, and it
    // still loads.
    assert!(load_model(&d.join("m.safetensors")).is_ok());
}
