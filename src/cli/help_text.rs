//! What `--help` shows beyond the flags: the headings flags are grouped under (the same on
//! every command), and each command's Examples section, styled as clap styles its own
//! headings.

use clap::builder::styling::Styles;
use clap::builder::StyledStr;

/// Heading of the flags that choose the data: the dataset, its folder, its split.
pub const DATA: &str = "Data";
/// Heading of the flags that choose the network: sizes, activation, loss, biases, a file.
pub const MODEL: &str = "Model";
/// Heading of the flags of the optimisation: optimiser, rate, weight decay, epochs, batches.
pub const OPTIMISATION: &str = "Optimisation";
/// Heading of the flags that say what is written where.
pub const OUTPUT: &str = "Output";
/// Heading of the flags of checkpoints and resuming.
pub const CHECKPOINTS: &str = "Checkpoints";
/// Heading of the flags of threads and memory.
pub const PERFORMANCE: &str = "Performance";

/// An `Examples:` section for `after_help`: each example a comment line saying what it does
/// and the command, indented as clap indents flags. The heading takes clap's header style
/// (bold and underlined on a terminal, plain text otherwise).
pub fn examples(examples: &[(&str, &str)]) -> StyledStr {
    let header = *Styles::default().get_header();
    let mut text = format!("{header}Examples:{header:#}\n");
    for (i, (what, command)) in examples.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("  # {what}\n  {command}\n"));
    }
    StyledStr::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_a_heading_then_comment_and_command_pairs() {
        let text = examples(&[("Train", "backprop train"), ("Check", "backprop gradcheck")]);
        assert_eq!(
            text.to_string(),
            "Examples:\n  # Train\n  backprop train\n\n  # Check\n  backprop gradcheck\n"
        );
    }
}
