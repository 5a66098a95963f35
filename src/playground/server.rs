//! The HTTP server: hyper's HTTP/1.1 on a tokio runtime of one thread, on a listener the
//! caller bound. Each request passes the [`Access`] rules (Host and Origin), then its body
//! (only a drawing has one) is read within [`MAX_BODY_BYTES`] ([`MAX_DRAWING_BYTES`] for
//! `/drawing`) and [`BODY_TIMEOUT`], then [`route_request`] answers it on tokio's blocking
//! pool, so a slow route never holds up another connection. Training runs on the sessions' own threads ([`super::runner`]).
//!
//! Every size and time a client controls is bounded: the request line and headers by
//! [`MAX_HEAD_BYTES`] (431 beyond; hyper reads no more than that) and [`MAX_HEADERS`], their
//! arrival by [`HEADER_TIMEOUT`] (which also closes idle keep-alive connections), the body by
//! [`MAX_BODY_BYTES`] or [`MAX_DRAWING_BYTES`] (413, without reading a larger declared body) and [`BODY_TIMEOUT`]
//! (408), a connection that moves no byte while no request is being answered by
//! [`STALL_TIMEOUT`], and the open connections by [`MAX_CONNECTIONS`] (503 beyond).

use super::access::Access;
use super::drawing::MAX_DRAWING_BYTES;
use super::images::ImageSet;
use super::registry::Registry;
use super::routes::{route_request, takes_drawing, Reply};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, HOST, ORIGIN};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// The most bytes of request line and headers read for one request (431 beyond).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The most header fields in one request (431 beyond).
pub const MAX_HEADERS: usize = 64;
/// The largest request body accepted (413 beyond) but on `/drawing` (which takes
/// [`MAX_DRAWING_BYTES`]): the API reads its parameters from the query string, so a page
/// sends no other body.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// How long a client has to send a request's line and headers, from the first moment the
/// server waits for them; an idle keep-alive connection is closed after it too.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client has to send a request's body (408 beyond).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection may move no byte while none of its requests is being answered
/// (a client that does not read its reply) before it is closed.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The most connections open at once; one more gets a 503 and is closed.
pub const MAX_CONNECTIONS: usize = 64;
/// How often each connection is checked for a stall.
const STALL_CHECK: Duration = Duration::from_secs(1);
/// How long a closing connection may take to finish its reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long stopping the server waits for routes still running.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// After a failed `accept` (out of file descriptors), the pause before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// The whole answer to a connection beyond [`MAX_CONNECTIONS`].
const BUSY_REPLY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 52\r\n\r\n{\"error\": \"too many connections; try again shortly\"}";

/// A running playground server; [`PlaygroundServer::shutdown`] (or dropping it) stops it.
pub struct PlaygroundServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What every connection shares.
struct Shared {
    registry: Registry,
    access: Access,
}

impl PlaygroundServer {
    /// Starts serving on `listener` (bind it to port 0 for any free port). Host names are
    /// checked when it is bound to a loopback address (see [`Access`]).
    pub fn start(listener: std::net::TcpListener) -> io::Result<PlaygroundServer> {
        Self::start_offering(listener, None)
    }

    /// [`PlaygroundServer::start`], offering the sessions `images` (shared by all of them)
    /// besides the 2-D datasets.
    pub fn start_offering(
        listener: std::net::TcpListener,
        images: Option<Arc<ImageSet>>,
    ) -> io::Result<PlaygroundServer> {
        let address = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(MAX_CONNECTIONS)
            .thread_name("playground-route")
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            registry: Registry::offering(images),
            access: Access::for_address(address),
        });
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("playground-http".to_string())
            .spawn(move || {
                runtime.block_on(accept_connections(listener, shared, stopped));
                runtime.shutdown_timeout(SHUTDOWN_WAIT);
            })?;
        Ok(PlaygroundServer {
            address,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Blocks until the server stops (it does not stop by itself).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops answering, closes every connection and waits for the server's thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PlaygroundServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Accepts connections until `stopped`, each served on its own task while a permit of
/// [`MAX_CONNECTIONS`] is free.
async fn accept_connections(
    listener: TcpListener,
    shared: Arc<Shared>,
    stopped: oneshot::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut stopped = pin!(stopped);
    loop {
        let accepted = std::future::poll_fn(|cx| {
            if stopped.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            listener.poll_accept(cx).map(Some)
        })
        .await;
        match accepted {
            None => return,
            Some(Ok((stream, _peer))) => match Arc::clone(&permits).try_acquire_owned() {
                Ok(permit) => {
                    tokio::spawn(serve_connection(stream, Arc::clone(&shared), permit));
                }
                Err(_) => {
                    // Best effort, without waiting: the socket's buffer takes it at once.
                    let _ = stream.try_write(BUSY_REPLY);
                }
            },
            Some(Err(_)) => tokio::time::sleep(ACCEPT_BACKOFF).await,
        }
    }
}

/// Serves one connection with hyper's limits, and closes it when it stalls.
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, permit: OwnedSemaphorePermit) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        stream,
        activity: Arc::clone(&activity),
    });
    let for_requests = Arc::clone(&activity);
    let service =
        service_fn(move |request| answer(request, Arc::clone(&shared), Arc::clone(&for_requests)));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let mut connection = pin!(builder.serve_connection(io, service));
    loop {
        match tokio::time::timeout(STALL_CHECK, connection.as_mut()).await {
            Ok(_) => {
                drop(permit);
                return;
            }
            Err(_) if activity.stalled_for(STALL_TIMEOUT) => break,
            Err(_) => {}
        }
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(CLOSE_GRACE, connection).await;
    drop(permit);
}

