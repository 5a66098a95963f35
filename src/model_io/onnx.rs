//! An MLP as an ONNX graph: per layer `Gemm(x, W_k, b_k, transB = 1)` (4.7.1, 4.7.3: rows
//! are samples, so `z = x W_kᵀ + b_k`), the activation (`Relu`, `Sigmoid`, `Tanh`) after
//! every hidden layer (4.7.2), the last layer's result as the output `logits` and its
//! `Softmax` as the output `probabilities`. Opset 13, IR version 7; the batch size is the
//! symbolic dimension `batch`.
//!
//! The messages are the few of `onnx.proto` a model needs, with its field numbers, encoded
//! by `prost` (no `protoc` needed); they decode any ONNX file into those fields.

use crate::graph::Activation;
use crate::nn::Mlp;

/// The opset the graph is written for.
pub const OPSET_VERSION: i64 = 13;
/// The ONNX IR version of opset 13 (ONNX 1.8).
pub const IR_VERSION: i64 = 7;
/// The name of the graph's input (`batch x d`).
pub const INPUT_NAME: &str = "input";
/// The name of the output `o` (`batch x q`).
pub const LOGITS_NAME: &str = "logits";
/// The name of the output `softmax(o)` (`batch x q`).
pub const PROBABILITIES_NAME: &str = "probabilities";
/// `TensorProto.DataType.FLOAT`.
pub const FLOAT: i32 = 1;
/// `AttributeProto.AttributeType.INT`.
pub const ATTRIBUTE_INT: i32 = 2;

/// `onnx.ModelProto`: the file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// The operator sets the graph uses.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// Who wrote the file.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// The writer's version.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// A description.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The graph.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Key-value metadata (the architecture).
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// `onnx.OperatorSetIdProto`: an operator set and its version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// The domain; empty for the default `ai.onnx`.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The opset version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// `onnx.StringStringEntryProto`: one metadata entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// The key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `onnx.GraphProto`: nodes in topological order, constant tensors, inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// The nodes, each after the nodes it reads.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// The graph's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The constant tensors (the parameters).
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// A description.
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// The graph's inputs.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// The graph's outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// `onnx.NodeProto`: one operator application.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// The names of the values it reads.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// The names of the values it writes.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// The node's name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// The operator (`Gemm`, `Relu`, ...).
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// The operator's attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `onnx.AttributeProto`, for integer attributes (the only kind this graph uses).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// The attribute's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its value, for an integer attribute.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// Its type ([`ATTRIBUTE_INT`]).
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

/// `onnx.TensorProto`: a constant tensor, its values as little-endian `raw_data`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// The shape.
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// The element type ([`FLOAT`]).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// The values, when stored as a float list.
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// The name the nodes read it by.
    #[prost(string, tag = "8")]
    pub name: String,
    /// The values as little-endian bytes, row-major.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
}

/// `onnx.ValueInfoProto`: a named, typed value (a graph input or output).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// The name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The type.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// `onnx.TypeProto`, for tensors.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// The tensor type.
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

/// `onnx.TypeProto.Tensor`: element type and shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorTypeProto {
    /// The element type ([`FLOAT`]).
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    /// The shape.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// `onnx.TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// The dimensions.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// `onnx.TensorShapeProto.Dimension`: a size, or a symbolic name.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dimension {
    /// The size, when fixed.
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    /// The symbolic name, when the size varies (`batch`).
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}

/// A float tensor value of shape `[batch, size]`.
fn batch_value(name: &str, size: usize) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        Dimension {
                            dim_value: None,
                            dim_param: Some("batch".into()),
                        },
                        Dimension {
                            dim_value: Some(size as i64),
                            dim_param: None,
                        },
                    ],
                }),
            }),
        }),
    }
}

/// A float initialiser.
fn initializer(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: FLOAT,
        float_data: Vec::new(),
        name: name.into(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// A node without attributes.
fn node(op_type: &str, name: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: name.into(),
        op_type: op_type.into(),
        attribute: Vec::new(),
    }
}

/// An integer attribute.
fn int_attribute(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: value,
        r#type: ATTRIBUTE_INT,
    }
}

/// The ONNX operator of an activation.
pub fn activation_op(activation: Activation) -> &'static str {
    match activation {
        Activation::Relu => "Relu",
        Activation::Sigmoid => "Sigmoid",
        Activation::Tanh => "Tanh",
    }
}

/// The ONNX model of `mlp` (see the module documentation).
pub fn onnx_model(mlp: &Mlp<f32>) -> ModelProto {
    let config = mlp.config();
    let depth = config.depth();
    let mut nodes = Vec::new();
    let mut initializers = Vec::new();
    let mut current = INPUT_NAME.to_string();
    for k in 1..=depth {
        let w = mlp.weight(k);
        let w_name = format!("W{k}");
        initializers.push(initializer(&w_name, &[w.rows(), w.cols()], w.as_slice()));
        let mut inputs = vec![current.as_str(), w_name.as_str()];
        let b_name = format!("b{k}");
        if let Some(b) = mlp.bias(k) {
            initializers.push(initializer(&b_name, &[b.cols()], b.as_slice()));
            inputs.push(&b_name);
        }
        let z = if k == depth {
            LOGITS_NAME.to_string()
        } else {
            format!("z{k}")
        };
        let mut gemm = node("Gemm", &format!("linear{k}"), &inputs, &z);
        gemm.attribute.push(int_attribute("transB", 1));
        nodes.push(gemm);
        current = z;
        if k < depth {
            let h = format!("h{k}");
            nodes.push(node(
                activation_op(config.activation),
                &format!("phi{k}"),
                &[&current],
                &h,
            ));
            current = h;
        }
    }
    let mut softmax = node("Softmax", "softmax", &[LOGITS_NAME], PROBABILITIES_NAME);
    softmax.attribute.push(int_attribute("axis", -1));
    nodes.push(softmax);
    let layer_sizes = config
        .layer_sizes()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let entry = |key: &str, value: String| StringStringEntryProto {
        key: key.into(),
        value,
    };
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET_VERSION,
        }],
        producer_name: "backprop".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!("An MLP exported by backprop: {config}"),
        graph: Some(GraphProto {
            node: nodes,
            name: "mlp".into(),
            initializer: initializers,
            doc_string: String::new(),
            input: vec![batch_value(INPUT_NAME, config.inputs)],
            output: vec![
                batch_value(LOGITS_NAME, config.outputs),
                batch_value(PROBABILITIES_NAME, config.outputs),
            ],
        }),
        metadata_props: vec![
            entry("layer_sizes", layer_sizes),
            entry("activation", config.activation.name().into()),
            entry("loss", config.loss.name().into()),
        ],
    }
}

/// The bytes of the ONNX file of `mlp`.
pub fn onnx_bytes(mlp: &Mlp<f32>) -> Vec<u8> {
    prost::Message::encode_to_vec(&onnx_model(mlp))
}
