//! The one detection of the CPU's vector instructions, used by every kernel: the matrix
//! product picks its register kernel from it ([`super::sgemm`]), element-wise loops the
//! instruction set they are compiled for ([`super::vectorised`]).
//!
//! The crate is built for the baseline of its target (for `x86_64`, SSE2), so that one
//! binary runs on any CPU of the architecture; wider instructions are chosen at run time.
//! The choice never changes the arithmetic, only how many lanes compute it.

/// A level of vector instructions the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512 (F, BW, DQ, VL): sixteen `f32` lanes; the `12 x 32` product kernel.
    Avx512,
    /// AVX2 with FMA: eight `f32` lanes; the `6 x 16` product kernel.
    Avx2,
    /// The target's baseline (SSE2 on `x86_64`): no product kernel of this crate (`faer`
    /// computes products), element-wise loops as the compiler makes them.
    Baseline,
}

impl Isa {
    /// Every level, widest first.
    pub const WIDEST_FIRST: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Baseline];

    /// The widest level this CPU has (the features are detected once, then cached by the
    /// standard library).
    #[inline]
    pub fn detect() -> Isa {
        Isa::WIDEST_FIRST
            .into_iter()
            .find(|isa| isa.runs_here())
            .unwrap_or(Isa::Baseline)
    }

    /// Every level this CPU has, widest first (the baseline always): the levels whose code
    /// can be tested here.
    #[cfg(test)]
    pub fn available() -> Vec<Isa> {
        Isa::WIDEST_FIRST
            .into_iter()
            .filter(|isa| isa.runs_here())
            .collect()
    }

    /// Whether this CPU has every feature the level's code is compiled with.
    #[inline]
    pub fn runs_here(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match self {
                Isa::Avx512 => {
                    has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl")
                }
                Isa::Avx2 => has!("avx2") && has!("fma"),
                Isa::Baseline => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Isa::Baseline
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detected_level_is_the_widest_available_and_the_baseline_always_runs() {
        let available = Isa::available();
        assert_eq!(available.first(), Some(&Isa::detect()));
        assert_eq!(available.last(), Some(&Isa::Baseline));
        // A wider level implies the narrower ones (AVX-512 CPUs have AVX2 and FMA).
        if available.contains(&Isa::Avx512) {
            assert!(available.contains(&Isa::Avx2));
        }
        eprintln!("instruction sets on this CPU: {available:?}");
    }
}
