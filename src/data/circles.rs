//! Concentric circles: class `c` of `k` lies on the ring of radius `(c + 1) / k`, with
//! Gaussian radial noise.

use serde::{Deserialize, Serialize};

use super::dataset::Splits;
use super::error::Result;
use super::planar::PlanarSettings;

/// Settings of [`circles`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CirclesConfig {
    /// Number of rings (classes), 2 to 256.
    pub classes: usize,
    /// Training points per class (at least 1).
    pub train_per_class: usize,
    /// Test points per class (0 for no test set).
    pub test_per_class: usize,
    /// Standard deviation of the radial noise.
    pub noise: f32,
    /// Seed of the generator: the same seed gives bit-identical data.
    pub seed: u64,
}

impl Default for CirclesConfig {
    /// 2 rings (radius 0.5 and 1), 500 training and 500 test points per class, noise 0.05.
    fn default() -> Self {
        Self {
            classes: 2,
            train_per_class: 500,
            test_per_class: 500,
            noise: 0.05,
            seed: 0,
        }
    }
}

/// Generates concentric rings, labels `0..classes` from the inside out, interleaved by class.
pub fn circles(config: &CirclesConfig) -> Result<Splits> {
    let settings = PlanarSettings {
        generator: "circles",
        classes: config.classes,
        train_per_class: config.train_per_class,
        test_per_class: config.test_per_class,
        noise: config.noise,
        seed: config.seed,
    };
    let classes = config.classes as f64;
    let noise = f64::from(config.noise);
    settings.generate(|rng, class| {
        let radius = (class as f64 + 1.0) / classes + noise * rng.normal();
        let angle = rng.uniform(0.0, std::f64::consts::TAU);
        [radius * angle.cos(), radius * angle.sin()]
    })
}
