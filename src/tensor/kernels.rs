//! Element-wise kernels: plain loops over contiguous slices that the compiler vectorises,
//! split over the threads of the current rayon pool when a tensor is large.
//!
//! Every element is computed independently and by exactly one thread, so results do not
//! depend on the number of threads or on timing. Reductions ([`sum_of_squares`]) add their
//! lanes in a fixed order, and a large one is split at a point that depends only on its
//! length, so their results do not depend on the thread count either. Every loop runs
//! through [`vectorised`], compiled for the widest vector instructions of the CPU.

use super::vectorised::vectorised;
use super::{Element, Write};
use rayon::prelude::*;

/// Tensors with fewer elements than this are processed on one thread. A layer's activations
/// (`256 x 256` = 65,536 values) stay on one thread: a pass over them takes a few
/// microseconds, less than waking a second thread and moving half of them to its cache
/// (measured 5 % faster per training epoch than a threshold of 32,768).
pub const PARALLEL_ELEMENTS: usize = 1 << 17;

/// The chunk size that splits `len` elements over the pool's threads (or one chunk, for a
/// small tensor or a single thread).
pub fn chunk_len(len: usize) -> usize {
    let threads = rayon::current_num_threads();
    if len < PARALLEL_ELEMENTS || threads == 1 {
        len.max(1)
    } else {
        len.div_ceil(threads).next_multiple_of(64)
    }
}

/// `out[i] = f(input[i])`.
#[inline]
pub fn map<T: Element>(out: &mut [T], input: &[T], f: impl Fn(T) -> T + Sync) {
    map_store(out, input, Write::Overwrite, f);
}

/// `f(out_row, input_row)` for every row of two row-major matrices of `cols` columns, the
/// rows split over the pool's threads when the matrices are large.
#[inline]
pub fn map_rows<T: Element>(
    out: &mut [T],
    input: &[T],
    cols: usize,
    f: impl Fn(&mut [T], &[T]) + Sync,
) {
    assert_eq!(out.len(), input.len());
    if cols == 0 {
        return;
    }
    let rows = out.len() / cols;
    let chunk = (chunk_len(out.len()).div_ceil(cols)).clamp(1, rows.max(1)) * cols;
    out.par_chunks_mut(chunk)
        .zip(input.par_chunks(chunk))
        .for_each(|(out, input)| {
            vectorised(
                #[inline(always)]
                || {
                    for (out_row, input_row) in
                        out.chunks_exact_mut(cols).zip(input.chunks_exact(cols))
                    {
                        f(out_row, input_row);
                    }
                },
            )
        });
}

/// `out[i] (=|+=) f(a[i], b[i])`.
#[inline]
pub fn zip_map<T: Element>(
    out: &mut [T],
    a: &[T],
    b: &[T],
    write: Write,
    f: impl Fn(T, T) -> T + Sync,
) {
    assert_eq!(out.len(), a.len());
    assert_eq!(out.len(), b.len());
    let chunk = chunk_len(out.len());
    out.par_chunks_mut(chunk)
        .zip(a.par_chunks(chunk))
        .zip(b.par_chunks(chunk))
        .for_each(|((out, a), b)| {
            vectorised(
                #[inline(always)]
                || match write {
                    Write::Overwrite => {
                        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                            *o = f(x, y);
                        }
                    }
                    Write::Accumulate => {
                        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                            *o += f(x, y);
                        }
                    }
                },
            )
        });
}

/// `out[i] (=|+=) f(a[i])`.
#[inline]
pub fn map_store<T: Element>(out: &mut [T], a: &[T], write: Write, f: impl Fn(T) -> T + Sync) {
    assert_eq!(out.len(), a.len());
    let chunk = chunk_len(out.len());
    out.par_chunks_mut(chunk)
        .zip(a.par_chunks(chunk))
        .for_each(|(out, a)| {
            vectorised(
                #[inline(always)]
                || match write {
                    Write::Overwrite => {
                        for (o, &x) in out.iter_mut().zip(a) {
                            *o = f(x);
                        }
                    }
                    Write::Accumulate => {
                        for (o, &x) in out.iter_mut().zip(a) {
                            *o += f(x);
                        }
                    }
                },
            )
        });
}

