//! Every file a command will write, checked before the first one is written: no two outputs
//! name the same file, no output names an input, each output's path is valid UTF-8 and names
//! a file (not a folder, a FIFO, a device or a socket, and no trailing `/`), its extension
//! does not name another kind of file than the one written ([`Content`]), and a file can be
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

/// A path and the flag that named it, with what an output will hold (`None` for inputs).
#[derive(Debug)]
struct Named {
    flag: &'static str,
    path: PathBuf,
    content: Option<Content>,
}

/// What an output file holds. A name whose extension says another kind of file is refused
/// (`export --format onnx --out model.safetensors` would leave an ONNX graph that every reader
/// of `.safetensors` rejects); a name without an extension, or with one not listed here, is
/// taken as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// A safetensors file: a model or a checkpoint.
    Safetensors,
    /// JSON, one object per line (`--metrics`).
    JsonLines,
    /// A plot: SVG or PNG, chosen by the extension, which must be one of the two.
    Plot,
    /// An SVG drawing.
    Svg,
    /// A Graphviz DOT graph.
    Dot,
    /// An ONNX graph.
    Onnx,
    /// Python source.
    Python,
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
}

/// Extensions of kinds of file that no command writes (PNG only as a plot, which has a rule
/// of its own), so that no other output may carry them.
const FOREIGN_EXTENSIONS: &[(&str, &str)] = &[
    ("pt", "a PyTorch pickle"),
    ("pth", "a PyTorch pickle"),
    ("png", "a PNG picture"),
    ("jpg", "a JPEG picture"),
    ("jpeg", "a JPEG picture"),
    ("gif", "a GIF picture"),
    ("webp", "a WebP picture"),
    ("pdf", "a PDF document"),
    ("html", "an HTML page"),
    ("csv", "a CSV table"),
    ("gz", "a gzip file"),
];

impl Content {
    /// Every kind but the plot (whose extensions are those of a format), for looking an
    /// extension up.
    const NAMED_BY_EXTENSION: [Content; 8] = [
        Content::Safetensors,
        Content::JsonLines,
        Content::Svg,
        Content::Dot,
        Content::Onnx,
        Content::Python,
        Content::Text,
        Content::Markdown,
    ];

    /// The content, as a message names it.
    fn description(self) -> &'static str {
        match self {
            Content::Safetensors => "a safetensors file",
            Content::JsonLines => "JSON",
            Content::Plot => "a plot",
            Content::Svg => "an SVG drawing",
            Content::Dot => "a Graphviz DOT graph",
            Content::Onnx => "an ONNX graph",
            Content::Python => "a Python module",
            Content::Text => "plain text",
            Content::Markdown => "Markdown",
        }
    }

    /// The extensions (lower case) that name this content, the usual one first.
    fn extensions(self) -> &'static [&'static str] {
        match self {
            Content::Safetensors => &["safetensors"],
            Content::JsonLines => &["jsonl", "json", "ndjson"],
            Content::Plot => &["svg", "png"],
            Content::Svg => &["svg"],
            Content::Dot => &["dot", "gv"],
            Content::Onnx => &["onnx"],
            Content::Python => &["py"],
            Content::Text => &["txt"],
            Content::Markdown => &["md", "markdown"],
        }
    }

    /// The content that the extension of `path` names (in any letter case), if it names one
    /// a command writes; never [`Content::Plot`] (`.svg` names an SVG drawing, `.png` none).
    fn named_by(path: &Path) -> Option<Content> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Content::NAMED_BY_EXTENSION
            .into_iter()
            .find(|content| content.extensions().contains(&extension.as_str()))
    }

    /// Why `path` cannot hold this content, if its extension names another kind of file (or,
    /// for a plot, names neither SVG nor PNG).
    fn mismatch(self, path: &Path) -> Option<String> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let suggestion = || match self.extensions() {
            [only] => format!(".{only}"),
            [first @ .., last] => {
                let first: Vec<String> = first.iter().map(|e| format!(".{e}")).collect();
                format!("{} or .{last}", first.join(", "))
            }
            [] => unreachable!("every content has an extension"),
        };
        if self == Content::Plot {
            return match extension.as_deref() {
                Some("svg" | "png") => None,
                _ => Some(format!(
                    "a plot is drawn as SVG or PNG, chosen by the name's extension; name it {}",
                    suggestion()
                )),
            };
        }
        let extension = extension?;
        if self.extensions().contains(&extension.as_str()) {
            return None;
        }
        let named = Content::named_by(path)
            .map(Content::description)
            .or_else(|| {
                FOREIGN_EXTENSIONS
                    .iter()
                    .find(|(foreign, _)| *foreign == extension)
                    .map(|(_, description)| *description)
            })?;
        Some(format!(
            "the name says {named}, but this output is {}; name it {}",
            self.description(),
            suggestion()
        ))
    }
}

