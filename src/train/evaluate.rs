//! Evaluation: loss, accuracy and confusion matrix of a model on a dataset.
//!
//! Inference only: each batch goes through [`ForwardBuffers`] (the layers without the graph,
//! nothing kept for backward; at most [`MAX_PASS_ROWS`] samples per pass) and the loss
//! operator of the graph (the same per-sample `l` as training's). Every buffer is allocated
//! before the first batch, so no batch allocates.
//!
//! As many threads as the current rayon pool has each take work units of whole batches (as
//! many as fill a pass: `work_unit`), in order, and run them on their own: one thread
//! computes all of a unit (its products are not split), so the threads meet only once a unit,
//! to take the next one. Every sample's outputs and loss are
//! computed the same way whichever thread takes it, and the mean loss is summed batch by batch
//! in sample order afterwards, so the result depends neither on the number of threads nor on
//! their timing, and equals the graph's forward pass bit for bit.

use crate::data::Dataset;
use crate::graph::{GraphError, Op};
use crate::nn::mlp::{argmax, MlpError};
use crate::nn::{ForwardBuffers, Loss, Mlp};
use crate::tensor::matmul::{prepare_threads, rows_are_independent};
use crate::tensor::{Shape, Tensor};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The most samples one forward pass takes: a larger batch is scored this many at a time
/// (its losses are still summed as one batch), so that the buffers (two of this many rows of
/// the widest layer per thread: 8 MiB for 1,024 units) do not grow with `--batch-size`.
/// Measured, passes of 256 and 1,024 samples ran at the same speed and 4,096 no faster.
pub const MAX_PASS_ROWS: usize = 1024;

/// The result of evaluating a model on a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean per-sample loss `L` (without the L2 term).
    pub loss: f64,
    /// The fraction of samples classified correctly.
    pub accuracy: f64,
    /// `confusion[true][predicted]`: how many samples of each class went to each class.
    pub confusion: Vec<Vec<usize>>,
    /// Number of samples.
    pub samples: usize,
}

/// Evaluates `mlp` on every sample of `data`, `batch_size` samples at a time (forward
/// propagation only), on the threads of the current rayon pool. Labels must be below the
/// model's number of outputs. The model is not changed.
pub fn evaluate(
    mlp: &mut Mlp<f32>,
    data: &Dataset,
    batch_size: usize,
) -> Result<Evaluation, MlpError> {
    let mlp: &Mlp<f32> = mlp;
    let Plan {
        batch_size,
        unit,
        pass_rows,
        indices,
        mut losses,
    } = Plan::new(mlp, data, batch_size)?;
    let workers = rayon::current_num_threads().clamp(1, data.len().div_ceil(unit).max(1));
    let mut workers: Vec<Worker> = (0..workers).map(|_| Worker::new(mlp, pass_rows)).collect();
    {
        let shared = Shared {
            mlp,
            data,
            indices: &indices,
            unit,
            next: Mutex::new(losses.chunks_mut(unit).enumerate()),
            failed: AtomicBool::new(false),
        };
        run_workers(&mut workers, &shared);
    }
    if let Some((_, error)) = workers
        .iter_mut()
        .filter_map(|w| w.failure.take())
        .min_by_key(|(unit, _)| *unit)
    {
        return Err(error);
    }
    Ok(summary(mlp, &workers, &losses, batch_size))
}

/// [`evaluate`] on the current thread, also handing `each` every sample's index and outputs
/// `o`, in sample order, as the same forward passes computed them: the playground's
/// confusion cells and their examples.
pub fn evaluate_each(
    mlp: &mut Mlp<f32>,
    data: &Dataset,
    batch_size: usize,
    mut each: impl FnMut(usize, &[f32]),
) -> Result<Evaluation, MlpError> {
    let mlp: &Mlp<f32> = mlp;
    let Plan {
        batch_size,
        unit,
        pass_rows,
        indices,
        mut losses,
    } = Plan::new(mlp, data, batch_size)?;
    let mut worker = Worker::new(mlp, pass_rows);
    prepare_threads();
    for (indices, losses) in indices.chunks(unit).zip(losses.chunks_mut(unit)) {
        worker.score_unit(mlp, data, indices, losses, &mut each)?;
    }
    Ok(summary(
        mlp,
        std::slice::from_ref(&worker),
        &losses,
        batch_size,
    ))
}

