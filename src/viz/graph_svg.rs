//! Draws a laid-out [`GraphView`] as SVG, in pure Rust: variables as squares (parameters
//! shaded), operators as circles, arrows in the direction data flows, the L2 sub-chain in a
//! dashed box labelled `l2`, and what forward keeps for backward outlined in orange. Names
//! are typeset as §4.7 prints them ([`math_text`]: `W1` as W₁, `u_o` as u with subscript o),
//! and no text is smaller than 11 px at the drawing's natural size.

use super::graph_layout::{Layout, Point};
use super::graph_view::{GraphView, NodeKind, ViewNode};
use super::math_text;
use crate::d2l::catalogue::{l2_group_label, Notation};
use std::fmt::Write;

/// Half the side of a variable's square.
const HALF_SQUARE: f64 = 23.0;
/// The radius of an operator's circle.
const RADIUS: f64 = 19.0;
/// Height of a line of detail text.
const LINE_HEIGHT: f64 = 13.0;
/// How far a detail line's glyphs reach above its baseline (capitals, `∂`, `‖`), at
/// [`DETAIL_SIZE`].
const ASCENT: f64 = 10.0;
/// How far they reach below it (`p`, `y`, brackets).
const DESCENT: f64 = 3.0;
/// The least space between two nodes' detail lines, one above the other.
const LINE_GAP: f64 = 2.0;
/// Font size of detail text: the smallest text of the drawing.
pub const DETAIL_SIZE: f64 = 12.0;
/// Space around the drawing.
const MARGIN: f64 = 36.0;
/// Height of the title band.
const TITLE_HEIGHT: f64 = 40.0;
/// Height of the legend band.
const LEGEND_HEIGHT: f64 = 40.0;

const PARAMETER_FILL: &str = "#c9d9ee";
const KEPT_COLOUR: &str = "#e07b00";
const INK: &str = "#222222";

/// The SVG document for `view` placed by `layout`.
pub fn graph_svg(view: &GraphView, layout: &Layout) -> String {
    let sides: Vec<Side> = (0..view.nodes.len())
        .map(|i| detail_side(view, layout, i))
        .collect();
    let anchors = detail_anchors(view, layout, &sides);
    let boxes: Vec<Extent> = view
        .nodes
        .iter()
        .zip(&layout.positions)
        .zip(sides.iter().zip(&anchors))
        .map(|((node, &at), (&side, &anchor))| Extent::of(node, at, side, anchor))
        .collect();
    let (min_x, min_y, max_x, max_y) = boxes.iter().fold(
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
        |(a, b, c, d), e| (a.min(e.left), b.min(e.top), c.max(e.right), d.max(e.bottom)),
    );
    let group = l2_box(view, &boxes);
    let (min_y, min_x) = match group {
        Some(g) => (min_y.min(g.top - 18.0), min_x.min(g.left)),
        None => (min_y, min_x),
    };
    let shift_x = MARGIN - min_x;
    let shift_y = MARGIN + TITLE_HEIGHT - min_y;
    let width = (max_x - min_x + 2.0 * MARGIN).max(640.0);
    let height = max_y - min_y + 2.0 * MARGIN + TITLE_HEIGHT + LEGEND_HEIGHT;
    let shifted = |p: Point| Point {
        x: p.x + shift_x,
        y: p.y + shift_y,
    };

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#,
        w = width,
        h = height
    );
    let _ = writeln!(
        svg,
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 1 L 10 5 L 0 9 z" fill="{INK}"/></marker></defs>"#
    );
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="white"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{MARGIN}" y="{:.0}" font-size="15" font-weight="bold" fill="{INK}">Computational graph of forward propagation</text>"#,
        MARGIN + 4.0
    );
    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="{:.0}" font-size="12" fill="#555555">{}</text>"##,
        MARGIN + 22.0,
        escape(&view.title)
    );

    if let Some(g) = group {
        let _ = writeln!(
            svg,
            r##"<g class="group l2"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="10" fill="#f7f7f7" stroke="#888888" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" font-size="13" font-style="italic" fill="#555555">{}</text></g>"##,
            g.left + shift_x,
            g.top + shift_y,
            g.right - g.left,
            g.bottom - g.top,
            g.left + shift_x + 8.0,
            g.top + shift_y - 6.0,
            l2_label()
        );
    }

    // `data-from` and `data-to` are the nodes' `data-node` indices, so that a page can
    // highlight the edge that backward propagation passes a gradient back along.
    for &(from, to) in &view.edges {
        let a = shifted(layout.positions[from]);
        let b = shifted(layout.positions[to]);
        let start = boundary_point(&view.nodes[from], a, b);
        let end = boundary_point(&view.nodes[to], b, a);
        let _ = writeln!(
            svg,
            r#"<line class="edge" data-from="{from}" data-to="{to}" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{INK}" stroke-width="1.4" marker-end="url(#arrow)"/>"#,
            start.x, start.y, end.x, end.y
        );
    }

    for (index, ((node, &at), (&side, &anchor))) in view
        .nodes
        .iter()
        .zip(&layout.positions)
        .zip(sides.iter().zip(&anchors))
        .enumerate()
    {
        draw_node(&mut svg, index, node, shifted(at), side, shifted(anchor));
    }
    legend(&mut svg, height - MARGIN);
    svg.push_str("</svg>\n");
    svg
}

