//! Matrix products, from the `faer` crate (AVX-512 kernels; see `docs/decisions.md`).
//!
//! The three products of an MLP layer, in the batch form where rows are samples, each read
//! its transposed operand in place through strides (no copy is ever made):
//!
//! | product | where | function |
//! |---|---|---|
//! | `Z = X Wᵀ` | forward, 4.7.1 and 4.7.3 | [`matmul_a_bt`] |
//! | `dW = dZᵀ X` | backward, 4.7.11 and 4.7.14 | [`matmul_at_b`] |
//! | `dX = dZ W` | backward, 4.7.12 | [`matmul_a_b`] |
//!
//! **Threads and determinism.** A large product is split into as many blocks of output rows
//! as the current rayon pool has threads (training installs a pool of `--threads` threads);
//! each block is one single-threaded `faer` product, so every output element is computed by
//! exactly one thread in a fixed order: the same thread count gives bit-identical results.
//! Small products (`m·n·k` below [`PARALLEL_THRESHOLD`]) run on one thread, where a second
//! one costs more than it brings.
//!
//! **No allocation.** Single-threaded `faer` products pack their operands into buffers that
//! each thread keeps, so a training step in steady state allocates nothing.

use super::{Element, Tensor, Write};
use faer::{Accum, MatMut, MatRef, Par};

/// Products with fewer multiply-adds than this run on one thread.
pub const PARALLEL_THRESHOLD: usize = 1 << 22;

/// The element types `faer` multiplies: `f32` and `f64`.
pub trait GemmScalar: faer::traits::ComplexField + Copy {}
impl GemmScalar for f32 {}
impl GemmScalar for f64 {}

/// A read-only view of a row-major matrix, possibly transposed (read in place).
#[derive(Clone, Copy)]
struct MatrixView<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

impl<'a, T: Element> MatrixView<'a, T> {
    fn of(t: &'a Tensor<T>) -> Self {
        MatrixView {
            data: t.as_slice(),
            rows: t.rows(),
            cols: t.cols(),
            row_stride: t.cols() as isize,
            col_stride: 1,
        }
    }

    fn transposed(t: &'a Tensor<T>) -> Self {
        MatrixView {
            data: t.as_slice(),
            rows: t.cols(),
            cols: t.rows(),
            row_stride: 1,
            col_stride: t.cols() as isize,
        }
    }

    /// The view as `faer` sees it, restricted to rows `first .. first + count`.
    fn faer_rows(&self, first: usize, count: usize) -> MatRef<'a, T> {
        assert!(first + count <= self.rows);
        // SAFETY: the view describes `rows x cols` in-bounds elements of `data` (checked by
        // the constructors' shapes), and rows `first .. first + count` are a subset of them.
        unsafe {
            MatRef::from_raw_parts(
                self.data.as_ptr().offset(first as isize * self.row_stride),
                count,
                self.cols,
                self.row_stride,
                self.col_stride,
            )
        }
    }
}

/// `out (=|+=) X Wᵀ` for `X: m x k`, `W: n x k`: the forward product of a layer.
///
/// # Panics
/// When the shapes disagree (a programming error: the graph checks shapes when it is built).
pub fn matmul_a_bt<T: Element>(out: &mut Tensor<T>, x: &Tensor<T>, w: &Tensor<T>, write: Write) {
    product(out, MatrixView::of(x), MatrixView::transposed(w), write);
}

/// `out (=|+=) Aᵀ B` for `A: k x m`, `B: k x n`: the weight gradient `dZᵀ X`.
///
/// # Panics
/// When the shapes disagree.
pub fn matmul_at_b<T: Element>(out: &mut Tensor<T>, a: &Tensor<T>, b: &Tensor<T>, write: Write) {
    product(out, MatrixView::transposed(a), MatrixView::of(b), write);
}

/// `out (=|+=) A B` for `A: m x k`, `B: k x n`: the input gradient `dZ W`.
///
/// # Panics
/// When the shapes disagree.
pub fn matmul_a_b<T: Element>(out: &mut Tensor<T>, a: &Tensor<T>, b: &Tensor<T>, write: Write) {
    product(out, MatrixView::of(a), MatrixView::of(b), write);
}

/// Gives every thread of the current rayon pool the packing buffers `faer` keeps per
/// thread, by running one small product on each. The training loop calls it once before the
/// first step, so that no step allocates even the first time a thread helps with a product.
pub fn prepare_threads() {
    rayon::broadcast(|_| {
        warm_up_packing_buffers();
    });
}

fn warm_up_packing_buffers() {
    // Larger than faer's small-matrix path (m·n·k > 16³), so that it takes the packed one.
    let a = Tensor::<f32>::zeros(32, 32);
    let mut out = Tensor::<f32>::zeros(32, 32);
    let dst = out.as_mut_slice();
    // SAFETY: 32x32 row-major buffers.
    let dst = unsafe { MatMut::from_raw_parts_mut(dst.as_mut_ptr(), 32, 32, 32, 1) };
    faer::linalg::matmul::matmul(
        dst,
        Accum::Replace,
        MatrixView::of(&a).faer_rows(0, 32),
        MatrixView::of(&a).faer_rows(0, 32),
        1.0f32,
        Par::Seq,
    );
    clear_upper_vector_state();
}

