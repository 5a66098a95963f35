//! A [`GraphView`] in Graphviz's DOT language, for those who have Graphviz: the same nodes,
//! shapes and edges as the SVG (`dot -Tsvg graph.dot`), left to right, the L2 sub-chain as
//! a dashed cluster `l2`.

use super::graph_view::{GraphView, NodeKind, NodeRef, ViewNode};
use crate::d2l::catalogue::{l2_group_label, Notation};
use std::fmt::Write;

/// The DOT source for `view`.
pub fn graph_dot(view: &GraphView) -> String {
    let mut dot = String::new();
    let _ = writeln!(dot, "digraph forward_propagation {{");
    let _ = writeln!(dot, "  label={};", quote(&view.title));
    let _ = writeln!(dot, "  labelloc=t;");
    let _ = writeln!(dot, "  rankdir=LR;");
    let _ = writeln!(dot, "  node [fontname=\"Helvetica\"];");
    let _ = writeln!(dot, "  edge [arrowsize=0.7];");
    for node in view.nodes.iter().filter(|n| !n.in_l2_group) {
        let _ = writeln!(dot, "  {}", node_statement(node));
    }
    if view.nodes.iter().any(|n| n.in_l2_group) {
        let _ = writeln!(dot, "  subgraph cluster_l2 {{");
        let _ = writeln!(
            dot,
            "    label={};",
            quote(&l2_group_label(Notation::Unicode))
        );
        let _ = writeln!(dot, "    style=dashed;");
        for node in view.nodes.iter().filter(|n| n.in_l2_group) {
            let _ = writeln!(dot, "    {}", node_statement(node));
        }
        let _ = writeln!(dot, "  }}");
    }
    for &(from, to) in &view.edges {
        let _ = writeln!(
            dot,
            "  {} -> {};",
            node_id(&view.nodes[from]),
            node_id(&view.nodes[to])
        );
    }
    let _ = writeln!(dot, "}}");
    dot
}

/// `v3` for variable 3, `op5` for operator 5.
fn node_id(node: &ViewNode) -> String {
    match node.node {
        NodeRef::Variable(v) => format!("v{}", v.0),
        NodeRef::Operator(o) => format!("op{}", o.0),
    }
}

fn node_statement(node: &ViewNode) -> String {
    let mut label = node.label.clone();
    for line in &node.details {
        label.push('\n');
        label.push_str(line);
    }
    let attributes = match node.kind {
        NodeKind::Operator => "shape=circle".to_string(),
        NodeKind::Parameter => "shape=box, style=filled, fillcolor=\"#c9d9ee\"".to_string(),
        NodeKind::Input | NodeKind::Intermediate => "shape=box".to_string(),
    };
    let kept = if node.kept_bytes.is_some() {
        ", color=\"#e07b00\", penwidth=3"
    } else {
        ""
    };
    format!(
        "{} [label={}, {attributes}{kept}];",
        node_id(node),
        quote(&label)
    )
}

/// A DOT string literal: quotes and backslashes escaped, line breaks as `\n`.
fn quote(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}
