//! Every file a command will write, checked before the first one is written: no two outputs
//! name the same file, no output names an input, each output's path is valid UTF-8 and names
//! a file (not a folder, a FIFO, a device or a socket, and no trailing `/`), and a file can be
//! created in its folder (tried, then removed). A symbolic link is checked as the file it
//! points to, which is what gets written. A command that fails here has changed nothing on
//! disk.
//!
//! Two paths name the same file when both exist and share device and inode (so hard links
//! and symbolic links count), or when the canonical path of their folders joined with their
//! file names agree (for outputs that do not exist yet).

use super::exit_status::{shorten, UsageError};
use backprop::data::regular_file::file_kind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The files one command reads and writes, each with the flag that named it.
#[derive(Debug, Default)]
pub struct OutputPaths {
    outputs: Vec<Named>,
    inputs: Vec<Named>,
    /// Pairs `(input flag, output flag)` where the output may replace the input on purpose
    /// (`--resume C` with checkpoints written to `C`: the input is read whole first).
    replacements: Vec<(&'static str, &'static str)>,
}

/// A path and the flag that named it.
#[derive(Debug)]
struct Named {
    flag: &'static str,
    path: PathBuf,
}

/// What identifies a file on disk.
#[derive(Debug, PartialEq, Eq)]
enum FileIdentity {
    /// An existing file: its device and inode.
    Existing { device: u64, inode: u64 },
    /// A file still to be written: its folder's canonical path joined with its name.
    ToBeWritten(PathBuf),
}

impl OutputPaths {
    /// No paths yet.
    pub fn new() -> Self {
        OutputPaths::default()
    }

    /// A file the command will write, named by `flag`.
    pub fn output(&mut self, flag: &'static str, path: &Path) -> &mut Self {
        self.outputs.push(Named {
            flag,
            path: path.to_path_buf(),
        });
        self
    }

    /// A file the command reads, named by `flag`; no output may be the same file.
    pub fn input(&mut self, flag: &'static str, path: &Path) -> &mut Self {
        self.inputs.push(Named {
            flag,
            path: path.to_path_buf(),
        });
        self
    }

