//! End-to-end: Debian's Chromium, headless, driven through chromedriver (the W3C WebDriver
//! protocol over HTTP on loopback) against a playground server in this process. Loads the
//! page, trains the spiral until test accuracy passes 90 %, checks the drawings, clicks a
//! graph node and reads its equation, steps through backward, and keeps a screenshot
//! (`target/playground-e2e.png`; copied to `docs/images/playground.png` when
//! `BACKPROP_UPDATE_SCREENSHOT` is set).
//!
//! Image mode runs `backprop serve --dataset` on a generated 28 x 28 IDX folder: pick it,
//! train, draw a stroke, read the probabilities, the hidden units and the confusion matrix.
//!
//! The browser is required: without `/usr/bin/chromium` and `/usr/bin/chromedriver` these
//! tests fail and say how to install them (`.ci/run` does).

mod common;
mod loopback;

use backprop::playground::PlaygroundServer;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Polls of the page while waiting for something it draws (each after a 100 ms pause).
const MAX_POLLS: usize = 1200;

fn require_browser() {
    for path in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: the playground's browser tests need Debian's Chromium; install it with \
             `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver` \
             (.ci/run does this)"
        );
    }
}

/// chromedriver on a free loopback port, and one browser session; both ended on drop.
struct Browser {
    driver: Child,
    agent: ureq::Agent,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch() -> Browser {
        require_browser();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..MAX_POLLS {
            if let Ok(mut response) = agent.get(format!("{base}/status")).call() {
                let text = response.body_mut().read_to_string().unwrap_or_default();
                if text.contains("\"ready\":true") {
                    ready = true;
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            agent,
            base,
            session: String::new(),
            _profile: profile,
        };
        assert!(ready, "chromedriver did not become ready on port {port}");
        let created = browser.command(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--no-first-run",
                        "--disable-dev-shm-usage", "--window-size=1400,1500",
                        format!("--user-data-dir={}", browser._profile.path().display()),
                    ]
                }
            }}}),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_string();
        browser
    }

    /// One WebDriver command; its `value`.
    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = response.body_mut().read_to_string().unwrap();
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(
            response.status().is_success(),
            "{method} {path}: {}",
            value["value"]
        );
        value["value"].clone()
    }

    fn session_command(&self, method: &str, path: &str, body: Value) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    fn open(&self, url: &str) {
        self.session_command("POST", "/url", json!({ "url": url }));
    }

    fn script(&self, script: &str) -> Value {
        self.session_command(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    fn click(&self, css: &str) {
        let element = self.session_command(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        let id = element[ELEMENT_KEY].as_str().unwrap().to_string();
        self.session_command("POST", &format!("/element/{id}/click"), json!({}));
    }

    /// Polls `script` until it returns true.
    fn wait_until(&self, what: &str, script: &str) {
        for _ in 0..MAX_POLLS {
            if self.script(script) == Value::Bool(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the page never got there: {what}");
    }

    fn screenshot(&self, path: &Path) {
        let encoded = self.session_command("GET", "/screenshot", Value::Null);
        let bytes = decode_base64(encoded.as_str().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=' && c != b'\n').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= (value(c) as u32) << (18 - 6 * i);
        }
        out.extend_from_slice(&acc.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn start_server() -> PlaygroundServer {
    PlaygroundServer::start(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap()
}

/// How many distinct colours the canvas shows (a blank canvas has one).
const HEATMAP_COLOURS: &str = "const c = document.getElementById('heatmap'); \
     const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
     const seen = new Set(); for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2]); \
     return seen.size;";

#[test]
fn trains_the_spiral_in_the_browser_and_explains_a_graph_node() {
    let server = start_server();
    let browser = Browser::launch();
    browser.open(&format!(
        "http://{}/?dataset=spiral&seed=0",
        server.address()
    ));
    browser.wait_until(
        "the decision boundary is drawn",
        "return document.getElementById('heatmap').dataset.drawn === 'true'",
    );
    browser.click("#play");
    browser.wait_until(
        "test accuracy above 90 %",
        "return Number(document.getElementById('test-accuracy').dataset.value) > 0.9",
    );
    browser.click("#play");
    browser.wait_until(
        "paused, with every view redrawn",
        "return document.getElementById('play').textContent.includes('Play') && !page.busy && page.pollTimer === null",
    );
    let accuracy = browser.script("return document.getElementById('test-accuracy').textContent");
    assert!(accuracy.as_str().unwrap().ends_with('%'), "{accuracy}");

    let colours = browser.script(HEATMAP_COLOURS).as_u64().unwrap();
    assert!(colours > 20, "the heatmap shows {colours} colours");
    browser.wait_until(
        "the D2L network's graph is drawn",
        "return document.querySelectorAll('#graph svg g.node[data-node]').length > 20",
    );
    let edges = browser.script("return document.querySelectorAll('#network line').length");
    assert_eq!(edges.as_u64().unwrap(), 2 * 16 + 16 * 16 + 16 * 3);
    let curve_points = browser.script("return page.history.length");
    assert!(curve_points.as_u64().unwrap() > 5);

    // Click W1 and read the equation that produced its gradient.
    let w1 = browser.script(
        "return [...document.querySelectorAll('#graph g.node')].find(g => g.querySelector('title').textContent === 'W1').dataset.node",
    );
    click_graph_node(&browser, w1.as_str().unwrap());
    let numbers = browser.script(
        "return [...document.querySelectorAll('#node-info .equation-number')].map(e => e.textContent).join(' ')",
    );
    assert!(numbers.as_str().unwrap().contains("4.7.14"), "{numbers}");
    let formula = browser.script("return document.getElementById('node-info').textContent");
    assert!(
        formula
            .as_str()
            .unwrap()
            .contains("∂J/∂W1 = ∂J/∂z1 xᵀ + λ W1"),
        "{formula}"
    );

    // Step through backward: the first operator is J = L + s, then the order goes on.
    browser.click("#backward-mode");
    let first = browser
        .script("return document.querySelector('#graph g.node.backward-current').dataset.node");
    let info = browser.script("return document.getElementById('node-info').textContent");
    assert!(info.as_str().unwrap().contains("4.7.6"), "{info}");
    for _ in 0..6 {
        browser.click("#backward-next");
    }
    let later = browser
        .script("return document.querySelector('#graph g.node.backward-current').dataset.node");
    assert_ne!(first, later);
    let done =
        browser.script("return document.querySelectorAll('#graph g.node.backward-done').length");
    assert_eq!(done.as_u64().unwrap(), 6);
    let info = browser.script("return document.getElementById('node-info').textContent");
    assert!(info.as_str().unwrap().contains("4.7."), "{info}");

    browser.script("window.scrollTo(0, 0); return true");
    let artifact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/playground-e2e.png");
    browser.screenshot(&artifact);
    let png = std::fs::read(&artifact).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    // The README's picture is refreshed only on request, so a test run never changes a
    // tracked file: BACKPROP_UPDATE_SCREENSHOT=1 cargo test --release --test playground_browser
    if std::env::var_os("BACKPROP_UPDATE_SCREENSHOT").is_some() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/images/playground.png");
        std::fs::copy(&artifact, docs).unwrap();
    }
}

#[test]
fn the_settings_live_in_the_url_and_bad_ones_are_reported() {
    let server = start_server();
    let browser = Browser::launch();
    let base = format!("http://{}/", server.address());
    browser.open(&format!(
        "{base}?dataset=circles&hidden=8,4&lr=0.05&bias=false"
    ));
    browser.wait_until(
        "the form shows the URL's settings",
        "return document.querySelector('[name=dataset]').value === 'circles' && location.search.includes('hidden=8,4')",
    );
    let form = browser.script(
        "return [document.querySelector('[name=hidden]').value, document.querySelector('[name=lr]').value, document.querySelector('[name=bias]').checked]",
    );
    assert_eq!(form, json!(["8,4", "0.05", false]));
    // Without --dataset the menu says how to add the images.
    let note = browser.script(
        "const n = document.getElementById('dataset-note'); return n.hidden ? '' : n.textContent",
    );
    assert!(
        note.as_str()
            .unwrap()
            .contains("backprop serve --dataset mnist"),
        "{note}"
    );
    browser.script(
        "const s = document.querySelector('[name=dataset]'); s.value = 'xor'; s.dispatchEvent(new Event('change', {bubbles: true})); return true",
    );
    browser.wait_until(
        "the URL follows the form",
        "return location.search.includes('dataset=xor') && location.search.includes('hidden=8,4')",
    );

    browser.open(&format!("{base}?hidden=999"));
    browser.wait_until(
        "the error is shown and the defaults are used",
        "return !document.getElementById('error').hidden && location.search.includes('hidden=16,16')",
    );
    let message = browser.script("return document.getElementById('error').textContent");
    assert!(message.as_str().unwrap().contains("hidden"), "{message}");
}

// ---- neurons and side by side ----

/// How many distinct colours canvas `id` shows (a blank canvas has one).
fn canvas_colours(browser: &Browser, id: &str) -> u64 {
    browser
        .script(&format!(
            "const c = document.getElementById('{id}'); \
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
             const seen = new Set(); for (let i = 0; i < d.length; i += 4 * 7) seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2]); \
             return seen.size;"
        ))
        .as_u64()
        .unwrap()
}

impl Browser {
    /// Moves the mouse onto the element at `css` (a real hover, through WebDriver actions).
    fn hover(&self, css: &str) {
        let element = self.session_command(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        let id = element[ELEMENT_KEY].as_str().unwrap().to_string();
        self.session_command(
            "POST",
            "/actions",
            json!({"actions": [{
                "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": [{"type": "pointerMove", "duration": 0, "x": 0, "y": 0,
                             "origin": { ELEMENT_KEY: id }}]
            }]}),
        );
    }
}

/// The text of a hover card shows unit `h2[1]`, row 1 of `W2`, and each incoming weight as
/// `neuron` (the `/neuron?layer=2&unit=1` reply) writes it.
fn assert_card_shows_h2_1(card: &str, neuron: &Value) {
    assert!(card.contains("h2[1]"), "{card}");
    assert!(card.contains("row 1 of W2"), "{card}");
    for (i, text) in neuron["text"]["incoming"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let shown = format!("h1[{i}] {}", text.as_str().unwrap());
        assert!(card.contains(&shown), "{shown} not in {card}");
    }
}

#[test]
fn hovering_a_hidden_unit_shows_its_thumbnail_and_side_by_side_draws_both_runs() {
    let server = start_server();
    let browser = Browser::launch();
    let client = loopback::Client::new(format!("http://{}", server.address()));
    browser.open(&format!(
        "http://{}/?dataset=xor&hidden=12,4&seed=2&activation=tanh",
        server.address()
    ));
    browser.wait_until(
        "the network is drawn with its hidden units",
        "return document.querySelectorAll('#network g.unit').length === 16 && !page.busy",
    );
    browser.click("#step");
    browser.wait_until(
        "one step made",
        "return document.getElementById('steps').textContent === '1' && !page.busy",
    );

    browser.hover("#network g.unit[data-layer=\"2\"][data-unit=\"1\"] circle.dot");
    browser.wait_until(
        "the thumbnail of h2[1] is shown",
        "const c = document.getElementById('neuron-card'); return !c.hidden && c.dataset.layer === '2' && c.dataset.unit === '1' && document.getElementById('neuron-map').dataset.drawn === 'true'",
    );
    let colours = canvas_colours(&browser, "neuron-map");
    assert!(colours > 10, "the thumbnail shows {colours} colours");
    let card = browser.script("return document.getElementById('neuron-card').textContent");
    let card = card.as_str().unwrap();
    let session = browser.script("return page.session").as_u64().unwrap();
    let neuron = client.get(&format!("/api/sessions/{session}/neuron?layer=2&unit=1"));
    assert_card_shows_h2_1(card, &neuron);
    assert!(
        card.contains(&format!(
            "bias {}",
            neuron["text"]["bias"].as_str().unwrap()
        )),
        "{card}"
    );
    // The card sits in the window, below the panel's heading, next to the unit, and does
    // not cover it.
    let placed = browser.script(
        "const s = document.getElementById('network').getBoundingClientRect(); \
         const c = document.getElementById('neuron-card').getBoundingClientRect(); \
         const u = document.querySelector('#network g.unit[data-layer=\"2\"][data-unit=\"1\"] circle.dot').getBoundingClientRect(); \
         const covers = c.left < u.right && c.right > u.left && c.top < u.bottom && c.bottom > u.top; \
         return c.left >= 0 && c.right <= document.documentElement.clientWidth && c.top >= s.top - 1 && !covers",
    );
    assert_eq!(placed, Value::Bool(true));
    let artifact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/playground-neuron.png");
    browser.screenshot(&artifact);
    browser.hover("#heatmap");
    browser.wait_until(
        "the thumbnail is hidden when the mouse leaves the network",
        "return document.getElementById('neuron-card').hidden",
    );

    // Side by side: relu against sigmoid, played, both runs at one step, both drawn.
    browser.click("#compare-presets button[data-preset=\"activation\"]");
    browser.wait_until(
        "the comparison is shown",
        "return !document.getElementById('compare-body').hidden && document.getElementById('compare-b-heatmap').dataset.drawn === 'true'",
    );
    let note = browser.script("return document.getElementById('compare-note').textContent");
    assert!(
        note.as_str().unwrap().contains("same initial weights"),
        "{note}"
    );
    browser.click("#compare-play");
    browser.wait_until(
        "both runs trained past step 100",
        "const s = JSON.parse(document.getElementById('compare-loss').dataset.steps || '[0,0]'); return s[0] > 100",
    );
    browser.click("#compare-play");
    browser.wait_until(
        "paused",
        "return document.getElementById('compare-play').textContent.includes('Play') && compare.timer === null && !compare.busy",
    );
    for canvas in ["compare-loss", "compare-accuracy"] {
        let runs = browser.script(&format!(
            "return JSON.parse(document.getElementById('{canvas}').dataset.runs)"
        ));
        assert_eq!(runs, json!(["a: relu", "b: sigmoid"]), "{canvas}");
        let steps = browser.script(&format!(
            "return JSON.parse(document.getElementById('{canvas}').dataset.steps)"
        ));
        assert_eq!(steps[0], steps[1], "{canvas}: {steps}");
        let colours = canvas_colours(&browser, canvas);
        assert!(colours > 8, "{canvas} shows {colours} colours");
    }
    let comparison = browser.script("return compare.id").as_u64().unwrap();
    let status = client.get(&format!("/api/comparisons/{comparison}/status"));
    let shown = browser
        .script("return Number(document.getElementById('compare-steps').textContent)")
        .as_u64()
        .unwrap();
    assert_eq!(status["steps"].as_u64().unwrap(), shown);
    for name in ["a", "b"] {
        let colours = canvas_colours(&browser, &format!("compare-{name}-heatmap"));
        assert!(
            colours > 20,
            "run {name}'s boundary shows {colours} colours"
        );
    }
    browser.script("document.getElementById('compare-section').scrollIntoView(); return true");
    let artifact =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/playground-side-by-side.png");
    browser.screenshot(&artifact);

    // Each run's network is drawn under its boundary; hovering a hidden unit of one shows
    // that run's thumbnail (its own weights, from its own /neuron), and only that one.
    let mut incoming = Vec::new();
    for (run, other) in [("b", "a"), ("a", "b")] {
        browser.script(&format!(
            "document.getElementById('compare-{run}-network').scrollIntoView({{block: 'center'}}); return true"
        ));
        browser.hover(&format!(
            "#compare-{run}-network g.unit[data-layer=\"2\"][data-unit=\"1\"] circle.dot"
        ));
        browser.wait_until(
            &format!("run {run}'s thumbnail of h2[1] is shown"),
            &format!(
                "const c = document.getElementById('compare-{run}-neuron-card'); return !c.hidden && c.dataset.layer === '2' && c.dataset.unit === '1' && document.getElementById('compare-{run}-neuron-map').dataset.drawn === 'true'"
            ),
        );
        if run == "b" {
            let artifact = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/playground-side-by-side-neuron.png");
            browser.screenshot(&artifact);
        }
        let hidden = browser.script(&format!(
            "return document.getElementById('compare-{other}-neuron-card').hidden"
        ));
        assert_eq!(
            hidden,
            Value::Bool(true),
            "run {other}'s card while hovering {run}"
        );
        let colours = canvas_colours(&browser, &format!("compare-{run}-neuron-map"));
        assert!(
            colours > 10,
            "run {run}'s thumbnail shows {colours} colours"
        );
        let card = browser.script(&format!(
            "return document.getElementById('compare-{run}-neuron-card').textContent"
        ));
        let card = card.as_str().unwrap();
        let neuron = client.get(&format!(
            "/api/comparisons/{comparison}/{run}/neuron?layer=2&unit=1"
        ));
        assert_card_shows_h2_1(card, &neuron);
        let activation = if run == "a" { "relu" } else { "sigmoid" };
        assert!(card.contains(&format!("{activation}(z2[1])")), "{card}");
        incoming.push(neuron["incoming"].clone());
    }
    assert_ne!(incoming[0], incoming[1], "the two runs trained apart");
    browser.hover("#compare-a-heatmap");
    browser.wait_until(
        "run a's thumbnail is hidden when the mouse leaves its network",
        "return document.getElementById('compare-a-neuron-card').hidden",
    );
}

// ---- pace and curves ----

/// The step counter the page shows.
fn steps_shown(browser: &Browser) -> u64 {
    browser
        .script("return Number(document.getElementById('steps').textContent)")
        .as_u64()
        .unwrap()
}

/// The JSON list kept in a canvas's `data-<name>` attribute by the page's drawers.
fn canvas_data(browser: &Browser, canvas: &str, name: &str) -> Value {
    let text = browser.script(&format!(
        "return document.getElementById('{canvas}').dataset.{name} || 'null'"
    ));
    serde_json::from_str(text.as_str().unwrap()).unwrap()
}

#[test]
fn the_default_pace_shows_learning_for_seconds_and_the_fastest_is_not_held_back() {
    let server = start_server();
    let browser = Browser::launch();
    browser.open(&format!("http://{}/", server.address()));
    browser.wait_until(
        "the decision boundary is drawn",
        "return document.getElementById('heatmap').dataset.drawn === 'true'",
    );
    assert_eq!(
        browser.script("return document.getElementById('pace').value"),
        "10"
    );
    let session = browser.script("return page.session");
    browser.click("#play");
    let played = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let early = steps_shown(&browser);
    let seconds = played.elapsed().as_secs_f64();
    assert!(
        (early as f64) <= 10.0 * seconds + 2.0,
        "{early} steps shown {seconds} s after Play at 10 steps/s"
    );
    browser.wait_until(
        "test accuracy above 90 %",
        "return Number(document.getElementById('test-accuracy').dataset.value) > 0.9",
    );
    let seconds = played.elapsed().as_secs_f64();
    assert!(
        (5.0..=60.0).contains(&seconds),
        "90 % test accuracy {seconds} s after Play at the default pace"
    );

    // As fast as possible, chosen while playing: no reset, many more steps.
    let before = steps_shown(&browser);
    browser.script(
        "const s = document.getElementById('pace'); s.value = 'max'; s.dispatchEvent(new Event('change', {bubbles: true})); return true",
    );
    browser.wait_until(
        "the address has the new pace",
        "return location.search.endsWith('pace=max')",
    );
    let changed = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let after = steps_shown(&browser);
    let seconds = changed.elapsed().as_secs_f64();
    assert_eq!(
        browser.script("return page.session"),
        session,
        "same session"
    );
    assert!(
        after as f64 > before as f64 + 100.0 * seconds,
        "{before} then {after} steps {seconds} s after choosing the fastest pace"
    );
    browser.click("#play");
    browser.wait_until(
        "paused",
        "return document.getElementById('play').textContent.includes('Play')",
    );
}

#[test]
fn the_curves_and_the_boundary_have_round_ticks_and_a_legend() {
    let server = start_server();
    let browser = Browser::launch();
    browser.open(&format!("http://{}/?pace=max", server.address()));
    browser.wait_until(
        "the decision boundary is drawn",
        "return document.getElementById('heatmap').dataset.drawn === 'true'",
    );
    // Before the first step, each chart marks where training starts: a disc for the train
    // value and a ring for the test value, on the y axis (step 0), where no line is yet. The
    // band searched is above the x axis and right of the y axis's labels: nothing else there
    // has these colours.
    assert_eq!(browser.script("return page.history.length"), json!(1));
    for canvas in ["loss-curve", "accuracy-curve"] {
        let start = browser.script(&format!(
            "const c = document.getElementById('{canvas}'); \
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
             const from = Math.floor(42.5 * devicePixelRatio), to = Math.ceil(52 * devicePixelRatio); \
             let train = 0, test = 0; \
             const above = c.height - Math.ceil(34 * devicePixelRatio); \
             for (let row = 0; row < above; row++) for (let col = from; col < to; col++) {{ \
               const i = 4 * (row * c.width + col); \
               if (d[i] === 0x33 && d[i+1] === 0x33 && d[i+2] === 0x33) train++; \
               if (d[i] === 0x8e && d[i+1] === 0x44 && d[i+2] === 0xad) test++; }} \
             return [train, test];"
        ));
        assert!(
            start[0].as_u64().unwrap() >= 5,
            "{canvas}: step 0's train disc: {start}"
        );
        assert!(
            start[1].as_u64().unwrap() >= 5,
            "{canvas}: step 0's test ring: {start}"
        );
    }
    browser.click("#play");
    browser.wait_until(
        "a few hundred steps",
        "return Number(document.getElementById('steps').textContent) > 400 && page.history.length > 20",
    );
    browser.click("#play");
    browser.wait_until(
        "paused, with every view redrawn",
        "return document.getElementById('play').textContent.includes('Play') && !page.busy && page.pollTimer === null",
    );
    let last_step = browser
        .script("return page.history[page.history.length - 1].step")
        .as_u64()
        .unwrap();
    let numbers = |ticks: &Value| -> Vec<f64> {
        ticks
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let text = t.as_str().unwrap().trim_end_matches(" %");
                text.parse::<f64>()
                    .unwrap_or_else(|_| panic!("tick {t} is a number"))
            })
            .collect()
    };
    let evenly_spaced_and_round = |ticks: &[f64], what: &str| {
        assert!(ticks.len() >= 3, "{what}: {ticks:?}");
        let gap = ticks[1] - ticks[0];
        let mantissa = gap / 10f64.powf(gap.log10().floor());
        assert!(
            [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6),
            "{what}: {ticks:?}"
        );
        for pair in ticks.windows(2) {
            assert!(
                ((pair[1] - pair[0]) - gap).abs() < 1e-9 * gap.max(1.0),
                "{what}: {ticks:?}"
            );
        }
    };
    for canvas in ["loss-curve", "accuracy-curve"] {
        let x = numbers(&canvas_data(&browser, canvas, "xTicks"));
        evenly_spaced_and_round(&x, canvas);
        assert_eq!(x[0], 0.0, "{canvas}: {x:?}");
        // The x axis spans the steps made: no spike at x = 0.
        let largest = *x.last().unwrap();
        assert!(
            largest <= last_step as f64 && largest > last_step as f64 / 2.0,
            "{canvas}: ticks {x:?} for {last_step} steps"
        );
        let legend = canvas_data(&browser, canvas, "legend");
        assert_eq!(
            legend,
            json!([["train", "#333333"], ["test", "#8e44ad"]]),
            "{canvas}"
        );
        // Both lines are on the canvas, in their own colours (not the classes').
        let drawn = browser.script(&format!(
            "const c = document.getElementById('{canvas}'); \
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
             let train = 0, test = 0; \
             for (let i = 0; i < d.length; i += 4) {{ \
               if (d[i] === 0x33 && d[i+1] === 0x33 && d[i+2] === 0x33) train++; \
               if (d[i] === 0x8e && d[i+1] === 0x44 && d[i+2] === 0xad) test++; }} \
             return [train, test, c.width === Math.round(Number(c.dataset.cssWidth) * devicePixelRatio)];"
        ));
        assert!(drawn[0].as_u64().unwrap() > 50, "{canvas}: {drawn}");
        assert!(drawn[1].as_u64().unwrap() > 50, "{canvas}: {drawn}");
        assert_eq!(
            drawn[2], true,
            "{canvas}: the backing store is device pixels"
        );
    }
    assert_eq!(
        canvas_data(&browser, "accuracy-curve", "yTicks"),
        json!(["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"])
    );
    let loss = numbers(&canvas_data(&browser, "loss-curve", "yTicks"));
    evenly_spaced_and_round(&loss, "loss");
    assert_eq!(loss[0], 0.0);
    let largest_loss = browser
        .script("return Math.max(...page.history.map(p => Math.max(p.train_loss, p.test_loss)))")
        .as_f64()
        .unwrap();
    assert!(
        *loss.last().unwrap() >= largest_loss * 0.999,
        "{loss:?} below {largest_loss}"
    );

    let boundary = numbers(&canvas_data(&browser, "heatmap", "xTicks"));
    evenly_spaced_and_round(&boundary, "heatmap");
    assert!(boundary.contains(&0.0), "{boundary:?}");
    let extent = browser.script("return page.points.extent");
    let (low, high) = (
        extent["min"].as_f64().unwrap(),
        extent["max"].as_f64().unwrap(),
    );
    assert!(
        boundary.iter().all(|&t| low <= t && t <= high),
        "{boundary:?} in {extent}"
    );
}

#[test]
fn a_bad_pace_in_the_address_is_reported_and_the_defaults_are_used() {
    let server = start_server();
    let browser = Browser::launch();
    browser.open(&format!("http://{}/?pace=0", server.address()));
    browser.wait_until(
        "the error is shown and the defaults are used",
        "return !document.getElementById('error').hidden && location.search.includes('pace=10')",
    );
    let message = browser.script("return document.getElementById('error').textContent");
    assert!(
        message.as_str().unwrap().contains(
            "pace=\"0\"; expected an integer number of steps per second from 1 to 1000, or max"
        ),
        "{message}"
    );
    assert_eq!(
        browser.script("return document.getElementById('pace').value"),
        "10"
    );
}

// ---- graph, contributions, numbers ----

/// Clicks the square or circle of graph node `node` (a node's group also holds its detail
/// text, so its centre may fall between the two).
fn click_graph_node(browser: &Browser, node: impl std::fmt::Display) {
    let shape = format!("#graph g.node[data-node=\"{node}\"] > :is(rect, circle)");
    browser.script(&format!(
        "document.querySelector('{}').scrollIntoView({{block: 'center', inline: 'center'}}); return true",
        shape.replace('\'', "\\'")
    ));
    browser.click(&shape);
}

/// The `data-node` index of the graph node titled `name`.
fn graph_node(browser: &Browser, name: &str) -> u64 {
    let index = browser.script(&format!(
        "const g = [...document.querySelectorAll('#graph g.node')].find(g => g.querySelector('title').textContent === '{name}'); return g ? Number(g.dataset.node) : -1"
    ));
    let index = index.as_i64().unwrap();
    assert!(index >= 0, "no graph node {name}");
    index as u64
}

/// The entries an abbreviated operand shows, with their row-major index in a matrix of
/// `cols` columns: `[[0.1, -2e-5, …], …] (3x16)` gives `(0, 0.1), (1, -2e-5)`.
fn shown_entries(text: &str, cols: usize) -> Vec<(usize, f64)> {
    let body = text.split(" (").next().unwrap().trim_end_matches('ᵀ');
    let matrix = body.starts_with("[[");
    let (mut row, mut col, mut depth) = (0, 0, 0);
    let mut token = String::new();
    let mut entries = Vec::new();
    for c in body.chars() {
        match c {
            '[' => depth += 1,
            ']' | ',' => {
                if let Ok(v) = token.trim().parse::<f64>() {
                    entries.push((if matrix { row * cols + col } else { col }, v));
                }
                token.clear();
                if c == ']' {
                    depth -= 1;
                    if matrix && depth == 1 {
                        row += 1;
                        col = 0;
                    }
                } else if !(matrix && depth == 1) {
                    col += 1;
                }
            }
            _ => token.push(c),
        }
    }
    entries
}

/// Whether a number the page shows (four decimals, or three significant digits) is `exact`.
fn shows(shown: f64, exact: f64) -> bool {
    (shown - exact).abs() <= 6e-5 + 6e-3 * exact.abs()
}

#[test]
fn the_graph_is_readable_its_gradients_add_up_and_its_equations_show_numbers() {
    let server = start_server();
    let client = loopback::Client::new(format!("http://{}", server.address()));
    let browser = Browser::launch();
    browser.open(&format!(
        "http://{}/?dataset=spiral&seed=0&hidden=5&bias=false&lambda=0.01",
        server.address()
    ));
    browser.wait_until(
        "the D2L network's graph is drawn",
        "return document.getElementById('graph').dataset.drawn === 'true' && page.graph !== null",
    );
    let heading = browser.script("return document.querySelector('#graph-section h2').textContent");
    assert!(heading.as_str().unwrap().contains("D2L §4.7"), "{heading}");

    // Readable at its natural size: no text of the drawing is below 11 px on screen.
    let sizes = browser.script(
        "const svg = document.querySelector('#graph svg'); \
         const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width; \
         const texts = [...svg.querySelectorAll('text, tspan')].filter(t => t.textContent.trim()); \
         const detail = svg.querySelector('g.node text.detail').getBoundingClientRect().height; \
         return [Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize) * scale)), detail, scale]",
    );
    let smallest = sizes[0].as_f64().unwrap();
    assert!(
        smallest >= 11.0,
        "smallest graph text {smallest} px: {sizes}"
    );
    assert!(
        sizes[1].as_f64().unwrap() >= 11.0,
        "a shape label's box: {sizes}"
    );
    // Zooming out and back: the panel scrolls instead of shrinking the text.
    browser.click("#graph-zoom-out");
    browser.click("#graph-zoom-reset");
    let scale = browser.script(
        "const svg = document.querySelector('#graph svg'); return svg.getBoundingClientRect().width / svg.viewBox.baseVal.width",
    );
    assert!((scale.as_f64().unwrap() - 1.0).abs() < 1e-6, "{scale}");
    // Names typeset, shapes as §4.7's columns, the same in the drawing and the panel.
    let drawn = browser.script(
        "return [...document.querySelectorAll('#graph svg text')].map(t => t.textContent).join(' ')",
    );
    let drawn = drawn.as_str().unwrap();
    assert!(
        !drawn.contains('_'),
        "a raw underscore in the drawing: {drawn}"
    );
    let w1 = graph_node(&browser, "W1");
    let x = graph_node(&browser, "x");
    for (node, shape) in [(w1, "5x2"), (x, "2x1")] {
        click_graph_node(&browser, node);
        let kind = browser.script("return document.querySelector('#node-info .kind').textContent");
        assert!(kind.as_str().unwrap().ends_with(shape), "{kind}");
        let label = browser.script(&format!(
            "return [...document.querySelectorAll('#graph g.node[data-node=\"{node}\"] text.detail')].map(t => t.textContent)"
        ));
        assert_eq!(label[0], shape, "{label}");
    }

    // At step 0 no backward pass has run: the gradient is "not computed yet", never zeros.
    let w2 = graph_node(&browser, "W2");
    click_graph_node(&browser, w2);
    let info = browser.script("return document.getElementById('node-info').textContent");
    let info = info.as_str().unwrap();
    assert!(info.contains("∂J/∂W2: not computed yet"), "{info}");
    assert!(!info.contains("contributions"), "{info}");
    assert!(drawn.contains("∂J not computed yet"), "{drawn}");

    // A node's equation with its numbers: z = W1 x with the operands and the result.
    let z = graph_node(&browser, "z");
    click_graph_node(&browser, z);
    let plugged =
        browser.script("return document.querySelector('#node-info .plugged').textContent");
    let plugged = plugged.as_str().unwrap();
    assert!(plugged.starts_with("z = W1 x = [["), "{plugged}");
    assert!(plugged.contains("]ᵀ = ["), "x and z as columns: {plugged}");

    // After a step, W2 shows two contributions whose sum is its gradient, as the API says.
    browser.click("#step");
    browser.wait_until(
        "the graph is redrawn with gradients",
        "return page.steps === 1 && page.graph.gradients_computed && !page.busy",
    );
    click_graph_node(&browser, w2);
    let read = browser.script(
        "return [[...document.querySelectorAll('#node-info li.contribution')].map(li => [li.querySelector('.term').textContent, li.querySelector('.value').textContent]), \
                 document.querySelector('#node-info .sum .value').textContent, \
                 document.querySelector('#node-info .gradient > .plugged').textContent, page.session]",
    );
    let items = read[0].as_array().unwrap();
    assert_eq!(items.len(), 2, "{read}");
    assert_eq!(items[0][0], "∂J/∂o hᵀ");
    assert_eq!(items[1][0], "λ W2");
    let session = read[3].as_u64().unwrap();
    let api = client.get(&format!(
        "/api/sessions/{session}/graph?split=train&index=0"
    ));
    let api_w2 = api["graph"]["nodes"][w2 as usize].clone();
    assert_eq!(api_w2["label"], "W2");
    let cols = 5;
    let value = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let gradient = value(&api_w2["gradient"]);
    let shown_gradient = shown_entries(read[1].as_str().unwrap(), cols);
    let shown_parts: Vec<Vec<(usize, f64)>> = items
        .iter()
        .map(|item| shown_entries(item[1].as_str().unwrap(), cols))
        .collect();
    assert!(shown_gradient.len() >= 4, "{read}");
    for (part, shown) in api_w2["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&shown_parts)
    {
        let exact = value(&part["value"]);
        assert_eq!(shown.len(), shown_gradient.len());
        for &(j, v) in shown {
            assert!(
                shows(v, exact[j]),
                "contribution {}: [{j}] shown {v}, API {}",
                part["term"],
                exact[j]
            );
        }
    }
    for (k, &(j, g)) in shown_gradient.iter().enumerate() {
        assert!(
            shows(g, gradient[j]),
            "gradient [{j}] shown {g}, API {}",
            gradient[j]
        );
        let sum = shown_parts[0][k].1 + shown_parts[1][k].1;
        assert!(
            (sum - g).abs() <= 2e-4 + 1e-2 * g.abs(),
            "[{j}]: {sum} shown as the sum, {g} as the gradient"
        );
    }
    let equation = read[2].as_str().unwrap();
    assert!(
        equation.starts_with("∂J/∂W2 = ∂J/∂o hᵀ + λ W2 = [") && equation.contains(" + 0.01 · [["),
        "{equation}"
    );
    browser.script("document.getElementById('graph-section').scrollIntoView(); return true");
    let artifact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/graphview-w2.png");
    browser.screenshot(&artifact);

    // Step through backward: each operator's edges light up as backward reaches them, with
    // what it hands back; W2's gradient is "not computed yet" until both have.
    browser.click("#backward-mode");
    let pending = browser.script(&format!(
        "return document.querySelector('#graph g.node[data-node=\"{w2}\"]').classList.contains('gradient-pending')"
    ));
    assert_eq!(pending, Value::Bool(true));
    let product_edge = format!("#graph line.edge.backward-current[data-from=\"{w2}\"]");
    let mut reached = false;
    for _ in 0..12 {
        if browser.script(&format!(
            "return document.querySelector('{product_edge}') !== null"
        )) == Value::Bool(true)
        {
            let info = browser.script("return document.getElementById('node-info').textContent");
            let info = info.as_str().unwrap();
            if info.contains("∂J/∂o hᵀ") {
                assert!(info.contains("to ∂J/∂W2"), "{info}");
                reached = true;
                break;
            }
        }
        browser.click("#backward-next");
    }
    assert!(reached, "backward never reached W2's product");
    browser.script("document.getElementById('graph-section').scrollIntoView(); return true");
    let artifact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/graphview-backward.png");
    browser.screenshot(&artifact);

    // Reset: back at step 0, no backward pass has run in the fresh session, so the sample
    // stepped through above reads "not computed yet" again.
    browser.click("#reset");
    browser.wait_until(
        "the reset graph without gradients, out of stepping",
        "return page.steps === 0 && page.backward === null && page.graph && page.graph.gradients_computed === false && !page.busy",
    );
    // Stepping through backward at step 0 runs it for this sample; a reset forgets that.
    browser.click("#backward-mode");
    browser.wait_until(
        "backward run for the sample at step 0",
        "return page.steps === 0 && page.graph && page.graph.gradients_computed === true && !page.busy",
    );
    browser.click("#reset");
    browser.wait_until(
        "the reset graph without gradients again",
        "return page.steps === 0 && page.backward === null && page.graph && page.graph.gradients_computed === false && !page.busy",
    );
    click_graph_node(&browser, w2);
    let info = browser.script("return document.getElementById('node-info').textContent");
    assert!(
        info.as_str().unwrap().contains("∂J/∂W2: not computed yet"),
        "{info}"
    );
}

// ---- image mode: `serve --dataset` ----

/// `backprop serve --dataset DIR --port 0` as a child process; stopped on drop.
struct ImageServer {
    child: Child,
    address: String,
}

impl ImageServer {
    fn start(folder: &Path) -> ImageServer {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_backprop"))
            .args(["serve", "--port", "0", "--dataset"])
            .arg(folder)
            .env_remove("BACKPROP_MIRROR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("backprop serve starts");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        // The server writes more lines; its output is read to the end, so no write of it
        // meets a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let address = line
            .trim()
            .strip_prefix("playground: http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_string();
        ImageServer { child, address }
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// The WebDriver id of the element at `css`.
    fn element(&self, css: &str) -> String {
        let element = self.session_command(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        element[ELEMENT_KEY].as_str().unwrap().to_string()
    }

    /// A mouse stroke through `points` (offsets from the centre of the element at `css`):
    /// pointerDown at the first, pointerMove through the others, pointerUp at the last.
    fn stroke(&self, css: &str, points: &[(i64, i64)]) {
        self.stroke_as("mouse", css, points);
    }

    /// A stroke as [`Browser::stroke`]'s with a pointer of WebDriver type `pointer_type`
    /// (`mouse`, `touch` or `pen`).
    fn stroke_as(&self, pointer_type: &str, css: &str, points: &[(i64, i64)]) {
        let id = self.element(css);
        let at = |(x, y): (i64, i64), duration: u64| json!({"type": "pointerMove", "duration": duration, "x": x, "y": y, "origin": { ELEMENT_KEY: id.clone() }});
        let mut actions = vec![
            at(points[0], 0),
            json!({"type": "pointerDown", "button": 0}),
        ];
        for &point in &points[1..] {
            actions.push(at(point, 40));
        }
        actions.push(json!({"type": "pointerUp", "button": 0}));
        self.session_command(
            "POST",
            "/actions",
            json!({"actions": [{
                "type": "pointer", "id": format!("stroke-{pointer_type}"), "parameters": {"pointerType": pointer_type},
                "actions": actions
            }]}),
        );
        self.session_command("DELETE", "/actions", Value::Null);
    }

    /// A click at offset (`x`, `y`) from the centre of the element at `css`.
    fn click_at(&self, css: &str, x: i64, y: i64) {
        self.stroke(css, &[(x, y)]);
    }

    /// Picks the image dataset in the dataset menu and waits for the image views.
    fn pick_image_dataset(&self) {
        self.wait_until(
            "the dataset menu offers the images",
            "return page.images !== null && [...document.querySelector('[name=dataset]').options].some(o => o.value === page.images.name)",
        );
        self.script(
            "const s = document.querySelector('[name=dataset]'); s.value = page.images.name; s.dispatchEvent(new Event('change', {bubbles: true})); return true",
        );
        self.wait_until(
            "image mode with its views drawn",
            "return page.mode === 'images' && !page.busy && document.getElementById('units').dataset.drawn === 'true' \
             && document.getElementById('confusion').dataset.drawn === 'true' && document.getElementById('graph').dataset.drawn === 'true'",
        );
    }
}

/// How many pixels of canvas `css` are lit (red channel above 100), and how many it has.
fn lit_pixels(browser: &Browser, css: &str) -> (u64, u64) {
    let counted = browser.script(&format!(
        "const c = document.querySelector('{css}'); \
         const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
         let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 100) lit++; \
         return [lit, d.length / 4];"
    ));
    (counted[0].as_u64().unwrap(), counted[1].as_u64().unwrap())
}

/// A server on a generated folder of bar digits in `dir`, a client of it, and a browser
/// showing its page (still on 2-D points).
fn open_on_digits(dir: &Path) -> (ImageServer, loopback::Client, Browser) {
    let server = ImageServer::start(&common::bar_digit_folder(dir, "digits", 600, 200));
    let client = loopback::Client::new(format!("http://{}", server.address));
    let browser = Browser::launch();
    browser.open(&format!("http://{}/", server.address));
    browser.wait_until(
        "the 2-D page is drawn",
        "return document.getElementById('heatmap').dataset.drawn === 'true'",
    );
    (server, client, browser)
}

#[test]
fn a_finger_and_a_pen_draw_on_the_canvas_without_scrolling_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, client, browser) = open_on_digits(dir.path());
    browser.pick_image_dataset();
    let session = browser.script("return page.session").as_u64().unwrap();
    // What reaches the canvas: the pointer types pressed, and any stroke the browser took
    // over (pointercancel, as when a touch pans the page).
    browser.script(
        "window.pressed = []; window.cancelled = 0; const c = document.getElementById('drawing'); \
         c.addEventListener('pointerdown', e => pressed.push(e.pointerType)); \
         c.addEventListener('pointercancel', () => cancelled++); \
         document.getElementById('drawing-panel').scrollIntoView(); return true",
    );
    let strokes: [(&str, Vec<(i64, i64)>); 2] = [
        (
            "touch",
            (0..=12).map(|i| (-60 + 10 * i, -80 + 13 * i)).collect(),
        ),
        ("pen", (0..=12).map(|i| (-90 + 15 * i, 40)).collect()),
    ];
    let mut kept = Vec::new();
    for (pointer_type, points) in &strokes {
        browser.click("#drawing-clear");
        let (ink, _) = lit_pixels(&browser, "#drawing");
        assert_eq!(ink, 0, "{pointer_type}: the canvas is wiped");
        let scrolled = browser.script("return window.scrollY");
        browser.stroke_as(pointer_type, "#drawing", points);
        browser.wait_until(
            &format!("the {pointer_type} drawing's probabilities are shown"),
            "return document.querySelectorAll('#probabilities .bar-row').length === 10 && drawing.sent && drawing.ink && !drawing.inFlight && !drawing.dirty && drawing.timer === null",
        );
        assert_eq!(
            browser.script("return window.pressed.at(-1)"),
            *pointer_type,
            "the stroke was a {pointer_type} stroke"
        );
        assert_eq!(
            browser.script("return [window.cancelled, window.scrollY]"),
            json!([0, scrolled]),
            "{pointer_type}: the canvas drew; the page did not scroll"
        );
        let (ink, all) = lit_pixels(&browser, "#drawing");
        assert!(
            ink > 1000 && ink < all / 2,
            "{pointer_type}: {ink} of {all} canvas pixels inked"
        );
        let (lit, _) = lit_pixels(&browser, "#drawing-input");
        assert!(lit > 0, "{pointer_type}: the 28 x 28 preview is lit");
        let drawn = client.get(&format!("/api/sessions/{session}/drawing"));
        let inked = drawn["input"].as_array().unwrap();
        assert!(
            inked.iter().filter(|v| v.as_f64().unwrap() > 0.0).count() > 20,
            "{pointer_type}: the server keeps the drawing"
        );
        let shown = browser.script("return document.getElementById('drawing-status').textContent");
        let predicted = drawn["predicted"].as_u64().unwrap();
        assert!(
            shown
                .as_str()
                .unwrap()
                .starts_with(&format!("predicted {predicted} ")),
            "{pointer_type}: {shown} for {drawn}"
        );
        kept.push(drawn["input"].clone());
    }
    assert_ne!(
        kept[0], kept[1],
        "the pen's stroke replaced the finger's on the server"
    );
}

#[test]
fn image_mode_trains_on_digits_classifies_a_drawing_and_opens_a_confusion_cell() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, client, browser) = open_on_digits(dir.path());
    assert_eq!(
        browser.script("return document.getElementById('dataset-note').hidden"),
        true,
        "no note about --dataset when the server has images"
    );
    browser.pick_image_dataset();
    // 2-D-only settings and panels are gone; the held-out split is named.
    let hidden = browser.script(
        "return ['boundary-panel', 'network-panel', 'compare-section'].map(id => document.getElementById(id).hidden) \
         .concat([document.querySelector('[name=noise]').disabled, location.search.includes('noise')])",
    );
    assert_eq!(hidden, json!([true, true, true, true, false]));
    let legend = canvas_data(&browser, "loss-curve", "legend");
    assert_eq!(legend[1][0], "test", "{legend}");

    for step in 1..=3 {
        browser.click("#step");
        browser.wait_until(
            "one more step",
            &format!("return page.steps === {step} && !page.busy"),
        );
    }
    let session = browser.script("return page.session").as_u64().unwrap();
    let status = client.get(&format!("/api/sessions/{session}/status"));
    assert_eq!(status["mode"], "images", "{status}");
    assert_eq!(status["steps"], 3);

    // A stroke through WebDriver actions: the probabilities of what was drawn.
    browser.script("document.getElementById('drawing-panel').scrollIntoView(); return true");
    let stroke: Vec<(i64, i64)> = (0..=12).map(|i| (-60 + 10 * i, -80 + 13 * i)).collect();
    browser.stroke("#drawing", &stroke);
    browser.wait_until(
        "the drawing's probabilities are shown",
        "return document.querySelectorAll('#probabilities .bar-row').length === 10 && drawing.sent && !drawing.inFlight && !drawing.dirty && drawing.timer === null",
    );
    let (ink, all) = lit_pixels(&browser, "#drawing");
    assert!(
        ink > 1000 && ink < all / 2,
        "{ink} of {all} canvas pixels inked"
    );
    let shown = browser.script(
        "return [...document.querySelectorAll('#probabilities .bar-row')].map(r => [r.querySelector('.bar-name').textContent, r.querySelector('.bar-value').textContent, r.classList.contains('top')])",
    );
    let rows = shown.as_array().unwrap();
    let percents: Vec<f64> = rows
        .iter()
        .map(|row| {
            let text = row[1].as_str().unwrap();
            text.trim_end_matches(" %")
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("{text} is a percentage"))
        })
        .collect();
    let sum: f64 = percents.iter().sum();
    assert!(
        (sum - 100.0).abs() <= 0.5,
        "{shown}: the shown probabilities sum to {sum} %"
    );
    let top: Vec<usize> = (0..10).filter(|&k| rows[k][2] == true).collect();
    assert_eq!(top.len(), 1, "{shown}");
    assert!(
        percents.iter().all(|&p| p <= percents[top[0]]),
        "the highlighted class is the most likely: {shown}"
    );
    assert_eq!(rows[3][0], "3", "{shown}");
    let api = client.get(&format!("/api/sessions/{session}/drawing"));
    assert_eq!(api["predicted"].as_u64().unwrap() as usize, top[0], "{api}");
    // The 28 x 28 input the network sees is drawn: some of it lit, most of it background.
    let (lit, pixels) = lit_pixels(&browser, "#drawing-input");
    assert!(
        lit > 0 && lit < pixels / 2,
        "{lit} of {pixels} preview pixels lit"
    );
    let caption = browser.script("return document.getElementById('drawing-input-box').textContent");
    assert!(
        caption.as_str().unwrap().contains("20 x 20")
            && caption.as_str().unwrap().contains("centre of mass"),
        "{caption}"
    );

    // The graph follows the drawing; its loss can be taken for another label.
    browser.wait_until(
        "the graph shows the drawing",
        "return page.sample.split === 'drawing' && document.getElementById('graph-input').dataset.drawn === 'true' && !page.busy",
    );
    browser.script(
        "const s = document.getElementById('sample-label'); s.value = '3'; s.dispatchEvent(new Event('change')); return true",
    );
    browser.wait_until(
        "the graph's loss is for label 3",
        "return document.getElementById('sample-name').textContent.includes('loss for label 3')",
    );

    // What the hidden units learned: one 28 x 28 image per unit, in colour.
    let hidden_width = browser
        .script("return Number(new URLSearchParams(location.search).get('hidden').split(',')[0])")
        .as_u64()
        .unwrap();
    let units = browser.script("return document.querySelectorAll('#units canvas').length");
    assert_eq!(units.as_u64().unwrap(), hidden_width.min(64));
    let colours = browser.script(
        "const c = document.querySelector('#units canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
         const seen = new Set(); for (let i = 0; i < d.length; i += 4) seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2]); return seen.size",
    );
    assert!(
        colours.as_u64().unwrap() > 20,
        "the first unit shows {colours} colours"
    );

    // The confusion matrix: counts of the 200 test images; a cell's images on a click.
    let confusion = browser.script("return imageViews.confusion");
    let counts: Vec<Vec<u64>> = serde_json::from_value(confusion["counts"].clone()).unwrap();
    assert_eq!(counts.iter().flatten().sum::<u64>(), 200);
    let (actual, predicted) = (0..100)
        .map(|i| (i / 10, i % 10))
        .filter(|&(a, p)| counts[a][p] > 0)
        .max_by_key(|&(a, p)| (a != p, counts[a][p]))
        .unwrap();
    let plot = browser.script(
        "const c = document.getElementById('confusion'); c.scrollIntoView({block: 'center'}); return [c.plot.left, c.plot.top, c.plot.cell, Number(c.dataset.cssWidth), Number(c.dataset.cssHeight)]",
    );
    let plot: Vec<f64> = serde_json::from_value(plot).unwrap();
    let x = plot[0] + (predicted as f64 + 0.5) * plot[2] - plot[3] / 2.0;
    let y = plot[1] + (actual as f64 + 0.5) * plot[2] - plot[4] / 2.0;
    browser.click_at("#confusion", x.round() as i64, y.round() as i64);
    let expected = counts[actual][predicted].min(20);
    browser.wait_until(
        "the cell's images are shown",
        &format!(
            "return document.querySelectorAll('#examples figure.example').length === {expected}"
        ),
    );
    let head = browser.script("return document.getElementById('examples-head').textContent");
    assert!(
        head.as_str().unwrap().contains(&format!(
            "true {actual}, predicted {predicted}: {} ",
            counts[actual][predicted]
        )),
        "{head}"
    );
    let (lit, _) = lit_pixels(&browser, "#examples figure.example canvas");
    assert!(lit > 10, "the first example is drawn ({lit} pixels lit)");
    let shown_indices = browser.script(
        "return [...document.querySelectorAll('#examples figure.example')].map(f => Number(f.dataset.index))",
    );
    let examples = client.get(&format!(
        "/api/sessions/{session}/examples?actual={actual}&predicted={predicted}&offset=0&limit=20"
    ));
    let api_indices: Vec<Value> = examples["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].clone())
        .collect();
    assert_eq!(shown_indices, Value::Array(api_indices));
    // An image of the cell opens in the graph, with its own label.
    let first = examples["examples"][0]["index"].as_u64().unwrap();
    browser.click("#examples figure.example");
    browser.wait_until(
        "the graph shows the clicked image",
        &format!("return document.getElementById('sample-name').textContent.startsWith('test image {first}, true label {actual}') && !page.busy"),
    );

    browser.script("window.scrollTo(0, 0); return true");
    let artifact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/playground-images.png");
    browser.screenshot(&artifact);

    // Back to 2-D points: their defaults, their panels.
    browser.script(
        "const s = document.querySelector('[name=dataset]'); s.value = 'spiral'; s.dispatchEvent(new Event('change', {bubbles: true})); return true",
    );
    browser.wait_until(
        "the spiral with its boundary",
        "return page.mode === 'points' && location.search.includes('points=600') && !document.getElementById('boundary-panel').hidden \
         && document.getElementById('drawing-panel').hidden && !document.querySelector('[name=noise]').disabled && !page.busy",
    );
}

