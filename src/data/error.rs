//! The one error type of the data module: every way loading, downloading or generating a
//! dataset can fail, each with a one-line message naming the file (or folder, or setting) and
//! saying what was expected.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::regular_file::RegularFileError;

/// Everything that can go wrong while reading, downloading, splitting or generating data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("read", "create", ...).
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying operating-system error.
        #[source]
        source: io::Error,
    },

    /// An input path is not a regular file (a FIFO, a device, a folder), or is too large.
    #[error(transparent)]
    NotReadable(RegularFileError),

    /// The header declares more data than a dataset file may hold.
    #[error("{path} declares {declared} bytes of data, more than the limit of {max} bytes for an IDX file")]
    TooMuchData {
        /// The file concerned.
        path: PathBuf,
        /// Bytes of data declared by the header.
        declared: u128,
        /// The limit ([`MAX_IDX_DATA_BYTES`](super::MAX_IDX_DATA_BYTES)).
        max: u64,
    },

    /// The header declares images with more pixels than the model's input may have.
    #[error("{path} declares images of {rows}x{cols} pixels, more than the limit of {max} pixels per image")]
    ImageTooLarge {
        /// The file concerned.
        path: PathBuf,
        /// Rows per image.
        rows: u32,
        /// Columns per image.
        cols: u32,
        /// The limit ([`MAX_IDX_IMAGE_PIXELS`](super::MAX_IDX_IMAGE_PIXELS)).
        max: u64,
    },

    /// A gzip-compressed file could not be decompressed.
    #[error(
        "{path} is not a valid gzip file (it starts with the gzip magic bytes 1f 8b): {source}"
    )]
    CorruptGzip {
        /// The file concerned.
        path: PathBuf,
        /// The decompressor's error.
        #[source]
        source: io::Error,
    },

    /// The file ended before the IDX header (magic number and dimension sizes) was complete.
    #[error("{path} is too short to be an IDX file: it ends after {found} bytes, inside the {expected}-byte header")]
    TruncatedHeader {
        /// The file concerned.
        path: PathBuf,
        /// Bytes of header found.
        found: usize,
        /// Bytes of header expected.
        expected: usize,
    },

    /// The first two bytes of an IDX file were not zero.
    #[error("{path} is not an IDX file: it starts with bytes {found}, expected 00 00 followed by a data type and a dimension count")]
    NotIdx {
        /// The file concerned.
        path: PathBuf,
        /// The first four bytes, in hex.
        found: String,
    },

    /// The IDX data type byte was not 0x08 (unsigned byte).
    #[error("{path} holds IDX data type 0x{found:02x}, expected 0x08 (unsigned bytes)")]
    WrongDataType {
        /// The file concerned.
        path: PathBuf,
        /// The data type byte found.
        found: u8,
    },

    /// The IDX file had the wrong number of dimensions for what it should hold.
    #[error("{path} has {found} dimension(s), expected {expected} for an IDX {kind} file")]
    WrongDimensionCount {
        /// The file concerned.
        path: PathBuf,
        /// Dimensions found in the header.
        found: u8,
        /// Dimensions expected.
        expected: u8,
        /// "images" or "labels".
        kind: &'static str,
    },

    /// A dimension in the IDX header was zero.
    #[error("{path} declares zero {what}; expected at least one")]
    ZeroSize {
        /// The file concerned.
        path: PathBuf,
        /// Which dimension was zero ("items", "rows", "columns").
        what: &'static str,
    },

    /// The header declares more data than the file holds.
    #[error(
        "{path} is truncated: its header declares {expected} bytes of data but only {found} follow"
    )]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// Bytes of data declared by the header.
        expected: u128,
        /// Bytes of data actually present.
        found: u128,
    },

    /// The file holds more data than its header declares.
    #[error(
        "{path} has trailing bytes: its header declares {expected} bytes of data but more follow"
    )]
    TrailingBytes {
        /// The file concerned.
        path: PathBuf,
        /// Bytes of data declared by the header.
        expected: u64,
    },

    /// A gzip file declares more data than a file of its size could possibly decompress to.
    #[error("{path} is corrupt: its header declares {declared} bytes of data, but a gzip file of {compressed} bytes can hold at most {max_possible}")]
    ImplausibleSize {
        /// The file concerned.
        path: PathBuf,
        /// Bytes of data declared by the IDX header.
        declared: u128,
        /// Size of the compressed file in bytes.
        compressed: u64,
        /// The most a gzip stream of that size can decompress to.
        max_possible: u64,
    },

    /// The image and label files of one split hold different numbers of items.
    #[error("{images_path} holds {images} images but {labels_path} holds {labels} labels; expected the same count")]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },

    /// The train and test images have different sizes.
    #[error("{train_path} holds {train_rows}x{train_cols} images but {test_path} holds {test_rows}x{test_cols}; expected the same image size")]
    ShapeMismatch {
        /// The training image file.
        train_path: PathBuf,
        /// Rows of a training image.
        train_rows: usize,
        /// Columns of a training image.
        train_cols: usize,
        /// The test image file.
        test_path: PathBuf,
        /// Rows of a test image.
        test_rows: usize,
        /// Columns of a test image.
        test_cols: usize,
    },

    /// The data folder does not exist.
    #[error("data folder {folder} does not exist; expected a folder holding {expected}")]
    FolderNotFound {
        /// The folder looked for.
        folder: PathBuf,
        /// The files it should hold.
        expected: String,
    },

    /// The data folder's path names something that is not a folder.
    #[error("the data folder {folder} is {kind}, not a folder")]
    NotAFolder {
        /// The path given as the folder.
        folder: PathBuf,
        /// What it is instead ("a file", "a FIFO"...).
        kind: &'static str,
    },

    /// A required IDX file is missing from a folder.
    #[error("{folder} has no {missing}; expected {expected}")]
    MissingFiles {
        /// The folder searched.
        folder: PathBuf,
        /// The file(s) not found.
        missing: String,
        /// The files the folder should hold.
        expected: String,
    },

    /// Items handed to a [`Dataset`](super::Dataset) constructor do not fit together.
    #[error("invalid dataset: {reason}")]
    InvalidDataset {
        /// What did not fit.
        reason: String,
    },

    /// The validation fraction given to `split_tail` is outside `[0, 1)`.
    #[error("validation fraction {} is out of range; expected a number in [0, 1)", crate::format::exact_number(*fraction))]
    InvalidFraction {
        /// The fraction given.
        fraction: f64,
    },

    /// Holding out the requested fraction would leave the training or validation part empty.
    #[error("holding out {} of {len} samples leaves {train} for training and {validation} for validation; both must be non-empty", crate::format::exact_number(*fraction))]
    EmptySplit {
        /// The fraction requested.
        fraction: f64,
        /// Samples in the dataset.
        len: usize,
        /// Samples that would be left for training.
        train: usize,
        /// Samples that would be held out for validation.
        validation: usize,
    },

    /// A generator setting (spiral, circles, xor, blobs) is out of range.
    #[error("invalid {generator} setting: {reason}")]
    InvalidGeneratorConfig {
        /// The generator ("spiral", "circles", ...).
        generator: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },

    /// The dataset name is not one of the downloadable datasets.
    #[error("unknown dataset {name:?}; expected one of: mnist, fashion-mnist")]
    UnknownDataset {
        /// The name given.
        name: String,
    },

    /// No default data folder could be found (no `$BACKPROP_DATA`, `$XDG_CACHE_HOME` or `$HOME`).
    #[error("cannot choose a data folder for {dataset}: none of BACKPROP_DATA, XDG_CACHE_HOME or HOME is set; pass a data folder explicitly")]
    NoDataFolder {
        /// The dataset name.
        dataset: String,
    },

    /// A file of a named dataset could not be downloaded from any mirror.
    #[error("cannot download {file} for {dataset} ({failures}); put {needed} (gzipped or unpacked) into {folder} yourself")]
    DownloadFailed {
        /// The dataset name.
        dataset: String,
        /// The file that failed.
        file: String,
        /// Why each mirror failed, joined with "; ".
        failures: DownloadFailures,
        /// The files the dataset needs, as an English list.
        needed: String,
        /// The folder they belong in.
        folder: PathBuf,
    },
}

