//! In-memory datasets: features stored as they come from their source, labels, and the hot
//! gather of a mini-batch into a row-major `f32` buffer.

use super::error::{DataError, Result};
use crate::tensor::isa::Isa;
use crate::tensor::vectorised::vectorised;
use rayon::prelude::*;

/// The feature value of a stored byte: `byte / 255` by division, the one definition used
/// everywhere (a multiply by a precomputed `1/255` rounds differently for some bytes).
/// Division also vectorises: gathering a batch this way measured faster than a 256-entry
/// lookup table.
#[inline]
pub fn byte_to_unit(byte: u8) -> f32 {
    f32::from(byte) / 255.0
}

/// The feature values of a dataset, kept in the form they were loaded in.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    /// Image pixels, one byte each, row-major per sample; the feature value is `byte / 255`.
    Bytes(Vec<u8>),
    /// Generated features used as they are, row-major per sample.
    Floats(Vec<f32>),
}

impl Features {
    /// Number of stored feature values (samples x input dimension).
    pub fn len(&self) -> usize {
        match self {
            Self::Bytes(bytes) => bytes.len(),
            Self::Floats(floats) => floats.len(),
        }
    }

    /// Whether no feature values are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A labelled classification dataset: `len()` samples of `input_dim()` features each.
///
/// Samples keep their file (or generation) order; nothing is shuffled here.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    features: Features,
    labels: Vec<u8>,
    input_dim: usize,
    image_shape: Option<(usize, usize)>,
}

