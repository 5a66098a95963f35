//! Model files: an MLP's parameters in the safetensors format, readable by PyTorch.
//!
//! Tensors `W1 .. Wk` (`out x in`, exactly `nn.Linear.weight`) and, when the model has
//! biases, `b1 .. bk` (shape `[out]`, exactly `nn.Linear.bias`), all `F32`. The metadata
//! holds the architecture (`layer_sizes`, `activation`, `loss`, `bias`, `weight_decay`) and
//! whatever else the writer adds (the training configuration, the image shape).

use crate::atomic_file::write_bytes_atomically;
use crate::data::regular_file::{read_regular, RegularFileError};
use crate::graph::Activation;
use crate::nn::mlp::MlpError;
use crate::nn::{Loss, Mlp, MlpConfig};
use crate::tensor::Tensor;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The largest model file read: 1 GiB, about 268 million `f32` parameters (a 784-input
/// network with hidden layers of 300,000 units). The size is checked before the file is
/// read, and only a regular file is read (a FIFO, a device or a folder is an error that says
/// what the path is).
pub const MAX_MODEL_FILE_BYTES: u64 = 1 << 30;

/// The most characters of a value read from a file that an error message repeats.
pub const ECHOED_CHARS: usize = 60;

/// `value` as an error message quotes it: in single quotes, cut as [`shortened`] does.
pub fn echoed(value: &str) -> String {
    match cut(value) {
        (head, None) => format!("'{head}'"),
        (head, Some(total)) => format!("'{head}...' ({total} bytes in all)"),
    }
}

/// `text` cut after [`ECHOED_CHARS`] characters (then followed by "... (N bytes in all)"),
/// with line breaks and other control characters escaped, so that a message quoting it
/// stays one readable line.
pub fn shortened(text: &str) -> String {
    match cut(text) {
        (head, None) => head,
        (head, Some(total)) => format!("{head}... ({total} bytes in all)"),
    }
}

/// The first [`ECHOED_CHARS`] characters of `text`, control characters escaped, and the
/// length of `text` in bytes if it was cut.
fn cut(text: &str) -> (String, Option<usize>) {
    let (head, total) = match text.char_indices().nth(ECHOED_CHARS) {
        None => (text, None),
        Some((end, _)) => (&text[..end], Some(text.len())),
    };
    let mut escaped = String::with_capacity(head.len());
    for c in head.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    (escaped, total)
}

/// The value of the `format` metadata key of every model file this crate writes.
pub const FORMAT: &str = "backprop-mlp";

/// Why a model file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The path is not a regular file (a FIFO, a device, a folder), or is too large.
    #[error(transparent)]
    NotReadable(RegularFileError),
    /// The file is not a safetensors file.
    #[error("{path}: not a safetensors file ({detail})")]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// What the safetensors reader said.
        detail: String,
    },
    /// The file is safetensors but does not describe a model of this crate.
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what was expected.
        detail: String,
    },
}

/// A model read from a file, with the file's metadata.
#[derive(Debug)]
pub struct LoadedModel {
    /// The model.
    pub mlp: Mlp<f32>,
    /// Every metadata entry of the file.
    pub metadata: HashMap<String, String>,
}

impl LoadedModel {
    /// The image shape (`rows x cols`) the model was trained on, if the file records one.
    pub fn image_shape(&self) -> Option<(usize, usize)> {
        let (rows, cols) = self.metadata.get("image_shape")?.split_once('x')?;
        Some((rows.parse().ok()?, cols.parse().ok()?))
    }
}

