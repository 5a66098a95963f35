//! The command-line interface: flag parsing and one module per command, each a thin layer
//! over the library.

pub mod gradcheck;
