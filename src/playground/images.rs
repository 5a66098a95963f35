//! The image dataset a server offers (`backprop serve --dataset`): loaded once at start and
//! shared, through [`Arc`]s, by every session that trains on it — a session holds the
//! server's train and held-out [`Dataset`]s, never a copy.
//!
//! The held-out split is the dataset's test split (`t10k-*` files) or, when the folder has
//! none, the last [`VALIDATION_SHARE`] of its training files, named "validation". Images
//! must be 28 x 28 (the drawing canvas is framed as MNIST framed its digits,
//! [`crate::data::mnist_framing`]), with 2 to [`MAX_IMAGE_CLASSES`] classes.

use crate::data::mnist_framing::MNIST_SIDE;
use crate::data::{Dataset, Features, Splits};
use crate::format::count;
use serde::Serialize;
use std::sync::Arc;

/// The share of the training files held out for validation when a folder has no test split.
pub const VALIDATION_SHARE: f64 = 0.2;
/// The most classes an image dataset may have (the confusion matrix is classes x classes).
pub const MAX_IMAGE_CLASSES: usize = 10;
/// How many training images the history's train loss and accuracy are measured on: a fixed
/// subset, evenly spaced through the training split, so a history point stays cheap.
pub const HISTORY_TRAIN_SAMPLES: usize = 1000;
/// The class names of Fashion-MNIST, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Which split is held out of training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeldOut {
    /// The dataset's test split.
    Test,
    /// A share of the training files ([`VALIDATION_SHARE`]).
    Validation,
}

impl HeldOut {
    /// `test` or `validation`, as the JSON names it.
    pub fn name(self) -> &'static str {
        match self {
            HeldOut::Test => "test",
            HeldOut::Validation => "validation",
        }
    }
}

/// An image dataset as the server holds it.
#[derive(Debug)]
pub struct ImageSet {
    name: String,
    title: String,
    classes: Vec<String>,
    train: Arc<Dataset>,
    held_out: Arc<Dataset>,
    held_out_split: HeldOut,
    history_train: Arc<Dataset>,
}

/// What `/api/defaults` says of an image dataset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImageSetInfo {
    /// The `dataset=` value that picks it.
    pub name: String,
    /// Always `images`.
    pub kind: &'static str,
    /// For people: `MNIST (8,000 train / 2,000 validation)`.
    pub title: String,
    /// Training images.
    pub train: usize,
    /// Held-out images.
    pub test: usize,
    /// What the held-out split is.
    pub test_split: HeldOut,
    /// `[rows, cols]` of every image.
    pub image: [usize; 2],
    /// The class names, by label.
    pub classes: Vec<String>,
}

