//! The FMA units' peak on this CPU, measured by a register-only loop of independent FMA
//! chains (`backprop::tensor::fma_peak`) on the widest instruction set the crate's kernels
//! use here (or the one `BACKPROP_ISA` names): `cargo run --release --example fma_peak --
//! [THREADS]` (default: all cores).
//! Prints the GFLOP/s on standard output, and the instruction set on standard error.

use backprop::tensor::fma_peak::fma_peak_gflops;
use backprop::tensor::isa::Isa;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match std::env::args().nth(1) {
        None => cores,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=1024).contains(&n) => n,
            _ => {
                eprintln!("usage: fma_peak [THREADS]  (a whole number from 1 to 1024)");
                return ExitCode::from(2);
            }
        },
    };
    if let Err(error) = Isa::requested() {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let isa = Isa::detect();
    // About 0.3 s per run at 150 GFLOP/s per core: long enough for the clock to settle.
    match fma_peak_gflops(isa, threads, 100_000_000, 5) {
        Some(rate) => {
            eprintln!("FMA peak: register loop on {isa:?}, {threads} threads");
            println!("{rate:.1}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "error: this CPU has no FMA instructions the crate's kernels use (AVX2 or AVX-512)"
            );
            ExitCode::from(1)
        }
    }
}
