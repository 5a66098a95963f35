//! The playground's settings: what a page asks for (dataset, network, training), read from a
//! URL query string, checked against the caps that keep any request small, and written back
//! as the canonical query string the page puts in its address (a shareable link).

use super::images::ImageSet;
use super::query::{parse_query, QueryError};
use crate::data::mnist_framing::MNIST_SIDE;
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
/// The widest hidden layer in image mode (the D2L recipe's 256).
pub const MAX_IMAGE_WIDTH: usize = 256;
/// The most hidden layers in image mode.
pub const MAX_IMAGE_HIDDEN_LAYERS: usize = 3;
/// The largest minibatch in image mode.
pub const MAX_IMAGE_BATCH: usize = 512;

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

/// Which dataset: a generated 2-D one, or the server's image dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    /// Three interleaved spiral arms.
    Spiral,
    /// Two concentric rings.
    Circles,
    /// The four quadrants, labelled by the sign of `x y`.
    Xor,
    /// Three Gaussian blobs.
    Blobs,
    /// The image dataset the server was started with (`serve --dataset`).
    Images {
        /// Its `dataset=` name ([`ImageSet::name`]).
        name: String,
        /// How many classes it has.
        classes: usize,
    },
}

impl DatasetKind {
    /// The name used in the query string.
    pub fn name(&self) -> &str {
        match self {
            DatasetKind::Spiral => "spiral",
            DatasetKind::Circles => "circles",
            DatasetKind::Xor => "xor",
            DatasetKind::Blobs => "blobs",
            DatasetKind::Images { name, .. } => name,
        }
    }

    /// The 2-D datasets: name and title, as `/api/defaults` lists them.
    pub const POINTS: [(&'static str, &'static str); 4] = [
        ("spiral", "Spiral"),
        ("circles", "Circles"),
        ("xor", "XOR"),
        ("blobs", "Gaussian blobs"),
    ];

