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
//! | GET | `/api/sessions/<id>/status` | steps, epoch, playing, pace, the loss and accuracy history |
//! | POST | `/api/sessions/<id>/play`, `/pause`, `/reset`, `/step?count=N` | controls |
//! | GET | `/api/sessions/<id>/points` | train and test points and the region shown |
//! | GET | `/api/sessions/<id>/heatmap?resolution=N` | the decision boundary |
//! | GET | `/api/sessions/<id>/network` | every weight and bias |
//! | GET | `/api/sessions/<id>/graph?split=train\|test&index=N&backward=true\|false` | the D2L network's graph for a sample |
//! | GET | `/api/sessions/<id>/neuron?layer=L&unit=U&resolution=N` | hidden unit `h_L[U]` over the plane, its weights |
//! | POST | `/api/comparisons?a=<settings>&b=<settings>` | two runs in lockstep ([`super::comparison`]): `{id, a, b, same_initial_weights}` |
//! | GET | `/api/comparisons/<id>/status` | both runs' steps and histories (`runs`) |
//! | POST | `/api/comparisons/<id>/play`, `/pause`, `/reset`, `/step?count=N` | controls for both runs |
//! | GET | `/api/comparisons/<id>/<a\|b>/points`, `heatmap`, `network`, `neuron`, `graph` | one run's views, as a session's |
//! | POST | `/api/sessions/<id>/pace?pace=N\|max` | steps per second while playing, without a reset |
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
use super::d2l_graph::d2l_graph;
use super::heatmap::{heatmap, labelled_points, Extent, MAX_RESOLUTION};
use super::network::network_weights;
use super::neuron::{neuron_output, MAX_NEURON_RESOLUTION};
use super::query::parse_query;
use super::registry::{Registry, MAX_COMPARISONS, MAX_SESSIONS};
use super::runner::{RunnerState, SessionRunner};
use super::session::Session;
use super::settings::{
    Pace, Settings, MAX_BATCH, MAX_HIDDEN_LAYERS, MAX_LAMBDA, MAX_LEARNING_RATE, MAX_NOISE,
    MAX_PACE, MAX_POINTS, MAX_WIDTH, MIN_PACE, MIN_POINTS, PACE_CHOICES,
};
use serde_json::{json, Value};
use std::time::Duration;

/// The most steps one `/step` request may ask for.
pub const MAX_STEPS_PER_REQUEST: u64 = 1000;
/// How long a `/step` request waits for its steps (made on the session's training thread)
/// before it answers with the state reached; the rest are still made afterwards.
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
}

