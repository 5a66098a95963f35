//! The HTTP API, as a function from method and URL to a reply, independent of the server
//! that carries it. Every bad parameter is a 400 with a one-line message; an unknown
//! session or path is a 404; a known path with another method is a 405 whose `Allow`
//! names the method it takes.
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `/` , `/playground.css`, `/playground.js` | the page |
//! | GET | `/api/defaults` | the default settings as a query string, and the caps |
//! | POST | `/api/sessions?<settings>` | a new session (paused at step 0): `{id, settings}` |
//! | GET | `/api/sessions/<id>/status` | steps, epoch, playing, pace, the loss and accuracy history and its charts' axes (`history_axes`) |
//! | POST | `/api/sessions/<id>/play`, `/pause`, `/reset`, `/step?count=N` | controls |
//! | GET | `/api/sessions/<id>/points` | train and test points and the region shown |
//! | GET | `/api/sessions/<id>/heatmap?resolution=N` | the decision boundary and its axes' `ticks` |
//! | GET | `/api/sessions/<id>/network` | every weight and bias |
//! | GET | `/api/sessions/<id>/graph?split=train\|test&index=N&backward=true\|false` | the D2L network's graph for a sample |
//! | GET | `/api/sessions/<id>/neuron?layer=L&unit=U&resolution=N` | hidden unit `h_L[U]` over the plane, its weights, its axes' `ticks` |
//! | POST | `/api/comparisons?a=<settings>&b=<settings>` | two runs in lockstep ([`super::comparison`]): `{id, a, b, same_initial_weights}` |
//! | GET | `/api/comparisons/<id>/status` | both runs' steps and histories (`runs`), the shared charts' axes (`history_axes`) |
//! | POST | `/api/comparisons/<id>/play`, `/pause`, `/reset`, `/step?count=N` | controls for both runs |
//! | GET | `/api/comparisons/<id>/<a\|b>/points`, `heatmap`, `network`, `neuron`, `graph` | one run's views, as a session's |
//! | POST | `/api/sessions/<id>/pace?pace=N\|max` | steps per second while playing, without a reset |
//! | POST | `/api/sessions/<id>/drawing?width=W&height=H` (body: W x H grey bytes) | image mode: frame the drawing as MNIST's, keep it, classify it |
//! | GET | `/api/sessions/<id>/drawing` | the kept drawing classified by the current weights |
//! | GET | `/api/sessions/<id>/units?limit=N` | image mode: rows of `W1` as 28 x 28 images, largest norm first |
//! | GET | `/api/sessions/<id>/confusion` | image mode: the held-out split's confusion matrix |
//! | GET | `/api/sessions/<id>/examples?actual=A&predicted=P&offset=O&limit=L` | image mode: the held-out images of one cell |
//!
//! `/graph` also takes `split=drawing` (image mode: the kept drawing) and `label=K` (the
//! loss and every gradient for class `K` instead of the sample's own). In image mode the 2-D
//! views (`points`, `heatmap`, `neuron`) are 400s, and on 2-D points the image views are.
//! Only `/drawing` takes a body ([`takes_drawing`]); the others read their parameters from
//! the URL.
//!
//! **Gradients on `/graph`.** The reply is one forward pass of the session's current
//! weights on the sample, and, unless `backward=false`, one backward pass from that
//! sample's `J`. "Computed" means exactly that this backward pass ran: `gradients_computed`
//! is `true`, every variable that leads to a parameter has `gradient`, `gradient_text` and
//! its `contributions` (one per operator reading it; they sum to `gradient`). With
//! `backward=false` only forward runs: `gradients_computed` is `false`, every `gradient` is
//! empty, `gradient_norm` and `gradient_text` are null, and the page reads "not computed
//! yet" — never zeros. The page asks for `backward=false` while the session is at step 0
//! (no backward pass has run in it) until the learner steps through backward for the shown
//! sample.

use super::assets::{INDEX_HTML, SCRIPT_JS, STYLE_CSS};
use super::comparison::{run_status, shares_initial_weights, RUN_NAMES};
use super::d2l_graph::d2l_graph_of;
use super::drawing::{classify, frame_drawing, MAX_DRAWING_SIDE, MIN_DRAWING_SIDE};
use super::heatmap::{heatmap, labelled_points, Extent, MAX_RESOLUTION};
use super::held_out::{confusion, examples, DEFAULT_EXAMPLES, MAX_EXAMPLES};
use super::hidden_units::{hidden_units, DEFAULT_UNITS, MAX_UNITS};
use super::network::network_weights;
use super::neuron::{neuron_output, MAX_NEURON_RESOLUTION};
use super::query::parse_query;
use super::registry::{Registry, MAX_COMPARISONS, MAX_SESSIONS};
use super::runner::{RunnerState, SessionRunner, SessionShape};
use super::session::Session;
use super::settings::{
    DatasetKind, Pace, Settings, MAX_BATCH, MAX_HIDDEN_LAYERS, MAX_IMAGE_BATCH,
    MAX_IMAGE_HIDDEN_LAYERS, MAX_IMAGE_WIDTH, MAX_LAMBDA, MAX_LEARNING_RATE, MAX_NOISE, MAX_PACE,
    MAX_POINTS, MAX_WIDTH, MIN_PACE, MIN_POINTS, PACE_CHOICES,
};
use super::ticks::{HistoryAxes, COMPARISON_STEP_TICKS, SESSION_STEP_TICKS};
use crate::data::mnist_framing::MNIST_SIDE;
use serde_json::{json, Value};
use std::time::Duration;

