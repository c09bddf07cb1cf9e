//! The HTTP/1.1 server under the router: a cap on open connections, in all
//! and per client address, a time limit on request headers (which also ends
//! idle keep-alive connections) and on each write to a client that stopped
//! reading, and a shutdown that ends event streams, lets in-flight requests
//! finish and exits within a bounded time whatever the clients do.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Limits on connections.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open connections at most; more wait in the listen queue.
    pub max_connections: usize,
    /// A client has this long to send a request's headers, and an idle
    /// keep-alive connection is closed after it.
    pub header_timeout: Duration,
    /// On shutdown, how long in-flight requests may take to finish.
    pub shutdown_grace: Duration,
    /// Open connections from one address at most (0: no cap; behind a
    /// reverse proxy every connection is the proxy's); more are closed.
    pub per_address: usize,
    /// A client that reads nothing of an answer for this long is dropped
    /// (and the export or stream it held with it).
    pub write_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            per_address: 64,
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Open connections per client address (an IPv6 client by its /64), and
/// when a refusal was last logged.
#[derive(Default)]
struct PerAddress(
    Mutex<HashMap<IpAddr, usize>>,
    Mutex<Option<std::time::Instant>>,
);

/// One connection counted against its address, until dropped.
struct AddressSlot(Arc<PerAddress>, IpAddr);

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_default();
        if cap > 0 && *n >= cap {
            return None;
        }
        *n += 1;
        Some(AddressSlot(self.clone(), ip))
    }

    /// Whether to log a refusal: once a minute, so that a flood does not
    /// flood the log too.
    fn should_warn(&self) -> bool {
        let mut last = self.1.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(60)) {
            return false;
        }
        *last = Some(now);
        true
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// How many header fields are read before hyper gives up on a request.
pub const HEADERS_READ: usize = 1000;

/// Serves `app` on `listener` until `shutdown` resolves; then tells event
/// streams to end (`stopping`), waits up to the grace period for open
/// requests, and returns.
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stopping: Arc<watch::Sender<bool>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = Arc::new(PerAddress::default());
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // Beyond these hyper answers a bare 431; up to them the edge refuses
        // oversized headers with the documented body.
        .max_headers(HEADERS_READ)
        .max_buf_size(1 << 20);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset while queued.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = per_address.take(super::edge::subscriber(peer.ip()), limits.per_address)
        else {
            if per_address.should_warn() {
                tracing::warn!(peer = %peer, cap = limits.per_address, "too many connections from one address; closing (logged once a minute)");
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        let app = app.clone();
        // Whether hyper has read a request head on this connection and handed
        // it to the service (set while the connection is polled, in this task).
        let started = Arc::new(AtomicBool::new(false));
        let service = hyper::service::service_fn({
            let started = started.clone();
            move |mut req: hyper::Request<Incoming>| {
                started.store(true, Ordering::Relaxed);
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(axum::body::Body::new))
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(Box::pin(stream)), service));
        let mut stopped = stopping.subscribe();
        tokio::spawn(async move {
            tokio::pin!(conn);
            tokio::select! {
                // The connection first: a request head already received is
                // read, and counts as started, before shutdown is looked at.
                biased;
                ended = &mut conn => if let Err(e) = ended {
                    tracing::debug!(peer = %peer, error = %e, "connection ended");
                },
                // On shutdown a connection that never sent a whole request
                // (half-open, or slow) is closed at once, not waited for.
                _ = async {
                    let _ = stopped.wait_for(|s| *s).await;
                    if started.load(Ordering::Relaxed) {
                        std::future::pending::<()>().await;
                    }
                } => {},
            }
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: closing event streams, finishing requests");
    let _ = stopping.send(true);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = limits.shutdown_grace.as_secs_f64(),
            "requests still open after the grace period; closing them"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A server with `limits` whose `/endless` answer never ends; `dropped`
    /// turns true when that answer is dropped.
    async fn server(limits: ConnectionLimits) -> (std::net::SocketAddr, watch::Receiver<bool>) {
        let (dropped_tx, dropped) = watch::channel(false);
        let dropped_tx = Arc::new(dropped_tx);
        struct OnDrop(Arc<watch::Sender<bool>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                let _ = self.0.send(true);
            }
        }
        let app = Router::new()
            .route("/health", axum::routing::get(|| async { "ok" }))
            .route(
                "/endless",
                axum::routing::get(move || {
                    let guard = OnDrop(dropped_tx.clone());
                    async move {
                        let chunks = futures_util::stream::repeat_with(move || {
                            let _ = &guard;
                            Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'x'; 64 * 1024]))
                        });
                        axum::body::Body::from_stream(chunks)
                    }
                }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, _) = watch::channel(false);
        tokio::spawn(serve_on(
            listener,
            app,
            limits,
            Arc::new(stop),
            std::future::pending(),
        ));
        (addr, dropped)
    }

    async fn health(addr: std::net::SocketAddr) -> Option<String> {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    #[tokio::test]
    async fn one_address_holds_at_most_its_share_of_connections() {
        let (addr, _) = server(ConnectionLimits {
            per_address: 4,
            header_timeout: Duration::from_secs(60),
            ..Default::default()
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
            held.push(s);
        }
        // The fifth is closed unanswered, at once (not by a time limit).
        let mut fifth = TcpStream::connect(addr).await.unwrap();
        let _ = fifth
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), fifth.read_to_end(&mut out))
            .await
            .expect("closed at once, not left to a time limit");
        // An orderly close or a reset (its request unread), with nothing said.
        assert!(out.is_empty(), "{read:?} {}", String::from_utf8_lossy(&out));
        // Another address is served meanwhile: the cap is per address.
        let other = tokio::net::TcpSocket::new_v4().unwrap();
        other.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut s = other.connect(addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        assert!(
            out.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        // Once the address lets go, it is served again.
        drop(held);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if health(addr)
                .await
                .is_some_and(|a| a.starts_with("HTTP/1.1 200"))
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "never served again");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_dropped_with_its_answer() {
        let (addr, mut dropped) = server(ConnectionLimits {
            write_timeout: Duration::from_secs(1),
            ..Default::default()
        })
        .await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // It reads nothing; the answer fills the socket's buffers, the next
        // write waits past the limit, and the answer is dropped.
        tokio::time::timeout(Duration::from_secs(30), dropped.wait_for(|d| *d))
            .await
            .expect("the endless answer is dropped")
            .unwrap();
        drop(s);
    }
}
