//! The playground server against hostile clients: raw TCP sockets on loopback to a server
//! in this process. Lying and oversized `Content-Length`s, bodies left half sent, headers
//! sent slowly or of many megabytes, foreign `Host` and `Origin`, wrong methods, more
//! connections than the cap, and heavy training in parallel: each is a clean status (or a
//! closed connection), every other client is answered within a second meanwhile, the
//! server keeps serving afterwards, and the process's memory stays bounded.
//!
//! The tests take turns (one lock), so each one's timings and memory are its own.

mod common;

use backprop::data::{Dataset, Splits};
use backprop::playground::drawing::MAX_DRAWING_BYTES;
use backprop::playground::images::ImageSet;
use backprop::playground::server::{
    BODY_TIMEOUT, HEADER_TIMEOUT, MAX_BODY_BYTES, MAX_CONNECTIONS, MAX_HEAD_BYTES, STALL_TIMEOUT,
};
use backprop::playground::PlaygroundServer;
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One test at a time.
static TURN: Mutex<()> = Mutex::new(());
/// Every socket read and write gives up after this.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(20);
/// How long another client may wait for its reply while the server is under attack.
const PROMPT: Duration = Duration::from_secs(1);
/// How much the process may grow during one attack.
const MAX_GROWTH_KIB: u64 = 64 * 1024;

fn start() -> (
    std::sync::MutexGuard<'static, ()>,
    PlaygroundServer,
    SocketAddr,
) {
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let server = PlaygroundServer::start(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let address = server.address();
    (turn, server, address)
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(SOCKET_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(SOCKET_TIMEOUT)).unwrap();
    stream
}

/// A response read off a socket.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Reads one response (head, then a `Content-Length` body); `None` if the connection
/// closes (or is reset) before a whole head arrives.
fn read_response(stream: &mut TcpStream) -> Option<Response> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        assert!(bytes.len() < 64 * 1024, "a response head of over 64 KiB");
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return None,
            Err(error) => panic!("reading a response: {error}"),
        }
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).unwrap();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let mut response = Response {
        status,
        head,
        body: String::new(),
    };
    let length: usize = response
        .header("content-length")
        .map_or(0, |l| l.parse().unwrap());
    let mut body = bytes[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(error) => panic!("reading a body: {error}"),
        }
    }
    response.body = String::from_utf8(body).unwrap();
    Some(response)
}

/// Sends `request` on a new connection and reads the response.
fn exchange(address: SocketAddr, request: &str) -> Response {
    let mut stream = connect(address);
    stream.write_all(request.as_bytes()).unwrap();
    read_response(&mut stream).unwrap_or_else(|| panic!("no response to {request:?}"))
}

/// A well-formed request for `path` from the playground's own page.
fn request(address: SocketAddr, method: &str, path: &str) -> Response {
    request_with(address, method, path, &address.to_string(), &[])
}

/// A request for `path` (no body) naming `host` in its `Host` header, with `headers` (each
/// `"Name: value"`) added before `Connection: close`.
fn request_with(
    address: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    headers: &[&str],
) -> Response {
    let headers: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    exchange(
        address,
        &format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"),
    )
}

/// `request`, which must be answered 200 within [`PROMPT`].
fn prompt(address: SocketAddr, method: &str, path: &str) -> (Value, Duration) {
    let started = Instant::now();
    let response = request(address, method, path);
    let took = started.elapsed();
    assert_eq!(response.status, 200, "{method} {path}: {}", response.body);
    assert!(took < PROMPT, "{method} {path} took {took:?}");
    (response.json(), took)
}

/// The resident memory of this process, in KiB.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn assert_memory_bounded(before_kib: u64) {
    let after = resident_kib();
    assert!(
        after < before_kib + MAX_GROWTH_KIB,
        "the process grew from {before_kib} KiB to {after} KiB"
    );
}