    /// The generated 2-D dataset called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "spiral" => Some(DatasetKind::Spiral),
            "circles" => Some(DatasetKind::Circles),
            "xor" => Some(DatasetKind::Xor),
            "blobs" => Some(DatasetKind::Blobs),
            _ => None,
        }
    }

    /// How many classes the dataset has.
    pub fn classes(&self) -> usize {
        match self {
            DatasetKind::Spiral | DatasetKind::Blobs => 3,
            DatasetKind::Circles | DatasetKind::Xor => 2,
            DatasetKind::Images { classes, .. } => *classes,
        }
    }

    /// Whether it is the image dataset.
    pub fn is_images(&self) -> bool {
        matches!(self, DatasetKind::Images { .. })
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
    /// error whose message names the key, the value and what is allowed. Only the 2-D
    /// datasets are known ([`Settings::from_query_offering`] adds a server's images).
    pub fn from_query(query: &str) -> Result<Settings, SettingsError> {
        Self::from_query_offering(query, None)
    }

    /// [`Settings::from_query`] on a server that offers `images` too: `dataset=<its name>`
    /// starts from [`Settings::for_images`] and is checked against the image caps
    /// ([`MAX_IMAGE_WIDTH`], [`MAX_IMAGE_HIDDEN_LAYERS`], [`MAX_IMAGE_BATCH`]); the 2-D
    /// keys (`points`, `train`, `noise`) are then an error.
    pub fn from_query_offering(
        query: &str,
        images: Option<&ImageSet>,
    ) -> Result<Settings, SettingsError> {
        let pairs = parse_query(query)?;
        let asked = pairs.iter().find(|(k, _)| k == "dataset").map(|(_, v)| v);
        let mut settings = match images {
            Some(set) if asked.is_some_and(|name| name == set.name()) => Self::for_images(set),
            _ => Settings::default(),
        };
        for (key, value) in &pairs {
            settings.set(key, value, images)?;
        }
        settings.check(images)?;
        Ok(settings)
    }

    /// The settings image mode starts from on `images`: the D2L network 784-128-10 (relu,
    /// cross-entropy) trained by Adam at 0.001 on minibatches of 64, played at 30 steps per
    /// second; past 90 % held-out accuracy within a few hundred steps on MNIST.
    pub fn for_images(images: &ImageSet) -> Settings {
        Settings {
            dataset: DatasetKind::Images {
                name: images.name().to_string(),
                classes: images.classes().len(),
            },
            hidden: vec![128],
            learning_rate: 0.001,
            batch_size: 64,
            pace: Pace::PerSecond(30),
            ..Settings::default()
        }
    }

    /// The caps on the hidden layers and the batch: the image caps in image mode.
    fn caps(&self) -> (usize, usize, usize) {
        if self.dataset.is_images() {
            (MAX_IMAGE_HIDDEN_LAYERS, MAX_IMAGE_WIDTH, MAX_IMAGE_BATCH)
        } else {
            (MAX_HIDDEN_LAYERS, MAX_WIDTH, MAX_BATCH)
        }
    }

    fn set(
        &mut self,
        key: &str,
        value: &str,
        images: Option<&ImageSet>,
    ) -> Result<(), SettingsError> {
        let (max_layers, max_width, max_batch) = self.caps();
        if self.dataset.is_images() && matches!(key, "points" | "train" | "noise") {
            return Err(SettingsError(format!(
                "{key}={value:?} applies to the 2-D datasets; dataset={} trains on its images, so points, train and noise are not taken",
                self.dataset.name()
            )));
        }
        match key {
            "dataset" => {
                if let Some(found) = DatasetKind::from_name(value) {
                    self.dataset = found;
                } else if images.is_none_or(|set| set.name() != value) {
                    let names: Vec<&str> = DatasetKind::POINTS.iter().map(|(n, _)| *n).collect();
                    return Err(match images {
                        Some(set) => bad(
                            key,
                            value,
                            format!("one of {}, {}", names.join(", "), set.name()),
                        ),
                        None => bad(
                            key,
                            value,
                            format!(
                                "one of {} (start the server with --dataset to train on images)",
                                names.join(", ")
                            ),
                        ),
                    });
                }
            }
            "seed" => self.seed = number(key, value, "an integer from 0 to 2^64 - 1")?,
            "points" => {
                self.points =
                    in_range(key, value, MIN_POINTS as f64, MAX_POINTS as f64, true)? as usize
            }
            "train" => self.train_percent = in_range(key, value, 10.0, 90.0, true)? as usize,
            "noise" => self.noise = in_range(key, value, 0.0, MAX_NOISE as f64, false)? as f32,
            "hidden" => self.hidden = hidden_widths(value, max_layers, max_width)?,
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
                self.batch_size = in_range(key, value, 1.0, max_batch as f64, true)? as usize
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
    fn check(&self, images: Option<&ImageSet>) -> Result<(), SettingsError> {
        if self.dataset.is_images() {
            let train = images.map_or(0, |set| set.train().len());
            if self.batch_size > train {
                return Err(SettingsError(format!(
                    "batch={} is larger than the {train} training images",
                    self.batch_size
                )));
            }
            return Ok(());
        }
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

    /// Generates the dataset: a training and a test set of 2-D points (an error for the
    /// image dataset, which is loaded once by the server, not generated).
    pub fn generate_data(&self) -> Result<Splits, SettingsError> {
        let (train_per_class, test_per_class) = self.points_per_class();
        let result = match &self.dataset {
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
            DatasetKind::Images { name, .. } => {
                return Err(SettingsError(format!(
                    "dataset={name} is the server's image dataset; it is not generated"
                )))
            }
        };
        result.map_err(|error| SettingsError(error.to_string()))
    }

    /// The network: 2 inputs (784 for images), the hidden widths, one output per class.
    pub fn mlp_config(&self) -> MlpConfig {
        MlpConfig {
            inputs: if self.dataset.is_images() {
                MNIST_SIDE * MNIST_SIDE
            } else {
                2
            },
            hidden: self.hidden.clone(),
            outputs: self.dataset.classes(),
            activation: self.activation,
            loss: self.loss,
            bias: self.bias,
            weight_decay: self.lambda,
        }
    }

    /// The canonical query string; [`Settings::from_query`] reads it back to equal settings
    /// ([`Settings::from_query_offering`] for the image dataset, whose string has no 2-D
    /// keys).
    pub fn to_query(&self) -> String {
        let hidden: Vec<String> = self.hidden.iter().map(|w| w.to_string()).collect();
        let data = if self.dataset.is_images() {
            String::new()
        } else {
            format!(
                "&points={}&train={}&noise={}",
                self.points, self.train_percent, self.noise
            )
        };
        format!(
            "dataset={}&seed={}{data}&hidden={}&activation={}&loss={}&bias={}&lr={}&lambda={}&batch={}&optimizer={}&pace={}",
            self.dataset.name(),
            self.seed,
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

/// `16,16`: up to `max_layers` widths from 1 to `max_width` ([`MAX_HIDDEN_LAYERS`] and
/// [`MAX_WIDTH`] for the 2-D datasets); empty for none.
fn hidden_widths(
    value: &str,
    max_layers: usize,
    max_width: usize,
) -> Result<Vec<usize>, SettingsError> {
    let expected =
        format!("up to {max_layers} comma-separated widths from 1 to {max_width} (empty for none)");
    if value.trim().is_empty() {
        return Ok(Vec::new());
    }
    let widths: Vec<usize> = value
        .split(',')
        .map(|w| w.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("hidden", value, expected.clone()))?;
    if widths.len() > max_layers || widths.iter().any(|&w| w == 0 || w > max_width) {
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
    fn image_settings_round_trip_without_the_2d_keys_and_have_their_own_caps() {
        let pixels = vec![0u8; 100 * 784];
        let labels = (0..100).map(|i| (i % 10) as u8).collect();
        let train = crate::data::Dataset::from_images(pixels, labels, 28, 28).unwrap();
        let splits = Splits { train, test: None };
        let set = ImageSet::new("digits", "Digits", splits, false).unwrap();
        let query = "hidden=200&batch=16&dataset=digits&optimizer=sgd&lr=0.1";
        let settings = Settings::from_query_offering(query, Some(&set)).unwrap();
        assert_eq!(settings.mlp_config().inputs, 784);
        assert_eq!(settings.mlp_config().outputs, 10);
        assert_eq!(settings.hidden, vec![200]);
        let canonical = settings.to_query();
        assert_eq!(
            canonical,
            "dataset=digits&seed=0&hidden=200&activation=relu&loss=cross-entropy&bias=true&lr=0.1&lambda=0&batch=16&optimizer=sgd&pace=30"
        );
        assert_eq!(
            Settings::from_query_offering(&canonical, Some(&set)).unwrap(),
            settings
        );
        let start = Settings::for_images(&set).to_query();
        assert_eq!(
            Settings::from_query_offering(&start, Some(&set)).unwrap(),
            Settings::for_images(&set)
        );
        for (query, words) in [
            ("dataset=digits&hidden=257", "from 1 to 256"),
            ("dataset=digits&batch=513", "from 1 to 512"),
            (
                "dataset=digits&batch=100",
                "larger than the 80 training images",
            ),
            ("dataset=digits&points=100", "applies to the 2-D datasets"),
            (
                "dataset=other",
                "one of spiral, circles, xor, blobs, digits",
            ),
        ] {
            let error = Settings::from_query_offering(query, Some(&set)).unwrap_err();
            assert!(error.0.contains(words), "{query}: {}", error.0);
        }
        // Without images the name is unknown, and 2-D settings keep their caps.
        let error = Settings::from_query("dataset=digits").unwrap_err();
        assert!(
            error.0.contains("start the server with --dataset"),
            "{}",
            error.0
        );
        assert!(Settings::from_query_offering("hidden=65", Some(&set)).is_err());
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
