//! Writes a synthetic MNIST-shaped training set (28x28 u8 images, 10 classes) as raw IDX
//! files, for benchmarks: `cargo run --release --example synthetic_idx -- DIR [SAMPLES]`.

use backprop::data::{write_idx_images, write_idx_labels};
use backprop::rng::Rng;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: synthetic_idx DIR [SAMPLES]");
        return ExitCode::from(2);
    };
    let samples: usize = match args.next().map(|s| s.parse()) {
        None => 60_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("SAMPLES must be a whole number above 0");
            return ExitCode::from(2);
        }
    };
    let mut rng = Rng::new(2024);
    // Each class lights its own few rows of the image, over noise: learnable, MNIST-sized.
    let mut pixels = Vec::with_capacity(samples * 784);
    let mut labels = Vec::with_capacity(samples);
    for _ in 0..samples {
        let class = rng.below(10);
        labels.push(class as u8);
        for r in 0..28 {
            let lit = r / 3 == class;
            for _ in 0..28 {
                let noise = rng.below(64) as u8;
                pixels.push(if lit { 160 + noise } else { noise });
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            write_idx_images(&dir.join("train-images-idx3-ubyte"), 28, 28, &pixels, false)
                .map_err(|e| e.to_string())
        })
        .and_then(|_| {
            write_idx_labels(&dir.join("train-labels-idx1-ubyte"), &labels, false)
                .map_err(|e| e.to_string())
        })
    {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    println!("wrote {samples} samples to {}", dir.display());
    ExitCode::SUCCESS
}
