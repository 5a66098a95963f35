//! Downloading the files of a dataset from HTTP mirrors, verified by MD5.
//!
//! Each missing file is fetched from the mirrors of a [`MirrorSource`] in order until one
//! succeeds. The bytes stream into a hidden temporary file in the destination folder while
//! their MD5 is computed; the file is renamed to its real name only when the checksum matches
//! the published one, so a failed or corrupt download never leaves a file behind. Downloads
//! are bounded in size ([`MirrorSource::max_file_bytes`]) and time (connect, response and
//! per-read timeouts). A progress bar is drawn on stderr when asked for and stderr is a
//! terminal. Proxies are taken from the usual `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`
//! variables, except for loopback mirrors, which are always reached directly.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use md5::{Digest, Md5};

use super::error::{DataError, DownloadFailure, DownloadFailures, Result};
use super::folder::find_idx_file;
use crate::atomic_file::write_atomically;

/// Default upper bound on the size of one downloaded file: 100 MB (the largest MNIST file
/// is under 10 MB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 100 * 1000 * 1000;

/// How long to wait for a connection to a mirror.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for the response headers once connected.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one read of the body may stall.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest one whole file download may take.
const FILE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// One file a mirror serves, with its published MD5 checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFile {
    /// File name on the mirror and on disk, e.g. `train-images-idx3-ubyte.gz`.
    pub name: String,
    /// Published MD5 of the file, 32 lowercase hex digits.
    pub md5: String,
}

impl MirrorFile {
    /// A file called `name` whose MD5 is `md5` (hex, any case).
    pub fn new(name: impl Into<String>, md5: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            md5: md5.into().to_ascii_lowercase(),
        }
    }

    /// The name without a `.gz` suffix: the name under which an uncompressed copy would count.
    pub fn uncompressed_name(&self) -> &str {
        self.name.strip_suffix(".gz").unwrap_or(&self.name)
    }
}

/// Where the files of a dataset can be downloaded from: base URLs tried in order, and the
/// files with their checksums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSource {
    /// Base URLs; a file's URL is the base URL, a `/` if it has none, and the file name.
    pub base_urls: Vec<String>,
    /// The files to fetch.
    pub files: Vec<MirrorFile>,
    /// Downloads larger than this many bytes are refused.
    pub max_file_bytes: u64,
}

