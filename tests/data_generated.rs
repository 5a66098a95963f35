//! Generated 2-D datasets: determinism from the seed, class balance and order, value ranges,
//! the shape of each dataset, and the errors for out-of-range settings.

use backprop::data::{
    blobs, circles, spiral, xor, BlobsConfig, CirclesConfig, Dataset, Features, SpiralConfig,
    Splits, XorConfig, BLOB_CENTRE_RADIUS,
};

fn floats(data: &Dataset) -> &[f32] {
    match data.features() {
        Features::Floats(values) => values,
        Features::Bytes(_) => panic!("generated data must be stored as floats"),
    }
}

fn bits(splits: &Splits) -> (Vec<u32>, Vec<u8>, Vec<u32>, Vec<u8>) {
    let test = splits.test.as_ref().unwrap();
    (
        floats(&splits.train).iter().map(|v| v.to_bits()).collect(),
        splits.train.labels().to_vec(),
        floats(test).iter().map(|v| v.to_bits()).collect(),
        test.labels().to_vec(),
    )
}

fn points(data: &Dataset) -> Vec<[f32; 2]> {
    floats(data).chunks_exact(2).map(|p| [p[0], p[1]]).collect()
}

/// Accuracy on `test` of the 1-nearest-neighbour classifier built on `train`: a check that
/// the classes are well separated for a flexible (non-linear) classifier.
fn nearest_neighbour_accuracy(train: &Dataset, test: &Dataset) -> f64 {
    let train_points = points(train);
    let correct = points(test)
        .iter()
        .zip(test.labels())
        .filter(|([x, y], &label)| {
            let nearest = train_points
                .iter()
                .enumerate()
                .map(|(i, [u, v])| ((x - u).powi(2) + (y - v).powi(2), i))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap()
                .1;
            train.labels()[nearest] == label
        })
        .count();
    correct as f64 / test.len() as f64
}

/// Accuracy on `test` of softmax regression (a linear classifier) fitted to `train` by
/// full-batch gradient descent.
fn linear_accuracy(train: &Dataset, test: &Dataset, classes: usize) -> f64 {
    let mut weights = vec![[0.0f64; 3]; classes]; // per class: w_x, w_y, bias
    let train_points = points(train);
    for _ in 0..400 {
        let mut gradient = vec![[0.0f64; 3]; classes];
        for ([x, y], &label) in train_points.iter().zip(train.labels()) {
            let input = [f64::from(*x), f64::from(*y), 1.0];
            let scores: Vec<f64> = weights
                .iter()
                .map(|w| w.iter().zip(input).map(|(a, b)| a * b).sum())
                .collect();
            let max = scores.iter().cloned().fold(f64::MIN, f64::max);
            let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = exps.iter().sum();
            for class in 0..classes {
                let error = exps[class] / total - f64::from(u8::from(class == label as usize));
                for k in 0..3 {
                    gradient[class][k] += error * input[k];
                }
            }
        }
        for (w, g) in weights.iter_mut().zip(&gradient) {
            for k in 0..3 {
                w[k] -= 2.0 * g[k] / train_points.len() as f64;
            }
        }
    }
    let correct = points(test)
        .iter()
        .zip(test.labels())
        .filter(|([x, y], &label)| {
            let input = [f64::from(*x), f64::from(*y), 1.0];
            let predicted = (0..classes)
                .max_by(|&a, &b| {
                    let score = |c: usize| -> f64 {
                        weights[c].iter().zip(input).map(|(w, v)| w * v).sum()
                    };
                    score(a).total_cmp(&score(b))
                })
                .unwrap();
            predicted == label as usize
        })
        .count();
    correct as f64 / test.len() as f64
}

/// Labels interleave the classes: sample i has label i % classes.
fn assert_interleaved_and_balanced(data: &Dataset, classes: usize, per_class: usize) {
    assert_eq!(data.len(), classes * per_class);
    assert_eq!(data.input_dim(), 2);
    for (i, &label) in data.labels().iter().enumerate() {
        assert_eq!(label as usize, i % classes, "sample {i}");
    }
}

