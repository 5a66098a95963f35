//! An [`Explanation`] as plain text, with ANSI colour when asked (a terminal without
//! `NO_COLOR`; the command decides).

use super::{BackwardStep, Explanation, ForwardStep, AGREEMENT_TOLERANCE};
use crate::d2l::catalogue::equation_label;
use crate::format::{
    bytes, bytes_exactly, count, norm, selected_values, short_number, short_value_or_values,
};
use crate::nn::gradcheck::STEP;
use std::fmt::Write;

/// ANSI styling, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// Colour on (`true`) or off.
    pub fn new(colour: bool) -> Self {
        Style { colour }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn heading(self, text: &str) -> String {
        self.paint("1;4", text)
    }

    fn equation(self, text: &str) -> String {
        self.paint("1;36", text)
    }

    fn formula(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    fn verdict(self, agrees: bool) -> String {
        if agrees {
            self.paint("32", &format!("✓ < {AGREEMENT_TOLERANCE:e}"))
        } else {
            self.paint("1;31", &format!("✗ not < {AGREEMENT_TOLERANCE:e}"))
        }
    }
}

/// The whole explanation as text.
pub fn render_text(explanation: &Explanation, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.heading("Forward and backward propagation, equation by equation (D2L §4.7)")
    );
    let _ = writeln!(out, "  model   {}", explanation.model);
    let _ = writeln!(out, "  sample  {}", explanation.sample);
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", style.heading("Forward propagation"));
    let _ = writeln!(
        out,
        "{}",
        style.dim("each value by §4.7's closed form; \"graph\" is its largest difference to the graph's forward pass")
    );
    for step in &explanation.forward {
        forward_step(&mut out, step, style);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", style.heading("Backward propagation"));
    let _ = writeln!(
        out,
        "{}",
        style.dim(&format!(
            "each gradient three ways: §4.7's closed form, the graph's backward pass, central \
             finite differences in f64 (ε = {STEP:e});\ndifferences are scaled by the \
             tensor's largest element"
        ))
    );
    for step in &explanation.backward {
        backward_step(&mut out, step, style);
    }
    let _ = writeln!(out);
    memory(&mut out, explanation, style);
    let _ = writeln!(out);
    let largest = explanation.largest_difference();
    let _ = writeln!(
        out,
        "{} {} backward equations, largest scaled difference {} {}",
        if explanation.all_agree() {
            "all"
        } else {
            "not all"
        },
        explanation.backward.len(),
        short_number(largest),
        style.verdict(explanation.all_agree())
    );
    out
}

/// The first line of a step: its equation number, what it computes, and the shape.
fn step_heading(
    out: &mut String,
    equation: &str,
    layer: Option<usize>,
    formula: &str,
    shape: &str,
    style: Style,
) {
    let label = equation_label(equation, layer);
    let _ = writeln!(
        out,
        "{}  {}  {}",
        style.equation(&pad(&label, 7)),
        style.formula(formula),
        style.dim(&format!("({shape})"))
    );
}

fn forward_step(out: &mut String, step: &ForwardStep, style: Style) {
    step_heading(
        out,
        step.equation,
        step.layer,
        &step.formula,
        &step.shape,
        style,
    );
    let _ = writeln!(
        out,
        "  = {}   {}",
        short_value_or_values(&step.values),
        style.dim(&format!("graph: {}", short_number(step.graph_difference)))
    );
}

fn backward_step(out: &mut String, step: &BackwardStep, style: Style) {
    step_heading(
        out,
        step.equation,
        step.layer,
        &step.formula,
        &step.shape,
        style,
    );
    // The three rows show the same elements; which they are is said when not all are shown.
    let shown = step.shown_elements();
    let total = step.closed_form.len();
    let numeric: Vec<f64> = shown
        .iter()
        .map(|i| {
            step.finite_differences
                .iter()
                .find(|&&(j, _)| j == *i)
                .map_or(f64::NAN, |&(_, v)| v)
        })
        .collect();
    let at = |values: &[f64]| -> Vec<f64> { shown.iter().map(|&i| values[i]).collect() };
    let whole = |values: &[f64]| {
        format!(
            "{} values, ‖·‖ = {}",
            count(total as u64),
            short_number(norm(values))
        )
    };
    if shown.len() < total {
        let positions: Vec<String> = shown.iter().map(|&i| step.position(i)).collect();
        let _ = writeln!(
            out,
            "  elements             {} of {}",
            positions.join(" "),
            step.shape.replace('x', "×")
        );
    }
    let _ = writeln!(
        out,
        "  closed form          {}",
        selected_values(&at(&step.closed_form), total, &whole(&step.closed_form))
    );
    let _ = writeln!(
        out,
        "  graph backward       {}",
        selected_values(&at(&step.graph), total, &whole(&step.graph))
    );
    let _ = writeln!(
        out,
        "  finite differences   {}",
        selected_values(
            &numeric,
            total,
            &format!(
                "{} of {} elements checked",
                count(step.finite_differences.len() as u64),
                count(total as u64)
            )
        )
    );
    let _ = writeln!(
        out,
        "  agreement: closed form vs graph {}, closed form vs finite differences {}, graph vs finite differences {}; largest {} {}",
        short_number(step.closed_vs_graph),
        short_number(step.closed_vs_finite_differences),
        short_number(step.graph_vs_finite_differences),
        short_number(step.largest_difference()),
        style.verdict(step.agrees())
    );
}

fn memory(out: &mut String, explanation: &Explanation, style: Style) {
    let memory = &explanation.memory;
    let _ = writeln!(
        out,
        "{}",
        style.heading(&format!(
            "Memory: what training keeps for backward, at batch size {} (f32)",
            count(memory.batch_size as u64)
        ))
    );
    for kept in &memory.kept {
        let _ = writeln!(
            out,
            "  {:<12} {:>10} elements {:>10}   {}",
            kept.name,
            count(kept.elements as u64),
            bytes(kept.bytes),
            style.dim(&format!("for {}", kept.reason))
        );
    }
    let _ = writeln!(
        out,
        "  training keeps {} from forward until backward; prediction alone needs {}: two layer outputs at a time, nothing kept",
        bytes_exactly(memory.training_bytes),
        bytes_exactly(memory.prediction_bytes),
    );
}

/// `text` padded with spaces to `width` characters.
fn pad(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}
