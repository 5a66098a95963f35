//! End to end: a training run's metrics log is written epoch by epoch, read back, and drawn
//! as SVG and PNG training curves; a picture is read back as network input.

use std::collections::BTreeMap;
use std::fs;

use backprop::data::png_input::load_grayscale_image;
use backprop::train::metrics::{format_epoch_line, read_jsonl, EpochRecord, MetricsLog};
use backprop::viz::plot::{plot_training_curves, FIGURE_HEIGHT, PANEL_WIDTH};

fn epoch_record(epoch: usize) -> EpochRecord {
    let e = epoch as f64;
    let mut extra = BTreeMap::new();
    extra.insert("grad_norm_W1".to_string(), 0.3 / e);
    EpochRecord {
        epoch,
        step: epoch * 469,
        train_loss: 0.3 + 0.5 / e,
        train_objective: 0.32 + 0.5 / e,
        train_accuracy: 0.9 - 0.1 / e,
        val_loss: Some(0.35 + 0.5 / e),
        val_accuracy: Some(0.88 - 0.1 / e),
        test_loss: None,
        test_accuracy: None,
        epoch_seconds: 0.8,
        samples_per_second: 75_000.0,
        extra,
    }
}

#[test]
fn a_metrics_log_read_back_plots_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("metrics.jsonl");
    let mut log = MetricsLog::new(&log_path, Vec::new());
    for epoch in 1..=5 {
        log.push(epoch_record(epoch)).unwrap();
        assert_eq!(read_jsonl(&log_path).unwrap().len(), epoch);
    }
    let records = read_jsonl(&log_path).unwrap();
    assert_eq!(records, log.records());
    assert!(format_epoch_line(&records[4], 5).starts_with("epoch 5/5  step 2,345  loss 0.4000"));

    let svg_path = dir.path().join("curves.svg");
    plot_training_curves(&svg_path, &records, "integration run").unwrap();
    let svg = fs::read_to_string(&svg_path).unwrap();
    for label in [
        "integration run",
        "train loss L",
        "validation accuracy",
        "‖∂J/∂W₁‖",
    ] {
        assert!(svg.contains(label), "missing {label}");
    }

    let png_path = dir.path().join("curves.png");
    plot_training_curves(&png_path, &records, "integration run").unwrap();
    let image = image::open(&png_path).unwrap();
    assert_eq!(
        (image.width(), image.height()),
        (3 * PANEL_WIDTH, FIGURE_HEIGHT)
    );

    // The plot itself, read as a 28x28 network input: values in [0, 1], mostly white paper.
    let features = load_grayscale_image(&png_path, 28, 28).unwrap();
    assert_eq!(features.len(), 784);
    assert!(features.iter().all(|&f| (0.0..=1.0).contains(&f)));
    let mean = features.iter().sum::<f32>() / 784.0;
    assert!(mean > 0.8 && mean < 1.0, "mean grey level {mean}");
}
