//! The `--dataset` flag: a built-in generator, a named download, or a folder of IDX files.

use super::exit_status::UsageError;
use anyhow::{Context, Result};
use backprop::data::regular_file::file_kind;
use backprop::data::{
    blobs, circles, load_folder, load_named, spiral, xor, BlobsConfig, CirclesConfig, NamedDataset,
    SpiralConfig, Splits, XorConfig,
};
use std::path::Path;

/// Which split of a dataset a command reads (`--split`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// The training split (`train-*` files).
    Train,
    /// The test split (`t10k-*` files).
    Test,
}

impl Split {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The names `--dataset` accepts besides a folder.
pub const DATASET_NAMES: &str = "spiral, circles, xor, blobs, mnist, fashion-mnist";

/// Loads the dataset `spec` names: `spiral` (the default, built in), `circles`, `xor`,
/// `blobs`, `mnist` / `fashion-mnist` (from `data_dir` or the cache folder, downloaded when
/// missing), or a folder holding `train-images-idx3-ubyte[.gz]` and friends.
pub fn load_splits(spec: &str, data_dir: Option<&Path>, progress: bool) -> Result<Splits> {
    let splits = match spec {
        "spiral" => spiral(&SpiralConfig::default())?,
        "circles" => circles(&CirclesConfig::default())?,
        "xor" => xor(&XorConfig::default())?,
        "blobs" => blobs(&BlobsConfig::default())?,
        "mnist" | "fashion-mnist" => {
            let named: NamedDataset = spec.parse()?;
            load_named(spec, data_dir, &named.mirror_source(), progress)?
        }
        folder => {
            let path = Path::new(folder);
            if !path.exists() {
                return Err(UsageError(unknown_dataset_message(folder)).into());
            }
            if !path.is_dir() {
                let kind = std::fs::metadata(path).map_or("not readable", |m| file_kind(&m));
                // Like any input that is not the kind of file expected: exit 1, not a usage
                // error (which a name that matches nothing is, being a likely misspelling).
                anyhow::bail!(
                    "--dataset '{folder}' is {kind}, not a folder of IDX files; the names are {DATASET_NAMES}"
                );
            }
            load_folder(path)
                .with_context(|| format!("loading the dataset folder {}", path.display()))?
        }
    };
    Ok(splits)
}

/// The largest edit distance at which an unknown `--dataset` value is taken for a misspelt
/// built-in name.
const MAX_SUGGESTION_DISTANCE: usize = 3;

/// The one-line message for a `--dataset` value that is neither a built-in name nor an
/// existing path: the built-in names, and the closest of them (by Levenshtein distance) when
/// it is a likely misspelling.
fn unknown_dataset_message(value: &str) -> String {
    let closest = DATASET_NAMES
        .split(", ")
        .map(|name| (strsim::levenshtein(value, name), name))
        .min()
        .filter(|&(distance, _)| distance <= MAX_SUGGESTION_DISTANCE);
    let suggestion = closest.map_or(String::new(), |(_, name)| {
        format!(" (did you mean '{name}'?)")
    });
    format!(
        "--dataset '{value}' is neither a dataset name nor an existing folder{suggestion}; \
         the names are {DATASET_NAMES}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_name_gets_the_closest_built_in_name() {
        let message = unknown_dataset_message("spirall");
        assert!(message.contains("(did you mean 'spiral'?)"), "{message}");
        assert!(message.contains(DATASET_NAMES), "{message}");
        let message = unknown_dataset_message("fashion_mnist");
        assert!(
            message.contains("did you mean 'fashion-mnist'"),
            "{message}"
        );
    }

    #[test]
    fn a_far_away_value_gets_no_suggestion() {
        let message = unknown_dataset_message("/nowhere/my-images");
        assert!(!message.contains("did you mean"), "{message}");
        assert!(message.contains(DATASET_NAMES), "{message}");
    }
}
