//! Upper bounds on every size a user controls, checked before anything is allocated.
//!
//! - **Memory.** Each command estimates the bytes its model, batch and passes need from the
//!   sizes it was given (see [`training_bytes`], [`inspection_bytes`], [`gradcheck_bytes`])
//!   and refuses, with a usage error, an estimate above the memory limit:
//!   [`DEFAULT_MEMORY_LIMIT`] (2 GiB, well below the memory of any machine the project runs
//!   on) unless `--memory-limit` raises it.
//! - **Threads.** At most [`THREADS_PER_CORE`] threads per core.
//! - **Depth.** `graph` and `explain` draw and walk at most [`MAX_INSPECTED_LAYERS`] hidden
//!   layers (their time grows faster than linearly with depth).
//! - **Finite differences.** `gradcheck` runs at most [`MAX_GRADCHECK_WORK`] multiply-adds.

use super::exit_status::UsageError;
use backprop::format::bytes as short_bytes;
use backprop::nn::MlpConfig;
use clap::Args;

/// The memory limit when `--memory-limit` is not given: 2 GiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 2 << 30;

/// The most threads per core `--threads` accepts.
pub const THREADS_PER_CORE: usize = 4;

/// The most hidden layers `graph` and `explain` accept.
pub const MAX_INSPECTED_LAYERS: usize = 1_000;

/// The most multiply-adds `gradcheck`'s finite differences may take (a few minutes at most).
pub const MAX_GRADCHECK_WORK: f64 = 1e11;

/// The `--memory-limit` flag.
#[derive(Args, Debug, Clone, Copy)]
pub struct MemoryLimitArgs {
    /// Refuse a run whose estimated memory is above this [default: 2G].
    ///
    /// A byte count with an optional suffix K, M, G or T (powers of 1024), such as 512M.
    #[arg(long, value_name = "BYTES", value_parser = byte_count, help_heading = super::help_text::PERFORMANCE)]
    pub memory_limit: Option<u64>,
}

impl MemoryLimitArgs {
    /// The limit in bytes.
    pub fn bytes(&self) -> u64 {
        self.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT)
    }

    /// A usage error when `needed` bytes (for `what`) are above the limit.
    pub fn check(&self, what: &str, needed: f64) -> Result<(), UsageError> {
        let limit = self.bytes();
        if needed > limit as f64 {
            return Err(UsageError(format!(
                "{what} needs about {}, above the memory limit of {}; use smaller sizes or \
                 raise --memory-limit",
                bytes_text(needed),
                bytes_text(limit as f64)
            )));
        }
        Ok(())
    }
}

/// Parses a byte count: digits with an optional K, M, G or T (powers of 1024).
pub fn byte_count(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let (digits, shift) = match trimmed.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&trimmed[..trimmed.len() - 1], 10),
        Some('M') => (&trimmed[..trimmed.len() - 1], 20),
        Some('G') => (&trimmed[..trimmed.len() - 1], 30),
        Some('T') => (&trimmed[..trimmed.len() - 1], 40),
        _ => (trimmed, 0),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| "expected a byte count such as 512M or 8G".to_string())?;
    match value.checked_mul(1 << shift) {
        Some(bytes) if bytes > 0 => Ok(bytes),
        Some(_) => Err("expected at least 1 byte".into()),
        None => Err("out of range: expected at most 16 EiB".into()),
    }
}

/// An estimate of `bytes` for a message: as `short_bytes` below 1 GiB, then in GiB, and in
/// powers of ten beyond a million GiB.
fn bytes_text(bytes: f64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    if bytes < GIB {
        short_bytes(bytes as usize)
    } else if bytes < 1e6 * GIB {
        format!("{:.1} GiB", bytes / GIB)
    } else {
        format!("{bytes:.1e} B")
    }
}

/// The number of weights and biases of `config` (as `f64`, so that no size overflows it).
pub fn parameter_count(config: &MlpConfig) -> f64 {
    layer_sizes(config)
        .windows(2)
        .map(|pair| pair[0] * pair[1] + if config.bias { pair[1] } else { 0.0 })
        .sum()
}

/// The sum of every layer's width, inputs and outputs included.
fn width_sum(config: &MlpConfig) -> f64 {
    layer_sizes(config).iter().sum()
}

/// `d, h_1, …, q` as `f64`, so that no product overflows.
fn layer_sizes(config: &MlpConfig) -> Vec<f64> {
    std::iter::once(config.inputs)
        .chain(config.hidden.iter().copied())
        .chain(std::iter::once(config.outputs))
        .map(|n| n as f64)
        .collect()
}

