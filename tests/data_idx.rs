//! IDX reading and writing: round trips, every malformed-file case with its message, and a
//! property test that no byte string makes the reader panic.

use std::io::Write;
use std::path::{Path, PathBuf};

use backprop::data::{
    decode_idx_images, decode_idx_labels, encode_idx_images, encode_idx_labels, load_idx_pair,
    read_idx_images, read_idx_labels, write_idx_images, write_idx_labels, DataError,
};
use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;

/// An IDX file: magic `00 00 type dims`, big-endian sizes, then `data`.
fn idx_bytes(data_type: u8, sizes: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, data_type, sizes.len() as u8];
    for size in sizes {
        bytes.extend_from_slice(&size.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn images_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "images.idx", bytes);
    let message = read_idx_images(&path).unwrap_err().to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "path missing from: {message}"
    );
    message
}

fn labels_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "labels.idx", bytes);
    let message = read_idx_labels(&path).unwrap_err().to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "path missing from: {message}"
    );
    message
}

/// Three 2x2 images with distinct pixels.
const PIXELS: [u8; 12] = [0, 1, 2, 3, 4, 127, 128, 129, 200, 253, 254, 255];

#[test]
fn raw_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let labels = dir.path().join("labels");
    write_idx_images(&images, 2, 2, &PIXELS, false).unwrap();
    write_idx_labels(&labels, &[3, 0, 9], false).unwrap();
    assert_eq!(
        std::fs::read(&images).unwrap(),
        idx_bytes(8, &[3, 2, 2], &PIXELS)
    );

    let read = read_idx_images(&images).unwrap();
    assert_eq!((read.count, read.rows, read.cols), (3, 2, 2));
    assert_eq!(read.pixels, PIXELS);
    assert_eq!(read_idx_labels(&labels).unwrap(), vec![3, 0, 9]);
}

#[test]
fn gzip_files_round_trip_and_are_detected_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    // A gzip file without .gz and a raw file with .gz: both must read correctly.
    let gzip_images = dir.path().join("images-without-suffix");
    let raw_labels = dir.path().join("labels.gz");
    write_idx_images(&gzip_images, 2, 2, &PIXELS, true).unwrap();
    write_idx_labels(&raw_labels, &[3, 0, 9], false).unwrap();
    assert_eq!(std::fs::read(&gzip_images).unwrap()[..2], [0x1f, 0x8b]);

    let read = read_idx_images(&gzip_images).unwrap();
    assert_eq!((read.count, read.rows, read.cols), (3, 2, 2));
    assert_eq!(read.pixels, PIXELS);
    assert_eq!(read_idx_labels(&raw_labels).unwrap(), vec![3, 0, 9]);

    let dataset = load_idx_pair(&gzip_images, &raw_labels).unwrap();
    assert_eq!(dataset.len(), 3);
    assert_eq!(dataset.image_shape(), Some((2, 2)));
}

#[test]
fn in_memory_encoding_matches_the_decoder() {
    let path = Path::new("memory");
    for gzip in [false, true] {
        let images = encode_idx_images(2, 2, &PIXELS, gzip).unwrap();
        assert_eq!(decode_idx_images(&images, path).unwrap().pixels, PIXELS);
        let labels = encode_idx_labels(&[1, 2, 3], gzip).unwrap();
        assert_eq!(decode_idx_labels(&labels, path).unwrap(), vec![1, 2, 3]);
    }
}

#[test]
fn the_writer_rejects_pixels_that_do_not_fill_whole_images() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("images");
    let err = write_idx_images(&path, 2, 2, &PIXELS[..11], false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid dataset: 11 pixels do not make whole images of 2x2; expected a multiple of 4"
    );
    let err = write_idx_images(&path, 0, 2, &PIXELS, false).unwrap_err();
    assert!(err.to_string().contains("images of 0x2 pixels"), "{err}");
    assert!(!path.exists());
}

#[test]
fn wrong_magic_is_rejected() {
    let message = images_error(b"PK\x03\x04 this is a zip file, not IDX");
    assert!(
        message.contains("is not an IDX file: it starts with bytes 50 4b 03 04, expected 00 00"),
        "{message}"
    );
}

