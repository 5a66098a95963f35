//! Atomic file writes: a reader (or a crash) sees either the old complete file or the new one.
//!
//! Every file the program writes (models, checkpoints, metrics, plots, graphs) goes through
//! [`write_atomically`]: the bytes go to a temporary file in the same folder, which is flushed,
//! synced and then renamed over the destination. A rename within one folder is atomic on POSIX
//! file systems, so a process killed at any instant never leaves a half-written file behind.
//!
//! A destination that is a symbolic link is followed: the file it points to is replaced and
//! the link stays. A destination that exists but is not a regular file (a FIFO, a device, a
//! socket, a folder) is refused, since the rename would replace it with a file.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes a file atomically: `write` fills a temporary file beside `path`, which is then
/// flushed, synced and renamed to `path`. On any error the temporary file is removed and
/// `path` is left as it was.
pub fn write_atomically<F>(path: &Path, write: F) -> io::Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    let path = &output_target(path)?;
    if let Ok(metadata) = fs::metadata(path) {
        if !metadata.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is {}, not a regular file",
                    path.display(),
                    crate::data::regular_file::file_kind(&metadata)
                ),
            ));
        }
    }
    let temporary = temporary_path_for(path);
    let result = (|| {
        let file = File::create(&temporary)?;
        let mut writer = BufWriter::new(file);
        write(&mut writer)?;
        writer.flush()?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, path)?;
        sync_parent_folder(path);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// The file that writing to `path` replaces: `path` itself, or the file a symbolic link at
/// `path` points to (an error if it points to nothing).
pub fn output_target(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// Writes `bytes` to `path` atomically (see [`write_atomically`]).
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically(path, |w| w.write_all(bytes))
}

/// The longest file name (in bytes) the common file systems allow (ext4, XFS, Btrfs, APFS,
/// NTFS in UTF-16 units); every temporary name fits within it.
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// The temporary name used while `path` is being written: a hidden file in the same folder,
/// `.<name>.<pid>.tmp`, unique to this process so that two runs never write the same
/// temporary file. When that would pass [`MAX_FILE_NAME_BYTES`] (a name of 240 bytes and
/// more), the visible part is cut and followed by `~` and a digest of the whole name, so
/// the temporary name still fits and two long names that share their start still differ.
pub fn temporary_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let suffix = format!(".{}.tmp", std::process::id());
    let mut temporary_name = format!(".{name}{suffix}");
    if temporary_name.len() > MAX_FILE_NAME_BYTES {
        let digest = format!("~{:016x}", name_digest(&name));
        let room = MAX_FILE_NAME_BYTES - 1 - suffix.len() - digest.len();
        let mut cut = room.min(name.len());
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        temporary_name = format!(".{}{digest}{suffix}", &name[..cut]);
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join(temporary_name),
        _ => PathBuf::from(temporary_name),
    }
}

/// A 64-bit FNV-1a digest of `name`: stable across runs, so a cut temporary name is the
/// same every time for the same output.
fn name_digest(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Syncs the folder holding `path` so that the rename itself survives a power loss.
/// Best effort: some file systems do not allow opening a folder, which is not an error here.
fn sync_parent_folder(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(folder) = File::open(parent) {
        let _ = folder.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_old_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        fs::write(&path, b"old").unwrap();
        write_bytes_atomically(&path, b"new contents").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_name_of_255_bytes_is_written_through_a_temporary_name_that_fits() {
        let dir = tempfile::tempdir().unwrap();
        for length in [240, 250, 255] {
            let path = dir.path().join("m".repeat(length));
            let temporary = temporary_path_for(&path);
            let temporary_name = temporary.file_name().unwrap().len();
            assert!(temporary_name <= MAX_FILE_NAME_BYTES, "{temporary_name}");
            write_bytes_atomically(&path, b"long").unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"long");
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn long_names_sharing_their_start_get_different_temporary_names() {
        let start = "é".repeat(120);
        let a = temporary_path_for(Path::new(&format!("{start}a.safetensors")));
        let b = temporary_path_for(Path::new(&format!("{start}b.safetensors")));
        assert_ne!(a, b);
        assert!(a.as_os_str().len() <= MAX_FILE_NAME_BYTES);
        assert_eq!(
            temporary_path_for(Path::new("out/model.bin")),
            Path::new(&format!("out/.model.bin.{}.tmp", std::process::id()))
        );
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        fs::write(&path, b"old").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
