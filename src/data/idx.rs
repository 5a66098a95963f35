//! Reading IDX files, the format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a header — two zero bytes, a data type byte (0x08 = unsigned byte), a
//! dimension count, then one big-endian `u32` size per dimension — followed by the data in
//! row-major order. Image files have 3 dimensions (items, rows, columns), label files 1.
//!
//! Compression is detected from the gzip magic bytes `1f 8b`, never from the file name.
//! Every size in the header is checked against how much data the file can actually hold
//! *before* anything is allocated: a raw file must hold exactly the declared bytes, and a
//! gzip file can hold at most [`MAX_DEFLATE_RATIO`] times its own size, so a 100-byte file
//! can never make the reader reserve gigabytes (and no more than 64 MiB is reserved for
//! gzip data before it has actually arrived). Missing or extra data is an error.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::error::{DataError, Result};
use super::huge_pages::advise_huge_pages;
use super::regular_file::open_regular;

/// The two bytes every gzip stream starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The IDX data type code of unsigned bytes, the only type this reader accepts.
pub const IDX_UNSIGNED_BYTE: u8 = 0x08;

/// The largest factor by which DEFLATE can shrink data (a stream of 258-byte matches costs
/// about 2 bits each); a gzip file of `n` bytes never decompresses to more than `n` times this.
pub const MAX_DEFLATE_RATIO: u64 = 1032;

/// The most memory reserved up front for the data of a gzip file (64 MiB, more than any
/// MNIST file holds). The ratio bound still lets a gzip file claim 1032 times its size, so a
/// larger claim is only believed as the data actually arrives.
const GZIP_PREALLOCATION_LIMIT: usize = 64 << 20;

/// The most data bytes (after decompression) one IDX file may declare: 1 GiB, twenty times
/// the 47 MB of MNIST's training images. The header's declared size is checked against it
/// before anything is allocated, and a gzip stream is never inflated past the declared size
/// plus one byte, so no file, however it is compressed, makes the reader hold more than this.
pub const MAX_IDX_DATA_BYTES: u64 = 1 << 30;

/// The most pixels (`rows * cols`) one image of an IDX file may have: 16,777,216 (4096 x
/// 4096, as for a PNG given to `predict`), checked from the header before any data is read.
/// Each pixel is an input of the network, so the first weight matrix grows with it; the
/// memory the model would need is checked separately, against the memory limit, before
/// anything is trained.
pub const MAX_IDX_IMAGE_PIXELS: u64 = 1 << 24;

/// The images of one IDX image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// All pixels, image after image, each image row-major: `count * rows * cols` bytes.
    pub pixels: Vec<u8>,
}

/// Which kind of IDX file is expected, which fixes the number of dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdxKind {
    Images,
    Labels,
}

impl IdxKind {
    fn dimensions(self) -> u8 {
        match self {
            Self::Images => 3,
            Self::Labels => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Images => "images",
            Self::Labels => "labels",
        }
    }

    fn dimension_name(self, dimension: usize) -> &'static str {
        match dimension {
            0 => "items",
            1 => "rows",
            _ => "columns",
        }
    }
}

/// Reads an IDX image file (3 dimensions of unsigned bytes), raw or gzip-compressed.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    let (sizes, pixels) = read_idx_file(path, IdxKind::Images)?;
    Ok(images_from(sizes, pixels))
}

/// Reads an IDX label file (1 dimension of unsigned bytes), raw or gzip-compressed.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    read_idx_file(path, IdxKind::Labels).map(|(_, labels)| labels)
}

/// Decodes the bytes of an IDX image file held in memory; `path` only names the source in
/// error messages.
pub fn decode_idx_images(bytes: &[u8], path: &Path) -> Result<IdxImages> {
    let (sizes, pixels) = decode_idx(bytes, bytes.len() as u64, path, IdxKind::Images)?;
    Ok(images_from(sizes, pixels))
}

/// Decodes the bytes of an IDX label file held in memory; `path` only names the source in
/// error messages.
pub fn decode_idx_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    decode_idx(bytes, bytes.len() as u64, path, IdxKind::Labels).map(|(_, labels)| labels)
}

fn images_from(sizes: Vec<usize>, pixels: Vec<u8>) -> IdxImages {
    IdxImages {
        count: sizes[0],
        rows: sizes[1],
        cols: sizes[2],
        pixels,
    }
}

fn read_idx_file(path: &Path, kind: IdxKind) -> Result<(Vec<usize>, Vec<u8>)> {
    // No limit on the stored size: a raw file must hold exactly what its (capped) header
    // declares, and a gzip stream is read only up to the declared size.
    let (file, metadata): (File, _) = open_regular(path, u64::MAX, "an IDX file")?;
    let stored_len = metadata.len();
    decode_idx(BufReader::new(file), stored_len, path, kind)
}