/// Little-endian bytes of `values`.
pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes `mlp` to `path` atomically, with its architecture and `extra` in the metadata.
pub fn save_model(
    path: &Path,
    mlp: &Mlp<f32>,
    extra: &BTreeMap<String, String>,
) -> Result<(), ModelFileError> {
    let bytes = model_bytes(mlp, extra).map_err(|detail| ModelFileError::Invalid {
        path: path.to_path_buf(),
        detail,
    })?;
    write_bytes_atomically(path, &bytes).map_err(|source| ModelFileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The bytes of a model file for `mlp` (see [`save_model`]).
pub fn model_bytes(mlp: &Mlp<f32>, extra: &BTreeMap<String, String>) -> Result<Vec<u8>, String> {
    safetensors_bytes(&model_tensors(mlp), model_metadata(mlp, extra))
}

/// One tensor to write: its name, shape, data type and little-endian bytes.
pub(crate) struct NamedBuffer {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: Dtype,
    pub(crate) bytes: Vec<u8>,
}

/// The metadata of a model file: the architecture and `extra`.
pub(crate) fn model_metadata(
    mlp: &Mlp<f32>,
    extra: &BTreeMap<String, String>,
) -> HashMap<String, String> {
    let config = mlp.config();
    let mut metadata: HashMap<String, String> = extra.clone().into_iter().collect();
    metadata.insert("format".into(), FORMAT.into());
    metadata.insert(
        "layer_sizes".into(),
        config
            .layer_sizes()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    metadata.insert("activation".into(), config.activation.name().into());
    metadata.insert("loss".into(), config.loss.name().into());
    metadata.insert("bias".into(), config.bias.to_string());
    metadata.insert("weight_decay".into(), config.weight_decay.to_string());
    metadata
}

/// The tensors of a model file: `W1 .. Wk` and, with biases, `b1 .. bk`.
pub(crate) fn model_tensors(mlp: &Mlp<f32>) -> Vec<NamedBuffer> {
    let mut buffers = Vec::new();
    for k in 1..=mlp.config().depth() {
        let w = mlp.weight(k);
        buffers.push(NamedBuffer {
            name: format!("W{k}"),
            shape: vec![w.rows(), w.cols()],
            dtype: Dtype::F32,
            bytes: f32_bytes(w.as_slice()),
        });
        if let Some(b) = mlp.bias(k) {
            buffers.push(NamedBuffer {
                name: format!("b{k}"),
                shape: vec![b.cols()],
                dtype: Dtype::F32,
                bytes: f32_bytes(b.as_slice()),
            });
        }
    }
    buffers
}

/// Serializes tensors and metadata to safetensors bytes, with the header's keys sorted.
pub(crate) fn safetensors_bytes(
    buffers: &[NamedBuffer],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, String> {
    let views = buffers
        .iter()
        .map(|buffer| {
            TensorView::new(buffer.dtype, buffer.shape.clone(), &buffer.bytes)
                .map(|view| (buffer.name.clone(), view))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())?;
    canonical_header(&bytes)
}

/// The same safetensors bytes with the JSON header's keys in sorted order.
///
/// The safetensors crate takes the metadata as a `HashMap`, whose order differs from run to
/// run; sorting the header makes the same model give byte-identical files. Tensor offsets are
/// relative to the data section, so they do not change.
fn canonical_header(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let length_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or("the serialized file is shorter than its header length")?;
    let header_length = u64::from_le_bytes(length_bytes) as usize;
    let header = bytes
        .get(8..8 + header_length)
        .ok_or("the serialized header is truncated")?;
    // serde_json's map is ordered by key, so a round trip through `Value` sorts the keys.
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let mut sorted = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    while sorted.len() % 8 != 0 {
        sorted.push(b' ');
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
    out.extend_from_slice(&sorted);
    out.extend_from_slice(&bytes[8 + header_length..]);
    Ok(out)
}

/// Reads a model file written by [`save_model`] (or by anyone who follows its layout).
/// Files of other layouts (PyTorch state dicts, plain `W1 .. Wk`) are read by
/// [`crate::model_io::import::load_any_model`], from the bytes of [`read_model_bytes`].
pub fn load_model(path: &Path) -> Result<LoadedModel, ModelFileError> {
    let bytes = read_model_bytes(path)?;
    parse_model(&bytes).map_err(|error| error.at(path))
}

/// The bytes of the model file at `path`: a regular file of at most
/// [`MAX_MODEL_FILE_BYTES`] (a FIFO, a device or a folder is refused before reading).
pub fn read_model_bytes(path: &Path) -> Result<Vec<u8>, ModelFileError> {
    read_regular(path, MAX_MODEL_FILE_BYTES, "a model file").map_err(|error| match error {
        RegularFileError::Io { path, error } => ModelFileError::Io {
            path,
            source: error,
        },
        other => ModelFileError::NotReadable(other),
    })
}

/// What is wrong with the bytes of a model file.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// Not safetensors at all.
    NotSafetensors(String),
    /// Safetensors, but not a model of this crate.
    Invalid(String),
}

impl ParseError {
    /// The error as a [`ModelFileError`] of the file at `path`.
    pub fn at(self, path: &Path) -> ModelFileError {
        match self {
            ParseError::NotSafetensors(detail) => ModelFileError::NotSafetensors {
                path: path.to_path_buf(),
                detail,
            },
            ParseError::Invalid(detail) => ModelFileError::Invalid {
                path: path.to_path_buf(),
                detail,
            },
        }
    }
}

/// Parses the bytes of a model file; never panics, whatever the bytes.
pub fn parse_model(bytes: &[u8]) -> Result<LoadedModel, ParseError> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| ParseError::NotSafetensors(e.to_string()))?;
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|e| ParseError::NotSafetensors(e.to_string()))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let invalid = |detail: String| ParseError::Invalid(detail);
    let get = |key: &str| {
        metadata.get(key).ok_or_else(|| {
            invalid(format!(
                "the metadata has no '{key}' entry (not a backprop model file?)"
            ))
        })
    };

    let sizes: Vec<usize> = get("layer_sizes")?
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            invalid(format!(
                "layer_sizes {} is not a list of sizes",
                echoed(&metadata["layer_sizes"])
            ))
        })?;
    if sizes.len() < 2 {
        return Err(invalid(format!(
            "layer_sizes {} needs at least an input and an output size",
            echoed(&metadata["layer_sizes"])
        )));
    }
    let activation = Activation::from_name(get("activation")?).ok_or_else(|| {
        invalid(format!(
            "unknown activation {}",
            echoed(&metadata["activation"])
        ))
    })?;
    let loss = Loss::from_name(get("loss")?)
        .ok_or_else(|| invalid(format!("unknown loss {}", echoed(&metadata["loss"]))))?;
    let bias = match get("bias")?.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(invalid(format!(
                "bias {} is neither true nor false",
                echoed(other)
            )))
        }
    };
    let weight_decay = match metadata.get("weight_decay") {
        Some(v) => v
            .parse::<f64>()
            .map_err(|_| invalid(format!("weight_decay {} is not a number", echoed(v))))?,
        None => 0.0,
    };
    let config = MlpConfig {
        inputs: sizes[0],
        hidden: sizes[1..sizes.len() - 1].to_vec(),
        outputs: sizes[sizes.len() - 1],
        activation,
        loss,
        bias,
        weight_decay,
    };
    config.validate().map_err(|e| invalid(e.to_string()))?;

    let read = |name: &str, shape: &[usize]| -> Result<Tensor<f32>, ParseError> {
        let view = tensors
            .tensor(name)
            .map_err(|_| invalid(format!("tensor {name} is missing")))?;
        if view.dtype() != Dtype::F32 {
            return Err(invalid(format!(
                "tensor {name} is {:?}, expected F32",
                view.dtype()
            )));
        }
        if view.shape() != shape {
            return Err(invalid(format!(
                "tensor {name} has shape {:?}, expected {:?} for layer sizes {:?}",
                view.shape(),
                shape,
                sizes
            )));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!(
                "tensor {name} holds a non-finite value at index {i}"
            )));
        }
        let (rows, cols) = if shape.len() == 2 {
            (shape[0], shape[1])
        } else {
            (1, shape[0])
        };
        Tensor::from_vec(rows, cols, values)
            .ok_or_else(|| invalid(format!("tensor {name} has the wrong size")))
    };
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for k in 1..sizes.len() {
        weights.push(read(&format!("W{k}"), &[sizes[k], sizes[k - 1]])?);
        biases.push(if bias {
            Some(read(&format!("b{k}"), &[sizes[k]])?)
        } else {
            None
        });
    }
    for name in tensors.names() {
        check_tensor_belongs(name, &sizes, bias).map_err(invalid)?;
    }
    let mlp = Mlp::from_parameters(config, weights, biases)
        .map_err(|e: MlpError| invalid(e.to_string()))?;
    Ok(LoadedModel { mlp, metadata })
}