#[test]
fn spiral_default_sizes_and_balance() {
    let splits = spiral(&SpiralConfig::default()).unwrap();
    // MNIST-sized: 60,000 training points (10 epochs of batch 256 are 2,350 updates).
    assert_interleaved_and_balanced(&splits.train, 3, 20_000);
    assert_interleaved_and_balanced(splits.test.as_ref().unwrap(), 3, 3_334);
    assert_eq!(splits.num_classes(), 3);
    let (_, validation) = splits.train.clone().split_tail(0.1).unwrap();
    assert_eq!(validation.len(), 6_000);
    for class in 0..3u8 {
        assert_eq!(
            validation.labels().iter().filter(|&&l| l == class).count(),
            2_000
        );
    }
}

#[test]
fn spiral_is_deterministic_in_its_seed() {
    let config = SpiralConfig {
        seed: 42,
        ..SpiralConfig::default()
    };
    let first = bits(&spiral(&config).unwrap());
    let second = bits(&spiral(&config.clone()).unwrap());
    assert_eq!(first, second);
    let other = bits(
        &spiral(&SpiralConfig {
            seed: 43,
            ..config.clone()
        })
        .unwrap(),
    );
    assert_ne!(first.0, other.0);
    assert_ne!(first.2, other.2);
    // Train and test are different draws.
    assert_ne!(first.0[..2000], first.2[..2000]);
}

#[test]
fn spiral_points_lie_in_the_unit_disc() {
    let splits = spiral(&SpiralConfig::default()).unwrap();
    for [x, y] in points(&splits.train) {
        assert!(x * x + y * y < 1.0 + 1e-6, "({x}, {y})");
    }
}

#[test]
fn spiral_is_separable_but_not_linearly() {
    // The default arms at a tenth of the default size: 1-NN is quadratic in the points.
    let splits = spiral(&SpiralConfig {
        train_per_class: 2_000,
        test_per_class: 334,
        ..SpiralConfig::default()
    })
    .unwrap();
    let test = splits.test.as_ref().unwrap();
    let nearest = nearest_neighbour_accuracy(&splits.train, test);
    assert!(nearest >= 0.95, "1-NN accuracy {nearest}");
    let linear = linear_accuracy(&splits.train, test, 3);
    assert!(linear < 0.75, "linear accuracy {linear}");
}

#[test]
fn spiral_with_more_classes_and_no_test_set() {
    let splits = spiral(&SpiralConfig {
        classes: 5,
        train_per_class: 7,
        test_per_class: 0,
        ..SpiralConfig::default()
    })
    .unwrap();
    assert_interleaved_and_balanced(&splits.train, 5, 7);
    assert!(splits.test.is_none());
}

#[test]
fn circles_are_rings_of_growing_radius() {
    let config = CirclesConfig {
        classes: 3,
        noise: 0.0,
        ..CirclesConfig::default()
    };
    let splits = circles(&config).unwrap();
    assert_interleaved_and_balanced(&splits.train, 3, 500);
    for ([x, y], &label) in points(&splits.train).iter().zip(splits.train.labels()) {
        let radius = (x * x + y * y).sqrt();
        assert!(
            (radius - (label as f32 + 1.0) / 3.0).abs() < 1e-5,
            "radius {radius}"
        );
    }
    let noisy = circles(&CirclesConfig::default()).unwrap();
    let test = noisy.test.as_ref().unwrap();
    assert!(nearest_neighbour_accuracy(&noisy.train, test) >= 0.95);
    assert!(linear_accuracy(&noisy.train, test, 2) < 0.75);
    assert_eq!(
        bits(&noisy),
        bits(&circles(&CirclesConfig::default()).unwrap())
    );
}

