//! A fingerprint of a loaded dataset: its sizes and an MD5 digest of its bytes, so that a
//! checkpoint can tell whether it is resumed on the data it was trained on.

use std::fmt;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, Features};

/// The sizes of a dataset and an MD5 digest over everything that makes it (how its features
/// are stored, the sizes, every feature and every label). Two datasets with the same
/// fingerprint train a model the same way; MD5 detects any accidental difference (it is
/// not meant to resist someone forging data on purpose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFingerprint {
    /// Number of samples.
    pub samples: usize,
    /// Input features per sample.
    pub features: usize,
    /// MD5 of the dataset's bytes, in lowercase hex.
    pub md5: String,
}

impl fmt::Display for DataFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} samples of {} features, MD5 {}",
            self.samples, self.features, self.md5
        )
    }
}

impl Dataset {
    /// The fingerprint of this dataset (see [`DataFingerprint`]); reads every byte once.
    pub fn fingerprint(&self) -> DataFingerprint {
        let mut digest = Md5::new();
        let (rows, cols) = self.image_shape().unwrap_or((0, 0));
        for size in [self.len(), self.input_dim(), rows, cols] {
            digest.update((size as u64).to_le_bytes());
        }
        match self.features() {
            Features::Bytes(bytes) => {
                digest.update(b"bytes");
                digest.update(bytes);
            }
            Features::Floats(floats) => {
                digest.update(b"floats");
                let mut buffer = [0u8; 4096];
                for chunk in floats.chunks(buffer.len() / 4) {
                    for (bytes, value) in buffer.chunks_exact_mut(4).zip(chunk) {
                        bytes.copy_from_slice(&value.to_le_bytes());
                    }
                    digest.update(&buffer[..4 * chunk.len()]);
                }
            }
        }
        digest.update(self.labels());
        DataFingerprint {
            samples: self.len(),
            features: self.input_dim(),
            md5: digest
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_byte_changes_the_fingerprint_but_not_the_sizes() {
        let a = Dataset::from_images(vec![1, 2, 3, 4, 5, 6], vec![0, 1], 1, 3).unwrap();
        let b = Dataset::from_images(vec![1, 2, 3, 4, 5, 7], vec![0, 1], 1, 3).unwrap();
        let c = Dataset::from_images(vec![1, 2, 3, 4, 5, 6], vec![0, 1], 3, 1).unwrap();
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
        assert_ne!(a.fingerprint().md5, b.fingerprint().md5);
        assert_ne!(a.fingerprint().md5, c.fingerprint().md5);
        assert_eq!(
            (a.fingerprint().samples, a.fingerprint().features),
            (b.fingerprint().samples, b.fingerprint().features)
        );
    }

    #[test]
    fn float_features_are_hashed_by_their_bits() {
        let a = Dataset::from_floats(vec![0.5; 2000], vec![0; 1000], 2).unwrap();
        let mut features = vec![0.5; 2000];
        features[1999] = 0.25;
        let b = Dataset::from_floats(features, vec![0; 1000], 2).unwrap();
        assert_ne!(a.fingerprint().md5, b.fingerprint().md5);
        assert_eq!(a.fingerprint().samples, 1000);
        assert_eq!(a.fingerprint().features, 2);
    }
}
