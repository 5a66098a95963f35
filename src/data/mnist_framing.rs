//! How MNIST framed its digits, applied to a picture of one: light ink on a dark ground, the
//! digit scaled to fit a 20 x 20 box (keeping its aspect ratio), then placed in a 28 x 28
//! image so that its centre of mass falls on the image's centre (LeCun et al., "The MNIST
//! database": "the images were centered in a 28x28 image by computing the center of mass of
//! the pixels, and translating the image so as to position this point at the center of the
//! 28x28 field").
//!
//! A network trained on MNIST has only seen digits framed this way; a digit drawn small in a
//! corner, or dark on white paper, is far from everything it learned. `backprop predict` and
//! the playground's drawing canvas both frame their pictures with [`frame_like_mnist`].

use super::area_resize::resize_by_area_averaging;

/// The side of an MNIST image.
pub const MNIST_SIDE: usize = 28;
/// The side of the box MNIST scaled each digit into.
pub const DIGIT_BOX: usize = 20;
/// Ink below this share of the darkest-to-lightest range does not count towards the digit's
/// bounding box (anti-aliasing fringes and paper grain); it still counts in the centre of
/// mass.
const INK_THRESHOLD: f64 = 0.1;

/// A picture's grey levels, row-major, 0 (black) to 255 (white).
#[derive(Clone, Debug, PartialEq)]
pub struct GreyPicture {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height` levels; the pixel at column `x` of row `y` is at `y * width + x`.
    pub levels: Vec<u8>,
}

impl GreyPicture {
    /// Whether the picture's ground is light: the mean of its border pixels is above
    /// mid-grey (a digit written dark on white paper).
    pub fn has_light_background(&self) -> bool {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 {
            return false;
        }
        let mut sum = 0u64;
        let mut count = 0u64;
        for y in 0..h {
            for x in 0..w {
                if y == 0 || y == h - 1 || x == 0 || x == w - 1 {
                    sum += u64::from(self.levels[y * w + x]);
                    count += 1;
                }
            }
        }
        sum * 2 > count * 255
    }

    /// The ink of each pixel in `[0, 1]`: the grey level / 255 for a dark ground, 1 minus it
    /// for a light one (`invert`).
    pub fn ink(&self, invert: bool) -> Vec<f64> {
        self.levels
            .iter()
            .map(|&level| {
                let level = f64::from(level) / 255.0;
                if invert {
                    1.0 - level
                } else {
                    level
                }
            })
            .collect()
    }
}

/// Frames `ink` (`width x height`, light on dark, in `[0, 1]`) as MNIST framed its digits:
/// the bounding box of the ink scaled by area averaging so that its longer side is 20
/// pixels, then placed in 28 x 28 with its centre of mass on the centre (14, 14), rounded to
/// whole pixels; ink shifted past the border is dropped. A picture without ink gives 784
/// zeros. Returns 784 features, row-major.
pub fn frame_like_mnist(ink: &[f64], width: usize, height: usize) -> Vec<f32> {
    assert_eq!(ink.len(), width * height, "ink has width x height pixels");
    let mut framed = vec![0.0f32; MNIST_SIDE * MNIST_SIDE];
    let Some((left, top, right, bottom)) = ink_bounds(ink, width, height) else {
        return framed;
    };
    let (crop_width, crop_height) = (right - left, bottom - top);
    let longer = crop_width.max(crop_height);
    let scaled =
        |side: usize| ((side * DIGIT_BOX) as f64 / longer as f64).round().max(1.0) as usize;
    let (box_width, box_height) = (scaled(crop_width), scaled(crop_height));
    let digit = resize_by_area_averaging(
        crop_width,
        crop_height,
        |x, y| ink[(top + y) * width + left + x],
        box_width,
        box_height,
    );
    let (mut mass, mut sum_x, mut sum_y) = (0.0, 0.0, 0.0);
    for (index, &value) in digit.iter().enumerate() {
        let (x, y) = (index % box_width, index / box_width);
        mass += value;
        sum_x += value * (x as f64 + 0.5);
        sum_y += value * (y as f64 + 0.5);
    }
    if mass <= 0.0 {
        return framed;
    }
    let centre = MNIST_SIDE as f64 / 2.0;
    let shift_x = (centre - sum_x / mass).round() as isize;
    let shift_y = (centre - sum_y / mass).round() as isize;
    for (index, &value) in digit.iter().enumerate() {
        let x = (index % box_width) as isize + shift_x;
        let y = (index / box_width) as isize + shift_y;
        if (0..MNIST_SIDE as isize).contains(&x) && (0..MNIST_SIDE as isize).contains(&y) {
            framed[y as usize * MNIST_SIDE + x as usize] = value.clamp(0.0, 1.0) as f32;
        }
    }
    framed
}

/// The smallest window `(left, top, right, bottom)` (right and bottom exclusive) holding
/// every pixel whose ink is at least [`INK_THRESHOLD`] of the largest ink; `None` without
/// ink.
fn ink_bounds(ink: &[f64], width: usize, height: usize) -> Option<(usize, usize, usize, usize)> {
    let most = ink.iter().cloned().fold(0.0f64, f64::max);
    if most <= 0.0 {
        return None;
    }
    let threshold = most * INK_THRESHOLD;
    let (mut left, mut top, mut right, mut bottom) = (width, height, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if ink[y * width + x] >= threshold {
                left = left.min(x);
                right = right.max(x + 1);
                top = top.min(y);
                bottom = bottom.max(y + 1);
            }
        }
    }
    Some((left, top, right, bottom))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(framed: &[f32], x: usize, y: usize) -> f32 {
        framed[y * MNIST_SIDE + x]
    }

    /// A 10 x 4 bar of full ink in the corner of a 100 x 100 picture: its bounding box is
    /// scaled by 2 (longer side 10 -> 20) to a 20 x 8 bar of full ink, whose centre of mass
    /// (10, 4) in the box goes to (14, 14): columns 4..24, rows 10..18.
    #[test]
    fn a_bar_in_a_corner_is_scaled_into_the_box_and_centred_by_hand() {
        let (width, height) = (100, 100);
        let mut ink = vec![0.0; width * height];
        for y in 3..7 {
            for x in 2..12 {
                ink[y * width + x] = 1.0;
            }
        }
        let framed = frame_like_mnist(&ink, width, height);
        let mut expected = vec![0.0f32; 784];
        for y in 10..18 {
            for x in 4..24 {
                expected[y * MNIST_SIDE + x] = 1.0;
            }
        }
        assert_eq!(framed, expected);
    }

    /// An L of unequal mass: a 2 x 10 stem and an 8 x 2 foot. In the 20 x 20 box (scale 2)
    /// the stem covers x 0..4, y 0..20 (80 pixels) and the foot x 4..20, y 16..20 (64): the
    /// centre of mass is x = (80 * 2 + 64 * 12) / 144 = 6.44, y = (80 * 10 + 64 * 18) / 144 =
    /// 13.56, so the shift is round(14 - 6.44) = 8 and round(14 - 13.56) = 0.
    #[test]
    fn the_centre_of_mass_not_the_box_goes_to_the_centre() {
        let (width, height) = (30, 30);
        let mut ink = vec![0.0; width * height];
        for y in 5..15 {
            for x in 5..7 {
                ink[y * width + x] = 1.0;
            }
        }
        for y in 13..15 {
            for x in 7..15 {
                ink[y * width + x] = 1.0;
            }
        }
        let framed = frame_like_mnist(&ink, width, height);
        for y in 0..28 {
            for x in 0..28 {
                let stem = (8..12).contains(&x) && y < 20;
                let foot = (12..28).contains(&x) && (16..20).contains(&y);
                let want = if stem || foot { 1.0 } else { 0.0 };
                assert_eq!(at(&framed, x, y), want, "pixel ({x}, {y})");
            }
        }
    }

    #[test]
    fn a_picture_without_ink_frames_to_zeros() {
        assert_eq!(frame_like_mnist(&[0.0; 64], 8, 8), vec![0.0; 784]);
    }

    #[test]
    fn a_single_pixel_becomes_the_whole_box_centred() {
        let mut ink = vec![0.0; 9];
        ink[4] = 0.5;
        let framed = frame_like_mnist(&ink, 3, 3);
        // 1 x 1 scaled to 20 x 20, centre of mass (10, 10) -> (14, 14): 4..24 both ways.
        for y in 0..28 {
            for x in 0..28 {
                let inside = (4..24).contains(&x) && (4..24).contains(&y);
                assert_eq!(at(&framed, x, y), if inside { 0.5 } else { 0.0 });
            }
        }
    }

    #[test]
    fn a_light_border_means_a_light_background() {
        let mut picture = GreyPicture {
            width: 4,
            height: 4,
            levels: vec![250; 16],
        };
        picture.levels[5] = 0;
        assert!(picture.has_light_background());
        assert_eq!(picture.ink(true)[5], 1.0);
        picture.levels = vec![10; 16];
        assert!(!picture.has_light_background());
    }
}
