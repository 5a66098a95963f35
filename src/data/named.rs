//! The downloadable datasets `mnist` and `fashion-mnist`: where they come from, where they
//! are kept, and loading them (downloading what is missing first).
//!
//! Files are kept in a data folder: the one given, else `$BACKPROP_DATA/<name>` when
//! `BACKPROP_DATA` is set, else `$XDG_CACHE_HOME/backprop/<name>`, else
//! `~/.cache/backprop/<name>`.
//!
//! They are downloaded from the mirrors torchvision uses, and verified against the MD5
//! checksums torchvision publishes. Setting `BACKPROP_MIRROR` to a base URL replaces those
//! mirrors (see [`NamedDataset::mirror_source`]): the same four files are then fetched from
//! `$BACKPROP_MIRROR/<name>/<file>`, e.g.
//! `BACKPROP_MIRROR=https://example.org/datasets` fetches
//! `https://example.org/datasets/mnist/train-images-idx3-ubyte.gz`.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::dataset::Splits;
use super::download::{download_missing, MirrorFile, MirrorSource};
use super::error::{DataError, Result};
use super::folder::load_folder;

/// Environment variable naming the parent folder of all dataset folders.
pub const DATA_FOLDER_VAR: &str = "BACKPROP_DATA";

/// Environment variable replacing the download mirrors with one base URL.
pub const MIRROR_VAR: &str = "BACKPROP_MIRROR";

/// The PyTorch (torchvision) mirror of MNIST.
pub const MNIST_MIRROR: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";

/// The Zalando Research mirror of Fashion-MNIST, as used by torchvision.
pub const FASHION_MNIST_MIRROR: &str =
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/// MNIST files and their MD5 checksums as published in torchvision.
const MNIST_FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
];

/// Fashion-MNIST files and their MD5 checksums as published in torchvision.
const FASHION_MNIST_FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
];

/// A dataset that can be downloaded by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamedDataset {
    /// Handwritten digits, 60 000 train + 10 000 test images of 28x28.
    Mnist,
    /// Zalando clothing images, 60 000 train + 10 000 test images of 28x28.
    FashionMnist,
}

impl NamedDataset {
    /// Every downloadable dataset.
    pub const ALL: [NamedDataset; 2] = [NamedDataset::Mnist, NamedDataset::FashionMnist];

    /// The dataset's name: `mnist` or `fashion-mnist`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
        }
    }

    /// The torchvision mirror and checksums of the dataset's four files.
    pub fn canonical_source(self) -> MirrorSource {
        let (mirror, files) = match self {
            Self::Mnist => (MNIST_MIRROR, MNIST_FILES),
            Self::FashionMnist => (FASHION_MNIST_MIRROR, FASHION_MNIST_FILES),
        };
        MirrorSource::new(
            vec![mirror.to_string()],
            files
                .iter()
                .map(|(name, md5)| MirrorFile::new(*name, *md5))
                .collect(),
        )
    }

    /// The source to download from: [`canonical_source`](Self::canonical_source), unless
    /// `BACKPROP_MIRROR` is set, in which case the same files (same checksums) are fetched
    /// from `$BACKPROP_MIRROR/<name>/` instead.
    pub fn mirror_source(self) -> MirrorSource {
        let mirror = std::env::var(MIRROR_VAR).ok();
        self.source_with_mirror_override(mirror.as_deref())
    }

    /// [`canonical_source`](Self::canonical_source) with its mirrors replaced by
    /// `<mirror>/<name>/` when `mirror` is a non-empty base URL.
    pub fn source_with_mirror_override(self, mirror: Option<&str>) -> MirrorSource {
        let source = self.canonical_source();
        match mirror.map(str::trim).filter(|m| !m.is_empty()) {
            Some(mirror) => source.with_base_urls(vec![MirrorSource::url(mirror, self.name())]),
            None => source,
        }
    }

    /// The default folder of this dataset's files, from the environment (see the module
    /// documentation).
    pub fn default_folder(self) -> Result<PathBuf> {
        default_data_folder(
            self.name(),
            std::env::var_os(DATA_FOLDER_VAR),
            std::env::var_os("XDG_CACHE_HOME"),
            std::env::var_os("HOME"),
        )
    }
}

