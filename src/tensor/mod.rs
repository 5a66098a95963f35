//! Dense, row-major matrices of `f32` or `f64`, and the kernels that work on them.
//!
//! Every tensor of the engine is a matrix: rows are samples (a batch `X` is `B x d`), a
//! weight `W_k` is `out x in` as in §4.7 and in PyTorch `nn.Linear`, a bias is `1 x out`
//! and a scalar (a loss, the objective `J`) is `1 x 1`. Keeping one rank makes every shape
//! rule of §4.7 explicit and every kernel a plain loop over a contiguous slice.

mod element;
pub mod fma_peak;
pub mod isa;
pub(crate) mod kernels;
pub mod matmul;
pub(crate) mod sgemm;
pub(crate) mod vectorised;

pub use element::Element;

use std::fmt;

/// The shape of a matrix: `rows x cols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Shape {
    /// Number of rows (samples, for a batch).
    pub rows: usize,
    /// Number of columns (features, for a batch).
    pub cols: usize,
}

impl Shape {
    /// A `rows x cols` shape.
    pub const fn new(rows: usize, cols: usize) -> Self {
        Shape { rows, cols }
    }

    /// The `1 x 1` shape of a scalar.
    pub const SCALAR: Shape = Shape { rows: 1, cols: 1 };

    /// Number of elements.
    pub const fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether the shape holds no element.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.rows, self.cols)
    }
}

/// A dense row-major matrix: element `(r, c)` is `data[r * cols + c]`.
///
/// Resizing keeps the allocation: shrinking the number of rows (the last, partial batch of
/// an epoch) and growing back never reallocates, so a training loop that reuses its tensors
/// allocates nothing in steady state.
#[derive(Clone, PartialEq, Default)]
pub struct Tensor<T> {
    shape: Shape,
    data: Vec<T>,
}

impl<T: Element> Tensor<T> {
    /// A `rows x cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Tensor {
            shape: Shape::new(rows, cols),
            data: vec![T::ZERO; rows * cols],
        }
    }

    /// A `1 x 1` matrix holding `value`.
    pub fn scalar(value: T) -> Self {
        Tensor {
            shape: Shape::SCALAR,
            data: vec![value],
        }
    }

    /// A matrix from row-major data; `None` when `data.len() != rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<T>) -> Option<Self> {
        (data.len() == rows * cols).then_some(Tensor {
            shape: Shape::new(rows, cols),
            data,
        })
    }

    /// A matrix whose element `(r, c)` is `f(r, c)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                data.push(f(r, c));
            }
        }
        Tensor {
            shape: Shape::new(rows, cols),
            data,
        }
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.shape.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.shape.cols
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the matrix holds no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements, row-major.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The elements, row-major, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Row `r`.
    pub fn row(&self, r: usize) -> &[T] {
        &self.data[r * self.shape.cols..(r + 1) * self.shape.cols]
    }

    /// Element `(r, c)`.
    pub fn get(&self, r: usize, c: usize) -> T {
        self.data[r * self.shape.cols + c]
    }

    /// Sets element `(r, c)`.
    pub fn set(&mut self, r: usize, c: usize, value: T) {
        self.data[r * self.shape.cols + c] = value;
    }

    /// The single element of a `1 x 1` matrix.
    ///
    /// # Panics
    /// When the matrix is not `1 x 1` (a programming error, not a user error).
    pub fn item(&self) -> T {
        assert_eq!(
            self.shape,
            Shape::SCALAR,
            "item() of a {} matrix",
            self.shape
        );
        self.data[0]
    }

    /// Gives the matrix a new shape, keeping the allocation when it is large enough.
    /// New elements are zero; kept elements keep their position in the flat storage.
    pub fn reshape_in_place(&mut self, shape: Shape) {
        self.shape = shape;
        self.data.resize(shape.len(), T::ZERO);
    }

    /// Sets every element to zero.
    pub fn fill_zero(&mut self) {
        self.data.fill(T::ZERO);
    }

    /// Copies `other` into `self`, taking its shape (reusing the allocation when possible).
    pub fn copy_from(&mut self, other: &Tensor<T>) {
        self.shape = other.shape;
        self.data.clear();
        self.data.extend_from_slice(&other.data);
    }

    /// The same matrix with elements converted to another element type.
    pub fn cast<U: Element>(&self) -> Tensor<U> {
        Tensor {
            shape: self.shape,
            data: self.data.iter().map(|v| U::from_f64(v.to_f64())).collect(),
        }
    }

    /// The transpose, as a new matrix (for tests and explanations; kernels read transposes
    /// in place).
    pub fn transposed(&self) -> Tensor<T> {
        Tensor::from_fn(self.cols(), self.rows(), |r, c| self.get(c, r))
    }

    /// The squared Frobenius norm: the sum of the squares of all elements.
    pub fn squared_frobenius(&self) -> T {
        kernels::sum_of_squares(&self.data)
    }

    /// Whether every element is finite.
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }
}

impl<T: fmt::Debug> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor {} [", self.shape)?;
        for (r, row) in self.data.chunks(self.shape.cols.max(1)).enumerate() {
            if r > 0 {
                write!(f, "; ")?;
            }
            for (c, v) in row.iter().enumerate() {
                if c > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{v:?}")?;
            }
        }
        write!(f, "]")
    }
}

/// How a kernel stores its result: overwrite the destination, or add to it.
///
/// Backward propagation accumulates the gradient of a variable that feeds several operators
/// (and, between two `zero_grad` calls, the gradients of parameters): the first contribution
/// overwrites, later ones accumulate, so no buffer ever needs clearing first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// `dst = value`
    Overwrite,
    /// `dst += value`
    Accumulate,
}

impl Write {
    /// Stores `value` into `slot` according to the mode.
    #[inline(always)]
    pub fn store<T: Element>(self, slot: &mut T, value: T) {
        match self {
            Write::Overwrite => *slot = value,
            Write::Accumulate => *slot += value,
        }
    }
}
