//! CLI commands that act on a running server through its HTTP API rather than on the data
//! directory, which the server holds locked while it runs: `tend token list|revoke`,
//! `tend import`, `tend export`, `tend pack export` and `tend backup`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::backup::{Archive, Written};
use crate::config::Config;
use crate::tabular::FileFormat;

/// How long an import or an export may take (the API's own timeout for imports is
/// `[http] import_timeout_secs`).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

/// Bytes read from a file per chunk sent.
const UPLOAD_CHUNK: usize = 256 * 1024;

/// What `tend export` asks for.
#[derive(Debug, Clone, Default)]
pub struct ExportArgs {
    /// csv, ndjson or xlsx.
    pub format: Option<String>,
    /// A filter expression.
    pub filter: Option<String>,
    /// A sort.
    pub sort: Option<String>,
    /// Comma-separated columns.
    pub fields: Option<String>,
}

/// Where the server is and how to authenticate to it.
pub struct Remote {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Remote {
    /// `server` when given, else the address `config` binds to (a wildcard bind reached on
    /// loopback).
    pub fn new(server: Option<String>, token: String, config: &Config) -> anyhow::Result<Remote> {
        let base = match server {
            Some(server) => server.trim_end_matches('/').to_owned(),
            None => {
                let bind = config.bind.replace("0.0.0.0:", "127.0.0.1:").replace("[::]:", "[::1]:");
                format!("http://{bind}")
            }
        };
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        Ok(Remote { base, token, client })
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> anyhow::Result<Option<Value>> {
        let response = self.send(self.client.request(method, format!("{}{path}", self.base))).await?;
        let status = response.status();
        let text = response.text().await.context("reading the server's answer")?;
        if !status.is_success() {
            anyhow::bail!("the server answered {status}: {}", problem_detail(&text));
        }
        if text.is_empty() {
            return Ok(None);
        }
        Ok(Some(serde_json::from_str(&text).context("the server's answer is not JSON")?))
    }

    /// Prints every token, one per line: id, role, created, label.
    pub async fn list_tokens(&self) -> anyhow::Result<()> {
        let page = self.call(reqwest::Method::GET, "/api/v1/tokens").await?.unwrap_or_default();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        println!("{:<14} {:<7} {:<34} {:<10} {:<26} LABEL", "ID", "ROLE", "USER", "REACH", "CREATED");
        for token in items {
            let text = |key: &str| token[key].as_str().unwrap_or("").to_owned();
            let space = token["space"].as_str().map_or("all".to_owned(), |space| format!("space {space}"));
            let reach = if token["read_only"] == true { format!("{space}, read") } else { space };
            println!(
                "{:<14} {:<7} {:<34} {:<10} {:<26} {}",
                text("id"),
                text("role"),
                text("user_id"),
                reach,
                text("created_at"),
                text("label")
            );
        }
        Ok(())
    }

    /// Revokes the token with public id `id`.
    pub async fn revoke_token(&self, id: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::DELETE, &format!("/api/v1/tokens/{id}")).await?;
        println!("Revoked token {id}: it is refused from now on.");
        Ok(())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("reaching the server at {} (is it running? see --server)", self.base))
    }

    /// The pack of `space`'s definitions (`GET .../pack`, a zip).
    pub async fn pack(&self, space: &str) -> anyhow::Result<crate::packs::Pack> {
        let url = format!("{}/api/v1/spaces/{space}/pack", self.base);
        let response = self.send(self.client.get(url)).await?;
        let status = response.status();
        let bytes = response.bytes().await.context("reading the server's answer")?;
        if !status.is_success() {
            anyhow::bail!("the server answered {status}: {}", problem_detail(&String::from_utf8_lossy(&bytes)));
        }
        crate::packs::Pack::from_zip(format!("space {space}"), &bytes)
    }

