//! CLI commands that act on a running server through its HTTP API rather than on the data
//! directory, which the server holds locked while it runs: `tend token list|revoke`.

use anyhow::Context;
use serde_json::Value;

use crate::config::Config;

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
        let url = format!("{}{path}", self.base);
        let response = self
            .client
            .request(method, &url)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("reaching the server at {} (is it running? see --server)", self.base))?;
        let status = response.status();
        let text = response.text().await.context("reading the server's answer")?;
        if !status.is_success() {
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|problem| problem["detail"].as_str().map(str::to_owned))
                .unwrap_or(text);
            anyhow::bail!("the server answered {status}: {detail}");
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
        println!("{:<14} {:<7} {:<26} LABEL", "ID", "ROLE", "CREATED");
        for token in items {
            let text = |key: &str| token[key].as_str().unwrap_or("").to_owned();
            println!("{:<14} {:<7} {:<26} {}", text("id"), text("role"), text("created_at"), text("label"));
        }
        Ok(())
    }

    /// Revokes the token with public id `id`.
    pub async fn revoke_token(&self, id: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::DELETE, &format!("/api/v1/tokens/{id}")).await?;
        println!("Revoked token {id}: it is refused from now on.");
        Ok(())
    }
}