impl Dataset {
    /// A dataset of `rows x cols` byte images (`pixels` holds them one after another) and
    /// one label per image. Fails unless `pixels.len() == labels.len() * rows * cols` and
    /// `rows, cols >= 1`.
    pub fn from_images(pixels: Vec<u8>, labels: Vec<u8>, rows: usize, cols: usize) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(DataError::InvalidDataset {
                reason: format!("images of {rows}x{cols} pixels; expected at least 1x1"),
            });
        }
        let input_dim = rows
            .checked_mul(cols)
            .ok_or_else(|| DataError::InvalidDataset {
                reason: format!("images of {rows}x{cols} pixels are too large"),
            })?;
        check_feature_count(pixels.len(), labels.len(), input_dim)?;
        Ok(Self {
            features: Features::Bytes(pixels),
            labels,
            input_dim,
            image_shape: Some((rows, cols)),
        })
    }

    /// A dataset of generated `f32` features (`input_dim` per sample, one sample after
    /// another) and one label per sample. Fails unless
    /// `features.len() == labels.len() * input_dim` and `input_dim >= 1`.
    pub fn from_floats(features: Vec<f32>, labels: Vec<u8>, input_dim: usize) -> Result<Self> {
        if input_dim == 0 {
            return Err(DataError::InvalidDataset {
                reason: "input dimension 0; expected at least 1".to_string(),
            });
        }
        check_feature_count(features.len(), labels.len(), input_dim)?;
        Ok(Self {
            features: Features::Floats(features),
            labels,
            input_dim,
            image_shape: None,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset has no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of features per sample (`rows * cols` for images).
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// `(rows, cols)` of each image, for image datasets; `None` for generated data.
    pub fn image_shape(&self) -> Option<(usize, usize)> {
        self.image_shape
    }

    /// The stored features.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The class label of every sample, in sample order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Number of classes: the largest label plus one (0 for an empty dataset).
    pub fn num_classes(&self) -> usize {
        self.labels
            .iter()
            .copied()
            .max()
            .map_or(0, |max| max as usize + 1)
    }

    /// Writes the features of the samples `indices` one after another into `out`
    /// (row-major, `indices.len() x input_dim`), bytes converted to `byte / 255`.
    /// Allocates nothing.
    ///
    /// # Panics
    ///
    /// If `out.len() != indices.len() * input_dim()` or an index is `>= len()`: both are
    /// programming errors of the caller, not properties of the data.
    pub fn gather_features(&self, indices: &[usize], out: &mut [f32]) {
        let dim = self.input_dim;
        assert_eq!(
            out.len(),
            indices.len() * dim,
            "gather_features: output holds {} values, expected {} samples x {} features",
            out.len(),
            indices.len(),
            dim
        );
        let len = self.len();
        if indices.is_empty() || dim == 0 {
            return;
        }
        // Rows are independent: split them over the pool's threads when the batch is large.
        let rows_per_chunk = if out.len() >= crate::tensor::kernels::PARALLEL_ELEMENTS {
            indices.len().div_ceil(rayon::current_num_threads())
        } else {
            indices.len()
        };
        out.par_chunks_mut(rows_per_chunk * dim)
            .zip(indices.par_chunks(rows_per_chunk))
            .for_each(|(out, indices)| match &self.features {
                Features::Bytes(bytes) => {
                    // Both conversions give the same bits; the fused one needs hardware FMA.
                    match Isa::detect() {
                        Isa::Baseline => gather_byte_rows(bytes, dim, indices, out, byte_to_unit),
                        _ => vectorised(
                            #[inline(always)]
                            || gather_byte_rows(bytes, dim, indices, out, byte_to_unit_fused),
                        ),
                    }
                }
                Features::Floats(floats) => {
                    for (&index, out_row) in indices.iter().zip(out.chunks_exact_mut(dim)) {
                        assert!(index < len, "gather_features: sample {index} of {len}");
                        out_row.copy_from_slice(&floats[index * dim..(index + 1) * dim]);
                    }
                }
            });
    }

    /// The features of sample `index` as `f32` values (bytes converted to `byte / 255`),
    /// or `None` if `index >= len()`.
    pub fn feature_row(&self, index: usize) -> Option<FeatureRow<'_>> {
        if index >= self.len() {
            return None;
        }
        let range = index * self.input_dim..(index + 1) * self.input_dim;
        Some(match &self.features {
            Features::Bytes(bytes) => FeatureRow::Bytes(bytes[range].iter()),
            Features::Floats(floats) => FeatureRow::Floats(floats[range].iter()),
        })
    }

    /// Splits off the last `fraction` of the samples (in stored order) as a validation set:
    /// returns `(train, validation)` with `round(len * fraction)` validation samples.
    ///
    /// `fraction` must lie in `[0, 1)`. With `fraction == 0` the validation set is empty;
    /// with `fraction > 0`, an empty train or validation part is an error.
    pub fn split_tail(mut self, fraction: f64) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(DataError::InvalidFraction { fraction });
        }
        let len = self.len();
        let validation = held_out_count(len, fraction);
        let train = len - validation;
        if fraction > 0.0 && (train == 0 || validation == 0) {
            return Err(DataError::EmptySplit {
                fraction,
                len,
                train,
                validation,
            });
        }
        let cut = train * self.input_dim;
        let tail_features = match &mut self.features {
            Features::Bytes(bytes) => Features::Bytes(bytes.split_off(cut)),
            Features::Floats(floats) => Features::Floats(floats.split_off(cut)),
        };
        let tail = Dataset {
            features: tail_features,
            labels: self.labels.split_off(train),
            input_dim: self.input_dim,
            image_shape: self.image_shape,
        };
        Ok((self, tail))
    }
}

/// How many of `len` samples a validation share `fraction` (in `[0, 1)`) holds out at the
/// tail: `round(len * fraction)`, at most `len`. [`Dataset::split_tail`] cuts there.
pub fn held_out_count(len: usize, fraction: f64) -> usize {
    ((len as f64 * fraction).round() as usize).min(len)
}

fn check_feature_count(features: usize, labels: usize, input_dim: usize) -> Result<()> {
    if labels.checked_mul(input_dim) != Some(features) {
        return Err(DataError::InvalidDataset {
            reason: format!(
                "{features} feature values for {labels} labels of {input_dim} features each; expected {labels} x {input_dim}"
            ),
        });
    }
    Ok(())
}

