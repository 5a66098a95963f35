//! Reading `--model`: backprop's own files, PyTorch state dicts and plain `W1 .. Wk` files,
//! with `--activation` and `--loss` for what such a file does not say.

use anyhow::Result;
use backprop::model_io::import::{load_any_model, ImportChoices, ImportedModel};
use backprop::nn::{Activation, Loss};
use clap::Args;
use std::path::Path;

/// What a model file from another tool may not say: its activation and its loss.
#[derive(Args, Debug, Clone)]
pub struct ImportFlags {
    /// Activation if not in the file.
    ///
    /// The activation phi of a model file that does not name one (a PyTorch state dict or a
    /// plain W1 .. Wk file); a file that names one must agree.
    #[arg(long, value_name = "NAME", value_enum, help_heading = super::help_text::MODEL)]
    pub activation: Option<Activation>,
    /// Loss if not in the file.
    ///
    /// The loss l of a model file that does not name one; a file that names one must agree.
    #[arg(long, value_name = "NAME", value_enum, help_heading = super::help_text::MODEL)]
    pub loss: Option<Loss>,
}

impl ImportFlags {
    /// The choices for the importer; `fallback_loss` is taken when neither the file nor
    /// `--loss` names a loss (commands whose result does not depend on it).
    pub fn choices(&self, fallback_loss: Option<Loss>) -> ImportChoices {
        ImportChoices {
            activation: self.activation,
            loss: self.loss,
            fallback_loss,
        }
    }
}

/// Reads the model file `path` (any layout the importer knows), printing its notes (conversions,
/// the layer order it chose) on stderr.
pub fn open_model(path: &Path, choices: &ImportChoices) -> Result<ImportedModel> {
    let imported = load_any_model(path, choices)?;
    for note in &imported.notes {
        eprintln!("note: {}: {note}", path.display());
    }
    Ok(imported)
}
