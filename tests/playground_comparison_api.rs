//! Side by side and neurons over the playground's HTTP API on loopback: a real server in
//! this process on a free port, real requests. A comparison's two runs advance in lockstep
//! (the same step in every status reply, playing or stepping), start from the same initial
//! weights when their shapes match, and must share their data settings; a hidden unit's
//! thumbnail holds what a forward pass through the `/network` weights gives.

mod loopback;

use backprop::playground::registry::MAX_COMPARISONS;
use backprop::playground::PlaygroundServer;
use loopback::Client;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn start() -> (PlaygroundServer, Client) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = PlaygroundServer::start(listener).unwrap();
    let client = Client::new(format!("http://{}", server.address()));
    (server, client)
}

/// `a` and `b` as one query string (each URL-encoded).
fn pair(a: &str, b: &str) -> String {
    let encode = |s: &str| {
        s.replace('&', "%26")
            .replace('=', "%3D")
            .replace(',', "%2C")
    };
    format!("/api/comparisons?a={}&b={}", encode(a), encode(b))
}

fn error(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {body}"))
}

fn steps_of(status: &Value) -> Vec<u64> {
    status["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["steps"].as_u64().unwrap())
        .collect()
}

#[test]
fn both_runs_of_a_comparison_are_at_the_same_step_in_every_reply() {
    let (_server, client) = start();
    let created = client.post(&pair(
        "dataset=circles&points=200&batch=16&activation=relu",
        "dataset=circles&points=200&batch=16&activation=sigmoid",
    ));
    let id = created["id"].as_u64().unwrap();
    assert!(created["a"].as_str().unwrap().contains("activation=relu"));
    assert!(created["b"]
        .as_str()
        .unwrap()
        .contains("activation=sigmoid"));
    assert_eq!(created["same_initial_weights"], true);

    let status = client.post(&format!("/api/comparisons/{id}/step?count=25"));
    assert_eq!(steps_of(&status), vec![25, 25]);
    assert_eq!(status["steps"], 25);
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs[0]["name"], "a");
    assert_eq!(runs[1]["name"], "b");
    assert_eq!(
        runs[0]["history"].as_array().unwrap().last().unwrap()["step"],
        25
    );
    assert_eq!(
        runs[1]["history"].as_array().unwrap().last().unwrap()["step"],
        25
    );
    // The shared charts' axes span both runs, their loss axis above both runs' losses.
    let axes = &status["history_axes"];
    assert_eq!(axes["loss"]["steps"], json!([0, 25]));
    let largest = runs
        .iter()
        .flat_map(|run| run["history"].as_array().unwrap())
        .flat_map(|p| {
            [
                p["train_loss"].as_f64().unwrap(),
                p["test_loss"].as_f64().unwrap(),
            ]
        })
        .fold(0.0, f64::max);
    assert!(
        axes["loss"]["values"][1].as_f64().unwrap() >= largest * 0.999,
        "{axes}"
    );
    for tick in axes["loss"]["x_ticks"].as_array().unwrap() {
        assert_eq!(
            tick["label"],
            backprop::format::axis_tick(tick["value"].as_f64().unwrap())
        );
    }

    // Playing: every status reply shows both runs at one step, and the step grows.
    client.post(&format!("/api/comparisons/{id}/play"));
    let began = Instant::now();
    let mut seen = Vec::new();
    while began.elapsed() < Duration::from_secs(2) {
        let status = client.get(&format!("/api/comparisons/{id}/status"));
        let steps = steps_of(&status);
        assert_eq!(steps[0], steps[1], "{status}");
        seen.push(steps[0]);
    }
    let paused = client.post(&format!("/api/comparisons/{id}/pause"));
    assert_eq!(paused["playing"], false);
    let steps = steps_of(&paused);
    assert_eq!(steps[0], steps[1]);
    assert!(seen.len() > 3, "{seen:?}");
    assert!(seen.last().unwrap() > &25, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");

    // The two configurations learn differently from the same start.
    let a = client.get(&format!("/api/comparisons/{id}/a/network"));
    let b = client.get(&format!("/api/comparisons/{id}/b/network"));
    assert_ne!(a["weights"], b["weights"]);

    let reset = client.post(&format!("/api/comparisons/{id}/reset"));
    assert_eq!(steps_of(&reset), vec![0, 0]);
    let a = client.get(&format!("/api/comparisons/{id}/a/network"));
    let b = client.get(&format!("/api/comparisons/{id}/b/network"));
    assert_eq!(
        a["weights"], b["weights"],
        "a reset starts both from one draw again"
    );
}

#[test]
fn equal_shapes_start_from_the_same_weights_and_other_shapes_from_their_own() {
    let (_server, client) = start();
    for (a, b, same) in [
        ("hidden=8,8&lambda=0", "hidden=8,8&lambda=0.01", true),
        (
            "hidden=8,8&optimizer=sgd",
            "hidden=8,8&optimizer=adam",
            true,
        ),
        (
            "hidden=8,8&activation=relu",
            "hidden=8,8&activation=sigmoid",
            true,
        ),
        ("hidden=8,8", "hidden=8,8&bias=false", true),
        ("hidden=8,8", "hidden=6", false),
    ] {
        let created = client.post(&pair(a, b));
        let id = created["id"].as_u64().unwrap();
        assert_eq!(created["same_initial_weights"], same, "{a} | {b}");
        let first = client.get(&format!("/api/comparisons/{id}/a/network"));
        let second = client.get(&format!("/api/comparisons/{id}/b/network"));
        assert_eq!(first["weights"] == second["weights"], same, "{a} | {b}");
        // The second run without a comparison: its own draw, which differs from a's
        // unless the activation's initialisation is the same.
        let alone = client.post(&format!("/api/sessions?{b}"))["id"]
            .as_u64()
            .unwrap();
        let alone = client.get(&format!("/api/sessions/{alone}/network"));
        if !same {
            assert_eq!(second["weights"], alone["weights"], "{b} draws its own");
        }
        if b.contains("sigmoid") {
            assert_ne!(
                alone["weights"], second["weights"],
                "Xavier alone, He in the pair"
            );
        }
    }
}

#[test]
fn different_data_settings_and_bad_requests_are_400s_that_say_why() {
    let (_server, client) = start();
    for (query, words) in [
        (pair("seed=1", "seed=2"), "differ in seed"),
        (pair("dataset=xor", "dataset=circles"), "differ in dataset"),
        (pair("noise=0.1", "noise=0.3"), "differ in noise"),
        (pair("points=200", "points=300"), "differ in points"),
        (pair("train=50", "train=60"), "differ in train"),
        (pair("hidden=999", ""), "a: hidden=\"999\""),
        (pair("", "lr=0"), "b: lr=\"0\""),
        (
            "/api/comparisons?a=hidden%3D8".to_string(),
            "needs b=<settings>",
        ),
        ("/api/comparisons".to_string(), "needs a=<settings>"),
        (
            "/api/comparisons?a=&b=&c=1".to_string(),
            "unknown parameter \"c\"",
        ),
        ("/api/comparisons?a=%zz&b=".to_string(), "percent-encoding"),
    ] {
        let (status, body) = client.request(true, &query);
        assert_eq!(status, 400, "{query}: {body}");
        assert!(error(&body).contains(words), "{query}: {}", error(&body));
        assert!(!error(&body).contains('\n'));
    }
    let id = client.post(&pair("", ""))["id"].as_u64().unwrap();
    for (post, path, code, words) in [
        (
            false,
            format!("/api/comparisons/{id}/c/network"),
            404,
            "runs a and b",
        ),
        (
            false,
            format!("/api/comparisons/{id}/a/fly"),
            404,
            "no such view",
        ),
        (
            true,
            format!("/api/comparisons/{id}/heatmap"),
            404,
            "/a/ and /b/",
        ),
        (
            false,
            format!("/api/comparisons/{}/status", id + 100),
            404,
            "no comparison",
        ),
        (
            false,
            "/api/comparisons/x/status".to_string(),
            400,
            "not a number",
        ),
        (
            true,
            format!("/api/comparisons/{id}/step?count=1001"),
            400,
            "from 1 to 1000",
        ),
        (
            false,
            format!("/api/comparisons/{id}/a/heatmap?resolution=1"),
            400,
            "resolution",
        ),
        (
            false,
            format!("/api/comparisons/{id}/b/neuron?layer=9"),
            400,
            "layer",
        ),
    ] {
        let (status, body) = client.request(post, &path);
        assert_eq!(status, code, "{path}: {body}");
        assert!(error(&body).contains(words), "{path}: {}", error(&body));
    }
    let (status, _) = client.request(false, &format!("/api/comparisons/{id}/play"));
    assert_eq!(status, 405);
}

#[test]
fn the_server_keeps_a_bounded_number_of_comparisons() {
    let (_server, client) = start();
    let ids: Vec<u64> = (0..MAX_COMPARISONS + 2)
        .map(|_| {
            client.post(&pair("points=100", "points=100&lambda=0.01"))["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let (status, body) = client.request(false, &format!("/api/comparisons/{}/status", ids[0]));
    assert_eq!(status, 404, "{body}");
    assert!(error(&body).contains(&format!("keeps the {MAX_COMPARISONS} most recently used")));
    for id in &ids[2..] {
        client.get(&format!("/api/comparisons/{id}/status"));
    }
    // Comparisons do not push sessions out, nor sessions comparisons.
    let session = client.post("/api/sessions?points=100")["id"]
        .as_u64()
        .unwrap();
    client.get(&format!("/api/sessions/{session}/status"));
    client.get(&format!("/api/comparisons/{}/status", ids[2]));
}

/// `phi` by its name in the reply.
fn phi(name: &str, z: f64) -> f64 {
    match name {
        "relu" => z.max(0.0),
        "sigmoid" => 1.0 / (1.0 + (-z).exp()),
        "tanh" => z.tanh(),
        other => panic!("unknown activation {other}"),
    }
}

/// `h_layer` for the input `(x, y)`, computed here from the `/network` reply.
fn hidden_layer(network: &Value, activation: &str, layer: usize, x: f64, y: f64) -> Vec<f64> {
    let mut h = vec![x, y];
    for k in 0..layer {
        let w = network["weights"][k].as_array().unwrap();
        let b = network["biases"].get(k);
        h = w
            .iter()
            .enumerate()
            .map(|(unit, row)| {
                let z: f64 = row
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(&h)
                    .map(|(w, h)| w.as_f64().unwrap() * h)
                    .sum();
                let bias = b.map_or(0.0, |b| b[unit].as_f64().unwrap());
                phi(activation, z + bias)
            })
            .collect();
    }
    h
}

#[test]
fn a_hidden_units_thumbnail_is_the_forward_pass_of_the_network_weights() {
    let (_server, client) = start();
    for (settings, layer, unit) in [
        ("dataset=xor&hidden=5,4&activation=tanh", 2, 3),
        ("dataset=spiral&hidden=6&activation=relu", 1, 5),
        (
            "dataset=circles&hidden=3,3&activation=sigmoid&bias=false",
            1,
            0,
        ),
    ] {
        let id = client.post(&format!("/api/sessions?{settings}"))["id"]
            .as_u64()
            .unwrap();
        client.post(&format!("/api/sessions/{id}/step?count=40"));
        let network = client.get(&format!("/api/sessions/{id}/network"));
        let neuron = client.get(&format!(
            "/api/sessions/{id}/neuron?layer={layer}&unit={unit}&resolution=10"
        ));
        let activation = neuron["activation"].as_str().unwrap();
        assert!(settings.contains(activation), "{activation}");
        assert_eq!(neuron["resolution"], 10);
        let values = neuron["values"].as_array().unwrap();
        assert_eq!(values.len(), 100);
        let (min, max) = (
            neuron["extent"]["min"].as_f64().unwrap(),
            neuron["extent"]["max"].as_f64().unwrap(),
        );
        let cell = (max - min) / 10.0;
        let mut low = f64::INFINITY;
        for row in 0..10 {
            for col in 0..10 {
                let x = min + (col as f64 + 0.5) * cell;
                let y = max - (row as f64 + 0.5) * cell;
                let expected = hidden_layer(&network, activation, layer, x, y)[unit];
                let got = values[row * 10 + col].as_f64().unwrap();
                assert!(
                    (got - expected).abs() <= 1e-4 * (1.0 + expected.abs()),
                    "{settings}: cell ({row}, {col}): {got} vs {expected}"
                );
                low = low.min(got);
            }
        }
        assert_eq!(neuron["range"][0].as_f64().unwrap(), low);
        assert_eq!(neuron["incoming"], network["weights"][layer - 1][unit]);
        match network["biases"].get(layer - 1) {
            Some(b) => assert_eq!(neuron["bias"], b[unit]),
            None => assert!(neuron["bias"].is_null()),
        }
        let texts = neuron["text"]["incoming"].as_array().unwrap();
        assert_eq!(
            texts.len(),
            network["layer_sizes"][layer - 1].as_u64().unwrap() as usize
        );
    }
}

#[test]
fn bad_neuron_parameters_are_400s_that_name_them() {
    let (_server, client) = start();
    let id = client.post("/api/sessions?hidden=16,8")["id"]
        .as_u64()
        .unwrap();
    let none = client.post("/api/sessions?hidden=")["id"].as_u64().unwrap();
    for (session, query, words) in [
        (
            id,
            "layer=3",
            "layer=3; the network has hidden layers 1 to 2 (widths 16, 8)",
        ),
        (
            id,
            "layer=2&unit=8",
            "unit=8; hidden layer 2 has units 0 to 7",
        ),
        (
            id,
            "layer=0",
            "layer=\"0\"; expected an integer from 1 to 6",
        ),
        (id, "layer=7", "expected an integer from 1 to 6"),
        (
            id,
            "unit=64",
            "unit=\"64\"; expected an integer from 0 to 63",
        ),
        (id, "unit=-1", "unit=\"-1\""),
        (
            id,
            "resolution=1",
            "resolution=\"1\"; expected an integer from 2 to 48",
        ),
        (id, "resolution=49", "from 2 to 48"),
        (id, "resolution=99999999999999999999", "resolution="),
        (
            id,
            "size=3",
            "unknown parameter \"size\" for neuron; expected: layer, unit, resolution",
        ),
        (none, "layer=1", "the network has no hidden layer"),
    ] {
        let path = format!("/api/sessions/{session}/neuron?{query}");
        let (status, body) = client.request(false, &path);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(error(&body).contains(words), "{path}: {}", error(&body));
    }
    let neuron = client.get(&format!("/api/sessions/{id}/neuron"));
    assert_eq!(
        (neuron["layer"].as_u64(), neuron["unit"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(neuron["resolution"], 24);
}
