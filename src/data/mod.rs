//! Datasets for training the MLP: IDX files (MNIST, Fashion-MNIST, or any folder in their
//! layout), downloads of the named datasets, and generated 2-D datasets (spiral — the
//! default — circles, xor and Gaussian blobs).
//!
//! Everything ends up as a [`Dataset`]: features stored as they came (bytes for images,
//! read as `byte / 255`; floats for generated points) with one `u8` label per sample, and
//! [`Dataset::gather_features`] to copy a mini-batch into a row-major `f32` buffer without
//! allocating. A source gives [`Splits`]: a training set and, if it has one, a test set;
//! [`Dataset::split_tail`] holds out a validation set from the end of the training set.
//!
//! Every failure is a [`DataError`] whose message names the file or setting at fault and
//! what was expected; no input, however malformed, makes this module panic.

mod area_resize;
mod blobs;
mod circles;
mod dataset;
mod download;
mod error;
mod fingerprint;
mod folder;
mod huge_pages;
mod idx;
mod idx_writer;
pub mod mnist_framing;
mod named;
mod planar;
pub mod png_input;
pub mod regular_file;
mod spiral;
mod xor;

pub use blobs::{blobs, BlobsConfig, BLOB_CENTRE_RADIUS};
pub use circles::{circles, CirclesConfig};
pub use dataset::{
    byte_to_unit, byte_to_unit_fused, held_out_count, Dataset, FeatureRow, Features, Splits,
};
pub use download::{download_missing, md5_hex, MirrorFile, MirrorSource, DEFAULT_MAX_FILE_BYTES};
pub use error::{DataError, DownloadFailure, DownloadFailures, Result};
pub use fingerprint::DataFingerprint;
pub use folder::{
    find_idx_file, load_folder, load_idx_pair, IDX_FILE_NAMES, TEST_IMAGES, TEST_LABELS,
    TRAIN_IMAGES, TRAIN_LABELS,
};
pub use idx::{
    decode_idx_images, decode_idx_labels, read_idx_images, read_idx_labels, IdxImages, GZIP_MAGIC,
    IDX_UNSIGNED_BYTE, MAX_DEFLATE_RATIO, MAX_IDX_DATA_BYTES, MAX_IDX_IMAGE_PIXELS,
};
pub use idx_writer::{encode_idx_images, encode_idx_labels, write_idx_images, write_idx_labels};
pub use named::{
    default_data_folder, load_named, NamedDataset, DATA_FOLDER_VAR, FASHION_MNIST_MIRROR,
    MIRROR_VAR, MNIST_MIRROR,
};
pub use planar::MAX_GENERATED_POINTS;
pub use spiral::{spiral, SpiralConfig};
pub use xor::{xor, XorConfig};
