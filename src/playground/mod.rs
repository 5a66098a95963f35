//! `backprop serve`: a local playground page in the spirit of TensorFlow Playground, with
//! the mathematics shown. Pick a 2-D dataset and a network, press play, and watch the
//! decision boundary, the loss and accuracy curves and the weights move; click a node of the
//! D2L network's computational graph to see its value, its gradient and the equation (4.7.1 –
//! 4.7.14) that computed it, or step through backward propagation one operator at a time.
//!
//! All computing happens here in Rust with this project's engine; the page only draws what
//! the JSON API returns.
//!
//! - [`settings`]: what a page may ask for, and the caps on sizes;
//! - [`session`]: one training run, stepped with [`crate::train::Trainer::step`];
//! - [`runner`]: a session's training thread, which makes every step (played or asked for
//!   by `/step`); [`registry`]: the sessions;
//! - [`comparison`]: two runs side by side, stepped in lockstep by one runner;
//! - [`heatmap`], [`network`], [`neuron`], [`d2l_graph`] (with [`equations`]): the views' data;
//!   [`ticks`]: the values and labels of their axes' ticks;
//! - [`images`]: the image dataset of `serve --dataset`, shared by the sessions on it;
//!   [`drawing`], [`hidden_units`], [`held_out`]: image mode's views (the drawing canvas,
//!   the rows of `W1` as images, the confusion matrix and its cells' images);
//! - [`routes`]: the HTTP API; [`access`]: the Host and Origin rules; [`server`]: the
//!   server, with its limits on sizes, times and connections; [`assets`]: the embedded page.

pub mod access;
pub mod assets;
pub mod comparison;
pub mod d2l_graph;
pub mod drawing;
pub mod equations;
pub mod heatmap;
pub mod held_out;
pub mod hidden_units;
pub mod images;
pub mod network;
pub mod neuron;
pub mod plugged;
pub mod query;
pub mod registry;
pub mod routes;
pub mod runner;
pub mod server;
pub mod session;
pub mod settings;
pub mod ticks;

pub use server::PlaygroundServer;
pub use settings::Settings;
