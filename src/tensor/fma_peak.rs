//! The FMA units' own peak, measured the way a CPU manual states it: a loop that keeps
//! independent chains of fused multiply-adds in vector registers and touches no memory. No
//! product can beat it, so `bench/compare.sh` reports every GFLOP/s figure as a share of it
//! (a large product is no reference: it is one of the things measured).
//!
//! Each chain is `acc = acc * 1 + 1` on every lane: one FMA (two flops per lane) per chain
//! and step, the chains independent of each other, so the loop is bound by the FMA units'
//! throughput once there are more chains than FMA latency times FMA ports (5 x 2 on AMD Zen
//! 3, 4 x 2 on Intel Xeon with AVX-512). AVX2 keeps 12 of its 16 `ymm` registers in chains,
//! AVX-512 24 of its 32 `zmm`.

use super::isa::Isa;
use std::time::Instant;

/// Chains of the AVX2 loop (12 of 16 `ymm` registers; two hold the constants).
pub const AVX2_CHAINS: usize = 12;
/// Chains of the AVX-512 loop (24 of 32 `zmm` registers).
pub const AVX512_CHAINS: usize = 24;

/// Flops one step of the loop of `isa` does: chains x lanes x 2 (a multiply and an add).
/// `None` for the baseline, which has no FMA.
pub fn flops_per_step(isa: Isa) -> Option<u64> {
    match isa {
        Isa::Avx512 => Some((AVX512_CHAINS * 16 * 2) as u64),
        Isa::Avx2 => Some((AVX2_CHAINS * 8 * 2) as u64),
        Isa::Baseline => None,
    }
}

/// Runs `steps` steps of the register loop of `isa` and returns the sum of every chain's
/// first lane, `chains x steps` (each chain counts its steps): the proof that the loop did
/// its work. `None` when the CPU lacks `isa` or `isa` is the baseline.
pub fn fma_chains(isa: Isa, steps: u64) -> Option<f64> {
    if !isa.runs_here() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        match isa {
            // SAFETY: `runs_here` checked that the CPU has the features each is compiled for.
            Isa::Avx512 => Some(unsafe { avx512_chains(steps) }),
            Isa::Avx2 => Some(unsafe { avx2_chains(steps) }),
            Isa::Baseline => None,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = steps;
        None
    }
}

/// The FMA peak of `isa` on `threads` threads in GFLOP/s: each thread runs the register loop
/// for `steps` steps at once, and the rate is all threads' flops over the wall time of the
/// slowest. The best of `repeats` runs. `None` as for [`fma_chains`].
pub fn fma_peak_gflops(isa: Isa, threads: usize, steps: u64, repeats: usize) -> Option<f64> {
    let per_step = flops_per_step(isa)?;
    if !isa.runs_here() {
        return None;
    }
    let threads = threads.max(1);
    let mut best = 0.0f64;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| std::hint::black_box(fma_chains(isa, steps)));
            }
        });
        let seconds = start.elapsed().as_secs_f64();
        let flops = (per_step * steps) as f64 * threads as f64;
        best = best.max(flops / seconds / 1e9);
    }
    Some(best)
}