/// The most steps one `/step` request may ask for.
pub const MAX_STEPS_PER_REQUEST: u64 = 1000;
/// How long a `/step` request waits for its steps (made on the session's training thread)
/// before it answers with the state reached; the rest are still made afterwards. While
/// [`super::registry::MAX_WAITING_STEP_REQUESTS`] others wait, a request answers at once.
pub const STEP_PATIENCE: Duration = Duration::from_secs(60);

/// An HTTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// The `Allow` header of a 405: the method the path answers.
    pub allow: Option<&'static str>,
}

impl Reply {
    fn json(value: &Value) -> Reply {
        Reply {
            status: 200,
            content_type: "application/json",
            body: value.to_string(),
            allow: None,
        }
    }

    /// An error: `status` with `{"error": message}`.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: json!({ "error": message.into() }).to_string(),
            allow: None,
        }
    }

    /// A 405 for `path`, which answers only `allowed`.
    fn method_not_allowed(path: &str, method: &str, allowed: &'static str) -> Reply {
        Reply {
            allow: Some(allowed),
            ..Reply::error(
                405,
                format!("{path} does not take {method}; it takes {allowed}"),
            )
        }
    }

    fn asset(content_type: &'static str, body: &str) -> Reply {
        Reply {
            status: 200,
            content_type,
            body: body.to_string(),
            allow: None,
        }
    }
}

/// A path the API knows, and the one method it answers.
enum Resource<'a> {
    /// The page or one of its files: the content type and the text.
    Asset(&'static str, &'static str),
    /// `/api/defaults`.
    Defaults,
    /// `/api/sessions`.
    Sessions,
    /// `/api/sessions/<id>/<action>`, with the id not yet read.
    Session(&'a str, &'static ActionSpec),
    /// `/api/comparisons`.
    Comparisons,
    /// `/api/comparisons/<id>/<action>` (a control or the status) or
    /// `/api/comparisons/<id>/<run>/<action>` (a view), ids not yet read.
    Comparison(&'a str, Option<&'a str>, &'static ActionSpec),
}

/// The actions a comparison answers as a whole; every other action is one run's view.
const COMPARISON_CONTROLS: [&str; 5] = ["status", "play", "pause", "reset", "step"];

/// Which runs an action acts on and shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// A session's one run.
    Session,
    /// Both runs of a comparison.
    Comparison,
    /// One run of a comparison (an index into [`RUN_NAMES`]).
    Run(usize),
}

impl Target {
    /// The session whose views are shown.
    fn session(self, state: &RunnerState) -> &Session {
        match (self, &state.partner) {
            (Target::Run(1), Some(partner)) => partner,
            _ => &state.session,
        }
    }

    /// The session whose views are shown, to change.
    fn session_mut(self, state: &mut RunnerState) -> &mut Session {
        match (self, &mut state.partner) {
            (Target::Run(1), Some(partner)) => partner,
            _ => &mut state.session,
        }
    }
}

/// Whether `path` is a drawing's (`/api/sessions/<id>/drawing`), the one route that reads a
/// body: the server allows it [`super::drawing::MAX_DRAWING_BYTES`], every other route a
/// few kilobytes.
pub fn takes_drawing(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(segments.as_slice(), ["api", "sessions", _, "drawing"])
}

/// The session action `name` answering `method`, else (for a 405) the first one named so.
fn find_action(name: &str, method: &str, controls: Option<bool>) -> Option<&'static ActionSpec> {
    let fits = |a: &&ActionSpec| {
        a.name == name && controls.is_none_or(|c| c == COMPARISON_CONTROLS.contains(&name))
    };
    ACTIONS
        .iter()
        .filter(fits)
        .find(|a| a.method == method)
        .or_else(|| ACTIONS.iter().find(fits))
}

/// The methods action `spec` answers, as an `Allow` header writes them (only `drawing`
/// answers two: GET and POST).
fn allowed(spec: &ActionSpec) -> &'static str {
    if ACTIONS.iter().filter(|a| a.name == spec.name).count() > 1 {
        "GET, POST"
    } else {
        spec.method
    }
}

/// Answers one request without a body: 404 for an unknown path, 405 (with `Allow`) for a
/// known path with another method, 400 for a bad parameter.
pub fn route(registry: &Registry, method: &str, url: &str) -> Reply {
    route_request(registry, method, url, &[])
}