/// The space a node and its text take.
#[derive(Clone, Copy, Debug)]
struct Extent {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Extent {
    /// The node's shape at `at` and its detail lines on `side`, the first at `text`.
    fn of(node: &ViewNode, at: Point, side: Side, text: Point) -> Self {
        let half_width = half_width(node);
        let half_height = half_height(node);
        let text_width = node
            .details
            .iter()
            .map(|d| text_width(d, DETAIL_SIZE))
            .fold(0.0, f64::max);
        let text_height = LINE_HEIGHT * node.details.len() as f64;
        let shape = Extent {
            left: at.x - half_width,
            top: at.y - half_height,
            right: at.x + half_width,
            bottom: at.y + half_height,
        };
        let text = match side {
            Side::Below | Side::Above => Extent {
                left: text.x - text_width / 2.0,
                right: text.x + text_width / 2.0,
                top: text.y - LINE_HEIGHT,
                bottom: text.y + text_height,
            },
            Side::Right => Extent {
                left: text.x,
                right: text.x + text_width,
                top: text.y - LINE_HEIGHT,
                bottom: text.y + text_height,
            },
            Side::Left => Extent {
                left: text.x - text_width,
                right: text.x,
                top: text.y - LINE_HEIGHT,
                bottom: text.y + text_height,
            },
        };
        Extent {
            left: shape.left.min(text.left),
            top: shape.top.min(text.top),
            right: shape.right.max(text.right),
            bottom: shape.bottom.max(text.bottom),
        }
    }
}

/// Where each node's first detail line goes: [`detail_anchor`], except that the lines below a
/// variable move down, all together, until none touches an operator's line. The spine rises
/// to the right, so a variable's lines start higher than the name under the operator to its
/// left (`product` under `×`), and a value of three numbers is wide enough to reach it.
fn detail_anchors(view: &GraphView, layout: &Layout, sides: &[Side]) -> Vec<Point> {
    let mut anchors: Vec<Point> = view
        .nodes
        .iter()
        .zip(&layout.positions)
        .zip(sides)
        .map(|((node, &at), &side)| detail_anchor(node, at, side))
        .collect();
    let lines = |i: usize, anchors: &[Point]| detail_lines(&view.nodes[i], sides[i], anchors[i]);
    let operators: Vec<usize> = (0..view.nodes.len())
        .filter(|&j| view.nodes[j].kind == NodeKind::Operator)
        .collect();
    for i in 0..view.nodes.len() {
        if view.nodes[i].kind == NodeKind::Operator || sides[i] != Side::Below {
            continue;
        }
        // Each move clears one operator's line below the ones cleared before, so this ends
        // within one pass per operator.
        for _ in 0..=operators.len() {
            let drop = operators
                .iter()
                .flat_map(|&j| lines(j, &anchors))
                .flat_map(|theirs| {
                    lines(i, &anchors)
                        .into_iter()
                        .filter(move |ours| ours.touches(&theirs))
                        .map(move |ours| theirs.bottom + LINE_GAP - ours.top)
                })
                .fold(0.0, f64::max);
            if drop <= 0.0 {
                break;
            }
            anchors[i].y += drop;
        }
    }
    anchors
}

/// The box of each of `node`'s detail lines on `side`, the first at `anchor`: their
/// estimated width, from [`ASCENT`] above the baseline to [`DESCENT`] below.
fn detail_lines(node: &ViewNode, side: Side, anchor: Point) -> Vec<Extent> {
    node.details
        .iter()
        .enumerate()
        .map(|(k, line)| {
            let width = text_width(line, DETAIL_SIZE);
            let left = match side {
                Side::Below | Side::Above => anchor.x - width / 2.0,
                Side::Right => anchor.x,
                Side::Left => anchor.x - width,
            };
            let baseline = anchor.y + LINE_HEIGHT * k as f64;
            Extent {
                left,
                top: baseline - ASCENT,
                right: left + width,
                bottom: baseline + DESCENT,
            }
        })
        .collect()
}

impl Extent {
    /// Whether the two boxes overlap or come closer than [`LINE_GAP`].
    fn touches(&self, other: &Extent) -> bool {
        self.left < other.right
            && other.left < self.right
            && self.top < other.bottom + LINE_GAP
            && other.top < self.bottom + LINE_GAP
    }
}

/// Where a node's detail lines go: below it, unless an arrow leaves that way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Below,
    Right,
    Left,
    Above,
}

