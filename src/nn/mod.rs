//! The multilayer perceptron of D2L §4.7 (and deeper ones), built as a computational graph,
//! its initialisation, precision conversion, memory picture and the gradient check, and the
//! forward-only pass that inference runs without the graph. The closed forms written out in
//! `f64` are in [`crate::d2l::closed_form`].

pub mod forward_only;
pub mod gradcheck;
pub mod init;
pub mod memory;
pub mod mlp;
pub mod precision;

pub use crate::graph::Activation;
pub use forward_only::ForwardBuffers;
pub use mlp::{Mlp, MlpConfig, MlpNodes};

use std::fmt;

/// The per-sample loss `l(o, y)` of 4.7.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Loss {
    /// `l = -log softmax(o)_y`
    CrossEntropy,
    /// `l = 1/2 ||o - onehot(y)||²`
    #[value(name = "mse")]
    Squared,
}

impl Loss {
    /// The name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross-entropy",
            Loss::Squared => "mse",
        }
    }

    /// Parses a name as written by [`Loss::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "cross-entropy" => Some(Loss::CrossEntropy),
            "mse" => Some(Loss::Squared),
            _ => None,
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
