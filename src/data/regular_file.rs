//! Opening a file that a user names as input (IDX data, a PNG image, a model, a checkpoint):
//! only a regular file is read, and never more bytes than a documented limit.
//!
//! [`open_regular`] opens the path with `O_NONBLOCK`, so that a FIFO without a writer can never
//! block the open, then checks with `fstat` on the open file (not on the path, which could be
//! swapped in between) that it is a regular file and not larger than the caller's limit. A
//! FIFO, a device (`/dev/zero`, also through a symbolic link), a socket or a folder is an
//! error whose message says what the path is. [`read_regular`] reads the whole file through
//! a reader bounded by the same limit, so a file that grows after the check is still cut off.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum RegularFileError {
    /// The file could not be opened or read (missing, no permission, ...).
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// What the system said (in the message, not as a separate source, so that it is
        /// printed once).
        error: io::Error,
    },
    /// The path is not a regular file.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path given.
        path: PathBuf,
        /// What it is instead ("a FIFO", "a folder", "a character device (a symbolic link to /dev/zero)").
        kind: String,
    },
    /// The file is larger than the limit for its kind.
    #[error("{} is {size} bytes, more than the {max}-byte limit for {what}", path.display())]
    TooLarge {
        /// The path given.
        path: PathBuf,
        /// The file's size in bytes.
        size: u64,
        /// The limit in bytes.
        max: u64,
        /// What kind of file was expected ("a model file", "a PNG image", ...).
        what: &'static str,
    },
}

impl RegularFileError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::NotRegular { path, .. } | Self::TooLarge { path, .. } => {
                path
            }
        }
    }
}

/// Opens `path` for reading if it is a regular file of at most `max_bytes` bytes; `what`
/// names the kind of file expected in the size error ("a model file"). Never blocks: the
/// file is opened with `O_NONBLOCK` (which has no effect on reads of a regular file).
pub fn open_regular(
    path: &Path,
    max_bytes: u64,
    what: &'static str,
) -> Result<(File, Metadata), RegularFileError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|source| {
        // Opening a Unix socket fails (ENXIO); say what the path is rather than "No such
        // device or address".
        match fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() && !metadata.is_dir() => {
                not_regular(path, &metadata)
            }
            _ => RegularFileError::Io {
                path: path.to_path_buf(),
                error: source,
            },
        }
    })?;
    let metadata = file.metadata().map_err(|error| RegularFileError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    if !metadata.is_file() {
        return Err(not_regular(path, &metadata));
    }
    if metadata.len() > max_bytes {
        return Err(RegularFileError::TooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
            max: max_bytes,
            what,
        });
    }
    Ok((file, metadata))
}

/// Reads the whole of `path` if it is a regular file of at most `max_bytes` bytes (see
/// [`open_regular`]); at most `max_bytes + 1` bytes are ever read, even from a file that
/// grows while it is read.
pub fn read_regular(
    path: &Path,
    max_bytes: u64,
    what: &'static str,
) -> Result<Vec<u8>, RegularFileError> {
    let (file, metadata) = open_regular(path, max_bytes, what)?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| RegularFileError::Io {
            path: path.to_path_buf(),
            error,
        })?;
    if bytes.len() as u64 > max_bytes {
        return Err(RegularFileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            max: max_bytes,
            what,
        });
    }
    Ok(bytes)
}

fn not_regular(path: &Path, metadata: &Metadata) -> RegularFileError {
    let mut kind = file_kind(metadata).to_string();
    if let Ok(target) = fs::read_link(path) {
        kind.push_str(&format!(" (a symbolic link to {})", target.display()));
    }
    RegularFileError::NotRegular {
        path: path.to_path_buf(),
        kind,
    }
}

/// What a file is, in words ("a file", "a folder", "a FIFO", "a character device"...), for
/// messages that refuse it for not being the kind expected.
pub fn file_kind(metadata: &Metadata) -> &'static str {
    if metadata.is_file() {
        return "a file";
    }
    if metadata.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let file_type = metadata.file_type();
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "not a file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"12345").unwrap();
        assert_eq!(read_regular(&path, 5, "a test file").unwrap(), b"12345");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"123456").unwrap();
        let error = read_regular(&path, 5, "a test file").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{} is 6 bytes, more than the 5-byte limit for a test file",
                path.display()
            )
        );
    }

    #[test]
    fn a_folder_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let error = read_regular(dir.path(), 5, "a test file").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{} is a folder, not a regular file", dir.path().display())
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_device_through_a_symbolic_link_is_named_with_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let error = read_regular(&link, u64::MAX, "a test file").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{} is a character device (a symbolic link to /dev/zero), not a regular file",
                link.display()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let error = read_regular(&fifo, u64::MAX, "a test file").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{} is a FIFO, not a regular file", fifo.display())
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_socket_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let error = read_regular(&path, u64::MAX, "a test file").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{} is a socket, not a regular file", path.display())
        );
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let error = read_regular(Path::new("/no/such/file"), 5, "a test file").unwrap_err();
        assert!(matches!(error, RegularFileError::Io { .. }), "{error}");
        assert!(error.to_string().starts_with("cannot read /no/such/file: "));
    }
}
