//! Matrix products: `f32` on CPUs with AVX-512 or AVX2 by this crate's own kernels
//! (`tensor/sgemm`), everything else by the `faer` crate (see `docs/decisions.md`).
//!
//! The three products of an MLP layer, in the batch form where rows are samples, each read
//! its transposed operand in place through strides (never transposed in a separate pass):
//!
//! | product | where | function |
//! |---|---|---|
//! | `Z = X Wᵀ` | forward, 4.7.1 and 4.7.3 | [`matmul_a_bt`] |
//! | `dW = dZᵀ X` | backward, 4.7.11 and 4.7.14 | [`matmul_at_b`] |
//! | `dX = dZ W` | backward, 4.7.12 | [`matmul_a_b`] |
//!
//! **Threads and determinism.** A large product is cut into as many blocks of output rows
//! or columns as the current rayon pool has threads (training installs a pool of `--threads`
//! threads; see `Split` for which side is cut); each block is one single-threaded product,
//! so every output element is computed by exactly one thread in a fixed order: the same
//! thread count gives bit-identical results. Small products (`m·n·k` below
//! [`PARALLEL_THRESHOLD`]) run on one thread, where a second one costs more than it brings.
//!
//! **No allocation.** Both kernels pack their operands into buffers that each thread keeps
//! ([`prepare_threads`] fills them before training), so a training step in steady state
//! allocates nothing.

use super::isa::Isa;
use super::sgemm;
use super::{Element, Tensor, Write};
use faer::{Accum, MatMut, MatRef, Par};
use std::ops::Range;

/// Blocks of a product's output are whole multiples of this many rows or columns.
const CUT_UNIT: usize = 8;

/// A weight with fewer rows than this is not cut over threads (the other side is).
const NARROW_CUT: usize = 64;

/// Products with fewer multiply-adds than this run on one thread: the output layer's
/// products at batch 256 (655,360) do; at batch 1024 (2.6 million) they are split, which
/// measured 4 % faster per epoch than a threshold of 2²².
pub const PARALLEL_THRESHOLD: usize = 1 << 21;

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

    /// The address of element `(row, col)`.
    fn element(&self, row: usize, col: usize) -> *const T {
        assert!(row <= self.rows && col <= self.cols);
        // SAFETY: in bounds or one past the end of `data` (checked just above and by the
        // constructors' shapes); `wrapping_offset` keeps the one-past case defined.
        self.data
            .as_ptr()
            .wrapping_offset(row as isize * self.row_stride + col as isize * self.col_stride)
    }

    /// The sub-matrix `rows x cols` as `faer` sees it.
    fn faer(&self, rows: Range<usize>, cols: Range<usize>) -> MatRef<'a, T> {
        assert!(rows.end <= self.rows && cols.end <= self.cols);
        // SAFETY: the sub-matrix lies inside the view (checked just above), whose elements
        // are in bounds of `data`.
        unsafe {
            MatRef::from_raw_parts(
                self.element(rows.start, cols.start),
                rows.len(),
                cols.len(),
                self.row_stride,
                self.col_stride,
            )
        }
    }

    /// The sub-matrix `rows x cols` as the own kernels see it (`T` must be `f32`).
    fn strided(&self, rows: Range<usize>, cols: Range<usize>) -> sgemm::StridedMatrix {
        assert!(rows.end <= self.rows && cols.end <= self.cols);
        sgemm::StridedMatrix {
            ptr: self.element(rows.start, cols.start).cast::<f32>(),
            rows: rows.len(),
            cols: cols.len(),
            row_stride: self.row_stride as usize,
            col_stride: self.col_stride as usize,
        }
    }
}

/// `out (=|+=) X Wᵀ` for `X: m x k`, `W: n x k`: the forward product of a layer.
///
/// # Panics
/// When the shapes disagree (a programming error: the graph checks shapes when it is built).
pub fn matmul_a_bt<T: Element>(out: &mut Tensor<T>, x: &Tensor<T>, w: &Tensor<T>, write: Write) {
    product(
        out,
        MatrixView::of(x),
        MatrixView::transposed(w),
        Store::Write(write),
        Some(Cut::Columns),
    );
}