/// The first side of below, right, left and above that no edge of node `i` leaves through.
fn detail_side(view: &GraphView, layout: &Layout, i: usize) -> Side {
    let at = layout.positions[i];
    let directions: Vec<(f64, f64)> = view
        .edges
        .iter()
        .filter_map(|&(from, to)| {
            let other = if from == i {
                to
            } else if to == i {
                from
            } else {
                return None;
            };
            let p = layout.positions[other];
            Some((p.x - at.x, p.y - at.y))
        })
        .collect();
    let blocked = |side: Side| {
        directions.iter().any(|&(dx, dy)| match side {
            Side::Below => dy > 0.0 && dx.abs() < 1.2 * dy,
            Side::Above => dy < 0.0 && dx.abs() < -1.2 * dy,
            Side::Right => dx > 0.0 && dy.abs() < 0.7 * dx,
            Side::Left => dx < 0.0 && dy.abs() < -0.7 * dx,
        })
    };
    [Side::Below, Side::Right, Side::Left, Side::Above]
        .into_iter()
        .find(|&side| !blocked(side))
        .unwrap_or(Side::Below)
}

/// The baseline of the first detail line (its centre for below and above, its start or end
/// for the sides).
fn detail_anchor(node: &ViewNode, at: Point, side: Side) -> Point {
    let lines = node.details.len() as f64;
    match side {
        Side::Below => Point {
            x: at.x,
            y: at.y + half_height(node) + LINE_HEIGHT + 1.0,
        },
        Side::Above => Point {
            x: at.x,
            y: at.y - half_height(node) - LINE_HEIGHT * lines + 8.0,
        },
        Side::Right => Point {
            x: at.x + half_width(node) + 5.0,
            y: at.y - LINE_HEIGHT * (lines - 1.0) / 2.0 + 4.0,
        },
        Side::Left => Point {
            x: at.x - half_width(node) - 5.0,
            y: at.y - LINE_HEIGHT * (lines - 1.0) / 2.0 + 4.0,
        },
    }
}

fn half_height(node: &ViewNode) -> f64 {
    if node.kind == NodeKind::Operator {
        RADIUS
    } else {
        HALF_SQUARE
    }
}

/// Half the width of a node's shape: squares grow into rectangles for long names.
fn half_width(node: &ViewNode) -> f64 {
    if node.kind == NodeKind::Operator {
        RADIUS
    } else {
        HALF_SQUARE.max(text_width(&node.label, 15.0) / 2.0 + 6.0)
    }
}

/// A rough width of `text` at `size`, for spacing (average glyph width ~0.6 em).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.6
}

/// The box around the L2 sub-chain's nodes.
fn l2_box(view: &GraphView, boxes: &[Extent]) -> Option<Extent> {
    let members: Vec<&Extent> = view
        .nodes
        .iter()
        .zip(boxes)
        .filter(|(n, _)| n.in_l2_group)
        .map(|(_, b)| b)
        .collect();
    if members.is_empty() {
        return None;
    }
    let pad = 12.0;
    Some(Extent {
        left: members.iter().map(|b| b.left).fold(f64::MAX, f64::min) - pad,
        top: members.iter().map(|b| b.top).fold(f64::MAX, f64::min) - pad,
        right: members.iter().map(|b| b.right).fold(f64::MIN, f64::max) + pad,
        bottom: members.iter().map(|b| b.bottom).fold(f64::MIN, f64::max) + pad,
    })
}