/// The bytes `train` needs for `config` at `batch` samples (f32): the parameters six times
/// (the weights, their gradients, two optimiser moments, a checkpoint's copy and the saved
/// model's) and four values per unit and sample of the batch (z, h and their gradients).
/// Evaluation runs in batches of up to 1024, so the batch counts as at least that.
pub fn training_bytes(config: &MlpConfig, batch: usize) -> f64 {
    let rows = (batch as f64).max(1024.0);
    4.0 * (6.0 * parameter_count(config) + 4.0 * rows * width_sum(config))
}

/// The bytes `graph` and `explain` need for `config` at `batch` samples: the model in f64
/// and in f32, its gradients, and four values per unit and sample (f64) in each precision.
pub fn inspection_bytes(config: &MlpConfig, batch: usize) -> f64 {
    let rows = batch as f64;
    12.0 * 2.0 * parameter_count(config) + 12.0 * 4.0 * rows * width_sum(config)
}

/// The bytes `gradcheck` needs (f64): the parameters four times (values, gradients, and the
/// analytic and numeric copies it compares) and four values per unit and sample.
pub fn gradcheck_bytes(config: &MlpConfig, batch: usize) -> f64 {
    8.0 * (4.0 * parameter_count(config) + 4.0 * batch as f64 * width_sum(config))
}

/// The multiply-adds of `gradcheck`'s finite differences: two forward passes of about
/// `batch x parameters` each, per parameter.
pub fn gradcheck_work(config: &MlpConfig, batch: usize) -> f64 {
    let parameters = parameter_count(config);
    2.0 * parameters * parameters * batch as f64
}

/// The thread count: `requested`, else every core; more than [`THREADS_PER_CORE`] per core
/// is a usage error.
pub fn thread_count(requested: Option<usize>) -> Result<usize, UsageError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        None => Ok(cores),
        Some(threads) if threads <= THREADS_PER_CORE * cores => Ok(threads),
        Some(threads) => Err(UsageError(format!(
            "--threads {threads} is out of range: this machine has {cores} cores, and at \
             most {} threads ({THREADS_PER_CORE} per core) are accepted",
            THREADS_PER_CORE * cores
        ))),
    }
}

/// A usage error when a model of `layers` hidden layers is too deep for `graph` or
/// `explain`; `source` names where the model came from (`--hidden`, `--model FILE`).
pub fn check_inspected_depth(layers: usize, source: &str) -> Result<(), UsageError> {
    if layers > MAX_INSPECTED_LAYERS {
        return Err(UsageError(format!(
            "{source} has {layers} hidden layers; graph and explain show at most \
             {MAX_INSPECTED_LAYERS}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop::nn::{Activation, Loss};

    fn config(inputs: usize, hidden: Vec<usize>, outputs: usize) -> MlpConfig {
        MlpConfig {
            inputs,
            hidden,
            outputs,
            activation: Activation::Relu,
            loss: Loss::CrossEntropy,
            bias: true,
            weight_decay: 0.0,
        }
    }

    #[test]
    fn byte_counts_take_binary_suffixes() {
        assert_eq!(byte_count("512"), Ok(512));
        assert_eq!(byte_count("4k"), Ok(4096));
        assert_eq!(byte_count("2G"), Ok(2 << 30));
        assert!(byte_count("0").is_err());
        assert!(byte_count("99999999T").is_err());
        assert!(byte_count("lots").is_err());
    }

    #[test]
    fn the_d2l_recipe_fits_and_a_huge_layer_does_not() {
        let limit = MemoryLimitArgs { memory_limit: None };
        let mnist = config(784, vec![256], 10);
        assert_eq!(
            parameter_count(&mnist),
            (784 * 256 + 256 + 256 * 10 + 10) as f64
        );
        assert!(limit.check("training", training_bytes(&mnist, 256)).is_ok());
        let huge = config(2, vec![30_000_000], 3);
        let error = limit
            .check("training", training_bytes(&huge, 256))
            .unwrap_err();
        assert!(error.0.contains("above the memory limit"), "{}", error.0);
    }

    #[test]
    fn sizes_beyond_usize_do_not_overflow() {
        let absurd = config(usize::MAX, vec![usize::MAX], usize::MAX);
        let needed = training_bytes(&absurd, usize::MAX);
        assert!(needed.is_finite() && needed > u64::MAX as f64);
    }
}