/// `out (=|+=) Aᵀ B` for `A: k x m`, `B: k x n`: the weight gradient `dZᵀ X`.
///
/// # Panics
/// When the shapes disagree.
pub fn matmul_at_b<T: Element>(out: &mut Tensor<T>, a: &Tensor<T>, b: &Tensor<T>, write: Write) {
    product(
        out,
        MatrixView::transposed(a),
        MatrixView::of(b),
        Store::Write(write),
        Some(Cut::Rows),
    );
}

/// `out = Aᵀ B + scale · S` for `A: k x m`, `B: k x n` and `S: m x n`: a weight's whole
/// gradient in one pass over it, `dJ/dW = dZᵀ X + λ W` (4.7.11, 4.7.14: the product, then the
/// decay term of 4.7.10 added as each block is stored). Bit for bit what storing `scale · S`
/// and then accumulating [`matmul_at_b`] onto it gives, one pass over `out` and `S` sooner.
///
/// # Panics
/// When the shapes disagree.
pub fn matmul_at_b_plus_scaled<T: Element>(
    out: &mut Tensor<T>,
    a: &Tensor<T>,
    b: &Tensor<T>,
    scale: T,
    s: &Tensor<T>,
) {
    assert_eq!(
        s.shape(),
        out.shape(),
        "the addend's shape disagrees with the output's"
    );
    product(
        out,
        MatrixView::transposed(a),
        MatrixView::of(b),
        Store::PlusScaled(scale, s.as_slice()),
        Some(Cut::Rows),
    );
}

/// `out (=|+=) A B` for `A: m x k`, `B: k x n`: the input gradient `dZ W`.
///
/// # Panics
/// When the shapes disagree.
pub fn matmul_a_b<T: Element>(out: &mut Tensor<T>, a: &Tensor<T>, b: &Tensor<T>, write: Write) {
    product(
        out,
        MatrixView::of(a),
        MatrixView::of(b),
        Store::Write(write),
        None,
    );
}

/// How a product's result goes into its output.
#[derive(Clone, Copy)]
enum Store<'a, T> {
    /// `out = product` or `out += product`.
    Write(Write),
    /// `out = product + scale · S`, for `S` of the output's shape (rounded product, then sum).
    PlusScaled(T, &'a [T]),
}

/// Whether a product of `T` computes every output row with the same operations in the same
/// order, whatever the number of rows: true for this crate's own kernels (the blocks of `k`
/// depend on `k` and the width alone), not for `faer`, whose blocking changes with the shape.
/// When it holds, a forward pass gives each sample the same bits in a pass of any size.
pub fn rows_are_independent<T: Element>() -> bool {
    Kernel::for_type::<T>() != Kernel::Faer
}

/// Gives every thread of the current rayon pool the packing buffers `faer` keeps per
/// thread, by running one small product on each. The training loop calls it once before the
/// first step, so that no step allocates even the first time a thread helps with a product.
pub fn prepare_threads() {
    rayon::broadcast(|_| {
        warm_up_packing_buffers();
        if Kernel::for_type::<f32>() != Kernel::Faer {
            sgemm::prepare_thread();
        }
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
        MatrixView::of(&a).faer(0..32, 0..32),
        MatrixView::of(&a).faer(0..32, 0..32),
        1.0f32,
        Par::Seq,
    );
    clear_upper_vector_state();
}

fn product<T: Element>(
    out: &mut Tensor<T>,
    lhs: MatrixView<T>,
    rhs: MatrixView<T>,
    store: Store<T>,
    weight_rows: Option<Cut>,
) {
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
    let threads = if m * n * k >= PARALLEL_THRESHOLD {
        rayon::current_num_threads()
    } else {
        1
    };
    let kernel = Kernel::for_type::<T>();
    let split = Split::choose(m, n, k, threads, kernel, weight_rows);
    let dst = OutputMatrix {
        ptr: out.as_mut_slice().as_mut_ptr(),
        row_stride: n,
    };
    run_blocks(0, split.blocks, &|block| {
        let (rows, cols) = split.block(block, m, n);
        // SAFETY: the blocks of a split are disjoint rectangles of `out`, which is borrowed
        // mutably for the whole call; the operands are shared borrows that do not alias it.
        unsafe { block_product(kernel, dst, &lhs, &rhs, rows, cols, store) }
    });
}

/// Which code computes a block of a product.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kernel {
    /// This crate's single-precision kernel for an instruction set ([`super::sgemm`]).
    Own(Isa),
    /// `faer`, single-threaded: `f64`, and `f32` on CPUs without AVX2.
    Faer,
}