/// Where the line from `centre` towards `towards` leaves the node's shape.
fn boundary_point(node: &ViewNode, centre: Point, towards: Point) -> Point {
    let (dx, dy) = (towards.x - centre.x, towards.y - centre.y);
    let length = (dx * dx + dy * dy).sqrt().max(1e-9);
    let t = if node.kind == NodeKind::Operator {
        RADIUS / length
    } else {
        let half_width = half_width(node);
        (half_width / dx.abs().max(1e-9)).min(HALF_SQUARE / dy.abs().max(1e-9))
    };
    Point {
        x: centre.x + dx * t,
        y: centre.y + dy * t,
    }
}

/// Draws one node at `at`, its detail lines on `side` from `anchor`; `data-node` holds its
/// index in [`GraphView::nodes`], so that a page can find the node a click landed on.
fn draw_node(
    svg: &mut String,
    index: usize,
    node: &ViewNode,
    at: Point,
    side: Side,
    anchor: Point,
) {
    let kind = match node.kind {
        NodeKind::Input => "input",
        NodeKind::Parameter => "parameter",
        NodeKind::Intermediate => "intermediate",
        NodeKind::Operator => "operator",
    };
    let kept = node.kept_bytes.is_some();
    let (stroke, stroke_width) = if kept { (KEPT_COLOUR, 3.0) } else { (INK, 1.5) };
    let _ = write!(
        svg,
        r#"<g class="node {kind}{}" data-node="{index}"><title>{}</title>"#,
        if kept { " kept" } else { "" },
        escape(&node.label)
    );
    if node.kind == NodeKind::Operator {
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{RADIUS}" fill="white" stroke="{stroke}" stroke-width="{stroke_width}"/>"#,
            at.x, at.y
        );
        let size = if node.label.chars().count() > 2 {
            11.0
        } else {
            17.0
        };
        let font = if node.label.chars().all(char::is_alphabetic) && size > 11.0 {
            r#" font-family="DejaVu Serif, Times New Roman, serif" font-style="italic""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="{size}"{font} text-anchor="middle" fill="{INK}">{}</text>"#,
            at.x,
            at.y + size * 0.35,
            escape(&node.label)
        );
    } else {
        let fill = if node.kind == NodeKind::Parameter {
            PARAMETER_FILL
        } else {
            "white"
        };
        let half_width = half_width(node);
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"/>"#,
            at.x - half_width,
            at.y - HALF_SQUARE,
            2.0 * half_width,
            2.0 * HALF_SQUARE
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="17" font-family="DejaVu Serif, Times New Roman, serif" font-style="italic" text-anchor="middle" fill="{INK}">{}</text>"#,
            at.x,
            at.y + 6.0,
            math_text::svg(&node.label, 17.0)
        );
    }
    let text_anchor = match side {
        Side::Below | Side::Above => "middle",
        Side::Right => "start",
        Side::Left => "end",
    };
    for (i, line) in node.details.iter().enumerate() {
        let class = if line.starts_with("∂J") {
            "detail gradient"
        } else {
            "detail"
        };
        let colour = if line.starts_with("kept") {
            KEPT_COLOUR
        } else {
            "#555555"
        };
        let _ = write!(
            svg,
            r#"<text class="{class}" x="{:.1}" y="{:.1}" font-size="{DETAIL_SIZE}" text-anchor="{text_anchor}" fill="{colour}">{}</text>"#,
            anchor.x,
            anchor.y + LINE_HEIGHT * i as f64,
            math_text::svg(line, DETAIL_SIZE)
        );
    }
    svg.push_str("</g>\n");
}

/// The `l2` group's label: the operator's name as Fig. 4.7.1 writes it (`l2`), then its
/// formula with the subscripts typeset (`Σ_k ‖W_k‖_F²` without raw underscores).
fn l2_label() -> String {
    let label = l2_group_label(Notation::Unicode);
    match label.split_once(": ") {
        Some((name, formula)) => format!("{}: {}", escape(name), math_text::svg(formula, 13.0)),
        None => math_text::svg(&label, 13.0),
    }
}