/// Decodes an IDX stream of `stored_len` bytes (as stored, i.e. compressed if gzip).
fn decode_idx(
    mut source: impl Read,
    stored_len: u64,
    path: &Path,
    kind: IdxKind,
) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut start = [0u8; 2];
    let started =
        read_up_to(&mut source, &mut start).map_err(|e| DataError::io("read", path, e))?;
    let whole = (&start[..started]).chain(source);
    if start[..started] == GZIP_MAGIC {
        let decoder = MultiGzDecoder::new(BufReader::new(whole));
        let stream = IdxStream {
            path,
            kind,
            available: Available::AtMost {
                compressed: stored_len,
                max_possible: stored_len.saturating_mul(MAX_DEFLATE_RATIO),
            },
        };
        stream.decode(decoder)
    } else {
        let stream = IdxStream {
            path,
            kind,
            available: Available::Exactly(stored_len),
        };
        stream.decode(whole)
    }
}

/// How many decoded bytes a stream can hold, known before reading it.
#[derive(Debug, Clone, Copy)]
enum Available {
    /// A raw file: exactly this many bytes.
    Exactly(u64),
    /// A gzip file of `compressed` bytes: at most `max_possible` bytes once decompressed.
    AtMost { compressed: u64, max_possible: u64 },
}

struct IdxStream<'a> {
    path: &'a Path,
    kind: IdxKind,
    available: Available,
}