/// The samples a thread takes at a time: whole batches, as many as fill a pass of
/// [`MAX_PASS_ROWS`] (one batch when it is larger). Where the products compute each row the
/// same way in a pass of any size ([`rows_are_independent`]: this crate's kernels), a sample's
/// outputs and loss do not depend on how many others share its pass, and the losses are still
/// summed batch by batch ([`summary`]); so batches of 256 run as passes of 1,024, which pack
/// each weight once for four batches instead of once for each (alternating, 60,000 samples,
/// 784-256-10: 1.03 – 1.06x at batch 256, 1.17 – 1.20x at batch 64, one and two threads).
/// Elsewhere (`faer`) a unit is one batch, as the graph's forward pass takes it.
fn work_unit(batch_size: usize) -> usize {
    if batch_size >= MAX_PASS_ROWS || !rows_are_independent::<f32>() {
        batch_size
    } else {
        MAX_PASS_ROWS / batch_size * batch_size
    }
}

/// What both evaluations start from.
struct Plan {
    /// `--batch-size`, at most the number of samples (no batch is larger than the data,
    /// whatever was asked).
    batch_size: usize,
    /// Samples per work unit ([`work_unit`]).
    unit: usize,
    /// The most samples in one forward pass: the rows of a worker's buffers.
    pass_rows: usize,
    /// Every sample's index, in order.
    indices: Vec<usize>,
    /// A slot for every sample's loss.
    losses: Vec<f32>,
}

impl Plan {
    /// The plan for `data` at `batch_size`, once its samples are checked against `mlp`.
    fn new(mlp: &Mlp<f32>, data: &Dataset, batch_size: usize) -> Result<Plan, MlpError> {
        check_inputs(mlp, data)?;
        let samples = data.len();
        let batch_size = batch_size.clamp(1, samples.max(1));
        let unit = work_unit(batch_size);
        Ok(Plan {
            batch_size,
            unit,
            pass_rows: unit.min(MAX_PASS_ROWS).min(samples.max(1)),
            indices: (0..samples).collect(),
            losses: vec![0.0; samples],
        })
    }
}

/// The error for data whose samples do not have the model's number of inputs.
fn check_inputs(mlp: &Mlp<f32>, data: &Dataset) -> Result<(), MlpError> {
    if data.input_dim() != mlp.config().inputs {
        return Err(MlpError::Batch(format!(
            "the model takes {} input features, the data has {}",
            mlp.config().inputs,
            data.input_dim()
        )));
    }
    Ok(())
}

/// The evaluation from the workers' confusion counts and every sample's loss.
fn summary(mlp: &Mlp<f32>, workers: &[Worker], losses: &[f32], batch_size: usize) -> Evaluation {
    let q = mlp.config().outputs;
    let samples = losses.len();
    let mut confusion = vec![vec![0usize; q]; q];
    for worker in workers {
        for (row, counts) in confusion.iter_mut().zip(worker.confusion.chunks_exact(q)) {
            for (total, &count) in row.iter_mut().zip(counts) {
                *total += count;
            }
        }
    }
    // Batch by batch, one after the other: the grouping depends on `batch_size` alone, so
    // `eval` at the training run's batch size gives the validation loss training printed.
    let mut loss_sum = 0.0f64;
    for batch in losses.chunks(batch_size) {
        loss_sum += batch.iter().map(|&l| l as f64).sum::<f64>();
    }
    let correct: usize = (0..q).map(|c| confusion[c][c]).sum();
    Evaluation {
        loss: loss_sum / samples as f64,
        accuracy: correct as f64 / samples as f64,
        confusion,
        samples,
    }
}

/// What the threads of an evaluation share: the inputs, and the work units still to take
/// (each with the slice of the per-sample losses it fills).
struct Shared<'a, I> {
    mlp: &'a Mlp<f32>,
    data: &'a Dataset,
    indices: &'a [usize],
    /// Samples per work unit ([`work_unit`]).
    unit: usize,
    next: Mutex<I>,
    /// Set when a batch failed: no thread takes another one.
    failed: AtomicBool,
}

/// Runs every worker on a thread of its own (a one-thread pool each, so that the products of a
/// batch stay on its thread), or the only one in place. When the pools cannot be started the
/// first worker does all the batches in place.
fn run_workers<'a, I>(workers: &mut [Worker], shared: &Shared<'a, I>)
where
    I: Iterator<Item = (usize, &'a mut [f32])> + Send,
{
    let pools = match workers.len() {
        1 => None,
        count => take_pools(count),
    };
    match pools {
        Some(pools) => {
            rayon::scope(|scope| {
                for (worker, pool) in workers.iter_mut().zip(&pools) {
                    scope.spawn(move |_| pool.install(|| worker.run(shared)));
                }
            });
            IDLE_POOLS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend(pools);
        }
        None => workers[0].run(shared),
    }
}

/// The one-thread pools of finished evaluations, kept for the next ones: a trainer evaluates
/// after every epoch, and a kept thread keeps its packing buffers (no thread is started, and
/// nothing is allocated for threads, after the first evaluation on as many threads).
static IDLE_POOLS: Mutex<Vec<rayon::ThreadPool>> = Mutex::new(Vec::new());

/// `count` one-thread pools: kept ones first, new ones for the rest; `None` (and the kept ones
/// kept) when a new one cannot be started.
fn take_pools(count: usize) -> Option<Vec<rayon::ThreadPool>> {
    let mut idle = IDLE_POOLS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let kept = idle.len().saturating_sub(count);
    let mut pools: Vec<rayon::ThreadPool> = idle.drain(kept..).collect();
    while pools.len() < count {
        match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
            Ok(pool) => pools.push(pool),
            Err(_) => {
                idle.extend(pools);
                return None;
            }
        }
    }
    Some(pools)
}

