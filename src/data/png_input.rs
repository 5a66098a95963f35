//! Reading a PNG picture as the input features of the network.
//!
//! [`load_grayscale_image`] decodes a PNG of any colour type and bit depth, converts it to
//! 8-bit grey levels, resizes it by area averaging and returns the grey levels divided by 255,
//! row by row: the same layout and scale as the MNIST-style datasets the network trains on.

use std::io::{self, Cursor};
use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, ImageFormat, ImageReader, Limits, Luma};
use thiserror::Error;

use super::area_resize;
use super::mnist_framing::GreyPicture;
use super::regular_file::{read_regular, RegularFileError};

/// The eight bytes every PNG file starts with.
const PNG_SIGNATURE: [u8; 8] = *b"\x89PNG\r\n\x1a\n";

/// Failure to turn a picture file into input features.
#[derive(Debug, Error)]
pub enum ImageInputError {
    /// The requested feature grid has no pixels.
    #[error(
        "cannot resize an image to {width}x{height} pixels: width and height must be at least 1"
    )]
    ZeroTargetSize {
        /// The requested width.
        width: usize,
        /// The requested height.
        height: usize,
    },
    /// The requested feature grid has more pixels than memory can index.
    #[error("cannot resize an image to {width}x{height} pixels: that is too many pixels")]
    TargetTooLarge {
        /// The requested width.
        width: usize,
        /// The requested height.
        height: usize,
    },
    /// There is no file at the path.
    #[error("image file {} not found", path.display())]
    NotFound {
        /// The path that was given.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read the image file {}: {source}", path.display())]
    Read {
        /// The path that was given.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The path is not a regular file (a FIFO, a device, a folder), or is too large.
    #[error(transparent)]
    NotReadable(RegularFileError),
    /// The picture's header declares more pixels than [`MAX_IMAGE_PIXELS`].
    #[error("the PNG file {} is {width}x{height} pixels, more than the limit of {MAX_IMAGE_PIXELS} pixels", path.display())]
    TooManyPixels {
        /// The path that was given.
        path: PathBuf,
        /// The width in the header.
        width: u32,
        /// The height in the header.
        height: u32,
    },
    /// The file does not start with the PNG signature.
    #[error("{} is not a PNG file (expected a file starting with the PNG signature)", path.display())]
    NotPng {
        /// The path that was given.
        path: PathBuf,
    },
    /// The file starts like a PNG but could not be decoded (truncated, corrupt, too large).
    #[error("cannot decode the PNG file {}: {source}", path.display())]
    Decode {
        /// The path that was given.
        path: PathBuf,
        /// What the decoder reported.
        source: image::ImageError,
    },
    /// The decoded picture has no pixels.
    #[error("the PNG file {} has no pixels ({width}x{height})", path.display())]
    EmptyImage {
        /// The path that was given.
        path: PathBuf,
        /// The decoded width.
        width: u32,
        /// The decoded height.
        height: u32,
    },
}

/// The most pixels (`width * height`, read from the PNG header before anything is decoded)
/// a picture may have: 16,777,216, e.g. 4096 x 4096. Decoding holds at most 8 bytes per
/// pixel (16-bit RGBA), so a picture within the limit needs at most 128 MiB, however small
/// its file is.
pub const MAX_IMAGE_PIXELS: u64 = 1 << 24;

/// The largest PNG file read: 256 MiB, more than any picture within [`MAX_IMAGE_PIXELS`]
/// needs (16-bit RGBA stored uncompressed is 128 MiB).
pub const MAX_IMAGE_FILE_BYTES: u64 = 1 << 28;

/// Reads the PNG at `path` as `width * height` features in `[0, 1]`, row-major (the pixel at
/// column `x` of row `y` is at index `y * width + x`).
///
/// - Only a regular file of at most [`MAX_IMAGE_FILE_BYTES`] is read (a FIFO, a device or a
///   folder is an error that says what the path is), and a picture of more than
///   [`MAX_IMAGE_PIXELS`] pixels is refused from its header, before it is decoded.
/// - Any PNG colour type and bit depth is accepted. Colour is converted to grey with the
///   Rec. 709 weights of the `image` crate (0.2126 R + 0.7152 G + 0.0722 B) and rounded to
///   8 bits; 16-bit samples are rounded to 8 bits.
/// - Transparent pixels are composited over white, so the result matches what a viewer shows
///   on a white page (a black digit drawn on a transparent background stays black on white).
/// - The picture is resized by **area averaging** (a box filter): each output pixel is the
///   mean of the source pixels under it, each weighted by the fraction of its area that the
///   output pixel covers. A 56x56 picture resized to 28x28 gives the means of its 2x2 blocks;
///   enlarging repeats pixels (blending the two at a boundary that falls inside a pixel).
///   The resizing needs memory for the output only, whatever the picture's shape.
/// - The features are the grey levels divided by 255: 0 is black, 1 is white. No inversion
///   is done; MNIST-style data is light ink on a dark background.
pub fn load_grayscale_image(
    path: &Path,
    width: usize,
    height: usize,
) -> Result<Vec<f32>, ImageInputError> {
    if width == 0 || height == 0 {
        return Err(ImageInputError::ZeroTargetSize { width, height });
    }
    if width.checked_mul(height).is_none() {
        return Err(ImageInputError::TargetTooLarge { width, height });
    }
    let picture = load_grey_picture(path)?;
    Ok(resize_picture(&picture, width, height)
        .into_iter()
        .map(|level| (level / 255.0) as f32)
        .collect())
}

/// Reads the PNG at `path` as 8-bit grey levels at its own size, with the checks and the
/// conversions of [`load_grayscale_image`] (regular file, size limits, any colour type,
/// transparency over white), without resizing.
pub fn load_grey_picture(path: &Path) -> Result<GreyPicture, ImageInputError> {
    let bytes =
        read_regular(path, MAX_IMAGE_FILE_BYTES, "a PNG image").map_err(|error| match error {
            RegularFileError::Io { error, .. } if error.kind() == io::ErrorKind::NotFound => {
                ImageInputError::NotFound {
                    path: path.to_path_buf(),
                }
            }
            RegularFileError::Io { error, .. } => ImageInputError::Read {
                path: path.to_path_buf(),
                source: error,
            },
            other => ImageInputError::NotReadable(other),
        })?;
    if !bytes.starts_with(&PNG_SIGNATURE) {
        return Err(ImageInputError::NotPng {
            path: path.to_path_buf(),
        });
    }
    if let Some((image_width, image_height)) = header_size(&bytes) {
        if u64::from(image_width) * u64::from(image_height) > MAX_IMAGE_PIXELS {
            return Err(ImageInputError::TooManyPixels {
                path: path.to_path_buf(),
                width: image_width,
                height: image_height,
            });
        }
    }
    let decode_error = |source| ImageInputError::Decode {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), ImageFormat::Png);
    let mut limits = Limits::default();
    // A second guard behind the header check: the decoder itself never allocates more than
    // the largest picture within the limit needs.
    limits.max_alloc = Some(8 * MAX_IMAGE_PIXELS + (1 << 20));
    reader.limits(limits);
    let decoded = reader.decode().map_err(decode_error)?;
    if decoded.width() == 0 || decoded.height() == 0 {
        return Err(ImageInputError::EmptyImage {
            path: path.to_path_buf(),
            width: decoded.width(),
            height: decoded.height(),
        });
    }
    let grey = grey_over_white(&decoded);
    drop(decoded);
    Ok(GreyPicture {
        width: grey.width() as usize,
        height: grey.height() as usize,
        levels: grey.into_raw(),
    })
}