/// A command's output format (`--format`), by what a file of it holds.
pub trait OutputFormat: Copy + clap::ValueEnum {
    /// What a file written in this format holds.
    fn content(self) -> Content;
}

/// The format to write: `given`, else the format whose content the extension of `out` names
/// (`graph --out g.dot` writes DOT, `explain --out notes.md` Markdown), else `default`.
pub fn chosen_format<F: OutputFormat>(given: Option<F>, out: Option<&Path>, default: F) -> F {
    given
        .or_else(|| {
            let named = Content::named_by(out?)?;
            F::value_variants()
                .iter()
                .copied()
                .find(|format| format.content() == named)
        })
        .unwrap_or(default)
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

    /// A file the command will write, named by `flag`, holding `content`.
    pub fn output(&mut self, flag: &'static str, path: &Path, content: Content) -> &mut Self {
        self.outputs.push(Named {
            flag,
            path: path.to_path_buf(),
            content: Some(content),
        });
        self
    }

    /// A file the command reads, named by `flag`; no output may be the same file.
    pub fn input(&mut self, flag: &'static str, path: &Path) -> &mut Self {
        self.inputs.push(Named {
            flag,
            path: path.to_path_buf(),
            content: None,
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

    /// Checks every output, then every pair, then each output's extension against its content;
    /// the first problem is a usage error naming the flags involved.
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
        // Last, so that an output that would replace another file is reported as that.
        for output in &self.outputs {
            if let Some(mismatch) = output
                .content
                .and_then(|content| content.mismatch(&output.path))
            {
                return Err(UsageError(format!(
                    "{} {}: {mismatch}",
                    output.flag,
                    shown(&output.path)
                )));
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
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            return fail("is a symbolic link in a loop of links that never reaches a file".into())
        }
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
            .output("--out", &a, Content::Safetensors)
            .output("--metrics", &b, Content::JsonLines)
            .check()
            .unwrap_err();
        assert!(
            error.0.starts_with("--out and --metrics both name"),
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
            .output("--metrics", &link, Content::JsonLines)
            .input("--init", &input)
            .check()
            .unwrap_err();
        assert!(error.0.contains("is the file --init reads"), "{}", error.0);
        assert!(OutputPaths::new()
            .output("--checkpoint", &link, Content::Safetensors)
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
            .output("--plot", &missing, Content::Plot)
            .check()
            .unwrap_err();
        assert!(error.0.contains("does not exist"), "{}", error.0);
        let error = OutputPaths::new()
            .output("--out", dir.path(), Content::Safetensors)
            .check()
            .unwrap_err();
        assert!(error.0.contains("is a folder"), "{}", error.0);
    }

    #[test]
    fn an_extension_that_names_another_kind_of_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let refused = |name: &str, content: Content| {
            OutputPaths::new()
                .output("--out", &dir.path().join(name), content)
                .check()
                .unwrap_err()
                .0
        };
        let error = refused("model.safetensors", Content::Onnx);
        assert!(
            error.ends_with(
                "model.safetensors: the name says a safetensors file, but this output is an ONNX graph; name it .onnx"
            ),
            "{error}"
        );
        let error = refused("graph.PNG", Content::Svg);
        assert!(
            error.ends_with(
                "the name says a PNG picture, but this output is an SVG drawing; name it .svg"
            ),
            "{error}"
        );
        let error = refused("model.pt", Content::Safetensors);
        assert!(error.contains("the name says a PyTorch pickle"), "{error}");
        let error = refused("curves.txt", Content::Plot);
        assert!(
            error.ends_with("a plot is drawn as SVG or PNG, chosen by the name's extension; name it .svg or .png"),
            "{error}"
        );
        assert!(refused("curves", Content::Plot).contains("a plot is drawn as SVG or PNG"));
        for (name, content) in [
            ("model", Content::Safetensors),
            ("model.v2", Content::Safetensors),
            ("run.JSON", Content::JsonLines),
            ("curves.png", Content::Plot),
            ("graph.gv", Content::Dot),
            ("notes.md", Content::Markdown),
            ("module.py", Content::Python),
        ] {
            let path = dir.path().join(name);
            assert!(
                OutputPaths::new()
                    .output("--out", &path, content)
                    .check()
                    .is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn an_extension_names_the_content_a_command_writes_by_default() {
        assert_eq!(Content::named_by(Path::new("g.DOT")), Some(Content::Dot));
        assert_eq!(
            Content::named_by(Path::new("e.md")),
            Some(Content::Markdown)
        );
        assert_eq!(Content::named_by(Path::new("g.png")), None);
        assert_eq!(Content::named_by(Path::new("g")), None);
    }
}