/// [`route`] for a request with `body` (read by `/drawing` only; ignored elsewhere).
pub fn route_request(registry: &Registry, method: &str, url: &str, body: &[u8]) -> Reply {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (resource, allowed) = match segments.as_slice() {
        [] | ["index.html"] => (
            Resource::Asset("text/html; charset=utf-8", INDEX_HTML),
            "GET",
        ),
        ["playground.css"] => (Resource::Asset("text/css; charset=utf-8", STYLE_CSS), "GET"),
        ["playground.js"] => (
            Resource::Asset("text/javascript; charset=utf-8", SCRIPT_JS),
            "GET",
        ),
        ["api", "defaults"] => (Resource::Defaults, "GET"),
        ["api", "sessions"] => (Resource::Sessions, "POST"),
        ["api", "sessions", id, action] => match find_action(action, method, None) {
            Some(spec) => (Resource::Session(id, spec), allowed(spec)),
            None => return Reply::error(404, format!("no such action: {action}")),
        },
        ["api", "comparisons"] => (Resource::Comparisons, "POST"),
        ["api", "comparisons", id, action] => match find_action(action, method, Some(true)) {
            Some(spec) => (Resource::Comparison(id, None, spec), allowed(spec)),
            None => return Reply::error(404, format!("no such comparison action: {action} (one run's views are under /api/comparisons/<id>/a/ and /b/)")),
        },
        ["api", "comparisons", id, run, action] => match find_action(action, method, Some(false)) {
            Some(spec) => (Resource::Comparison(id, Some(run), spec), allowed(spec)),
            None => return Reply::error(404, format!("no such view of a comparison's run: {action}")),
        },
        _ => return Reply::error(404, format!("no such page: {path}")),
    };
    let answers = match &resource {
        Resource::Session(_, spec) | Resource::Comparison(_, _, spec) => spec.method == method,
        _ => method == allowed,
    };
    if !answers {
        return Reply::method_not_allowed(path, method, allowed);
    }
    match resource {
        Resource::Asset(content_type, body) => Reply::asset(content_type, body),
        Resource::Defaults => Reply::json(&defaults(registry)),
        Resource::Sessions => create(registry, query),
        Resource::Session(id, spec) => {
            let id = match parse_id("session", id) {
                Ok(id) => id,
                Err(reply) => return reply,
            };
            let Some(runner) = registry.get(id) else {
                return Reply::error(
                    404,
                    format!("no session {id} (the server keeps the {MAX_SESSIONS} most recently used; reload the page)"),
                );
            };
            match Action::parse(spec, query, runner.shape()) {
                Ok(action) => action.run(registry, &runner, id, Target::Session, body),
                Err(reply) => reply,
            }
        }
        Resource::Comparisons => create_comparison(registry, query),
        Resource::Comparison(id, run, spec) => {
            let id = match parse_id("comparison", id) {
                Ok(id) => id,
                Err(reply) => return reply,
            };
            let Some(runner) = registry.get_comparison(id) else {
                return Reply::error(
                    404,
                    format!("no comparison {id} (the server keeps the {MAX_COMPARISONS} most recently used; reload the page)"),
                );
            };
            let target = match run {
                None => Target::Comparison,
                Some(name) => match RUN_NAMES.iter().position(|n| *n == name) {
                    Some(index) => Target::Run(index),
                    None => {
                        return Reply::error(
                            404,
                            format!("no run {name:?}; a comparison has runs a and b"),
                        )
                    }
                },
            };
            match Action::parse(spec, query, runner.shape()) {
                Ok(action) => action.run(registry, &runner, id, target, body),
                Err(reply) => reply,
            }
        }
    }
}

fn defaults(registry: &Registry) -> Value {
    let images = registry.images().map(|set| set.info());
    let mut datasets: Vec<Value> = DatasetKind::POINTS
        .iter()
        .map(|(name, title)| json!({ "name": name, "kind": "points", "title": title }))
        .collect();
    datasets.extend(images.iter().map(|info| json!(info)));
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
            "neuron_resolution": MAX_NEURON_RESOLUTION,
            "comparisons": MAX_COMPARISONS,
            "steps_per_request": MAX_STEPS_PER_REQUEST,
            "pace": [MIN_PACE, MAX_PACE],
            "pace_choices": PACE_CHOICES,
        },
        "datasets": datasets,
        "images": images,
        "image_caps": {
            "hidden_layers": MAX_IMAGE_HIDDEN_LAYERS,
            "max_width": MAX_IMAGE_WIDTH,
            "max_batch": MAX_IMAGE_BATCH,
            "min_drawing_side": MIN_DRAWING_SIDE,
            "max_drawing_side": MAX_DRAWING_SIDE,
            "max_units": MAX_UNITS,
            "max_examples": MAX_EXAMPLES,
        },
        "image_defaults": registry.images().map(|set| Settings::for_images(set).to_query()),
    })
}

fn create(registry: &Registry, query: &str) -> Reply {
    let images = registry.images().map(|set| &**set);
    let settings = match Settings::from_query_offering(query, images) {
        Ok(settings) => settings,
        Err(error) => return Reply::error(400, error.0),
    };
    let canonical = settings.to_query();
    match registry.create(settings) {
        Ok(id) => Reply::json(&json!({ "id": id, "settings": canonical })),
        Err(error) => Reply::error(400, error.0),
    }
}

