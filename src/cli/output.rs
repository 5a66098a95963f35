//! Where a command's text goes: a file (written atomically) or standard output.

use anyhow::{Context, Result};
use backprop::atomic_file::write_bytes_atomically;
use std::io::Write;
use std::path::Path;

/// Writes `text` to `out` atomically and says so on stderr (`"{what} written to …"`), or,
/// without `out`, to standard output.
pub fn write_text(out: Option<&Path>, text: &str, what: &str) -> Result<()> {
    match out {
        Some(path) => {
            write_bytes_atomically(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{what} written to {}", path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
                .context("cannot write to standard output")?;
        }
    }
    Ok(())
}
