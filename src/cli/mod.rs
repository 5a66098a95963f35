//! The command-line interface: flag parsing and one module per command, each a thin layer
//! over the library.

pub mod bias_flags;
pub mod checkpoint_writer;
pub mod completions;
pub mod dataset_arg;
pub mod evaluate;
pub mod exit_status;
pub mod explain;
pub mod export;
pub mod flag_values;
pub mod given_flags;
pub mod gradcheck;
pub mod graph;
pub mod help_text;
pub mod model_choice;
pub mod model_source;
pub mod output;
pub mod output_paths;
pub mod predict;
pub mod progress;
pub mod resource_limits;
pub mod serve;
pub mod stop_signals;
pub mod train;
