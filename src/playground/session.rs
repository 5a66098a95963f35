//! One playground session: its data, its network, the [`Trainer`] that trains it, and the
//! history of train and test loss and accuracy. The session keeps no training state of its
//! own: the optimiser, the minibatch order, the position, the epoch and the shuffling seed
//! are the trainer's, and each step is [`Trainer::step`], the step `backprop train` runs. So
//! the same settings and number of steps give the same weights as `backprop train` with the
//! same network, optimiser, batch size, seed and `--steps` (tests/one_training_loop.rs).
//!
//! The data are shared: a 2-D session holds the points it generated, an image session the
//! server's [`ImageSet`] (through [`Arc`]s, never a copy).
//!
//! **History in image mode.** A point evaluates the whole held-out split and a fixed
//! training subset ([`ImageSet::history_train`]) with the batched forward pass of
//! [`evaluate()`], only every `record_interval` steps (never after every step, whatever the
//! pace): the first interval is [`image_record_interval`], so evaluating takes at most about
//! a quarter of the time training does.

use super::images::ImageSet;
use super::settings::{Pace, Settings, SettingsError};
use crate::data::Dataset;
use crate::nn::Mlp;
use crate::train::{evaluate, NoObserver, StepOutcome, TrainConfig, TrainError, Trainer};
use serde::Serialize;
use std::sync::Arc;

/// The most history points kept; when full, every other one is dropped and points are
/// recorded half as often.
pub const MAX_HISTORY: usize = 400;
/// Steps between two history points at the start.
pub const FIRST_RECORD_INTERVAL: u64 = 5;
/// The most steps one session trains for; playing stops there.
pub const MAX_STEPS: u64 = 1_000_000;

/// Loss and accuracy on both splits after some step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HistoryPoint {
    /// Parameter updates made so far.
    pub step: u64,
    /// Mean loss `L` over the training set (without the L2 term).
    pub train_loss: f64,
    /// Fraction of training points classified correctly.
    pub train_accuracy: f64,
    /// Mean loss `L` over the test set.
    pub test_loss: f64,
    /// Fraction of test points classified correctly.
    pub test_accuracy: f64,
}

/// The samples evaluated in one batch of a history point's forward pass.
const EVALUATION_BATCH: usize = 1024;

/// The first record interval of an image session training on minibatches of `batch` whose
/// history points evaluate `evaluated` images: at least [`FIRST_RECORD_INTERVAL`], and at
/// least `evaluated / batch` steps. A step is one forward and one backward pass of `batch`
/// samples (about three forward passes' work), a point one forward pass of `evaluated`, so
/// points then cost at most a quarter of the time steps do.
pub fn image_record_interval(batch: usize, evaluated: usize) -> u64 {
    (evaluated.div_ceil(batch.max(1)) as u64).max(FIRST_RECORD_INTERVAL)
}

/// A session's whole training state.
pub struct Session {
    settings: Settings,
    train: Arc<Dataset>,
    test: Arc<Dataset>,
    /// What a history point's train loss and accuracy are measured on: the training set, or
    /// in image mode a fixed subset of it.
    history_train: Arc<Dataset>,
    images: Option<Arc<ImageSet>>,
    drawing: Option<Vec<f32>>,
    mlp: Mlp<f32>,
    trainer: Trainer,
    record_interval: u64,
    history: Vec<HistoryPoint>,
    diverged: bool,
}

impl Session {
    /// A fresh session on a 2-D dataset: generated data, initial weights from the seed,
    /// step 0 recorded.
    pub fn new(settings: Settings) -> Result<Session, SettingsError> {
        Self::create(settings, None)
    }

    /// A fresh session on the data `settings` name: generated points, or the server's
    /// `images` (shared, not copied); initial weights from the seed, step 0 recorded.
    pub fn create(
        settings: Settings,
        images: Option<&Arc<ImageSet>>,
    ) -> Result<Session, SettingsError> {
        let mlp = Mlp::new(settings.mlp_config(), settings.seed)
            .map_err(|error| SettingsError(error.to_string()))?;
        Self::starting_from(settings, mlp, images)
    }

