//! The XOR dataset: points in the four quadrants of `[-1, 1]^2`, class 0 where `x` and `y`
//! have the same sign, class 1 where they differ; a small margin keeps points off the axes
//! before Gaussian noise is added.

use serde::{Deserialize, Serialize};

use super::dataset::Splits;
use super::error::Result;
use super::planar::PlanarSettings;

/// Distance kept between the points and the axes before noise.
const AXIS_MARGIN: f64 = 0.05;

/// Settings of [`xor`]; the dataset always has 2 classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XorConfig {
    /// Training points per class (at least 1).
    pub train_per_class: usize,
    /// Test points per class (0 for no test set).
    pub test_per_class: usize,
    /// Standard deviation of the Gaussian noise added to each coordinate.
    pub noise: f32,
    /// Seed of the generator: the same seed gives bit-identical data.
    pub seed: u64,
}

impl Default for XorConfig {
    /// 500 training and 500 test points per class, noise 0.05.
    fn default() -> Self {
        Self {
            train_per_class: 500,
            test_per_class: 500,
            noise: 0.05,
            seed: 0,
        }
    }
}

/// Generates the XOR dataset, labels 0 (same signs) and 1 (different signs), interleaved.
pub fn xor(config: &XorConfig) -> Result<Splits> {
    let settings = PlanarSettings {
        generator: "xor",
        classes: 2,
        train_per_class: config.train_per_class,
        test_per_class: config.test_per_class,
        noise: config.noise,
        seed: config.seed,
    };
    let noise = f64::from(config.noise);
    settings.generate(|rng, class| {
        let x_sign = if rng.next_u64() & 1 == 0 { 1.0 } else { -1.0 };
        let y_sign = if class == 0 { x_sign } else { -x_sign };
        let x = x_sign * rng.uniform(AXIS_MARGIN, 1.0) + noise * rng.normal();
        let y = y_sign * rng.uniform(AXIS_MARGIN, 1.0) + noise * rng.normal();
        [x, y]
    })
}
