//! Downloading named datasets from a mirror: a tiny HTTP/1.1 server on the loopback
//! interface serves generated gzip IDX files, and the tests check that verified files land
//! and load, that bad checksums and oversized files leave nothing behind, and that an
//! unreachable mirror gives a message naming the four files and the folder.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use backprop::data::{
    encode_idx_images, encode_idx_labels, load_named, md5_hex, DataError, DownloadFailure,
    MirrorFile, MirrorSource, NamedDataset, IDX_FILE_NAMES,
};

/// The longest a test server stays up.
const SERVER_LIFETIME: Duration = Duration::from_secs(20);

/// A loopback HTTP/1.1 server answering at most `max_requests` GET requests from `files`
/// (URL path -> body; anything else is 404), then stopping. Joining it gives the paths
/// requested.
struct TestServer {
    base_url: String,
    handle: JoinHandle<Vec<String>>,
}

impl TestServer {
    fn start(files: HashMap<String, Vec<u8>>, max_requests: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + SERVER_LIFETIME;
            let mut requested = Vec::new();
            while requested.len() < max_requests && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(path) = answer(stream, &files) {
                            requested.push(path);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept failed: {e}"),
                }
            }
            requested
        });
        Self { base_url, handle }
    }

    fn requested(self) -> Vec<String> {
        self.handle.join().unwrap()
    }
}

/// Reads one request from `stream` and answers it; returns the requested path.
fn answer(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1)?.to_string();
    let (status, body): (&str, &[u8]) = match files.get(&path) {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not here"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    stream.flush().ok()?;
    Some(path)
}

/// Generated gzip IDX files named like MNIST's: 20 train and 6 test images of 4x4.
fn generated_files() -> Vec<(String, Vec<u8>)> {
    let images = |count: usize, shift: u8| -> Vec<u8> {
        (0..count * 16)
            .map(|i| (i as u8).wrapping_mul(7).wrapping_add(shift))
            .collect()
    };
    let labels = |count: usize| -> Vec<u8> { (0..count).map(|i| (i % 10) as u8).collect() };
    vec![
        (
            "train-images-idx3-ubyte.gz".into(),
            encode_idx_images(4, 4, &images(20, 0), true).unwrap(),
        ),
        (
            "train-labels-idx1-ubyte.gz".into(),
            encode_idx_labels(&labels(20), true).unwrap(),
        ),
        (
            "t10k-images-idx3-ubyte.gz".into(),
            encode_idx_images(4, 4, &images(6, 3), true).unwrap(),
        ),
        (
            "t10k-labels-idx1-ubyte.gz".into(),
            encode_idx_labels(&labels(6), true).unwrap(),
        ),
    ]
}

/// The server's files under `/mnist/` and a source listing them with their true MD5s.
fn served_mnist() -> (HashMap<String, Vec<u8>>, Vec<MirrorFile>) {
    let generated = generated_files();
    let files = generated
        .iter()
        .map(|(name, bytes)| MirrorFile::new(name.clone(), md5_hex(bytes)))
        .collect();
    let served = generated
        .into_iter()
        .map(|(name, bytes)| (format!("/mnist/{name}"), bytes))
        .collect();
    (served, files)
}

/// A loopback URL on which nothing listens.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/mnist/")
}

fn folder_entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn downloads_missing_files_verifies_them_and_loads_them() {
    let (served, files) = served_mnist();
    let server = TestServer::start(served, 4);
    let source = MirrorSource::new(vec![format!("{}/mnist/", server.base_url)], files.clone());
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cache").join("mnist");

    let splits = load_named("mnist", Some(&folder), &source, false).unwrap();
    assert_eq!(splits.train.len(), 20);
    assert_eq!(splits.train.image_shape(), Some((4, 4)));
    assert_eq!(splits.test.as_ref().unwrap().len(), 6);
    assert_eq!(splits.train.labels()[13], 3);

    let mut requested = server.requested();
    requested.sort();
    let mut expected: Vec<String> = files.iter().map(|f| format!("/mnist/{}", f.name)).collect();
    expected.sort();
    assert_eq!(requested, expected);
    let mut names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    names.sort();
    assert_eq!(
        folder_entries(&folder),
        names,
        "no temporary files may remain"
    );

    // Everything is on disk now: loading again needs no mirror at all.
    let offline = source.with_base_urls(vec![closed_port_url()]);
    let again = load_named("mnist", Some(&folder), &offline, false).unwrap();
    assert_eq!(again, splits);
}

#[test]
fn files_already_present_raw_or_gzip_are_not_downloaded() {
    let (served, files) = served_mnist();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    // The uncompressed train labels are already there.
    let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    backprop::data::write_idx_labels(&folder.join("train-labels-idx1-ubyte"), &labels, false)
        .unwrap();
    let server = TestServer::start(served, 3);
    let source = MirrorSource::new(vec![format!("{}/mnist", server.base_url)], files);

    let splits = load_named("mnist", Some(folder), &source, false).unwrap();
    assert_eq!(splits.train.labels(), labels.as_slice());
    let requested = server.requested();
    assert_eq!(requested.len(), 3);
    assert!(!requested.iter().any(|path| path.contains("train-labels")));
}