#[test]
fn wrong_data_type_is_rejected() {
    // 0x0D is the IDX code for 32-bit floats.
    let message = images_error(&idx_bytes(0x0D, &[1, 1, 1], &[0, 0, 0, 0]));
    assert!(
        message.contains("holds IDX data type 0x0d, expected 0x08 (unsigned bytes)"),
        "{message}"
    );
}

#[test]
fn wrong_dimension_counts_are_rejected() {
    let labels_file = idx_bytes(8, &[3], &[1, 2, 3]);
    let message = images_error(&labels_file);
    assert!(
        message.contains("has 1 dimension(s), expected 3 for an IDX images file"),
        "{message}"
    );
    let images_file = idx_bytes(8, &[3, 2, 2], &PIXELS);
    let message = labels_error(&images_file);
    assert!(
        message.contains("has 3 dimension(s), expected 1 for an IDX labels file"),
        "{message}"
    );
}

#[test]
fn truncated_files_are_rejected() {
    let short = idx_bytes(8, &[3, 2, 2], &PIXELS[..10]);
    let expected = "is truncated: its header declares 12 bytes of data but only 10 follow";
    let message = images_error(&short);
    assert!(message.contains(expected), "{message}");
    let message = images_error(&gzip(&short));
    assert!(message.contains(expected), "{message}");

    let message = images_error(&[0, 0, 8, 3, 0, 0, 0, 3, 0]);
    assert!(
        message.contains(
            "is too short to be an IDX file: it ends after 9 bytes, inside the 16-byte header"
        ),
        "{message}"
    );
    let message = labels_error(&[]);
    assert!(
        message.contains("ends after 0 bytes, inside the 8-byte header"),
        "{message}"
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut long = idx_bytes(8, &[3, 2, 2], &PIXELS);
    long.push(42);
    let expected = "has trailing bytes: its header declares 12 bytes of data but more follow";
    let message = images_error(&long);
    assert!(message.contains(expected), "{message}");
    let message = images_error(&gzip(&long));
    assert!(message.contains(expected), "{message}");
    let message = labels_error(&gzip(&idx_bytes(8, &[2], &[1, 2, 3])));
    assert!(
        message.contains("declares 2 bytes of data but more follow"),
        "{message}"
    );
}

#[test]
fn zero_sizes_are_rejected() {
    let message = images_error(&idx_bytes(8, &[0, 28, 28], &[]));
    assert!(
        message.contains("declares zero items; expected at least one"),
        "{message}"
    );
    let message = labels_error(&gzip(&idx_bytes(8, &[0], &[])));
    assert!(message.contains("declares zero items"), "{message}");
    let message = images_error(&idx_bytes(8, &[5, 0, 28], &[]));
    assert!(message.contains("declares zero rows"), "{message}");
    let message = images_error(&idx_bytes(8, &[5, 28, 0], &[]));
    assert!(message.contains("declares zero columns"), "{message}");
}

#[test]
fn image_and_label_count_mismatch_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("imgs");
    let labels = dir.path().join("lbls");
    write_idx_images(&images, 2, 2, &PIXELS, false).unwrap();
    write_idx_labels(&labels, &[1, 2], true).unwrap();
    let err = load_idx_pair(&images, &labels).unwrap_err();
    assert!(matches!(
        err,
        DataError::CountMismatch {
            images: 3,
            labels: 2,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "{} holds 3 images but {} holds 2 labels; expected the same count",
            images.display(),
            labels.display()
        )
    );
}

#[test]
fn corrupt_gzip_is_reported() {
    let good = gzip(&idx_bytes(8, &[3, 2, 2], &PIXELS));
    // A wrong CRC-32 in the gzip trailer.
    let mut bad_crc = good.clone();
    let crc_at = bad_crc.len() - 8;
    bad_crc[crc_at] ^= 0xff;
    let message = images_error(&bad_crc);
    assert!(message.contains("is not a valid gzip file"), "{message}");

    // A gzip header with an unknown compression method.
    let message = images_error(&[0x1f, 0x8b, 0x63, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    assert!(message.contains("is not a valid gzip file"), "{message}");

    // Garbage inside the deflate stream.
    let mut garbage = good;
    for byte in &mut garbage[10..20] {
        *byte = 0xff;
    }
    let message = images_error(&garbage);
    assert!(
        message.contains("is not a valid gzip file") || message.contains("is truncated"),
        "{message}"
    );
}

#[test]
fn a_huge_header_count_in_a_small_file_is_rejected_before_allocating() {
    // MNIST-sized header (60000 28x28 images = 47 MB), 84 bytes of data: 100 bytes in all.
    let file = idx_bytes(8, &[60_000, 28, 28], &[7; 84]);
    assert_eq!(file.len(), 100);
    let message = images_error(&file);
    assert!(
        message.contains(
            "is truncated: its header declares 47040000 bytes of data but only 84 follow"
        ),
        "{message}"
    );

    // The largest sizes the header can express: refused by the caps, before the file's
    // length is even considered.
    let message = images_error(&idx_bytes(8, &[u32::MAX, u32::MAX, u32::MAX], &[0; 84]));
    assert!(
        message.contains(
            "declares images of 4294967295x4294967295 pixels, more than the limit of 65536 pixels per image"
        ),
        "{message}"
    );
    let message = images_error(&idx_bytes(8, &[u32::MAX, 256, 256], &[0; 84]));
    assert!(
        message.contains(
            "declares 281474976645120 bytes of data, more than the limit of 1073741824 bytes for an IDX file"
        ),
        "{message}"
    );

    // The same lie, gzip-compressed: a gzip file this small cannot hold 47 MB.
    let compressed = gzip(&idx_bytes(8, &[60_000, 28, 28], &[7; 84]));
    assert!(compressed.len() < 100);
    let message = images_error(&compressed);
    let expected = format!(
        "is corrupt: its header declares 47040000 bytes of data, but a gzip file of {} bytes can hold at most {}",
        compressed.len(),
        compressed.len() * 1032
    );
    assert!(message.contains(&expected), "{message}");
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent-images");
    let message = read_idx_images(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("cannot open {}", path.display())),
        "{message}"
    );
}

/// Arbitrary bytes, bytes behind a valid-looking header, and both gzip-compressed.
fn idx_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let header_sizes = prop::collection::vec(prop_oneof![Just(0u32), 1u32..5, any::<u32>()], 0..4);
    let tail = prop::collection::vec(any::<u8>(), 0..64);
    let plausible =
        (0u8..2, 0u8..5, header_sizes, tail).prop_map(|(type_bit, dims, sizes, tail)| {
            let mut bytes = vec![0, 0, if type_bit == 0 { 8 } else { 9 }, dims];
            for size in sizes {
                bytes.extend_from_slice(&size.to_be_bytes());
            }
            bytes.extend(tail);
            bytes
        });
    let raw = prop_oneof![prop::collection::vec(any::<u8>(), 0..256), plausible];
    (raw, any::<bool>(), any::<u16>()).prop_map(|(bytes, compress, flip)| {
        if !compress {
            return bytes;
        }
        let mut compressed = gzip(&bytes);
        // Sometimes damage the compressed stream too.
        let at = flip as usize % (compressed.len() + 8);
        if at < compressed.len() && flip % 3 == 0 {
            compressed[at] ^= (flip >> 8) as u8 | 1;
        }
        compressed
    })
}

proptest! {
    #[test]
    fn the_reader_never_panics(bytes in idx_like_bytes()) {
        let path = Path::new("fuzz.idx");
        let images = decode_idx_images(&bytes, path);
        let labels = decode_idx_labels(&bytes, path);
        if let Ok(images) = images {
            prop_assert_eq!(images.pixels.len(), images.count * images.rows * images.cols);
        }
        if let Err(err) = labels {
            prop_assert!(err.to_string().contains("fuzz.idx"));
        }
    }
}
