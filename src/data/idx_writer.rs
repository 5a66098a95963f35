//! Writing IDX files (raw or gzip), for tests, benchmarks and exporting generated data.
//! Files are written atomically: a reader never sees a half-written file.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::error::{DataError, Result};
use super::idx::IDX_UNSIGNED_BYTE;
use crate::atomic_file::write_atomically;

/// The bytes of an IDX image file holding `pixels.len() / (rows * cols)` images of
/// `rows x cols` bytes, gzip-compressed if `gzip`.
pub fn encode_idx_images(rows: usize, cols: usize, pixels: &[u8], gzip: bool) -> Result<Vec<u8>> {
    let header = image_header(rows, cols, pixels.len())?;
    encode(&header, pixels, gzip)
}

/// The bytes of an IDX label file holding `labels`, gzip-compressed if `gzip`.
pub fn encode_idx_labels(labels: &[u8], gzip: bool) -> Result<Vec<u8>> {
    let header = label_header(labels.len())?;
    encode(&header, labels, gzip)
}

/// Writes an IDX image file of `pixels.len() / (rows * cols)` images of `rows x cols` bytes
/// to `path` atomically, gzip-compressed if `gzip`.
pub fn write_idx_images(
    path: &Path,
    rows: usize,
    cols: usize,
    pixels: &[u8],
    gzip: bool,
) -> Result<()> {
    let header = image_header(rows, cols, pixels.len())?;
    write(path, &header, pixels, gzip)
}

/// Writes an IDX label file holding `labels` to `path` atomically, gzip-compressed if `gzip`.
pub fn write_idx_labels(path: &Path, labels: &[u8], gzip: bool) -> Result<()> {
    let header = label_header(labels.len())?;
    write(path, &header, labels, gzip)
}

fn image_header(rows: usize, cols: usize, pixel_count: usize) -> Result<Vec<u8>> {
    let image_len = rows.checked_mul(cols).filter(|&len| len > 0);
    let Some(image_len) = image_len else {
        return Err(DataError::InvalidDataset {
            reason: format!("cannot write images of {rows}x{cols} pixels; expected at least 1x1"),
        });
    };
    if !pixel_count.is_multiple_of(image_len) {
        return Err(DataError::InvalidDataset {
            reason: format!(
                "{pixel_count} pixels do not make whole images of {rows}x{cols}; expected a multiple of {image_len}"
            ),
        });
    }
    let mut header = vec![0, 0, IDX_UNSIGNED_BYTE, 3];
    for size in [pixel_count / image_len, rows, cols] {
        header.extend_from_slice(&idx_size(size)?.to_be_bytes());
    }
    Ok(header)
}

fn label_header(count: usize) -> Result<Vec<u8>> {
    let mut header = vec![0, 0, IDX_UNSIGNED_BYTE, 1];
    header.extend_from_slice(&idx_size(count)?.to_be_bytes());
    Ok(header)
}

fn idx_size(size: usize) -> Result<u32> {
    u32::try_from(size).map_err(|_| DataError::InvalidDataset {
        reason: format!(
            "size {size} does not fit an IDX header; expected at most {}",
            u32::MAX
        ),
    })
}

fn encode(header: &[u8], data: &[u8], gzip: bool) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(header.len() + data.len());
    write_payload(&mut bytes, header, data, gzip).expect("writing into a Vec<u8> cannot fail");
    Ok(bytes)
}

fn write(path: &Path, header: &[u8], data: &[u8], gzip: bool) -> Result<()> {
    write_atomically(path, |file| write_payload(file, header, data, gzip))
        .map_err(|e| DataError::io("write", path, e))
}

fn write_payload(
    out: &mut impl Write,
    header: &[u8],
    data: &[u8],
    gzip: bool,
) -> std::io::Result<()> {
    if gzip {
        let mut encoder = GzEncoder::new(out, Compression::default());
        encoder.write_all(header)?;
        encoder.write_all(data)?;
        encoder.finish()?;
    } else {
        out.write_all(header)?;
        out.write_all(data)?;
    }
    Ok(())
}
