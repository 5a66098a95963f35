//! Datasets in memory: exact feature values of a gathered batch, rows, class counts and the
//! tail split into train and validation.

use backprop::data::{byte_to_unit, byte_to_unit_fused, DataError, Dataset, Features, Splits};

/// Four 2x3 images whose pixels encode their sample index: pixel p of image i is 10*i + p,
/// except image 3, which holds the extreme bytes.
fn images() -> Dataset {
    let mut pixels = Vec::new();
    for image in 0..3u8 {
        pixels.extend((0..6u8).map(|p| 10 * image + p));
    }
    pixels.extend([0, 1, 128, 254, 255, 77]);
    Dataset::from_images(pixels, vec![2, 0, 1, 2], 2, 3).unwrap()
}

/// Five samples of 2 floats: sample i is (i, -i).
fn floats() -> Dataset {
    let features = (0..5).flat_map(|i| [i as f32, -(i as f32)]).collect();
    Dataset::from_floats(features, vec![0, 1, 0, 1, 4], 2).unwrap()
}

#[test]
fn basic_properties() {
    let data = images();
    assert_eq!(data.len(), 4);
    assert!(!data.is_empty());
    assert_eq!(data.input_dim(), 6);
    assert_eq!(data.image_shape(), Some((2, 3)));
    assert_eq!(data.labels(), &[2, 0, 1, 2]);
    assert_eq!(data.num_classes(), 3);
    assert!(matches!(data.features(), Features::Bytes(bytes) if bytes.len() == 24));

    let data = floats();
    assert_eq!(data.image_shape(), None);
    assert_eq!(data.num_classes(), 5);
    assert!(matches!(data.features(), Features::Floats(values) if values.len() == 10));
}

#[test]
fn gather_features_writes_exact_byte_over_255_values_in_index_order() {
    let data = images();
    let indices = [3, 0, 3, 2];
    let mut out = vec![f32::NAN; indices.len() * 6];
    data.gather_features(&indices, &mut out);
    let expected_bytes: Vec<u8> = [
        vec![0, 1, 128, 254, 255, 77],
        vec![0, 1, 2, 3, 4, 5],
        vec![0, 1, 128, 254, 255, 77],
        vec![20, 21, 22, 23, 24, 25],
    ]
    .concat();
    for (value, byte) in out.iter().zip(expected_bytes) {
        assert_eq!(
            value.to_bits(),
            (f32::from(byte) / 255.0).to_bits(),
            "byte {byte}"
        );
    }
    assert_eq!(out[4], 1.0);
    assert_eq!(out[0], 0.0);
}

#[test]
fn byte_to_unit_is_division_by_255_for_every_byte() {
    for byte in 0..=255u8 {
        let quotient = (f32::from(byte) / 255.0).to_bits();
        assert_eq!(byte_to_unit(byte).to_bits(), quotient);
        assert_eq!(byte_to_unit_fused(byte).to_bits(), quotient, "byte {byte}");
    }
}

#[test]
fn a_large_gather_converts_every_byte_value_as_the_division_does() {
    // 600 images of 28 x 28 holding every byte value many times, gathered 512 at a time on
    // two threads: the vectorised, parallel path of a real batch.
    let pixels: Vec<u8> = (0..600 * 784).map(|i| (i * 7 % 256) as u8).collect();
    let labels = vec![0u8; 600];
    let data = Dataset::from_images(pixels.clone(), labels, 28, 28).unwrap();
    let indices: Vec<usize> = (0..512).map(|i| (i * 37) % 600).collect();
    let mut out = vec![f32::NAN; indices.len() * 784];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| data.gather_features(&indices, &mut out));
    for (row, &index) in out.chunks_exact(784).zip(&indices) {
        for (value, &byte) in row.iter().zip(&pixels[index * 784..(index + 1) * 784]) {
            assert_eq!(
                value.to_bits(),
                (f32::from(byte) / 255.0).to_bits(),
                "byte {byte}"
            );
        }
    }
}

#[test]
fn gather_features_copies_floats_unchanged() {
    let data = floats();
    let mut out = vec![0.0; 6];
    data.gather_features(&[4, 1, 1], &mut out);
    assert_eq!(out, vec![4.0, -4.0, 1.0, -1.0, 1.0, -1.0]);
    let mut empty: Vec<f32> = Vec::new();
    data.gather_features(&[], &mut empty);
}

