//! Side by side: two configurations trained in lockstep on the same data. A comparison is
//! one [`SessionRunner`] whose state holds both runs (`session` is run `a`, `partner` run
//! `b`); its one training thread steps `a` and then `b` in the same turn of the lock, so
//! every reply (status, heatmaps, weights) sees both at the same step, whether playing or
//! stepping, and a reset restarts both.
//!
//! Both runs must have the same data settings ([`DATA_KEYS`]): the same points, and, with
//! the same seed and batch size, the same minibatch order. When their weight matrices have
//! the same shapes (equal hidden widths), run `b` starts from a copy of run `a`'s initial
//! weights, so the configurations differ only in what was asked (φ, λ, the optimiser...).

use super::images::ImageSet;
use super::runner::SessionRunner;
use super::session::{HistoryPoint, Session};
use super::settings::{Settings, SettingsError};
use crate::nn::Mlp;
use crate::tensor::Tensor;
use serde::Serialize;
use std::sync::Arc;

/// The settings both runs of a comparison must share, by their query-string keys.
pub const DATA_KEYS: [&str; 5] = ["dataset", "seed", "points", "train", "noise"];

/// Checks that `a` and `b` generate the same data; the error names the first key that
/// differs and both values.
pub fn check_same_data(a: &Settings, b: &Settings) -> Result<(), SettingsError> {
    let values = |s: &Settings| {
        [
            s.dataset.name().to_string(),
            s.seed.to_string(),
            s.points.to_string(),
            s.train_percent.to_string(),
            s.noise.to_string(),
        ]
    };
    let (first, second) = (values(a), values(b));
    for ((key, x), y) in DATA_KEYS.iter().zip(&first).zip(&second) {
        if x != y {
            return Err(SettingsError(format!(
                "a and b differ in {key} ({key}={x} and {key}={y}); both runs of a comparison train on the same data, so {} must be equal",
                DATA_KEYS.join(", ")
            )));
        }
    }
    Ok(())
}

/// Whether run `b` starts from run `a`'s initial weights: their weight matrices have the
/// same shapes (the data settings being equal, when the hidden widths are equal).
pub fn shares_initial_weights(a: &Settings, b: &Settings) -> bool {
    a.mlp_config().layer_sizes() == b.mlp_config().layer_sizes()
}

/// Run `b`'s starting network, given run `a`'s at step 0. With the same shapes
/// ([`shares_initial_weights`]) it holds copies of `first`'s weights `W_k` and zero biases
/// (every initial bias is zero) under `b`'s configuration: `b` does not draw its own, so
/// relu against sigmoid starts both from `a`'s draw (He's `sqrt(2 / fan_in)` for a relu
/// `a`, where a sigmoid run alone would draw Xavier's `sqrt(2 / (fan_in + fan_out))`),
/// and the activation is the only difference. With other shapes nothing can be copied,
/// and `b` draws its own weights from the seed (He or Xavier by its own activation).
pub fn second_network(settings: &Settings, first: &Mlp<f32>) -> Result<Mlp<f32>, SettingsError> {
    let config = settings.mlp_config();
    let result = if config.layer_sizes() == first.config().layer_sizes() {
        let depth = config.depth();
        let weights = (1..=depth).map(|k| first.weight(k).clone()).collect();
        let biases = (1..=depth)
            .map(|k| {
                config
                    .bias
                    .then(|| Tensor::zeros(1, first.weight(k).rows()))
            })
            .collect();
        Mlp::from_parameters(config, weights, biases)
    } else {
        Mlp::new(config, settings.seed)
    };
    result.map_err(|error| SettingsError(error.to_string()))
}

/// Fresh runs at step 0: `first` from its seed, and the second (a comparison's) from
/// [`second_network`].
pub fn fresh_runs(
    first: Settings,
    second: Option<Settings>,
    images: Option<&Arc<ImageSet>>,
) -> Result<(Session, Option<Session>), SettingsError> {
    let first = Session::create(first, images)?;
    let second = match second {
        Some(settings) => {
            let mlp = second_network(&settings, first.mlp())?;
            Some(Session::starting_from(settings, mlp, images)?)
        }
        None => None,
    };
    Ok((first, second))
}

/// A comparison's (paused) runner: the data settings checked, both runs made.
pub fn start(a: Settings, b: Settings) -> Result<SessionRunner, SettingsError> {
    check_same_data(&a, &b)?;
    let (first, second) = fresh_runs(a, Some(b), None)?;
    SessionRunner::start_with_partner(first, second)
        .map_err(|error| SettingsError(format!("cannot start a training thread: {error}")))
}

/// One run of a comparison, as its status reply shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunStatus<'a> {
    /// `a` or `b`.
    pub name: &'static str,
    /// Its canonical settings.
    pub settings: String,
    /// Parameter updates made so far.
    pub steps: u64,
    /// Completed passes over the training set.
    pub epoch: usize,
    /// Whether it stopped because its objective was not finite.
    pub diverged: bool,
    /// Loss and accuracy so far, oldest first.
    pub history: &'a [HistoryPoint],
}

/// The names of a comparison's runs, in the order the runner holds them.
pub const RUN_NAMES: [&str; 2] = ["a", "b"];

/// The status of `session` as run `name`.
pub fn run_status<'a>(name: &'static str, session: &'a Session) -> RunStatus<'a> {
    RunStatus {
        name,
        settings: session.settings().to_query(),
        steps: session.steps(),
        epoch: session.epoch(),
        diverged: session.diverged(),
        history: session.history(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_shapes_start_from_the_first_runs_weights_and_other_shapes_draw_their_own() {
        let a = Settings::from_query("hidden=8&activation=relu").unwrap();
        let b = Settings::from_query("hidden=8&activation=sigmoid&bias=false").unwrap();
        let c = Settings::from_query("hidden=6&activation=sigmoid").unwrap();
        assert!(shares_initial_weights(&a, &b));
        assert!(!shares_initial_weights(&a, &c));
        let (first, second) = fresh_runs(a.clone(), Some(b), None).unwrap();
        let second = second.unwrap();
        assert_eq!(first.mlp().weight(1), second.mlp().weight(1));
        assert_eq!(first.mlp().weight(2), second.mlp().weight(2));
        assert!(second.mlp().bias(1).is_none());
        let (_, third) = fresh_runs(a, Some(c.clone()), None).unwrap();
        let own = Mlp::<f32>::new(c.mlp_config(), c.seed).unwrap();
        assert_eq!(third.unwrap().mlp().weight(1), own.weight(1));
    }

    #[test]
    fn different_data_settings_are_named() {
        let a = Settings::from_query("noise=0.2").unwrap();
        for (query, key) in [
            ("noise=0.3", "noise"),
            ("seed=1", "seed"),
            ("dataset=xor", "dataset"),
            ("points=300", "points"),
            ("train=60", "train"),
        ] {
            let b = Settings::from_query(query).unwrap();
            let error = check_same_data(&a, &b).unwrap_err();
            assert!(error.0.contains(&format!("differ in {key}")), "{}", error.0);
        }
        let b = Settings::from_query("noise=0.2&lambda=0.01&optimizer=sgd").unwrap();
        assert!(check_same_data(&a, &b).is_ok());
    }
}