/// The number in a `/api/sessions/{id}` or `/api/comparisons/{id}` path: a 400 when it is
/// not a whole number, a 404 when it is one beyond any id the server hands out (`u64`).
fn parse_id(kind: &str, id: &str) -> Result<u64, Reply> {
    match id.parse::<u64>() {
        Ok(id) => Ok(id),
        Err(_) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            Err(Reply::error(404, format!("no {kind} {id}")))
        }
        Err(_) => Err(Reply::error(
            400,
            format!("{kind} id {id:?} is not a number"),
        )),
    }
}

/// `POST /api/comparisons?a=<settings>&b=<settings>`: both settings strings (URL-encoded
/// query strings) are required and must share their data settings.
fn create_comparison(registry: &Registry, query: &str) -> Reply {
    let pairs = match parse_query(query) {
        Ok(pairs) => pairs,
        Err(error) => return Reply::error(400, error.to_string()),
    };
    if let Some((key, _)) = pairs.iter().find(|(k, _)| k != "a" && k != "b") {
        return Reply::error(
            400,
            format!("unknown parameter {key:?} for a comparison; expected: a, b"),
        );
    }
    let mut runs = Vec::with_capacity(2);
    for name in RUN_NAMES {
        let Some((_, text)) = pairs.iter().find(|(k, _)| k == name) else {
            return Reply::error(
                400,
                format!("a comparison needs {name}=<settings> (both a and b, each a URL-encoded settings query string)"),
            );
        };
        let images = registry.images().map(|set| set.name());
        let names_images = parse_query(text).is_ok_and(|pairs| {
            pairs
                .iter()
                .any(|(k, v)| k == "dataset" && Some(v.as_str()) == images)
        });
        if names_images {
            let points: Vec<&str> = DatasetKind::POINTS.iter().map(|(n, _)| *n).collect();
            return Reply::error(
                400,
                format!(
                    "{name}: a comparison trains on the 2-D datasets ({}), not on the images",
                    points.join(", ")
                ),
            );
        }
        match Settings::from_query(text) {
            Ok(settings) => runs.push(settings),
            Err(error) => return Reply::error(400, format!("{name}: {}", error.0)),
        }
    }
    let (a, b) = (runs[0].clone(), runs[1].clone());
    let same = shares_initial_weights(&a, &b);
    match registry.create_comparison(a, b) {
        Ok(id) => Reply::json(&json!({
            "id": id,
            "a": runs[0].to_query(),
            "b": runs[1].to_query(),
            "same_initial_weights": same,
        })),
        Err(error) => Reply::error(400, error.0),
    }
}

/// A session action: its name (the last path segment), its method, the query parameters it
/// takes and how their values are read.
struct ActionSpec {
    name: &'static str,
    method: &'static str,
    params: &'static [&'static str],
    /// Reads the (known) parameters into the action, for a session of `shape`.
    read: fn(&Params, SessionShape) -> Result<Action, Reply>,
}

/// The 400 of an image view asked of a session on 2-D points.
const POINTS_SESSION: &str =
    "this session trains on 2-D points; start the server with --dataset to use images";

/// `Ok` for an image session, else the 400 of [`POINTS_SESSION`].
fn images_only(shape: SessionShape) -> Result<(), Reply> {
    if shape.images {
        Ok(())
    } else {
        Err(Reply::error(400, POINTS_SESSION))
    }
}

/// `Ok` for a session on 2-D points, else a 400 naming the 2-D views.
fn points_only(shape: SessionShape) -> Result<(), Reply> {
    if shape.images {
        Err(Reply::error(
            400,
            "this session trains on images; points, heatmap and neuron show 2-D datasets (images have drawing, units, confusion and examples)",
        ))
    } else {
        Ok(())
    }
}

