//! What the hidden units learned: each row of `W1` (the weights from the 784 pixels into one
//! hidden unit, whose product with `x` is that unit's `z` of 4.7.1) drawn as a 28 x 28
//! image, the units with the largest `‖row‖₂` first.
//!
//! The weights are sent rounded to the decimal grid of the reply's colour scale
//! ([`scale_step_exponent`]): the page only turns `w / scale` into a colour, and 784 weights
//! per unit printed with every digit of an `f32` made 256 units a 4.2 MB reply.

use crate::data::mnist_framing::MNIST_SIDE;
use crate::nn::Mlp;
use serde::Serialize;

/// The most units one reply holds (the widest hidden layer of image mode).
pub const MAX_UNITS: usize = super::settings::MAX_IMAGE_WIDTH;
/// The units a reply holds unless asked for fewer or more.
pub const DEFAULT_UNITS: usize = 64;

/// One row of `W1`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitWeights {
    /// The unit `j` (row `j` of `W1`).
    pub unit: usize,
    /// `‖W1[j]‖₂` of the weights as trained (not as rounded).
    pub norm: f64,
    /// `norm` as the page writes it ([`crate::format::short_number`]).
    pub norm_text: String,
    /// The 784 weights, row-major as the image's pixels, rounded to the reply's decimal
    /// grid ([`scale_step_exponent`]).
    pub weights: Vec<f64>,
}

/// The rows of `W1` sent, largest norm first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HiddenUnits {
    /// Image rows (28).
    pub rows: usize,
    /// Image columns (28).
    pub cols: usize,
    /// Rows of `W1` in all.
    pub hidden: usize,
    /// The step the weights are from.
    pub step: u64,
    /// The largest `|w|` over the rows sent, as sent (one colour scale for all of them).
    pub scale: f64,
    /// `scale` as the page writes it ([`crate::format::short_number`]).
    pub scale_text: String,
    /// The rows sent.
    pub units: Vec<UnitWeights>,
}

/// The `limit` rows of `mlp`'s `W1` with the largest norms (ties: the lower unit first), at
/// step `step`; all rows when it has fewer, each weight rounded as [`scale_step_exponent`]
/// says. `None` unless `W1` takes 28 x 28 images.
pub fn hidden_units(mlp: &Mlp<f32>, limit: usize, step: u64) -> Option<HiddenUnits> {
    let w = mlp.weight(1);
    if w.cols() != MNIST_SIDE * MNIST_SIDE {
        return None;
    }
    let rows: Vec<&[f32]> = w.as_slice().chunks_exact(w.cols()).collect();
    let mut order: Vec<(usize, f64)> = rows
        .iter()
        .enumerate()
        .map(|(j, row)| (j, crate::format::norm(&to_f64(row))))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(limit);
    let scale = order
        .iter()
        .flat_map(|&(unit, _)| rows[unit].iter())
        .fold(0.0f32, |m, w| m.max(w.abs()));
    let exponent = scale_step_exponent(scale);
    let units: Vec<UnitWeights> = order
        .into_iter()
        .map(|(unit, norm)| UnitWeights {
            unit,
            norm,
            norm_text: crate::format::short_number(norm),
            weights: rows[unit]
                .iter()
                .map(|&w| round_to_step(w, exponent))
                .collect(),
        })
        .collect();
    let scale = round_to_step(scale, exponent);
    Some(HiddenUnits {
        rows: MNIST_SIDE,
        cols: MNIST_SIDE,
        hidden: w.rows(),
        step,
        scale,
        scale_text: crate::format::short_number(scale),
        units,
    })
}

/// The exponent `e - 3` of the step `10^(e-3)` the weights of a reply are rounded to, where
/// `10^e <= scale < 10^(e+1)`: the grid of `scale`'s fourth significant digit, so every
/// weight keeps 4 significant digits relative to the colour scale. `None` (no rounding) when
/// `scale` is 0 or not finite.
///
/// Why this grid: the step is at most `scale · 10⁻³`, so a weight moves by at most
/// `scale · 5·10⁻⁴`, and the page's colour (`divergingRgb(w / scale)`, a channel
/// `0.9 · |255 - c| · |w| / scale` away from white) by at most 0.11 of one of 255 levels:
/// one level at most, never visible. Being a power of ten, its multiples print short
/// (`-0.0123`), which a step of exactly `scale · 10⁻⁴` does not (its multiples print with 17
/// digits, no shorter than now); and unlike 4 significant digits of each weight, small
/// weights get no digits their colour cannot show. Measured on 256 units of MNIST
/// (docs/decisions.md): 4.19 MB unrounded, 1.49 MB on this grid, about 1.69 MB on the grid of
/// `10^(e-4)` or with 4 significant digits of each weight.
pub fn scale_step_exponent(scale: f32) -> Option<i32> {
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    // `as`: floor(log10) of a finite positive f32 lies in -45..=38.
    Some(f64::from(scale).log10().floor() as i32 - 3)
}

