//! `backprop serve`: the local playground page (see [`backprop::playground`]).

use super::exit_status::UsageError;
use anyhow::{Context, Result};
use backprop::playground::PlaygroundServer;
use clap::Args;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

/// The port tried first when `--port` is not given.
pub const DEFAULT_PORT: u16 = 8020;
/// How many ports after [`DEFAULT_PORT`] are tried when it is taken.
pub const PORTS_TRIED: u16 = 20;

/// Flags of `backprop serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The port; 0 for any free one [default: 8020, or the next free one].
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// The address to listen on (0.0.0.0 for all).
    ///
    /// On loopback (the default) only `Host` names of this machine's loopback are served; any
    /// other address makes the playground reachable from other machines and serves any
    /// `Host`.
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1")]
    pub host: IpAddr,
}

/// Runs `backprop serve` until the process is stopped.
pub fn run(args: &ServeArgs) -> Result<bool> {
    let listener = bind(args)?;
    let server = PlaygroundServer::start(listener).context("cannot start the HTTP server")?;
    let address = server.address();
    let shown = if address.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
    } else {
        address
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "playground: http://{shown}/");
    if !address.ip().is_loopback() {
        let _ = writeln!(
            stdout,
            "note: listening on {address}, not loopback: anyone who can reach port {} can use the playground, under any host name",
            address.port()
        );
    }
    let _ = writeln!(stdout, "press Ctrl-C to stop");
    let _ = stdout.flush();
    drop(stdout);
    server.wait();
    Ok(true)
}

fn bind(args: &ServeArgs) -> Result<TcpListener> {
    match args.port {
        Some(port) => TcpListener::bind((args.host, port)).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AddrNotAvailable {
                UsageError(format!(
                    "--host {}: not an address of this machine",
                    args.host
                ))
                .into()
            } else {
                anyhow::anyhow!("cannot listen on {}:{port}: {error}", args.host)
            }
        }),
        None => {
            let mut last_error = None;
            for port in DEFAULT_PORT..DEFAULT_PORT + PORTS_TRIED {
                match TcpListener::bind((args.host, port)) {
                    Ok(listener) => return Ok(listener),
                    Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
                        last_error = Some(error)
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::AddrNotAvailable => {
                        return Err(UsageError(format!(
                            "--host {}: not an address of this machine",
                            args.host
                        ))
                        .into())
                    }
                    Err(error) => {
                        return Err(anyhow::anyhow!(
                            "cannot listen on {}:{port}: {error}",
                            args.host
                        ))
                    }
                }
            }
            Err(anyhow::anyhow!(
                "ports {DEFAULT_PORT} to {} on {} are all in use ({}); choose one with --port",
                DEFAULT_PORT + PORTS_TRIED - 1,
                args.host,
                last_error.map(|e| e.to_string()).unwrap_or_default()
            ))
        }
    }
}
