//! The shared machinery of the generated 2-D datasets: checking the common settings and
//! drawing interleaved, class-balanced train and test sets from a point sampler.

use super::dataset::{Dataset, Splits};
use super::error::{DataError, Result};
use crate::rng::Rng;

/// The most points one generated split may hold (10 million, 80 MB of features).
pub const MAX_GENERATED_POINTS: usize = 10_000_000;

/// The settings every generator has, borrowed from its config.
pub(crate) struct PlanarSettings {
    /// Generator name for messages ("spiral", ...).
    pub generator: &'static str,
    pub classes: usize,
    pub train_per_class: usize,
    pub test_per_class: usize,
    pub noise: f32,
    pub seed: u64,
}

impl PlanarSettings {
    fn invalid(&self, reason: String) -> DataError {
        DataError::InvalidGeneratorConfig {
            generator: self.generator,
            reason,
        }
    }

    fn check(&self) -> Result<()> {
        if !(2..=256).contains(&self.classes) {
            return Err(self.invalid(format!("{} classes; expected 2 to 256", self.classes)));
        }
        if self.train_per_class == 0 {
            return Err(
                self.invalid("0 training points per class; expected at least 1".to_string())
            );
        }
        for (split, per_class) in [
            ("training", self.train_per_class),
            ("test", self.test_per_class),
        ] {
            if per_class.saturating_mul(self.classes) > MAX_GENERATED_POINTS {
                return Err(self.invalid(format!(
                    "{per_class} {split} points per class x {} classes; expected at most {MAX_GENERATED_POINTS} points",
                    self.classes
                )));
            }
        }
        if !self.noise.is_finite() || self.noise < 0.0 {
            return Err(self.invalid(format!(
                "noise {}; expected a finite number >= 0",
                self.noise
            )));
        }
        Ok(())
    }

    /// Generates the train set (and the test set, if `test_per_class > 0`) by calling
    /// `sample(rng, class)` for one point at a time. Samples are interleaved by class
    /// (sample `i` has label `i % classes`), so any tail of the data is class-balanced.
    /// Train and test come from independent streams derived from the seed.
    pub fn generate(&self, mut sample: impl FnMut(&mut Rng, usize) -> [f64; 2]) -> Result<Splits> {
        self.check()?;
        let mut root = Rng::new(self.seed);
        let mut train_rng = Rng::new(root.next_u64());
        let mut test_rng = Rng::new(root.next_u64());
        let train = self.draw(&mut train_rng, self.train_per_class, &mut sample)?;
        let test = if self.test_per_class > 0 {
            Some(self.draw(&mut test_rng, self.test_per_class, &mut sample)?)
        } else {
            None
        };
        Ok(Splits { train, test })
    }

    fn draw(
        &self,
        rng: &mut Rng,
        per_class: usize,
        sample: &mut impl FnMut(&mut Rng, usize) -> [f64; 2],
    ) -> Result<Dataset> {
        let count = per_class * self.classes;
        let mut features = Vec::with_capacity(2 * count);
        let mut labels = Vec::with_capacity(count);
        for _ in 0..per_class {
            for class in 0..self.classes {
                let [x, y] = sample(rng, class);
                features.push(x as f32);
                features.push(y as f32);
                labels.push(class as u8);
            }
        }
        Dataset::from_floats(features, labels, 2)
    }
}
