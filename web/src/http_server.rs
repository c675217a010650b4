//! The HTTP/1.1 accept loop, with what `axum::serve` does not offer: a header-read timeout
//! that also closes idle keep-alive connections, a cap on open connections, and a graceful
//! shutdown that ends within a bound however slow the clients are.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::config::HttpConfig;

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, asks every
/// open connection to finish its current request, and closes whatever is still open after
/// `shutdown_grace_secs`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    config: &HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(config.header_read_timeout_secs))
        .keep_alive(true)
        // Above the API's own head limits (`api::MAX_HEADERS`, `api::MAX_HEADER_BYTES`), so
        // that oversized heads reach the API and get a problem document: hyper's own refusal
        // past these bounds has an empty body.
        .max_headers(crate::api::MAX_HEADERS * 10)
        .max_buf_size(crate::api::MAX_HEADER_BYTES * 16);
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let (closing, closing_seen) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting: past the cap, connections queue in the
        // kernel's backlog instead of each costing a task and buffers here.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        // Each request learns the client's address (sign-in limits, the audit log).
        let service = router.clone().map_request(move |mut request: axum::http::Request<_>| {
            request.extensions_mut().insert(crate::api::ClientAddr(peer));
            request
        });
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let mut closing = closing_seen.clone();
        connections.spawn(async move {
            let _permit = permit;
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = closing.wait_for(|closing| *closing) => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open = connections.len(), "closing connections still open after the shutdown grace period");
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}
