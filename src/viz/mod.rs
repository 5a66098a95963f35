//! Pictures: training curves.
pub mod plot;
