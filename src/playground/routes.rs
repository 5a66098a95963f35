//! The HTTP API, as a function from method and URL to a reply, independent of the server
//! that carries it. Every bad parameter is a 400 with a one-line message; an unknown
//! session or path is a 404.
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `/` , `/playground.css`, `/playground.js` | the page |
//! | GET | `/api/defaults` | the default settings as a query string, and the caps |
//! | POST | `/api/sessions?<settings>` | a new session (paused at step 0): `{id, settings}` |
//! | GET | `/api/sessions/<id>/status` | steps, epoch, playing, the loss and accuracy history |
//! | POST | `/api/sessions/<id>/play`, `/pause`, `/reset`, `/step?count=N` | controls |
//! | GET | `/api/sessions/<id>/points` | train and test points and the region shown |
//! | GET | `/api/sessions/<id>/heatmap?resolution=N` | the decision boundary |
//! | GET | `/api/sessions/<id>/network` | every weight and bias |
//! | GET | `/api/sessions/<id>/graph?split=train\|test&index=N` | the seed's graph for a sample |

use super::assets::{INDEX_HTML, SCRIPT_JS, STYLE_CSS};
use super::d2l_graph::d2l_graph;
use super::heatmap::{heatmap, labelled_points, Extent, MAX_RESOLUTION};
use super::network::network_weights;
use super::query::parse_query;
use super::registry::{Registry, MAX_SESSIONS};
use super::runner::SessionRunner;
use super::session::Session;
use super::settings::{
    Settings, MAX_BATCH, MAX_HIDDEN_LAYERS, MAX_LAMBDA, MAX_LEARNING_RATE, MAX_NOISE, MAX_POINTS,
    MAX_WIDTH, MIN_POINTS,
};
use serde_json::{json, Value};

/// The most steps one `/step` request may ask for.
pub const MAX_STEPS_PER_REQUEST: u64 = 1000;

/// An HTTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Reply {
    fn json(value: &Value) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: value.to_string(),
        }
    }

    fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: json!({ "error": message.into() }).to_string(),
        }
    }

    fn asset(content_type: &'static str, body: &str) -> Reply {
        Reply {
            status: 200,
            content_type,
            body: body.to_string(),
        }
    }
}

/// Answers one request.
pub fn route(registry: &Registry, method: &str, url: &str) -> Reply {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        ("GET", []) | ("GET", ["index.html"]) => {
            Reply::asset("text/html; charset=utf-8", INDEX_HTML)
        }
        ("GET", ["playground.css"]) => Reply::asset("text/css; charset=utf-8", STYLE_CSS),
        ("GET", ["playground.js"]) => Reply::asset("text/javascript; charset=utf-8", SCRIPT_JS),
        ("GET", ["api", "defaults"]) => Reply::json(&defaults()),
        ("POST", ["api", "sessions"]) => create(registry, query),
        (_, ["api", "sessions", id, action]) => {
            let Ok(id) = id.parse::<u64>() else {
                return Reply::error(400, format!("session id {id:?} is not a number"));
            };
            let Some(runner) = registry.get(id) else {
                return Reply::error(
                    404,
                    format!("no session {id} (the server keeps the {MAX_SESSIONS} most recently used; reload the page)"),
                );
            };
            session_action(&runner, id, method, action, query)
        }
        ("GET" | "POST", _) => Reply::error(404, format!("no such page: {path}")),
        _ => Reply::error(405, format!("method {method} is not supported")),
    }
}

fn defaults() -> Value {
    json!({
        "settings": Settings::default().to_query(),
        "caps": {
            "points": [MIN_POINTS, MAX_POINTS],
            "hidden_layers": MAX_HIDDEN_LAYERS,
            "width": MAX_WIDTH,
            "batch": MAX_BATCH,
            "noise": MAX_NOISE,
            "lr": MAX_LEARNING_RATE,
            "lambda": MAX_LAMBDA,
            "resolution": MAX_RESOLUTION,
            "steps_per_request": MAX_STEPS_PER_REQUEST,
        }
    })
}

fn create(registry: &Registry, query: &str) -> Reply {
    let settings = match Settings::from_query(query) {
        Ok(settings) => settings,
        Err(error) => return Reply::error(400, error.0),
    };
    let canonical = settings.to_query();
    match registry.create(settings) {
        Ok(id) => Reply::json(&json!({ "id": id, "settings": canonical })),
        Err(error) => Reply::error(400, error.0),
    }
}

