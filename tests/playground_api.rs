//! The playground's HTTP API on loopback: a real server in this process on a free port,
//! real requests. Sessions train with this project's engine; bad parameters are 400s with a
//! message; the server answers while a session trains.

mod loopback;

use backprop::playground::PlaygroundServer;
use loopback::Client;
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn start() -> (PlaygroundServer, Client) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = PlaygroundServer::start(listener).unwrap();
    let client = Client::new(format!("http://{}", server.address()));
    (server, client)
}

/// A new session with `settings` (a query string): its id.
fn new_session(client: &Client, settings: &str) -> u64 {
    client.post(&format!("/api/sessions?{settings}"))["id"]
        .as_u64()
        .unwrap()
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
        let id = new_session(
            &client,
            "dataset=xor&seed=3&hidden=8&optimizer=momentum&lr=0.1",
        );
        client.post(&format!("/api/sessions/{id}/step?count=57"));
        weights.push(client.get(&format!("/api/sessions/{id}/network")));
    }
    assert_eq!(weights[0], weights[1]);
    assert_eq!(weights[0]["layer_sizes"], serde_json::json!([2, 8, 2]));
}

#[test]
fn the_heatmap_points_and_network_have_the_promised_shapes() {
    let (_server, client) = start();
    let id = new_session(&client, "dataset=blobs&points=300&train=60&hidden=4,5");
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
    let id = new_session(&client, "hidden=5&bias=false&lambda=0.01");
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
    let id = new_session(&client, "points=100");
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
        (
            true,
            "/api/sessions?pace=0".to_string(),
            "pace=\"0\"; expected an integer number of steps per second from 1 to 1000, or max",
        ),
        (true, "/api/sessions?pace=1001".to_string(), "pace"),
        (true, "/api/sessions?pace=fast".to_string(), "pace"),
        (true, "/api/sessions?pace=2.5".to_string(), "pace"),
        (
            true,
            format!("/api/sessions/{id}/pace?pace=0"),
            "pace=\"0\"; expected an integer",
        ),
        (
            true,
            format!("/api/sessions/{id}/pace?pace=99999999999999999999"),
            "pace",
        ),
        (true, format!("/api/sessions/{id}/pace"), "pace is missing"),
        (
            true,
            format!("/api/sessions/{id}/pace?pace=3&speed=1"),
            "unknown parameter",
        ),
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
    // An id beyond any the server hands out is a session that does not exist, not a bad number.
    let (status, body) = client.request(false, "/api/sessions/99999999999999999999999/status");
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "no session 99999999999999999999999");
    let (status, _) = client.request(false, "/nothing-here");
    assert_eq!(status, 404);
    let (status, _) = client.request(false, &format!("/api/sessions/{id}/play"));
    assert_eq!(status, 405);
    let (status, _) = client.request(false, &format!("/api/sessions/{id}/pace?pace=3"));
    assert_eq!(status, 405);
    // A one-line message, and the session untouched by the bad requests.
    let (_, body) = client.request(true, &format!("/api/sessions/{id}/pace?pace=-1"));
    assert!(!body["error"].as_str().unwrap().contains('\n'));
    let status = client.get(&format!("/api/sessions/{id}/status"));
    assert_eq!(status["pace"], "10");
    assert_eq!(status["steps"], 0);
}

