//! The playground's settings: what a page asks for (dataset, network, training), read from a
//! URL query string, checked against the caps that keep any request small, and written back
//! as the canonical query string the page puts in its address (a shareable link).

use super::query::{parse_query, QueryError};
use crate::data::{
    blobs, circles, spiral, xor, BlobsConfig, CirclesConfig, SpiralConfig, Splits, XorConfig,
};
use crate::nn::{Activation, Loss, MlpConfig};
use crate::optim::OptimizerKind;
use std::fmt;
use std::time::Duration;

/// The most points (train and test together) a dataset may have.
pub const MAX_POINTS: usize = 4000;
/// The fewest points a dataset may have.
pub const MIN_POINTS: usize = 20;
/// The most hidden layers.
pub const MAX_HIDDEN_LAYERS: usize = 6;
/// The widest hidden layer.
pub const MAX_WIDTH: usize = 64;
/// The largest minibatch.
pub const MAX_BATCH: usize = 1024;
/// The largest noise (radians for the spiral, coordinates for the others).
pub const MAX_NOISE: f32 = 2.0;
/// The largest learning rate.
pub const MAX_LEARNING_RATE: f64 = 10.0;
/// The largest weight decay `λ`.
pub const MAX_LAMBDA: f64 = 1.0;

/// The fastest pace given as a number, in steps per second; faster is [`Pace::Max`].
pub const MAX_PACE: u32 = 1000;
/// The slowest pace, in steps per second (slower still is the Step button).
pub const MIN_PACE: u32 = 1;
/// The paces the page offers, slowest first (then "max").
pub const PACE_CHOICES: [u32; 7] = [1, 3, 10, 30, 100, 300, 1000];
/// The pace a session plays at unless told otherwise: the default spiral passes 90 % test
/// accuracy after 80 steps, so about 8 s after Play (the session's tests count the steps,
/// tests/playground_browser.rs times it in Chromium), and the boundary is seen forming.
pub const DEFAULT_PACE: Pace = Pace::PerSecond(10);

/// How fast a playing session trains: the training thread waits between steps so that it
/// never runs ahead of this. It changes no number a step computes, only when steps happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// At most this many steps per second ([`MIN_PACE`] to [`MAX_PACE`]).
    PerSecond(u32),
    /// As fast as the machine goes.
    Max,
}

impl Pace {
    /// Reads `30` (steps per second) or `max`; anything else is an error naming `pace`,
    /// the value and what is allowed.
    pub fn parse(value: &str) -> Result<Pace, SettingsError> {
        if value.trim() == "max" {
            return Ok(Pace::Max);
        }
        let expected =
            format!("an integer number of steps per second from {MIN_PACE} to {MAX_PACE}, or max");
        let steps = in_range("pace", value, MIN_PACE as f64, MAX_PACE as f64, true)
            .map_err(|_| bad("pace", value, expected))?;
        Ok(Pace::PerSecond(steps as u32))
    }

    /// The least time between two played steps; `None` for [`Pace::Max`].
    pub fn interval(self) -> Option<Duration> {
        match self {
            Pace::PerSecond(steps) => Some(Duration::from_secs(1) / steps.max(1)),
            Pace::Max => None,
        }
    }

    /// Whether a played session records a history point after every step (the curves end at
    /// the step made): at 10 steps per second and slower, so the curves move with each step
    /// rather than every few seconds.
    pub fn records_every_step(self) -> bool {
        matches!(self, Pace::PerSecond(steps) if steps <= 10)
    }
}

impl fmt::Display for Pace {
    /// `30` or `max`, as the query string writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pace::PerSecond(steps) => write!(f, "{steps}"),
            Pace::Max => f.write_str("max"),
        }
    }
}

/// A bad setting, with a message for the person who sent it (an HTTP 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl From<QueryError> for SettingsError {
    fn from(error: QueryError) -> Self {
        SettingsError(error.to_string())
    }
}

/// Which generated 2-D dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    /// Three interleaved spiral arms.
    Spiral,
    /// Two concentric rings.
    Circles,
    /// The four quadrants, labelled by the sign of `x y`.
    Xor,
    /// Three Gaussian blobs.
    Blobs,
}

