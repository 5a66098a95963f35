//! The playground's `/graph` reply on loopback: each weight's two contributions (4.7.11's or
//! 4.7.14's data path through the product, and 4.7.10's `λ W` through the L2 term) are the
//! engine's own vector-Jacobian products and sum to its gradient, with and without `λ`;
//! `backward=false` computes no gradient at all rather than zeros.

mod loopback;

use backprop::playground::PlaygroundServer;
use loopback::Client;
use serde_json::Value;
use std::net::TcpListener;

fn start() -> (PlaygroundServer, Client) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = PlaygroundServer::start(listener).unwrap();
    let client = Client::new(format!("http://{}", server.address()));
    (server, client)
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn node<'a>(graph: &'a Value, label: &str) -> &'a Value {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["label"] == label)
        .unwrap_or_else(|| panic!("no node {label}"))
}

/// A session of `settings`, trained `steps` steps, and its graph for test sample 3.
fn graph_after(client: &Client, settings: &str, steps: u64) -> Value {
    let id = client.post(&format!("/api/sessions?{settings}"))["id"]
        .as_u64()
        .unwrap();
    client.post(&format!("/api/sessions/{id}/step?count={steps}"));
    client.get(&format!("/api/sessions/{id}/graph?split=test&index=3"))["graph"].clone()
}

#[test]
fn each_weights_contributions_sum_to_its_gradient_with_and_without_lambda() {
    let (_server, client) = start();
    for lambda in [0.0, 0.05] {
        let graph = graph_after(
            &client,
            &format!("dataset=circles&hidden=5&bias=false&lambda={lambda}"),
            7,
        );
        assert_eq!(graph["gradients_computed"], true);
        for (weight, data_path, data_term) in
            [("W1", "4.7.14", "∂J/∂z xᵀ"), ("W2", "4.7.11", "∂J/∂o hᵀ")]
        {
            let w = node(&graph, weight);
            let parts = w["contributions"].as_array().unwrap();
            assert_eq!(parts.len(), 2, "{weight}: {parts:?}");
            let numbers_of: Vec<&str> = parts
                .iter()
                .map(|c| c["number"].as_str().unwrap())
                .collect();
            assert_eq!(numbers_of, [data_path, "4.7.10"], "{weight}");
            assert_eq!(parts[0]["term"], data_term);
            assert_eq!(parts[1]["term"], format!("λ {weight}"));
            let index = graph["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .position(|n| n["label"] == weight)
                .unwrap();
            for part in parts {
                assert_eq!(part["variable"], index);
                let operator = &graph["nodes"][part["operator"].as_u64().unwrap() as usize];
                assert_eq!(operator["kind"], "operator");
            }
            let (data, l2) = (numbers(&parts[0]["value"]), numbers(&parts[1]["value"]));
            let gradient = numbers(&w["gradient"]);
            let value = numbers(&w["value"]);
            assert_eq!(gradient.len(), 10, "circles: 2 inputs, 5 hidden, 2 classes");
            for j in 0..gradient.len() {
                let sum = data[j] + l2[j];
                assert!(
                    (sum - gradient[j]).abs() <= 1e-9 * (1.0 + gradient[j].abs()),
                    "{weight}[{j}]: {} + {} != {}",
                    data[j],
                    l2[j],
                    gradient[j]
                );
                assert!(
                    (l2[j] - lambda * value[j]).abs() <= 1e-9,
                    "the L2 term is λ {weight}"
                );
            }
            assert!(
                data.iter().any(|&v| v != 0.0),
                "{weight}'s data path is not all zero"
            );
            let shown = w["backward_plugged"].as_str().unwrap();
            assert!(shown.contains(&format!(" + {lambda} · [[")), "{shown}");
        }
    }
}

#[test]
fn a_deeper_model_with_biases_sums_every_weights_contributions_too() {
    let (_server, client) = start();
    let graph = graph_after(&client, "hidden=4,3&lambda=0.01", 5);
    for (weight, data_path) in [
        ("W1", "4.7.14 (layer 1)"),
        ("W2", "4.7.14 (layer 2)"),
        ("W3", "4.7.11 (layer 3)"),
    ] {
        let w = node(&graph, weight);
        let parts = w["contributions"].as_array().unwrap();
        assert_eq!(parts[0]["number"], data_path);
        assert_eq!(parts[1]["number"], "4.7.10");
        let gradient = numbers(&w["gradient"]);
        for (j, g) in gradient.iter().enumerate() {
            let sum = numbers(&parts[0]["value"])[j] + numbers(&parts[1]["value"])[j];
            assert!((sum - g).abs() <= 1e-9 * (1.0 + g.abs()), "{weight}[{j}]");
        }
    }
    // A variable read once has one contribution, equal to its gradient.
    let h1 = node(&graph, "h1");
    assert_eq!(h1["contributions"].as_array().unwrap().len(), 1);
    assert_eq!(h1["contributions"][0]["value"], h1["gradient"]);
    assert_eq!(h1["section_shape"], "4x1");
    assert_eq!(
        node(&graph, "b1")["section_shape"],
        "4x1",
        "a bias is a column"
    );
    assert_eq!(node(&graph, "W2")["section_shape"], "3x4");
    assert_eq!(node(&graph, "u_o")["label_html"], "u<sub>o</sub>");
    assert!(graph["svg"].as_str().unwrap().contains(">4x1<"));
}

#[test]
fn without_backward_no_gradient_is_computed_and_none_reads_zero() {
    let (_server, client) = start();
    let id = client.post("/api/sessions?hidden=5&bias=false&lambda=0.01")["id"]
        .as_u64()
        .unwrap();
    let graph =
        client.get(&format!("/api/sessions/{id}/graph?index=2&backward=false"))["graph"].clone();
    assert_eq!(graph["gradients_computed"], false);
    for n in graph["nodes"].as_array().unwrap() {
        assert_eq!(n["gradient"], serde_json::json!([]), "{}", n["label"]);
        assert!(n["gradient_norm"].is_null() && n["gradient_text"].is_null());
        assert!(n["backward_plugged"].is_null());
        assert_eq!(n["contributions"], serde_json::json!([]));
    }
    // Forward still ran: the values and the forward equations with numbers are there.
    let z = node(&graph, "z");
    assert!(z["forward_plugged"]
        .as_str()
        .unwrap()
        .starts_with("z = W<sub>1</sub> x = [["));
    assert!(!numbers(&z["value"]).is_empty());
    let svg = graph["svg"].as_str().unwrap();
    assert!(svg.contains("∂J not computed yet"));
    assert!(!svg.contains("∂J [0"), "no gradient drawn as zeros");
    // The default is one backward pass, as before.
    let graph = client.get(&format!("/api/sessions/{id}/graph?index=2"))["graph"].clone();
    assert_eq!(graph["gradients_computed"], true);
    assert_eq!(numbers(&node(&graph, "W1")["gradient"]).len(), 10);
    let (status, body) = client.request(false, &format!("/api/sessions/{id}/graph?backward=1"));
    assert_eq!(status, 400);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("expected true or false"));
}
