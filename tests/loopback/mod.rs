//! What the playground tests share: a JSON client for a server on loopback, with timeouts,
//! that returns every status instead of failing on 4xx.
#![allow(dead_code)]

use serde_json::Value;
use std::time::Duration;

/// An HTTP client for `http://127.0.0.1:<port>`.
pub struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    /// A client for the server at `base` (`http://127.0.0.1:1234`).
    pub fn new(base: impl Into<String>) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Client {
            agent,
            base: base.into(),
        }
    }

    /// `GET path`: the status and the body.
    pub fn get_text(&self, path: &str) -> (u16, String) {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    /// `GET path` (or `POST path` when `post`): the status and the JSON body.
    pub fn request(&self, post: bool, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut response = if post {
            self.agent.post(&url).send_empty()
        } else {
            self.agent.get(&url).call()
        }
        .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        (status, body)
    }

    /// `POST path` with `body` (raw bytes): the status and the JSON body.
    pub fn post_bytes(&self, path: &str, body: &[u8]) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut response = self
            .agent
            .post(&url)
            .send(body)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        (status, body)
    }

    /// `GET path`, which must answer 200.
    pub fn get(&self, path: &str) -> Value {
        let (status, body) = self.request(false, path);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// `POST path`, which must answer 200.
    pub fn post(&self, path: &str) -> Value {
        let (status, body) = self.request(true, path);
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }
}