    /// A fresh session whose network starts from `mlp` (made for `settings.mlp_config()`)
    /// instead of the seed's initial weights: the second run of a comparison.
    pub fn starting_from(
        settings: Settings,
        mlp: Mlp<f32>,
        images: Option<&Arc<ImageSet>>,
    ) -> Result<Session, SettingsError> {
        let (train, test, history_train, images) = if settings.dataset.is_images() {
            let set = images
                .filter(|set| set.name() == settings.dataset.name())
                .ok_or_else(|| {
                    SettingsError(format!(
                        "dataset={} is not offered by this server (start it with --dataset)",
                        settings.dataset.name()
                    ))
                })?;
            (
                Arc::clone(set.train()),
                Arc::clone(set.held_out()),
                Arc::clone(set.history_train()),
                Some(Arc::clone(set)),
            )
        } else {
            let splits = settings.generate_data()?;
            let test = splits
                .test
                .ok_or_else(|| SettingsError("the dataset has no test points".to_string()))?;
            let train = Arc::new(splits.train);
            (Arc::clone(&train), Arc::new(test), train, None)
        };
        let trainer = Trainer::new(Self::train_config(&settings))
            .map_err(|error| SettingsError(error.to_string()))?;
        let record_interval = if images.is_some() {
            image_record_interval(settings.batch_size, history_train.len() + test.len())
        } else {
            FIRST_RECORD_INTERVAL
        };
        let mut session = Session {
            train,
            test,
            history_train,
            images,
            drawing: None,
            mlp,
            trainer,
            record_interval,
            history: Vec::new(),
            diverged: false,
            settings,
        };
        session
            .trainer
            .check_data(
                &session.mlp,
                crate::train::TrainData {
                    train: &session.train,
                    validation: None,
                    test: Some(&session.test),
                },
            )
            .map_err(|error| SettingsError(error.to_string()))?;
        session.record()?;
        Ok(session)
    }

    /// What `backprop train` would be given for these settings: a seeded shuffle every
    /// epoch, at most [`MAX_STEPS`] updates.
    pub fn train_config(settings: &Settings) -> TrainConfig {
        TrainConfig {
            epochs: 1,
            max_steps: Some(MAX_STEPS),
            batch_size: settings.batch_size,
            shuffle: true,
            seed: settings.seed,
            learning_rate: settings.learning_rate,
            optimizer: settings.optimizer,
        }
    }

    /// One parameter update on the next minibatch ([`Trainer::step`]; a new shuffle after
    /// each epoch). Returns `false`, changing nothing, when training has stopped: the
    /// objective was not finite (the learning rate is too large) or [`MAX_STEPS`] were made.
    pub fn step(&mut self) -> Result<bool, SettingsError> {
        if self.diverged {
            return Ok(false);
        }
        match self
            .trainer
            .step(&mut self.mlp, &self.train, &mut NoObserver)
        {
            Ok(StepOutcome::Updated { .. }) => {}
            Ok(StepOutcome::Finished) => return Ok(false),
            Err(TrainError::Diverged { .. }) => {
                self.diverged = true;
                return Ok(false);
            }
            Err(error) => return Err(SettingsError(error.to_string())),
        }
        if self.steps().is_multiple_of(self.record_interval) {
            self.record()?;
        }
        Ok(true)
    }

    /// Evaluates both splits and appends a history point (thinning the history when full).
    /// The points are every `record_interval` steps; one between them (from
    /// [`Session::record_now`]) is kept only until the next point replaces it, so the history
    /// stays evenly spaced however often points are asked for.
    fn record(&mut self) -> Result<(), SettingsError> {
        let train = evaluate(&mut self.mlp, &self.history_train, EVALUATION_BATCH)
            .map_err(|error| SettingsError(error.to_string()))?;
        let test = evaluate(&mut self.mlp, &self.test, EVALUATION_BATCH)
            .map_err(|error| SettingsError(error.to_string()))?;
        let step = self.steps();
        let interval = self.record_interval;
        if self.history.len() > 1
            && self
                .history
                .last()
                .is_some_and(|p| p.step == step || !p.step.is_multiple_of(interval))
        {
            self.history.pop();
        }
        self.history.push(HistoryPoint {
            step,
            train_loss: train.loss,
            train_accuracy: train.accuracy,
            test_loss: test.loss,
            test_accuracy: test.accuracy,
        });
        if self.history.len() >= MAX_HISTORY {
            // Every other point from step 0, and the point just recorded (the step reached).
            let last = self.history.len();
            let mut index = 0;
            self.history.retain(|_| {
                index += 1;
                index % 2 == 1 || index == last
            });
            self.record_interval = self.record_interval.saturating_mul(2);
        }
        Ok(())
    }

