//! The HTTP server: `tiny_http` on a listener the caller bound, a few worker threads taking
//! requests from it, each answered by [`route`]. Training runs on the sessions' own threads,
//! so a request waits at most a few milliseconds for a session's lock.

use super::registry::Registry;
use super::routes::{route, Reply};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use tiny_http::{Header, Response, Server};

/// Threads answering requests.
pub const WORKERS: usize = 4;

/// A running playground server; [`PlaygroundServer::shutdown`] (or dropping it) stops it.
pub struct PlaygroundServer {
    server: Arc<Server>,
    address: SocketAddr,
    workers: Vec<JoinHandle<()>>,
}

impl PlaygroundServer {
    /// Starts serving on `listener` (bind it to port 0 for any free port).
    pub fn start(listener: TcpListener) -> std::io::Result<PlaygroundServer> {
        let address = listener.local_addr()?;
        let server = Server::from_listener(listener, None)
            .map_err(|error| std::io::Error::other(error.to_string()))?;
        let server = Arc::new(server);
        let registry = Arc::new(Registry::default());
        let workers = (0..WORKERS)
            .map(|i| {
                let server = Arc::clone(&server);
                let registry = Arc::clone(&registry);
                std::thread::Builder::new()
                    .name(format!("playground-http-{i}"))
                    .spawn(move || answer_requests(&server, &registry))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(PlaygroundServer {
            server,
            address,
            workers,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Blocks until the server stops (it does not stop by itself).
    pub fn wait(mut self) {
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }

    /// Stops answering and joins the workers.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Drop for PlaygroundServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer_requests(server: &Server, registry: &Registry) {
    while let Ok(request) = server.recv() {
        let reply = route(registry, request.method().as_str(), request.url());
        let _ = request.respond(response(reply));
    }
}

fn response(reply: Reply) -> Response<std::io::Cursor<Vec<u8>>> {
    let header = |name: &str, value: &str| {
        Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid ASCII header")
    };
    Response::from_string(reply.body)
        .with_status_code(reply.status)
        .with_header(header("Content-Type", reply.content_type))
        .with_header(header("Cache-Control", "no-store"))
}
