//! The machine's single-precision matrix-product peak, as this crate reaches it: the median
//! GFLOP/s of a large square product (`cargo run --release --example gemm_peak -- [THREADS]
//! [SIZE]`, defaults: all cores, 2048), on the kernel of the widest instruction set or the one
//! `BACKPROP_ISA` names.

use backprop::tensor::matmul::{matmul_a_b, prepare_threads};
use backprop::tensor::{Tensor, Write};
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let parse = |arg: Option<String>, default: usize| match arg {
        None => Some(default),
        Some(text) => text.parse().ok().filter(|&n: &usize| n > 0),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (Some(threads), Some(size)) = (parse(args.next(), cores), parse(args.next(), 2048)) else {
        eprintln!("usage: gemm_peak [THREADS] [SIZE]  (whole numbers above 0)");
        return ExitCode::from(2);
    };
    if let Err(error) = backprop::tensor::isa::Isa::requested() {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let a = Tensor::<f32>::from_fn(size, size, |r, c| ((r * 7 + c * 13) % 17) as f32 / 17.0);
    let b = Tensor::<f32>::from_fn(size, size, |r, c| ((r * 5 + c * 3) % 11) as f32 / 11.0);
    let mut out = Tensor::<f32>::zeros(size, size);
    let mut rates: Vec<f64> = pool.install(|| {
        prepare_threads();
        (0..7)
            .map(|_| {
                let start = Instant::now();
                matmul_a_b(&mut out, &a, &b, Write::Overwrite);
                2.0 * (size as f64).powi(3) / start.elapsed().as_secs_f64() / 1e9
            })
            .collect()
    });
    rates.sort_by(f64::total_cmp);
    println!("{:.1}", rates[rates.len() / 2]);
    ExitCode::SUCCESS
}
