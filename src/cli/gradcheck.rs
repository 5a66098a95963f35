//! `backprop gradcheck`: backward propagation against finite differences, for a learner to
//! see that backprop is right.

use super::bias_flags::BiasFlags;
use super::exit_status::{shorten, UsageError};
use super::flag_values::{non_negative_number, whole_number};
use super::help_text;
use super::model_choice::{choose_samples, load_sample_set, SampleArgs};
use super::model_source::open_model;
use super::resource_limits::check_inspected_depth;
use super::resource_limits::{
    gradcheck_bytes, gradcheck_work, MemoryLimitArgs, MAX_GRADCHECK_WORK,
};
use anyhow::Result;
use backprop::explain::agreement::{checked_indices, index_of_largest};
use backprop::format;
use backprop::model_io::import::ImportChoices;
use backprop::nn::gradcheck::{
    check_gradient_elements, check_gradients, random_batch, random_model, ParameterCheck,
    Tolerance, STEP,
};
use backprop::nn::precision::convert_precision;
use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use clap::Args;
use std::path::{Path, PathBuf};

/// Flags of `backprop gradcheck`.
#[derive(Args, Debug)]
pub struct GradcheckArgs {
    /// Number of random samples in the batch.
    #[arg(short, long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100_000), help_heading = help_text::DATA)]
    batch_size: u32,
    /// Number of input features d.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=4096), help_heading = help_text::MODEL)]
    inputs: u32,
    /// Hidden layer widths, comma-separated.
    ///
    /// The D2L network has one hidden layer.
    #[arg(long, value_name = "LIST", default_value = "5", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=4096), help_heading = help_text::MODEL)]
    hidden: Vec<u32>,
    /// Number of outputs q (classes).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000), help_heading = help_text::MODEL)]
    outputs: u32,
    /// One activation [default: each].
    ///
    /// Check only this activation phi; without it, each of relu, sigmoid and tanh in turn.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::MODEL)]
    activation: Option<Activation>,
    /// One loss [default: each].
    ///
    /// Check only this loss l; without it, cross-entropy and then mse.
    #[arg(long, value_name = "NAME", value_enum, help_heading = help_text::MODEL)]
    loss: Option<Loss>,
    #[command(flatten)]
    bias: BiasFlags,
    /// Seed of the weights and the random data.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = whole_number, help_heading = help_text::MODEL)]
    seed: u64,
    /// The λ of the L2 term s = λ/2 Σ_k ||W_k||².
    #[arg(long = "weight-decay", value_name = "F", alias = "lambda", default_value_t = 0.01, value_parser = non_negative_number, help_heading = help_text::OPTIMISATION)]
    lambda: f64,
    /// Check this trained model instead of random ones.
    ///
    /// A file `backprop train` wrote, a PyTorch state dict or plain W1 .. Wk (what `eval
    /// --model` reads), on --batch-size samples of --dataset from --index (random inputs
    /// without --dataset); its λ is the file's. A model too large to check element by
    /// element is checked on a selection of each tensor's elements.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = help_text::MODEL,
        conflicts_with_all = ["inputs", "hidden", "outputs", "bias", "no_bias", "lambda"]
    )]
    model: Option<PathBuf>,
    #[command(flatten)]
    sample: SampleArgs,
    #[command(flatten)]
    memory: MemoryLimitArgs,
}

/// Runs the check and prints one line per parameter tensor; `Ok(false)` when any is out of
/// tolerance.
pub fn run(args: &GradcheckArgs) -> Result<bool> {
    if let Some(path) = &args.model {
        return check_model_file(args, path);
    }
    if !args.lambda.is_finite() || args.lambda < 0.0 {
        anyhow::bail!(
            "--weight-decay must be finite and not negative, got {}",
            args.lambda
        );
    }
    let activations: Vec<Activation> = match args.activation {
        Some(activation) => vec![activation],
        None => vec![Activation::Relu, Activation::Sigmoid, Activation::Tanh],
    };
    let losses: Vec<Loss> = match args.loss {
        Some(loss) => vec![loss],
        None => vec![Loss::CrossEntropy, Loss::Squared],
    };
    let sizes = MlpConfig {
        inputs: args.inputs as usize,
        hidden: args.hidden.iter().map(|&h| h as usize).collect(),
        outputs: args.outputs as usize,
        activation: Activation::Relu,
        loss: Loss::CrossEntropy,
        bias: args.bias.for_new_network(),
        weight_decay: args.lambda,
    };
    check_sizes(&sizes, args.batch_size as usize, &args.memory)?;
    let tolerance = Tolerance::default();
    print_method(tolerance);
    let mut all_passed = true;
    for &activation in &activations {
        for &loss in &losses {
            let config = MlpConfig {
                inputs: args.inputs as usize,
                hidden: args.hidden.iter().map(|&h| h as usize).collect(),
                outputs: args.outputs as usize,
                activation,
                loss,
                bias: args.bias.for_new_network(),
                weight_decay: args.lambda,
            };
            let mut mlp = random_model(config.clone(), args.seed)?;
            let (x, labels) = random_batch(&config, args.batch_size as usize, args.seed);
            mlp.set_batch(&x, &labels)?;
            let checks = check_gradients(&mut mlp, tolerance)?;
            println!("\n{config}, batch {}", args.batch_size);
            all_passed &= print_checks(&checks);
        }
    }
    print_verdict(all_passed);
    Ok(all_passed)
}