impl fmt::Display for NamedDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NamedDataset {
    type Err = DataError;

    /// Parses `mnist` or `fashion-mnist` (case-insensitive; `fashion_mnist` and
    /// `fashionmnist` are accepted too).
    fn from_str(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "mnist" => Ok(Self::Mnist),
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" => Ok(Self::FashionMnist),
            _ => Err(DataError::UnknownDataset {
                name: name.to_string(),
            }),
        }
    }
}

/// The folder for the dataset `name` given the values of `BACKPROP_DATA`, `XDG_CACHE_HOME`
/// and `HOME`: `$BACKPROP_DATA/<name>`, else `$XDG_CACHE_HOME/backprop/<name>` (only if
/// absolute, as the XDG specification requires), else `$HOME/.cache/backprop/<name>`.
/// Empty values count as unset.
pub fn default_data_folder(
    name: &str,
    backprop_data: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf> {
    let set = |value: Option<OsString>| value.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(data) = set(backprop_data) {
        return Ok(data.join(name));
    }
    if let Some(cache) = set(xdg_cache_home).filter(|p| p.is_absolute()) {
        return Ok(cache.join("backprop").join(name));
    }
    if let Some(home) = set(home) {
        return Ok(home.join(".cache").join("backprop").join(name));
    }
    Err(DataError::NoDataFolder {
        dataset: name.to_string(),
    })
}

/// Loads the named dataset (`mnist` or `fashion-mnist`) from `data_dir` — the folder that
/// holds the IDX files themselves — or, if `None`, from the default folder (see
/// [`NamedDataset::default_folder`]). Files missing there are first downloaded from
/// `source` (usually [`NamedDataset::mirror_source`]), with a progress bar on stderr if
/// `progress` is set and stderr is a terminal.
pub fn load_named(
    name: &str,
    data_dir: Option<&Path>,
    source: &MirrorSource,
    progress: bool,
) -> Result<Splits> {
    let dataset: NamedDataset = name.parse()?;
    let folder = match data_dir {
        Some(folder) => folder.to_path_buf(),
        None => dataset.default_folder()?,
    };
    download_missing(source, dataset.name(), &folder, progress)?;
    load_folder(&folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(value: &str) -> Option<OsString> {
        Some(OsString::from(value))
    }

    #[test]
    fn data_folder_prefers_backprop_data_then_xdg_then_home() {
        let folder = |d, x, h| default_data_folder("mnist", d, x, h).unwrap();
        assert_eq!(
            folder(os("/d"), os("/x"), os("/h")),
            PathBuf::from("/d/mnist")
        );
        assert_eq!(
            folder(None, os("/x"), os("/h")),
            PathBuf::from("/x/backprop/mnist")
        );
        assert_eq!(
            folder(os(""), os("relative"), os("/h")),
            PathBuf::from("/h/.cache/backprop/mnist")
        );
        let err = default_data_folder("mnist", None, None, None).unwrap_err();
        assert!(err.to_string().contains("BACKPROP_DATA"), "{err}");
    }

    #[test]
    fn parses_dataset_names() {
        assert_eq!(
            "MNIST".parse::<NamedDataset>().unwrap(),
            NamedDataset::Mnist
        );
        assert_eq!(
            "fashion-mnist".parse::<NamedDataset>().unwrap(),
            NamedDataset::FashionMnist
        );
        let err = "cifar".parse::<NamedDataset>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown dataset \"cifar\"; expected one of: mnist, fashion-mnist"
        );
    }

    #[test]
    fn mirror_override_keeps_files_and_checksums() {
        let source = NamedDataset::FashionMnist.source_with_mirror_override(Some("http://m/d/"));
        assert_eq!(
            source.base_urls,
            vec!["http://m/d/fashion-mnist".to_string()]
        );
        assert_eq!(
            source.files,
            NamedDataset::FashionMnist.canonical_source().files
        );
        let canonical = NamedDataset::Mnist.source_with_mirror_override(Some("  "));
        assert_eq!(canonical.base_urls, vec![MNIST_MIRROR.to_string()]);
        assert_eq!(canonical.files.len(), 4);
    }
}
