//! `backprop explain`: §4.7's equations in order, on one sample, each gradient checked
//! three ways.

use super::flag_values::count;
use super::help_text;
use super::model_choice::{
    check_paths, choose_model, choose_samples, load_sample_set, ModelArgs, SampleArgs,
};
use super::output::write_text;
use super::output_paths::{chosen_format, Content, OutputFormat};
use super::resource_limits::MemoryLimitArgs;
use anyhow::Result;
use backprop::explain::render_markdown::render_markdown;
use backprop::explain::render_text::{render_text, Style};
use backprop::explain::{explain, ExplainInput};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The formats `explain` writes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    /// Plain text, for a terminal.
    Text,
    /// Markdown, for notes.
    Markdown,
}

impl OutputFormat for ExplainFormat {
    fn content(self) -> Content {
        match self {
            ExplainFormat::Text => Content::Text,
            ExplainFormat::Markdown => Content::Markdown,
        }
    }
}

/// When `explain` colours its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Colour {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Flags of `backprop explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub sample: SampleArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Write the explanation to this file (never coloured).
    ///
    /// Without it, the explanation goes to standard output.
    #[arg(short, long, value_name = "FILE", help_heading = help_text::OUTPUT)]
    pub out: Option<PathBuf>,
    /// Format [default: text; markdown for *.md].
    ///
    /// text (for a terminal) or markdown (for notes); without it, markdown when --out ends in
    /// .md or .markdown, else text.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::OUTPUT)]
    pub format: Option<ExplainFormat>,
    /// Colour the text.
    ///
    /// auto (on a terminal, unless NO_COLOR is set), always or never. A file (--out) is never coloured, so the two flags cannot be given together.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = Colour::Auto, conflicts_with = "out", help_heading = help_text::OUTPUT)]
    pub color: Colour,
    /// Batch size of the memory picture.
    ///
    /// The bytes forward keeps for backward at this batch size; the equations take one
    /// sample.
    #[arg(short, long, value_name = "N", default_value = "256", value_parser = count, help_heading = help_text::OUTPUT)]
    pub batch_size: usize,
    #[command(flatten)]
    pub memory: MemoryLimitArgs,
}

/// Runs `backprop explain`; `Ok(false)` (exit 1) when a gradient disagrees.
pub fn run(args: &ExplainArgs) -> Result<bool> {
    let format = chosen_format(args.format, args.out.as_deref(), ExplainFormat::Text);
    check_paths(
        args.out.as_deref(),
        format.content(),
        &args.model,
        &args.sample,
    )?;
    let data = load_sample_set(&args.sample)?;
    let mlp = choose_model(&args.model, &args.memory, data.as_ref(), args.batch_size)?;
    let (x, labels, description) = choose_samples(
        &args.sample,
        data.as_ref(),
        mlp.config(),
        1,
        args.model.seed,
    )?;
    let explanation = explain(ExplainInput {
        mlp,
        x: x.as_slice().to_vec(),
        label: labels[0],
        sample_description: description,
        memory_batch_size: args.batch_size,
    })?;
    let colour = args.out.is_none()
        && match args.color {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
    let text = match format {
        ExplainFormat::Markdown => render_markdown(&explanation),
        ExplainFormat::Text => render_text(&explanation, Style::new(colour)),
    };
    write_text(args.out.as_deref(), &text, "explanation")?;
    Ok(explanation.all_agree())
}
