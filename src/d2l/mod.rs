//! The D2L network: the equations of *Dive into Deep Learning* §4.7 in one place.
//!
//! - [`catalogue`]: every equation (4.7.1 – 4.7.6 forward, 4.7.9 – 4.7.14 backward) with its
//!   number, its formula and the node it computes, rendered as plain text, Unicode or
//!   Markdown; `backprop explain`, `backprop graph`, the playground and `docs/equations.md`
//!   all take their formulas from it.
//! - [`closed_form`]: the same equations written out literally for one sample in `f64`,
//!   sharing no arithmetic with the engine, for `explain` to set beside the graph.

pub mod catalogue;
pub mod closed_form;