/// Whether a tensor named `name` belongs in a model file of layer sizes `sizes`, with or
/// without biases: `W1 .. Wk`, `b1 .. bk` with biases, and a checkpoint's state
/// (`optimizer.*`, `trainer.*`, checked by [`crate::checkpoint`]). A file whose metadata
/// disagrees with its tensors (biases it says it has not, a layer beyond its sizes) is
/// refused rather than read in part.
fn check_tensor_belongs(name: &str, sizes: &[usize], bias: bool) -> Result<(), String> {
    if name.starts_with("optimizer.") || name.starts_with("trainer.") {
        return Ok(());
    }
    let layers = sizes.len() - 1;
    let layer = |prefix: &str| {
        name.strip_prefix(prefix)
            .filter(|k| !k.starts_with('0'))
            .and_then(|k| k.parse::<usize>().ok())
            .filter(|k| (1..=layers).contains(k))
    };
    if layer("W").is_some() || (bias && layer("b").is_some()) {
        return Ok(());
    }
    if !bias && layer("b").is_some() {
        return Err(format!(
            "tensor {} is in the file, but its metadata says bias false",
            echoed(name)
        ));
    }
    Err(format!(
        "tensor {} is not part of a model of layer sizes {sizes:?} (W1 .. W{layers}{})",
        echoed(name),
        if bias {
            format!(", b1 .. b{layers}")
        } else {
            String::new()
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tensor_the_metadata_does_not_describe_is_refused() {
        let sizes = [4, 3, 2];
        assert!(check_tensor_belongs("W2", &sizes, false).is_ok());
        assert!(check_tensor_belongs("b1", &sizes, true).is_ok());
        assert!(check_tensor_belongs("optimizer.W1.0", &sizes, true).is_ok());
        assert!(check_tensor_belongs("trainer.order", &sizes, false).is_ok());
        assert_eq!(
            check_tensor_belongs("b1", &sizes, false).unwrap_err(),
            "tensor 'b1' is in the file, but its metadata says bias false"
        );
        for name in ["W3", "W0", "W01", "b3", "extra", "w1"] {
            let error = check_tensor_belongs(name, &sizes, true).unwrap_err();
            assert!(
                error.contains(
                    "is not part of a model of layer sizes [4, 3, 2] (W1 .. W2, b1 .. b2)"
                ),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn a_long_value_is_echoed_cut_with_its_length() {
        assert_eq!(echoed("relu"), "'relu'");
        assert_eq!(echoed("a\nb"), "'a\\nb'");
        let long = "x".repeat(4 << 20);
        assert_eq!(
            echoed(&long),
            format!("'{}...' (4194304 bytes in all)", "x".repeat(ECHOED_CHARS))
        );
    }

    #[test]
    fn an_invalid_value_of_megabytes_gives_a_short_message() {
        let mlp = Mlp::new(
            MlpConfig {
                inputs: 2,
                hidden: vec![3],
                outputs: 2,
                activation: Activation::Relu,
                loss: Loss::CrossEntropy,
                bias: true,
                weight_decay: 0.0,
            },
            0,
        )
        .unwrap();
        let tensors = model_tensors(&mlp);
        let mut metadata = model_metadata(&mlp, &BTreeMap::new());
        metadata.insert("activation".into(), "é".repeat(2 << 20));
        let bytes = safetensors_bytes(&tensors, metadata).unwrap();
        let error = match parse_model(&bytes) {
            Err(ParseError::Invalid(detail)) => detail,
            other => panic!("{other:?}"),
        };
        assert!(error.len() < 200, "{} bytes", error.len());
        assert!(error.ends_with("(4194304 bytes in all)"), "{error}");
    }
}