    /// Uploads `file` to `POST .../import` with `query`, a progress bar counting the bytes sent,
    /// and prints the report. Fails when a row failed (then says whether anything was stored).
    pub async fn import(&self, file: &Path, space: &str, form: &str, query: &[(String, String)]) -> anyhow::Result<()> {
        let mut input = tokio::fs::File::open(file).await.with_context(|| format!("opening {}", file.display()))?;
        let size = input.metadata().await.map(|m| m.len()).unwrap_or(0);
        let mut first = vec![0; 4096];
        let read = input.read(&mut first).await.with_context(|| format!("reading {}", file.display()))?;
        first.truncate(read);
        let name = file.file_name().and_then(|n| n.to_str());
        let format = match query.iter().find(|(key, _)| key == "format") {
            Some((_, name)) => FileFormat::parse(name)?,
            None => FileFormat::detect(name, None, &first),
        };
        let (media_type, _) = crate::export::media_type(format);
        let bar = progress(Some(size), "sent");
        let counted = bar.clone();
        let rest = futures::stream::unfold(input, |mut input| async move {
            let mut buffer = vec![0; UPLOAD_CHUNK];
            match input.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    buffer.truncate(n);
                    Some((Ok::<_, std::io::Error>(buffer), input))
                }
                Err(err) => Some((Err(err), input)),
            }
        });
        let body = futures::stream::once(async move { Ok(first) }).chain(rest).inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                counted.inc(chunk.len() as u64);
            }
        });
        let url = format!("{}/api/v1/spaces/{space}/forms/{form}/import", self.base);
        let request = self
            .client
            .post(url)
            .query(query)
            .timeout(TRANSFER_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, media_type)
            .body(reqwest::Body::wrap_stream(body));
        let response = self.send(request).await;
        bar.finish_and_clear();
        let response = response?;
        let status = response.status();
        let text = response.text().await.context("reading the server's answer")?;
        if !status.is_success() {
            anyhow::bail!("the server answered {status}: {}", problem_detail(&text));
        }
        let report: Value = serde_json::from_str(&text).context("the server's answer is not JSON")?;
        let count = |key: &str| report[key].as_u64().unwrap_or(0);
        let verb = if report["dry_run"] == true { "Checked (dry run, nothing stored)" } else { "Imported" };
        println!(
            "{verb} {} row(s) into {space}/{form}: {} created, {} updated, {} unchanged, {} failed",
            count("rows"),
            count("created"),
            count("updated"),
            count("unchanged"),
            count("failed")
        );
        for error in report["errors"].as_array().into_iter().flatten() {
            let column = error["column"].as_str().map(|c| format!(", column {c}")).unwrap_or_default();
            let field = error["field"].as_str().map(|f| format!(" ({f})")).unwrap_or_default();
            println!("  row {}{column}{field}: {}", error["row"], error["message"].as_str().unwrap_or(""));
        }
        if let Some(through) = report["stored_through"].as_u64() {
            println!("Stored through row {through}; to continue after it: --start-row {}", through + 1);
        }
        if count("failed") > 0 {
            let stored = if report["stored"] == true { "the valid rows were stored" } else { "nothing was stored" };
            anyhow::bail!("{} row(s) failed; {stored}", count("failed"));
        }
        Ok(())
    }

    /// Downloads `GET .../export` into `out` (stdout when `None`), a progress bar counting the
    /// bytes received.
    pub async fn export(&self, space: &str, form: &str, args: &ExportArgs, out: Option<&Path>) -> anyhow::Result<()> {
        let mut query = Vec::new();
        for (key, value) in
            [("format", &args.format), ("filter", &args.filter), ("sort", &args.sort), ("fields", &args.fields)]
        {
            if let Some(value) = value {
                query.push((key, value.clone()));
            }
        }
        let url = format!("{}/api/v1/spaces/{space}/forms/{form}/export", self.base);
        let response = self.send(self.client.get(url).query(&query).timeout(TRANSFER_TIMEOUT)).await?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.context("reading the server's answer")?;
            anyhow::bail!("the server answered {status}: {}", problem_detail(&text));
        }
        // The CLI's own stdout is written directly: it is one short write per chunk.
        let mut file = match out {
            Some(path) => {
                Some(tokio::fs::File::create(path).await.with_context(|| format!("creating {}", path.display()))?)
            }
            None => None,
        };
        let bar = progress(None, "received");
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.context("the export broke off")?;
            bar.inc(chunk.len() as u64);
            match &mut file {
                Some(file) => file.write_all(&chunk).await,
                None => std::io::Write::write_all(&mut std::io::stdout().lock(), &chunk),
            }
            .context("writing the export")?;
        }
        match &mut file {
            Some(file) => file.flush().await,
            None => std::io::Write::flush(&mut std::io::stdout()),
        }
        .context("writing the export")?;
        bar.finish_and_clear();
        if let Some(path) = out {
            eprintln!("Exported {space}/{form} to {} ({} bytes)", path.display(), bar.position());
        }
        Ok(())
    }
}

impl Remote {
    /// Streams `POST /api/v1/backup` into `archive` and finishes it; `Err(archive)` back,
    /// untouched, when no server answers at the address.
    pub async fn backup(&self, mut archive: Archive) -> anyhow::Result<Result<Written, Archive>> {
        let request = self.client.post(format!("{}/api/v1/backup", self.base)).timeout(TRANSFER_TIMEOUT);
        let response = match request.bearer_auth(&self.token).send().await {
            Ok(response) => response,
            Err(err) if err.is_connect() => return Ok(Err(archive)),
            Err(err) => return Err(err).with_context(|| format!("reaching the server at {}", self.base)),
        };
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.context("reading the server's answer")?;
            anyhow::bail!("the server answered {status}: {}", problem_detail(&text));
        }
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            archive.append(&chunk.context("the backup broke off")?)?;
        }
        archive.finish().map(Ok)
    }
}

/// A problem document's `detail`, or the text itself.
fn problem_detail(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|problem| problem["detail"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.to_owned())
}

/// A bar of bytes on stderr (drawn only when stderr is a terminal): with a total, a bar and a
/// rate; without, a spinner and a count.
pub(crate) fn progress(total: Option<u64>, what: &str) -> ProgressBar {
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(&format!("{{bar:40}} {{bytes}}/{{total_bytes}} {what} ({{bytes_per_sec}})"))
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(&format!("{{spinner}} {{bytes}} {what} ({{bytes_per_sec}})"))
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}
