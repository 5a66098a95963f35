//! GFLOP/s of each matrix product of one training step of D2L's MLP (784-256-10, batch 256),
//! through this crate's `matmul` (`cargo run --release --example workload_products --
//! [THREADS] [BATCH] [HIDDEN]`): the median of many calls, after a warm-up.

use backprop::tensor::matmul::{matmul_a_b, matmul_a_bt, matmul_at_b, prepare_threads};
use backprop::tensor::{Tensor, Write};
use std::process::ExitCode;
use std::time::Instant;

type Product = fn(&mut Tensor<f32>, &Tensor<f32>, &Tensor<f32>, Write);

/// A product of the step: its name, function, operands and output shape.
type Case<'a> = (
    &'a str,
    Product,
    &'a Tensor<f32>,
    &'a Tensor<f32>,
    (usize, usize),
);

fn main() -> ExitCode {
    let args: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(values) => values,
        Err(_) => {
            eprintln!("usage: workload_products [THREADS] [BATCH] [HIDDEN]  (whole numbers)");
            return ExitCode::from(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.first().copied().unwrap_or(cores).max(1);
    let batch = args.get(1).copied().unwrap_or(256).max(1);
    let hidden = args.get(2).copied().unwrap_or(256).max(1);
    let (d, q) = (784, 10);
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let fill = |rows: usize, cols: usize| {
        Tensor::<f32>::from_fn(rows, cols, |r, c| {
            ((r * 7 + c * 13) % 17) as f32 / 17.0 - 0.5
        })
    };
    let (x, w1, h, w2) = (
        fill(batch, d),
        fill(hidden, d),
        fill(batch, hidden),
        fill(q, hidden),
    );
    let (d_o, dz) = (fill(batch, q), fill(batch, hidden));
    let cases: [Case; 5] = [
        ("Z = X W1ᵀ", matmul_a_bt, &x, &w1, (batch, hidden)),
        ("O = H W2ᵀ", matmul_a_bt, &h, &w2, (batch, q)),
        ("dW2 = dOᵀ H", matmul_at_b, &d_o, &h, (q, hidden)),
        ("dH = dO W2", matmul_a_b, &d_o, &w2, (batch, hidden)),
        ("dW1 = dZᵀ X", matmul_at_b, &dz, &x, (hidden, d)),
    ];
    pool.install(|| {
        prepare_threads();
        let mut total_seconds = 0.0;
        let mut total_flop = 0.0;
        for (name, multiply, a, b, (rows, cols)) in cases {
            let mut out = Tensor::<f32>::zeros(rows, cols);
            let inner = if a.rows() == rows { a.cols() } else { a.rows() };
            let flop = 2.0 * (rows * cols * inner) as f64;
            let calls = ((2e8 / flop) as usize).clamp(1, 100_000);
            let mut times: Vec<f64> = (0..9)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..calls {
                        multiply(&mut out, a, b, Write::Overwrite);
                    }
                    start.elapsed().as_secs_f64() / calls as f64
                })
                .collect();
            times.sort_by(f64::total_cmp);
            let seconds = times[times.len() / 2];
            total_seconds += seconds;
            total_flop += flop;
            println!(
                "{name:<12} {rows:>5}x{inner:<5}x{cols:<5} {:>8.1} µs {:>7.1} GFLOP/s",
                seconds * 1e6,
                flop / seconds / 1e9
            );
        }
        println!(
            "{:<30} {:>8.1} µs {:>7.1} GFLOP/s",
            "one step's products",
            total_seconds * 1e6,
            total_flop / total_seconds / 1e9
        );
    });
    ExitCode::SUCCESS
}