/// The server closes `stream` (an end of stream or a reset, not a time-out).
fn assert_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    if let Err(error) = stream.read_to_end(&mut rest) {
        assert_eq!(
            error.kind(),
            ErrorKind::ConnectionReset,
            "not closed: {error}"
        );
    }
}

fn create_session(address: SocketAddr, query: &str) -> u64 {
    let response = request(address, "POST", &format!("/api/sessions?{query}"));
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["id"].as_u64().unwrap()
}

#[test]
fn lying_and_huge_content_lengths_are_refused_without_allocating_them() {
    let (_turn, _server, address) = start();
    let before = resident_kib();
    // More requests than any worker pool: none may take a thread or the process down.
    for round in 0..3 {
        for (length, status) in [
            ("1000000000000", 413),
            // Beyond hyper's largest length (2^64 - 3): refused by its parser.
            ("18446744073709551615", 431),
            (&(MAX_BODY_BYTES + 1).to_string(), 413),
        ] {
            let mut stream = connect(address);
            write!(
                stream,
                "POST /api/sessions HTTP/1.1\r\nHost: {address}\r\nContent-Length: {length}\r\n\r\nabc"
            )
            .unwrap();
            let response = read_response(&mut stream)
                .unwrap_or_else(|| panic!("round {round}: no answer to Content-Length {length}"));
            assert_eq!(
                response.status, status,
                "Content-Length {length}: {response:?}"
            );
            if status == 413 {
                assert!(response.json()["error"]
                    .as_str()
                    .unwrap()
                    .contains("larger than"));
            }
            // The connection is closed after the refusal, not left waiting for the body.
            assert_closed(&mut stream);
        }
    }
    // A chunked body that is larger than declared nothing: cut off at the cap.
    let mut stream = connect(address);
    write!(
        stream,
        "POST /api/sessions HTTP/1.1\r\nHost: {address}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = format!("1000\r\n{}\r\n", "a".repeat(0x1000));
    for _ in 0..(MAX_BODY_BYTES / 0x1000 + 2) {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let response = read_response(&mut stream).expect("an answer to an endless chunked body");
    assert_eq!(response.status, 413);
    // A small body is read and ignored: the API takes its parameters from the URL.
    let response = exchange(
        address,
        &format!("POST /api/sessions?points=40&batch=8 HTTP/1.1\r\nHost: {address}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    prompt(address, "GET", "/api/defaults");
    assert_memory_bounded(before);
}

#[test]
fn bodies_and_headers_left_half_sent_are_dropped_and_block_no_one() {
    let (_turn, _server, address) = start();
    let id = create_session(address, "points=40&batch=8");
    let mut half_bodies: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = connect(address);
            write!(
                stream,
                "POST /api/sessions/{id}/step HTTP/1.1\r\nHost: {address}\r\nContent-Length: 100\r\n\r\n0123456789"
            )
            .unwrap();
            stream
        })
        .collect();
    let mut half_heads: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = connect(address);
            write!(
                stream,
                "GET /api/defaults HTTP/1.1\r\nHost: {address}\r\nX-Slow: a"
            )
            .unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    // Meanwhile every other client is answered at once.
    for _ in 0..5 {
        prompt(address, "GET", "/api/defaults");
        prompt(address, "GET", &format!("/api/sessions/{id}/status"));
        std::thread::sleep(Duration::from_millis(100));
    }
    for stream in &mut half_bodies {
        let response = read_response(stream).expect("a 408 for a body that never arrives");
        assert_eq!(response.status, 408, "{}", response.body);
        assert_closed(stream);
    }
    for stream in &mut half_heads {
        // hyper closes a connection whose head does not arrive in time, without a reply.
        assert!(read_response(stream).is_none(), "a reply to half a head");
    }
    let took = started.elapsed();
    let limit = BODY_TIMEOUT.max(HEADER_TIMEOUT) + Duration::from_secs(3);
    assert!(
        took < limit,
        "the half-sent requests were dropped after {took:?}"
    );
    // The half-sent steps never ran.
    let (status, _) = prompt(address, "GET", &format!("/api/sessions/{id}/status"));
    assert_eq!(status["steps"], 0);
}

#[test]
fn a_header_of_megabytes_is_refused_after_a_few_kilobytes() {
    let (_turn, _server, address) = start();
    let before = resident_kib();
    let mut stream = connect(address);
    write!(
        stream,
        "GET /api/defaults HTTP/1.1\r\nHost: {address}\r\nX-Big: "
    )
    .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    const MOST_CHUNKS: usize = 512; // 32 MiB: more than the kernel buffers on loopback
    let mut sent = 0;
    let mut refused = false;
    for _ in 0..MOST_CHUNKS {
        if stream.write_all(&chunk).is_err() {
            refused = true;
            break;
        }
        sent += chunk.len();
    }
    assert!(
        refused,
        "the server read all {sent} bytes of one header line"
    );
    // The 431 may be lost when the connection is reset under the unread rest; if it
    // arrives, it is a 431.
    if let Some(response) = read_response(&mut stream) {
        assert_eq!(response.status, 431, "{response:?}");
    }
    // The same for a head of many small headers, and for a long request line.
    let many = format!(
        "GET /api/defaults HTTP/1.1\r\nHost: {address}\r\n{}\r\n",
        "X-A: b\r\n".repeat(MAX_HEAD_BYTES / 8 + 10)
    );
    assert_eq!(exchange(address, &many).status, 431);
    let long_line = format!(
        "GET /api/sessions?{} HTTP/1.1\r\nHost: {address}\r\n\r\n",
        "a".repeat(MAX_HEAD_BYTES + 1)
    );
    assert_eq!(exchange(address, &long_line).status, 431);
    prompt(address, "GET", "/api/defaults");
    assert_memory_bounded(before);
}

#[test]
fn foreign_hosts_and_origins_are_403s() {
    let (_turn, _server, address) = start();
    let port = address.port();
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_string(),
        format!("localhost.evil.example:{port}"),
        format!("192.168.1.5:{port}"),
    ] {
        let response = request_with(address, "GET", "/", &host, &[]);
        assert_eq!(response.status, 403, "Host {host}");
        let message = response.json()["error"].as_str().unwrap().to_string();
        assert!(
            message.contains("is not served") && !message.contains('\n'),
            "{message}"
        );
    }
    for host in [
        format!("localhost:{port}"),
        "localhost".to_string(),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let response = request_with(address, "GET", "/api/defaults", &host, &[]);
        assert_eq!(response.status, 200, "Host {host}");
    }
    // A cross-site form or script cannot create or drive a session.
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://localhost:{port}"),
    ] {
        let response = request_with(
            address,
            "POST",
            "/api/sessions",
            &address.to_string(),
            &[&format!("Origin: {origin}")],
        );
        assert_eq!(response.status, 403, "Origin {origin}");
        assert!(response.json()["error"]
            .as_str()
            .unwrap()
            .contains("refused"));
    }
    let missing = request(address, "GET", "/api/sessions/0/status");
    assert_eq!(
        missing.status, 404,
        "no session was created: {}",
        missing.body
    );
    let response = request_with(
        address,
        "POST",
        "/api/sessions?points=40&batch=8",
        &address.to_string(),
        &[&format!("Origin: http://{address}")],
    );
    assert_eq!(
        response.status, 200,
        "the page's own origin: {}",
        response.body
    );
    let id = response.json()["id"].as_u64().unwrap();
    let response = request_with(
        address,
        "POST",
        &format!("/api/sessions/{id}/play"),
        &address.to_string(),
        &["Origin: http://evil.example"],
    );
    assert_eq!(response.status, 403);
    let (status, _) = prompt(address, "GET", &format!("/api/sessions/{id}/status"));
    assert_eq!(status["playing"], false);
}