/// The features of one sample as `f32` values; see [`Dataset::feature_row`].
#[derive(Debug, Clone)]
pub enum FeatureRow<'a> {
    /// Over stored bytes, yielding `byte / 255`.
    Bytes(std::slice::Iter<'a, u8>),
    /// Over stored floats, yielding them unchanged.
    Floats(std::slice::Iter<'a, f32>),
}

impl Iterator for FeatureRow<'_> {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        match self {
            Self::Bytes(bytes) => bytes.next().map(|&b| byte_to_unit(b)),
            Self::Floats(floats) => floats.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Self::Bytes(bytes) => bytes.size_hint(),
            Self::Floats(floats) => floats.size_hint(),
        }
    }
}

impl ExactSizeIterator for FeatureRow<'_> {}

/// The data of one run: a training set and, when the source has one, a test set.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Samples to train (and validate) on.
    pub train: Dataset,
    /// Held-out samples to report final accuracy on, if the source provides them.
    pub test: Option<Dataset>,
}

impl Splits {
    /// Number of classes over train and test: the largest label in either, plus one.
    pub fn num_classes(&self) -> usize {
        let test = self.test.as_ref().map_or(0, Dataset::num_classes);
        self.train.num_classes().max(test)
    }
}

/// Converts rows `indices` of `bytes` (rows of `dim` bytes) into the rows of `out`, each byte
/// by `convert`.
#[inline(always)]
fn gather_byte_rows(
    bytes: &[u8],
    dim: usize,
    indices: &[usize],
    out: &mut [f32],
    convert: impl Fn(u8) -> f32,
) {
    let len = bytes.len() / dim;
    for (position, (&index, out_row)) in indices.iter().zip(out.chunks_exact_mut(dim)).enumerate() {
        assert!(index < len, "gather_features: sample {index} of {len}");
        // The samples are scattered over the whole file: ask for a later sample's bytes now,
        // so they arrive while this row converts.
        if let Some(&ahead) = indices.get(position + PREFETCH_DISTANCE) {
            if ahead < len {
                prefetch(&bytes[ahead * dim..(ahead + 1) * dim]);
            }
        }
        let row = &bytes[index * dim..(index + 1) * dim];
        for (value, &byte) in out_row.iter_mut().zip(row) {
            *value = convert(byte);
        }
    }
}

/// [`byte_to_unit`] without a division: the quotient by a multiply with `1/255`, then one
/// Markstein correction step of two fused multiply-adds (`e = byte - 255 q`,
/// `q + e / 255`). Bit-identical to the division for every byte (a test checks all 256),
/// and twice as fast to gather a batch with, on a CPU with FMA; without one, `mul_add` is
/// emulated in software and far slower, so it is only used where FMA exists.
#[inline(always)]
pub fn byte_to_unit_fused(byte: u8) -> f32 {
    const RECIPROCAL: f32 = 1.0 / 255.0;
    let x = f32::from(byte);
    let q = x * RECIPROCAL;
    let e = (-q).mul_add(255.0, x);
    e.mul_add(RECIPROCAL, q)
}

/// How many samples ahead [`Dataset::gather_features`] prefetches.
const PREFETCH_DISTANCE: usize = 3;

/// Hints the CPU to load `bytes` into its caches (no effect on other architectures).
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch is a hint; the address is inside a live slice.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_tail_with_zero_fraction_keeps_everything() {
        let data = Dataset::from_floats(vec![1.0, 2.0, 3.0], vec![0, 1, 2], 1).unwrap();
        let (train, validation) = data.split_tail(0.0).unwrap();
        assert_eq!(train.len(), 3);
        assert!(validation.is_empty());
        assert_eq!(validation.input_dim(), 1);
    }

    #[test]
    fn constructors_reject_mismatched_lengths() {
        let err = Dataset::from_images(vec![0; 7], vec![0, 1], 2, 2).unwrap_err();
        assert!(
            err.to_string().contains("7 feature values for 2 labels"),
            "{err}"
        );
        let err = Dataset::from_floats(vec![], vec![], 0).unwrap_err();
        assert!(err.to_string().contains("input dimension 0"), "{err}");
    }
}