/// The README's picture of image mode (`docs/images/playground-mnist.png`): the genuine
/// MNIST served (`BACKPROP_PLAYGROUND_MNIST` names its folder, e.g. the README's
/// `mnist-test-only`), trained in the page at its default pace past 90 % held-out accuracy
/// (the time it took is printed), then at the fastest pace to step 2,000, so the hidden units
/// show what they learned; a 7 drawn and a confusion cell opened.
#[test]
#[ignore = "needs the genuine MNIST: BACKPROP_PLAYGROUND_MNIST=FOLDER cargo test --release --test playground_browser -- --ignored"]
fn readme_picture_of_image_mode_on_mnist() {
    let folder = std::env::var_os("BACKPROP_PLAYGROUND_MNIST")
        .expect("BACKPROP_PLAYGROUND_MNIST names a folder of MNIST's IDX files");
    let server = ImageServer::start(Path::new(&folder));
    let browser = Browser::launch();
    browser.open(&format!("http://{}/", server.address));
    browser.pick_image_dataset();
    let played = std::time::Instant::now();
    browser.click("#play");
    browser.wait_until(
        "held-out accuracy above 90 %",
        "return Number(document.getElementById('test-accuracy').dataset.value) > 0.9",
    );
    let seconds = played.elapsed().as_secs_f64();
    let reached =
        browser.script("return [page.steps, document.getElementById('test-accuracy').textContent]");
    println!(
        "image mode on {folder:?}: [steps, held-out accuracy] {reached} {seconds:.1} s after Play"
    );
    browser.script(
        "const s = document.getElementById('pace'); s.value = 'max'; s.dispatchEvent(new Event('change', {bubbles: true})); return true",
    );
    browser.wait_until("step 2,000", "return page.steps >= 2000");
    browser.click("#play");
    browser.wait_until(
        "paused, with every view redrawn",
        "return document.getElementById('play').textContent.includes('Play') && !page.busy && page.pollTimer === null",
    );
    let reached =
        browser.script("return [page.steps, document.getElementById('test-accuracy').textContent]");
    println!("the picture: [steps, held-out accuracy] {reached}");

    // A 7: the bar, then the stem.
    let mut seven: Vec<(i64, i64)> = (0..=10).map(|i| (-70 + 14 * i, -85)).collect();
    seven.extend((1..=12).map(|i| (70 - 7 * i, -85 + 14 * i)));
    browser.stroke("#drawing", &seven);
    browser.wait_until(
        "the drawing is classified and shown in the graph",
        "return drawing.sent && !drawing.inFlight && !drawing.dirty && drawing.timer === null \
         && page.sample.split === 'drawing' && document.getElementById('graph-input').dataset.drawn === 'true' && !page.busy",
    );
    let predicted = browser.script("return document.getElementById('drawing-status').textContent");
    println!("the drawing: {predicted}");
    let counts: Vec<Vec<u64>> =
        serde_json::from_value(browser.script("return imageViews.confusion.counts")).unwrap();
    let (actual, predicted) = (0..100)
        .map(|i| (i / 10, i % 10))
        .filter(|&(a, p)| a != p)
        .max_by_key(|&(a, p)| counts[a][p])
        .unwrap();
    let plot: Vec<f64> = serde_json::from_value(browser.script(
        "const c = document.getElementById('confusion'); return [c.plot.left, c.plot.top, c.plot.cell, Number(c.dataset.cssWidth), Number(c.dataset.cssHeight)]",
    ))
    .unwrap();
    let x = plot[0] + (predicted as f64 + 0.5) * plot[2] - plot[3] / 2.0;
    let y = plot[1] + (actual as f64 + 0.5) * plot[2] - plot[4] / 2.0;
    browser.click_at("#confusion", x.round() as i64, y.round() as i64);
    browser.wait_until(
        "the cell's images",
        "return document.querySelectorAll('#examples figure.example').length > 0",
    );
    browser.script("window.scrollTo(0, 0); return true");
    let artifact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/playground-mnist.png");
    browser.screenshot(&artifact);
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/images/playground-mnist.png");
    std::fs::copy(&artifact, docs).unwrap();
}
