//! The one detection of the CPU's vector instructions, used by every kernel: the matrix
//! product picks its register kernel from it (`tensor::sgemm`), element-wise loops the
//! instruction set they are compiled for (`tensor::vectorised`).
//!
//! The crate is built for the baseline of its target (for `x86_64`, SSE2), so that one
//! binary runs on any CPU of the architecture; wider instructions are chosen at run time.
//! The choice never changes the arithmetic, only how many lanes compute it (and so the order
//! in which sums are added: results are bit-identical for one level, not across levels).
//!
//! The environment variable [`ISA_VAR`] (`BACKPROP_ISA=avx2`) asks for a narrower level than
//! the CPU's widest, so that every level's kernels can be run, tested and measured on a CPU
//! that has a wider one.

use std::sync::OnceLock;

/// The environment variable that chooses the level: `avx512`, `avx2` or `baseline`.
pub const ISA_VAR: &str = "BACKPROP_ISA";

/// Why [`ISA_VAR`] cannot be followed: a name that is no level, or a level this CPU lacks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IsaRequestError {
    /// The value names no level.
    #[error("{ISA_VAR}={0:?} is not an instruction set; use avx512, avx2 or baseline")]
    Unknown(String),
    /// The level does not run on this CPU.
    #[error("{ISA_VAR}={0}: this CPU lacks it (it has {1})")]
    Unavailable(&'static str, &'static str),
}

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

    /// The level the kernels use: the one [`ISA_VAR`] asks for when it is valid here
    /// ([`Isa::requested`]), else the widest this CPU has. Decided once per process.
    #[inline]
    pub fn detect() -> Isa {
        static CHOSEN: OnceLock<Isa> = OnceLock::new();
        *CHOSEN.get_or_init(|| match Isa::requested() {
            Ok(Some(isa)) => isa,
            _ => Isa::widest(),
        })
    }

    /// The widest level this CPU has.
    pub fn widest() -> Isa {
        Isa::WIDEST_FIRST
            .into_iter()
            .find(|isa| isa.runs_here())
            .unwrap_or(Isa::Baseline)
    }

    /// The level [`ISA_VAR`] asks for: `None` when it is unset or empty, an error when it
    /// names no level or one this CPU lacks (a command reports it before it starts; the
    /// kernels then use the widest level).
    pub fn requested() -> Result<Option<Isa>, IsaRequestError> {
        let Some(value) = std::env::var_os(ISA_VAR) else {
            return Ok(None);
        };
        let text = value.to_string_lossy();
        if text.trim().is_empty() {
            return Ok(None);
        }
        let isa = Isa::parse(&text).ok_or_else(|| IsaRequestError::Unknown(text.to_string()))?;
        if !isa.runs_here() {
            return Err(IsaRequestError::Unavailable(
                isa.name(),
                Isa::widest().name(),
            ));
        }
        Ok(Some(isa))
    }

    /// The level named `avx512`, `avx2` or `baseline` (any case, `avx-512` too).
    pub fn parse(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().replace('-', "").as_str() {
            "avx512" => Some(Isa::Avx512),
            "avx2" => Some(Isa::Avx2),
            "baseline" => Some(Isa::Baseline),
            _ => None,
        }
    }

    /// The name [`Isa::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Baseline => "baseline",
        }
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
    fn every_level_is_parsed_from_its_name() {
        for isa in Isa::WIDEST_FIRST {
            assert_eq!(Isa::parse(isa.name()), Some(isa));
        }
        assert_eq!(Isa::parse(" AVX-512 "), Some(Isa::Avx512));
        assert_eq!(Isa::parse("sse9"), None);
    }

    #[test]
    fn the_widest_level_is_the_first_available_and_the_baseline_always_runs() {
        let available = Isa::available();
        assert_eq!(available.first(), Some(&Isa::widest()));
        assert_eq!(available.last(), Some(&Isa::Baseline));
        // A wider level implies the narrower ones (AVX-512 CPUs have AVX2 and FMA).
        if available.contains(&Isa::Avx512) {
            assert!(available.contains(&Isa::Avx2));
        }
        eprintln!("instruction sets on this CPU: {available:?}");
    }
}