#[test]
fn the_server_answers_while_a_session_plays() {
    let (_server, client) = start();
    let id = new_session(&client, "points=4000&batch=1024&hidden=64,64,64");
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
    let first = new_session(&client, "points=40&batch=8");
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
    // As fast as the machine goes: the pace's waiting cannot hide a lock held too long.
    let id = new_session(&client, "points=4000&batch=1024&hidden=64,64,64&pace=max");
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

// ---- pace ----

#[test]
fn the_defaults_name_the_pace_and_its_caps() {
    let (_server, client) = start();
    let defaults = client.get("/api/defaults");
    assert!(defaults["settings"].as_str().unwrap().ends_with("&pace=10"));
    assert_eq!(defaults["caps"]["pace"], serde_json::json!([1, 1000]));
    assert_eq!(
        defaults["caps"]["pace_choices"],
        serde_json::json!([1, 3, 10, 30, 100, 300, 1000])
    );
    let created = client.post("/api/sessions?pace=max");
    assert!(created["settings"].as_str().unwrap().ends_with("&pace=max"));
}

/// Steps made while playing for `seconds`, and how long that really was.
fn steps_while_playing(client: &Client, id: u64, seconds: f64) -> (u64, f64) {
    let before = client.get(&format!("/api/sessions/{id}/status"))["steps"]
        .as_u64()
        .unwrap();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let after = client.get(&format!("/api/sessions/{id}/status"));
    assert_eq!(after["playing"], true);
    let elapsed = started.elapsed().as_secs_f64();
    (after["steps"].as_u64().unwrap() - before, elapsed)
}

#[test]
fn playing_keeps_to_the_pace_and_a_new_pace_applies_without_a_reset() {
    let (_server, client) = start();
    let id = new_session(&client, "pace=10");
    let started = Instant::now();
    client.post(&format!("/api/sessions/{id}/play"));
    std::thread::sleep(Duration::from_millis(1500));
    let status = client.get(&format!("/api/sessions/{id}/status"));
    let elapsed = started.elapsed().as_secs_f64();
    let at_ten = status["steps"].as_u64().unwrap();
    // Never ahead of 10 per second (one step at Play, then one every 100 ms).
    assert!(
        at_ten as f64 <= 10.0 * elapsed + 2.0,
        "{at_ten} steps in {elapsed} s at 10 per second"
    );
    assert!(
        at_ten >= 5,
        "{at_ten} steps in {elapsed} s at 10 per second"
    );
    // At 10 per second and slower, the curves end at the step made.
    let history = status["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["step"], at_ten);

    let faster = client.post(&format!("/api/sessions/{id}/pace?pace=max"));
    assert_eq!(faster["pace"], "max");
    assert_eq!(faster["playing"], true, "a new pace keeps playing");
    assert!(faster["settings"].as_str().unwrap().ends_with("&pace=max"));
    assert!(faster["steps"].as_u64().unwrap() >= at_ten, "no reset");
    let (fast, seconds) = steps_while_playing(&client, id, 1.0);
    assert!(
        fast as f64 > 100.0 * seconds,
        "{fast} steps in {seconds} s as fast as possible"
    );

    client.post(&format!("/api/sessions/{id}/pace?pace=1"));
    let (slow, seconds) = steps_while_playing(&client, id, 1.5);
    assert!(
        slow as f64 <= seconds + 2.0,
        "{slow} steps in {seconds} s at 1 per second"
    );
    // A reset keeps the pace; the history starts again at step 0.
    let reset = client.post(&format!("/api/sessions/{id}/reset"));
    assert_eq!(
        (reset["pace"].as_str(), reset["steps"].as_u64()),
        (Some("1"), Some(0))
    );
}

/// `(value, label)` of every tick of `ticks` (`[{value, label}]`).
fn ticks_of(ticks: &serde_json::Value) -> Vec<(f64, String)> {
    ticks
        .as_array()
        .unwrap_or_else(|| panic!("ticks: {ticks}"))
        .iter()
        .map(|t| {
            (
                t["value"].as_f64().unwrap(),
                t["label"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Whether `values` are evenly spaced by 1, 2 or 5 times a power of ten.
fn round_and_even(values: &[f64]) -> bool {
    let gap = values[1] - values[0];
    let mantissa = gap / 10f64.powf(gap.log10().floor());
    [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6)
        && values
            .windows(2)
            .all(|pair| ((pair[1] - pair[0]) - gap).abs() < 1e-9 * gap.max(1.0))
}

#[test]
fn the_charts_ticks_come_labelled_by_the_one_formatter_with_their_data() {
    use backprop::format::axis_tick;
    let (_server, client) = start();
    let id = new_session(&client, "dataset=spiral&seed=0");
    let status = client.post(&format!("/api/sessions/{id}/step?count=300"));
    let history = status["history"].as_array().unwrap();
    let last_step = history.last().unwrap()["step"].as_u64().unwrap();
    let axes = &status["history_axes"];
    for chart in ["loss", "accuracy"] {
        assert_eq!(
            axes[chart]["steps"],
            serde_json::json!([0, last_step]),
            "{chart}"
        );
        let x = ticks_of(&axes[chart]["x_ticks"]);
        for (value, label) in &x {
            assert_eq!(*label, axis_tick(*value), "{chart}: {x:?}");
        }
        let values: Vec<f64> = x.iter().map(|t| t.0).collect();
        assert!(
            values.len() >= 3 && round_and_even(&values),
            "{chart}: {x:?}"
        );
        assert_eq!(values[0], 0.0);
        assert!(
            *values.last().unwrap() <= last_step as f64,
            "{chart}: {x:?}"
        );
    }
    let accuracy = ticks_of(&axes["accuracy"]["y_ticks"]);
    for (value, label) in &accuracy {
        assert_eq!(*label, format!("{} %", axis_tick((100.0 * value).round())));
    }
    let labels: Vec<&str> = accuracy.iter().map(|t| t.1.as_str()).collect();
    assert_eq!(labels, ["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"]);
    let loss = ticks_of(&axes["loss"]["y_ticks"]);
    for (value, label) in &loss {
        assert_eq!(*label, axis_tick(*value), "{loss:?}");
    }
    let largest = history
        .iter()
        .flat_map(|p| {
            [
                p["train_loss"].as_f64().unwrap(),
                p["test_loss"].as_f64().unwrap(),
            ]
        })
        .fold(0.0, f64::max);
    let top = axes["loss"]["values"][1].as_f64().unwrap();
    assert_eq!(loss.last().unwrap().0, top, "the loss axis ends on a tick");
    assert!(
        top >= largest * 0.999,
        "{top} below the largest loss {largest}"
    );

    // The boundary's ticks travel with the heatmap the page already fetches.
    let map = client.get(&format!("/api/sessions/{id}/heatmap?resolution=8"));
    let boundary = ticks_of(&map["ticks"]);
    let (low, high) = (
        map["extent"]["min"].as_f64().unwrap(),
        map["extent"]["max"].as_f64().unwrap(),
    );
    for (value, label) in &boundary {
        assert_eq!(*label, axis_tick(*value), "{boundary:?}");
        assert!(
            low <= *value && *value <= high,
            "{value} in [{low}, {high}]"
        );
    }
    let values: Vec<f64> = boundary.iter().map(|t| t.0).collect();
    assert!(
        values.contains(&0.0) && round_and_even(&values),
        "{boundary:?}"
    );
    // A hidden unit's thumbnail covers the same plane, with the same ticks.
    let neuron = client.get(&format!(
        "/api/sessions/{id}/neuron?layer=1&unit=0&resolution=8"
    ));
    assert_eq!(neuron["ticks"], map["ticks"]);
}