/// Every session action: one row each, the only place its parameters are named.
const ACTIONS: [ActionSpec; 16] = [
    ActionSpec {
        name: "status",
        method: "GET",
        params: &[],
        read: |_, _| Ok(Action::Status),
    },
    ActionSpec {
        name: "play",
        method: "POST",
        params: &[],
        read: |_, _| Ok(Action::Play),
    },
    ActionSpec {
        name: "pause",
        method: "POST",
        params: &[],
        read: |_, _| Ok(Action::Pause),
    },
    ActionSpec {
        name: "reset",
        method: "POST",
        params: &[],
        read: |_, _| Ok(Action::Reset),
    },
    ActionSpec {
        name: "step",
        method: "POST",
        params: &["count"],
        read: |params, _| {
            let count = params.integer_in("count", 1, 1, MAX_STEPS_PER_REQUEST, "")?;
            Ok(Action::Step { count })
        },
    },
    ActionSpec {
        name: "points",
        method: "GET",
        params: &[],
        read: |_, shape| points_only(shape).map(|_| Action::Points),
    },
    ActionSpec {
        name: "heatmap",
        method: "GET",
        params: &["resolution"],
        read: |params, shape| {
            points_only(shape)?;
            let resolution = params.integer_in("resolution", 48, 2, MAX_RESOLUTION, "")?;
            Ok(Action::Heatmap { resolution })
        },
    },
    ActionSpec {
        name: "network",
        method: "GET",
        params: &[],
        read: |_, _| Ok(Action::Network),
    },
    ActionSpec {
        name: "graph",
        method: "GET",
        params: &["split", "index", "backward", "label"],
        read: |params, shape| {
            let splits = if shape.images {
                "train, test or drawing"
            } else {
                "train or test"
            };
            let split = match params.get("split").unwrap_or("train") {
                "train" => Split::Train,
                "test" => Split::Test,
                "drawing" if shape.images => Split::Drawing,
                "drawing" => return Err(Reply::error(400, POINTS_SESSION)),
                other => {
                    return Err(Reply::error(
                        400,
                        format!("split={other:?}; expected {splits}"),
                    ))
                }
            };
            // The page sends its index box with every split; the drawing has none, so it is
            // ignored there.
            let index = match split {
                Split::Drawing => 0,
                Split::Train | Split::Test => {
                    let points = if split == Split::Train {
                        shape.train
                    } else {
                        shape.test
                    };
                    let note = format!(" (the {} set has {points} points)", split.name());
                    params.integer_in("index", 0, 0, points.saturating_sub(1), &note)?
                }
            };
            let backward = match params.get("backward").unwrap_or("true") {
                "true" => true,
                "false" => false,
                other => {
                    return Err(Reply::error(
                        400,
                        format!("backward={other:?}; expected true or false"),
                    ))
                }
            };
            let label = match params.get("label") {
                None => None,
                Some(_) => {
                    let note = format!(" (the dataset has {} classes)", shape.classes);
                    Some(params.integer_in(
                        "label",
                        0,
                        0,
                        shape.classes.saturating_sub(1),
                        &note,
                    )?)
                }
            };
            Ok(Action::Graph {
                split,
                index,
                backward,
                label,
            })
        },
    },
    ActionSpec {
        name: "neuron",
        method: "GET",
        params: &["layer", "unit", "resolution"],
        read: |params, shape| {
            points_only(shape)?;
            let layer = params.integer_in("layer", 1, 1, MAX_HIDDEN_LAYERS, "")?;
            let unit = params.integer_in("unit", 0, 0, MAX_WIDTH - 1, "")?;
            let resolution = params.integer_in("resolution", 24, 2, MAX_NEURON_RESOLUTION, "")?;
            Ok(Action::Neuron {
                layer,
                unit,
                resolution,
            })
        },
    },
    ActionSpec {
        name: "pace",
        method: "POST",
        params: &["pace"],
        read: |params, _| {
            let value = params.get("pace").ok_or_else(|| {
                Reply::error(
                    400,
                    "pace is missing; give pace=N (steps per second) or pace=max",
                )
            })?;
            let pace = Pace::parse(value).map_err(|error| Reply::error(400, error.0))?;
            Ok(Action::Pace { pace })
        },
    },
    ActionSpec {
        name: "drawing",
        method: "POST",
        params: &["width", "height"],
        read: |params, shape| {
            images_only(shape)?;
            let side = |name: &str| {
                if params.get(name).is_none() {
                    return Err(Reply::error(
                        400,
                        format!("{name} is missing; give width=W&height=H, the drawing's size in pixels"),
                    ));
                }
                params.integer_in(name, 0, MIN_DRAWING_SIDE, MAX_DRAWING_SIDE, " (pixels)")
            };
            Ok(Action::Draw {
                width: side("width")?,
                height: side("height")?,
            })
        },
    },
    ActionSpec {
        name: "drawing",
        method: "GET",
        params: &[],
        read: |_, shape| images_only(shape).map(|_| Action::Drawing),
    },
    ActionSpec {
        name: "units",
        method: "GET",
        params: &["limit"],
        read: |params, shape| {
            images_only(shape)?;
            let limit = params.integer_in("limit", DEFAULT_UNITS, 1, MAX_UNITS, "")?;
            Ok(Action::Units { limit })
        },
    },
    ActionSpec {
        name: "confusion",
        method: "GET",
        params: &[],
        read: |_, shape| images_only(shape).map(|_| Action::Confusion),
    },
    ActionSpec {
        name: "examples",
        method: "GET",
        params: &["actual", "predicted", "offset", "limit"],
        read: |params, shape| {
            images_only(shape)?;
            let class = |name: &str| {
                if params.get(name).is_none() {
                    return Err(Reply::error(
                        400,
                        format!("{name} is missing; give actual=A&predicted=P, the cell's true and predicted classes"),
                    ));
                }
                let note = format!(" (the dataset has {} classes)", shape.classes);
                params.integer_in(name, 0, 0, shape.classes.saturating_sub(1), &note)
            };
            let note = format!(" (the held-out split has {} images)", shape.test);
            Ok(Action::Examples {
                actual: class("actual")?,
                predicted: class("predicted")?,
                offset: params.integer_in("offset", 0, 0, shape.test, &note)?,
                limit: params.integer_in("limit", DEFAULT_EXAMPLES, 1, MAX_EXAMPLES, "")?,
            })
        },
    },
];

