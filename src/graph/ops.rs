//! Every operator of the engine, with its forward rule and its vector-Jacobian product side
//! by side.
//!
//! This file is the one place that lists how each operator propagates forward and backward:
//! [`Op::forward`] computes an operator's output from its inputs, and [`Op::vjp`] turns the
//! gradient of the objective with respect to the output into the gradient with respect to
//! one input (the vector-Jacobian product). [`Op::saved_for_backward`] states which tensors
//! each backward rule reads, which is exactly what forward propagation has to keep.
//!
//! All tensors are matrices whose rows are samples; see [`crate::tensor`].

use crate::tensor::matmul::{matmul_a_b, matmul_a_bt, matmul_at_b, matmul_at_b_plus_scaled};
use crate::tensor::vectorised::vectorised;
use crate::tensor::{kernels, Element, Shape, Tensor, Write};
use std::fmt;

/// The element-wise nonlinearity `phi` of §4.7 (4.7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Activation {
    /// `phi(z) = max(z, 0)`
    Relu,
    /// `phi(z) = 1 / (1 + e^-z)`
    Sigmoid,
    /// `phi(z) = tanh(z)`
    Tanh,
}

impl Activation {
    /// The name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }

    /// Parses a name as written by [`Activation::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "relu" => Some(Activation::Relu),
            "sigmoid" => Some(Activation::Sigmoid),
            "tanh" => Some(Activation::Tanh),
            _ => None,
        }
    }

    /// 4.7.2: `h = phi(z)` for one element.
    #[inline(always)]
    pub fn apply<T: Element>(self, z: T) -> T {
        match self {
            Activation::Relu => z.max(T::ZERO),
            Activation::Sigmoid => T::ONE / (T::ONE + (-z).exp()),
            Activation::Tanh => z.tanh(),
        }
    }

    /// `phi'(z)`, written in terms of the output `h = phi(z)`: `[h > 0]` for relu,
    /// `h (1 - h)` for sigmoid, `1 - h²` for tanh.
    ///
    /// Expressing the derivative through `h` means backward needs only `h`, which the next
    /// product keeps anyway, and never `z`: forward does not have to keep `z` at all.
    #[inline(always)]
    pub fn derivative_from_output<T: Element>(self, h: T) -> T {
        match self {
            Activation::Relu => {
                if h > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Activation::Sigmoid => h * (T::ONE - h),
            Activation::Tanh => T::ONE - h * h,
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operator node's computation. Inputs are listed in the order given for each variant.
#[derive(Clone, Debug)]
pub enum Op<T> {
    /// 4.7.1 / 4.7.3 in batch form: inputs `[X (B x in), W (out x in)]`, output `Z = X Wᵀ`
    /// (`B x out`).
    MatMul,
    /// Inputs `[Z (B x n), b (1 x n)]`, output `Z + b`, the bias added to every row.
    AddBias,
    /// 4.7.2: inputs `[Z]`, output `H = phi(Z)` element-wise.
    Activation(Activation),
    /// 4.7.4 with `l = -log softmax(o)_y`: inputs `[O (B x q), y (B x 1, class indices)]`,
    /// output the per-sample losses `l (B x 1)`. Softmax and logarithm are fused into one
    /// numerically stable pass (log-sum-exp), and the probabilities are kept for backward.
    SoftmaxCrossEntropy {
        /// `softmax(O)`, row by row, computed by forward and read by backward.
        probabilities: Tensor<T>,
    },
    /// 4.7.4 with `l = 1/2 ||o - onehot(y)||²`: inputs `[O (B x q), y (B x 1)]`, output the
    /// per-sample losses `l (B x 1)`.
    SquaredLoss,
    /// `||W||_F²`, the sum of squares of all elements: inputs `[W]`, output `1 x 1`.
    SquaredFrobenius,
    /// Inputs `[A, B]` of one shape, output `A + B`.
    Add,
    /// Inputs `[A]`, output `c A`.
    Scale(T),
    /// Inputs `[A]`, output the mean of all elements of `A` (`1 x 1`).
    Mean,
}

/// A tensor that an operator's backward rule reads, and so forward propagation must keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavedTensor {
    /// The value of input number `i`.
    Input(usize),
    /// The value of the operator's output.
    Output,
    /// A buffer the operator owns (for softmax cross-entropy, the probabilities), with its
    /// size in elements.
    Internal {
        /// Number of elements.
        elements: usize,
    },
}

/// Why an operator could not be built or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpError {
    /// The inputs' shapes do not fit the operator.
    #[error("{op}: {detail}")]
    Shape {
        /// The operator's name.
        op: &'static str,
        /// What did not fit.
        detail: String,
    },
    /// A label is not a class index below the number of outputs.
    #[error("{op}: label {label} of sample {sample} is not a class index below the number of outputs {classes}")]
    Label {
        /// The operator's name.
        op: &'static str,
        /// The row of the batch.
        sample: usize,
        /// The label as found.
        label: f64,
        /// The number of outputs `q`.
        classes: usize,
    },
}

impl<T: Element> Op<T> {
    /// A softmax cross-entropy operator with an empty probability buffer.
    pub fn softmax_cross_entropy() -> Self {
        Op::SoftmaxCrossEntropy {
            probabilities: Tensor::default(),
        }
    }

    /// The operator's short name, as drawn in the graph.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul => "matmul",
            Op::AddBias => "add bias",
            Op::Activation(a) => a.name(),
            Op::SoftmaxCrossEntropy { .. } => "softmax cross-entropy",
            Op::SquaredLoss => "squared loss",
            Op::SquaredFrobenius => "squared norm",
            Op::Add => "add",
            Op::Scale(_) => "scale",
            Op::Mean => "mean",
        }
    }

    /// How many inputs the operator takes.
    pub fn arity(&self) -> usize {
        match self {
            Op::MatMul
            | Op::AddBias
            | Op::SoftmaxCrossEntropy { .. }
            | Op::SquaredLoss
            | Op::Add => 2,
            Op::Activation(_) | Op::SquaredFrobenius | Op::Scale(_) | Op::Mean => 1,
        }
    }

    /// Whether the gradient of input `i` is the output's gradient itself, `dJ/d(input) =
    /// dJ/d(out)`: the `Z` of `Z + b`, and both terms of a sum.
    pub fn passes_gradient_through(&self, i: usize) -> bool {
        matches!((self, i), (Op::AddBias, 0) | (Op::Add, _))
    }

    /// Whether input `i` may carry a gradient. Labels are class indices and never do.
    pub fn is_differentiable_input(&self, i: usize) -> bool {
        !matches!(self, Op::SoftmaxCrossEntropy { .. } | Op::SquaredLoss if i == 1)
    }

    /// The output's shape for inputs of the given shapes, or why they do not fit.
    pub fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, OpError> {
        let op = self.name();
        let fail = |detail: String| Err(OpError::Shape { op, detail });
        if inputs.len() != self.arity() {
            return fail(format!(
                "takes {} inputs, got {}",
                self.arity(),
                inputs.len()
            ));
        }
        match self {
            Op::MatMul => {
                let (x, w) = (inputs[0], inputs[1]);
                if x.cols != w.cols {
                    return fail(format!(
                        "X is {x} and W is {w}: X Wᵀ needs as many columns in X as in W"
                    ));
                }
                Ok(Shape::new(x.rows, w.rows))
            }
            Op::AddBias => {
                let (z, b) = (inputs[0], inputs[1]);
                if b.rows != 1 || b.cols != z.cols {
                    return fail(format!(
                        "Z is {z}, so the bias must be 1x{}, not {b}",
                        z.cols
                    ));
                }
                Ok(z)
            }
            Op::SoftmaxCrossEntropy { .. } | Op::SquaredLoss => {
                let (o, y) = (inputs[0], inputs[1]);
                if y.cols != 1 || y.rows != o.rows {
                    return fail(format!(
                        "O is {o}, so the labels must be {}x1, not {y}",
                        o.rows
                    ));
                }
                if o.cols == 0 {
                    return fail("O has no columns".to_string());
                }
                Ok(Shape::new(o.rows, 1))
            }
            Op::Add => {
                if inputs[0] != inputs[1] {
                    return fail(format!("cannot add {} and {}", inputs[0], inputs[1]));
                }
                Ok(inputs[0])
            }
            Op::Activation(_) | Op::Scale(_) => Ok(inputs[0]),
            Op::SquaredFrobenius | Op::Mean => Ok(Shape::SCALAR),
        }
    }

    /// Forward propagation of this operator: computes `out` (already of the right shape) from
    /// the input values.
    pub fn forward(&mut self, inputs: &[&Tensor<T>], out: &mut Tensor<T>) -> Result<(), OpError> {
        match self {
            Op::MatMul => matmul_a_bt(out, inputs[0], inputs[1], Write::Overwrite),
            Op::AddBias => {
                let (z, b) = (inputs[0], inputs[1].as_slice());
                kernels::map_rows(
                    out.as_mut_slice(),
                    z.as_slice(),
                    z.cols(),
                    |out_row, z_row| {
                        for ((o, &z), &b) in out_row.iter_mut().zip(z_row).zip(b) {
                            *o = z + b;
                        }
                    },
                );
            }
            Op::Activation(phi) => {
                let (h, z) = (out.as_mut_slice(), inputs[0].as_slice());
                // One loop per activation, so that each is a plain loop the compiler vectorises.
                match phi {
                    Activation::Relu => kernels::map(h, z, |z| Activation::Relu.apply(z)),
                    Activation::Sigmoid => kernels::map(h, z, |z| Activation::Sigmoid.apply(z)),
                    Activation::Tanh => kernels::map(h, z, |z| Activation::Tanh.apply(z)),
                }
            }
            Op::SoftmaxCrossEntropy { probabilities } => {
                let (o, y) = (inputs[0], inputs[1]);
                probabilities.reshape_in_place(o.shape());
                let q = o.cols();
                // log-sum-exp, shifted by the row maximum so that no exp overflows. Three
                // passes, so that the exponentials run as one vectorised loop over the whole
                // batch rather than ten at a time: each row's maximum (kept in the loss
                // buffer meanwhile) and `o - max`, then `exp`, then the sums and the losses.
                let (p, losses) = (probabilities.as_mut_slice(), out.as_mut_slice());
                for (i, (o_row, p_row)) in o
                    .as_slice()
                    .chunks_exact(q)
                    .zip(p.chunks_exact_mut(q))
                    .enumerate()
                {
                    class_index("softmax cross-entropy", y, i, q)?;
                    let max = o_row.iter().fold(o_row[0], |m, &v| m.max(v));
                    for (p, &v) in p_row.iter_mut().zip(o_row) {
                        *p = v - max;
                    }
                    losses[i] = max;
                }
                vectorised(
                    #[inline(always)]
                    || {
                        for p in p.iter_mut() {
                            *p = p.exp_flushed();
                        }
                    },
                );
                for (i, p_row) in p.chunks_exact_mut(q).enumerate() {
                    let sum = p_row.iter().fold(T::ZERO, |sum, &e| sum + e);
                    let inverse = T::ONE / sum;
                    for p in p_row.iter_mut() {
                        *p *= inverse;
                    }
                    let label = y.as_slice()[i].to_f64() as usize;
                    let o_label = o.as_slice()[i * q + label];
                    losses[i] = losses[i] + sum.ln() - o_label;
                }
            }
            Op::SquaredLoss => {
                let (o, y) = (inputs[0], inputs[1]);
                let q = o.cols();
                for (i, o_row) in o.as_slice().chunks_exact(q).enumerate() {
                    let label = class_index("squared loss", y, i, q)?;
                    let mut sum = T::ZERO;
                    for (j, &v) in o_row.iter().enumerate() {
                        let d = v - one_hot::<T>(j, label);
                        sum += d * d;
                    }
                    out.as_mut_slice()[i] = T::from_f64(0.5) * sum;
                }
            }
            Op::SquaredFrobenius => out.as_mut_slice()[0] = inputs[0].squared_frobenius(),
            Op::Add => kernels::zip_map(
                out.as_mut_slice(),
                inputs[0].as_slice(),
                inputs[1].as_slice(),
                Write::Overwrite,
                |a, b| a + b,
            ),
            Op::Scale(c) => {
                let c = *c;
                for (o, &a) in out.as_mut_slice().iter_mut().zip(inputs[0].as_slice()) {
                    *o = c * a;
                }
            }
            Op::Mean => {
                let a = inputs[0];
                out.as_mut_slice()[0] = kernels::sum(a.as_slice()) / T::from_f64(a.len() as f64);
            }
        }
        Ok(())
    }

    /// Backward propagation of this operator for input number `input`: given the gradient
    /// `dJ/d(out)`, stores (or, with [`Write::Accumulate`], adds) `dJ/d(input)` into `grad`,
    /// which already has the input's shape.
    ///
    /// Only called for inputs that lead to a parameter; for labels it is never called.
    pub fn vjp(
        &self,
        input: usize,
        inputs: &[&Tensor<T>],
        out: &Tensor<T>,
        out_grad: &Tensor<T>,
        grad: &mut Tensor<T>,
        write: Write,
    ) {
        match (self, input) {
            // Z = X Wᵀ:  dJ/dX = dJ/dZ W  (4.7.12),  dJ/dW = (dJ/dZ)ᵀ X  (4.7.11, 4.7.14;
            // §4.7's `dJ/dz xᵀ` for one sample, summed over the rows of the batch).
            (Op::MatMul, 0) => matmul_a_b(grad, out_grad, inputs[1], write),
            (Op::MatMul, _) => matmul_at_b(grad, out_grad, inputs[0], write),
            // Z + b:  dJ/dZ passes through;  dJ/db sums dJ/d(out) over the rows.
            (Op::AddBias, 0) => {
                kernels::map_store(grad.as_mut_slice(), out_grad.as_slice(), write, |g| g)
            }
            (Op::AddBias, _) => {
                let n = out_grad.cols();
                if write == Write::Overwrite {
                    grad.fill_zero();
                }
                vectorised(
                    #[inline(always)]
                    || {
                        for row in out_grad.as_slice().chunks_exact(n) {
                            for (g, &v) in grad.as_mut_slice().iter_mut().zip(row) {
                                *g += v;
                            }
                        }
                    },
                );
            }
            // 4.7.13: dJ/dz = dJ/dh ⊙ phi'(z), with phi'(z) written through h = phi(z).
            (Op::Activation(phi), _) => {
                let (g, dh, h) = (grad.as_mut_slice(), out_grad.as_slice(), out.as_slice());
                match phi {
                    Activation::Relu => kernels::zip_map(g, dh, h, write, |dh, h| {
                        dh * Activation::Relu.derivative_from_output(h)
                    }),
                    Activation::Sigmoid => kernels::zip_map(g, dh, h, write, |dh, h| {
                        dh * Activation::Sigmoid.derivative_from_output(h)
                    }),
                    Activation::Tanh => kernels::zip_map(g, dh, h, write, |dh, h| {
                        dh * Activation::Tanh.derivative_from_output(h)
                    }),
                }
            }
            // 4.7.9 for cross-entropy: dl_i/do_i = softmax(o_i) - onehot(y_i).
            (Op::SoftmaxCrossEntropy { probabilities }, _) => {
                let q = probabilities.cols();
                let y = inputs[1];
                for (i, (g_row, p_row)) in grad
                    .as_mut_slice()
                    .chunks_exact_mut(q)
                    .zip(probabilities.as_slice().chunks_exact(q))
                    .enumerate()
                {
                    let label = y.as_slice()[i].to_f64() as usize;
                    let dl = out_grad.as_slice()[i];
                    for (j, (g, &p)) in g_row.iter_mut().zip(p_row).enumerate() {
                        write.store(g, (p - one_hot::<T>(j, label)) * dl);
                    }
                }
            }
            // 4.7.9 for squared loss: dl_i/do_i = o_i - onehot(y_i).
            (Op::SquaredLoss, _) => {
                let (o, y) = (inputs[0], inputs[1]);
                let q = o.cols();
                for (i, (g_row, o_row)) in grad
                    .as_mut_slice()
                    .chunks_exact_mut(q)
                    .zip(o.as_slice().chunks_exact(q))
                    .enumerate()
                {
                    let label = y.as_slice()[i].to_f64() as usize;
                    let dl = out_grad.as_slice()[i];
                    for (j, (g, &v)) in g_row.iter_mut().zip(o_row).enumerate() {
                        write.store(g, (v - one_hot::<T>(j, label)) * dl);
                    }
                }
            }
            // 4.7.10 (with the λ/2 of the scale that follows): d||W||²/dW = 2 W.
            (Op::SquaredFrobenius, _) => {
                let two_ds = self
                    .gradient_as_multiple_of_input(input, out_grad)
                    .expect("the gradient of ||W||² is a multiple of W");
                store_multiple_of_input(grad, inputs[0], two_ds, write);
            }
            // 4.7.6 and every sum: d(A + B)/dA = d(A + B)/dB = identity.
            (Op::Add, _) => {
                kernels::map_store(grad.as_mut_slice(), out_grad.as_slice(), write, |g| g)
            }
            (Op::Scale(c), _) => {
                let c = *c;
                kernels::map_store(grad.as_mut_slice(), out_grad.as_slice(), write, |g| c * g);
            }
            (Op::Mean, _) => {
                let share = out_grad.item() / T::from_f64(grad.len() as f64);
                let g = grad.as_mut_slice();
                for g in g.iter_mut() {
                    write.store(g, share);
                }
            }
        }
    }

    /// The multiple `c` when this operator's gradient for input `input` is `c` times that
    /// input's own value, given `dJ/d(out)`: for [`Op::SquaredFrobenius`], 4.7.10 (with the
    /// `λ/2` of the scale that follows), `dJ/dW = 2 (dJ/d‖W‖²) W`. The graph adds such a term
    /// while another operator's rule stores its gradient for the same input
    /// ([`Op::vjp_plus_multiple_of_input`]) instead of in a pass of its own.
    pub fn gradient_as_multiple_of_input(&self, input: usize, out_grad: &Tensor<T>) -> Option<T> {
        match (self, input) {
            (Op::SquaredFrobenius, 0) => Some(T::from_f64(2.0) * out_grad.item()),
            _ => None,
        }
    }

    /// Backward propagation for input number `input` with a term `multiple · input` added
    /// (another operator's gradient for the same input, [`Op::gradient_as_multiple_of_input`]):
    /// overwrites `grad` with the sum, in one pass, and returns `true`. Operators whose rule
    /// cannot add it return `false` and write nothing.
    ///
    /// A weight's whole gradient, `dJ/dW = dZᵀ X + λ W` (4.7.11, 4.7.14), is one such pass:
    /// the decay term is added as each block of the product is stored. The bits are those of
    /// storing `λ W` and accumulating `dZᵀ X` onto it.
    pub fn vjp_plus_multiple_of_input(
        &self,
        input: usize,
        inputs: &[&Tensor<T>],
        out_grad: &Tensor<T>,
        grad: &mut Tensor<T>,
        multiple: T,
    ) -> bool {
        match (self, input) {
            (Op::MatMul, 1) => {
                matmul_at_b_plus_scaled(grad, out_grad, inputs[0], multiple, inputs[1]);
                true
            }
            _ => false,
        }
    }

    /// The tensors this operator's backward rule reads, given which inputs need a gradient.
    /// Forward propagation keeps exactly these (and nothing else) for backward.
    pub fn saved_for_backward(&self, needs_grad: &[bool]) -> Vec<SavedTensor> {
        let any = needs_grad.iter().any(|&n| n);
        if !any {
            return Vec::new();
        }
        match self {
            Op::MatMul => {
                let mut saved = Vec::new();
                if needs_grad[1] {
                    saved.push(SavedTensor::Input(0)); // dW = dZᵀ X reads X
                }
                if needs_grad[0] {
                    saved.push(SavedTensor::Input(1)); // dX = dZ W reads W
                }
                saved
            }
            Op::Activation(_) => vec![SavedTensor::Output],
            Op::SoftmaxCrossEntropy { probabilities } => vec![
                SavedTensor::Internal {
                    elements: probabilities.len(),
                },
                SavedTensor::Input(1),
            ],
            Op::SquaredLoss => vec![SavedTensor::Input(0), SavedTensor::Input(1)],
            Op::SquaredFrobenius => vec![SavedTensor::Input(0)],
            Op::AddBias | Op::Add | Op::Scale(_) | Op::Mean => Vec::new(),
        }
    }
}

