//! Same seed and thread count, bit-identical weights, at the sizes where the matrix products
//! really run on several threads (784-256-10, batch 256).

mod common;

use common::{mnist_config, mnist_shaped};

use backprop::data::Dataset;
use backprop::nn::Mlp;
use backprop::optim::OptimizerKind;
use backprop::train::{NoObserver, TrainConfig, TrainData, Trainer};

fn train_weights(threads: usize, data: &Dataset) -> Vec<Vec<f32>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut mlp = Mlp::<f32>::new(mnist_config(&[256]), 7).unwrap();
        let mut trainer = Trainer::new(TrainConfig {
            epochs: 1,
            max_steps: None,
            batch_size: 256,
            shuffle: true,
            seed: 7,
            learning_rate: 0.1,
            optimizer: OptimizerKind::MOMENTUM,
        })
        .unwrap();
        let data = TrainData {
            train: data,
            validation: None,
            test: None,
        };
        trainer.run(&mut mlp, data, &mut NoObserver).unwrap();
        (1..=2)
            .flat_map(|k| {
                [
                    mlp.weight(k).as_slice().to_vec(),
                    mlp.bias(k).unwrap().as_slice().to_vec(),
                ]
            })
            .collect()
    })
}

#[test]
fn same_seed_and_threads_give_bit_identical_weights() {
    let data = mnist_shaped(1300, 42); // 5 full batches and a partial one
    for threads in [1, 2] {
        let first = train_weights(threads, &data);
        let second = train_weights(threads, &data);
        let same = first
            .iter()
            .flatten()
            .zip(second.iter().flatten())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{threads} threads: two runs differ");
    }
}