/// Which sample a graph is drawn for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    Train,
    Test,
    /// The session's drawing (image mode).
    Drawing,
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
            Split::Drawing => "drawing",
        }
    }
}

/// A request's decoded query parameters.
struct Params(Vec<(String, String)>);

impl Params {
    /// The value of `name`, if given.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The integer parameter `name`: `default` when absent, else a value from `low` to
    /// `high` (a 400 naming the parameter and the range, followed by `note`, otherwise).
    fn integer_in<T>(&self, name: &str, default: T, low: T, high: T, note: &str) -> Result<T, Reply>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display,
    {
        let Some(text) = self.get(name) else {
            return Ok(default);
        };
        match text.parse::<T>() {
            Ok(n) if low <= n && n <= high => Ok(n),
            _ => Err(Reply::error(
                400,
                format!("{name}={text:?}; expected an integer from {low} to {high}{note}"),
            )),
        }
    }
}

/// A session action with its parameters read and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Status,
    Play,
    Pause,
    Reset,
    Step {
        count: u64,
    },
    Points,
    Heatmap {
        resolution: usize,
    },
    Network,
    Graph {
        split: Split,
        index: usize,
        backward: bool,
        label: Option<usize>,
    },
    Neuron {
        layer: usize,
        unit: usize,
        resolution: usize,
    },
    Pace {
        pace: Pace,
    },
    Draw {
        width: usize,
        height: usize,
    },
    Drawing,
    Units {
        limit: usize,
    },
    Confusion,
    Examples {
        actual: usize,
        predicted: usize,
        offset: usize,
        limit: usize,
    },
}

impl Action {
    /// Reads `query` for the action `spec`, once: the pairs, then unknown names, then each
    /// value against its range (for a session of `shape`).
    fn parse(spec: &ActionSpec, query: &str, shape: SessionShape) -> Result<Action, Reply> {
        let params = parse_query(query).map_err(|error| Reply::error(400, error.to_string()))?;
        if let Some((key, _)) = params
            .iter()
            .find(|(k, _)| !spec.params.contains(&k.as_str()))
        {
            let expected = if spec.params.is_empty() {
                "none".to_string()
            } else {
                spec.params.join(", ")
            };
            return Err(Reply::error(
                400,
                format!(
                    "unknown parameter {key:?} for {}; expected: {expected}",
                    spec.name
                ),
            ));
        }
        (spec.read)(&Params(params), shape)
    }

    /// Carries the action out on session or comparison `id` and answers with its result:
    /// a view of `target`'s session, or the status.
    fn run(
        self,
        registry: &Registry,
        runner: &SessionRunner,
        id: u64,
        target: Target,
        body: &[u8],
    ) -> Reply {
        match self {
            Action::Status => {}
            Action::Play => runner.set_playing(true),
            Action::Pause => runner.pause(),
            Action::Reset => {
                if let Err(error) = runner.reset() {
                    return Reply::error(400, error.0);
                }
            }
            Action::Step { count } => {
                // Held until the steps are made or the patience runs out.
                let place = registry.step_waiting_place();
                let patience = if place.is_some() {
                    STEP_PATIENCE
                } else {
                    Duration::ZERO
                };
                runner.step(count, patience);
            }
            Action::Pace { pace } => runner.set_pace(pace),
            Action::Points => {
                let state = runner.lock();
                let session = target.session(&state);
                return Reply::json(&json!({
                    "extent": Extent::around(&[session.train_set(), session.test_set()]),
                    "classes": session.settings().dataset.classes(),
                    "train": labelled_points(session.train_set()),
                    "test": labelled_points(session.test_set()),
                }));
            }
            Action::Heatmap { resolution } => {
                let state = runner.lock();
                let session = target.session(&state);
                let extent = Extent::around(&[session.train_set(), session.test_set()]);
                return Reply::json(&json!(heatmap(session.mlp(), extent, resolution)));
            }
            Action::Network => {
                return Reply::json(&json!(network_weights(
                    target.session(&runner.lock()).mlp()
                )))
            }
            Action::Graph {
                split,
                index,
                backward,
                label,
            } => {
                let state = runner.lock();
                let session = target.session(&state);
                return graph_reply(session, split, index, backward, label);
            }
            Action::Draw { width, height } => {
                let input = match frame_drawing(width, height, body) {
                    Ok(input) => input,
                    Err(message) => return Reply::error(400, message),
                };
                let mut state = runner.lock();
                let session = target.session_mut(&mut state);
                session.set_drawing(input);
                return drawing_reply(session);
            }
            Action::Drawing => return drawing_reply(target.session(&runner.lock())),
            Action::Units { limit } => {
                let state = runner.lock();
                let session = target.session(&state);
                return match hidden_units(session.mlp(), limit, session.steps()) {
                    Some(units) => Reply::json(&json!(units)),
                    None => {
                        Reply::error(400, "the network's first layer does not take 28x28 images")
                    }
                };
            }
            Action::Confusion => {
                let (mut mlp, data, step, classes, split) = held_out_copy(runner, target);
                return match confusion(&mut mlp, &data) {
                    Ok(matrix) => Reply::json(&json!({
                        "split": split,
                        "classes": classes,
                        "counts": matrix.counts,
                        "total": matrix.total,
                        "accuracy": matrix.accuracy,
                        "step": step,
                    })),
                    Err(error) => Reply::error(400, error.to_string()),
                };
            }
            Action::Examples {
                actual,
                predicted,
                offset,
                limit,
            } => {
                let (mut mlp, data, _, _, _) = held_out_copy(runner, target);
                return match examples(&mut mlp, &data, actual, predicted, offset, limit) {
                    Ok(cell) => Reply::json(&json!(cell)),
                    Err(error) => Reply::error(400, error.to_string()),
                };
            }
            Action::Neuron {
                layer,
                unit,
                resolution,
            } => {
                let state = runner.lock();
                let session = target.session(&state);
                let extent = Extent::around(&[session.train_set(), session.test_set()]);
                return match neuron_output(session.mlp(), extent, layer, unit, resolution) {
                    Some(neuron) => Reply::json(&json!(neuron)),
                    None => {
                        let hidden = &session.settings().hidden;
                        let widths: Vec<String> = hidden.iter().map(|w| w.to_string()).collect();
                        Reply::error(
                            400,
                            match hidden.get(layer - 1) {
                                Some(width) => format!("unit={unit}; hidden layer {layer} has units 0 to {}", width - 1),
                                None if hidden.is_empty() => format!("layer={layer}; the network has no hidden layer"),
                                None => format!("layer={layer}; the network has hidden layers 1 to {} (widths {})", hidden.len(), widths.join(", ")),
                            },
                        )
                    }
                };
            }
        }
        match target {
            Target::Session => Reply::json(&status(runner, id)),
            Target::Comparison | Target::Run(_) => Reply::json(&comparison_status(runner, id)),
        }
    }
}

