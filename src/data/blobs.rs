//! Gaussian blobs: class `c` of `k` is a round Gaussian cloud centred at angle `2*pi*c/k`
//! on the circle of radius [`BLOB_CENTRE_RADIUS`].

use serde::{Deserialize, Serialize};

use super::dataset::Splits;
use super::error::Result;
use super::planar::PlanarSettings;

/// Distance of every blob centre from the origin.
pub const BLOB_CENTRE_RADIUS: f64 = 0.6;

/// Settings of [`blobs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobsConfig {
    /// Number of blobs (classes), 2 to 256.
    pub classes: usize,
    /// Training points per class (at least 1).
    pub train_per_class: usize,
    /// Test points per class (0 for no test set).
    pub test_per_class: usize,
    /// Standard deviation of each blob along each axis.
    pub noise: f32,
    /// Seed of the generator: the same seed gives bit-identical data.
    pub seed: u64,
}

impl Default for BlobsConfig {
    /// 3 blobs, 500 training and 500 test points per class, standard deviation 0.15.
    fn default() -> Self {
        Self {
            classes: 3,
            train_per_class: 500,
            test_per_class: 500,
            noise: 0.15,
            seed: 0,
        }
    }
}

/// Generates Gaussian blobs, labels `0..classes`, interleaved by class.
pub fn blobs(config: &BlobsConfig) -> Result<Splits> {
    let settings = PlanarSettings {
        generator: "blobs",
        classes: config.classes,
        train_per_class: config.train_per_class,
        test_per_class: config.test_per_class,
        noise: config.noise,
        seed: config.seed,
    };
    let spacing = std::f64::consts::TAU / config.classes as f64;
    let noise = f64::from(config.noise);
    settings.generate(|rng, class| {
        let angle = spacing * class as f64;
        [
            BLOB_CENTRE_RADIUS * angle.cos() + noise * rng.normal(),
            BLOB_CENTRE_RADIUS * angle.sin() + noise * rng.normal(),
        ]
    })
}
