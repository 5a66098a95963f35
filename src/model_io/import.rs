//! Model files written by other tools, read as an MLP: besides backprop's own files
//! ([`parse_model`]),
//!
//! - plain safetensors with `W1 .. Wk` (`out x in`) and optionally `b1 .. bk` (NumPy users);
//! - PyTorch state dicts of `nn.Linear` layers, `<layer>.weight` (`out x in`) and
//!   `<layer>.bias`: an `nn.Sequential` (`0.weight`, `2.weight`, ...) or named modules
//!   (`fc1.weight`, `fc2.weight`, ...), the layers in the order of their names (numbers
//!   compared as numbers), or, when that order does not connect, the one order their shapes
//!   allow.
//!
//! Tensors may be `F32`, `F16` or `BF16` (widened to `f32` exactly) or `F64` (rounded to the
//! nearest `f32`, said in a note). The architecture comes from the shapes; the activation and
//! the loss come from the file's metadata (`activation`, `loss`) or from the command line.

use crate::graph::Activation;
use crate::model_file::{parse_model, read_model_bytes, LoadedModel, ModelFileError, ParseError};
use crate::nn::{Loss, Mlp, MlpConfig};
use crate::tensor::Tensor;
use clap::ValueEnum;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

/// What the command line says about a model, for what the file does not say.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportChoices {
    /// `--activation`: must agree with the file's metadata when that names one.
    pub activation: Option<Activation>,
    /// `--loss`: must agree with the file's metadata when that names one.
    pub loss: Option<Loss>,
    /// The loss taken when neither the file nor `loss` names one, for commands whose result
    /// does not depend on it (`predict`, `export`); `None` makes a missing loss an error.
    pub fallback_loss: Option<Loss>,
}

/// How a file names its tensors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLayout {
    /// A backprop model file (`layer_sizes` and the rest in the metadata).
    Backprop,
    /// `W1 .. Wk` and maybe `b1 .. bk`, without backprop's metadata.
    Plain,
    /// A PyTorch state dict: `<layer>.weight` and maybe `<layer>.bias`.
    PyTorch,
}

impl fmt::Display for KeyLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyLayout::Backprop => "a backprop model file",
            KeyLayout::Plain => "plain W1 .. Wk tensors",
            KeyLayout::PyTorch => "a PyTorch state dict",
        })
    }
}

/// The tensor names of one layer in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerKeys {
    /// The weight `W_k` (`out x in`).
    pub weight: String,
    /// The bias `b_k`, when the model has biases.
    pub bias: Option<String>,
}

/// A model read from a file of any supported layout.
#[derive(Debug)]
pub struct ImportedModel {
    /// The model and the file's metadata.
    pub loaded: LoadedModel,
    /// How the file names its tensors.
    pub layout: KeyLayout,
    /// The tensor names of each layer, in the order of the chain.
    pub layers: Vec<LayerKeys>,
    /// What the reader did that the user should know (conversions, the order it chose),
    /// one line each.
    pub notes: Vec<String>,
}

/// Reads the model file at `path`, whatever its layout (see the module documentation).
pub fn load_any_model(
    path: &Path,
    choices: &ImportChoices,
) -> Result<ImportedModel, ModelFileError> {
    let bytes = read_model_bytes(path)?;
    parse_any_model(&bytes, choices).map_err(|error| error.at(path))
}

/// Parses the bytes of a model file of any supported layout; never panics, whatever the
/// bytes.
pub fn parse_any_model(bytes: &[u8], choices: &ImportChoices) -> Result<ImportedModel, ParseError> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| ParseError::NotSafetensors(e.to_string()))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    if metadata.contains_key("layer_sizes") {
        let loaded = parse_model(bytes)?;
        let config = loaded.mlp.config();
        agree("--activation", choices.activation, config.activation)
            .map_err(ParseError::Invalid)?;
        agree("--loss", choices.loss, config.loss).map_err(ParseError::Invalid)?;
        let layers = (1..=config.depth())
            .map(|k| LayerKeys {
                weight: format!("W{k}"),
                bias: config.bias.then(|| format!("b{k}")),
            })
            .collect();
        return Ok(ImportedModel {
            loaded,
            layout: KeyLayout::Backprop,
            layers,
            notes: Vec::new(),
        });
    }
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|e| ParseError::NotSafetensors(e.to_string()))?;
    parse_foreign(&tensors, metadata, choices).map_err(ParseError::Invalid)
}

