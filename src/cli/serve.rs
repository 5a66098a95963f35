//! `backprop serve`: the local playground page (see [`backprop::playground`]).

use super::dataset_arg::load_splits;
use super::exit_status::UsageError;
use anyhow::{Context, Result};
use backprop::playground::images::ImageSet;
use backprop::playground::settings::DatasetKind;
use backprop::playground::PlaygroundServer;
use clap::Args;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// An IP address (`localhost` is 127.0.0.1). On loopback (the default) only `Host` names
    /// of this machine's loopback are served; any other address makes the playground reachable
    /// from other machines and serves any `Host`.
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1", value_parser = listen_address)]
    pub host: IpAddr,
    /// Offer images too: mnist, fashion-mnist or a folder of IDX files.
    ///
    /// Loaded once at start, as `train --dataset` loads it (mnist and fashion-mnist are
    /// downloaded when missing, see --data-dir); 28x28 images. The page then trains 784-H-10
    /// on it, with a drawing canvas. The held-out split is the t10k files, or the last 20 %
    /// of the training files when the folder has none ("validation").
    #[arg(long, value_name = "NAME|DIR")]
    pub dataset: Option<String>,
    /// Folder of the mnist / fashion-mnist files.
    ///
    /// [default: $BACKPROP_DATA/<name>, else ~/.cache/backprop/<name>; downloaded there when
    /// missing]
    #[arg(long, value_name = "DIR", requires = "dataset")]
    pub data_dir: Option<PathBuf>,
}

/// Parses `--host`: an IPv4 or IPv6 address, or `localhost` for 127.0.0.1 (no other name is
/// looked up: the address to listen on should not depend on a resolver).
fn listen_address(text: &str) -> Result<IpAddr, String> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    text.parse().map_err(|_| {
        format!("'{text}' is not an IP address; give one such as 127.0.0.1 (or localhost), ::1 or 0.0.0.0")
    })
}

/// Runs `backprop serve` until the process is stopped.
pub fn run(args: &ServeArgs) -> Result<bool> {
    let images = match &args.dataset {
        Some(spec) => Some(load_images(spec, args.data_dir.as_deref())?),
        None => None,
    };
    let listener = bind(args)?;
    let offered = images.as_ref().map(|set| set.info());
    let server = PlaygroundServer::start_offering(listener, images)
        .context("cannot start the HTTP server")?;
    let address = server.address();
    let shown = if address.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
    } else {
        address
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "playground: http://{shown}/");
    if let Some(info) = offered {
        let _ = writeln!(stdout, "images: {} (dataset={})", info.title, info.name);
    }
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

/// Loads `--dataset` (as `train` does) as the image set the page offers.
fn load_images(spec: &str, data_dir: Option<&Path>) -> Result<Arc<ImageSet>> {
    if DatasetKind::from_name(spec).is_some() {
        return Err(UsageError(format!(
            "--dataset {spec}: the page always offers the 2-D datasets; serve --dataset takes an image dataset (mnist, fashion-mnist or a folder of IDX files)"
        ))
        .into());
    }
    let splits = load_splits(spec, data_dir, true)?;
    let (name, title, fashion) = match spec {
        "mnist" => ("mnist".to_string(), "MNIST".to_string(), false),
        "fashion-mnist" => (
            "fashion-mnist".to_string(),
            "Fashion-MNIST".to_string(),
            true,
        ),
        folder => {
            let path = Path::new(folder);
            let base = std::fs::canonicalize(path)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| folder.to_string());
            (base.clone(), base, false)
        }
    };
    let set = ImageSet::new(&name, &title, splits, fashion)
        .map_err(|message| anyhow::anyhow!("--dataset {spec}: {message}"))?;
    Ok(Arc::new(set))
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
