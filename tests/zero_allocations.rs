//! A training step in steady state allocates nothing: a counting global allocator proves it,
//! for the step that `backprop train` and the playground share ([`Trainer::step`]: the batch,
//! forward, backward, the update, the epoch's bookkeeping and a new shuffle per epoch). An
//! evaluation (`eval`, a trainer's validation) allocates per call, never per batch.

mod common;

use common::{mnist_config, mnist_shaped};

use backprop::nn::Mlp;
use backprop::optim::OptimizerKind;
use backprop::train::{evaluate, NoObserver, StepOutcome, TrainConfig, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator, only counting.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// The count is global: one test counts at a time.
static COUNTING: Mutex<()> = Mutex::new(());

fn counting_alone() -> MutexGuard<'static, ()> {
    COUNTING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn a_training_step_allocates_nothing_in_steady_state() {
    let _alone = counting_alone();
    let data = mnist_shaped(1000, 1);
    for (threads, kind, hidden) in [
        (2, OptimizerKind::Sgd, vec![256]),
        (1, OptimizerKind::ADAM, vec![256]),
        (2, OptimizerKind::MOMENTUM, vec![512, 256]),
    ] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            backprop::tensor::matmul::prepare_threads();
            let mut mlp = Mlp::<f32>::new(mnist_config(&hidden), 3).unwrap();
            let mut trainer = Trainer::new(TrainConfig {
                epochs: 1,
                max_steps: Some(1000),
                batch_size: 256,
                shuffle: true,
                seed: 5,
                learning_rate: 0.1,
                optimizer: kind,
            })
            .unwrap();
            // 1000 samples: batches of 256 and a last, partial batch of 232, so one epoch
            // warms up both shapes; then three more epochs, each with its own shuffle.
            let mut step = || {
                let outcome = trainer.step(&mut mlp, &data, &mut NoObserver).unwrap();
                assert!(matches!(outcome, StepOutcome::Updated { .. }));
            };
            for _ in 0..4 {
                step();
            }
            let before = ALLOCATIONS.load(Ordering::SeqCst);
            for _ in 0..12 {
                step();
            }
            let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
            assert_eq!(
                allocations, 0,
                "{threads} threads, {kind}: 12 steps allocated {allocations} times"
            );
        });
    }
}

#[test]
fn an_evaluation_allocates_nothing_per_batch() {
    let _alone = counting_alone();
    // 32 and 128 batches of 64 samples (two and eight passes of 1,024).
    let (few, many) = (mnist_shaped(2048, 2), mnist_shaped(8192, 3));
    for (threads, hidden) in [(1, vec![256]), (2, vec![256]), (2, vec![512, 256])] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut mlp = Mlp::<f32>::new(mnist_config(&hidden), 3).unwrap();
            let mut allocations = |data| {
                let before = ALLOCATIONS.load(Ordering::SeqCst);
                let evaluation = evaluate(&mut mlp, data, 64).unwrap();
                assert!(evaluation.loss.is_finite());
                ALLOCATIONS.load(Ordering::SeqCst) - before
            };
            allocations(&few);
            let (for_few, for_many) = (allocations(&few), allocations(&many));
            assert_eq!(
                for_many, for_few,
                "{threads} threads: 128 batches allocated {for_many} times, 32 batches {for_few}"
            );
        });
    }
}