fn session_action(
    runner: &SessionRunner,
    id: u64,
    method: &str,
    action: &str,
    query: &str,
) -> Reply {
    let params = match parse_query(query) {
        Ok(params) => params,
        Err(error) => return Reply::error(400, error.to_string()),
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let expected: &[&str] = match action {
        "step" => &["count"],
        "heatmap" => &["resolution"],
        "graph" => &["split", "index"],
        _ => &[],
    };
    if let Some((key, _)) = params.iter().find(|(k, _)| !expected.contains(&k.as_str())) {
        return Reply::error(
            400,
            format!(
                "unknown parameter {key:?} for {action}; expected: {}",
                if expected.is_empty() {
                    "none".to_string()
                } else {
                    expected.join(", ")
                }
            ),
        );
    }
    match (method, action) {
        ("GET", "status") => Reply::json(&status(runner, id)),
        ("POST", "play") => {
            runner.set_playing(true);
            Reply::json(&status(runner, id))
        }
        ("POST", "pause") => {
            runner.set_playing(false);
            let _ = runner.lock().session.record_now();
            Reply::json(&status(runner, id))
        }
        ("POST", "reset") => {
            let mut state = runner.lock();
            match Session::new(state.session.settings().clone()) {
                Ok(session) => {
                    state.session = session;
                    state.playing = false;
                }
                Err(error) => return Reply::error(400, error.0),
            }
            drop(state);
            Reply::json(&status(runner, id))
        }
        ("POST", "step") => {
            let count = match param("count").map(|c| c.parse::<u64>()) {
                None => 1,
                Some(Ok(c)) if (1..=MAX_STEPS_PER_REQUEST).contains(&c) => c,
                Some(_) => {
                    return Reply::error(
                        400,
                        format!(
                            "count={:?}; expected an integer from 1 to {MAX_STEPS_PER_REQUEST}",
                            param("count").unwrap_or_default()
                        ),
                    )
                }
            };
            {
                let mut state = runner.lock();
                state.playing = false;
                for _ in 0..count {
                    if !matches!(state.session.step(), Ok(true)) {
                        break;
                    }
                }
                let _ = state.session.record_now();
            }
            Reply::json(&status(runner, id))
        }
        ("GET", "points") => {
            let state = runner.lock();
            let session = &state.session;
            Reply::json(&json!({
                "extent": Extent::around(&[session.train_set(), session.test_set()]),
                "classes": session.settings().dataset.classes(),
                "train": labelled_points(session.train_set()),
                "test": labelled_points(session.test_set()),
            }))
        }
        ("GET", "heatmap") => {
            let resolution = match param("resolution").map(|r| r.parse::<usize>()) {
                None => 48,
                Some(Ok(r)) if (2..=MAX_RESOLUTION).contains(&r) => r,
                Some(_) => {
                    return Reply::error(
                        400,
                        format!(
                            "resolution={:?}; expected an integer from 2 to {MAX_RESOLUTION}",
                            param("resolution").unwrap_or_default()
                        ),
                    )
                }
            };
            let state = runner.lock();
            let session = &state.session;
            let extent = Extent::around(&[session.train_set(), session.test_set()]);
            Reply::json(&json!(heatmap(session.mlp(), extent, resolution)))
        }
        ("GET", "network") => Reply::json(&json!(network_weights(runner.lock().session.mlp()))),
        ("GET", "graph") => {
            let state = runner.lock();
            let session = &state.session;
            let (split, data) = match param("split").unwrap_or("train") {
                "train" => ("train", session.train_set()),
                "test" => ("test", session.test_set()),
                other => {
                    return Reply::error(400, format!("split={other:?}; expected train or test"))
                }
            };
            let index = match param("index").map(|i| i.parse::<usize>()) {
                None => 0,
                Some(Ok(i)) if i < data.len() => i,
                Some(_) => {
                    return Reply::error(
                        400,
                        format!(
                            "index={:?}; expected an integer from 0 to {} (the {split} set has {} points)",
                            param("index").unwrap_or_default(),
                            data.len() - 1,
                            data.len()
                        ),
                    )
                }
            };
            match d2l_graph(session.mlp(), data, index) {
                Some(graph) => Reply::json(&json!({
                    "split": split,
                    "index": index,
                    "graph": graph,
                })),
                None => Reply::error(400, format!("cannot evaluate {split} sample {index}")),
            }
        }
        (
            "GET" | "POST",
            "status" | "play" | "pause" | "reset" | "step" | "points" | "heatmap" | "network"
            | "graph",
        ) => Reply::error(405, format!("{action} does not take {method}")),
        _ => Reply::error(404, format!("no such action: {action}")),
    }
}

fn status(runner: &SessionRunner, id: u64) -> Value {
    let state = runner.lock();
    let session = &state.session;
    json!({
        "id": id,
        "settings": session.settings().to_query(),
        "steps": session.steps(),
        "epoch": session.epoch(),
        "playing": state.playing,
        "diverged": session.diverged(),
        "history": session.history(),
    })
}
