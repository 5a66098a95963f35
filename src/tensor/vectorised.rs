//! Running a loop compiled for the widest vector instructions the CPU has.
//!
//! The crate is built for the baseline of its target (for `x86_64`, SSE2: four `f32` lanes),
//! so that one binary runs on any CPU of the architecture. [`vectorised`] compiles the loop it
//! is given a second and a third time, for AVX-512 and for AVX2, and picks one at run time,
//! as the matrix product does with its kernel.
//!
//! Only the instruction set changes, never the arithmetic: Rust does not contract `a * b + c`
//! into a fused multiply-add nor reorder a sum, so every version computes bit-identical
//! results and a run is reproducible across machines.

/// The vector instructions a loop given to [`vectorised`] is compiled for on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorIsa {
    /// AVX-512 (F, BW, DQ, VL): sixteen `f32` lanes.
    Avx512,
    /// AVX2 with FMA: eight `f32` lanes.
    Avx2,
    /// The target's baseline (SSE2 on `x86_64`).
    Baseline,
}

impl VectorIsa {
    /// The widest instruction set this CPU has (detected once, then cached by the standard
    /// library).
    #[inline]
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
                return VectorIsa::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return VectorIsa::Avx2;
            }
        }
        VectorIsa::Baseline
    }
}

/// Runs `body` compiled for [`VectorIsa::detect`]: element-wise loops inside `body` (and the
/// closures they call, which the compiler inlines into it) are vectorised sixteen `f32`
/// lanes wide on a CPU with AVX-512.
///
/// Mark the closure `#[inline(always)]`: the instruction set only applies to code inlined
/// into this function, and a closure with a loop is otherwise sometimes compiled apart, for
/// the baseline (`vectorised(#[inline(always)] || ...)`).
#[inline(always)]
pub fn vectorised<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match VectorIsa::detect() {
        // SAFETY: the CPU has the features these functions are compiled for.
        VectorIsa::Avx512 => return unsafe { avx512(body) },
        VectorIsa::Avx2 => return unsafe { avx2(body) },
        VectorIsa::Baseline => {}
    }
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_set_computes_the_same_bits() {
        let a: Vec<f32> = (0..1037).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..1037).map(|i| (i as f32 * 0.11).cos()).collect();
        let kernel = |a: &[f32], b: &[f32]| -> Vec<f32> {
            a.iter().zip(b).map(|(&x, &y)| x * y + x.max(0.0)).collect()
        };
        let plain = kernel(&a, &b);
        assert_eq!(
            vectorised(
                #[inline(always)]
                || kernel(&a, &b)
            ),
            plain
        );
        #[cfg(target_arch = "x86_64")]
        {
            if VectorIsa::detect() == VectorIsa::Avx512 {
                assert_eq!(unsafe { avx2(|| kernel(&a, &b)) }, plain);
            }
        }
        assert_eq!(plain[3], a[3] * b[3] + a[3].max(0.0));
    }
}
