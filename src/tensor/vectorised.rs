//! Running a loop compiled for the widest vector instructions the CPU has.
//!
//! The crate is built for the baseline of its target (for `x86_64`, SSE2: four `f32` lanes),
//! so that one binary runs on any CPU of the architecture. [`vectorised`] compiles the loop it
//! is given a second and a third time, for AVX-512 and for AVX2, and picks one at run time
//! by the detection the matrix product uses too ([`Isa::detect`]).
//!
//! Only the instruction set changes, never the arithmetic: Rust does not contract `a * b + c`
//! into a fused multiply-add nor reorder a sum, so every version computes bit-identical
//! results and a run is reproducible across machines.

use super::isa::Isa;

/// Runs `body` compiled for [`Isa::detect`]: element-wise loops inside `body` (and the
/// closures they call, which the compiler inlines into it) are vectorised sixteen `f32`
/// lanes wide on a CPU with AVX-512.
///
/// Mark the closure `#[inline(always)]`: the instruction set only applies to code inlined
/// into this function, and a closure with a loop is otherwise sometimes compiled apart, for
/// the baseline (`vectorised(#[inline(always)] || ...)`).
#[inline(always)]
pub fn vectorised<R>(body: impl FnOnce() -> R) -> R {
    compiled_for(Isa::detect(), body)
}

/// Runs `body` compiled for `isa`, which this CPU must have ([`Isa::runs_here`]; checked).
#[inline(always)]
fn compiled_for<R>(isa: Isa, body: impl FnOnce() -> R) -> R {
    assert!(isa.runs_here(), "{isa:?} does not run on this CPU");
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: the CPU has the features these functions are compiled for (checked above).
        Isa::Avx512 => return unsafe { avx512(body) },
        Isa::Avx2 => return unsafe { avx2(body) },
        Isa::Baseline => {}
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
        for isa in Isa::available() {
            assert_eq!(
                compiled_for(
                    isa,
                    #[inline(always)]
                    || kernel(&a, &b)
                ),
                plain,
                "{isa:?}"
            );
        }
        assert_eq!(plain[3], a[3] * b[3] + a[3].max(0.0));
    }
}
