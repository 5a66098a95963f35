//! An [`Explanation`] as Markdown, for notes: one table per phase.

use super::{Explanation, AGREEMENT_TOLERANCE};
use crate::d2l::catalogue::{equation_label, Notation};
use crate::format::{bytes, count, short_number, short_value_or_values, short_values};
use crate::nn::gradcheck::STEP;
use std::fmt::Write;

/// The whole explanation as Markdown.
pub fn render_markdown(explanation: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Forward and backward propagation, equation by equation (D2L §4.7)\n"
    );
    let _ = writeln!(out, "- **model:** {}", cell(&explanation.model));
    let _ = writeln!(out, "- **sample:** {}\n", cell(&explanation.sample));

    let _ = writeln!(out, "## Forward propagation\n");
    let _ = writeln!(
        out,
        "Each value by §4.7's closed form; *vs graph* is its largest difference to the \
         graph's forward pass, scaled by the largest element.\n"
    );
    let _ = writeln!(out, "| equation | computes | shape | value | vs graph |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for step in &explanation.forward {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            equation_label(step.equation, step.layer),
            Notation::Markdown.render(&step.formula),
            step.shape,
            cell(&short_value_or_values(&step.values)),
            short_number(step.graph_difference)
        );
    }

    let _ = writeln!(out, "\n## Backward propagation\n");
    let _ = writeln!(
        out,
        "Each gradient three ways: §4.7's closed form, the graph's backward pass, and \
         central finite differences in f64 (ε = {STEP:e}). Differences are scaled by the \
         tensor's largest element; agreement means below {AGREEMENT_TOLERANCE:e}.\n"
    );
    let _ = writeln!(
        out,
        "| equation | computes | shape | closed form | closed form vs graph | closed form vs finite differences | graph vs finite differences | largest | agrees |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for step in &explanation.backward {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            equation_label(step.equation, step.layer),
            Notation::Markdown.render(&step.formula),
            step.shape,
            cell(&short_values(&step.closed_form)),
            short_number(step.closed_vs_graph),
            short_number(step.closed_vs_finite_differences),
            short_number(step.graph_vs_finite_differences),
            short_number(step.largest_difference()),
            if step.agrees() { "yes" } else { "**no**" }
        );
    }

    let memory = &explanation.memory;
    let _ = writeln!(
        out,
        "\n## Memory at batch size {} (f32)\n",
        count(memory.batch_size as u64)
    );
    let _ = writeln!(out, "| kept for backward | elements | bytes | read by |");
    let _ = writeln!(out, "|---|---|---|---|");
    for kept in &memory.kept {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            kept.name,
            count(kept.elements as u64),
            count(kept.bytes as u64),
            cell(&kept.reason)
        );
    }
    let _ = writeln!(
        out,
        "\nTraining keeps **{}** from forward until backward; prediction alone needs **{}** \
         (two layer outputs at a time, nothing kept).",
        bytes(memory.training_bytes),
        bytes(memory.prediction_bytes)
    );
    let _ = writeln!(
        out,
        "\nLargest scaled difference over all {} backward equations: {}{}.",
        explanation.backward.len(),
        short_number(explanation.largest_difference()),
        if explanation.all_agree() {
            ", all agree"
        } else {
            ", **not all agree**"
        }
    );
    out
}

/// Text safe inside a table cell: `|` escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
