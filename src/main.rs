//! The `backprop` command: a thin layer of flag parsing over the `backprop` library.

mod cli;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use cli::exit_status::{report_clap_error, report_failure};
use cli::given_flags::GivenFlags;
use cli::help_text::examples;
use std::process::ExitCode;

/// Forward and backward propagation of an MLP, exactly as D2L §4.7 derives them.
#[derive(Parser, Debug)]
#[command(
    name = "backprop",
    version,
    about,
    after_help = examples(&[
        ("Train on the built-in spiral data, then score the model on its test split",
         "backprop train -e 20 -o spiral.safetensors && backprop eval --model spiral.safetensors"),
        ("Walk through §4.7's equations on the D2L network (no bias)",
         "backprop explain --no-bias"),
        ("The flags of one command",
         "backprop help train"),
    ])
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train the MLP (the main job; built-in spiral data by default).
    #[command(after_help = examples(&[
        ("The default 2-256-3 network on the built-in spiral data, 20 epochs",
         "backprop train -e 20 -o spiral.safetensors"),
        ("The D2L network (one hidden layer, no bias) with weight decay, its curves plotted",
         "backprop train --dataset xor --hidden 64 --no-bias --weight-decay 1e-3 --plot xor.svg"),
        ("MNIST with Adam, a checkpoint every 500 steps (downloads MNIST when missing)",
         "backprop train --dataset mnist --hidden 256,128 --optimizer adam --lr 1e-3 --checkpoint-every 500"),
        ("Continue that run to 20 epochs (it writes where the run wrote)",
         "backprop train --resume model.checkpoint.safetensors -e 20"),
    ]))]
    Train(Box<cli::train::TrainArgs>),
    /// Loss, accuracy and confusion matrix of a trained model on a dataset split.
    #[command(after_help = examples(&[
        ("The test split of the data set the model was trained on",
         "backprop eval --model spiral.safetensors"),
        ("Its training split, as one JSON object",
         "backprop eval --model spiral.safetensors --split train --json"),
    ]))]
    Eval(cli::evaluate::EvalArgs),
    /// Class probabilities for one grayscale PNG image.
    #[command(after_help = examples(&[
        ("A dark digit on white paper, for a model trained on MNIST",
         "backprop predict --model model.safetensors --image digit.png --invert"),
    ]))]
    Predict(cli::predict::PredictArgs),
    /// Write a model as an ONNX graph, or as a Python module that rebuilds it in PyTorch.
    #[command(after_help = examples(&[
        ("An ONNX graph with outputs logits and probabilities",
         "backprop export --model spiral.safetensors --format onnx -o spiral.onnx"),
        ("A PyTorch module that loads the weights from the model file",
         "backprop export --model spiral.safetensors --format pytorch -o spiral_model.py"),
    ]))]
    Export(cli::export::ExportArgs),
    /// Check backward propagation against central finite differences (f64).
    ///
    /// Every parameter's gradient from backward propagation against central finite
    /// differences in f64; exits 1 when a gradient is out of tolerance.
    #[command(after_help = examples(&[
        ("Every activation and loss on a small 4-5-3 network",
         "backprop gradcheck"),
        ("Two hidden layers without biases, tanh, a batch of 16",
         "backprop gradcheck --no-bias --hidden 8,8 --activation tanh -b 16"),
    ]))]
    Gradcheck(cli::gradcheck::GradcheckArgs),
    /// Draw the computational graph a forward pass builds (SVG, or DOT for Graphviz).
    #[command(after_help = examples(&[
        ("D2L's Figure 4.7.1: the graph of the D2L network (no bias)",
         "backprop graph --no-bias -o d2l.svg"),
        ("A trained model on a test sample, with every value and gradient",
         "backprop graph --model spiral.safetensors --dataset spiral --values -o spiral-graph.svg"),
        ("A batch of 8, with what forward keeps for backward, for Graphviz",
         "backprop graph -b 8 --saved -o graph.dot"),
    ]))]
    Graph(Box<cli::graph::GraphArgs>),
    /// Walk through the equations of §4.7 on one sample, each gradient checked three ways.
    #[command(after_help = examples(&[
        ("The D2L network of §4.7 (no bias) on a random sample",
         "backprop explain --no-bias"),
        ("A trained model on sample 3 of the spiral's test split",
         "backprop explain --model spiral.safetensors --dataset spiral --index 3"),
        ("Markdown, for notes",
         "backprop explain --no-bias --format markdown -o notes.md"),
    ]))]
    Explain(Box<cli::explain::ExplainArgs>),
    /// Serve the playground page (on 127.0.0.1:8020 by default).
    ///
    /// Train on 2-D data in the browser's view and watch forward and backward propagation on
    /// the D2L network's graph.
    #[command(after_help = examples(&[
        ("On http://127.0.0.1:8020/ (or the next free port)",
         "backprop serve"),
        ("On a port of your choice",
         "backprop serve --port 8080"),
    ]))]
    Serve(cli::serve::ServeArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(after_help = examples(&[
        ("bash",
         "backprop completions bash > ~/.local/share/bash-completion/completions/backprop"),
        ("fish",
         "backprop completions fish > ~/.config/fish/completions/backprop.fish"),
    ]))]
    Completions(cli::completions::CompletionsArgs),
}

/// The command line as parsed: every subcommand takes a negative number as a flag's value,
/// so that `--lr -1` is refused by the flag's own range check ("-1 is out of range: expected
/// a finite number above 0") instead of as an unknown argument `-1`.
fn command() -> clap::Command {
    Cli::command().mut_subcommands(|sub| sub.allow_negative_numbers(true))
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let matches = match command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return report_clap_error(error),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => return report_clap_error(error),
    };
    // A narrower instruction set asked for by BACKPROP_ISA, checked before any work starts.
    if let Err(error) = backprop::tensor::isa::Isa::requested() {
        return report_failure(&cli::exit_status::UsageError(error.to_string()).into());
    }
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
        Command::Completions(args) => cli::completions::run(args, &mut command()),
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