/// Answers one request: access rules, body limits, then [`route_request`] on the blocking pool.
async fn answer(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    activity: Arc<Activity>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let _answering = activity.answering();
    let (parts, body) = request.into_parts();
    let header = |name| {
        parts
            .headers
            .get(name)
            .map(|value: &HeaderValue| value.to_str().unwrap_or("\u{fffd}"))
    };
    let method = parts.method.as_str().to_string();
    let hosts = parts.headers.get_all(HOST).iter().count();
    if hosts > 1 {
        let reply = Reply::error(
            400,
            format!("the request has {hosts} Host headers; it may have one"),
        );
        return Ok(response(reply, !body.is_end_stream()));
    }
    // A request in absolute form (`GET http://host/path`) names its host in the target, which
    // then stands in for the Host header (RFC 9112, section 3.2.2).
    let host = match parts.uri.authority() {
        Some(authority) => Some(authority.as_str()),
        None => header(HOST),
    };
    if let Err(reply) = shared.access.admit(&method, host, header(ORIGIN)) {
        return Ok(response(reply, !body.is_end_stream()));
    }
    // HEAD is answered as GET; hyper sends the head of the reply without its body.
    let method = if method == "HEAD" {
        "GET".to_string()
    } else {
        method
    };
    let limit = if takes_drawing(parts.uri.path()) {
        MAX_DRAWING_BYTES
    } else {
        MAX_BODY_BYTES
    };
    if body.size_hint().lower() > limit as u64 {
        return Ok(response(too_large(limit), true));
    }
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, limit).collect()).await
    {
        Err(_) => {
            let reply = Reply::error(
                408,
                format!(
                    "the request body did not arrive within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            );
            return Ok(response(reply, true));
        }
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Ok(response(too_large(limit), true));
        }
        Ok(Err(_)) => {
            return Ok(response(
                Reply::error(400, "the request body is malformed"),
                true,
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |target| target.as_str())
        .to_string();
    let routed = tokio::task::spawn_blocking(move || {
        route_request(&shared.registry, &method, &target, &bytes)
    });
    let reply = routed
        .await
        .unwrap_or_else(|_| Reply::error(500, "the request failed inside the server"));
    Ok(response(reply, false))
}

/// The 413 for a body over `limit` ([`MAX_BODY_BYTES`], or [`MAX_DRAWING_BYTES`] for a
/// drawing).
fn too_large(limit: usize) -> Reply {
    let why = if limit == MAX_DRAWING_BYTES {
        "a drawing is at most 280 x 280 grey bytes"
    } else {
        "the API takes its parameters in the URL"
    };
    Reply::error(
        413,
        format!("the request body is larger than {limit} bytes; {why}"),
    )
}

/// The HTTP response for `reply`; `close` ends the connection after it (the body was not
/// read to its end).
fn response(reply: Reply, close: bool) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Some(allow) = reply.allow {
        headers.insert(ALLOW, HeaderValue::from_static(allow));
    }
    if close {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// When a connection last moved a byte, and how many of its requests are being answered.
struct Activity {
    start: Instant,
    last_millis: AtomicU64,
    answering: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_millis: AtomicU64::new(0),
            answering: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_millis.store(now, Ordering::Relaxed);
    }

    /// Counts a request as being answered until the guard is dropped.
    fn answering(self: &Arc<Activity>) -> Answering {
        self.answering.fetch_add(1, Ordering::SeqCst);
        Answering(Arc::clone(self))
    }

    /// Whether no byte moved for `limit` while no request was being answered.
    fn stalled_for(&self, limit: Duration) -> bool {
        let idle = (self.start.elapsed().as_millis() as u64)
            .saturating_sub(self.last_millis.load(Ordering::Relaxed));
        self.answering.load(Ordering::SeqCst) == 0 && idle > limit.as_millis() as u64
    }
}

/// A request being answered (see [`Activity::answering`]).
struct Answering(Arc<Activity>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.touch();
        self.0.answering.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP stream that records in its [`Activity`] when bytes move.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