    /// Every regular file in the folder `folder` (a dataset folder) counts as an input of
    /// `flag`. A folder that cannot be listed adds nothing (the reader reports it).
    pub fn inputs_in_folder(&mut self, flag: &'static str, folder: &Path) -> &mut Self {
        if let Ok(entries) = std::fs::read_dir(folder) {
            for entry in entries.flatten().take(MAX_FOLDER_ENTRIES) {
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    self.input(flag, &entry.path());
                }
            }
        }
        self
    }

    /// Lets the output of `output_flag` replace the input of `input_flag` when both name the
    /// same file.
    pub fn allow_replacing(
        &mut self,
        input_flag: &'static str,
        output_flag: &'static str,
    ) -> &mut Self {
        self.replacements.push((input_flag, output_flag));
        self
    }

    /// Checks every output, then every pair; the first problem is a usage error naming the
    /// flags involved.
    pub fn check(&self) -> Result<(), UsageError> {
        let mut identities = Vec::with_capacity(self.outputs.len());
        for output in &self.outputs {
            identities.push(check_writable(output)?);
        }
        for (i, (first, first_id)) in self.outputs.iter().zip(&identities).enumerate() {
            for (second, second_id) in self.outputs.iter().zip(&identities).skip(i + 1) {
                if first_id == second_id {
                    return Err(UsageError(format!(
                        "{} and {} both name {}; give each output a file of its own",
                        first.flag,
                        second.flag,
                        shown(&first.path)
                    )));
                }
            }
        }
        for input in &self.inputs {
            let Some(input_id) = existing_identity(&input.path) else {
                continue;
            };
            for (output, output_id) in self.outputs.iter().zip(&identities) {
                let allowed = self.replacements.contains(&(input.flag, output.flag));
                if !allowed && *output_id == input_id {
                    return Err(UsageError(format!(
                        "{} {} is the file {} reads ({}); an output must not replace an input",
                        output.flag,
                        shown(&output.path),
                        input.flag,
                        shown(&input.path)
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The longest file name most file systems take, in bytes (`NAME_MAX`).
const MAX_NAME_BYTES: usize = 255;

/// The most entries of a dataset folder counted as inputs (a dataset folder holds four).
const MAX_FOLDER_ENTRIES: usize = 1_000;

/// The longest path echoed in a message, in characters; longer ones are cut in the middle.
const MAX_SHOWN_PATH: usize = 120;

/// `path` for a message, cut to [`MAX_SHOWN_PATH`] characters.
pub fn shown(path: &Path) -> String {
    shorten(&path.display().to_string(), MAX_SHOWN_PATH)
}

/// The identity of an existing file, following symbolic links.
fn existing_identity(path: &Path) -> Option<FileIdentity> {
    let metadata = std::fs::metadata(path).ok()?;
    Some(FileIdentity::Existing {
        device: metadata.dev(),
        inode: metadata.ino(),
    })
}

/// Checks that `output` can be written (see the module's documentation) and returns its
/// identity.
fn check_writable(output: &Named) -> Result<FileIdentity, UsageError> {
    use std::os::unix::ffi::OsStrExt;
    let flag = output.flag;
    let given = &output.path;
    let fail = |what: String| Err(UsageError(format!("{flag} {}: {what}", shown(given))));
    if given.to_str().is_none() {
        return fail("the path is not valid UTF-8; give a path in UTF-8".into());
    }
    if given.as_os_str().as_bytes().ends_with(b"/") {
        return fail("ends with /, which names a folder; give a file name".into());
    }
    let path = match backprop::atomic_file::output_target(given) {
        Ok(path) => path,
        Err(_) => return fail("is a symbolic link to a file that does not exist".into()),
    };
    if let Ok(metadata) = std::fs::metadata(&path) {
        if metadata.is_dir() {
            return fail("is a folder; give a file name".into());
        }
        if !metadata.is_file() {
            return fail(format!(
                "is {}, not a regular file; an output is written beside it and renamed over it, which would replace it",
                file_kind(&metadata)
            ));
        }
    }
    let Some(name) = path.file_name() else {
        return fail("names no file".into());
    };
    if name.len() > MAX_NAME_BYTES {
        return fail(format!(
            "the file name is {} bytes long; file systems take at most {MAX_NAME_BYTES}",
            name.len()
        ));
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let canonical = match std::fs::canonicalize(folder) {
        Ok(canonical) => canonical,
        Err(_) => return fail(format!("the folder {} does not exist", shown(folder))),
    };
    if !canonical.is_dir() {
        return fail(format!("{} is not a folder", shown(folder)));
    }
    if let Err(error) = try_creating_beside(&path) {
        return fail(format!(
            "cannot create a file in the folder {}: {}",
            shown(folder),
            error.kind()
        ));
    }
    Ok(existing_identity(&path).unwrap_or_else(|| FileIdentity::ToBeWritten(canonical.join(name))))
}

/// Creates and removes the temporary file that writing `path` will use, which shows that the
/// folder takes new files (permissions, a read-only or virtual file system).
fn try_creating_beside(path: &Path) -> std::io::Result<()> {
    let temporary = backprop::atomic_file::temporary_path_for(path);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
    {
        Ok(file) => {
            drop(file);
            std::fs::remove_file(&temporary)
        }
        // Left by this very process (the name holds its id): the folder takes files.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_outputs_naming_one_new_file_collide() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("x");
        let b = dir.path().join(".").join("x");
        let error = OutputPaths::new()
            .output("--out", &a)
            .output("--plot", &b)
            .check()
            .unwrap_err();
        assert!(
            error.0.starts_with("--out and --plot both name"),
            "{}",
            error.0
        );
    }

    #[test]
    fn a_hard_link_to_an_input_is_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("model");
        let link = dir.path().join("link");
        std::fs::write(&input, b"model").unwrap();
        std::fs::hard_link(&input, &link).unwrap();
        let error = OutputPaths::new()
            .output("--metrics", &link)
            .input("--init", &input)
            .check()
            .unwrap_err();
        assert!(error.0.contains("is the file --init reads"), "{}", error.0);
        assert!(OutputPaths::new()
            .output("--checkpoint", &link)
            .input("--resume", &input)
            .allow_replacing("--resume", "--checkpoint")
            .check()
            .is_ok());
    }

    #[test]
    fn missing_folders_and_folders_as_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing").join("p.svg");
        let error = OutputPaths::new()
            .output("--plot", &missing)
            .check()
            .unwrap_err();
        assert!(error.0.contains("does not exist"), "{}", error.0);
        let error = OutputPaths::new()
            .output("--out", dir.path())
            .check()
            .unwrap_err();
        assert!(error.0.contains("is a folder"), "{}", error.0);
    }
}
