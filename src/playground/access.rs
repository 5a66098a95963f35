//! Which requests the playground serves, as Jupyter and similar local servers decide it:
//!
//! - **Host.** On a loopback address, only a `Host` naming this machine's loopback
//!   (`localhost`, `127.0.0.1`, `[::1]`) or the bound address, with or without a port, is
//!   served; any other is a 403. That stops DNS rebinding: a web page whose name was made to
//!   resolve to 127.0.0.1 sends its own name as `Host`. Binding a non-loopback address
//!   (`--host 0.0.0.0`) is the explicit opt-out: then any `Host` is served.
//! - **Origin.** A request that changes state (any method but GET, HEAD and OPTIONS) must
//!   carry no `Origin` or one that is same-origin with its `Host` (`http://` + the `Host`
//!   value); a form or script on another site is a 403.

use super::routes::Reply;
use std::net::SocketAddr;

/// The Host and Origin rules for a server bound to one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// Whether `Host` is checked (the bound address is loopback).
    check_host: bool,
    /// The bound address, as it is written in a `Host` (`127.0.0.1`, `[::1]`).
    bound_name: String,
    /// The address shown in messages.
    bound: SocketAddr,
}

/// The host names a loopback server answers besides its bound address.
pub const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Access {
    /// The rules for a server listening on `bound`: the Host check is on unless `bound` is
    /// not a loopback address.
    pub fn for_address(bound: SocketAddr) -> Access {
        let bound_name = match bound {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        };
        Access {
            check_host: bound.ip().is_loopback(),
            bound_name,
            bound,
        }
    }

    /// Whether `Host` values are checked.
    pub fn checks_host(&self) -> bool {
        self.check_host
    }

    /// `Ok` when a request with `method`, `host` and `origin` (the header values, `None`
    /// when absent) may be served, else the 403 to send.
    pub fn admit(
        &self,
        method: &str,
        host: Option<&str>,
        origin: Option<&str>,
    ) -> Result<(), Reply> {
        if self.check_host {
            match host {
                Some(host) if self.serves_host(host) => {}
                Some(host) => {
                    return Err(Reply::error(
                        403,
                        format!(
                            "Host {:?} is not served: open http://{}/ (start with --host 0.0.0.0 to serve any host name)",
                            shorten(host),
                            self.bound
                        ),
                    ))
                }
                None => {
                    return Err(Reply::error(
                        403,
                        format!("a Host header is required: open http://{}/", self.bound),
                    ))
                }
            }
        }
        if matches!(method, "GET" | "HEAD" | "OPTIONS") {
            return Ok(());
        }
        match origin {
            None => Ok(()),
            Some(origin) if host.is_some_and(|host| same_origin(origin, host)) => Ok(()),
            Some(origin) => Err(Reply::error(
                403,
                format!(
                    "a {method} from origin {:?} is refused: only the playground's own page may change sessions",
                    shorten(origin)
                ),
            )),
        }
    }

    /// Whether `host` (a `Host` value) names a loopback name or the bound address, with or
    /// without a port.
    fn serves_host(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        LOOPBACK_NAMES
            .iter()
            .any(|allowed| name.eq_ignore_ascii_case(allowed))
            || name.eq_ignore_ascii_case(&self.bound_name)
    }
}

/// The name part of a `Host` value (`[::1]` of `[::1]:8020`), or `None` when the value is
/// not a name with an optional numeric port.
fn host_name(host: &str) -> Option<&str> {
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        let rest = &host[end + 1..];
        let port = match rest.strip_prefix(':') {
            Some(port) => Some(port),
            None if rest.is_empty() => None,
            None => return None,
        };
        (&host[..=end], port)
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    (port_ok && !name.is_empty()).then_some(name)
}

/// Whether `origin` (an `Origin` value) is the origin of a page served as `host`.
fn same_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// At most 80 characters of a header value, for a one-line message.
fn shorten(value: &str) -> String {
    const MOST: usize = 80;
    if value.chars().count() <= MOST {
        value.to_string()
    } else {
        let cut: String = value.chars().take(MOST).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> Access {
        Access::for_address("127.0.0.1:8020".parse().unwrap())
    }

    #[test]
    fn a_loopback_server_serves_only_loopback_host_names() {
        let access = loopback();
        for host in [
            "localhost",
            "localhost:8020",
            "LOCALHOST:9000",
            "127.0.0.1",
            "127.0.0.1:8020",
            "[::1]",
            "[::1]:8020",
        ] {
            assert!(access.admit("GET", Some(host), None).is_ok(), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8020",
            "localhost.evil.example",
            "127.0.0.2:8020",
            "localhost:80x",
            "[::1]x",
            ":8020",
            "",
        ] {
            let reply = access.admit("GET", Some(host), None).unwrap_err();
            assert_eq!(reply.status, 403, "{host}");
            assert!(
                reply.body.contains("is not served"),
                "{host}: {}",
                reply.body
            );
        }
        assert_eq!(access.admit("GET", None, None).unwrap_err().status, 403);
    }

    #[test]
    fn the_bound_address_is_served_and_a_non_loopback_bind_opts_out() {
        let other_loopback = Access::for_address("127.0.0.2:1234".parse().unwrap());
        assert!(other_loopback
            .admit("GET", Some("127.0.0.2:1234"), None)
            .is_ok());
        let v6 = Access::for_address("[::1]:1234".parse().unwrap());
        assert!(v6.admit("GET", Some("[::1]:1234"), None).is_ok());
        let anywhere = Access::for_address("0.0.0.0:8020".parse().unwrap());
        assert!(!anywhere.checks_host());
        assert!(anywhere
            .admit("GET", Some("my-laptop.lan:8020"), None)
            .is_ok());
        assert!(anywhere
            .admit(
                "POST",
                Some("my-laptop.lan:8020"),
                Some("http://my-laptop.lan:8020")
            )
            .is_ok());
        assert_eq!(
            anywhere
                .admit(
                    "POST",
                    Some("my-laptop.lan:8020"),
                    Some("http://evil.example")
                )
                .unwrap_err()
                .status,
            403
        );
    }

    #[test]
    fn state_changing_requests_need_a_same_origin_origin_or_none() {
        let access = loopback();
        let host = Some("127.0.0.1:8020");
        assert!(access.admit("POST", host, None).is_ok());
        assert!(access
            .admit("POST", host, Some("http://127.0.0.1:8020"))
            .is_ok());
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:8021",
            "https://127.0.0.1:8020",
            "http://localhost:8020",
            "null",
        ] {
            let reply = access.admit("POST", host, Some(origin)).unwrap_err();
            assert_eq!(reply.status, 403, "{origin}");
            assert!(reply.body.contains("refused"), "{origin}");
        }
        // Reading is not state-changing: a foreign Origin on a GET is served.
        assert!(access
            .admit("GET", host, Some("http://evil.example"))
            .is_ok());
        let long = format!("http://{}", "a".repeat(5000));
        let reply = access.admit("PUT", host, Some(&long)).unwrap_err();
        assert!(reply.body.len() < 300, "{}", reply.body.len());
    }
}