    /// Records a history point for the current step unless the last one is for it: the
    /// curves then end where training is (the point is replaced by the next one unless it
    /// falls on the regular spacing).
    pub fn record_now(&mut self) -> Result<(), SettingsError> {
        if self.history.last().is_some_and(|p| p.step == self.steps()) {
            return Ok(());
        }
        self.record()
    }

    /// Whether a played step records a history point (the curves move with each step): at
    /// [`Pace::records_every_step`] paces, on a 2-D dataset only (an image session's points
    /// are too costly to evaluate after every step; they come every record interval).
    pub fn records_every_step(&self) -> bool {
        !self.settings.dataset.is_images() && self.settings.pace.records_every_step()
    }

    /// Steps between two regular history points now (it doubles as the history fills).
    pub fn record_interval(&self) -> u64 {
        self.record_interval
    }

    /// The server's image dataset, for an image session.
    pub fn images(&self) -> Option<&Arc<ImageSet>> {
        self.images.as_ref()
    }

    /// The drawing posted last (784 features, framed as MNIST's), if any.
    pub fn drawing(&self) -> Option<&[f32]> {
        self.drawing.as_deref()
    }

    /// Keeps `input` (framed features) as the session's drawing.
    pub fn set_drawing(&mut self, input: Vec<f32>) {
        self.drawing = Some(input);
    }

    /// Takes the drawing out (a reset hands it to the fresh session).
    pub fn take_drawing(&mut self) -> Option<Vec<f32>> {
        self.drawing.take()
    }

    /// The settings it was made from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Changes how fast the session plays; nothing else (the steps it makes are the same).
    pub fn set_pace(&mut self, pace: Pace) {
        self.settings.pace = pace;
    }

    /// The network as trained so far.
    pub fn mlp(&self) -> &Mlp<f32> {
        &self.mlp
    }

    /// The training points.
    pub fn train_set(&self) -> &Dataset {
        &self.train
    }

    /// The test points (in image mode, the held-out split).
    pub fn test_set(&self) -> &Dataset {
        &self.test
    }

    /// The training set as shared (an image session's is the server's).
    pub fn shared_train_set(&self) -> &Arc<Dataset> {
        &self.train
    }

    /// The test set as shared.
    pub fn shared_test_set(&self) -> &Arc<Dataset> {
        &self.test
    }

    /// Parameter updates made so far.
    pub fn steps(&self) -> u64 {
        self.trainer.steps()
    }

    /// Completed passes over the training set.
    pub fn epoch(&self) -> usize {
        self.trainer.completed_epochs()
    }

    /// The trainer that makes the steps (its configuration, its state for a checkpoint).
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    /// Loss and accuracy so far, oldest first.
    pub fn history(&self) -> &[HistoryPoint] {
        &self.history
    }