fn product<T: Element>(out: &mut Tensor<T>, lhs: MatrixView<T>, rhs: MatrixView<T>, write: Write) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(k, rhs.rows, "inner dimensions of a product disagree");
    assert_eq!(
        (out.rows(), out.cols()),
        (m, n),
        "output shape of a product disagrees"
    );
    if m == 0 || n == 0 {
        return;
    }
    let accum = match write {
        Write::Overwrite => Accum::Replace,
        Write::Accumulate => Accum::Add,
    };
    // faer is handed the transposed problem, `Cᵀ = Bᵀ Aᵀ`, with `Cᵀ` a column-major view of the
    // same memory: measured on this workload's per-thread blocks (128x784x256), that form runs
    // at 149 GFLOP/s where the direct one runs at 108.
    let rhs = rhs.faer_rows(0, k).transpose();
    let threads = rayon::current_num_threads();
    let blocks = if m * n * k >= PARALLEL_THRESHOLD {
        threads.min(m)
    } else {
        1
    };
    let rows_per_block = m.div_ceil(blocks);
    block_products(out.as_mut_slice(), 0, rows_per_block, n, &lhs, rhs, accum);
}

/// Computes the output rows `first ..` of `dst` block by block (`rows_per_block` rows each),
/// the blocks in parallel by recursive halving (`rayon::join`, which allocates nothing).
fn block_products<T: Element>(
    dst: &mut [T],
    first: usize,
    rows_per_block: usize,
    n: usize,
    lhs: &MatrixView<T>,
    rhs_t: MatRef<T>,
    accum: Accum,
) {
    let rows = dst.len() / n;
    let blocks = rows.div_ceil(rows_per_block);
    if blocks > 1 {
        let left_rows = blocks / 2 * rows_per_block;
        let (left, right) = dst.split_at_mut(left_rows * n);
        rayon::join(
            || block_products(left, first, rows_per_block, n, lhs, rhs_t, accum),
            || {
                block_products(
                    right,
                    first + left_rows,
                    rows_per_block,
                    n,
                    lhs,
                    rhs_t,
                    accum,
                )
            },
        );
        return;
    }
    // SAFETY: `dst` holds exactly `rows x n` elements, row-major, which is the column-major
    // storage of its `n x rows` transpose.
    let dst_t = unsafe { MatMut::from_raw_parts_mut(dst.as_mut_ptr(), n, rows, 1, n as isize) };
    faer::linalg::matmul::matmul(
        dst_t,
        accum,
        rhs_t,
        lhs.faer_rows(first, rows).transpose(),
        T::ONE,
        Par::Seq,
    );
    clear_upper_vector_state();
}

/// Clears the upper halves of the vector registers (`vzeroupper`) after a product.
///
/// faer's AVX-512 kernels return with the upper register state dirty. Until it is cleared,
/// every SSE instruction of the code that follows (this crate is compiled for baseline
/// x86-64, so its loops and the C library's `expf` are SSE code) pays a state-transition
/// penalty: measured here, a sigmoid over 65,536 values went from 3 ns to 166 ns per value
/// after one product. One `vzeroupper` per product removes it.
#[inline]
fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above).
            unsafe { zero_upper() }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &Tensor<f64>, b: &Tensor<f64>) -> Tensor<f64> {
        Tensor::from_fn(a.rows(), b.cols(), |i, j| {
            (0..a.cols()).map(|p| a.get(i, p) * b.get(p, j)).sum()
        })
    }

    fn filled(rows: usize, cols: usize, salt: f64) -> Tensor<f64> {
        Tensor::from_fn(rows, cols, |r, c| ((r * 31 + c * 17) as f64 * salt).sin())
    }

    fn assert_close(got: &Tensor<f64>, want: &Tensor<f64>) {
        assert_eq!(got.shape(), want.shape());
        for (a, b) in got.as_slice().iter().zip(want.as_slice()) {
            assert!((a - b).abs() < 1e-10 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    /// The three layer products, small (one block) and large (split over two threads).
    #[test]
    fn the_three_layer_products_match_the_definition() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for (b, d, h) in [(7, 5, 4), (200, 150, 140)] {
            pool.install(|| {
                let x = filled(b, d, 0.3);
                let w = filled(h, d, 0.7);
                let dz = filled(b, h, 1.1);

                let mut z = Tensor::zeros(b, h);
                matmul_a_bt(&mut z, &x, &w, Write::Overwrite);
                assert_close(&z, &naive(&x, &w.transposed()));

                let mut dw = Tensor::zeros(h, d);
                matmul_at_b(&mut dw, &dz, &x, Write::Overwrite);
                assert_close(&dw, &naive(&dz.transposed(), &x));

                let mut dx = Tensor::zeros(b, d);
                matmul_a_b(&mut dx, &dz, &w, Write::Overwrite);
                assert_close(&dx, &naive(&dz, &w));
            });
        }
    }

    #[test]
    fn accumulate_adds_to_the_destination_and_overwrite_ignores_it() {
        let a = filled(3, 2, 0.5);
        let b = filled(2, 4, 0.9);
        let product = naive(&a, &b);
        let mut out = Tensor::from_fn(3, 4, |r, c| (r + c) as f64);
        let before = out.clone();
        matmul_a_b(&mut out, &a, &b, Write::Accumulate);
        for i in 0..out.len() {
            let want = before.as_slice()[i] + product.as_slice()[i];
            assert!((out.as_slice()[i] - want).abs() < 1e-12);
        }
        matmul_a_b(&mut out, &a, &b, Write::Overwrite);
        assert_close(&out, &product);
    }
}