#[test]
fn a_wrong_checksum_rejects_the_file_and_leaves_nothing() {
    let (served, mut files) = served_mnist();
    let actual = files[0].md5.clone();
    files[0].md5 = "0123456789abcdef0123456789abcdef".to_string();
    let server = TestServer::start(served, 1);
    let source = MirrorSource::new(vec![format!("{}/mnist/", server.base_url)], files);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mnist");

    let err = load_named("mnist", Some(&folder), &source, false).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "wrong checksum, expected md5 0123456789abcdef0123456789abcdef, got {actual}"
        )),
        "{message}"
    );
    match err {
        DataError::DownloadFailed { file, failures, .. } => {
            assert_eq!(file, "train-images-idx3-ubyte.gz");
            assert!(matches!(
                failures.0.as_slice(),
                [DownloadFailure::Checksum { .. }]
            ));
        }
        other => panic!("unexpected error {other}"),
    }
    // No file, no temporary file, and not the folder the download made.
    assert!(!folder.exists());
    assert_eq!(folder_entries(dir.path()), Vec::<String>::new());
    assert_eq!(
        server.requested(),
        vec!["/mnist/train-images-idx3-ubyte.gz".to_string()]
    );
}

#[test]
fn an_unreachable_mirror_names_the_four_files_and_the_folder() {
    let (_, files) = served_mnist();
    let source = MirrorSource::new(vec![closed_port_url()], files);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("offline").join("mnist");

    let message = load_named("mnist", Some(&folder), &source, false)
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("cannot download train-images-idx3-ubyte.gz for mnist ("),
        "{message}"
    );
    for name in IDX_FILE_NAMES {
        assert!(
            message.contains(&format!("{name}.gz")),
            "{name} missing from: {message}"
        );
    }
    assert!(
        message.ends_with(&format!("t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzipped or unpacked) into {} yourself", folder.display())),
        "{message}"
    );
    assert!(!message.contains('\n'));
    // The folders the download made are gone again; the one that was there stays.
    assert!(!dir.path().join("offline").exists());
    assert!(dir.path().exists());
}

#[test]
fn a_data_folder_that_is_a_file_is_named_for_what_it_is() {
    let (_, files) = served_mnist();
    let source = MirrorSource::new(vec![closed_port_url()], files);
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("mnist");
    std::fs::write(&folder, b"notes").unwrap();

    let message = load_named("mnist", Some(&folder), &source, false)
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        format!(
            "the data folder {} is a file, not a folder",
            folder.display()
        )
    );
    assert_eq!(std::fs::read(&folder).unwrap(), b"notes");
}

#[test]
fn the_next_mirror_is_tried_when_one_fails() {
    let (served, files) = served_mnist();
    let server = TestServer::start(served, 4);
    let source = MirrorSource::new(
        vec![closed_port_url(), format!("{}/mnist/", server.base_url)],
        files,
    );
    let dir = tempfile::tempdir().unwrap();
    let splits = load_named("mnist", Some(dir.path()), &source, false).unwrap();
    assert_eq!(splits.train.len(), 20);
    assert_eq!(server.requested().len(), 4);
}

#[test]
fn http_errors_and_oversized_files_are_reported() {
    let (served, files) = served_mnist();
    let server = TestServer::start(served, 2);
    let dir = tempfile::tempdir().unwrap();

    // The files are under /mnist/, not /elsewhere/: the server answers 404.
    let missing = MirrorSource::new(
        vec![format!("{}/elsewhere/", server.base_url)],
        files.clone(),
    );
    let message = load_named("mnist", Some(dir.path()), &missing, false)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("/elsewhere/train-images-idx3-ubyte.gz: HTTP status 404"),
        "{message}"
    );

    let mut small = MirrorSource::new(vec![format!("{}/mnist/", server.base_url)], files);
    small.max_file_bytes = 10;
    let message = load_named("mnist", Some(dir.path()), &small, false)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("larger than the 10-byte download limit"),
        "{message}"
    );
    assert_eq!(folder_entries(dir.path()), Vec::<String>::new());
    assert_eq!(server.requested().len(), 2);
}

#[test]
fn a_source_without_mirrors_says_so() {
    let (_, files) = served_mnist();
    let source = MirrorSource::new(Vec::new(), files);
    let dir = tempfile::tempdir().unwrap();
    let message = load_named("mnist", Some(dir.path()), &source, false)
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with(
            "cannot download train-images-idx3-ubyte.gz for mnist (no mirror is configured); put "
        ),
        "{message}"
    );
}

#[test]
fn unknown_names_are_rejected_before_any_download() {
    let source = NamedDataset::Mnist
        .canonical_source()
        .with_base_urls(vec![closed_port_url()]);
    let dir = tempfile::tempdir().unwrap();
    let err = load_named("cifar-10", Some(dir.path()), &source, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown dataset \"cifar-10\"; expected one of: mnist, fashion-mnist"
    );
}

#[test]
fn canonical_sources_are_the_torchvision_mirrors_and_checksums() {
    let mnist = NamedDataset::Mnist.canonical_source();
    assert_eq!(
        mnist.base_urls,
        vec!["https://ossci-datasets.s3.amazonaws.com/mnist/"]
    );
    assert_eq!(mnist.files[0].name, "train-images-idx3-ubyte.gz");
    assert_eq!(mnist.files[0].md5, "f68b3c2dcbeaaa9fbdd348bbdeb94873");
    assert_eq!(mnist.files[3].md5, "ec29112dd5afa0611ce80d1b7f02629c");
    let fashion = NamedDataset::FashionMnist.canonical_source();
    assert_eq!(
        fashion.base_urls,
        vec!["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    );
    assert_eq!(fashion.files[0].md5, "8d4fb7e6c68d591d4c3dfef9ec88bf0d");
    assert_eq!(fashion.files[2].name, "t10k-images-idx3-ubyte.gz");
    assert_eq!(fashion.files[2].md5, "bef4ecab320f06d8554ea6380940ec79");
    for source in [mnist, fashion] {
        let names: Vec<&str> = source.files.iter().map(|f| f.uncompressed_name()).collect();
        assert_eq!(names, IDX_FILE_NAMES);
        assert_eq!(source.max_file_bytes, 100_000_000);
    }
}
