//! A Python module that rebuilds an MLP as the PyTorch `nn.Sequential` it is (`nn.Linear`
//! layers, the activation after every hidden one) and loads its weights from the
//! safetensors file the model came from.

use super::import::LayerKeys;
use crate::graph::Activation;
use crate::nn::MlpConfig;

/// The PyTorch module of an activation.
pub fn activation_module(activation: Activation) -> &'static str {
    match activation {
        Activation::Relu => "nn.ReLU()",
        Activation::Sigmoid => "nn.Sigmoid()",
        Activation::Tanh => "nn.Tanh()",
    }
}

/// A Python string literal of `text`.
fn python_string(text: &str) -> String {
    // JSON string syntax is valid Python for every escape serde_json writes.
    serde_json::to_string(text).expect("a string serializes")
}

/// The Python module for a model of `config` whose tensors are named `layers` in the file
/// `weights` (a path relative to the module's folder, or absolute).
pub fn pytorch_module(config: &MlpConfig, layers: &[LayerKeys], weights: &str) -> String {
    let sizes = config.layer_sizes();
    let mut modules = Vec::new();
    let mut state = Vec::new();
    for (k, layer) in layers.iter().enumerate() {
        let index = modules.len();
        modules.push(format!(
            "nn.Linear({}, {}, bias={})",
            sizes[k],
            sizes[k + 1],
            if config.bias { "True" } else { "False" }
        ));
        state.push(format!(
            "        \"{index}.weight\": tensors[{}],",
            python_string(&layer.weight)
        ));
        if let Some(bias) = &layer.bias {
            state.push(format!(
                "        \"{index}.bias\": tensors[{}],",
                python_string(bias)
            ));
        }
        if k + 1 < layers.len() {
            modules.push(activation_module(config.activation).to_string());
        }
    }
    let modules: String = modules.iter().map(|m| format!("        {m},\n")).collect();
    let state = state.join("\n");
    format!(
        r#""""An MLP exported by backprop: {config}.

build_model() rebuilds it as a torch.nn.Sequential; load_model() also loads its weights
from the safetensors file WEIGHTS (relative to this file's folder unless absolute). Its
outputs are the logits o; torch.softmax(o, dim=1) gives the class probabilities.
"""

import os

import torch
from torch import nn
from safetensors.torch import load_file

WEIGHTS = {weights}
LAYER_SIZES = {sizes:?}
ACTIVATION = {activation}
LOSS = {loss}


def build_model():
    """The network, with fresh weights."""
    return nn.Sequential(
{modules}    )


def load_model(path=None):
    """The network with the weights of `path` (default: WEIGHTS), in eval mode."""
    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), WEIGHTS)
    tensors = load_file(path)
    model = build_model()
    model.load_state_dict({{
{state}
    }})
    return model.eval()
"#,
        weights = python_string(weights),
        activation = python_string(config.activation.name()),
        loss = python_string(config.loss.name()),
    )
}
