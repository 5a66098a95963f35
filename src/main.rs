//! The `backprop` command: a thin layer of flag parsing over the `backprop` library.

mod cli;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use cli::exit_status::{report_clap_error, report_failure};
use cli::given_flags::GivenFlags;
use std::process::ExitCode;

/// Forward and backward propagation of an MLP, exactly as D2L §4.7 derives them.
#[derive(Parser, Debug)]
#[command(name = "backprop", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train the MLP (the main job; built-in spiral data by default).
    Train(Box<cli::train::TrainArgs>),
    /// Loss, accuracy and confusion matrix of a trained model on a dataset split.
    Eval(cli::evaluate::EvalArgs),
    /// Class probabilities for one grayscale PNG image.
    Predict(cli::predict::PredictArgs),
    /// Write a model as an ONNX graph, or as a Python module that rebuilds it in PyTorch.
    Export(cli::export::ExportArgs),
    /// Check backward propagation against central finite differences (f64); exits 1 when a
    /// gradient is out of tolerance.
    Gradcheck(cli::gradcheck::GradcheckArgs),
    /// Draw the computational graph a forward pass builds (SVG, or DOT for Graphviz).
    Graph(Box<cli::graph::GraphArgs>),
    /// Walk through the equations of §4.7 on one sample, each gradient checked three ways.
    Explain(Box<cli::explain::ExplainArgs>),
    /// Serve the playground page: train on 2-D data in the browser's view and watch forward
    /// and backward propagation on the D2L network's graph (127.0.0.1:8020 by default).
    Serve(cli::serve::ServeArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(cli::completions::CompletionsArgs),
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return report_clap_error(error),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => return report_clap_error(error),
    };
    let given = matches
        .subcommand()
        .map(|(_, sub)| GivenFlags::from_matches(sub))
        .unwrap_or_default();
    let result = match &cli.command {
        Command::Train(args) => cli::train::run(args, &given),
        Command::Eval(args) => cli::evaluate::run(args),
        Command::Predict(args) => cli::predict::run(args),
        Command::Export(args) => cli::export::run(args),
        Command::Gradcheck(args) => cli::gradcheck::run(args),
        Command::Graph(args) => cli::graph::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::Completions(args) => cli::completions::run(args, &mut Cli::command()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => report_failure(&error),
    }
}

/// Lets a closed pipe (`backprop train | head`) end the process quietly, as it does for
/// every Unix tool, instead of making the next `println!` panic. Rust ignores SIGPIPE by
/// default.
fn restore_default_sigpipe() {
    // SAFETY: setting a signal's disposition to its default, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