#[test]
fn a_second_host_header_or_a_foreign_absolute_target_is_refused_and_head_is_answered() {
    let (_turn, _server, address) = start();
    // Two Host headers, the served one first: a 400, whatever the second says.
    let response = exchange(
        address,
        &format!(
            "GET /api/defaults HTTP/1.1\r\nHost: {address}\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(response.json()["error"]
        .as_str()
        .unwrap()
        .contains("2 Host headers"));
    // A target in absolute form names the host that is checked, not the Host header.
    let response = exchange(
        address,
        &format!(
            "GET http://evil.example/api/defaults HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(response.status, 403, "{}", response.body);
    let response = exchange(
        address,
        &format!(
            "GET http://{address}/api/defaults HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    // HEAD: the head of the GET reply, with its length, and no body.
    for path in ["/", "/api/defaults"] {
        let get = request(address, "GET", path);
        let mut stream = connect(address);
        stream
            .write_all(
                format!("HEAD {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "HEAD {path}: {head}");
        assert_eq!(body, "", "HEAD {path} sent a body");
        let length = format!("content-length: {}", get.body.len());
        assert!(
            head.to_ascii_lowercase().contains(&length),
            "HEAD {path}: {head}"
        );
    }
}

#[test]
fn a_known_path_with_another_method_is_a_405_naming_the_allowed_one() {
    let (_turn, _server, address) = start();
    let id = create_session(address, "points=40&batch=8");
    for (method, path, allowed) in [
        ("PUT", format!("/api/sessions/{id}/status"), "GET"),
        ("DELETE", format!("/api/sessions/{id}/status"), "GET"),
        ("GET", format!("/api/sessions/{id}/play"), "POST"),
        ("GET", format!("/api/sessions/{id}/step?count=5"), "POST"),
        ("GET", "/api/sessions".to_string(), "POST"),
        ("POST", "/api/defaults".to_string(), "GET"),
        ("POST", "/".to_string(), "GET"),
        ("PATCH", "/playground.js".to_string(), "GET"),
    ] {
        let response = request_with(
            address,
            method,
            &path,
            &address.to_string(),
            &["Content-Length: 0"],
        );
        assert_eq!(response.status, 405, "{method} {path}: {}", response.body);
        assert_eq!(response.header("allow"), Some(allowed), "{method} {path}");
        assert!(response.json()["error"].as_str().unwrap().contains(method));
    }
    let (status, _) = prompt(address, "GET", &format!("/api/sessions/{id}/status"));
    assert_eq!(status["steps"], 0, "a GET of /step made no step");
    assert_eq!(request(address, "PUT", "/nothing").status, 404);
    assert_eq!(
        request(address, "GET", &format!("/api/sessions/{id}/fly")).status,
        404
    );
}

#[test]
fn connections_beyond_the_cap_get_a_503_and_the_server_recovers() {
    let (_turn, _server, address) = start();
    let mut open: Vec<TcpStream> = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        let mut stream = connect(address);
        // One complete request each, so every connection is surely accepted and counted.
        write!(
            stream,
            "GET /api/defaults HTTP/1.1\r\nHost: {address}\r\n\r\n"
        )
        .unwrap();
        assert_eq!(read_response(&mut stream).unwrap().status, 200);
        open.push(stream);
    }
    // The server answers the connection beyond the cap at once (before it sends anything,
    // so the reply is not lost to a reset) and closes it.
    let mut extra = connect(address);
    let refused = read_response(&mut extra).expect("a 503 for one connection too many");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("too many connections"));
    drop(open);
    // The server sees the closes and frees the places; bounded retries.
    let started = Instant::now();
    loop {
        let response = request(address, "GET", "/api/defaults");
        if response.status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still {}",
            response.status
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn heavy_steps_and_play_on_other_sessions_delay_no_reply() {
    let (_turn, _server, address) = start();
    let before = resident_kib();
    const HEAVY: &str = "points=4000&batch=1024&hidden=64,64,64";
    const COUNT: u64 = 300;
    let playing = create_session(address, HEAVY);
    let stepped: Vec<u64> = (0..4).map(|_| create_session(address, HEAVY)).collect();
    let light = create_session(address, "points=40&batch=8");
    prompt(address, "POST", &format!("/api/sessions/{playing}/play"));
    let steppers: Vec<_> = stepped
        .iter()
        .map(|&id| {
            std::thread::spawn(move || {
                let response = request(
                    address,
                    "POST",
                    &format!("/api/sessions/{id}/step?count={COUNT}"),
                );
                assert_eq!(response.status, 200, "{}", response.body);
                response.json()
            })
        })
        .collect();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut polls = 0;
    let mut play_steps = Vec::new();
    // Poll while the four step requests run (bounded in time and count).
    while polls < 20 || !steppers.iter().all(|s| s.is_finished()) {
        assert!(
            polls < 2000 && started.elapsed() < Duration::from_secs(300),
            "the steps never finished"
        );
        let (status, took) = prompt(address, "GET", &format!("/api/sessions/{playing}/status"));
        assert_eq!(status["playing"], true);
        play_steps.push(status["steps"].as_u64().unwrap());
        slowest = slowest.max(took);
        slowest = slowest.max(prompt(address, "GET", &format!("/api/sessions/{light}/status")).1);
        slowest = slowest.max(prompt(address, "GET", "/api/defaults").1);
        polls += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    for stepper in steppers {
        let status = stepper.join().unwrap();
        assert_eq!(
            status["steps"], COUNT,
            "after the reply the session has made its steps"
        );
        assert_eq!(status["playing"], false);
        assert_eq!(
            status["history"].as_array().unwrap().last().unwrap()["step"],
            COUNT
        );
    }
    assert!(
        play_steps.last() > play_steps.first(),
        "the playing session trained meanwhile: {play_steps:?}"
    );
    let (paused, _) = prompt(address, "POST", &format!("/api/sessions/{playing}/pause"));
    assert_eq!(paused["playing"], false);
    // The light session steps at once, as before.
    let (status, _) = prompt(
        address,
        "POST",
        &format!("/api/sessions/{light}/step?count=3"),
    );
    assert_eq!(status["steps"], 3);
    eprintln!("{polls} polls while stepping; the slowest reply took {slowest:?}");
    assert_memory_bounded(before);
}

#[test]
fn step_requests_sent_in_bulk_and_abandoned_stall_no_one() {
    let (_turn, _server, address) = start();
    let before = resident_kib();
    let heavy = create_session(address, "points=4000&batch=1024&hidden=64,64,64,64,64,64");
    let light = create_session(address, "points=40&batch=8");
    // Each asks for many steps on the same session, so each would wait behind the others'
    // for the whole patience; the clients hang up without reading.
    let abandoned: Vec<TcpStream> = (0..MAX_CONNECTIONS + 6)
        .map(|_| {
            let mut stream = connect(address);
            let request = format!(
                "POST /api/sessions/{heavy}/step?count=1000 HTTP/1.1\r\nHost: {address}\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    drop(abandoned);
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..5 {
        prompt(address, "GET", "/api/defaults");
        prompt(address, "GET", &format!("/api/sessions/{light}/status"));
        let (status, _) = prompt(
            address,
            "POST",
            &format!("/api/sessions/{light}/step?count=2"),
        );
        assert!(status["steps"].as_u64().unwrap() >= 2);
    }
    // The heavy session still has its steps queued and answers its own status promptly.
    prompt(address, "GET", &format!("/api/sessions/{heavy}/status"));
    prompt(address, "POST", &format!("/api/sessions/{heavy}/reset"));
    assert_memory_bounded(before);
}

#[test]
fn a_client_that_never_reads_its_replies_is_cut_off() {
    let (_turn, _server, address) = start();
    let script = request(address, "GET", "/playground.js");
    assert_eq!(script.status, 200);
    // Pipelined requests whose replies (tens of megabytes) never fit the socket buffers.
    const REQUESTS: usize = 2000;
    let all_replies = REQUESTS * script.body.len();
    let mut stream = connect(address);
    let one = format!("GET /playground.js HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream.write_all(one.repeat(REQUESTS).as_bytes()).unwrap();
    // Meanwhile others are served; then the stalled connection is closed.
    let started = Instant::now();
    let limit = STALL_TIMEOUT + Duration::from_secs(5);
    while started.elapsed() < limit {
        prompt(address, "GET", "/api/defaults");
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut received = 0;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => break,
            Err(error) => panic!("the stalled connection was not closed: {error}"),
        }
        assert!(
            received < all_replies,
            "every reply was sent: the connection stayed open"
        );
    }
    assert!(
        received < all_replies / 2,
        "{received} of {all_replies} bytes"
    );
}

/// A server that also offers 28 x 28 "digits" ([`common::bar_digits`]) as `dataset=digits`.
fn start_with_images() -> (
    std::sync::MutexGuard<'static, ()>,
    PlaygroundServer,
    SocketAddr,
) {
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let images = |count, seed| {
        let (pixels, labels) = common::bar_digits(count, seed);
        Dataset::from_images(pixels, labels, 28, 28).unwrap()
    };
    let splits = Splits {
        train: images(300, 1),
        test: Some(images(100, 2)),
    };
    let set = ImageSet::new("digits", "Digits", splits, false).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = PlaygroundServer::start_offering(listener, Some(Arc::new(set))).unwrap();
    let address = server.address();
    (turn, server, address)
}

/// `POST path` declaring `Content-Length: declared` and sending `body`.
fn post_body(address: SocketAddr, path: &str, declared: usize, body: &[u8]) -> TcpStream {
    let mut stream = connect(address);
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream.write_all(body).unwrap();
    stream
}

/// The one-line error of a 400 to `method path` (sent without a body).
fn refused(address: SocketAddr, method: &str, path: &str) -> String {
    let response = request(address, method, path);
    assert_eq!(response.status, 400, "{method} {path}: {}", response.body);
    let message = response.json()["error"].as_str().unwrap().to_string();
    assert!(!message.contains('\n'), "{message}");
    message
}

#[test]
fn drawings_of_the_wrong_size_or_a_lying_length_are_refused_and_block_no_one() {
    let (_turn, _server, address) = start_with_images();
    let before = resident_kib();
    let id = create_session(address, "dataset=digits&hidden=8&batch=16");
    let path = |query: &str| format!("/api/sessions/{id}/drawing?{query}");
    for (query, length, words) in [
        (
            "width=10&height=10",
            50,
            "has 50 bytes; width=10 and height=10 need exactly 100",
        ),
        ("width=10&height=10", 150, "need exactly 100"),
        ("width=10&height=10", 0, "has 0 bytes"),
        (
            "width=281&height=10",
            2810,
            "width=\"281\"; expected an integer from 8 to 280",
        ),
        (
            "width=10&height=7",
            70,
            "height=\"7\"; expected an integer from 8 to 280",
        ),
        ("width=ten&height=10", 100, "width=\"ten\""),
        ("width=-10&height=10", 100, "width=\"-10\""),
        (
            "width=99999999999999999999999&height=10",
            100,
            "from 8 to 280",
        ),
        ("height=10", 100, "width is missing"),
        (
            "width=10&height=10&depth=3",
            100,
            "unknown parameter \"depth\"",
        ),
    ] {
        let mut stream = post_body(address, &path(query), length, &vec![255u8; length]);
        let response = read_response(&mut stream).expect("an answer");
        assert_eq!(
            response.status, 400,
            "{query} ({length} bytes): {}",
            response.body
        );
        let message = response.json()["error"].as_str().unwrap().to_string();
        assert!(message.contains(words), "{query}: {message}");
    }
    // Every pixel 0: nothing drawn.
    let mut stream = post_body(address, &path("width=10&height=10"), 100, &[0u8; 100]);
    let response = read_response(&mut stream).unwrap();
    assert_eq!(response.status, 400);
    assert!(response.json()["error"].as_str().unwrap().contains("empty"));
    // A drawing-sized body is refused on every other route: their limit stays small.
    for declared in [MAX_DRAWING_BYTES + 1, 1_000_000_000_000] {
        let mut stream = post_body(address, &path("width=280&height=280"), declared, b"abc");
        let response = read_response(&mut stream).unwrap();
        assert_eq!(response.status, 413, "Content-Length {declared}");
        assert_closed(&mut stream);
    }
    let mut stream = post_body(
        address,
        &format!("/api/sessions/{id}/step"),
        MAX_DRAWING_BYTES,
        b"abc",
    );
    assert_eq!(read_response(&mut stream).unwrap().status, 413);
    // The largest drawing is read and framed.
    let mut largest = vec![0u8; MAX_DRAWING_BYTES];
    largest[280 * 140 + 140] = 255;
    let mut stream = post_body(
        address,
        &path("width=280&height=280"),
        largest.len(),
        &largest,
    );
    let response = read_response(&mut stream).unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    // Bodies that claim more than they send are dropped after the body time-out, while
    // everyone else is answered at once.
    let started = Instant::now();
    let mut liars: Vec<TcpStream> = (0..4)
        .map(|_| {
            post_body(
                address,
                &path("width=100&height=100"),
                10_000,
                &[255u8; 100],
            )
        })
        .collect();
    for _ in 0..5 {
        prompt(address, "GET", &format!("/api/sessions/{id}/drawing"));
        prompt(address, "GET", &format!("/api/sessions/{id}/status"));
        std::thread::sleep(Duration::from_millis(100));
    }
    for stream in &mut liars {
        let response = read_response(stream).expect("a 408 for a body that never arrives");
        assert_eq!(response.status, 408, "{}", response.body);
    }
    assert!(started.elapsed() < BODY_TIMEOUT + Duration::from_secs(3));
    prompt(address, "GET", "/api/defaults");
    assert_memory_bounded(before);
}

#[test]
fn image_views_refuse_huge_non_numeric_and_misplaced_parameters() {
    let (_turn, _server, address) = start_with_images();
    let id = create_session(address, "dataset=digits&hidden=8&batch=16");
    let points = create_session(address, "points=40&batch=8");
    for (path, words) in [
        (
            "units?limit=0",
            "limit=\"0\"; expected an integer from 1 to 256",
        ),
        ("units?limit=257", "from 1 to 256"),
        ("units?limit=18446744073709551616", "from 1 to 256"),
        ("units?limit=many", "limit=\"many\""),
        ("examples?actual=1&predicted=2&limit=65", "from 1 to 64"),
        ("examples?actual=1&predicted=2&limit=-1", "limit=\"-1\""),
        (
            "examples?actual=1&predicted=2&offset=101",
            "from 0 to 100 (the held-out split has 100 images)",
        ),
        (
            "examples?actual=1&predicted=2&offset=99999999999999999999999",
            "offset=",
        ),
        (
            "examples?actual=x&predicted=2",
            "actual=\"x\"; expected an integer from 0 to 9",
        ),
        ("examples?actual=1&predicted=10", "predicted=\"10\""),
        ("examples?predicted=1", "actual is missing"),
        (
            "examples?actual=1&predicted=2&colour=red",
            "unknown parameter \"colour\"",
        ),
        ("graph?split=drawing", "nothing drawn yet"),
        (
            "graph?split=test&label=10",
            "label=\"10\"; expected an integer from 0 to 9",
        ),
        ("graph?split=test&label=one", "label=\"one\""),
        (
            "graph?split=test&index=100",
            "(the test set has 100 points)",
        ),
        ("graph?split=validation", "expected train, test or drawing"),
        ("drawing", "nothing drawn yet"),
        (
            "confusion?split=train",
            "unknown parameter \"split\" for confusion",
        ),
        ("heatmap", "this session trains on images"),
        ("points", "this session trains on images"),
        ("neuron?layer=1&unit=0", "this session trains on images"),
    ] {
        let message = refused(address, "GET", &format!("/api/sessions/{id}/{path}"));
        assert!(message.contains(words), "{path}: {message}");
    }
    // Image views of a session on 2-D points.
    for (method, path) in [
        ("GET", "units"),
        ("GET", "confusion"),
        ("GET", "examples?actual=0&predicted=0"),
        ("GET", "drawing"),
        ("POST", "drawing?width=10&height=10"),
        ("GET", "graph?split=drawing"),
    ] {
        let message = refused(address, method, &format!("/api/sessions/{points}/{path}"));
        assert_eq!(
            message,
            "this session trains on 2-D points; start the server with --dataset to use images",
            "{path}"
        );
    }
    // Settings beyond the image caps, and 2-D keys in image mode.
    for (query, words) in [
        ("dataset=digits&hidden=257", "widths from 1 to 256"),
        ("dataset=digits&hidden=8,8,8,8", "up to 3"),
        ("dataset=digits&batch=513", "from 1 to 512"),
        (
            "dataset=digits&batch=400",
            "larger than the 300 training images",
        ),
        ("dataset=digits&noise=0.1", "applies to the 2-D datasets"),
        (
            "dataset=mnist",
            "one of spiral, circles, xor, blobs, digits",
        ),
    ] {
        let message = refused(address, "POST", &format!("/api/sessions?{query}"));
        assert!(message.contains(words), "{query}: {message}");
    }
    // A comparison on the images: refused for what it is, not as an unknown dataset.
    let message = refused(
        address,
        "POST",
        "/api/comparisons?a=dataset%3Ddigits&b=dataset%3Dspiral",
    );
    assert_eq!(
        message,
        "a: a comparison trains on the 2-D datasets (spiral, circles, xor, blobs), not on the images"
    );
    let response = request(address, "DELETE", &format!("/api/sessions/{id}/drawing"));
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, POST"));
    prompt(address, "GET", &format!("/api/sessions/{id}/confusion"));
}

#[test]
fn serve_with_a_missing_corrupt_or_unreachable_dataset_exits_with_one_line() {
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::write(
        corrupt.join("train-images-idx3-ubyte"),
        b"not an IDX file at all",
    )
    .unwrap();
    std::fs::write(
        corrupt.join("train-labels-idx1-ubyte"),
        [0u8, 0, 8, 1, 0, 0, 0, 1, 3],
    )
    .unwrap();
    common::image_folder(dir.path(), "small", 40, 10, 3);
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    for (args, code, words) in [
        (
            vec!["--dataset", "nowhere"],
            2,
            "is neither a dataset name nor an existing folder",
        ),
        (vec!["--dataset", "corrupt"], 1, "train-images-idx3-ubyte"),
        (vec!["--dataset", "small"], 1, "takes 28x28 images"),
        (
            vec!["--dataset", "spiral"],
            2,
            "always offers the 2-D datasets",
        ),
        (vec!["--data-dir", "x"], 2, "--dataset"),
        (
            vec!["--host", "example.com"],
            2,
            "'example.com' is not an IP address; give one such as 127.0.0.1 (or localhost), ::1 or 0.0.0.0",
        ),
    ] {
        let mut all = vec!["serve", "--port", "0"];
        all.extend(&args);
        let output = common::backprop_within(dir.path(), &all, Duration::from_secs(30));
        let stderr = common::stderr(&output);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert!(!common::stdout(&output).contains("playground:"), "{args:?}");
    }
    // Offline: the download's own one-line error.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(["serve", "--port", "0", "--dataset", "mnist"])
        .current_dir(dir.path())
        .env("BACKPROP_DATA", dir.path().join("cache"))
        .env("BACKPROP_MIRROR", format!("http://{closed}/"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = common::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot download train-images-idx3-ubyte.gz for mnist"),
        "{stderr}"
    );
}