impl DatasetKind {
    /// The name used in the query string.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Spiral => "spiral",
            DatasetKind::Circles => "circles",
            DatasetKind::Xor => "xor",
            DatasetKind::Blobs => "blobs",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "spiral" => Some(DatasetKind::Spiral),
            "circles" => Some(DatasetKind::Circles),
            "xor" => Some(DatasetKind::Xor),
            "blobs" => Some(DatasetKind::Blobs),
            _ => None,
        }
    }

    /// How many classes the dataset has.
    pub fn classes(self) -> usize {
        match self {
            DatasetKind::Spiral | DatasetKind::Blobs => 3,
            DatasetKind::Circles | DatasetKind::Xor => 2,
        }
    }
}

/// Everything a playground session is made from.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The dataset.
    pub dataset: DatasetKind,
    /// Seeds the data, the initial weights and the minibatch order.
    pub seed: u64,
    /// Points in train and test together.
    pub points: usize,
    /// The share of the points used for training, in percent.
    pub train_percent: usize,
    /// The dataset's noise.
    pub noise: f32,
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// `phi` of 4.7.2.
    pub activation: Activation,
    /// `l` of 4.7.4.
    pub loss: Loss,
    /// Whether every layer has a bias.
    pub bias: bool,
    /// The learning rate.
    pub learning_rate: f64,
    /// `λ` of 4.7.5.
    pub lambda: f64,
    /// Samples per update.
    pub batch_size: usize,
    /// The update rule.
    pub optimizer: OptimizerKind,
    /// How fast the session trains while playing (changeable while it plays).
    pub pace: Pace,
}

impl Default for Settings {
    /// The spiral with a 2-16-16-3 relu network trained by Adam: above 90 % test accuracy
    /// within a few hundred steps.
    fn default() -> Self {
        Settings {
            dataset: DatasetKind::Spiral,
            seed: 0,
            points: 600,
            train_percent: 50,
            noise: 0.2,
            hidden: vec![16, 16],
            activation: Activation::Relu,
            loss: Loss::CrossEntropy,
            bias: true,
            learning_rate: 0.01,
            lambda: 0.0,
            batch_size: 32,
            optimizer: OptimizerKind::ADAM,
            pace: DEFAULT_PACE,
        }
    }
}

