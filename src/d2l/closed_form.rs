//! The closed forms of §4.7, written out literally for one sample in `f64`: column vectors,
//! `W_k` as `out x in`, plain loops.
//!
//! This module shares no arithmetic with the engine ([`crate::graph`]): no operator, no
//! matrix kernel, and `phi'` is computed from `z` (the engine computes it from `h`). It is the
//! closed form that `backprop explain` sets beside the graph's backward pass and finite
//! differences. Tensors are used only as storage. The equations' numbers and formulas are in
//! [`super::catalogue`].
//!
//! For a model deeper than the D2L network, the same equations repeat per layer: `h_0 = x`,
//! `z_k = W_k h_{k-1} (+ b_k)` and `h_k = phi(z_k)` for the hidden layers,
//! `o = W_K h_{K-1} (+ b_K)`, and backward walks the layers in reverse.

use crate::graph::Activation;
use crate::nn::{Loss, Mlp};
use crate::tensor::Tensor;

/// A column vector.
pub type Column = Vec<f64>;

/// The parameters and hyper-parameters of the D2L network (any depth), for one sample.
#[derive(Clone, Debug)]
pub struct ClosedForm {
    /// `W_1 .. W_K`, each `out x in`.
    pub weights: Vec<Tensor<f64>>,
    /// `b_1 .. b_K` as columns, when the model has biases (the D2L network has none).
    pub biases: Vec<Option<Column>>,
    /// `phi`.
    pub activation: Activation,
    /// `l`.
    pub loss: Loss,
    /// `λ`.
    pub lambda: f64,
}

/// Every value of one forward pass (4.7.1 to 4.7.6).
#[derive(Clone, Debug, PartialEq)]
pub struct ForwardValues {
    /// `x`.
    pub x: Column,
    /// `z_1 .. z_{K-1}` of the hidden layers (4.7.1).
    pub z: Vec<Column>,
    /// `h_1 .. h_{K-1}` (4.7.2).
    pub h: Vec<Column>,
    /// `o` (4.7.3).
    pub o: Column,
    /// `L = l(o, y)` (4.7.4).
    pub loss: f64,
    /// `s = λ/2 Σ_k ‖W_k‖_F²` (4.7.5).
    pub penalty: f64,
    /// `J = L + s` (4.7.6).
    pub objective: f64,
}

/// Every gradient of one backward pass (4.7.9 to 4.7.14).
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    /// `dJ/do = dL/do` (4.7.9).
    pub dj_do: Column,
    /// `ds/dW_k = λ W_k` for every layer (4.7.10).
    pub ds_dw: Vec<Tensor<f64>>,
    /// `dJ/dW_k` for every layer (4.7.11 for the last, 4.7.14 for the others).
    pub dj_dw: Vec<Tensor<f64>>,
    /// `dJ/db_k = dJ/dz_k` (or `dJ/do` for the last layer), when the model has biases.
    pub dj_db: Vec<Option<Column>>,
    /// `dJ/dh_k` of the hidden layers (4.7.12).
    pub dj_dh: Vec<Column>,
    /// `dJ/dz_k` of the hidden layers (4.7.13).
    pub dj_dz: Vec<Column>,
}

impl ClosedForm {
    /// The parameters of `mlp`, copied (biases become columns).
    pub fn of_mlp(mlp: &Mlp<f64>) -> Self {
        let depth = mlp.config().depth();
        ClosedForm {
            weights: (1..=depth).map(|k| mlp.weight(k).clone()).collect(),
            biases: (1..=depth)
                .map(|k| mlp.bias(k).map(|b| b.as_slice().to_vec()))
                .collect(),
            activation: mlp.config().activation,
            loss: mlp.config().loss,
            lambda: mlp.config().weight_decay,
        }
    }

    /// `K`, the number of weight matrices.
    pub fn depth(&self) -> usize {
        self.weights.len()
    }

    /// 4.7.1 / 4.7.3: `W_k v (+ b_k)` for layer `k` (from 1).
    pub fn affine(&self, k: usize, v: &[f64]) -> Column {
        let w = &self.weights[k - 1];
        let mut out = matrix_times_column(w, v);
        if let Some(b) = &self.biases[k - 1] {
            for (o, b) in out.iter_mut().zip(b) {
                *o += b;
            }
        }
        out
    }

    /// 4.7.5: `s = λ/2 (‖W1‖_F² + ‖W2‖_F² + ...)`.
    pub fn penalty(&self) -> f64 {
        let squares: f64 = self
            .weights
            .iter()
            .map(|w| w.as_slice().iter().map(|v| v * v).sum::<f64>())
            .sum();
        self.lambda / 2.0 * squares
    }