/// `given` when the file says nothing else; an error when both say and differ.
fn agree<T: PartialEq + fmt::Display + Copy>(
    flag: &str,
    given: Option<T>,
    file: T,
) -> Result<(), String> {
    match given {
        Some(given) if given != file => Err(format!(
            "{flag} {given} conflicts with the file, whose metadata says {file}; drop {flag}"
        )),
        _ => Ok(()),
    }
}

/// The names a clap value enum accepts, as "a, b or c".
fn accepted_names<T: ValueEnum>() -> String {
    let names: Vec<String> = T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The value of a setting: the flag's, the metadata's (which must agree), or `fallback`;
/// an error naming the flag when none says.
fn choose<T: PartialEq + fmt::Display + Copy + ValueEnum>(
    flag: &str,
    what: &str,
    given: Option<T>,
    metadata: Option<&String>,
    parse: fn(&str) -> Option<T>,
    fallback: Option<T>,
) -> Result<T, String> {
    let file = match metadata {
        Some(text) => Some(parse(text).ok_or_else(|| {
            format!(
                "the metadata's {what} '{text}' is not {}",
                accepted_names::<T>()
            )
        })?),
        None => None,
    };
    match (given, file) {
        (given, Some(file)) => agree(flag, given, file).map(|()| file),
        (Some(given), None) => Ok(given),
        (None, None) => fallback.ok_or_else(|| {
            format!(
                "the file does not say which {what} the model uses; give {flag} ({})",
                accepted_names::<T>()
            )
        }),
    }
}

/// A model from tensors without backprop's metadata.
fn parse_foreign(
    tensors: &SafeTensors<'_>,
    metadata: HashMap<String, String>,
    choices: &ImportChoices,
) -> Result<ImportedModel, String> {
    let mut names: Vec<String> = tensors.names().into_iter().map(String::from).collect();
    names.sort();
    let (layout, mut layers) = recognise_layout(&names)?;
    let mut notes = Vec::new();
    let mut conversions = Conversions::default();
    let mut read = |name: &str| -> Result<(Vec<usize>, Vec<f32>), String> {
        let view = tensors
            .tensor(name)
            .map_err(|e| format!("tensor {name}: {e}"))?;
        let values = conversions.convert(name, &view)?;
        Ok((view.shape().to_vec(), values))
    };
    let mut weights = Vec::with_capacity(layers.len());
    let mut biases = Vec::with_capacity(layers.len());
    for layer in &layers {
        let (shape, values) = read(&layer.weight)?;
        let [rows, cols] = shape[..] else {
            return Err(format!(
                "tensor {} has shape {shape:?}; a weight must be 2-D (out x in)",
                layer.weight
            ));
        };
        if rows == 0 || cols == 0 {
            return Err(format!(
                "tensor {} has shape {shape:?}; a layer needs at least one output and one input",
                layer.weight
            ));
        }
        let w = Tensor::from_vec(rows, cols, values)
            .ok_or_else(|| format!("tensor {} has the wrong number of values", layer.weight))?;
        let b = match &layer.bias {
            Some(name) => {
                let (shape, values) = read(name)?;
                let [length] = shape[..] else {
                    return Err(format!(
                        "tensor {name} has shape {shape:?}; a bias must be 1-D (out)"
                    ));
                };
                if length != rows {
                    return Err(format!(
                        "tensor {name} has {length} entries, but {} has {rows} rows (outputs)",
                        layer.weight
                    ));
                }
                Some(
                    Tensor::from_vec(1, length, values)
                        .ok_or_else(|| format!("tensor {name} has the wrong number of values"))?,
                )
            }
            None => None,
        };
        weights.push(w);
        biases.push(b);
    }
    if let Some(order) = chain_order(&layers, &weights, layout == KeyLayout::PyTorch)? {
        layers = permuted(layers, &order);
        weights = permuted(weights, &order);
        biases = permuted(biases, &order);
        notes.push(format!(
            "the layer names do not give an order that connects; their shapes allow only {}",
            layers
                .iter()
                .map(|l| l.weight.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    notes.extend(conversions.notes());

    let hidden: Vec<usize> = weights[..weights.len() - 1]
        .iter()
        .map(|w| w.rows())
        .collect();
    // Without hidden layers no activation is applied, so none is needed.
    let activation_fallback = hidden.is_empty().then_some(Activation::Relu);
    let activation = choose(
        "--activation",
        "activation",
        choices.activation,
        metadata.get("activation"),
        Activation::from_name,
        activation_fallback,
    )?;
    let loss = choose(
        "--loss",
        "loss",
        choices.loss,
        metadata.get("loss"),
        Loss::from_name,
        choices.fallback_loss,
    )?;
    let weight_decay = match metadata.get("weight_decay") {
        Some(v) => v
            .parse::<f64>()
            .map_err(|_| format!("the metadata's weight_decay '{v}' is not a number"))?,
        None => 0.0,
    };
    let config = MlpConfig {
        inputs: weights[0].cols(),
        hidden,
        outputs: weights[weights.len() - 1].rows(),
        activation,
        loss,
        bias: biases[0].is_some(),
        weight_decay,
    };
    let mlp = Mlp::from_parameters(config, weights, biases).map_err(|e| e.to_string())?;
    Ok(ImportedModel {
        loaded: LoadedModel { mlp, metadata },
        layout,
        layers,
        notes,
    })
}

/// `items` in the order `order` (a permutation of their indices) gives.
fn permuted<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut taken: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| taken.get_mut(i).and_then(Option::take))
        .collect()
}

/// The layout of `names` (sorted) and each layer's tensors, in the order the names give.
fn recognise_layout(names: &[String]) -> Result<(KeyLayout, Vec<LayerKeys>), String> {
    if names.is_empty() {
        return Err("the file holds no tensors".into());
    }
    let plain = |name: &str| plain_index(name).is_some();
    let torch = |name: &str| torch_key(name).is_some();
    if let Some(odd) = names.iter().find(|n| !plain(n) && !torch(n)) {
        return Err(format!(
            "tensor {odd} is neither W<k> / b<k> nor <layer>.weight / <layer>.bias \
             (only linear layers are read)"
        ));
    }
    match (
        names.iter().find(|n| plain(n)),
        names.iter().find(|n| torch(n)),
    ) {
        (Some(p), Some(t)) => Err(format!(
            "the key set is ambiguous: {p} is a plain W<k> / b<k> name and {t} a PyTorch one; \
             keep one layout"
        )),
        (Some(_), None) => plain_layers(names).map(|l| (KeyLayout::Plain, l)),
        _ => torch_layers(names).map(|l| (KeyLayout::PyTorch, l)),
    }
}

/// `('W', k)` for `W<k>`, `('b', k)` for `b<k>` (k from 1, written without leading zeros).
fn plain_index(name: &str) -> Option<(char, usize)> {
    let kind = name.chars().next().filter(|c| *c == 'W' || *c == 'b')?;
    let k: usize = name[1..].parse().ok()?;
    (k >= 1 && name[1..] == k.to_string()).then_some((kind, k))
}

/// The layers of a plain file: `W1 .. Wk` without gaps, and biases for all or none.
fn plain_layers(names: &[String]) -> Result<Vec<LayerKeys>, String> {
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for name in names {
        match plain_index(name) {
            Some(('W', k)) => weights.push(k),
            Some((_, k)) => biases.push(k),
            None => unreachable!("every name was recognised"),
        }
    }
    weights.sort_unstable();
    let depth = weights.len();
    if let Some(missing) = (1..=depth).find(|k| weights[k - 1] != *k) {
        return Err(format!(
            "tensor W{missing} is missing (the file has W{}); weights are W1 .. Wk without gaps",
            weights.last().copied().unwrap_or(0)
        ));
    }
    if let Some(&k) = biases.iter().find(|&&k| k > depth) {
        return Err(format!("tensor b{k} has no weight W{k}"));
    }
    if !biases.is_empty() && biases.len() != depth {
        let missing = (1..=depth).find(|k| !biases.contains(k)).unwrap_or(1);
        return Err(format!(
            "tensor b{missing} is missing: b{} is present, and biases come for every layer or none",
            biases[0]
        ));
    }
    Ok((1..=depth)
        .map(|k| LayerKeys {
            weight: format!("W{k}"),
            bias: (!biases.is_empty()).then(|| format!("b{k}")),
        })
        .collect())
}

/// `(layer, is_weight)` for `<layer>.weight` and `<layer>.bias`.
fn torch_key(name: &str) -> Option<(&str, bool)> {
    if let Some(layer) = name.strip_suffix(".weight") {
        return (!layer.is_empty()).then_some((layer, true));
    }
    let layer = name.strip_suffix(".bias")?;
    (!layer.is_empty()).then_some((layer, false))
}

/// One piece of a layer name for ordering: text, or a number compared as a number.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NamePiece {
    Number(u64),
    Text(String),
}

/// `fc10` as `[Text("fc"), Number(10)]`, so that `fc2` comes before `fc10`.
fn natural_key(name: &str) -> Vec<NamePiece> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut in_digits = false;
    let flush = |current: &mut String, in_digits: bool, pieces: &mut Vec<NamePiece>| {
        if current.is_empty() {
            return;
        }
        let text = std::mem::take(current);
        pieces.push(match (in_digits, text.parse::<u64>()) {
            (true, Ok(n)) => NamePiece::Number(n),
            _ => NamePiece::Text(text),
        });
    };
    for c in name.chars() {
        let digit = c.is_ascii_digit();
        if digit != in_digits {
            flush(&mut current, in_digits, &mut pieces);
            in_digits = digit;
        }
        current.push(c);
    }
    flush(&mut current, in_digits, &mut pieces);
    pieces
}

/// The layers of a PyTorch state dict, in the natural order of their names.
fn torch_layers(names: &[String]) -> Result<Vec<LayerKeys>, String> {
    let mut layers: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for name in names {
        let (layer, is_weight) = torch_key(name).expect("every name was recognised");
        let entry = layers.entry(layer).or_default();
        if is_weight {
            entry.0 = true;
        } else {
            entry.1 = true;
        }
    }
    if let Some((layer, _)) = layers.iter().find(|(_, (weight, _))| !weight) {
        return Err(format!("tensor {layer}.bias has no {layer}.weight"));
    }
    let mut ordered: Vec<(&str, bool)> = layers.iter().map(|(l, (_, b))| (*l, *b)).collect();
    ordered.sort_by_cached_key(|(layer, _)| natural_key(layer));
    for pair in ordered.windows(2) {
        if natural_key(pair[0].0) == natural_key(pair[1].0) {
            return Err(format!(
                "the key set is ambiguous: layers {} and {} have no order; rename one",
                pair[0].0, pair[1].0
            ));
        }
    }
    let with_bias = ordered.iter().filter(|(_, b)| *b).count();
    if with_bias != 0 && with_bias != ordered.len() {
        let present = ordered
            .iter()
            .find(|(_, b)| *b)
            .expect("some have biases")
            .0;
        let missing = ordered.iter().find(|(_, b)| !*b).expect("some have none").0;
        return Err(format!(
            "tensor {missing}.bias is missing: {present}.bias is present, and biases come for \
             every layer or none"
        ));
    }
    Ok(ordered
        .into_iter()
        .map(|(layer, bias)| LayerKeys {
            weight: format!("{layer}.weight"),
            bias: bias.then(|| format!("{layer}.bias")),
        })
        .collect())
}

/// The most layers whose order is searched by shape when their names give none that
/// connects.
const MAX_LAYERS_ORDERED_BY_SHAPE: usize = 8;

/// `None` when the layers connect in the given order (each layer takes as many inputs as the
/// one before gives outputs). Otherwise, when `by_shape` and exactly one order connects,
/// that order; else an error naming the first pair that does not connect.
fn chain_order(
    layers: &[LayerKeys],
    weights: &[Tensor<f32>],
    by_shape: bool,
) -> Result<Option<Vec<usize>>, String> {
    let Some(k) = (1..weights.len()).find(|&k| weights[k].cols() != weights[k - 1].rows()) else {
        return Ok(None);
    };
    if by_shape && weights.len() <= MAX_LAYERS_ORDERED_BY_SHAPE {
        let mut found = Vec::new();
        let mut path = Vec::new();
        connecting_orders(weights, &mut path, &mut found);
        if found.len() == 1 {
            return Ok(found.pop());
        }
    }
    Err(format!(
        "the shapes do not connect: {} ({}x{}) gives {} outputs, but the next layer {} ({}x{}) \
         takes {} inputs",
        layers[k - 1].weight,
        weights[k - 1].rows(),
        weights[k - 1].cols(),
        weights[k - 1].rows(),
        layers[k].weight,
        weights[k].rows(),
        weights[k].cols(),
        weights[k].cols()
    ))
}

/// Every order of all `weights` that connects, extending `path`; stops after two.
fn connecting_orders(weights: &[Tensor<f32>], path: &mut Vec<usize>, found: &mut Vec<Vec<usize>>) {
    if found.len() >= 2 {
        return;
    }
    if path.len() == weights.len() {
        found.push(path.clone());
        return;
    }
    for i in 0..weights.len() {
        let fits = path
            .last()
            .is_none_or(|&last| weights[i].cols() == weights[last].rows());
        if fits && !path.contains(&i) {
            path.push(i);
            connecting_orders(weights, path, found);
            path.pop();
        }
    }
}

/// Tensor values converted to `f32`, with what the conversions did.
#[derive(Debug, Default)]
struct Conversions {
    /// Per data type other than `F32`: how many tensors, and for `F64` the largest change.
    converted: BTreeMap<String, (usize, f64)>,
}

impl Conversions {
    /// The values of `view` as `f32`: `F32` as is, `F16` and `BF16` exactly, `F64` rounded
    /// to the nearest `f32`. Every value must be finite in `f32`.
    fn convert(&mut self, name: &str, view: &TensorView<'_>) -> Result<Vec<f32>, String> {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::F64 => {
                let mut largest_change = 0.0f64;
                let values = data
                    .chunks_exact(8)
                    .map(|c| {
                        let v = f64::from_le_bytes(c.try_into().expect("8 bytes"));
                        let rounded = v as f32;
                        let change = (f64::from(rounded) - v).abs();
                        if change.is_finite() {
                            largest_change = largest_change.max(change);
                        }
                        rounded
                    })
                    .collect();
                let entry = self.converted.entry("F64".into()).or_default();
                entry.1 = entry.1.max(largest_change);
                values
            }
            other => {
                return Err(format!(
                    "tensor {name} is {other:?}; expected F32, F64, F16 or BF16"
                ))
            }
        };
        if view.dtype() != Dtype::F32 {
            self.converted
                .entry(format!("{:?}", view.dtype()))
                .or_default()
                .0 += 1;
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "tensor {name} holds a value at index {i} that is not a finite f32"
            ));
        }
        Ok(values)
    }

    /// One line per converted data type.
    fn notes(&self) -> Vec<String> {
        self.converted
            .iter()
            .map(|(dtype, (count, change))| {
                if dtype == "F64" {
                    format!(
                        "{count} F64 tensor(s) rounded to the nearest f32 (largest change {change:.3e})"
                    )
                } else {
                    format!("{count} {dtype} tensor(s) widened to f32 exactly")
                }
            })
            .collect()
    }
}
