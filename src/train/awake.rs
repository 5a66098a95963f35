//! Keeping the threads of the rayon pool awake through a training step.
//!
//! A step alternates parallel work (the gather, the two large products, the update) with
//! passes that run on one thread (bias, activation, the output layer, the loss). An idle
//! rayon worker goes to sleep within tens of microseconds, and waking it for the next
//! product costs 10 to 50 µs on a virtual machine; now and then the worker wakes so late
//! that the caller has already run both halves of a product itself. OpenMP runtimes, and so
//! PyTorch, keep their threads spinning between parallel regions for this reason.
//!
//! [`with_workers_awake`] does the same for the length of one closure: every other thread of
//! the pool polls for work (running any job it finds) until the closure returns, or until it
//! has found nothing to do for a millisecond. Which thread runs a block of work never changes
//! its result, so this changes timing only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs `work` on the current thread while the other threads of the current rayon pool poll
/// for work instead of sleeping. Allocates nothing. Outside a pool, or in a pool of one
/// thread, it just runs `work`.
pub fn with_workers_awake<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    let others = rayon::current_num_threads().saturating_sub(1);
    if others == 0 || rayon::current_thread_index().is_none() {
        return work();
    }
    let done = AtomicBool::new(false);
    let worker = rayon::current_thread_index();
    let (result, ()) = rayon::join(
        || {
            // Set even if `work` panics, so that the pollers stop and the panic propagates.
            let _finished = SetOnDrop(&done);
            work()
        },
        || poll_on(others, &done, worker),
    );
    result
}

/// Polls on `threads` threads: this one, and the others through jobs they steal; but never
/// on `worker`, the thread that runs the work.
///
/// A rayon thread that waits (for a job another thread stole from it, for a broadcast) runs
/// the jobs still in its own queue, and the pollers may still be there. Polling on the
/// worker would then spin above the suspended work, waiting for it to finish: a deadlock.
fn poll_on(threads: usize, done: &AtomicBool, worker: Option<usize>) {
    if rayon::current_thread_index() == worker {
        return;
    }
    if threads > 1 {
        rayon::join(|| poll(done), || poll_on(threads - 1, done, worker));
    } else {
        poll(done);
    }
}

/// How long a poller spins without finding a job before it gives up and lets its thread
/// sleep as usual. Longer than any stretch of a training step that runs on one thread, so
/// that the pollers last the whole step.
///
/// It also bounds a wait that the pollers could otherwise make endless. With more than two
/// threads the pollers are nested joins, and a thread that is running part of the work and
/// waits may pick up a queued poller. That poller then sits on the stack above the suspended
/// work, and the work cannot finish while it spins. Everything else is waiting at that
/// point, so the poller finds no job, returns after this long, and the work goes on.
const IDLE_LIMIT: Duration = Duration::from_millis(1);

/// Runs the pool's pending jobs as they appear, spinning in between, until `done` or until
/// it has found no job for [`IDLE_LIMIT`].
fn poll(done: &AtomicBool) {
    let mut idle_since = Instant::now();
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            idle_since = Instant::now();
        } else if idle_since.elapsed() > IDLE_LIMIT {
            return;
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Sets the flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn work_runs_once_with_its_parallel_parts_and_returns_its_value() {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let total = pool.install(|| {
                with_workers_awake(|| (0..100_000u64).into_par_iter().map(|i| i % 7).sum::<u64>())
            });
            let expected: u64 = (0..100_000u64).map(|i| i % 7).sum();
            assert_eq!(total, expected);
        }
        // Outside any pool it simply runs.
        assert_eq!(with_workers_awake(|| 42), 42);
    }

    /// The value of `work`, run on a thread of its own; fails the test if it takes longer
    /// than `limit` (a deadlock would otherwise hang the test run).
    fn finishes_within<R: Send + 'static>(
        limit: Duration,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> R {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || sender.send(work()));
        receiver
            .recv_timeout(limit)
            .expect("with_workers_awake deadlocked")
    }

    #[test]
    fn work_that_waits_for_every_thread_does_not_deadlock() {
        // `rayon::broadcast` makes the thread that runs the work wait for a job on every
        // thread, and a waiting rayon thread runs the jobs of its own queue, which can be
        // this function's poller: it must then return at once rather than spin, waiting for
        // the work beneath it on the same stack to finish.
        let ran = finishes_within(Duration::from_secs(30), || {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            let mut ran = 0;
            for _ in 0..200 {
                ran += pool.install(|| with_workers_awake(|| rayon::broadcast(|_| 1).len()));
            }
            ran
        });
        assert_eq!(ran, 400);
    }

    #[test]
    fn nested_parallel_work_on_many_threads_does_not_deadlock() {
        // With more than two threads the pollers are nested joins, and a thread that runs
        // a piece of the work and waits may pick one of them up.
        let total = finishes_within(Duration::from_secs(60), || {
            let mut total = 0u64;
            for threads in [3, 4, 6] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                for _ in 0..300 {
                    total += pool.install(|| {
                        with_workers_awake(|| {
                            (0..64u64)
                                .into_par_iter()
                                .map(|i| {
                                    (0..200u64)
                                        .into_par_iter()
                                        .map(|j| (i ^ j) % 3)
                                        .sum::<u64>()
                                })
                                .sum::<u64>()
                        })
                    });
                }
            }
            total
        });
        let once: u64 = (0..64u64)
            .map(|i| (0..200u64).map(|j| (i ^ j) % 3).sum::<u64>())
            .sum();
        assert_eq!(total, 3 * 300 * once);
    }

    #[test]
    fn a_panic_in_the_work_stops_the_pollers_and_propagates() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let outcome = pool.install(|| {
            std::panic::catch_unwind(|| with_workers_awake(|| -> u32 { panic!("step failed") }))
        });
        assert!(outcome.is_err());
        // The pool is still usable afterwards.
        assert_eq!(pool.install(|| with_workers_awake(|| 7)), 7);
    }
}