impl MirrorSource {
    /// A source serving `files` from `base_urls`, with the default size limit.
    pub fn new(base_urls: Vec<String>, files: Vec<MirrorFile>) -> Self {
        Self {
            base_urls,
            files,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// The same files served from other base URLs (mirrors of the same files).
    pub fn with_base_urls(mut self, base_urls: Vec<String>) -> Self {
        self.base_urls = base_urls;
        self
    }

    /// The URL of `file_name` on the mirror `base_url`.
    pub fn url(base_url: &str, file_name: &str) -> String {
        format!("{}/{}", base_url.trim_end_matches('/'), file_name)
    }

    /// The file names of this source as an English list: `a, b, c and d`.
    pub fn file_names(&self) -> String {
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }
}

/// Downloads every file of `source` that `folder` does not hold yet (neither raw nor `.gz`),
/// creating the folder if needed (and removing what it created when the download fails before
/// any file is kept). Files already present are left alone: they are validated when read. `dataset` names the data in messages. Returns the paths downloaded.
pub fn download_missing(
    source: &MirrorSource,
    dataset: &str,
    folder: &Path,
    progress: bool,
) -> Result<Vec<PathBuf>> {
    let missing: Vec<&MirrorFile> = source
        .files
        .iter()
        .filter(|file| find_idx_file(folder, file.uncompressed_name()).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    if let Ok(metadata) = std::fs::metadata(folder) {
        if !metadata.is_dir() {
            return Err(DataError::NotAFolder {
                folder: folder.to_path_buf(),
                kind: crate::data::regular_file::file_kind(&metadata),
            });
        }
    }
    let created = missing_folders(folder);
    std::fs::create_dir_all(folder).map_err(|e| DataError::io("create the folder", folder, e))?;
    let result = download_into(source, dataset, folder, &missing, progress);
    if result.is_err() {
        // The folders this call made go again when nothing was kept in them (deepest first;
        // `remove_dir` leaves a folder that holds a file downloaded before the failure).
        for made in &created {
            let _ = std::fs::remove_dir(made);
        }
    }
    result
}

/// `folder` and those of its ancestors that do not exist, deepest first.
fn missing_folders(folder: &Path) -> Vec<PathBuf> {
    folder
        .ancestors()
        .take_while(|path| !path.as_os_str().is_empty() && std::fs::symlink_metadata(path).is_err())
        .map(Path::to_path_buf)
        .collect()
}

/// Downloads the files `missing` of `source` into the existing `folder`; on a failure the
/// files downloaded before it stay, so that the next call fetches only the rest.
fn download_into(
    source: &MirrorSource,
    dataset: &str,
    folder: &Path,
    missing: &[&MirrorFile],
    progress: bool,
) -> Result<Vec<PathBuf>> {
    let show_progress = progress && io::stderr().is_terminal();
    let mut downloaded = Vec::with_capacity(missing.len());
    for &file in missing {
        let destination = folder.join(&file.name);
        let mut failures = Vec::new();
        if source.base_urls.is_empty() {
            failures.push(DownloadFailure::NoMirror);
        }
        for base_url in &source.base_urls {
            let url = MirrorSource::url(base_url, &file.name);
            match download_file(
                &url,
                &destination,
                file,
                source.max_file_bytes,
                show_progress,
            ) {
                Ok(()) => {
                    failures.clear();
                    break;
                }
                Err(failure) => failures.push(failure),
            }
        }
        if !failures.is_empty() {
            return Err(DataError::DownloadFailed {
                dataset: dataset.to_string(),
                file: file.name.clone(),
                failures: DownloadFailures(failures),
                needed: source.file_names(),
                folder: folder.to_path_buf(),
            });
        }
        downloaded.push(destination);
    }
    Ok(downloaded)
}

/// Downloads `url` to `destination` through a temporary file that is kept only if its MD5
/// is `file.md5`.
fn download_file(
    url: &str,
    destination: &Path,
    file: &MirrorFile,
    max_bytes: u64,
    show_progress: bool,
) -> std::result::Result<(), DownloadFailure> {
    let network = |message: String| DownloadFailure::Network {
        url: url.to_string(),
        message,
    };
    let response = agent_for(url)
        .get(url)
        .call()
        .map_err(|error| match error {
            ureq::Error::StatusCode(status) => DownloadFailure::HttpStatus {
                url: url.to_string(),
                status,
            },
            other => network(other.to_string()),
        })?;
    let content_length = response.body().content_length();
    if content_length.is_some_and(|len| len > max_bytes) {
        return Err(DownloadFailure::TooLarge {
            url: url.to_string(),
            limit: max_bytes,
        });
    }
    let body = response.into_body().into_reader();
    let mut body = body.take(max_bytes.saturating_add(1));
    let bar = progress_bar(content_length, &file.name, show_progress);

    // The closure reports why it stopped through `failure`; its io::Error only makes
    // write_atomically discard the temporary file.
    let mut failure = None;
    let written = write_atomically(destination, |out| {
        let mut hasher = Md5::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failure = Some(network(e.to_string()));
                    return Err(e);
                }
            };
            total += n as u64;
            if total > max_bytes {
                failure = Some(DownloadFailure::TooLarge {
                    url: url.to_string(),
                    limit: max_bytes,
                });
                return Err(io::Error::other("download too large"));
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n])?;
            bar.inc(n as u64);
        }
        let got = hex(&hasher.finalize());
        if got != file.md5 {
            failure = Some(DownloadFailure::Checksum {
                url: url.to_string(),
                expected: file.md5.clone(),
                got,
            });
            return Err(io::Error::other("checksum mismatch"));
        }
        Ok(())
    });
    bar.finish_and_clear();
    written.map_err(|error| {
        failure.unwrap_or_else(|| DownloadFailure::Write {
            path: destination.to_path_buf(),
            message: error.to_string(),
        })
    })
}

/// An HTTP agent with bounded timeouts; loopback URLs bypass any configured proxy.
fn agent_for(url: &str) -> ureq::Agent {
    let builder = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(RESPONSE_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .timeout_global(Some(FILE_TIMEOUT));
    let builder = if is_loopback_url(url) {
        builder.proxy(None)
    } else {
        builder
    };
    builder.build().into()
}

/// Whether `url` points at this machine (`localhost`, `127.x.x.x` or `[::1]`).
fn is_loopback_url(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or("");
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn progress_bar(len: Option<u64>, name: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    let template = if len.is_some() {
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{spinner} {msg} {bytes} {bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("downloading {name}"));
    bar
}

/// The MD5 of `bytes` as 32 lowercase hex digits.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_known_strings() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn recognises_loopback_urls() {
        assert!(is_loopback_url("http://127.0.0.1:8080/mnist/"));
        assert!(is_loopback_url("http://localhost/x"));
        assert!(is_loopback_url("http://[::1]:99/"));
        assert!(!is_loopback_url(
            "https://ossci-datasets.s3.amazonaws.com/mnist/"
        ));
        assert!(!is_loopback_url("http://127.0.0.1.example.com/"));
    }

    #[test]
    fn joins_base_urls_with_exactly_one_slash() {
        assert_eq!(MirrorSource::url("http://a/b/", "f.gz"), "http://a/b/f.gz");
        assert_eq!(MirrorSource::url("http://a/b", "f.gz"), "http://a/b/f.gz");
    }
}
