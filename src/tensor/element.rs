//! The element types a [`Tensor`](super::Tensor) can hold: `f32` for training, `f64` for checking.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point element type of the engine.
///
/// The engine is generic over its element type instead of carrying a run-time dtype: the
/// same graph, operators and MLP run in `f32` (training, fast) and in `f64` (gradient checks,
/// where central finite differences need the extra precision). Only `f32` and `f64` implement
/// it.
pub trait Element:
    Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + Sum
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + super::matmul::GemmScalar
    + 'static
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// The name of the type, as written in model files (`"f32"` or `"f64"`).
    const NAME: &'static str;
    /// `ln` of the smallest positive normal number: below it, `exp` underflows.
    const EXP_UNDERFLOW: Self;

    /// Converts from `f64` (rounding to nearest for `f32`).
    fn from_f64(value: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts from `f32` (exact).
    fn from_f32(value: f32) -> Self;
    /// e^self.
    fn exp(self) -> Self;
    /// e^self, or exactly 0 where that is below the smallest normal number: the C library's
    /// `exp` takes a slow path for every result that underflows, which a confident softmax
    /// hits for almost every class.
    #[inline(always)]
    fn exp_flushed(self) -> Self {
        if self < Self::EXP_UNDERFLOW {
            Self::ZERO
        } else {
            self.exp()
        }
    }
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// `self` raised to an integer power.
    fn powi(self, n: i32) -> Self;
    /// The larger of two values (NaN-propagating is not required).
    fn max(self, other: Self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

macro_rules! impl_element {
    ($t:ty, $name:literal, $underflow:literal, $exp:path) => {
        impl Element for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = $name;
            const EXP_UNDERFLOW: Self = $underflow;

            #[inline(always)]
            fn from_f64(value: f64) -> Self {
                value as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f32(value: f32) -> Self {
                value as $t
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                if self > other {
                    self
                } else {
                    other
                }
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

impl_element!(f32, "f32", -87.33654, exp_f32);
impl_element!(f64, "f64", -708.396_418_532_264_1, f64::exp);

/// e^x in `f32` without a call into the C library: Cephes' `expf` (range reduction
/// `x = n ln 2 + r`, a degree-6 polynomial for `e^r`, then `2^n` put into the exponent bits),
/// at most 2 ulp from the correctly rounded result. It has no branch and no call, so the
/// loops of sigmoid and softmax vectorise; the C library's `expf` is a call per element.
/// Inputs are clamped to the range where the result is a normal number.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two, so that n ln 2 is subtracted without rounding error.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds to the nearest integer and leaves it in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.clamp(-87.336_55, 88.376_26);
    let shifted = x * LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = (x - n * LN2_HIGH) - n * LN2_LOW;
    let mut p = 1.987_569_2e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    let n_bits = shifted.to_bits().wrapping_sub(ROUNDER.to_bits()) as i32;
    f32::from_bits((e_r.to_bits() as i32).wrapping_add(n_bits << 23) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_within_two_ulp_of_the_correctly_rounded_value() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let exact = (x as f64).exp();
            let got = exp_f32(x) as f64;
            let ulp = (exact as f32).abs() as f64 * f32::EPSILON as f64;
            worst = worst.max((got - exact).abs() / ulp);
            x += 0.001_7;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f32(-1000.0) > 0.0 && exp_f32(-1000.0) < 1.2e-38);
        assert!(exp_f32(1000.0).is_finite());
    }
}
