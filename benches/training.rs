//! Criterion benchmarks of the training workload (784-256-10, batch 256): the matrix
//! products, each operator's forward and backward pass, and one whole training step.
//! `cargo bench` (add `-- NAME` to pick some). Runs on rayon's global pool: all cores, or
//! `RAYON_NUM_THREADS`.

use backprop::data::Dataset;
use backprop::graph::{Activation, Op};
use backprop::nn::{Loss, Mlp, MlpConfig};
use backprop::optim::OptimizerKind;
use backprop::rng::Rng;
use backprop::tensor::matmul::{matmul_a_b, matmul_a_bt, matmul_at_b, prepare_threads};
use backprop::tensor::{Tensor, Write};
use backprop::train::{NoObserver, TrainConfig, Trainer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const B: usize = 256;
const D: usize = 784;
const H: usize = 256;
const Q: usize = 10;

fn random(rows: usize, cols: usize, seed: u64) -> Tensor<f32> {
    let mut rng = Rng::new(seed);
    Tensor::from_fn(rows, cols, |_, _| rng.normal() as f32)
}

fn matrix_products(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    let x = random(B, D, 1);
    let w1 = random(H, D, 2);
    let h = random(B, H, 3);
    let w2 = random(Q, H, 4);
    let dz = random(B, H, 5);
    let d_o = random(B, Q, 6);
    let cases: [(&str, usize, usize, usize); 5] = [
        ("Z1 = X W1ᵀ 256x784x256", B, D, H),
        ("O = H W2ᵀ 256x256x10", B, H, Q),
        ("dW2 = dOᵀ H 10x256x256", Q, B, H),
        ("dH = dO W2 256x10x256", B, Q, H),
        ("dW1 = dZᵀ X 256x256x784", H, B, D),
    ];
    prepare_threads();
    for (name, m, k, n) in cases {
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let mut out = Tensor::zeros(m, n);
        group.bench_function(name, |bench| {
            bench.iter(|| match name.split(' ').next().unwrap() {
                "Z1" => matmul_a_bt(&mut out, &x, &w1, Write::Overwrite),
                "O" => matmul_a_bt(&mut out, &h, &w2, Write::Overwrite),
                "dW2" => matmul_at_b(&mut out, &d_o, &h, Write::Overwrite),
                "dH" => matmul_a_b(&mut out, &d_o, &w2, Write::Overwrite),
                _ => matmul_at_b(&mut out, &dz, &x, Write::Overwrite),
            })
        });
    }
    group.finish();
}

fn operators(c: &mut Criterion) {
    let mut group = c.benchmark_group("operators");
    let z = random(B, H, 7);
    let bias = random(1, H, 8);
    let o = random(B, Q, 9);
    let labels = Tensor::from_fn(B, 1, |r, _| (r % Q) as f32);
    let mut out = Tensor::zeros(B, H);
    let mut grad = Tensor::zeros(B, H);
    let mut per_sample = Tensor::zeros(B, 1);
    let ones = Tensor::from_fn(B, 1, |_, _| 1.0 / B as f32);
    let mut d_o = Tensor::zeros(B, Q);
    {
        let mut add_bias = Op::AddBias;
        group.bench_function("add bias forward 256x256", |b| {
            b.iter(|| add_bias.forward(&[&z, &bias], &mut out).unwrap())
        });
        for phi in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            let mut op = Op::Activation(phi);
            group.bench_function(format!("{phi} forward 256x256"), |b| {
                b.iter(|| op.forward(&[&z], &mut out).unwrap())
            });
            op.forward(&[&z], &mut out).unwrap();
            group.bench_function(format!("{phi} backward 256x256"), |b| {
                b.iter(|| op.vjp(0, &[&z], &out, &z, &mut grad, Write::Overwrite))
            });
        }
        let mut softmax = Op::softmax_cross_entropy();
        group.bench_function("softmax cross-entropy forward 256x10", |b| {
            b.iter(|| softmax.forward(&[&o, &labels], &mut per_sample).unwrap())
        });
        softmax.forward(&[&o, &labels], &mut per_sample).unwrap();
        group.bench_function("softmax cross-entropy backward 256x10", |b| {
            b.iter(|| {
                softmax.vjp(
                    0,
                    &[&o, &labels],
                    &per_sample,
                    &ones,
                    &mut d_o,
                    Write::Overwrite,
                )
            })
        });
    }
    group.finish();
}

fn training_step(c: &mut Criterion) {
    let mut rng = Rng::new(10);
    let samples = 4096;
    let pixels = (0..samples * D).map(|_| rng.below(256) as u8).collect();
    let labels = (0..samples).map(|_| rng.below(Q) as u8).collect();
    let data = Dataset::from_images(pixels, labels, 28, 28).unwrap();
    let config = MlpConfig {
        inputs: D,
        hidden: vec![H],
        outputs: Q,
        activation: Activation::Relu,
        loss: Loss::CrossEntropy,
        bias: true,
        weight_decay: 1e-4,
    };
    let mut mlp = Mlp::<f32>::new(config, 1).unwrap();
    // The training loop's own step: the next batch of a seeded shuffle, forward, backward,
    // update, without end.
    let mut trainer = Trainer::new(TrainConfig {
        epochs: 1,
        max_steps: Some(u64::MAX),
        batch_size: B,
        shuffle: true,
        seed: 10,
        learning_rate: 0.01,
        optimizer: OptimizerKind::Sgd,
    })
    .unwrap();
    let mut group = c.benchmark_group("training step");
    group.throughput(Throughput::Elements(B as u64));
    prepare_threads();
    {
        group.bench_function("784-256-10 relu, batch 256, sgd", |b| {
            b.iter(|| black_box(trainer.step(&mut mlp, &data, &mut NoObserver).unwrap()))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // No HTML plots: they need system fonts, which a fresh machine may not have.
    config = Criterion::default().without_plots();
    targets = matrix_products, operators, training_step
}
criterion_main!(benches);
