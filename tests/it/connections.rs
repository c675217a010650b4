//! Slow and idle clients, checked over raw TCP: half-sent requests and idle keep-alive
//! connections are closed, the number of connections is capped, and shutdown ends within its
//! grace period however many clients hang.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const HALF_SENT: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: tend\r\nX-Slow: ";
const COMPLETE: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: tend\r\n\r\n";

/// Reads until the server closes the connection; how long that took, or `None` when it was
/// still open after `limit`.
async fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn half_sent_headers_and_idle_keep_alive_connections_are_closed() {
    let app = TestApp::spawn_configured(|config| config.http.header_read_timeout_secs = 1).await;
    let mut half_sent = TcpStream::connect(app.addr).await.unwrap();
    half_sent.write_all(HALF_SENT).await.unwrap();
    let closed = time_to_close(&mut half_sent, Duration::from_secs(10)).await;
    assert!(closed.is_some_and(|after| after < Duration::from_secs(5)), "half-sent request still open: {closed:?}");

    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(COMPLETE).await.unwrap();
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200", "the complete request is answered");
    let closed = time_to_close(&mut idle, Duration::from_secs(10)).await;
    assert!(closed.is_some_and(|after| after < Duration::from_secs(5)), "idle keep-alive still open: {closed:?}");
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let app = TestApp::spawn_configured(|config| config.http.max_connections = 2).await;
    let first = TcpStream::connect(app.addr).await.unwrap();
    let _second = TcpStream::connect(app.addr).await.unwrap();
    // Give the server time to accept both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third.write_all(COMPLETE).await.unwrap();
    let mut answer = [0u8; 12];
    let early = tokio::time::timeout(Duration::from_millis(700), third.read_exact(&mut answer)).await;
    assert!(early.is_err(), "a third connection was served past a cap of two");
    drop(first);
    tokio::time::timeout(Duration::from_secs(5), third.read_exact(&mut answer))
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
}

#[tokio::test]
async fn shutdown_ends_within_its_grace_period_despite_hanging_clients() {
    let app = TestApp::spawn_configured(|config| {
        config.http.header_read_timeout_secs = 120;
        config.http.shutdown_grace_secs = 1;
    })
    .await;
    let mut hanging = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(HALF_SENT).await.unwrap();
        hanging.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("shutdown waited for hanging clients");
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown took {:?}", started.elapsed());
    let closed = time_to_close(&mut hanging[0], Duration::from_secs(2)).await;
    assert!(closed.is_some(), "a hanging client is disconnected at shutdown");
}