    /// Whether training stopped because the objective was not finite.
    pub fn diverged(&self) -> bool {
        self.diverged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Splits;

    /// 120 training and 40 test images of 28 x 28, 10 classes.
    fn image_set() -> Arc<ImageSet> {
        let images = |count: usize| {
            let pixels = (0..count * 784).map(|i| (i % 251) as u8).collect();
            let labels = (0..count).map(|i| (i % 10) as u8).collect();
            Dataset::from_images(pixels, labels, 28, 28).unwrap()
        };
        let splits = Splits {
            train: images(120),
            test: Some(images(40)),
        };
        Arc::new(ImageSet::new("digits", "Digits", splits, false).unwrap())
    }

    #[test]
    fn image_sessions_hold_the_servers_images_not_copies() {
        let set = image_set();
        let settings =
            Settings::from_query_offering("dataset=digits&hidden=4&batch=8", Some(&set)).unwrap();
        let before = Arc::strong_count(set.train());
        let sessions: Vec<Session> = (0..3)
            .map(|_| Session::create(settings.clone(), Some(&set)).unwrap())
            .collect();
        for session in &sessions {
            assert!(Arc::ptr_eq(session.shared_train_set(), set.train()));
            assert!(Arc::ptr_eq(session.shared_test_set(), set.held_out()));
            assert!(Arc::ptr_eq(session.images().unwrap(), &set));
        }
        assert_eq!(Arc::strong_count(set.train()), before + 3);
        drop(sessions);
        assert_eq!(Arc::strong_count(set.train()), before);
        // Without the images the session cannot be made.
        let error = Session::create(settings, None).err().unwrap();
        assert!(error.0.contains("not offered"), "{}", error.0);
    }

    #[test]
    fn an_image_session_records_at_its_interval_whatever_the_pace() {
        let set = image_set();
        let settings =
            Settings::from_query_offering("dataset=digits&hidden=4&batch=8&pace=1", Some(&set))
                .unwrap();
        let mut session = Session::create(settings, Some(&set)).unwrap();
        // 120 + 40 images evaluated per point, 8 per step: every 20 steps.
        assert_eq!(session.record_interval(), 20);
        assert!(!session.records_every_step());
        for _ in 0..45 {
            assert!(session.step().unwrap());
        }
        let steps: Vec<u64> = session.history().iter().map(|p| p.step).collect();
        assert_eq!(steps, [0, 20, 40]);
        assert_eq!(image_record_interval(64, 3000), 47);
        assert_eq!(image_record_interval(512, 100), FIRST_RECORD_INTERVAL);
    }

    #[test]
    fn the_same_settings_and_steps_give_the_same_weights() {
        let settings = Settings::from_query("dataset=circles&points=200&batch=16").unwrap();
        let mut a = Session::new(settings.clone()).unwrap();
        let mut b = Session::new(settings).unwrap();
        for _ in 0..30 {
            assert!(a.step().unwrap());
            assert!(b.step().unwrap());
        }
        assert_eq!(a.mlp().weight(1), b.mlp().weight(1));
        assert_eq!(a.history(), b.history());
        assert_eq!(a.steps(), 30);
    }

    #[test]
    fn points_asked_for_between_the_regular_ones_keep_the_history_evenly_spaced() {
        let settings = Settings::from_query("dataset=circles&points=200&batch=16").unwrap();
        let mut session = Session::new(settings).unwrap();
        for _ in 0..5000 {
            assert!(session.step().unwrap());
            session.record_now().unwrap();
            let last = session.history().last().unwrap();
            assert_eq!(
                last.step,
                session.steps(),
                "the curves end at the step made"
            );
        }
        let steps: Vec<u64> = session.history().iter().map(|p| p.step).collect();
        assert!(steps.len() < MAX_HISTORY, "{} points", steps.len());
        let gap = steps[1] - steps[0];
        // Evenly spaced from step 0, but for the last point (the step reached).
        for (i, step) in steps[..steps.len() - 1].iter().enumerate() {
            assert_eq!(*step, i as u64 * gap, "{steps:?}");
        }
        assert_eq!(*steps.last().unwrap(), 5000);
    }

    /// The default spiral passes 90 % test accuracy (as the page reads it, from the history)
    /// no sooner than 5 s and within 60 s of play at the default pace: the steps it needs,
    /// divided by the steps per second.
    #[test]
    fn the_default_pace_shows_the_default_spiral_learning_for_seconds() {
        let mut session = Session::new(Settings::default()).unwrap();
        while session.history().last().unwrap().test_accuracy <= 0.9 {
            assert!(session.step().unwrap());
            if crate::playground::settings::DEFAULT_PACE.records_every_step() {
                session.record_now().unwrap();
            }
            assert!(session.steps() < 100_000, "never passes 90 %");
        }
        let Pace::PerSecond(per_second) = crate::playground::settings::DEFAULT_PACE else {
            panic!("the default pace is a number of steps per second");
        };
        let seconds = session.steps() as f64 / per_second as f64;
        assert!(
            (5.0..=60.0).contains(&seconds),
            "{} steps at {per_second} per second: {seconds} s",
            session.steps()
        );
    }
}