/// A copy of the shown session's network, its held-out split (shared), its step, class
/// names and the split's name, taken under the lock: a forward pass over the whole split
/// then runs without holding training up.
fn held_out_copy(
    runner: &SessionRunner,
    target: Target,
) -> (
    crate::nn::Mlp<f32>,
    std::sync::Arc<crate::data::Dataset>,
    u64,
    Vec<String>,
    &'static str,
) {
    let state = runner.lock();
    let session = target.session(&state);
    let (classes, split) = match session.images() {
        Some(set) => (set.classes().to_vec(), set.held_out_split().name()),
        None => (Vec::new(), "test"),
    };
    (
        session.mlp().clone(),
        std::sync::Arc::clone(session.shared_test_set()),
        session.steps(),
        classes,
        split,
    )
}

/// The `/graph` reply for sample `index` of `split` (or the drawing), with the loss of
/// `label` (default: the sample's own, or the drawing's predicted class).
fn graph_reply(
    session: &Session,
    split: Split,
    index: usize,
    backward: bool,
    label: Option<usize>,
) -> Reply {
    let (features, true_label): (Vec<f64>, Option<usize>) = match split {
        Split::Train | Split::Test => {
            let data = match split {
                Split::Train => session.train_set(),
                _ => session.test_set(),
            };
            match (data.feature_row(index), data.labels().get(index)) {
                (Some(row), Some(&own)) => (row.map(f64::from).collect(), Some(own as usize)),
                _ => {
                    return Reply::error(400, format!("no {} sample {index}", split.name()));
                }
            }
        }
        Split::Drawing => match session.drawing() {
            Some(input) => (input.iter().map(|&v| f64::from(v)).collect(), None),
            None => return Reply::error(400, NOTHING_DRAWN),
        },
    };
    let label = match label.or(true_label) {
        Some(label) => label,
        None => {
            let input: Vec<f32> = features.iter().map(|&v| v as f32).collect();
            match classify(session.mlp(), &input) {
                Some(classified) => classified.predicted,
                None => return Reply::error(400, "cannot classify the drawing"),
            }
        }
    };
    let images = session.images().is_some();
    let pixels = images.then(|| features.clone());
    let name = split.name();
    let Some(graph) = d2l_graph_of(session.mlp(), features, label, backward) else {
        return Reply::error(400, format!("cannot evaluate {name} sample {index}"));
    };
    let mut reply = json!({
        "split": name,
        "index": if split == Split::Drawing { Value::Null } else { json!(index) },
        "label": label,
        "true_label": true_label,
    });
    if let Some(pixels) = pixels {
        reply["input_image"] = json!({ "rows": MNIST_SIDE, "cols": MNIST_SIDE, "pixels": pixels });
        reply["probabilities"] = json!(graph.probabilities);
    }
    reply["graph"] = json!(graph);
    Reply::json(&reply)
}