    /// 4.7.1 to 4.7.6 for one sample `x` with label `y`.
    pub fn forward(&self, x: &[f64], y: usize) -> ForwardValues {
        let depth = self.depth();
        let mut z = Vec::with_capacity(depth - 1);
        let mut h: Vec<Column> = Vec::with_capacity(depth - 1);
        for k in 1..depth {
            let input = if k == 1 { x } else { &h[k - 2][..] };
            let z_k = self.affine(k, input);
            h.push(z_k.iter().map(|&v| phi(self.activation, v)).collect());
            z.push(z_k);
        }
        let last_input = if depth == 1 { x } else { &h[depth - 2][..] };
        let o = self.affine(depth, last_input);
        let loss = loss_value(self.loss, &o, y);
        let penalty = self.penalty();
        ForwardValues {
            x: x.to_vec(),
            z,
            h,
            o,
            loss,
            penalty,
            objective: loss + penalty,
        }
    }

    /// 4.7.9 to 4.7.14 for the sample of `forward`, label `y`.
    pub fn backward(&self, forward: &ForwardValues, y: usize) -> Gradients {
        let depth = self.depth();
        // 4.7.9: dJ/do = dL/do.
        let dj_do = loss_gradient(self.loss, &forward.o, y);
        // 4.7.10: ds/dW = λ W.
        let ds_dw: Vec<Tensor<f64>> = self
            .weights
            .iter()
            .map(|w| Tensor::from_fn(w.rows(), w.cols(), |r, c| self.lambda * w.get(r, c)))
            .collect();
        let input_of = |k: usize| -> &[f64] {
            if k == 1 {
                &forward.x
            } else {
                &forward.h[k - 2]
            }
        };
        let mut dj_dw = vec![Tensor::default(); depth];
        let mut dj_db = vec![None; depth];
        let mut dj_dh = vec![Vec::new(); depth - 1];
        let mut dj_dz = vec![Vec::new(); depth - 1];
        // 4.7.11: dJ/dW_K = dJ/do h_{K-1}ᵀ + λ W_K.
        dj_dw[depth - 1] = outer_plus(&dj_do, input_of(depth), &ds_dw[depth - 1]);
        dj_db[depth - 1] = self.biases[depth - 1].as_ref().map(|_| dj_do.clone());
        let mut upstream = dj_do.clone();
        for k in (1..depth).rev() {
            // 4.7.12: dJ/dh_k = W_{k+1}ᵀ dJ/dz_{k+1}  (dJ/dz_K is dJ/do).
            let dh = transpose_times_column(&self.weights[k], &upstream);
            // 4.7.13: dJ/dz_k = dJ/dh_k ⊙ phi'(z_k).
            let dz: Column = dh
                .iter()
                .zip(&forward.z[k - 1])
                .map(|(&g, &z)| g * phi_derivative(self.activation, z))
                .collect();
            // 4.7.14: dJ/dW_k = dJ/dz_k h_{k-1}ᵀ + λ W_k  (h_0 = x).
            dj_dw[k - 1] = outer_plus(&dz, input_of(k), &ds_dw[k - 1]);
            dj_db[k - 1] = self.biases[k - 1].as_ref().map(|_| dz.clone());
            dj_dh[k - 1] = dh;
            dj_dz[k - 1] = dz.clone();
            upstream = dz;
        }
        Gradients {
            dj_do,
            ds_dw,
            dj_dw,
            dj_db,
            dj_dh,
            dj_dz,
        }
    }

    /// `J` as a function of the output `o` alone (4.7.4, 4.7.6), the parameters fixed.
    pub fn objective_from_output(&self, o: &[f64], y: usize) -> f64 {
        loss_value(self.loss, o, y) + self.penalty()
    }

    /// `J` as a function of the hidden layer `h_k` alone (`k` from 1): forward from there.
    pub fn objective_from_hidden(&self, k: usize, h_k: &[f64], y: usize) -> f64 {
        let mut h = h_k.to_vec();
        for layer in k + 1..self.depth() {
            h = self
                .affine(layer, &h)
                .iter()
                .map(|&v| phi(self.activation, v))
                .collect();
        }
        let o = self.affine(self.depth(), &h);
        self.objective_from_output(&o, y)
    }

    /// `J` as a function of the pre-activation `z_k` alone (`k` from 1).
    pub fn objective_from_pre_activation(&self, k: usize, z_k: &[f64], y: usize) -> f64 {
        let h: Column = z_k.iter().map(|&v| phi(self.activation, v)).collect();
        self.objective_from_hidden(k, &h, y)
    }
}

/// 4.7.2: `phi(z)` for one element.
pub fn phi(activation: Activation, z: f64) -> f64 {
    match activation {
        Activation::Relu => z.max(0.0),
        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        Activation::Tanh => z.tanh(),
    }
}