#[test]
#[should_panic(expected = "output holds 3 values, expected 2 samples x 2 features")]
fn gather_features_panics_on_a_wrongly_sized_buffer() {
    floats().gather_features(&[0, 1], &mut [0.0; 3]);
}

#[test]
fn feature_row_matches_gather_features() {
    let data = images();
    for index in 0..data.len() {
        let mut gathered = vec![0.0; 6];
        data.gather_features(&[index], &mut gathered);
        let row = data.feature_row(index).unwrap();
        assert_eq!(row.len(), 6);
        assert_eq!(row.collect::<Vec<f32>>(), gathered);
    }
    assert!(data.feature_row(4).is_none());
    assert_eq!(
        floats().feature_row(2).unwrap().collect::<Vec<_>>(),
        vec![2.0, -2.0]
    );
}

#[test]
fn split_tail_holds_out_the_last_samples_in_order() {
    // round(5 * 0.3) = round(1.5) = 2 validation samples.
    let (train, validation) = floats().split_tail(0.3).unwrap();
    assert_eq!((train.len(), validation.len()), (3, 2));
    assert_eq!(train.labels(), &[0, 1, 0]);
    assert_eq!(validation.labels(), &[1, 4]);
    assert_eq!(
        validation.feature_row(0).unwrap().collect::<Vec<_>>(),
        vec![3.0, -3.0]
    );
    assert_eq!(
        validation.feature_row(1).unwrap().collect::<Vec<_>>(),
        vec![4.0, -4.0]
    );
    assert_eq!(
        train.feature_row(2).unwrap().collect::<Vec<_>>(),
        vec![2.0, -2.0]
    );

    let (train, validation) = images().split_tail(0.25).unwrap();
    assert_eq!((train.len(), validation.len()), (3, 1));
    assert_eq!(validation.image_shape(), Some((2, 3)));
    let mut out = vec![0.0; 6];
    validation.gather_features(&[0], &mut out);
    assert_eq!(out[2].to_bits(), (128.0f32 / 255.0).to_bits());
}

#[test]
fn split_tail_counts_round_to_nearest() {
    let data = |n: usize| Dataset::from_floats(vec![0.5; n], vec![0; n], 1).unwrap();
    for (n, fraction, validation) in [
        (10, 0.1, 1),
        (10, 0.14, 1),
        (10, 0.16, 2),
        (1000, 0.1, 100),
        (3, 0.5, 2),
    ] {
        let (train, held_out) = data(n).split_tail(fraction).unwrap();
        assert_eq!(held_out.len(), validation, "n {n} fraction {fraction}");
        assert_eq!(train.len() + held_out.len(), n);
    }
    let (train, held_out) = data(7).split_tail(0.0).unwrap();
    assert_eq!((train.len(), held_out.len()), (7, 0));
}

#[test]
fn split_tail_rejects_bad_fractions_and_empty_parts() {
    for fraction in [1.0, 1.5, -0.1, f64::NAN] {
        let err = floats().split_tail(fraction).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidFraction { .. }),
            "{fraction}"
        );
        assert!(
            err.to_string().contains("expected a number in [0, 1)"),
            "{err}"
        );
    }
    // round(5 * 0.05) = 0 validation samples.
    let err = floats().split_tail(0.05).unwrap_err();
    assert_eq!(
        err.to_string(),
        "holding out 0.05 of 5 samples leaves 5 for training and 0 for validation; both must be non-empty"
    );
    // round(5 * 0.95) = 5 validation samples.
    let err = floats().split_tail(0.95).unwrap_err();
    assert!(
        err.to_string()
            .contains("leaves 0 for training and 5 for validation"),
        "{err}"
    );
}

#[test]
fn constructors_check_sizes() {
    let err = Dataset::from_images(vec![0; 5], vec![0], 2, 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid dataset: 5 feature values for 1 labels of 6 features each; expected 1 x 6"
    );
    assert!(Dataset::from_images(vec![], vec![], 0, 3).is_err());
    let empty = Dataset::from_floats(vec![], vec![], 2).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.num_classes(), 0);
}

#[test]
fn splits_count_classes_over_train_and_test() {
    let splits = Splits {
        train: floats(),
        test: Some(Dataset::from_floats(vec![0.0, 0.0], vec![6], 2).unwrap()),
    };
    assert_eq!(splits.num_classes(), 7);
    let splits = Splits {
        train: floats(),
        test: None,
    };
    assert_eq!(splits.num_classes(), 5);
}
