//! The monitoring endpoint of a run (`--monitor`): a live dashboard at `/`, the
//! run's state as JSON at `/api/stats` and Prometheus metrics at `/metrics`,
//! served from the run's [`Progress`] by a small blocking HTTP server on a thread
//! of its own.

mod metrics;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Request, Response, Server};

use crate::progress::Progress;

pub use metrics::render as metrics_text;

const DASHBOARD: &str = include_str!("dashboard.html");

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("--monitor {0}: give a port (9187) or an address and port (127.0.0.1:9187)")]
    Address(String),
    #[error("cannot serve the monitoring endpoint on {addr}: {reason}. Choose another port (--monitor 127.0.0.1:PORT, or port 0 for any free one)")]
    Bind { addr: SocketAddr, reason: String },
}

/// Where `--monitor` asks to listen: a port alone is on the loopback interface.
pub fn parse_address(given: &str) -> Result<SocketAddr, MonitorError> {
    let bad = || MonitorError::Address(given.to_string());
    if let Ok(port) = given.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    given
        .to_socket_addrs()
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)
}

/// The endpoint, serving until it is stopped.
pub struct Monitor {
    server: Arc<Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    pub fn start(addr: SocketAddr, progress: Progress) -> Result<Monitor, MonitorError> {
        let server = Server::http(addr).map_err(|e| MonitorError::Bind {
            addr,
            reason: e.to_string(),
        })?;
        let server = Arc::new(server);
        let addr = server
            .server_addr()
            .to_ip()
            .expect("a TCP server has an IP address");
        let serving = server.clone();
        let thread = std::thread::Builder::new()
            .name("monitor".into())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    respond(request, &progress);
                }
            })
            .expect("a thread for the monitoring endpoint");
        Ok(Monitor {
            server,
            addr,
            thread: Some(thread),
        })
    }

    /// The dashboard's address.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn respond(request: Request, progress: &Progress) {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let (status, content_type, body) = match (request.method(), path.as_str()) {
        (Method::Get | Method::Head, "/") => (200, "text/html; charset=utf-8", DASHBOARD.to_string()),
        (Method::Get | Method::Head, "/api/stats") => (
            200,
            "application/json",
            serde_json::to_string(&progress.stats()).expect("stats serialize"),
        ),
        (Method::Get | Method::Head, "/metrics") => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics::render(&progress.stats()),
        ),
        (Method::Get | Method::Head, _) => (
            404,
            "text/plain; charset=utf-8",
            "not found: the dashboard is at /, the run's state at /api/stats, metrics at /metrics\n"
                .to_string(),
        ),
        _ => (405, "text/plain; charset=utf-8", "only GET\n".to_string()),
    };
    let response = Response::from_string(body)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"));
    // A watcher that went away mid-answer is no concern of the run.
    let _ = request.respond(response);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_listens_on_the_loopback_interface() {
        assert_eq!(
            parse_address("9187").unwrap(),
            "127.0.0.1:9187".parse().unwrap()
        );
        assert_eq!(
            parse_address("0.0.0.0:80").unwrap(),
            "0.0.0.0:80".parse().unwrap()
        );
        assert_eq!(
            parse_address("[::1]:80").unwrap(),
            "[::1]:80".parse().unwrap()
        );
        assert!(matches!(
            parse_address("nine"),
            Err(MonitorError::Address(_))
        ));
    }
}
