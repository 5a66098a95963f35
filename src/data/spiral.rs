//! The spiral dataset, the built-in default: interleaved spiral arms, one per class, in the
//! unit disc. Not linearly separable, but a small MLP separates it.
//!
//! A point of class `c` (of `k`) at radius `r`, drawn uniformly in `[0, 1)`, lies at angle
//! `2*pi*c/k + 2*pi*turns*r + noise*z` with `z` standard normal — the classic cs231n
//! spiral with the angular noise scaled by `noise`.

use std::f64::consts::TAU;

use serde::{Deserialize, Serialize};

use super::dataset::Splits;
use super::error::{DataError, Result};
use super::planar::PlanarSettings;

/// Settings of [`spiral`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpiralConfig {
    /// Number of arms (classes), 2 to 256.
    pub classes: usize,
    /// Training points per class (at least 1).
    pub train_per_class: usize,
    /// Test points per class (0 for no test set).
    pub test_per_class: usize,
    /// Standard deviation of the angular noise, in radians.
    pub noise: f32,
    /// How many turns each arm makes from the centre to radius 1 (positive).
    pub turns: f32,
    /// Seed of the generator: the same seed gives bit-identical data.
    pub seed: u64,
}

impl Default for SpiralConfig {
    /// 3 arms of 3/4 turn, 20,000 training and 3,334 test points per class (an
    /// MNIST-sized 60,000 / 10,002 split, so that `backprop train`'s default 10 epochs of batch 256
    /// make 2,350 updates), noise 0.2 rad, seed 0.
    fn default() -> Self {
        Self {
            classes: 3,
            train_per_class: 20_000,
            test_per_class: 3_334,
            noise: 0.2,
            turns: 0.75,
            seed: 0,
        }
    }
}

/// Generates the spiral dataset: features `(x, y)` in `[-1, 1]`, labels `0..classes`,
/// interleaved by class.
pub fn spiral(config: &SpiralConfig) -> Result<Splits> {
    if !config.turns.is_finite() || config.turns <= 0.0 {
        return Err(DataError::InvalidGeneratorConfig {
            generator: "spiral",
            reason: format!("{} turns; expected a finite number > 0", config.turns),
        });
    }
    let settings = PlanarSettings {
        generator: "spiral",
        classes: config.classes,
        train_per_class: config.train_per_class,
        test_per_class: config.test_per_class,
        noise: config.noise,
        seed: config.seed,
    };
    let arm_offset = TAU / config.classes as f64;
    let sweep = TAU * f64::from(config.turns);
    let noise = f64::from(config.noise);
    settings.generate(|rng, class| {
        let radius = rng.next_f64();
        let angle = arm_offset * class as f64 + sweep * radius + noise * rng.normal();
        [radius * angle.cos(), radius * angle.sin()]
    })
}
