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
    ($t:ty, $name:literal, $underflow:literal) => {
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
                <$t>::exp(self)
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

impl_element!(f32, "f32", -87.33654);
impl_element!(f64, "f64", -708.396_418_532_264_1);