impl IdxStream<'_> {
    fn read_error(&self, error: io::Error) -> DataError {
        match self.available {
            Available::Exactly(_) => DataError::io("read", self.path, error),
            Available::AtMost { .. } => DataError::CorruptGzip {
                path: self.path.to_path_buf(),
                source: error,
            },
        }
    }

    fn decode(&self, mut reader: impl Read) -> Result<(Vec<usize>, Vec<u8>)> {
        let dimensions = self.kind.dimensions();
        let header_len = 4 + 4 * dimensions as usize;

        let mut magic = [0u8; 4];
        let got = read_up_to(&mut reader, &mut magic).map_err(|e| self.read_error(e))?;
        if got >= 2 && magic[..2] != [0, 0] {
            return Err(DataError::NotIdx {
                path: self.path.to_path_buf(),
                found: hex_bytes(&magic[..got]),
            });
        }
        if got < 4 {
            return Err(self.truncated_header(got, header_len));
        }
        if magic[2] != IDX_UNSIGNED_BYTE {
            return Err(DataError::WrongDataType {
                path: self.path.to_path_buf(),
                found: magic[2],
            });
        }
        if magic[3] != dimensions {
            return Err(DataError::WrongDimensionCount {
                path: self.path.to_path_buf(),
                found: magic[3],
                expected: dimensions,
                kind: self.kind.name(),
            });
        }

        let mut size_bytes = [0u8; 12];
        let size_bytes = &mut size_bytes[..4 * dimensions as usize];
        let got = read_up_to(&mut reader, size_bytes).map_err(|e| self.read_error(e))?;
        if got < size_bytes.len() {
            return Err(self.truncated_header(4 + got, header_len));
        }
        let mut sizes = Vec::with_capacity(dimensions as usize);
        let mut declared: u128 = 1;
        for (dimension, chunk) in size_bytes.chunks_exact(4).enumerate() {
            let size = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            if size == 0 {
                return Err(DataError::ZeroSize {
                    path: self.path.to_path_buf(),
                    what: self.kind.dimension_name(dimension),
                });
            }
            declared *= u128::from(size);
            sizes.push(size as usize);
        }
        if let IdxKind::Images = self.kind {
            let (rows, cols) = (sizes[1] as u32, sizes[2] as u32);
            if u64::from(rows) * u64::from(cols) > MAX_IDX_IMAGE_PIXELS {
                return Err(DataError::ImageTooLarge {
                    path: self.path.to_path_buf(),
                    rows,
                    cols,
                    max: MAX_IDX_IMAGE_PIXELS,
                });
            }
        }
        if declared > u128::from(MAX_IDX_DATA_BYTES) {
            return Err(DataError::TooMuchData {
                path: self.path.to_path_buf(),
                declared,
                max: MAX_IDX_DATA_BYTES,
            });
        }

        let data_len = self.check_declared_fits(declared, header_len as u64)?;
        let data = self.read_data(reader, data_len)?;
        Ok((sizes, data))
    }

    /// Checks, before any allocation, that `declared` data bytes can be in the stream.
    fn check_declared_fits(&self, declared: u128, header_len: u64) -> Result<usize> {
        let declared_u64 = match self.available {
            Available::Exactly(stored) => {
                let found = stored.saturating_sub(header_len);
                if declared > u128::from(found) {
                    return Err(DataError::Truncated {
                        path: self.path.to_path_buf(),
                        expected: declared,
                        found: found.into(),
                    });
                }
                if declared < u128::from(found) {
                    return Err(DataError::TrailingBytes {
                        path: self.path.to_path_buf(),
                        expected: declared as u64,
                    });
                }
                declared as u64
            }
            Available::AtMost {
                compressed,
                max_possible,
            } => {
                if declared > u128::from(max_possible) {
                    return Err(DataError::ImplausibleSize {
                        path: self.path.to_path_buf(),
                        declared,
                        compressed,
                        max_possible,
                    });
                }
                declared as u64
            }
        };
        usize::try_from(declared_u64).map_err(|_| DataError::ImplausibleSize {
            path: self.path.to_path_buf(),
            declared,
            compressed: match self.available {
                Available::Exactly(stored)
                | Available::AtMost {
                    compressed: stored, ..
                } => stored,
            },
            max_possible: usize::MAX as u64,
        })
    }

    /// Reads exactly `data_len` bytes, then checks that nothing follows.
    fn read_data(&self, mut reader: impl Read, data_len: usize) -> Result<Vec<u8>> {
        let reserve = match self.available {
            Available::Exactly(_) => data_len,
            Available::AtMost { .. } => data_len.min(GZIP_PREALLOCATION_LIMIT),
        };
        let mut data = Vec::with_capacity(reserve);
        advise_huge_pages(data.spare_capacity_mut());
        (&mut reader)
            .take(data_len as u64)
            .read_to_end(&mut data)
            .map_err(|e| self.read_error(e))?;
        if data.len() < data_len {
            return Err(DataError::Truncated {
                path: self.path.to_path_buf(),
                expected: data_len as u128,
                found: data.len() as u128,
            });
        }
        let mut probe = [0u8; 1];
        if read_up_to(&mut reader, &mut probe).map_err(|e| self.read_error(e))? > 0 {
            return Err(DataError::TrailingBytes {
                path: self.path.to_path_buf(),
                expected: data_len as u64,
            });
        }
        Ok(data)
    }

    fn truncated_header(&self, found: usize, expected: usize) -> DataError {
        DataError::TruncatedHeader {
            path: self.path.to_path_buf(),
            found,
            expected,
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind_dims: u8, sizes: &[u32]) -> Vec<u8> {
        let mut bytes = vec![0, 0, IDX_UNSIGNED_BYTE, kind_dims];
        for size in sizes {
            bytes.extend_from_slice(&size.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn decodes_a_raw_label_file() {
        let mut bytes = header(1, &[3]);
        bytes.extend_from_slice(&[7, 0, 9]);
        assert_eq!(
            decode_idx_labels(&bytes, Path::new("l")).unwrap(),
            vec![7, 0, 9]
        );
    }

    #[test]
    fn a_short_file_reports_the_truncated_header() {
        let err = decode_idx_images(&[0, 0, 8, 3, 0, 0], Path::new("x.idx")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.idx is too short to be an IDX file: it ends after 6 bytes, inside the 16-byte header"
        );
    }

    #[test]
    fn the_largest_declared_size_is_rejected_without_overflow() {
        let bytes = header(3, &[u32::MAX, u32::MAX, u32::MAX]);
        let err = decode_idx_images(&bytes, Path::new("big")).unwrap_err();
        assert!(matches!(err, DataError::ImageTooLarge { .. }), "{err}");
        let bytes = header(1, &[u32::MAX]);
        let err = decode_idx_labels(&bytes, Path::new("big")).unwrap_err();
        assert!(matches!(err, DataError::TooMuchData { .. }), "{err}");
    }

    #[test]
    fn images_over_the_pixel_limit_are_refused_before_their_data() {
        let bytes = header(3, &[1, 4097, 4096]);
        let err = decode_idx_images(&bytes, Path::new("wide")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wide declares images of 4097x4096 pixels, more than the limit of 16777216 pixels per image"
        );
        // At the limit, the header is accepted and the missing data is what fails.
        let bytes = header(3, &[1, 4096, 4096]);
        let err = decode_idx_images(&bytes, Path::new("wide")).unwrap_err();
        assert!(matches!(err, DataError::Truncated { .. }), "{err}");
    }

    #[test]
    fn data_over_the_byte_limit_is_refused_before_allocating() {
        // 2^15 images of 2^15 pixels: 2^30 bytes is allowed, one more image is not.
        let at = header(3, &[1 << 15, 128, 256]);
        let err = decode_idx_images(&at, Path::new("many")).unwrap_err();
        assert!(matches!(err, DataError::Truncated { .. }), "{err}");
        let over = header(3, &[(1 << 15) + 1, 128, 256]);
        let err = decode_idx_images(&over, Path::new("many")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "many declares 1073774592 bytes of data, more than the limit of 1073741824 bytes for an IDX file"
        );
    }
}
