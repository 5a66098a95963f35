//! The playground's HTTP API on loopback: a real server in this process on a free port,
//! real requests. Sessions train with this project's engine; bad parameters are 400s with a
//! message; the server answers while a session trains.

mod loopback;

use backprop::playground::PlaygroundServer;
use loopback::Client;
use std::net::TcpListener;

fn start() -> (PlaygroundServer, Client) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = PlaygroundServer::start(listener).unwrap();
    let client = Client::new(format!("http://{}", server.address()));
    (server, client)
}

#[test]
fn serves_the_embedded_page_and_its_assets() {
    let (_server, client) = start();
    let (status, html) = client.get_text("/");
    assert_eq!(status, 200);
    assert!(html.contains("<canvas id=\"heatmap\""));
    assert!(html.contains("/playground.js"));
    for asset in ["/playground.js", "/playground.css"] {
        let (status, text) = client.get_text(asset);
        assert_eq!(status, 200, "{asset}");
        assert!(text.len() > 1000, "{asset}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
}

#[test]
fn a_session_trains_the_spiral_to_high_test_accuracy_in_steps() {
    let (_server, client) = start();
    let created = client.post("/api/sessions?dataset=spiral&seed=0");
    let id = created["id"].as_u64().unwrap();
    assert!(created["settings"]
        .as_str()
        .unwrap()
        .contains("hidden=16,16"));
    let status = client.get(&format!("/api/sessions/{id}/status"));
    assert_eq!(status["steps"], 0);
    let first = status["history"][0]["test_accuracy"].as_f64().unwrap();
    let status = client.post(&format!("/api/sessions/{id}/step?count=1000"));
    assert_eq!(status["steps"], 1000);
    let history = status["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["step"], 1000);
    assert!(first < 0.6, "untrained: {first}");
    assert!(last["test_accuracy"].as_f64().unwrap() > 0.9, "{last}");
    assert!(last["train_loss"].as_f64().unwrap() < history[0]["train_loss"].as_f64().unwrap());

    let reset = client.post(&format!("/api/sessions/{id}/reset"));
    assert_eq!(reset["steps"], 0);
    assert_eq!(
        reset["history"][0]["test_accuracy"].as_f64().unwrap(),
        first
    );
}

#[test]
fn the_same_settings_give_the_same_numbers() {
    let (_server, client) = start();
    let mut weights = Vec::new();
    for _ in 0..2 {
        let id = client.post("/api/sessions?dataset=xor&seed=3&hidden=8&optimizer=momentum&lr=0.1")
            ["id"]
            .as_u64()
            .unwrap();
        client.post(&format!("/api/sessions/{id}/step?count=57"));
        weights.push(client.get(&format!("/api/sessions/{id}/network")));
    }
    assert_eq!(weights[0], weights[1]);
    assert_eq!(weights[0]["layer_sizes"], serde_json::json!([2, 8, 2]));
}

#[test]
fn the_heatmap_points_and_network_have_the_promised_shapes() {
    let (_server, client) = start();
    let id = client.post("/api/sessions?dataset=blobs&points=300&train=60&hidden=4,5")["id"]
        .as_u64()
        .unwrap();
    let points = client.get(&format!("/api/sessions/{id}/points"));
    assert_eq!(points["classes"], 3);
    assert_eq!(points["train"].as_array().unwrap().len(), 180);
    assert_eq!(points["test"].as_array().unwrap().len(), 120);
    let map = client.get(&format!("/api/sessions/{id}/heatmap?resolution=20"));
    assert_eq!(map["classes"].as_array().unwrap().len(), 400);
    assert!(map["classes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.as_u64().unwrap() < 3));
    let network = client.get(&format!("/api/sessions/{id}/network"));
    assert_eq!(network["layer_sizes"], serde_json::json!([2, 4, 5, 3]));
    assert_eq!(network["weights"][1].as_array().unwrap().len(), 5);
    assert_eq!(network["weights"][1][0].as_array().unwrap().len(), 4);
    assert_eq!(network["biases"].as_array().unwrap().len(), 3);
}

#[test]
fn the_graph_names_each_nodes_equation_and_the_backward_order() {
    let (_server, client) = start();
    let id = client.post("/api/sessions?hidden=5&bias=false&lambda=0.01")["id"]
        .as_u64()
        .unwrap();
    let answer = client.get(&format!("/api/sessions/{id}/graph?split=test&index=7"));
    let graph = &answer["graph"];
    let svg = graph["svg"].as_str().unwrap();
    let nodes = graph["nodes"].as_array().unwrap();
    assert_eq!(svg.matches("data-node=").count(), nodes.len());
    let node = |label: &str| {
        nodes
            .iter()
            .find(|n| n["label"] == label)
            .unwrap_or_else(|| panic!("no node {label}"))
    };
    assert_eq!(node("o")["equations"]["backward"]["number"], "4.7.9");
    assert_eq!(node("W2")["equations"]["backward"]["number"], "4.7.11");
    assert_eq!(node("h")["equations"]["backward"]["number"], "4.7.12");
    assert_eq!(node("z")["equations"]["backward"]["number"], "4.7.13");
    assert_eq!(node("W1")["equations"]["backward"]["number"], "4.7.14");
    assert_eq!(node("z")["equations"]["forward"]["number"], "4.7.1");
    assert_eq!(node("J")["equations"]["forward"]["number"], "4.7.6");
    assert_eq!(node("W1")["gradient"].as_array().unwrap().len(), 10);
    let order: Vec<usize> = graph["backward_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as usize)
        .collect();
    assert!(order.iter().all(|&i| nodes[i]["kind"] == "operator"));
    // Backward starts at J = L + s and ends at the first layer's product.
    assert_eq!(nodes[order[0]]["equations"]["forward"]["number"], "4.7.6");
    assert_eq!(
        nodes[*order.last().unwrap()]["equations"]["backward"]["number"],
        "4.7.14"
    );
}

#[test]
fn bad_parameters_are_400s_with_a_message() {
    let (_server, client) = start();
    let id = client.post("/api/sessions?points=100")["id"]
        .as_u64()
        .unwrap();
    for (post, path, words) in [
        (true, "/api/sessions?points=100000".to_string(), "points"),
        (true, "/api/sessions?hidden=8,1000".to_string(), "hidden"),
        (
            true,
            "/api/sessions?hidden=1,1,1,1,1,1,1,1".to_string(),
            "hidden",
        ),
        (true, "/api/sessions?batch=5000".to_string(), "batch"),
        (true, "/api/sessions?lr=-1".to_string(), "lr"),
        (
            true,
            "/api/sessions?activation=softplus".to_string(),
            "activation",
        ),
        (true, "/api/sessions?seed=x".to_string(), "seed"),
        (true, "/api/sessions?noise=%zz".to_string(), "percent"),
        (
            true,
            "/api/sessions?dataset=xor&dataset=spiral".to_string(),
            "twice",
        ),
        (true, "/api/sessions?speed=9".to_string(), "unknown"),
        (true, format!("/api/sessions/{id}/step?count=0"), "count"),
        (
            true,
            format!("/api/sessions/{id}/step?count=1000000"),
            "count",
        ),
        (
            false,
            format!("/api/sessions/{id}/heatmap?resolution=100000"),
            "resolution",
        ),
        (
            false,
            format!("/api/sessions/{id}/graph?index=100"),
            "index",
        ),
        (false, format!("/api/sessions/{id}/graph?index=-1"), "index"),
        (
            false,
            format!("/api/sessions/{id}/graph?split=validation"),
            "split",
        ),
        (
            false,
            format!("/api/sessions/{id}/graph?sample=1"),
            "unknown parameter",
        ),
        (
            false,
            "/api/sessions/abc/status".to_string(),
            "not a number",
        ),
    ] {
        let (status, body) = client.request(post, &path);
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(words), "{path}: {message}");
    }
    let (status, body) = client.request(false, "/api/sessions/999/status");
    assert_eq!(status, 404, "{body}");
    let (status, _) = client.request(false, "/nothing-here");
    assert_eq!(status, 404);
    let (status, _) = client.request(false, &format!("/api/sessions/{id}/play"));
    assert_eq!(status, 405);
}

#[test]
fn the_server_answers_while_a_session_plays() {
    let (_server, client) = start();
    let id = client.post("/api/sessions?points=4000&batch=1024&hidden=64,64,64")["id"]
        .as_u64()
        .unwrap();
    client.post(&format!("/api/sessions/{id}/play"));
    let mut steps = Vec::new();
    for _ in 0..200 {
        let status = client.get(&format!("/api/sessions/{id}/status"));
        assert_eq!(status["playing"], true);
        client.get(&format!("/api/sessions/{id}/heatmap"));
        steps.push(status["steps"].as_u64().unwrap());
        if steps.last() > Some(&steps[0]) && steps.len() > 3 {
            break;
        }
    }
    assert!(steps.last() > steps.first(), "training advanced: {steps:?}");
    let paused = client.post(&format!("/api/sessions/{id}/pause"));
    assert_eq!(paused["playing"], false);
    let at = paused["steps"].as_u64().unwrap();
    let again = client.get(&format!("/api/sessions/{id}/status"));
    assert_eq!(
        again["steps"].as_u64().unwrap(),
        at,
        "paused sessions do not train"
    );
}

#[test]
fn old_sessions_are_dropped_beyond_the_cap() {
    let (_server, client) = start();
    let first = client.post("/api/sessions?points=40&batch=8")["id"]
        .as_u64()
        .unwrap();
    for _ in 0..backprop::playground::registry::MAX_SESSIONS {
        client.post("/api/sessions?points=40&batch=8");
    }
    let (status, body) = client.request(false, &format!("/api/sessions/{first}/status"));
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("reload"));
}

#[test]
fn status_replies_stay_fast_while_the_session_plays() {
    let (_server, client) = start();
    let id = client.post("/api/sessions?points=4000&batch=1024&hidden=64,64,64")["id"]
        .as_u64()
        .unwrap();
    client.post(&format!("/api/sessions/{id}/play"));
    let started = std::time::Instant::now();
    let mut slowest = std::time::Duration::ZERO;
    let mut steps = Vec::new();
    // About two seconds of polling, bounded in count too.
    for _ in 0..400 {
        if started.elapsed() > std::time::Duration::from_secs(2) {
            break;
        }
        let asked = std::time::Instant::now();
        let status = client.get(&format!("/api/sessions/{id}/status"));
        slowest = slowest.max(asked.elapsed());
        steps.push(status["steps"].as_u64().unwrap());
    }
    client.post(&format!("/api/sessions/{id}/pause"));
    assert!(steps.len() > 5, "{} replies in two seconds", steps.len());
    assert!(steps.last() > steps.first(), "training advanced: {steps:?}");
    // A fraction of a second: the training thread lets a waiting request take the lock
    // before its next step.
    assert!(
        slowest < std::time::Duration::from_millis(500),
        "the slowest status reply during play took {slowest:?}"
    );
}
