//! `backprop predict` frames a picture as MNIST framed its digits (20 x 20 box, centre of mass
//! at the centre), inverts a light background by itself, and prints the three most probable
//! classes. The model is trained on generated "digits" (a vertical bar, a horizontal bar, a
//! ring) framed the same way, so the test checks that the framing lets a digit drawn small
//! in a corner of a large picture be recognised, dark-on-light as well as light-on-dark.

mod common;

use backprop::data::mnist_framing::frame_like_mnist;
use backprop::data::{write_idx_images, write_idx_labels};
use backprop::rng::Rng;
use common::{assert_success, backprop, stderr, stdout};
use std::path::Path;

/// Ink (`side x side`, 0 or 1) of shape `class` with its top-left corner at (x, y) and size
/// `size`: 0 a vertical bar, 1 a horizontal bar, 2 a square ring.
fn shape(class: usize, side: usize, x: usize, y: usize, size: usize) -> Vec<f64> {
    let mut ink = vec![0.0; side * side];
    let thick = (size / 5).max(1);
    for row in 0..size {
        for column in 0..size {
            let on = match class {
                0 => column < thick,
                1 => row < thick,
                _ => row < thick || column < thick || row >= size - thick || column >= size - thick,
            };
            if on && y + row < side && x + column < side {
                ink[(y + row) * side + x + column] = 1.0;
            }
        }
    }
    ink
}

fn training_folder(dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("shapes");
    std::fs::create_dir_all(&folder).unwrap();
    let mut rng = Rng::new(3);
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for i in 0..300 {
        let class = i % 3;
        let size = 8 + rng.below(12);
        let (x, y) = (rng.below(28 - size), rng.below(28 - size));
        let framed = frame_like_mnist(&shape(class, 28, x, y, size), 28, 28);
        pixels.extend(framed.iter().map(|&v| (v * 255.0).round() as u8));
        labels.push(class as u8);
    }
    write_idx_images(
        &folder.join("train-images-idx3-ubyte"),
        28,
        28,
        &pixels,
        false,
    )
    .unwrap();
    write_idx_labels(&folder.join("train-labels-idx1-ubyte"), &labels, false).unwrap();
    folder
}

/// A `side x side` PNG of `ink`, light on dark, or dark on light when `light_background`.
fn write_png(path: &Path, ink: &[f64], side: u32, light_background: bool) {
    let picture = image::GrayImage::from_fn(side, side, |x, y| {
        let v = ink[(y * side + x) as usize];
        let level = if light_background { 1.0 - v } else { v };
        image::Luma([(level * 255.0).round() as u8])
    });
    picture.save(path).unwrap();
}

/// The classes printed, most probable first, and their probabilities.
fn ranking(text: &str) -> Vec<(usize, f64)> {
    text.lines()
        .skip(1)
        .map(|line| {
            let mut words = line.split_whitespace();
            let class = words.next().unwrap().parse().unwrap();
            let probability = words.next().unwrap().parse().unwrap();
            (class, probability)
        })
        .collect()
}

#[test]
fn a_small_dark_on_light_digit_in_a_corner_is_framed_inverted_and_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let data = training_folder(dir.path());
    let trained = backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--hidden",
            "32",
            "--epochs",
            "15",
            "--batch-size",
            "16",
            "--out",
            "shapes.safetensors",
        ],
    );
    assert_success(&trained);

    let predict = |image: &Path, extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--model",
            "shapes.safetensors",
            "--image",
            image.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = backprop(dir.path(), &args);
        assert_success(&out);
        out
    };
    let mut recognised_as_is = 0;
    for class in 0..3 {
        // Small, in the top-left corner of a 120 x 120 picture: far from anything trained on
        // until it is framed.
        let ink = shape(class, 120, 6, 10, 24);
        let light_on_dark = dir.path().join(format!("shape{class}.png"));
        let dark_on_light = dir.path().join(format!("shape{class}-paper.png"));
        write_png(&light_on_dark, &ink, 120, false);
        write_png(&dark_on_light, &ink, 120, true);

        let plain = predict(&light_on_dark, &[]);
        assert!(
            !stderr(&plain).contains("light background"),
            "{}",
            stderr(&plain)
        );
        let paper = predict(&dark_on_light, &[]);
        assert!(
            stderr(&paper).contains("light background; inverted"),
            "{}",
            stderr(&paper)
        );
        let (plain, paper) = (ranking(&stdout(&plain)), ranking(&stdout(&paper)));
        assert_eq!(plain.len(), 3, "the three most probable classes");
        assert_eq!(plain[0].0, class, "{plain:?}");
        assert_eq!(
            paper[0].0, class,
            "the twin gives the same class: {paper:?}"
        );
        assert!(plain.windows(2).all(|w| w[0].1 >= w[1].1), "{plain:?}");

        let as_is = predict(&light_on_dark, &["--as-is"]);
        recognised_as_is += usize::from(ranking(&stdout(&as_is))[0].0 == class);
    }
    // Without the framing, a digit in a corner is not what the network learned.
    assert!(recognised_as_is < 3, "all three recognised without framing");
}

#[test]
fn all_lists_every_class_and_the_probabilities_sum_to_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::image_folder(dir.path(), "data", 200, 0, 5);
    assert_success(&backprop(
        dir.path(),
        &[
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--hidden",
            "8",
            "--epochs",
            "1",
        ],
    ));
    let picture =
        image::GrayImage::from_fn(5, 6, |_, y| image::Luma([if y == 2 { 220 } else { 10 }]));
    picture.save(dir.path().join("band.png")).unwrap();
    let top = backprop(
        dir.path(),
        &[
            "predict",
            "--model",
            "model.safetensors",
            "--image",
            "band.png",
        ],
    );
    assert_success(&top);
    assert_eq!(ranking(&stdout(&top)).len(), 3, "{}", stdout(&top));
    let all = backprop(
        dir.path(),
        &[
            "predict",
            "--model",
            "model.safetensors",
            "--image",
            "band.png",
            "--all",
        ],
    );
    assert_success(&all);
    let all = ranking(&stdout(&all));
    assert_eq!(all.len(), 5);
    let total: f64 = all.iter().map(|(_, p)| p).sum();
    assert!((total - 1.0).abs() < 1e-4, "{all:?}");
}