impl Kernel {
    fn for_type<T: Element>() -> Kernel {
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
            match Isa::detect() {
                Isa::Baseline => {}
                isa => return Kernel::Own(isa),
            }
        }
        Kernel::Faer
    }
}

/// Which side of a product's output is cut into one block per thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cut {
    Rows,
    Columns,
}

/// How a product's output is cut into one block per thread.
///
/// **Which side.** Each thread packs its share of the operand that is cut and the whole of
/// the other one, so the side that packs the least is cut. When one side of the output
/// indexes the rows of a weight (the columns of `Z = X Wᵀ`, the rows of `dW = dZᵀ X`), that
/// side is preferred unless it packs a quarter more: it is cut at the rows where the
/// optimizer cuts `W`, so each thread packs rows of `W` it updated itself and writes the
/// rows of `dW` it reads in the update.
///
/// The estimate still counts a row-major `A` as packed, although the own kernel now reads it
/// in place: measured, the cuts it picks stay the faster ones (by rows for `X W1ᵀ` at batch
/// 1024, where each thread then reads the rows it gathered; by columns at batch 256, where
/// cutting rows would have each thread pack all of `W1`).
#[derive(Clone, Copy, Debug)]
struct Split {
    blocks: usize,
    along_rows: bool,
    /// Rows (or columns) per block.
    step: usize,
}

impl Split {
    fn choose(
        m: usize,
        n: usize,
        k: usize,
        threads: usize,
        kernel: Kernel,
        weight_rows: Option<Cut>,
    ) -> Split {
        // What one thread packs: its share of the operand that is cut, all of the other.
        let packed_cutting_rows = m * k / threads + k * n;
        let packed_cutting_columns = m * k + k * n / threads;
        let along_rows = match weight_rows {
            // faer was measured faster cut along rows (see `docs/decisions.md`).
            _ if kernel == Kernel::Faer => true,
            // A weight's rows, unless that packs clearly more (a batch of 1024 would have
            // each thread pack all of it) or the weight is narrow (the output layer's).
            Some(Cut::Rows) if m >= NARROW_CUT => {
                4 * packed_cutting_rows <= 5 * packed_cutting_columns
            }
            Some(Cut::Columns) if n >= NARROW_CUT => {
                4 * packed_cutting_columns > 5 * packed_cutting_rows
            }
            _ => packed_cutting_rows <= packed_cutting_columns,
        };
        let extent = if along_rows { m } else { n };
        let blocks = threads.clamp(1, extent.div_ceil(CUT_UNIT));
        let step = extent.div_ceil(blocks).next_multiple_of(CUT_UNIT);
        Split {
            blocks: extent.div_ceil(step),
            along_rows,
            step,
        }
    }

    /// The row and column ranges of block `index`.
    fn block(&self, index: usize, m: usize, n: usize) -> (Range<usize>, Range<usize>) {
        let extent = if self.along_rows { m } else { n };
        let cut = index * self.step..((index + 1) * self.step).min(extent);
        if self.along_rows {
            (cut, 0..n)
        } else {
            (0..m, cut)
        }
    }
}