/// One thread's buffers and results.
struct Worker {
    buffers: ForwardBuffers<f32>,
    /// `y` of the batch, class indices (`B x 1`), as the loss operator reads them.
    labels: Tensor<f32>,
    /// `l` of the batch (`B x 1`).
    losses: Tensor<f32>,
    /// The graph's per-sample loss operator (4.7.4).
    loss: Op<f32>,
    /// `confusion[true * q + predicted]` over this thread's batches.
    confusion: Vec<usize>,
    /// The first work unit that failed, with why.
    failure: Option<(usize, MlpError)>,
}

impl Worker {
    /// A worker whose buffers hold forward passes of up to `rows` samples.
    fn new(mlp: &Mlp<f32>, rows: usize) -> Self {
        let q = mlp.config().outputs;
        Worker {
            buffers: ForwardBuffers::for_batches(mlp, rows),
            labels: Tensor::zeros(rows, 1),
            losses: Tensor::zeros(rows, 1),
            loss: match mlp.config().loss {
                Loss::CrossEntropy => Op::SoftmaxCrossEntropy {
                    probabilities: Tensor::zeros(rows, q),
                },
                Loss::Squared => Op::SquaredLoss,
            },
            confusion: vec![0; q * q],
            failure: None,
        }
    }

    /// Takes work units until none is left (or one failed anywhere).
    fn run<'a, I>(&mut self, shared: &Shared<'a, I>)
    where
        I: Iterator<Item = (usize, &'a mut [f32])>,
    {
        // The products' packing buffers of this thread, now rather than in its first batch.
        prepare_threads();
        while !shared.failed.load(Ordering::Relaxed) {
            let Some((unit, losses)) = shared
                .next
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .next()
            else {
                break;
            };
            let first = unit * shared.unit;
            let indices = &shared.indices[first..first + losses.len()];
            if let Err(error) =
                self.score_unit(shared.mlp, shared.data, indices, losses, &mut |_, _| {})
            {
                self.failure = Some((unit, error));
                shared.failed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// [`Worker::score`] for a work unit, in forward passes of at most [`MAX_PASS_ROWS`].
    fn score_unit(
        &mut self,
        mlp: &Mlp<f32>,
        data: &Dataset,
        indices: &[usize],
        losses: &mut [f32],
        each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), MlpError> {
        let passes = indices
            .chunks(MAX_PASS_ROWS)
            .zip(losses.chunks_mut(MAX_PASS_ROWS));
        for (indices, losses) in passes {
            self.score(mlp, data, indices, losses, each)?;
        }
        Ok(())
    }

    /// Forward propagation of the samples `indices`: their losses into `losses`, their
    /// predicted classes into the confusion matrix, each one's index and outputs to `each`.
    fn score(
        &mut self,
        mlp: &Mlp<f32>,
        data: &Dataset,
        indices: &[usize],
        losses: &mut [f32],
        each: &mut dyn FnMut(usize, &[f32]),
    ) -> Result<(), MlpError> {
        let (rows, q) = (indices.len(), mlp.config().outputs);
        data.gather_features(indices, self.buffers.input_mut(rows, data.input_dim()));
        let outputs = self.buffers.forward(mlp);
        self.labels.reshape_in_place(Shape::new(rows, 1));
        for (slot, &i) in self.labels.as_mut_slice().iter_mut().zip(indices) {
            *slot = data.labels()[i] as f32;
        }
        self.losses.reshape_in_place(Shape::new(rows, 1));
        self.loss
            .forward(&[outputs, &self.labels], &mut self.losses)
            .map_err(|source| GraphError::Op {
                output: "l".to_string(),
                source,
            })?;
        losses.copy_from_slice(self.losses.as_slice());
        for (row, &i) in outputs.as_slice().chunks_exact(q).zip(indices) {
            self.confusion[data.labels()[i] as usize * q + argmax(row)] += 1;
            each(i, row);
        }
        Ok(())
    }
}
