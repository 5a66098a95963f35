//! Loading MNIST-style folders: raw and gzip files, which file wins, optional test files,
//! and the errors for missing or inconsistent files.

use std::path::Path;

use backprop::data::{load_folder, write_idx_images, write_idx_labels, DataError};

/// Writes `count` images of `rows x cols` (pixel = image index) and labels `index % 10`
/// under the IDX name `stem` (`train` or `t10k`), `.gz`-suffixed if `gzip`.
fn write_split(folder: &Path, stem: &str, count: usize, rows: usize, cols: usize, gzip: bool) {
    let suffix = if gzip { ".gz" } else { "" };
    let pixels: Vec<u8> = (0..count)
        .flat_map(|i| vec![i as u8; rows * cols])
        .collect();
    let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
    write_idx_images(
        &folder.join(format!("{stem}-images-idx3-ubyte{suffix}")),
        rows,
        cols,
        &pixels,
        gzip,
    )
    .unwrap();
    write_idx_labels(
        &folder.join(format!("{stem}-labels-idx1-ubyte{suffix}")),
        &labels,
        gzip,
    )
    .unwrap();
}

#[test]
fn loads_gzip_train_and_raw_test() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), "train", 12, 3, 2, true);
    write_split(dir.path(), "t10k", 5, 3, 2, false);
    let splits = load_folder(dir.path()).unwrap();
    assert_eq!(splits.train.len(), 12);
    assert_eq!(splits.train.image_shape(), Some((3, 2)));
    assert_eq!(splits.train.labels()[11], 1);
    let test = splits.test.unwrap();
    assert_eq!(test.len(), 5);
    assert_eq!(test.feature_row(4).unwrap().next(), Some(4.0 / 255.0));
}

#[test]
fn test_files_are_optional() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), "train", 3, 2, 2, false);
    let splits = load_folder(dir.path()).unwrap();
    assert_eq!(splits.train.len(), 3);
    assert!(splits.test.is_none());
}

#[test]
fn the_raw_file_wins_over_the_gzip_one() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), "train", 4, 2, 2, true);
    write_split(dir.path(), "train", 7, 2, 2, false);
    assert_eq!(load_folder(dir.path()).unwrap().train.len(), 7);
}

#[test]
fn missing_train_files_name_the_files_and_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_folder(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::MissingFiles { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{} has no train-images-idx3-ubyte or train-labels-idx1-ubyte; expected \
             train-images-idx3-ubyte and train-labels-idx1-ubyte, optionally with \
             t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each raw or .gz)",
            dir.path().display()
        )
    );

    write_idx_labels(&dir.path().join("train-labels-idx1-ubyte.gz"), &[1], true).unwrap();
    let message = load_folder(dir.path()).unwrap_err().to_string();
    assert!(
        message.contains("has no train-images-idx3-ubyte;"),
        "{message}"
    );
}

#[test]
fn half_a_test_pair_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), "train", 3, 2, 2, false);
    write_idx_images(
        &dir.path().join("t10k-images-idx3-ubyte"),
        2,
        2,
        &[0; 8],
        false,
    )
    .unwrap();
    let message = load_folder(dir.path()).unwrap_err().to_string();
    assert!(
        message.contains("has no t10k-labels-idx1-ubyte;"),
        "{message}"
    );
}

#[test]
fn a_missing_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("nowhere");
    let message = load_folder(&folder).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("data folder {} does not exist", folder.display())),
        "{message}"
    );
}

#[test]
fn train_and_test_image_sizes_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), "train", 3, 2, 2, false);
    write_split(dir.path(), "t10k", 3, 2, 3, true);
    let err = load_folder(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} holds 2x2 images but {} holds 2x3; expected the same image size",
            dir.path().join("train-images-idx3-ubyte").display(),
            dir.path().join("t10k-images-idx3-ubyte.gz").display()
        )
    );
}

#[test]
fn errors_in_a_file_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    write_split(dir.path(), "train", 3, 2, 2, false);
    let labels = dir.path().join("train-labels-idx1-ubyte");
    std::fs::write(&labels, [0, 0, 8, 1, 0, 0, 0, 3, 1, 2]).unwrap();
    let message = load_folder(dir.path()).unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "{} is truncated: its header declares 3 bytes of data but only 2 follow",
            labels.display()
        )
    );
}
