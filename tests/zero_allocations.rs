//! A training step in steady state allocates nothing: a counting global allocator proves it.

mod common;

use common::mnist_shaped;

use backprop::nn::{Activation, Loss, Mlp, MlpConfig};
use backprop::optim::{Optimizer, OptimizerKind};
use backprop::train::{train_step, NoObserver, StepOutcome};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

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

#[test]
fn a_training_step_allocates_nothing_in_steady_state() {
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
            let config = MlpConfig {
                inputs: 784,
                hidden,
                outputs: 10,
                activation: Activation::Relu,
                loss: Loss::CrossEntropy,
                bias: true,
                weight_decay: 1e-4,
            };
            backprop::tensor::matmul::prepare_threads();
            let mut mlp = Mlp::<f32>::new(config, 3).unwrap();
            let mut optimizer = Optimizer::new(kind);
            let order: Vec<usize> = (0..1000).collect();
            // Batches of 256 and the last, partial batch of 232: both shapes warm up first.
            let batches: Vec<&[usize]> = order.chunks(256).collect();
            let mut step = |batch: &[usize]| {
                let outcome =
                    train_step(&mut mlp, &mut optimizer, &data, batch, 0.1, &mut NoObserver)
                        .unwrap();
                assert!(matches!(outcome, StepOutcome::Updated(_)));
            };
            for batch in &batches {
                step(batch);
            }
            let before = ALLOCATIONS.load(Ordering::SeqCst);
            for _ in 0..3 {
                for batch in &batches {
                    step(batch);
                }
            }
            let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
            assert_eq!(
                allocations, 0,
                "{threads} threads, {kind}: 12 steps allocated {allocations} times"
            );
        });
    }
}
