//! Pictures: training curves, and the computational graph that forward propagation builds.
pub mod graph_dot;
pub mod graph_layout;
pub mod graph_svg;
pub mod graph_view;
pub mod math_text;
pub mod plot;