/// The output of a product, shared by the threads that each write one block of it.
#[derive(Clone, Copy)]
struct OutputMatrix<T> {
    ptr: *mut T,
    row_stride: usize,
}

// SAFETY: the threads write disjoint blocks (see `product`).
unsafe impl<T: Send> Send for OutputMatrix<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for OutputMatrix<T> {}

/// Runs `work(block)` for every block in `first .. first + count`, in parallel by recursive
/// halving (`rayon::join`, which allocates nothing).
fn run_blocks(first: usize, count: usize, work: &(dyn Fn(usize) + Sync)) {
    if count > 1 {
        let half = count / 2;
        rayon::join(
            || run_blocks(first, half, work),
            || run_blocks(first + half, count - half, work),
        );
    } else if count == 1 {
        work(first);
    }
}

/// Computes the block `rows x cols` of `dst = lhs · rhs` on the current thread.
///
/// # Safety
/// `dst` must be valid for the whole output and no other thread may touch this block.
unsafe fn block_product<T: Element>(
    kernel: Kernel,
    dst: OutputMatrix<T>,
    lhs: &MatrixView<T>,
    rhs: &MatrixView<T>,
    rows: Range<usize>,
    cols: Range<usize>,
    store: Store<T>,
) {
    let k = lhs.cols;
    let offset = rows.start * dst.row_stride + cols.start;
    let block = dst.ptr.add(offset);
    match kernel {
        Kernel::Own(isa) => {
            // SAFETY: `Kernel::Own` is only chosen when `T` is `f32` and the CPU has `isa`;
            // the views are in bounds (checked by their constructors' shapes).
            sgemm::sgemm(
                isa,
                lhs.strided(rows.clone(), 0..k),
                rhs.strided(0..k, cols.clone()),
                block.cast::<f32>(),
                dst.row_stride,
                match store {
                    Store::Write(Write::Overwrite) => sgemm::Addend::Nothing,
                    Store::Write(Write::Accumulate) => sgemm::Addend::Output,
                    // `S` has the output's shape, so its block starts at the same offset.
                    Store::PlusScaled(scale, s) => sgemm::Addend::Scaled {
                        ptr: s[offset..].as_ptr().cast::<f32>(),
                        ld: dst.row_stride,
                        scale: scale.to_f64() as f32,
                    },
                },
            );
        }
        Kernel::Faer => {
            let accum = match store {
                Store::Write(Write::Overwrite) => Accum::Replace,
                Store::Write(Write::Accumulate) => Accum::Add,
                Store::PlusScaled(scale, s) => {
                    // `scale S` stored first, the product accumulated onto it.
                    for i in 0..rows.len() {
                        let row = offset + i * dst.row_stride;
                        for j in 0..cols.len() {
                            *block.add(i * dst.row_stride + j) = scale * s[row + j];
                        }
                    }
                    Accum::Add
                }
            };
            // faer is handed the transposed problem, `Cᵀ = Bᵀ Aᵀ`, with `Cᵀ` a column-major
            // view of the same memory: measured on this workload's per-thread blocks
            // (128x784x256), that form runs at 149 GFLOP/s where the direct one runs at 108.
            let dst_t = MatMut::from_raw_parts_mut(
                block,
                cols.len(),
                rows.len(),
                1,
                dst.row_stride as isize,
            );
            faer::linalg::matmul::matmul(
                dst_t,
                accum,
                rhs.faer(0..k, cols).transpose(),
                lhs.faer(rows, 0..k).transpose(),
                T::ONE,
                Par::Seq,
            );
            clear_upper_vector_state();
        }
    }
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

    /// The f32 path (this crate's AVX-512 or AVX2 kernel where the CPU has one) against an f64
    /// reference: ragged edges in every dimension, the three layouts, both write modes, one
    /// and two threads, and depths that take several packed blocks.
    #[test]
    fn f32_products_match_an_f64_reference_on_ragged_shapes() {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for (m, k, n) in [
                (1, 1, 1),
                (13, 7, 33),
                (12, 32, 32),
                (25, 300, 17),
                (10, 256, 256),
                (256, 10, 256),
                (256, 256, 10),
                (7, 37, 5),
                (30, 1000, 16),
                (300, 784, 300),
                (97, 1100, 1500),
            ] {
                pool.install(|| check_f32_layouts(m, k, n));
            }
        }
    }

    fn check_f32_layouts(m: usize, k: usize, n: usize) {
        let a = filled(m, k, 0.3);
        let b = filled(k, n, 0.7);
        let want = naive(&a, &b);
        let (a32, b32) = (a.cast::<f32>(), b.cast::<f32>());
        let (at32, bt32) = (a32.transposed(), b32.transposed());
        let start = Tensor::<f32>::from_fn(m, n, |r, c| ((r * 3 + c) % 5) as f32);
        type Product = fn(&mut Tensor<f32>, &Tensor<f32>, &Tensor<f32>, Write);
        let layouts: [(&str, Product, &Tensor<f32>, &Tensor<f32>); 3] = [
            ("A B", matmul_a_b, &a32, &b32),
            ("A Bᵀ", matmul_a_bt, &a32, &bt32),
            ("Aᵀ B", matmul_at_b, &at32, &b32),
        ];
        for (name, multiply, lhs, rhs) in layouts {
            for write in [Write::Overwrite, Write::Accumulate] {
                let mut got = start.clone();
                multiply(&mut got, lhs, rhs, write);
                for i in 0..m {
                    for j in 0..n {
                        let base = match write {
                            Write::Overwrite => 0.0,
                            Write::Accumulate => start.get(i, j) as f64,
                        };
                        let expected = base + want.get(i, j);
                        let error = (got.get(i, j) as f64 - expected).abs();
                        assert!(
                            error <= 1e-5 * (k as f64).sqrt() * (1.0 + expected.abs()),
                            "{name} {m}x{k}x{n} {write:?} at ({i}, {j}): {} vs {expected}",
                            got.get(i, j)
                        );
                    }
                }
            }
        }
    }

    /// The weight gradient with its decay term in one pass has the bits of the two passes it
    /// replaces (store `scale S`, accumulate the product), for both element types, on one and
    /// two threads, with a depth of several blocks; and it is the definition's value.
    #[test]
    fn the_scaled_addend_gives_the_bits_of_storing_it_first() {
        fn check<T: Element>(k: usize, m: usize, n: usize) {
            let a = filled(k, m, 0.3).cast::<T>();
            let b = filled(k, n, 0.7).cast::<T>();
            let s64 = filled(m, n, 1.3);
            let s = s64.cast::<T>();
            let scale = T::from_f64(0.0375);
            let mut fused = Tensor::<T>::from_fn(m, n, |_, _| T::from_f64(9.0));
            matmul_at_b_plus_scaled(&mut fused, &a, &b, scale, &s);
            let mut two_passes = Tensor::<T>::from_fn(m, n, |r, c| scale * s.get(r, c));
            matmul_at_b(&mut two_passes, &a, &b, Write::Accumulate);
            assert_eq!(fused.as_slice(), two_passes.as_slice(), "{k}x{m}x{n}");
            let want = naive(&filled(k, m, 0.3).transposed(), &filled(k, n, 0.7));
            for i in 0..m {
                for j in 0..n {
                    let expected = want.get(i, j) + 0.0375 * s64.get(i, j);
                    let got = fused.get(i, j).to_f64();
                    assert!((got - expected).abs() <= 1e-4 * (1.0 + expected.abs()));
                }
            }
        }
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                for (k, m, n) in [(7, 5, 4), (256, 10, 256), (1100, 130, 300), (0, 3, 5)] {
                    check::<f32>(k, m, n);
                    check::<f64>(k, m, n);
                }
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
