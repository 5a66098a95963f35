//! The playground's image mode through its HTTP API: `backprop serve --dataset DIR` started
//! as a process on a free loopback port, on a generated folder of 28 x 28 "digits" (bars
//! whose width is the class, [`common::bar_digits`]). A session trains 784-H-10 with the one
//! training loop; a drawing is framed as MNIST framed its digits and classified; the graph
//! is drawn for the drawing with the loss of a chosen label; the rows of W1, the confusion
//! matrix of the held-out split and the images of one of its cells are what they claim.

mod common;
mod loopback;

use common::{bar_digit_folder, bar_digits, bar_width};
use loopback::Client;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Training and test images of the generated folder.
const TRAIN: usize = 600;
const TEST: usize = 200;

/// A `backprop serve` process, killed when dropped.
struct Served {
    child: Child,
    client: Client,
    /// The address the server printed (`http://127.0.0.1:PORT/`).
    url: String,
    /// The first line the server printed after its address (the images line).
    images_line: String,
    /// The rest of its output, kept open (a closed pipe would end the server at its next
    /// line).
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `backprop serve --port 0 ARGS` in `dir` and waits for its address.
fn serve(dir: &Path, args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(["serve", "--port", "0"])
        .args(args)
        .current_dir(dir)
        .env("BACKPROP_DATA", dir.join("no-data-here"))
        .env_remove("BACKPROP_MIRROR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let Some(url) = first.strip_prefix("playground: ") else {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!(
            "serve printed {first:?}; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let images_line = lines.next().and_then(Result::ok).unwrap_or_default();
    Served {
        client: Client::new(url.trim_end_matches('/')),
        url: url.to_string(),
        child,
        images_line,
        _stdout: lines,
    }
}

/// The folder's test labels, as generated.
fn test_labels() -> Vec<u8> {
    bar_digits(TEST, 2).1
}

/// A `side x side` drawing (light on dark) of a bar of class `class`'s proportions, drawn
/// large and away from the centre, as a person might: framed, it is that class's bar.
fn drawn_bar(class: usize, side: usize) -> Vec<u8> {
    let (height, width) = (side / 2, side / 2 * bar_width(class) / 20);
    let mut body = vec![0u8; side * side];
    for row in side / 8..side / 8 + height {
        for column in side / 10..side / 10 + width {
            body[row * side + column] = 255;
        }
    }
    body
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// A trained session on the served folder: its id.
fn trained_session(client: &Client, steps: u64) -> u64 {
    let id = client.post("/api/sessions?dataset=bars&hidden=16&batch=32&seed=1")["id"]
        .as_u64()
        .unwrap();
    let status = client.post(&format!("/api/sessions/{id}/step?count={steps}"));
    assert_eq!(status["steps"], steps);
    id
}

#[test]
fn serve_dataset_offers_the_folder_and_a_session_trains_784_h_10_on_it() {
    let dir = tempfile::tempdir().unwrap();
    bar_digit_folder(dir.path(), "bars", TRAIN, TEST);
    // `localhost` is taken for the loopback address.
    let served = serve(dir.path(), &["--dataset", "bars", "--host", "localhost"]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );
    assert_eq!(
        served.images_line,
        "images: bars (600 train / 200 test) (dataset=bars)"
    );
    let client = &served.client;
    let defaults = client.get("/api/defaults");
    let images = &defaults["images"];
    assert_eq!(images["name"], "bars");
    assert_eq!(images["kind"], "images");
    assert_eq!(
        (images["train"].as_u64(), images["test"].as_u64()),
        (Some(600), Some(200))
    );
    assert_eq!(images["test_split"], "test");
    assert_eq!(images["image"], serde_json::json!([28, 28]));
    assert_eq!(images["classes"].as_array().unwrap().len(), 10);
    let datasets = defaults["datasets"].as_array().unwrap();
    assert_eq!(datasets.last().unwrap(), images);
    assert!(datasets[..4].iter().all(|d| d["kind"] == "points"));
    assert_eq!(defaults["image_caps"]["max_drawing_side"], 280);
    // The existing fields are still there.
    assert!(defaults["settings"]
        .as_str()
        .unwrap()
        .starts_with("dataset=spiral"));

    // The image defaults create a session whose canonical settings read back the same.
    let start = defaults["image_defaults"].as_str().unwrap();
    let created = client.post(&format!("/api/sessions?{start}"));
    assert_eq!(created["settings"], start);
    let again = client.post(&format!(
        "/api/sessions?{}",
        created["settings"].as_str().unwrap()
    ));
    assert_eq!(again["settings"], start);

    let id = client.post("/api/sessions?dataset=bars&hidden=16&batch=32&seed=1")["id"]
        .as_u64()
        .unwrap();
    let status = client.get(&format!("/api/sessions/{id}/status"));
    assert_eq!(status["mode"], "images");
    let untrained = status["history"][0]["test_accuracy"].as_f64().unwrap();
    let network = client.get(&format!("/api/sessions/{id}/network"));
    assert_eq!(network["layer_sizes"], serde_json::json!([784, 16, 10]));
    let status = client.post(&format!("/api/sessions/{id}/step?count=150"));
    assert_eq!(status["steps"], 150);
    let history = status["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["step"], 150);
    let trained = last["test_accuracy"].as_f64().unwrap();
    assert!(untrained < 0.3, "untrained: {untrained}");
    assert!(trained > 0.9, "after 150 steps: {last}");
    // Points come at the record interval (at batch 32 on 200 held-out and 600 train
    // images: max(5, ceil(800 / 32)) = 25 steps), not after every step.
    let steps: Vec<u64> = history
        .iter()
        .map(|p| p["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [0, 25, 50, 75, 100, 125, 150]);

    // A points session on the same server is as before.
    let spiral = client.post("/api/sessions?dataset=spiral")["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        client.get(&format!("/api/sessions/{spiral}/status"))["mode"],
        "points"
    );
}

#[test]
fn a_drawing_is_framed_as_mnist_and_classified_and_the_graph_takes_its_loss_for_a_label() {
    let dir = tempfile::tempdir().unwrap();
    bar_digit_folder(dir.path(), "bars", TRAIN, TEST);
    let served = serve(dir.path(), &["--dataset", "bars"]);
    let client = &served.client;
    let id = trained_session(client, 200);
    let (status, nothing) = client.request(false, &format!("/api/sessions/{id}/drawing"));
    assert_eq!(status, 400);
    assert!(nothing["error"]
        .as_str()
        .unwrap()
        .contains("nothing drawn yet"));

    let side = 200;
    let (status, drawn) = client.post_bytes(
        &format!("/api/sessions/{id}/drawing?width={side}&height={side}"),
        &drawn_bar(3, side),
    );
    assert_eq!(status, 200, "{drawn}");
    let input = numbers(&drawn["input"]);
    assert_eq!(input.len(), 784);
    assert!(input.iter().all(|v| (0.0..=1.0).contains(v)));
    let mass: f64 = input.iter().sum();
    let centre = |coordinate: fn(usize) -> usize| {
        input
            .iter()
            .enumerate()
            .map(|(i, v)| v * (coordinate(i) as f64 + 0.5))
            .sum::<f64>()
            / mass
    };
    let (x, y) = (centre(|i| i % 28), centre(|i| i / 28));
    assert!(
        (x - 14.0).abs() <= 1.0 && (y - 14.0).abs() <= 1.0,
        "centre of mass ({x}, {y})"
    );
    // The bar fills the 20-pixel box's height: rows 4 to 23.
    let inked_rows: Vec<usize> = (0..28)
        .filter(|r| input[r * 28..r * 28 + 28].iter().any(|&v| v > 0.5))
        .collect();
    assert_eq!((inked_rows[0], *inked_rows.last().unwrap()), (4, 23));
    let probabilities = numbers(&drawn["probabilities"]);
    assert_eq!(probabilities.len(), 10);
    assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert_eq!(drawn["predicted"], 3, "{probabilities:?}");
    assert_eq!(drawn["classes"][3], "3");
    assert_eq!(drawn["step"], 200);

    // The graph of the drawing with the loss for label 5: J = -log softmax(o)_5 (λ = 0).
    let answer = client.get(&format!("/api/sessions/{id}/graph?split=drawing&label=5"));
    assert_eq!(answer["split"], "drawing");
    assert_eq!(answer["label"], 5);
    assert_eq!(answer["true_label"], Value::Null);
    let graph = &answer["graph"];
    assert_eq!(graph["label"], 5);
    let objective = graph["objective"].as_f64().unwrap();
    assert!(
        (objective + probabilities[5].ln()).abs() < 1e-4,
        "J = {objective}, p5 = {}",
        probabilities[5]
    );
    assert_eq!(graph["gradients_computed"], true);
    let w1 = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["label"] == "W1")
        .unwrap();
    assert!(
        w1["gradient_norm"].as_f64().unwrap() > 0.0,
        "{}",
        w1["gradient_norm"]
    );
    assert!(!w1["gradient"].as_array().unwrap().is_empty());
    assert_eq!(numbers(&answer["input_image"]["pixels"]), input);
    let shown = numbers(&answer["probabilities"]);
    assert!(shown
        .iter()
        .zip(&probabilities)
        .all(|(a, b)| (a - b).abs() < 1e-5));
    // Without a label, the drawing's loss is for its predicted class.
    let own = client.get(&format!(
        "/api/sessions/{id}/graph?split=drawing&backward=false"
    ));
    assert_eq!(own["label"], 3);
    assert_eq!(own["graph"]["gradients_computed"], false);
    // On a test image, label=k changes the loss but not the true label.
    let labels = test_labels();
    let other = (labels[7] as usize + 1) % 10;
    let test = client.get(&format!(
        "/api/sessions/{id}/graph?split=test&index=7&label={other}"
    ));
    assert_eq!(test["true_label"], labels[7]);
    assert_eq!(test["label"], other);
    assert_eq!(numbers(&test["input_image"]["pixels"]).len(), 784);

    // Training on, the drawing is classified by the new weights.
    client.post(&format!("/api/sessions/{id}/step?count=10"));
    let later = client.get(&format!("/api/sessions/{id}/drawing"));
    assert_eq!(later["step"], 210);
    assert_eq!(numbers(&later["input"]), input);
    assert_ne!(numbers(&later["probabilities"]), probabilities);
    // A reset keeps the drawing.
    client.post(&format!("/api/sessions/{id}/reset"));
    assert_eq!(
        client.get(&format!("/api/sessions/{id}/drawing"))["step"],
        0
    );
}

#[test]
fn units_confusion_and_examples_show_w1_and_the_held_out_split() {
    let dir = tempfile::tempdir().unwrap();
    bar_digit_folder(dir.path(), "bars", TRAIN, TEST);
    let served = serve(dir.path(), &["--dataset", "bars"]);
    let client = &served.client;
    let id = trained_session(client, 60);

    let units = client.get(&format!("/api/sessions/{id}/units"));
    assert_eq!(
        (units["rows"].as_u64(), units["cols"].as_u64()),
        (Some(28), Some(28))
    );
    assert_eq!(units["hidden"], 16);
    assert_eq!(units["step"], 60);
    let rows = units["units"].as_array().unwrap();
    assert_eq!(rows.len(), 16, "the default is min(H, 64)");
    let norms: Vec<f64> = rows.iter().map(|u| u["norm"].as_f64().unwrap()).collect();
    assert!(norms.windows(2).all(|w| w[0] >= w[1]), "{norms:?}");
    // Each row is W1's row (as `/network` sends it, every digit), its norm the true one, its
    // weights rounded to the decimal grid of the scale's fourth significant digit.
    let network = client.get(&format!("/api/sessions/{id}/network"));
    let w1: Vec<Vec<f64>> = network["weights"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(numbers)
        .collect();
    let sent_scale = units["scale"].as_f64().unwrap();
    let true_scale = rows
        .iter()
        .flat_map(|u| &w1[u["unit"].as_u64().unwrap() as usize])
        .fold(0.0f64, |m, w| m.max(w.abs()));
    let step = 10f64.powf(true_scale.log10().floor() - 3.0);
    let mut scale = 0.0f64;
    for unit in rows {
        let trained = &w1[unit["unit"].as_u64().unwrap() as usize];
        let weights = numbers(&unit["weights"]);
        assert_eq!(weights.len(), 784);
        let norm = trained.iter().map(|w| w * w).sum::<f64>().sqrt();
        assert!((norm - unit["norm"].as_f64().unwrap()).abs() < 1e-9);
        // The page writes the norm as the server does: one formatter.
        assert_eq!(
            unit["norm_text"],
            backprop::format::short_number(unit["norm"].as_f64().unwrap())
        );
        for (sent, trained) in weights.iter().zip(trained) {
            assert!(
                (sent - trained).abs() <= step / 2.0 + 1e-12,
                "unit {}: {sent} for {trained} on a step of {step}",
                unit["unit"]
            );
        }
        scale = weights.iter().fold(scale, |m, w| m.max(w.abs()));
    }
    assert_eq!(scale, sent_scale, "the scale is the largest |w| sent");
    assert_eq!(
        units["scale_text"],
        backprop::format::short_number(sent_scale)
    );
    assert!((sent_scale - true_scale).abs() <= step / 2.0 + 1e-12);
    // Rounded, the 16 rows print short: about 7 characters a weight, not 20.
    let text = units["units"].to_string();
    assert!(text.len() < 16 * 784 * 9, "{} bytes", text.len());
    let few = client.get(&format!("/api/sessions/{id}/units?limit=3"));
    let few: Vec<&Value> = few["units"].as_array().unwrap().iter().collect();
    assert_eq!(few.len(), 3);
    assert_eq!(few[0]["unit"], rows[0]["unit"]);

    let matrix = client.get(&format!("/api/sessions/{id}/confusion"));
    assert_eq!(matrix["split"], "test");
    assert_eq!(matrix["step"], 60);
    assert_eq!(matrix["total"], TEST);
    let counts: Vec<Vec<u64>> = matrix["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(counts.len(), 10);
    assert_eq!(counts.iter().flatten().sum::<u64>(), TEST as u64);
    let labels = test_labels();
    for (class, row) in counts.iter().enumerate() {
        let of_class = labels.iter().filter(|&&l| l as usize == class).count() as u64;
        assert_eq!(
            row.iter().sum::<u64>(),
            of_class,
            "row {class} is true class {class}"
        );
    }
    let diagonal: u64 = (0..10).map(|c| counts[c][c]).sum();
    let accuracy = matrix["accuracy"].as_f64().unwrap();
    assert!((accuracy - diagonal as f64 / TEST as f64).abs() < 1e-12);

    // The cell with the most images off the diagonal, or the fullest diagonal cell.
    let (actual, predicted) = (0..10)
        .flat_map(|a| (0..10).map(move |p| (a, p)))
        .max_by_key(|&(a, p)| (a != p && counts[a][p] > 0, counts[a][p]))
        .unwrap();
    let cell = client.get(&format!(
        "/api/sessions/{id}/examples?actual={actual}&predicted={predicted}&limit=64"
    ));
    assert_eq!(cell["total"], counts[actual][predicted]);
    let shown = cell["examples"].as_array().unwrap();
    assert_eq!(shown.len() as u64, counts[actual][predicted].min(64));
    let (pixels, _) = bar_digits(TEST, 2);
    for example in shown {
        let index = example["index"].as_u64().unwrap() as usize;
        assert_eq!(labels[index] as usize, actual);
        let p = numbers(&example["probabilities"]);
        let best = (0..10).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        assert_eq!(best, predicted);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let bytes: Vec<u64> = example["pixels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap())
            .collect();
        let stored: Vec<u64> = pixels[index * 784..(index + 1) * 784]
            .iter()
            .map(|&b| u64::from(b))
            .collect();
        assert_eq!(bytes, stored);
    }
    // Paging: offset 1 starts at the second image.
    if shown.len() > 1 {
        let next = client.get(&format!(
            "/api/sessions/{id}/examples?actual={actual}&predicted={predicted}&offset=1&limit=1"
        ));
        assert_eq!(next["examples"][0]["index"], shown[1]["index"]);
        assert_eq!(next["offset"], 1);
    }
}

#[test]
fn a_folder_without_a_test_split_holds_out_a_validation_share() {
    let dir = tempfile::tempdir().unwrap();
    bar_digit_folder(dir.path(), "bars", 500, 0);
    let served = serve(dir.path(), &["--dataset", "bars"]);
    let images = served.client.get("/api/defaults")["images"].clone();
    assert_eq!(images["test_split"], "validation");
    assert_eq!(
        (images["train"].as_u64(), images["test"].as_u64()),
        (Some(400), Some(100))
    );
    assert_eq!(images["title"], "bars (400 train / 100 validation)");
    let id = served.client.post("/api/sessions?dataset=bars&hidden=8")["id"]
        .as_u64()
        .unwrap();
    let matrix = served.client.get(&format!("/api/sessions/{id}/confusion"));
    assert_eq!(
        (matrix["split"].as_str(), matrix["total"].as_u64()),
        (Some("validation"), Some(100))
    );
}
