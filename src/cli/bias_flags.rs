//! `--bias` and `--no-bias`, the same on every command that builds a network (`train`,
//! `graph`, `explain`, `gradcheck`).
//!
//! A new network has biases unless `--no-bias` is given: every command has the same default,
//! so that a network `graph` draws or `explain` walks through is the one `train` would train
//! from the same size flags. `--no-bias` gives the D2L network of §4.7 (`z = W1 x`), which
//! has none. The two flags override each other: the last one typed wins.

use super::help_text;
use clap::Args;

/// Whether the layers have biases.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct BiasFlags {
    /// Give every layer a bias b_k (the default for a new network)
    #[arg(long, overrides_with = "no_bias", help_heading = help_text::MODEL)]
    pub bias: bool,
    /// No biases: the D2L network of §4.7 (z = W1 x)
    #[arg(long, overrides_with = "bias", help_heading = help_text::MODEL)]
    pub no_bias: bool,
}

impl BiasFlags {
    /// What the command line asked for: `Some(false)` for `--no-bias`, `Some(true)` for
    /// `--bias`, `None` when neither was typed (a model file then keeps its own).
    pub fn choice(&self) -> Option<bool> {
        if self.no_bias {
            Some(false)
        } else if self.bias {
            Some(true)
        } else {
            None
        }
    }

    /// Whether a new network gets biases: yes unless `--no-bias`.
    pub fn for_new_network(&self) -> bool {
        self.choice().unwrap_or(true)
    }
}