fn legend(svg: &mut String, y: f64) {
    let x = MARGIN;
    let _ = write!(
        svg,
        r#"<g class="legend" font-size="12" fill="{INK}"><rect x="{x}" y="{:.1}" width="14" height="14" fill="white" stroke="{INK}"/><text x="{:.1}" y="{:.1}">variable</text>"#,
        y - 11.0,
        x + 20.0,
        y
    );
    let x2 = x + 90.0;
    let _ = write!(
        svg,
        r#"<rect x="{x2}" y="{:.1}" width="14" height="14" fill="{PARAMETER_FILL}" stroke="{INK}"/><text x="{:.1}" y="{:.1}">parameter</text>"#,
        y - 11.0,
        x2 + 20.0,
        y
    );
    let x3 = x2 + 100.0;
    let _ = write!(
        svg,
        r#"<circle cx="{:.1}" cy="{:.1}" r="7" fill="white" stroke="{INK}"/><text x="{:.1}" y="{:.1}">operator</text>"#,
        x3 + 7.0,
        y - 4.0,
        x3 + 20.0,
        y
    );
    let x4 = x3 + 95.0;
    let _ = write!(
        svg,
        r#"<rect x="{x4}" y="{:.1}" width="14" height="14" fill="white" stroke="{KEPT_COLOUR}" stroke-width="3"/><text x="{:.1}" y="{:.1}">kept for backward (--saved)</text>"#,
        y - 11.0,
        x4 + 20.0,
        y
    );
    let x5 = x4 + 190.0;
    let _ = write!(
        svg,
        r##"<text x="{x5}" y="{y:.1}" fill="#555555">arrows: direction of data flow in forward propagation</text></g>"##
    );
    svg.push('\n');
}

/// `text` with the characters XML reserves escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Activation;
    use crate::nn::{Loss, Mlp, MlpConfig};
    use crate::tensor::Tensor;
    use crate::viz::graph_layout::layout;
    use crate::viz::graph_view::{graph_view, ViewOptions};

    /// Every pair of a variable's detail line and an operator's that touch, for the graph of
    /// a `2-hidden-3` network after forward and backward on one sample.
    fn touching_lines(hidden: Vec<usize>, bias: bool) -> Vec<(String, String)> {
        let config = MlpConfig {
            hidden,
            bias,
            ..MlpConfig::d2l(2, 1, 3, Activation::Relu, Loss::CrossEntropy, 0.01)
        };
        let mut mlp = Mlp::<f32>::new(config, 0).unwrap();
        mlp.set_batch(&Tensor::from_vec(1, 2, vec![0.3, -0.7]).unwrap(), &[1])
            .unwrap();
        mlp.forward().unwrap();
        mlp.backward().unwrap();
        let options = ViewOptions {
            batch: None,
            values: true,
            saved: false,
        };
        let view = graph_view(&mlp, options);
        let layout = layout(&mlp, &view);
        let sides: Vec<Side> = (0..view.nodes.len())
            .map(|i| detail_side(&view, &layout, i))
            .collect();
        let anchors = detail_anchors(&view, &layout, &sides);
        let lines = |i: usize| {
            let node = &view.nodes[i];
            node.details
                .iter()
                .cloned()
                .zip(detail_lines(node, sides[i], anchors[i]))
                .map(|(text, line)| (format!("{}: {text}", node.label), line))
                .collect::<Vec<_>>()
        };
        let mut touching = Vec::new();
        for i in 0..view.nodes.len() {
            for j in 0..view.nodes.len() {
                let operator = view.nodes[j].kind == NodeKind::Operator;
                if view.nodes[i].kind == NodeKind::Operator || !operator {
                    continue;
                }
                for (ours, a) in lines(i) {
                    for (theirs, b) in lines(j) {
                        if a.touches(&b) {
                            touching.push((ours.clone(), theirs));
                        }
                    }
                }
            }
        }
        touching
    }

    #[test]
    fn no_value_line_touches_the_name_of_an_operator() {
        // The D2L network (`o` right after `×`), with biases (`u_o`, then `+`), deeper.
        for (hidden, bias) in [(vec![5], false), (vec![16, 16], true), (vec![8; 4], false)] {
            let touching = touching_lines(hidden.clone(), bias);
            assert!(touching.is_empty(), "{hidden:?}, bias {bias}: {touching:?}");
        }
    }
}