// The loops are written in assembly so that they are exactly what they claim: the compiler
// turned the same loop in intrinsics into adds (a known multiplier of 1) or, for 24 `zmm`
// chains, into register moves and stores.

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_chains(steps: u64) -> f64 {
    use std::arch::asm;
    use std::arch::x86_64::*;
    if steps == 0 {
        return 0.0;
    }
    let one = _mm256_set1_ps(1.0);
    let mut acc = [_mm256_setzero_ps(); AVX2_CHAINS];
    // SAFETY: registers only; every register written is declared an output.
    unsafe {
        asm!(
            "vxorps ymm0, ymm0, ymm0",
            "vmovaps ymm1, ymm0", "vmovaps ymm2, ymm0", "vmovaps ymm3, ymm0",
            "vmovaps ymm4, ymm0", "vmovaps ymm5, ymm0", "vmovaps ymm6, ymm0",
            "vmovaps ymm7, ymm0", "vmovaps ymm8, ymm0", "vmovaps ymm9, ymm0",
            "vmovaps ymm10, ymm0", "vmovaps ymm11, ymm0",
            "2:",
            "vfmadd231ps ymm0, ymm12, ymm13",
            "vfmadd231ps ymm1, ymm12, ymm13",
            "vfmadd231ps ymm2, ymm12, ymm13",
            "vfmadd231ps ymm3, ymm12, ymm13",
            "vfmadd231ps ymm4, ymm12, ymm13",
            "vfmadd231ps ymm5, ymm12, ymm13",
            "vfmadd231ps ymm6, ymm12, ymm13",
            "vfmadd231ps ymm7, ymm12, ymm13",
            "vfmadd231ps ymm8, ymm12, ymm13",
            "vfmadd231ps ymm9, ymm12, ymm13",
            "vfmadd231ps ymm10, ymm12, ymm13",
            "vfmadd231ps ymm11, ymm12, ymm13",
            "dec {steps}",
            "jnz 2b",
            steps = inout(reg) steps => _,
            in("ymm12") one,
            in("ymm13") one,
            out("ymm0") acc[0],
            out("ymm1") acc[1],
            out("ymm2") acc[2],
            out("ymm3") acc[3],
            out("ymm4") acc[4],
            out("ymm5") acc[5],
            out("ymm6") acc[6],
            out("ymm7") acc[7],
            out("ymm8") acc[8],
            out("ymm9") acc[9],
            out("ymm10") acc[10],
            out("ymm11") acc[11],
            options(nomem, nostack),
        );
    }
    acc.iter().map(|&a| f64::from(_mm256_cvtss_f32(a))).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512_chains(steps: u64) -> f64 {
    use std::arch::asm;
    use std::arch::x86_64::*;
    if steps == 0 {
        return 0.0;
    }
    let one = _mm512_set1_ps(1.0);
    let mut acc = [_mm512_setzero_ps(); AVX512_CHAINS];
    // SAFETY: registers only; every register written is declared an output.
    unsafe {
        asm!(
            "vpxord zmm0, zmm0, zmm0",
            "vmovaps zmm1, zmm0", "vmovaps zmm2, zmm0", "vmovaps zmm3, zmm0",
            "vmovaps zmm4, zmm0", "vmovaps zmm5, zmm0", "vmovaps zmm6, zmm0",
            "vmovaps zmm7, zmm0", "vmovaps zmm8, zmm0", "vmovaps zmm9, zmm0",
            "vmovaps zmm10, zmm0", "vmovaps zmm11, zmm0", "vmovaps zmm12, zmm0",
            "vmovaps zmm13, zmm0", "vmovaps zmm14, zmm0", "vmovaps zmm15, zmm0",
            "vmovaps zmm16, zmm0", "vmovaps zmm17, zmm0", "vmovaps zmm18, zmm0",
            "vmovaps zmm19, zmm0", "vmovaps zmm20, zmm0", "vmovaps zmm21, zmm0",
            "vmovaps zmm22, zmm0", "vmovaps zmm23, zmm0",
            "2:",
            "vfmadd231ps zmm0, zmm24, zmm25",
            "vfmadd231ps zmm1, zmm24, zmm25",
            "vfmadd231ps zmm2, zmm24, zmm25",
            "vfmadd231ps zmm3, zmm24, zmm25",
            "vfmadd231ps zmm4, zmm24, zmm25",
            "vfmadd231ps zmm5, zmm24, zmm25",
            "vfmadd231ps zmm6, zmm24, zmm25",
            "vfmadd231ps zmm7, zmm24, zmm25",
            "vfmadd231ps zmm8, zmm24, zmm25",
            "vfmadd231ps zmm9, zmm24, zmm25",
            "vfmadd231ps zmm10, zmm24, zmm25",
            "vfmadd231ps zmm11, zmm24, zmm25",
            "vfmadd231ps zmm12, zmm24, zmm25",
            "vfmadd231ps zmm13, zmm24, zmm25",
            "vfmadd231ps zmm14, zmm24, zmm25",
            "vfmadd231ps zmm15, zmm24, zmm25",
            "vfmadd231ps zmm16, zmm24, zmm25",
            "vfmadd231ps zmm17, zmm24, zmm25",
            "vfmadd231ps zmm18, zmm24, zmm25",
            "vfmadd231ps zmm19, zmm24, zmm25",
            "vfmadd231ps zmm20, zmm24, zmm25",
            "vfmadd231ps zmm21, zmm24, zmm25",
            "vfmadd231ps zmm22, zmm24, zmm25",
            "vfmadd231ps zmm23, zmm24, zmm25",
            "dec {steps}",
            "jnz 2b",
            steps = inout(reg) steps => _,
            in("zmm24") one,
            in("zmm25") one,
            out("zmm0") acc[0],
            out("zmm1") acc[1],
            out("zmm2") acc[2],
            out("zmm3") acc[3],
            out("zmm4") acc[4],
            out("zmm5") acc[5],
            out("zmm6") acc[6],
            out("zmm7") acc[7],
            out("zmm8") acc[8],
            out("zmm9") acc[9],
            out("zmm10") acc[10],
            out("zmm11") acc[11],
            out("zmm12") acc[12],
            out("zmm13") acc[13],
            out("zmm14") acc[14],
            out("zmm15") acc[15],
            out("zmm16") acc[16],
            out("zmm17") acc[17],
            out("zmm18") acc[18],
            out("zmm19") acc[19],
            out("zmm20") acc[20],
            out("zmm21") acc[21],
            out("zmm22") acc[22],
            out("zmm23") acc[23],
            options(nomem, nostack),
        );
    }
    acc.iter().map(|&a| f64::from(_mm512_cvtss_f32(a))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every loop this CPU can run counts exactly: `chains x steps` (the accumulators stay
    /// below 2^24, where f32 counts exactly).
    #[test]
    fn every_available_loop_does_every_step_of_every_chain() {
        for isa in Isa::available() {
            let Some(chains) = flops_per_step(isa).map(|f| f as usize / 2 / lanes(isa)) else {
                assert_eq!(fma_chains(isa, 10), None);
                continue;
            };
            assert_eq!(
                fma_chains(isa, 1000),
                Some((chains * 1000) as f64),
                "{isa:?}"
            );
            let rate = fma_peak_gflops(isa, 1, 10_000, 1).unwrap();
            assert!(rate.is_finite() && rate > 0.0, "{isa:?}: {rate}");
        }
    }

    fn lanes(isa: Isa) -> usize {
        match isa {
            Isa::Avx512 => 16,
            _ => 8,
        }
    }
}