impl ImageSet {
    /// The image set of `splits`, offered as `name` (the `dataset=` value; a name that is not
    /// a plain word, or that a 2-D dataset has, becomes `images`) and titled `title` for
    /// people. `fashion` names the classes as Fashion-MNIST's; otherwise they are `0`, `1`...
    /// Errors (images not 28 x 28, too few or many classes, too few images) are one line.
    pub fn new(name: &str, title: &str, splits: Splits, fashion: bool) -> Result<ImageSet, String> {
        let shape = splits.train.image_shape();
        if shape != Some((MNIST_SIDE, MNIST_SIDE)) {
            let found = shape.map_or("features that are not images".to_string(), |(r, c)| {
                format!("images of {r}x{c} pixels")
            });
            return Err(format!(
                "the dataset has {found}; the playground's image mode takes 28x28 images (as MNIST's)"
            ));
        }
        let classes = splits.num_classes();
        if !(2..=MAX_IMAGE_CLASSES).contains(&classes) {
            return Err(format!(
                "the dataset's labels give {classes} classes; the playground's image mode takes 2 to {MAX_IMAGE_CLASSES}"
            ));
        }
        let (train, held_out, held_out_split) = match splits.test {
            Some(test) if !test.is_empty() => {
                if test.image_shape() != shape {
                    return Err("the test images are not 28x28 like the training images".into());
                }
                (splits.train, test, HeldOut::Test)
            }
            _ => {
                let (train, validation) = splits
                    .train
                    .split_tail(VALIDATION_SHARE)
                    .map_err(|error| error.to_string())?;
                (train, validation, HeldOut::Validation)
            }
        };
        let class_names = (0..classes)
            .map(|c| {
                if fashion {
                    FASHION_MNIST_CLASSES[c].to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        let history_train = Arc::new(evenly_spaced(&train, HISTORY_TRAIN_SAMPLES));
        let title = format!(
            "{title} ({} train / {} {})",
            count(train.len() as u64),
            count(held_out.len() as u64),
            held_out_split.name()
        );
        Ok(ImageSet {
            name: query_name(name),
            title,
            classes: class_names,
            train: Arc::new(train),
            held_out: Arc::new(held_out),
            held_out_split,
            history_train,
        })
    }

    /// The `dataset=` value that picks it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The class names, by label.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The training split, shared.
    pub fn train(&self) -> &Arc<Dataset> {
        &self.train
    }

    /// The held-out split, shared.
    pub fn held_out(&self) -> &Arc<Dataset> {
        &self.held_out
    }

    /// What the held-out split is.
    pub fn held_out_split(&self) -> HeldOut {
        self.held_out_split
    }

    /// The fixed training subset a history point's train loss and accuracy are measured on
    /// (at most [`HISTORY_TRAIN_SAMPLES`] images), shared.
    pub fn history_train(&self) -> &Arc<Dataset> {
        &self.history_train
    }

    /// What `/api/defaults` says of it.
    pub fn info(&self) -> ImageSetInfo {
        ImageSetInfo {
            name: self.name.clone(),
            kind: "images",
            title: self.title.clone(),
            train: self.train.len(),
            test: self.held_out.len(),
            test_split: self.held_out_split,
            image: [MNIST_SIDE, MNIST_SIDE],
            classes: self.classes.clone(),
        }
    }
}

/// `name` if it is a plain word (letters, digits, `-`, `_`, `.`; at most 40) that no 2-D
/// dataset has, else `images`.
fn query_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let taken = super::settings::DatasetKind::from_name(name).is_some();
    if plain && !taken {
        name.to_string()
    } else {
        "images".to_string()
    }
}

/// At most `most` samples of `data`, every `ceil(len / most)`-th from the first.
fn evenly_spaced(data: &Dataset, most: usize) -> Dataset {
    let stride = data.len().div_ceil(most.max(1)).max(1);
    let dim = data.input_dim();
    let picked: Vec<usize> = (0..data.len()).step_by(stride).collect();
    let labels = picked.iter().map(|&i| data.labels()[i]).collect();
    let (rows, cols) = data.image_shape().unwrap_or((1, dim));
    let pixels = match data.features() {
        Features::Bytes(bytes) => picked
            .iter()
            .flat_map(|&i| bytes[i * dim..(i + 1) * dim].iter().copied())
            .collect(),
        Features::Floats(_) => Vec::new(),
    };
    Dataset::from_images(pixels, labels, rows, cols).unwrap_or_else(|_| data.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(count: usize, seed: u8) -> Dataset {
        let pixels = (0..count * 784)
            .map(|i| (i as u8).wrapping_mul(seed))
            .collect();
        let labels = (0..count).map(|i| (i % 10) as u8).collect();
        Dataset::from_images(pixels, labels, 28, 28).unwrap()
    }

    #[test]
    fn a_folder_without_a_test_split_holds_out_a_validation_share() {
        let splits = Splits {
            train: images(50, 3),
            test: None,
        };
        let set = ImageSet::new("mnist", "MNIST", splits, false).unwrap();
        assert_eq!(set.held_out_split(), HeldOut::Validation);
        assert_eq!((set.train().len(), set.held_out().len()), (40, 10));
        let info = set.info();
        assert_eq!(info.title, "MNIST (40 train / 10 validation)");
        assert_eq!(info.classes.len(), 10);
        assert_eq!(info.classes[3], "3");
    }

    #[test]
    fn the_history_subset_is_evenly_spaced_through_the_training_split() {
        let data = images(2500, 7);
        let subset = evenly_spaced(&data, 1000);
        assert_eq!(subset.len(), 834);
        assert_eq!(subset.labels()[1], data.labels()[3]);
        let Features::Bytes(bytes) = subset.features() else {
            panic!("bytes");
        };
        let Features::Bytes(all) = data.features() else {
            panic!("bytes");
        };
        assert_eq!(&bytes[784..1568], &all[3 * 784..4 * 784]);
    }

    #[test]
    fn names_are_plain_words_and_the_wrong_shape_is_refused() {
        assert_eq!(query_name("my digits"), "images");
        assert_eq!(query_name("spiral"), "images");
        assert_eq!(query_name("fashion-mnist"), "fashion-mnist");
        let small = Dataset::from_images(vec![0; 60], vec![0, 1], 6, 5).unwrap();
        let error = ImageSet::new(
            "x",
            "x",
            Splits {
                train: small,
                test: None,
            },
            false,
        )
        .unwrap_err();
        assert!(error.contains("6x5"), "{error}");
    }
}
