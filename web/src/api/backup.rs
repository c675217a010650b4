//! `POST /api/v1/backup`: a consistent snapshot of the whole database, streamed as an archive
//! (`engine::backup` writes it) while the server goes on serving. Admins only.

use std::io;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use tokio::sync::mpsc;

use super::error::ApiError;
use super::{AppState, Routes as _};

/// How many chunks may wait for a slow client before the snapshot's reading pauses.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Bytes per chunk sent.
const CHUNK: usize = 256 * 1024;

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/backup", post(backup))
}

/// Superadmins only: the `authz` table says so.
async fn backup(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let filename = format!("tend-backup-{}.tend", state.engine.now().format("%Y%m%d-%H%M%S"));
    let (sender, receiver) = mpsc::channel::<io::Result<Vec<u8>>>(CHUNKS_IN_FLIGHT);
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || {
        let out = ChannelWriter { sender: sender.clone(), buffer: Vec::with_capacity(CHUNK) };
        match engine.backup(out) {
            Ok(summary) => tracing::info!(entries = summary.entries, bytes = summary.bytes, "backup streamed"),
            Err(err) => {
                // The headers are gone: ending the body with an error leaves the client a file
                // without its checksum, which a restore refuses.
                tracing::warn!(error = %err, "backup stopped");
                let _ = sender.blocking_send(Err(io::Error::other(err.to_string())));
            }
        }
    });
    let body = Body::from_stream(futures::stream::unfold(receiver, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    }));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    ))
}

/// A blocking writer whose bytes leave through the channel in chunks; a closed channel (the
/// client went away) is a write error, which stops the backup.
struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Vec<u8>>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl io::Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