/// `phi'(z)`, from `z`: `[z > 0]`, `σ(z)(1 - σ(z))`, `1 - tanh²(z)`.
pub fn phi_derivative(activation: Activation, z: f64) -> f64 {
    match activation {
        Activation::Relu => {
            if z > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Sigmoid => {
            let s = 1.0 / (1.0 + (-z).exp());
            s * (1.0 - s)
        }
        Activation::Tanh => 1.0 - z.tanh() * z.tanh(),
    }
}

/// 4.7.4: `l(o, y)`: `log Σ_j e^{o_j} - o_y` (cross-entropy) or `1/2 ‖o - onehot(y)‖²`.
pub fn loss_value(loss: Loss, o: &[f64], y: usize) -> f64 {
    match loss {
        Loss::CrossEntropy => {
            let max = o.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = o.iter().map(|v| (v - max).exp()).sum();
            max + sum.ln() - o[y]
        }
        Loss::Squared => {
            0.5 * o
                .iter()
                .enumerate()
                .map(|(j, v)| (v - one_hot(j, y)).powi(2))
                .sum::<f64>()
        }
    }
}

/// 4.7.9: `dl/do`: `softmax(o) - onehot(y)` (cross-entropy) or `o - onehot(y)`.
pub fn loss_gradient(loss: Loss, o: &[f64], y: usize) -> Column {
    match loss {
        Loss::CrossEntropy => {
            let max = o.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = o.iter().map(|v| (v - max).exp()).sum();
            o.iter()
                .enumerate()
                .map(|(j, v)| (v - max).exp() / sum - one_hot(j, y))
                .collect()
        }
        Loss::Squared => o
            .iter()
            .enumerate()
            .map(|(j, v)| v - one_hot(j, y))
            .collect(),
    }
}

fn one_hot(j: usize, y: usize) -> f64 {
    if j == y {
        1.0
    } else {
        0.0
    }
}

/// `W v`.
fn matrix_times_column(w: &Tensor<f64>, v: &[f64]) -> Column {
    (0..w.rows())
        .map(|r| (0..w.cols()).map(|c| w.get(r, c) * v[c]).sum())
        .collect()
}

/// `Wᵀ v`.
fn transpose_times_column(w: &Tensor<f64>, v: &[f64]) -> Column {
    (0..w.cols())
        .map(|c| (0..w.rows()).map(|r| w.get(r, c) * v[r]).sum())
        .collect()
}

/// `a bᵀ + extra`.
fn outer_plus(a: &[f64], b: &[f64], extra: &Tensor<f64>) -> Tensor<f64> {
    Tensor::from_fn(a.len(), b.len(), |r, c| a[r] * b[c] + extra.get(r, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ClosedForm {
        ClosedForm {
            weights: vec![
                Tensor::from_vec(2, 2, vec![1.0, -1.0, 0.5, 2.0]).unwrap(),
                Tensor::from_vec(1, 2, vec![3.0, -2.0]).unwrap(),
            ],
            biases: vec![None, None],
            activation: Activation::Relu,
            loss: Loss::Squared,
            lambda: 0.1,
        }
    }

    #[test]
    fn forward_follows_section_4_7_by_hand() {
        let net = tiny();
        let f = net.forward(&[1.0, 2.0], 0);
        // z = W1 x = [1 - 2, 0.5 + 4] = [-1, 4.5]; h = [0, 4.5]; o = 3*0 - 2*4.5 = -9.
        assert_eq!(f.z, vec![vec![-1.0, 4.5]]);
        assert_eq!(f.h, vec![vec![0.0, 4.5]]);
        assert_eq!(f.o, vec![-9.0]);
        assert_eq!(f.loss, 0.5 * 100.0);
        // s = 0.05 (1 + 1 + 0.25 + 4 + 9 + 4) = 0.05 * 19.25
        assert!((f.penalty - 0.05 * 19.25).abs() < 1e-15);
        assert_eq!(f.objective, f.loss + f.penalty);
    }

    #[test]
    fn backward_follows_section_4_7_by_hand() {
        let net = tiny();
        let f = net.forward(&[1.0, 2.0], 0);
        let b = net.backward(&f, 0);
        assert_eq!(b.dj_do, vec![-10.0]); // o - 1
        assert_eq!(b.dj_dh[0], vec![-30.0, 20.0]); // W2ᵀ dJ/do
        assert_eq!(b.dj_dz[0], vec![0.0, 20.0]); // relu'(-1) = 0, relu'(4.5) = 1
                                                 // dJ/dW2 = dJ/do hᵀ + λ W2 = [-10*0 + 0.3, -10*4.5 - 0.2]
        close(b.dj_dw[1].as_slice(), &[0.3, -45.2]);
        // dJ/dW1 = dJ/dz xᵀ + λ W1
        close(b.dj_dw[0].as_slice(), &[0.1, -0.1, 20.05, 40.2]);
    }

    fn close(got: &[f64], expected: &[f64]) {
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-12, "{got:?} vs {expected:?}");
        }
    }
}