#[test]
fn xor_labels_follow_the_sign_rule() {
    let splits = xor(&XorConfig {
        noise: 0.0,
        ..XorConfig::default()
    })
    .unwrap();
    assert_interleaved_and_balanced(&splits.train, 2, 500);
    for ([x, y], &label) in points(&splits.train).iter().zip(splits.train.labels()) {
        assert!(x.abs() >= 0.05 && y.abs() >= 0.05 && x.abs() <= 1.0 && y.abs() <= 1.0);
        assert_eq!(label, u8::from((*x > 0.0) != (*y > 0.0)), "({x}, {y})");
    }
    let noisy = xor(&XorConfig::default()).unwrap();
    let test = noisy.test.as_ref().unwrap();
    assert!(nearest_neighbour_accuracy(&noisy.train, test) >= 0.95);
    assert!(linear_accuracy(&noisy.train, test, 2) < 0.75);
    let reseeded = xor(&XorConfig {
        seed: 9,
        ..XorConfig::default()
    })
    .unwrap();
    assert_ne!(bits(&noisy), bits(&reseeded));
}

#[test]
fn blobs_cluster_around_their_centres() {
    let splits = blobs(&BlobsConfig::default()).unwrap();
    assert_interleaved_and_balanced(&splits.train, 3, 500);
    for class in 0..3u8 {
        let members: Vec<[f32; 2]> = points(&splits.train)
            .into_iter()
            .zip(splits.train.labels())
            .filter(|(_, &label)| label == class)
            .map(|(p, _)| p)
            .collect();
        let n = members.len() as f64;
        let mean_x = members.iter().map(|p| f64::from(p[0])).sum::<f64>() / n;
        let mean_y = members.iter().map(|p| f64::from(p[1])).sum::<f64>() / n;
        let angle = std::f64::consts::TAU * f64::from(class) / 3.0;
        assert!(
            (mean_x - BLOB_CENTRE_RADIUS * angle.cos()).abs() < 0.03,
            "class {class}"
        );
        assert!(
            (mean_y - BLOB_CENTRE_RADIUS * angle.sin()).abs() < 0.03,
            "class {class}"
        );
    }
    let test = splits.test.as_ref().unwrap();
    assert!(nearest_neighbour_accuracy(&splits.train, test) >= 0.95);
    assert_eq!(
        bits(&splits),
        bits(&blobs(&BlobsConfig::default()).unwrap())
    );
}

#[test]
fn out_of_range_settings_are_rejected_with_their_reason() {
    let message = |result: backprop::data::Result<Splits>| result.unwrap_err().to_string();
    assert_eq!(
        message(spiral(&SpiralConfig {
            classes: 1,
            ..SpiralConfig::default()
        })),
        "invalid spiral setting: 1 classes; expected 2 to 256"
    );
    assert_eq!(
        message(circles(&CirclesConfig {
            classes: 257,
            ..CirclesConfig::default()
        })),
        "invalid circles setting: 257 classes; expected 2 to 256"
    );
    assert_eq!(
        message(xor(&XorConfig {
            train_per_class: 0,
            ..XorConfig::default()
        })),
        "invalid xor setting: 0 training points per class; expected at least 1"
    );
    assert_eq!(
        message(blobs(&BlobsConfig {
            noise: f32::NAN,
            ..BlobsConfig::default()
        })),
        "invalid blobs setting: noise NaN; expected a finite number >= 0"
    );
    assert!(message(blobs(&BlobsConfig {
        noise: -0.1,
        ..BlobsConfig::default()
    }))
    .contains("noise -0.1"));
    assert_eq!(
        message(spiral(&SpiralConfig {
            turns: 0.0,
            ..SpiralConfig::default()
        })),
        "invalid spiral setting: 0 turns; expected a finite number > 0"
    );
    assert_eq!(
        message(spiral(&SpiralConfig {
            test_per_class: usize::MAX,
            ..SpiralConfig::default()
        })),
        format!(
            "invalid spiral setting: {} test points per class x 3 classes; expected at most 10000000 points",
            usize::MAX
        )
    );
}
