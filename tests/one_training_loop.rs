//! `backprop train` and the playground share one training loop: a playground session and a
//! [`Trainer::run`] given the same data, network, optimiser, batch size and seed make the
//! same weights, bit for bit, after the same number of steps.

use backprop::nn::Mlp;
use backprop::playground::session::Session;
use backprop::playground::settings::Settings;
use backprop::train::{NoObserver, TrainConfig, TrainData, Trainer};

/// Trains the settings' network as `backprop train --steps STEPS` does: the data the
/// playground generates, `Mlp::new` from the seed, then `Trainer::run`.
fn trained_by_the_cli_loop(settings: &Settings, steps: u64) -> Mlp<f32> {
    let splits = settings.generate_data().unwrap();
    let mut mlp = Mlp::<f32>::new(settings.mlp_config(), settings.seed).unwrap();
    let mut trainer = Trainer::new(TrainConfig {
        epochs: 1,
        max_steps: Some(steps),
        batch_size: settings.batch_size,
        shuffle: true,
        seed: settings.seed,
        learning_rate: settings.learning_rate,
        optimizer: settings.optimizer,
    })
    .unwrap();
    let data = TrainData {
        train: &splits.train,
        validation: None,
        test: splits.test.as_ref(),
    };
    let summary = trainer.run(&mut mlp, data, &mut NoObserver).unwrap();
    assert_eq!(summary.steps, steps);
    mlp
}

fn assert_same_parameters(a: &Mlp<f32>, b: &Mlp<f32>, what: &str) {
    assert_eq!(a.named_parameters().len(), b.named_parameters().len());
    for ((name, x), (_, y)) in a.named_parameters().iter().zip(b.named_parameters()) {
        let (x, y) = (a.graph().value(*x), b.graph().value(*y));
        let same_bits = x
            .as_slice()
            .iter()
            .zip(y.as_slice())
            .all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(same_bits, "{what}: {name} differs");
    }
}

#[test]
fn a_playground_session_and_the_cli_trainer_make_the_same_weights() {
    // Several epochs (a new shuffle each), a partial last batch, every optimiser, with and
    // without biases and weight decay.
    for query in [
        "dataset=spiral&points=300&batch=32&optimizer=sgd&lr=0.1&seed=3",
        "dataset=circles&points=250&batch=25&optimizer=momentum&lr=0.05&lambda=0.01&seed=8",
        "dataset=xor&points=200&batch=7&optimizer=adam&lr=0.01&bias=false&hidden=6,5&seed=1",
    ] {
        let settings = Settings::from_query(query).unwrap();
        let train_points = settings.generate_data().unwrap().train.len();
        let steps = 3 * train_points.div_ceil(settings.batch_size) as u64 + 2;
        let mut session = Session::new(settings.clone()).unwrap();
        for _ in 0..steps {
            assert!(session.step().unwrap(), "{query}");
        }
        assert_eq!(session.steps(), steps);
        assert_eq!(session.epoch(), 3, "{query}");
        let cli = trained_by_the_cli_loop(&settings, steps);
        assert_same_parameters(session.mlp(), &cli, query);
        // The seed matters: another seed gives other weights (the comparison can fail).
        let other = Settings {
            seed: settings.seed + 1,
            ..settings.clone()
        };
        let mut other_session = Session::new(other).unwrap();
        for _ in 0..steps {
            other_session.step().unwrap();
        }
        assert_ne!(other_session.mlp().weight(1), cli.weight(1), "{query}");
    }
}