impl Settings {
    /// Reads settings from a query string (`dataset=xor&hidden=8,8&lr=0.1`); keys not given
    /// keep their defaults. An unknown key, a malformed value or one outside its cap is an
    /// error whose message names the key, the value and what is allowed.
    pub fn from_query(query: &str) -> Result<Settings, SettingsError> {
        let mut settings = Settings::default();
        for (key, value) in parse_query(query)? {
            settings.set(&key, &value)?;
        }
        settings.check()?;
        Ok(settings)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), SettingsError> {
        match key {
            "dataset" => {
                self.dataset = DatasetKind::from_name(value).ok_or_else(|| {
                    bad(key, value, "one of spiral, circles, xor, blobs".to_string())
                })?
            }
            "seed" => self.seed = number(key, value, "an integer from 0 to 2^64 - 1")?,
            "points" => {
                self.points =
                    in_range(key, value, MIN_POINTS as f64, MAX_POINTS as f64, true)? as usize
            }
            "train" => self.train_percent = in_range(key, value, 10.0, 90.0, true)? as usize,
            "noise" => self.noise = in_range(key, value, 0.0, MAX_NOISE as f64, false)? as f32,
            "hidden" => self.hidden = hidden_widths(value)?,
            "activation" => {
                self.activation = Activation::from_name(value)
                    .ok_or_else(|| bad(key, value, "one of relu, sigmoid, tanh".to_string()))?
            }
            "loss" => {
                self.loss = Loss::from_name(value)
                    .ok_or_else(|| bad(key, value, "cross-entropy or mse".to_string()))?
            }
            "bias" => {
                self.bias = match value {
                    "1" | "true" | "on" => true,
                    "0" | "false" | "off" => false,
                    _ => return Err(bad(key, value, "true or false".to_string())),
                }
            }
            "lr" => {
                self.learning_rate = in_range(key, value, 0.0, MAX_LEARNING_RATE, false)?;
                if self.learning_rate == 0.0 {
                    return Err(bad(key, value, "a number above 0".to_string()));
                }
            }
            "lambda" => self.lambda = in_range(key, value, 0.0, MAX_LAMBDA, false)?,
            "batch" => {
                self.batch_size = in_range(key, value, 1.0, MAX_BATCH as f64, true)? as usize
            }
            "optimizer" => {
                self.optimizer = OptimizerKind::from_name(value)
                    .ok_or_else(|| bad(key, value, "one of sgd, momentum, adam".to_string()))?
            }
            "pace" => self.pace = Pace::parse(value)?,
            _ => {
                return Err(SettingsError(format!(
                    "unknown setting {key:?}; expected one of {}",
                    KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// Checks what depends on two settings: the batch must fit in the training set, and each
    /// split must hold at least one point per class.
    fn check(&self) -> Result<(), SettingsError> {
        let (train, test) = self.points_per_class();
        if train == 0 || test == 0 {
            return Err(SettingsError(format!(
                "points={} with train={} % leaves a split with no point of some class; use more points or a share nearer 50",
                self.points, self.train_percent
            )));
        }
        let train_points = train * self.dataset.classes();
        if self.batch_size > train_points {
            return Err(SettingsError(format!(
                "batch={} is larger than the {train_points} training points",
                self.batch_size
            )));
        }
        Ok(())
    }

    /// Training and test points per class.
    pub fn points_per_class(&self) -> (usize, usize) {
        let classes = self.dataset.classes();
        let train = self.points * self.train_percent / 100 / classes;
        let test = (self.points - train * classes) / classes;
        (train, test)
    }

    /// Generates the dataset: a training and a test set of 2-D points.
    pub fn generate_data(&self) -> Result<Splits, SettingsError> {
        let (train_per_class, test_per_class) = self.points_per_class();
        let result = match self.dataset {
            DatasetKind::Spiral => spiral(&SpiralConfig {
                train_per_class,
                test_per_class,
                noise: self.noise,
                seed: self.seed,
                ..SpiralConfig::default()
            }),
            DatasetKind::Circles => circles(&CirclesConfig {
                train_per_class,
                test_per_class,
                noise: self.noise,
                seed: self.seed,
                ..CirclesConfig::default()
            }),
            DatasetKind::Xor => xor(&XorConfig {
                train_per_class,
                test_per_class,
                noise: self.noise,
                seed: self.seed,
            }),
            DatasetKind::Blobs => blobs(&BlobsConfig {
                train_per_class,
                test_per_class,
                noise: self.noise,
                seed: self.seed,
                ..BlobsConfig::default()
            }),
        };
        result.map_err(|error| SettingsError(error.to_string()))
    }

    /// The network: 2 inputs, the hidden widths, one output per class.
    pub fn mlp_config(&self) -> MlpConfig {
        MlpConfig {
            inputs: 2,
            hidden: self.hidden.clone(),
            outputs: self.dataset.classes(),
            activation: self.activation,
            loss: self.loss,
            bias: self.bias,
            weight_decay: self.lambda,
        }
    }

    /// The canonical query string; [`Settings::from_query`] reads it back to equal settings.
    pub fn to_query(&self) -> String {
        let hidden: Vec<String> = self.hidden.iter().map(|w| w.to_string()).collect();
        format!(
            "dataset={}&seed={}&points={}&train={}&noise={}&hidden={}&activation={}&loss={}&bias={}&lr={}&lambda={}&batch={}&optimizer={}&pace={}",
            self.dataset.name(),
            self.seed,
            self.points,
            self.train_percent,
            self.noise,
            hidden.join(","),
            self.activation,
            self.loss,
            self.bias,
            self.learning_rate,
            self.lambda,
            self.batch_size,
            self.optimizer,
            self.pace
        )
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_query())
    }
}

/// Every key [`Settings::from_query`] reads.
pub const KEYS: [&str; 14] = [
    "dataset",
    "seed",
    "points",
    "train",
    "noise",
    "hidden",
    "activation",
    "loss",
    "bias",
    "lr",
    "lambda",
    "batch",
    "optimizer",
    "pace",
];

fn bad(key: &str, value: &str, expected: String) -> SettingsError {
    SettingsError(format!("{key}={value:?}; expected {expected}"))
}

fn number<N: std::str::FromStr>(
    key: &str,
    value: &str,
    expected: &str,
) -> Result<N, SettingsError> {
    value
        .trim()
        .parse()
        .map_err(|_| bad(key, value, expected.to_string()))
}

/// A number in `[low, high]`, an integer when `integer`.
fn in_range(
    key: &str,
    value: &str,
    low: f64,
    high: f64,
    integer: bool,
) -> Result<f64, SettingsError> {
    let expected = if integer {
        format!("an integer from {low} to {high}")
    } else {
        format!("a number from {low} to {high}")
    };
    let parsed: f64 = number(key, value, &expected)?;
    if !parsed.is_finite() || parsed < low || parsed > high || (integer && parsed.fract() != 0.0) {
        return Err(bad(key, value, expected));
    }
    Ok(parsed)
}

/// `16,16`: up to [`MAX_HIDDEN_LAYERS`] widths from 1 to [`MAX_WIDTH`]; empty for none.
fn hidden_widths(value: &str) -> Result<Vec<usize>, SettingsError> {
    let expected = format!(
        "up to {MAX_HIDDEN_LAYERS} comma-separated widths from 1 to {MAX_WIDTH} (empty for none)"
    );
    if value.trim().is_empty() {
        return Ok(Vec::new());
    }
    let widths: Vec<usize> = value
        .split(',')
        .map(|w| w.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("hidden", value, expected.clone()))?;
    if widths.len() > MAX_HIDDEN_LAYERS || widths.iter().any(|&w| w == 0 || w > MAX_WIDTH) {
        return Err(bad("hidden", value, expected));
    }
    Ok(widths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_query_reads_back_to_the_same_settings() {
        let settings = Settings::from_query(
            "dataset=xor&seed=7&points=400&train=60&noise=0.1&hidden=8,4&activation=tanh&loss=mse&bias=false&lr=0.5&lambda=0.001&batch=10&optimizer=momentum&pace=300",
        )
        .unwrap();
        assert_eq!(
            Settings::from_query(&settings.to_query()).unwrap(),
            settings
        );
        assert_eq!(settings.hidden, vec![8, 4]);
        assert_eq!(settings.optimizer, OptimizerKind::MOMENTUM);
        assert_eq!(settings.pace, Pace::PerSecond(300));
        let fastest = Settings::from_query("pace=max").unwrap();
        assert_eq!(fastest.pace, Pace::Max);
        assert!(fastest.to_query().ends_with("&pace=max"));
        assert_eq!(Settings::from_query(&fastest.to_query()).unwrap(), fastest);
    }

    #[test]
    fn a_pace_is_a_whole_number_of_steps_per_second_within_the_caps_or_max() {
        assert_eq!(Settings::default().pace, DEFAULT_PACE);
        assert_eq!(
            Pace::PerSecond(4).interval(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(Pace::Max.interval(), None);
        for value in ["0", "1001", "-3", "1.5", "fast", "", "nan", "1e9"] {
            let error = Pace::parse(value).unwrap_err();
            assert_eq!(
                error.0,
                format!("pace={value:?}; expected an integer number of steps per second from 1 to 1000, or max")
            );
        }
        assert_eq!(Pace::parse("1"), Ok(Pace::PerSecond(MIN_PACE)));
        assert_eq!(Pace::parse("1000"), Ok(Pace::PerSecond(MAX_PACE)));
        assert!(PACE_CHOICES.contains(&30));
    }

    #[test]
    fn values_outside_the_caps_are_rejected_with_the_key_named() {
        for (query, words) in [
            ("points=1000000", "points"),
            ("hidden=65", "hidden"),
            ("hidden=1,1,1,1,1,1,1", "hidden"),
            ("batch=0", "batch"),
            ("lr=0", "lr"),
            ("lr=nan", "lr"),
            ("noise=-1", "noise"),
            ("dataset=moons", "dataset"),
            ("colour=red", "unknown setting"),
            ("points=20&train=10", "split"),
            ("points=100&batch=100", "larger than"),
        ] {
            let error = Settings::from_query(query).unwrap_err();
            assert!(error.0.contains(words), "{query}: {}", error.0);
        }
    }
}