/// The 400 of a drawing asked for before one was posted.
const NOTHING_DRAWN: &str =
    "nothing drawn yet: POST the drawing to /api/sessions/<id>/drawing?width=W&height=H first";

/// The `/drawing` reply: the kept drawing as the network sees it, classified by the
/// current weights.
fn drawing_reply(session: &Session) -> Reply {
    let Some(input) = session.drawing() else {
        return Reply::error(400, NOTHING_DRAWN);
    };
    let Some(classified) = classify(session.mlp(), input) else {
        return Reply::error(400, "cannot classify the drawing");
    };
    let classes = session
        .images()
        .map_or(Vec::new(), |set| set.classes().to_vec());
    Reply::json(&json!({
        "input": input,
        "probabilities": classified.probabilities,
        "predicted": classified.predicted,
        "classes": classes,
        "step": session.steps(),
    }))
}

/// Both runs of comparison `id` under one lock: the same step in each (see
/// [`super::comparison`]).
fn comparison_status(runner: &SessionRunner, id: u64) -> Value {
    let state = runner.lock();
    let first = &state.session;
    let runs: Vec<_> = std::iter::once(first)
        .chain(state.partner.as_ref())
        .zip(RUN_NAMES)
        .map(|(session, name)| run_status(name, session))
        .collect();
    let same = state
        .partner
        .as_ref()
        .is_some_and(|b| shares_initial_weights(first.settings(), b.settings()));
    let histories: Vec<_> = runs.iter().map(|run| run.history).collect();
    json!({
        "id": id,
        "steps": first.steps(),
        "epoch": first.epoch(),
        "playing": state.playing,
        "same_initial_weights": same,
        "history_axes": HistoryAxes::of(&histories, COMPARISON_STEP_TICKS),
        "runs": runs,
    })
}

fn status(runner: &SessionRunner, id: u64) -> Value {
    let state = runner.lock();
    let session = &state.session;
    json!({
        "id": id,
        "mode": if session.images().is_some() { "images" } else { "points" },
        "settings": session.settings().to_query(),
        "steps": session.steps(),
        "epoch": session.epoch(),
        "playing": state.playing,
        "pace": session.settings().pace.to_string(),
        "diverged": session.diverged(),
        "history": session.history(),
        "history_axes": HistoryAxes::of(&[session.history()], SESSION_STEP_TICKS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_with_another_method_is_a_405_with_allow() {
        let registry = Registry::default();
        let reply = route(&registry, "PUT", "/api/sessions/1/status");
        assert_eq!((reply.status, reply.allow), (405, Some("GET")));
        let reply = route(&registry, "GET", "/api/sessions");
        assert_eq!((reply.status, reply.allow), (405, Some("POST")));
        let reply = route(&registry, "DELETE", "/playground.css");
        assert_eq!((reply.status, reply.allow), (405, Some("GET")));
        assert_eq!(route(&registry, "PUT", "/api/nothing").status, 404);
        assert_eq!(route(&registry, "GET", "/api/sessions/1/fly").status, 404);
        assert_eq!(route(&registry, "GET", "/").allow, None);
    }

    #[test]
    fn each_action_reads_its_parameters_once_and_steps_on_the_training_thread() {
        let registry = Registry::default();
        let created = route(&registry, "POST", "/api/sessions?points=40&batch=8");
        let id: Value = serde_json::from_str(&created.body).unwrap();
        let id = id["id"].as_u64().unwrap();
        let reply = route(
            &registry,
            "POST",
            &format!("/api/sessions/{id}/step?count=7"),
        );
        let status: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(status["steps"], 7);
        let (train_points, test_points) = registry.get(id).unwrap().split_sizes();
        for (method, path, words) in [
            (
                "POST",
                "step?count=1001".to_string(),
                "count=\"1001\"; expected an integer from 1 to 1000".to_string(),
            ),
            (
                "GET",
                "heatmap?resolution=1".to_string(),
                "resolution=\"1\"; expected an integer from 2".to_string(),
            ),
            (
                "GET",
                format!("graph?split=test&index={test_points}"),
                format!("(the test set has {test_points} points)"),
            ),
            (
                "GET",
                "graph?index=x".to_string(),
                format!("(the train set has {train_points} points)"),
            ),
            (
                "GET",
                "network?x=1".to_string(),
                "unknown parameter \"x\" for network; expected: none".to_string(),
            ),
            (
                "GET",
                "graph?x=1".to_string(),
                "expected: split, index, backward".to_string(),
            ),
            (
                "GET",
                "graph?backward=yes".to_string(),
                "backward=\"yes\"; expected true or false".to_string(),
            ),
        ] {
            let reply = route(&registry, method, &format!("/api/sessions/{id}/{path}"));
            assert_eq!(reply.status, 400, "{path}");
            let body: Value = serde_json::from_str(&reply.body).unwrap();
            let message = body["error"].as_str().unwrap();
            assert!(message.contains(&words), "{path}: {message}");
        }
        let last = test_points - 1;
        let reply = route(
            &registry,
            "GET",
            &format!("/api/sessions/{id}/graph?split=test&index={last}"),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}