/// Why one download attempt from one mirror failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadFailure {
    /// The source lists no mirror to try.
    NoMirror,
    /// The server could not be reached or the transfer broke off.
    Network {
        /// The URL tried.
        url: String,
        /// The transport error.
        message: String,
    },
    /// The server answered with an HTTP error status.
    HttpStatus {
        /// The URL tried.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The file was larger than the download limit.
    TooLarge {
        /// The URL tried.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The downloaded bytes did not have the published MD5 checksum; nothing was kept.
    Checksum {
        /// The URL tried.
        url: String,
        /// The published checksum.
        expected: String,
        /// The checksum of what arrived.
        got: String,
    },
    /// The download could not be written to the data folder.
    Write {
        /// The file being written.
        path: PathBuf,
        /// The operating-system error.
        message: String,
    },
}

impl fmt::Display for DownloadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMirror => f.write_str("no mirror is configured"),
            Self::Network { url, message } => write!(f, "{url}: {message}"),
            Self::HttpStatus { url, status } => write!(f, "{url}: HTTP status {status}"),
            Self::TooLarge { url, limit } => {
                write!(f, "{url}: larger than the {limit}-byte download limit")
            }
            Self::Checksum { url, expected, got } => {
                write!(
                    f,
                    "{url}: wrong checksum, expected md5 {expected}, got {got}"
                )
            }
            Self::Write { path, message } => {
                write!(f, "cannot write {}: {message}", path.display())
            }
        }
    }
}

/// The failures of every mirror tried for one file, in the order tried.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownloadFailures(pub Vec<DownloadFailure>);

impl fmt::Display for DownloadFailures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, failure) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{failure}")?;
        }
        Ok(())
    }
}

/// Shorthand for results of the data module.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl From<RegularFileError> for DataError {
    /// An I/O error while opening keeps the [`DataError::Io`] form; the rest say what the
    /// path is.
    fn from(error: RegularFileError) -> Self {
        match error {
            RegularFileError::Io { path, error } => DataError::io("open", path, error),
            other => DataError::NotReadable(other),
        }
    }
}

impl DataError {
    /// An [`DataError::Io`] for `action` on `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