/// Element `j` of `onehot(label)`.
#[inline(always)]
fn one_hot<T: Element>(j: usize, label: usize) -> T {
    if j == label {
        T::ONE
    } else {
        T::ZERO
    }
}

/// The class index stored in row `i` of the label column, checked to be below `classes`.
fn class_index<T: Element>(
    op: &'static str,
    y: &Tensor<T>,
    i: usize,
    classes: usize,
) -> Result<usize, OpError> {
    let label = y.as_slice()[i].to_f64();
    if label >= 0.0 && label.fract() == 0.0 && (label as usize) < classes {
        Ok(label as usize)
    } else {
        Err(OpError::Label {
            op,
            sample: i,
            label,
            classes,
        })
    }
}

/// `grad (=|+=) multiple · value`: a gradient that is a multiple of its input
/// ([`Op::gradient_as_multiple_of_input`], 4.7.10's `λ W`) stored on its own. The rule of
/// `‖W‖²` and the graph, when no other rule adds the term, both store it here.
pub(crate) fn store_multiple_of_input<T: Element>(
    grad: &mut Tensor<T>,
    value: &Tensor<T>,
    multiple: T,
    write: Write,
) {
    kernels::map_store(grad.as_mut_slice(), value.as_slice(), write, |x| {
        multiple * x
    });
}
