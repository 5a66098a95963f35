//! The drawing canvas's picture as the network sees it: the grey bytes the page sends
//! (light ink on a dark ground, as the canvas draws), framed as MNIST framed its digits
//! ([`frame_like_mnist`]: the digit scaled into a 20 x 20 box, its centre of mass placed at
//! the centre of 28 x 28), then classified by the network's forward pass (4.7.1 – 4.7.3,
//! and `softmax(o)`).

use crate::data::mnist_framing::{frame_like_mnist, GreyPicture, MNIST_SIDE};
use crate::nn::mlp::{argmax, softmax};
use crate::nn::Mlp;
use crate::tensor::Tensor;

/// The largest width or height of a posted drawing, in pixels.
pub const MAX_DRAWING_SIDE: usize = 280;
/// The smallest width or height of a posted drawing, in pixels.
pub const MIN_DRAWING_SIDE: usize = 8;
/// The largest drawing body: one byte per pixel of the largest drawing.
pub const MAX_DRAWING_BYTES: usize = MAX_DRAWING_SIDE * MAX_DRAWING_SIDE;

/// The 784 features of a posted drawing of `width x height` grey bytes `body` (row-major,
/// 0 = ground, 255 = ink), framed as MNIST's; a one-line error when the body is not
/// `width * height` bytes or holds no ink.
pub fn frame_drawing(width: usize, height: usize, body: &[u8]) -> Result<Vec<f32>, String> {
    let expected = width * height;
    if body.len() != expected {
        return Err(format!(
            "the drawing's body has {} bytes; width={width} and height={height} need exactly {expected} (one grey byte per pixel, row-major)",
            body.len()
        ));
    }
    if body.iter().all(|&level| level == 0) {
        return Err("the drawing is empty (every pixel is 0): draw a digit first".to_string());
    }
    let picture = GreyPicture {
        width,
        height,
        levels: body.to_vec(),
    };
    Ok(frame_like_mnist(&picture.ink(false), width, height))
}

/// What the network makes of one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Classified {
    /// `softmax(o)`, one per class.
    pub probabilities: Vec<f64>,
    /// The class with the largest output.
    pub predicted: usize,
}

/// The forward pass of `mlp` on the 784 features `input`; `None` when they do not fit it.
pub fn classify(mlp: &Mlp<f32>, input: &[f32]) -> Option<Classified> {
    if input.len() != MNIST_SIDE * MNIST_SIDE {
        return None;
    }
    let x = Tensor::from_vec(1, input.len(), input.to_vec())?;
    let o = mlp.predict(&x).ok()?;
    Some(Classified {
        probabilities: softmax(o.row(0)),
        predicted: argmax(o.row(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawing_must_have_its_size_and_some_ink() {
        let error = frame_drawing(10, 10, &[0; 99]).unwrap_err();
        assert!(
            error.contains("99 bytes") && error.contains("exactly 100"),
            "{error}"
        );
        let error = frame_drawing(10, 10, &[0; 100]).unwrap_err();
        assert!(error.contains("empty"), "{error}");
        let mut body = vec![0u8; 100];
        body[0] = 255;
        let framed = frame_drawing(10, 10, &body).unwrap();
        // One pixel in the corner becomes the 20 x 20 box, centred: rows and columns 4..24.
        assert_eq!(framed[4 * 28 + 4], 1.0);
        assert_eq!(framed[3 * 28 + 4], 0.0);
        assert_eq!(framed.iter().filter(|&&v| v > 0.0).count(), 400);
    }
}
