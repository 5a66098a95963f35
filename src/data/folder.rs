//! Loading an MNIST-style folder of IDX files into train and test datasets.
//!
//! The folder holds `train-images-idx3-ubyte` and `train-labels-idx1-ubyte` and, optionally,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`. Each may be stored raw or
//! gzip-compressed with a `.gz` suffix; when both forms exist the raw file is used (it is
//! what a user who unpacked the archives by hand most recently produced, and it is faster to
//! read). Whether a file is compressed is decided by its contents, not its name.

use std::path::{Path, PathBuf};

use super::dataset::{Dataset, Splits};
use super::error::{DataError, Result};
use super::idx::{read_idx_images, read_idx_labels};

/// File name (without `.gz`) of the training images.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// File name (without `.gz`) of the training labels.
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// File name (without `.gz`) of the test images.
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// File name (without `.gz`) of the test labels.
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// The four IDX file names of an MNIST-style folder, train first.
pub const IDX_FILE_NAMES: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The path of `name` in `folder`: the raw file if it exists, else `name.gz` if that exists.
/// Anything of that name counts (a FIFO, a folder...), so that reading it reports what it
/// is instead of calling it missing.
pub fn find_idx_file(folder: &Path, name: &str) -> Option<PathBuf> {
    let exists = |path: &Path| std::fs::symlink_metadata(path).is_ok();
    let raw = folder.join(name);
    if exists(&raw) {
        return Some(raw);
    }
    let gzip = folder.join(format!("{name}.gz"));
    exists(&gzip).then_some(gzip)
}

/// Loads a folder of MNIST-style IDX files: the train pair is required, the test (`t10k`)
/// pair is optional but must be complete if present, and both must have the same image size.
pub fn load_folder(folder: &Path) -> Result<Splits> {
    let expected = format!(
        "{TRAIN_IMAGES} and {TRAIN_LABELS}, optionally with {TEST_IMAGES} and {TEST_LABELS} (each raw or .gz)"
    );
    if !folder.is_dir() {
        return Err(DataError::FolderNotFound {
            folder: folder.to_path_buf(),
            expected,
        });
    }
    let train_images = find_idx_file(folder, TRAIN_IMAGES);
    let train_labels = find_idx_file(folder, TRAIN_LABELS);
    let (train_images, train_labels) = match (train_images, train_labels) {
        (Some(images), Some(labels)) => (images, labels),
        (images, labels) => {
            let missing: Vec<&str> = [(images, TRAIN_IMAGES), (labels, TRAIN_LABELS)]
                .into_iter()
                .filter(|(found, _)| found.is_none())
                .map(|(_, name)| name)
                .collect();
            return Err(DataError::MissingFiles {
                folder: folder.to_path_buf(),
                missing: missing.join(" or "),
                expected,
            });
        }
    };
    let train = load_idx_pair(&train_images, &train_labels)?;

    let test = match (
        find_idx_file(folder, TEST_IMAGES),
        find_idx_file(folder, TEST_LABELS),
    ) {
        (None, None) => None,
        (Some(images), Some(labels)) => {
            let test = load_idx_pair(&images, &labels)?;
            if test.image_shape() != train.image_shape() {
                let (train_rows, train_cols) = train.image_shape().unwrap_or_default();
                let (test_rows, test_cols) = test.image_shape().unwrap_or_default();
                return Err(DataError::ShapeMismatch {
                    train_path: train_images,
                    train_rows,
                    train_cols,
                    test_path: images,
                    test_rows,
                    test_cols,
                });
            }
            Some(test)
        }
        (images, _) => {
            let missing = if images.is_none() {
                TEST_IMAGES
            } else {
                TEST_LABELS
            };
            return Err(DataError::MissingFiles {
                folder: folder.to_path_buf(),
                missing: missing.to_string(),
                expected,
            });
        }
    };
    Ok(Splits { train, test })
}

/// Loads one image file and its label file into a [`Dataset`], checking the counts agree.
pub fn load_idx_pair(images_path: &Path, labels_path: &Path) -> Result<Dataset> {
    let images = read_idx_images(images_path)?;
    let labels = read_idx_labels(labels_path)?;
    if images.count != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            images: images.count,
            labels_path: labels_path.to_path_buf(),
            labels: labels.len(),
        });
    }
    Dataset::from_images(images.pixels, labels, images.rows, images.cols)
}