/// Answers one request: 404 for an unknown path, 405 (with `Allow`) for a known path with
/// another method, 400 for a bad parameter.
pub fn route(registry: &Registry, method: &str, url: &str) -> Reply {
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
        ["api", "sessions", id, action] => match ACTIONS.iter().find(|a| a.name == *action) {
            Some(spec) => (Resource::Session(id, spec), spec.method),
            None => return Reply::error(404, format!("no such action: {action}")),
        },
        ["api", "comparisons"] => (Resource::Comparisons, "POST"),
        ["api", "comparisons", id, action] => match ACTIONS
            .iter()
            .find(|a| a.name == *action && COMPARISON_CONTROLS.contains(action))
        {
            Some(spec) => (Resource::Comparison(id, None, spec), spec.method),
            None => return Reply::error(404, format!("no such comparison action: {action} (one run's views are under /api/comparisons/<id>/a/ and /b/)")),
        },
        ["api", "comparisons", id, run, action] => match ACTIONS
            .iter()
            .find(|a| a.name == *action && !COMPARISON_CONTROLS.contains(action))
        {
            Some(spec) => (Resource::Comparison(id, Some(run), spec), spec.method),
            None => return Reply::error(404, format!("no such view of a comparison's run: {action}")),
        },
        _ => return Reply::error(404, format!("no such page: {path}")),
    };
    if method != allowed {
        return Reply::method_not_allowed(path, method, allowed);
    }
    match resource {
        Resource::Asset(content_type, body) => Reply::asset(content_type, body),
        Resource::Defaults => Reply::json(&defaults()),
        Resource::Sessions => create(registry, query),
        Resource::Session(id, spec) => {
            let Ok(id) = id.parse::<u64>() else {
                return Reply::error(400, format!("session id {id:?} is not a number"));
            };
            let Some(runner) = registry.get(id) else {
                return Reply::error(
                    404,
                    format!("no session {id} (the server keeps the {MAX_SESSIONS} most recently used; reload the page)"),
                );
            };
            match Action::parse(spec, query, runner.split_sizes()) {
                Ok(action) => action.run(&runner, id, Target::Session),
                Err(reply) => reply,
            }
        }
        Resource::Comparisons => create_comparison(registry, query),
        Resource::Comparison(id, run, spec) => {
            let Ok(id) = id.parse::<u64>() else {
                return Reply::error(400, format!("comparison id {id:?} is not a number"));
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
            match Action::parse(spec, query, runner.split_sizes()) {
                Ok(action) => action.run(&runner, id, target),
                Err(reply) => reply,
            }
        }
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
            "neuron_resolution": MAX_NEURON_RESOLUTION,
            "comparisons": MAX_COMPARISONS,
            "steps_per_request": MAX_STEPS_PER_REQUEST,
            "pace": [MIN_PACE, MAX_PACE],
            "pace_choices": PACE_CHOICES,
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
    /// Reads the (known) parameters into the action; `sizes` are the session's training
    /// and test points.
    read: fn(&Params, (usize, usize)) -> Result<Action, Reply>,
}

/// Every session action: one row each, the only place its parameters are named.
const ACTIONS: [ActionSpec; 11] = [
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
        read: |_, _| Ok(Action::Points),
    },
    ActionSpec {
        name: "heatmap",
        method: "GET",
        params: &["resolution"],
        read: |params, _| {
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
        params: &["split", "index", "backward"],
        read: |params, (train_points, test_points)| {
            let (split, points) = match params.get("split").unwrap_or("train") {
                "train" => (Split::Train, train_points),
                "test" => (Split::Test, test_points),
                other => {
                    return Err(Reply::error(
                        400,
                        format!("split={other:?}; expected train or test"),
                    ))
                }
            };
            let note = format!(" (the {} set has {points} points)", split.name());
            let index = params.integer_in("index", 0, 0, points.saturating_sub(1), &note)?;
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
            Ok(Action::Graph {
                split,
                index,
                backward,
            })
        },
    },
    ActionSpec {
        name: "neuron",
        method: "GET",
        params: &["layer", "unit", "resolution"],
        read: |params, _| {
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
];

/// Which split a graph is drawn for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    Train,
    Test,
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
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
    },
    Neuron {
        layer: usize,
        unit: usize,
        resolution: usize,
    },
    Pace {
        pace: Pace,
    },
}

impl Action {
    /// Reads `query` for the action `spec`, once: the pairs, then unknown names, then each
    /// value against its range (`sizes`: the session's training and test points).
    fn parse(spec: &ActionSpec, query: &str, sizes: (usize, usize)) -> Result<Action, Reply> {
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
        (spec.read)(&Params(params), sizes)
    }

    /// Carries the action out on session or comparison `id` and answers with its result:
    /// a view of `target`'s session, or the status.
    fn run(self, runner: &SessionRunner, id: u64, target: Target) -> Reply {
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
                runner.step(count, STEP_PATIENCE);
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
            } => {
                let state = runner.lock();
                let session = target.session(&state);
                let data = match split {
                    Split::Train => session.train_set(),
                    Split::Test => session.test_set(),
                };
                let split = split.name();
                return match d2l_graph(session.mlp(), data, index, backward) {
                    Some(graph) => Reply::json(&json!({
                        "split": split,
                        "index": index,
                        "graph": graph,
                    })),
                    None => Reply::error(400, format!("cannot evaluate {split} sample {index}")),
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
    json!({
        "id": id,
        "steps": first.steps(),
        "epoch": first.epoch(),
        "playing": state.playing,
        "same_initial_weights": same,
        "runs": runs,
    })
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
        "pace": session.settings().pace.to_string(),
        "diverged": session.diverged(),
        "history": session.history(),
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
