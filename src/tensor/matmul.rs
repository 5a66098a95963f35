//! Matrix products, from the `gemm` crate (AVX-512 kernels; see `docs/decisions.md`).
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
//! Products run on the current rayon pool with all its threads (training installs a pool of
//! `--threads` threads). `gemm` splits the output into blocks that each thread computes
//! whole, in a fixed order of the inner dimension, so the result does not depend on timing:
//! the same thread count gives bit-identical results.

use super::{Element, Tensor, Write};
use gemm::Parallelism;
use std::any::TypeId;

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

fn product<T: Element>(out: &mut Tensor<T>, lhs: MatrixView<T>, rhs: MatrixView<T>, write: Write) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(k, rhs.rows, "inner dimensions of a product disagree");
    assert_eq!(
        (out.rows(), out.cols()),
        (m, n),
        "output shape of a product disagrees"
    );
    assert!(
        TypeId::of::<T>() == TypeId::of::<f32>() || TypeId::of::<T>() == TypeId::of::<f64>(),
        "Element is only implemented for f32 and f64"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if write == Write::Overwrite {
            out.fill_zero();
        }
        return;
    }
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    let dst = out.as_mut_slice().as_mut_ptr();
    // SAFETY: the views describe in-bounds elements of live slices: the shapes were checked
    // above and the strides are those of row-major storage of exactly these shapes; `dst`
    // does not alias `lhs` or `rhs` because it comes from a `&mut` borrow.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            write == Write::Accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride,
            lhs.row_stride,
            rhs.data.as_ptr(),
            rhs.col_stride,
            rhs.row_stride,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
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

    #[test]
    fn the_three_layer_products_match_the_definition() {
        let x = filled(7, 5, 0.3);
        let w = filled(4, 5, 0.7);
        let dz = filled(7, 4, 1.1);

        let mut z = Tensor::zeros(7, 4);
        matmul_a_bt(&mut z, &x, &w, Write::Overwrite);
        let expected = naive(&x, &w.transposed());
        for (a, b) in z.as_slice().iter().zip(expected.as_slice()) {
            assert!((a - b).abs() < 1e-12);
        }

        let mut dw = Tensor::zeros(4, 5);
        matmul_at_b(&mut dw, &dz, &x, Write::Overwrite);
        let expected = naive(&dz.transposed(), &x);
        for (a, b) in dw.as_slice().iter().zip(expected.as_slice()) {
            assert!((a - b).abs() < 1e-12);
        }

        let mut dx = Tensor::zeros(7, 5);
        matmul_a_b(&mut dx, &dz, &w, Write::Overwrite);
        let expected = naive(&dz, &w);
        for (a, b) in dx.as_slice().iter().zip(expected.as_slice()) {
            assert!((a - b).abs() < 1e-12);
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
        for i in 0..out.len() {
            assert!((out.as_slice()[i] - product.as_slice()[i]).abs() < 1e-12);
        }
    }
}