/// `Σ x²`, with [`SUM_LANES`] interleaved partial sums (so the loop vectorises) added in a
/// fixed order at the end. A large slice is summed as two halves, on two threads when the
/// pool has them, and the halves added: the split point depends only on the length, so the
/// result is the same on any number of threads.
pub fn sum_of_squares<T: Element>(values: &[T]) -> T {
    if values.len() < PARALLEL_ELEMENTS {
        return lane_sum(values, |v| v * v);
    }
    let (low, high) = values.split_at((values.len() / 2).next_multiple_of(SUM_LANES));
    let (low, high) = rayon::join(|| lane_sum(low, |v| v * v), || lane_sum(high, |v| v * v));
    low + high
}

/// `Σ x`, with [`SUM_LANES`] interleaved partial sums added in a fixed order at the end.
pub fn sum<T: Element>(values: &[T]) -> T {
    lane_sum(values, |v| v)
}

/// The partial sums of a reduction: element `i` goes to lane `i mod SUM_LANES`. Sixty-four
/// lanes are four independent chains of 16-lane vector additions, enough to hide the
/// latency of an addition; the lanes are the same on every CPU, so is the result.
pub const SUM_LANES: usize = 64;

/// `Σ f(x)` over [`SUM_LANES`] lanes, added pairwise at the end (lane `i` with lane
/// `i + 32`, then `i + 16`, ...), always in the same order.
#[inline(always)]
fn lane_sum<T: Element>(values: &[T], f: impl Fn(T) -> T) -> T {
    vectorised(
        #[inline(always)]
        || {
            let mut lanes = [T::ZERO; SUM_LANES];
            let mut chunks = values.chunks_exact(SUM_LANES);
            for chunk in &mut chunks {
                for (lane, &v) in lanes.iter_mut().zip(chunk) {
                    *lane += f(v);
                }
            }
            for (lane, &v) in lanes.iter_mut().zip(chunks.remainder()) {
                *lane += f(v);
            }
            let mut width = SUM_LANES;
            while width > 1 {
                width /= 2;
                let (low, high) = lanes.split_at_mut(width);
                for (l, &h) in low.iter_mut().zip(&high[..width]) {
                    *l += h;
                }
            }
            lanes[0]
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_give_the_same_results_on_any_number_of_threads() {
        let a: Vec<f32> = (0..300_007)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let b: Vec<f32> = (0..300_007)
            .map(|i| ((i * 104_729) % 997) as f32 / 300.0)
            .collect();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let mut mapped = vec![0.0; a.len()];
                    map(&mut mapped, &a, |x| x.max(0.0));
                    let mut zipped = vec![1.0; a.len()];
                    zip_map(&mut zipped, &a, &b, Write::Accumulate, |x, y| x * y);
                    (mapped, zipped)
                })
        };
        let (one_mapped, one_zipped) = run(1);
        let (two_mapped, two_zipped) = run(2);
        assert_eq!(one_mapped, two_mapped);
        assert_eq!(one_zipped, two_zipped);
        assert_eq!(one_mapped[0], a[0].max(0.0));
        assert_eq!(one_zipped[5], 1.0 + a[5] * b[5]);
    }

    #[test]
    fn reductions_match_the_definition() {
        let v: Vec<f64> = (0..1001).map(|i| i as f64 * 0.5).collect();
        let squares: f64 = v.iter().map(|x| x * x).sum();
        assert!((sum_of_squares(&v) - squares).abs() < 1e-9 * squares);
        let total: f64 = v.iter().sum();
        assert!((sum(&v) - total).abs() < 1e-9 * total);
        assert_eq!(sum_of_squares::<f32>(&[]), 0.0);
        let large: Vec<f64> = (0..300_001).map(|i| (i % 7) as f64 - 3.0).collect();
        let squares: f64 = large.iter().map(|x| x * x).sum();
        assert_eq!(sum_of_squares(&large), squares);
        assert_eq!(sum(&[3.0f32]), 3.0);
    }
}
