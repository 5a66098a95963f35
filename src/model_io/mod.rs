//! Models in and out of other tools: weights written by PyTorch or NumPy users read as an
//! [`Mlp`](crate::nn::Mlp) ([`import`]), and a model written as an ONNX graph ([`onnx`]) or as
//! a Python module that rebuilds it as a PyTorch `nn.Sequential` ([`pytorch`]).

pub mod import;
pub mod onnx;
pub mod pytorch;