/// The width and height in a PNG's header (the `IHDR` chunk, which must come first), if the
/// bytes hold one.
fn header_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let chunk = bytes.get(8..24)?;
    if &chunk[4..8] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(chunk[8..12].try_into().ok()?);
    let height = u32::from_be_bytes(chunk[12..16].try_into().ok()?);
    Some((width, height))
}

/// The picture as 8-bit grey levels, transparent pixels composited over white.
fn grey_over_white(picture: &DynamicImage) -> GrayImage {
    let with_alpha = picture.to_luma_alpha8();
    GrayImage::from_fn(with_alpha.width(), with_alpha.height(), |x, y| {
        let [grey, alpha] = with_alpha.get_pixel(x, y).0;
        let (grey, alpha) = (u32::from(grey), u32::from(alpha));
        let over_white = (grey * alpha + 255 * (255 - alpha) + 127) / 255;
        Luma([over_white as u8])
    })
}

/// Resizes `picture` to `width x height` by area averaging; returns grey levels (0 to 255,
/// not rounded), row-major.
pub fn resize_picture(picture: &GreyPicture, width: usize, height: usize) -> Vec<f64> {
    let stride = picture.width;
    area_resize::resize_by_area_averaging(
        picture.width,
        picture.height,
        |x, y| f64::from(picture.levels[y * stride + x]),
        width,
        height,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{codecs::png::PngEncoder, ExtendedColorType, ImageEncoder};
    use std::fs;

    /// Writes raw pixel bytes as a PNG of the given colour type into a temporary folder.
    fn write_png(
        dir: &Path,
        name: &str,
        pixels: &[u8],
        size: (u32, u32),
        color: ExtendedColorType,
    ) -> PathBuf {
        let mut png = Vec::new();
        PngEncoder::new(&mut png)
            .write_image(pixels, size.0, size.1, color)
            .unwrap();
        let path = dir.join(name);
        fs::write(&path, png).unwrap();
        path
    }

    fn assert_close(actual: &[f32], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (index, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                (f64::from(a) - e).abs() < 1e-6,
                "feature {index}: {a} != {e}"
            );
        }
    }

    #[test]
    fn halving_a_56x56_picture_averages_its_2x2_blocks() {
        let dir = tempfile::tempdir().unwrap();
        // Grey level 2x + y at column x, row y: each 2x2 block has four different levels.
        let pixels: Vec<u8> = (0..56u32)
            .flat_map(|y| (0..56u32).map(move |x| (2 * x + y) as u8))
            .collect();
        let path = write_png(
            dir.path(),
            "ramp.png",
            &pixels,
            (56, 56),
            ExtendedColorType::L8,
        );
        let features = load_grayscale_image(&path, 28, 28).unwrap();
        // The block at block-column bx, block-row by has mean 2(2bx + 0.5) + (2by + 0.5).
        let expected: Vec<f64> = (0..28)
            .flat_map(|by| (0..28).map(move |bx| (4 * bx + 2 * by) as f64 + 1.5))
            .map(|level| level / 255.0)
            .collect();
        assert_close(&features, &expected);
    }

    #[test]
    fn a_picture_of_the_target_size_is_unchanged_and_row_major() {
        let dir = tempfile::tempdir().unwrap();
        let pixels = [0u8, 51, 102, 153, 204, 255];
        let path = write_png(
            dir.path(),
            "3x2.png",
            &pixels,
            (3, 2),
            ExtendedColorType::L8,
        );
        let features = load_grayscale_image(&path, 3, 2).unwrap();
        assert_close(&features, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    }

    #[test]
    fn a_boundary_inside_a_source_pixel_shares_it_by_area() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_png(
            dir.path(),
            "3x1.png",
            &[0, 90, 255],
            (3, 1),
            ExtendedColorType::L8,
        );
        // Output pixel 0 covers source pixel 0 and half of pixel 1; pixel 1 the other half and 2.
        let features = load_grayscale_image(&path, 2, 1).unwrap();
        assert_close(
            &features,
            &[
                (0.0 + 0.5 * 90.0) / 1.5 / 255.0,
                (0.5 * 90.0 + 255.0) / 1.5 / 255.0,
            ],
        );
    }

    #[test]
    fn enlarging_repeats_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_png(
            dir.path(),
            "2x1.png",
            &[0, 255],
            (2, 1),
            ExtendedColorType::L8,
        );
        let features = load_grayscale_image(&path, 4, 2).unwrap();
        assert_close(&features, &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
        let features = load_grayscale_image(&path, 3, 1).unwrap();
        assert_close(&features, &[0.0, 0.5, 1.0]);
    }

    #[test]
    fn colour_sixteen_bit_and_transparent_pictures_become_grey_levels() {
        let dir = tempfile::tempdir().unwrap();
        let grey_rgb = write_png(
            dir.path(),
            "rgb.png",
            &[51, 51, 51, 255, 255, 255],
            (2, 1),
            ExtendedColorType::Rgb8,
        );
        assert_close(&load_grayscale_image(&grey_rgb, 2, 1).unwrap(), &[0.2, 1.0]);

        let green = write_png(
            dir.path(),
            "green.png",
            &[0, 255, 0],
            (1, 1),
            ExtendedColorType::Rgb8,
        );
        let level = load_grayscale_image(&green, 1, 1).unwrap()[0] * 255.0;
        assert!((level - 0.7152 * 255.0).abs() < 1.0, "green is {level}/255");

        let sixteen_bit: Vec<u8> = [0u16, 65535, 13107]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let path = write_png(
            dir.path(),
            "l16.png",
            &sixteen_bit,
            (3, 1),
            ExtendedColorType::L16,
        );
        assert_close(
            &load_grayscale_image(&path, 3, 1).unwrap(),
            &[0.0, 1.0, 0.2],
        );

        // Black ink: opaque, half transparent, fully transparent (over white).
        let rgba = [0, 0, 0, 255, 0, 0, 0, 128, 0, 0, 0, 0];
        let path = write_png(
            dir.path(),
            "rgba.png",
            &rgba,
            (3, 1),
            ExtendedColorType::Rgba8,
        );
        assert_close(
            &load_grayscale_image(&path, 3, 1).unwrap(),
            &[0.0, 127.0 / 255.0, 1.0],
        );
    }

    #[test]
    fn a_file_that_is_not_a_png_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in [
            ("digit.txt", &b"just some text"[..]),
            ("empty.png", &b""[..]),
            ("digit.jpg", &b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"[..]),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, contents).unwrap();
            let error = load_grayscale_image(&path, 28, 28).unwrap_err();
            assert!(
                matches!(error, ImageInputError::NotPng { .. }),
                "{name}: {error}"
            );
            assert_eq!(
                error.to_string(),
                format!(
                    "{} is not a PNG file (expected a file starting with the PNG signature)",
                    path.display()
                )
            );
        }
    }

    #[test]
    fn a_truncated_png_is_a_decode_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_png(
            dir.path(),
            "whole.png",
            &[7u8; 64],
            (8, 8),
            ExtendedColorType::L8,
        );
        let bytes = fs::read(&path).unwrap();
        let truncated = dir.path().join("truncated.png");
        fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let error = load_grayscale_image(&truncated, 28, 28).unwrap_err();
        assert!(matches!(error, ImageInputError::Decode { .. }), "{error}");
        assert!(error.to_string().contains("truncated.png"), "{error}");
    }

    #[test]
    fn a_missing_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nowhere.png");
        let error = load_grayscale_image(&path, 28, 28).unwrap_err();
        assert!(matches!(error, ImageInputError::NotFound { .. }));
        assert_eq!(
            error.to_string(),
            format!("image file {} not found", path.display())
        );
    }

    #[test]
    fn a_folder_is_named_as_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let error = load_grayscale_image(dir.path(), 28, 28).unwrap_err();
        assert!(
            matches!(error, ImageInputError::NotReadable { .. }),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            format!("{} is a folder, not a regular file", dir.path().display())
        );
    }

    #[test]
    fn a_picture_over_the_pixel_limit_is_refused_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_png(
            dir.path(),
            "line.png",
            &[9u8; 4],
            (4, 1),
            ExtendedColorType::L8,
        );
        let mut bytes = fs::read(&path).unwrap();
        // Claim 4096 x 4097 pixels in the header: refused before decoding (whose checksum
        // would fail).
        bytes[16..20].copy_from_slice(&4096u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&4097u32.to_be_bytes());
        fs::write(&path, &bytes).unwrap();
        let error = load_grayscale_image(&path, 28, 28).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "the PNG file {} is 4096x4097 pixels, more than the limit of 16777216 pixels",
                path.display()
            )
        );
    }

    #[test]
    fn a_tall_thin_picture_is_resized_in_bounded_memory() {
        let dir = tempfile::tempdir().unwrap();
        // 1 x 100,000: the old two-pass resize held 100,000 x 28 intermediate values.
        let pixels: Vec<u8> = (0..100_000u32).map(|i| (i % 256) as u8).collect();
        let path = write_png(
            dir.path(),
            "tall.png",
            &pixels,
            (1, 100_000),
            ExtendedColorType::L8,
        );
        let features = load_grayscale_image(&path, 2, 4).unwrap();
        // Each quarter of the column averages 25,000 consecutive levels of the 0..255 ramp.
        for (quarter, pair) in features.chunks(2).enumerate() {
            let range = quarter * 25_000..(quarter + 1) * 25_000;
            let mean = range.map(|i| (i % 256) as f64).sum::<f64>() / 25_000.0 / 255.0;
            assert!((f64::from(pair[0]) - mean).abs() < 1e-6, "{pair:?} {mean}");
            assert_eq!(pair[0], pair[1]);
        }
    }

    #[test]
    fn a_target_without_pixels_is_refused_before_reading() {
        let missing = Path::new("/no/such/picture.png");
        for (width, height) in [(0, 28), (28, 0), (0, 0)] {
            let error = load_grayscale_image(missing, width, height).unwrap_err();
            assert!(matches!(error, ImageInputError::ZeroTargetSize { .. }));
            assert!(error.to_string().contains("must be at least 1"));
        }
        let error = load_grayscale_image(missing, usize::MAX, 2).unwrap_err();
        assert!(matches!(error, ImageInputError::TargetTooLarge { .. }));
    }
}