/// The line that says how the check is made.
fn print_method(tolerance: Tolerance) {
    println!(
        "gradient check: backward propagation vs central finite differences in f64 \
         (eps {:e}; pass when |a - n| <= {:e} + {:e} |n|)",
        STEP, tolerance.atol, tolerance.rtol
    );
}

/// The table of `checks`, one row per parameter tensor; whether all passed.
fn print_checks(checks: &[ParameterCheck]) -> bool {
    let sampled = checks.iter().any(|c| c.checked < c.shape.len());
    println!(
        "  {:<6} {:>9}  {:>12}  {:>12}  result{}",
        "param",
        "shape",
        "max |a-n|",
        "max rel",
        if sampled { "  elements checked" } else { "" }
    );
    let mut all_passed = true;
    for check in checks {
        all_passed &= check.passed;
        let result = if check.passed { "ok" } else { "FAILED" };
        let result = if sampled {
            format!(
                "{result:<6}  {} of {}",
                format::count(check.checked as u64),
                format::count(check.shape.len() as u64)
            )
        } else {
            result.to_string()
        };
        println!(
            "  {:<6} {:>9}  {:>12.3e}  {:>12.3e}  {result}",
            check.name,
            check.shape.to_string(),
            check.max_abs_diff,
            check.max_rel_diff,
        );
    }
    all_passed
}

/// The last line: whether every gradient agrees.
fn print_verdict(all_passed: bool) {
    println!(
        "\n{}",
        if all_passed {
            "all gradients agree"
        } else {
            "some gradients are out of tolerance"
        }
    );
}

/// `gradcheck --model FILE`: the trained model at its weights, on `--batch-size` samples of
/// `--dataset` from `--index` (random inputs without a dataset). Element by element when
/// that is at most [`MAX_GRADCHECK_WORK`] multiply-adds, else on the elements `explain`
/// checks (spread evenly, plus the largest).
fn check_model_file(args: &GradcheckArgs, path: &Path) -> Result<bool> {
    let choices = ImportChoices {
        activation: args.activation,
        loss: args.loss,
        fallback_loss: None,
    };
    let loaded = open_model(path, &choices)?.loaded;
    let config = loaded.mlp.config().clone();
    let source = format!("--model {}", path.display());
    check_inspected_depth(config.hidden.len(), &source)?;
    let batch = args.batch_size as usize;
    args.memory.check(
        &format!("gradcheck {source} at {batch} sample(s)"),
        gradcheck_bytes(&config, batch),
    )?;
    let data = load_sample_set(&args.sample)?;
    let (x, labels, description) =
        choose_samples(&args.sample, data.as_ref(), &config, batch, args.seed)?;
    let mut mlp: Mlp<f64> = convert_precision(&loaded.mlp)?;
    mlp.set_batch(&x, &labels)?;
    let tolerance = Tolerance::default();
    print_method(tolerance);
    println!("\n{config} from {}, {description}", path.display());
    let whole = gradcheck_work(&config, batch) <= MAX_GRADCHECK_WORK;
    let checks = check_gradient_elements(&mut mlp, tolerance, |len, gradient| {
        if whole {
            (0..len).collect()
        } else {
            checked_indices(len, index_of_largest(gradient))
        }
    })?;
    let all_passed = print_checks(&checks);
    print_verdict(all_passed);
    Ok(all_passed)
}

/// A usage error when checking a model of these sizes at `batch` samples would need more
/// than the memory limit, or more than [`MAX_GRADCHECK_WORK`] multiply-adds.
fn check_sizes(config: &MlpConfig, batch: usize, memory: &MemoryLimitArgs) -> Result<()> {
    let sizes = format!(
        "--inputs {} --hidden {} --outputs {} --batch-size {batch}",
        config.inputs,
        config
            .hidden
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(","),
        config.outputs
    );
    let sizes = shorten(&sizes, 120);
    memory.check(
        &format!("gradcheck {sizes}"),
        gradcheck_bytes(config, batch),
    )?;
    let work = gradcheck_work(config, batch);
    if work > MAX_GRADCHECK_WORK {
        return Err(UsageError(format!(
            "gradcheck {sizes} would take about {work:.1e} multiply-adds of finite \
             differences, more than the {MAX_GRADCHECK_WORK:.0e} it runs; use smaller sizes"
        ))
        .into());
    }
    Ok(())
}
