//! `backprop graph`: draws the computational graph that a forward pass built.

use super::flag_values::count;
use super::help_text;
use super::model_choice::{
    check_paths, choose_model, choose_samples, load_sample_set, ModelArgs, SampleArgs,
};
use super::output::write_text;
use super::output_paths::{chosen_format, Content, OutputFormat};
use super::resource_limits::MemoryLimitArgs;
use anyhow::Result;
use backprop::nn::precision::convert_precision;
use backprop::nn::Mlp;
use backprop::viz::graph_dot::graph_dot;
use backprop::viz::graph_layout::layout;
use backprop::viz::graph_svg::graph_svg;
use backprop::viz::graph_view::{graph_view, ViewOptions};
use clap::Args;
use std::path::PathBuf;

/// The formats `graph` draws in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// SVG, drawn here (no Graphviz needed).
    Svg,
    /// DOT, for Graphviz.
    Dot,
}

impl OutputFormat for GraphFormat {
    fn content(self) -> Content {
        match self {
            GraphFormat::Svg => Content::Svg,
            GraphFormat::Dot => Content::Dot,
        }
    }
}

/// Flags of `backprop graph`.
#[derive(Args, Debug)]
pub struct GraphArgs {
    #[command(flatten)]
    pub sample: SampleArgs,
    /// Draw a batch of N samples (shapes N x n) instead of one.
    ///
    /// Values and bytes are then computed for N samples; without it, one sample, with shapes
    /// as §4.7's column vectors (`n x 1`).
    #[arg(short, long, value_name = "N", alias = "batch", value_parser = count, help_heading = help_text::DATA)]
    pub batch_size: Option<usize>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Where to write the drawing [default: standard output].
    #[arg(short, long, value_name = "FILE", help_heading = help_text::OUTPUT)]
    pub out: Option<PathBuf>,
    /// Format [default: svg; dot for --out *.dot].
    ///
    /// svg (drawn here, no Graphviz needed) or dot (for Graphviz); without it, dot when --out
    /// ends in .dot or .gv, else svg.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::OUTPUT)]
    pub format: Option<GraphFormat>,
    /// After one forward and backward pass, show each variable's value and gradient.
    ///
    /// The numbers when a variable has at most three, else its norm.
    #[arg(long, help_heading = help_text::OUTPUT)]
    pub values: bool,
    /// Mark what forward keeps for backward, with its bytes (f32, as training runs).
    #[arg(long, help_heading = help_text::OUTPUT)]
    pub saved: bool,
    #[command(flatten)]
    pub memory: MemoryLimitArgs,
}

/// Runs `backprop graph`.
pub fn run(args: &GraphArgs) -> Result<bool> {
    let format = chosen_format(args.format, args.out.as_deref(), GraphFormat::Svg);
    check_paths(
        args.out.as_deref(),
        format.content(),
        &args.model,
        &args.sample,
    )?;
    let data = load_sample_set(&args.sample)?;
    let batch_size = args.batch_size.unwrap_or(1);
    let model = choose_model(&args.model, &args.memory, data.as_ref(), batch_size)?;
    let (x, labels, _) = choose_samples(
        &args.sample,
        data.as_ref(),
        model.config(),
        batch_size,
        args.model.seed,
    )?;
    let mut mlp: Mlp<f32> = convert_precision(&model)?;
    mlp.set_batch(&x.cast(), &labels)?;
    mlp.zero_grad();
    mlp.forward()?;
    mlp.backward()?;
    let view = graph_view(
        &mlp,
        ViewOptions {
            batch: args.batch_size,
            values: args.values,
            saved: args.saved,
        },
    );
    let text = match format {
        GraphFormat::Dot => graph_dot(&view),
        GraphFormat::Svg => graph_svg(&view, &layout(&mlp, &view)),
    };
    write_text(args.out.as_deref(), &text, "graph")?;
    Ok(true)
}