/// `w` rounded to the nearest multiple of `10^exponent`, as the `f64` nearest that decimal (so
/// it prints as the decimal); `w` itself when `exponent` is `None` or `w` is not finite.
pub fn round_to_step(w: f32, exponent: Option<i32>) -> f64 {
    let w = f64::from(w);
    match exponent {
        Some(e) if w.is_finite() => {
            // Dividing by an exact power of ten gives the f64 nearest to the decimal; `+ 0.0`
            // turns a -0 into 0.
            let places = 10f64.powi(e.abs());
            let rounded = if e < 0 {
                (w * places).round() / places
            } else {
                (w / places).round() * places
            };
            rounded + 0.0
        }
        _ => w,
    }
}

fn to_f64(row: &[f32]) -> Vec<f64> {
    row.iter().map(|&v| f64::from(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Loss, MlpConfig};

    #[test]
    fn the_rows_come_largest_norm_first_rounded_within_half_a_step_of_the_true_weights() {
        let config = MlpConfig::d2l(784, 5, 10, Activation::Relu, Loss::CrossEntropy, 0.0);
        let mlp: Mlp<f32> = Mlp::new(config, 3).unwrap();
        let units = hidden_units(&mlp, 3, 7).unwrap();
        assert_eq!((units.hidden, units.step, units.units.len()), (5, 7, 3));
        let norms: Vec<f64> = units.units.iter().map(|u| u.norm).collect();
        assert!(norms.windows(2).all(|w| w[0] >= w[1]), "{norms:?}");
        let w = mlp.weight(1).as_slice();
        let true_scale = units
            .units
            .iter()
            .flat_map(|u| &w[u.unit * 784..(u.unit + 1) * 784])
            .fold(0.0f32, |m, w| m.max(w.abs()));
        let exponent = scale_step_exponent(true_scale).unwrap();
        let step = 10f64.powi(exponent);
        let true_scale = f64::from(true_scale);
        assert!(
            true_scale * 1e-4 <= step && step <= true_scale * 1e-3,
            "step {step} for scale {true_scale}"
        );
        let mut most = 0.0f64;
        for unit in &units.units {
            let trained = &w[unit.unit * 784..(unit.unit + 1) * 784];
            assert_eq!(unit.norm, crate::format::norm(&to_f64(trained)));
            assert_eq!(unit.weights.len(), 784);
            for (&sent, &trained) in unit.weights.iter().zip(trained) {
                let error = (sent - f64::from(trained)).abs();
                assert!(error <= step / 2.0 * (1.0 + 1e-9), "{sent} for {trained}");
                let text = serde_json::to_string(&sent).unwrap();
                let decimals = text.split('.').nth(1).map_or(0, str::len);
                assert!(
                    decimals <= (-exponent) as usize,
                    "{text} on a step of {step}"
                );
                most = most.max(sent.abs());
            }
        }
        assert_eq!(units.scale, most);
        assert!((units.scale - true_scale).abs() <= step / 2.0);
        assert_eq!(hidden_units(&mlp, 64, 0).unwrap().units.len(), 5);
    }

    #[test]
    fn rounding_keeps_four_significant_digits_of_the_scale_at_any_size() {
        assert_eq!(scale_step_exponent(0.377), Some(-4));
        assert_eq!(scale_step_exponent(1.0), Some(-3));
        assert_eq!(scale_step_exponent(1234.5), Some(0));
        assert_eq!(round_to_step(0.012_345_6, Some(-4)), 0.0123);
        assert_eq!(round_to_step(-0.000_04, Some(-4)).to_string(), "0");
        assert_eq!(round_to_step(56_789.0, Some(1)), 56_790.0);
        for scale in [0.0, f32::NAN, f32::INFINITY] {
            assert_eq!(scale_step_exponent(scale), None);
        }
        assert_eq!(round_to_step(0.123_456, None), f64::from(0.123_456f32));
        assert!(round_to_step(f32::NAN, Some(-4)).is_nan());
    }
}
