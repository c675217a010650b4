//! The network side of the outbox: [`NetTransport`] implements the engine's
//! [`Transport`] with an HTTP client (webhooks, signed the Standard Webhooks way) and an SMTP
//! client (email).
//!
//! SSRF guard: unless `[webhooks] allow_private_targets` is set, a webhook whose host is, or
//! resolves to, an address [`crate::targets::forbidden`] names is refused, and the attempt
//! says why. Names are checked in the
//! client's own resolver, so the address checked is the address connected to (no DNS
//! rebinding between check and use); redirects are not followed, since they could point
//! anywhere.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use engine::outbox::{Attempted, Outgoing, SendFuture, Transport};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpConfig, SmtpSecurity, WebhooksConfig};
use crate::targets::{forbidden, refusal};

/// How many bytes of a receiver's answer are read.
const RESPONSE_SLICE: usize = engine::outbox::RESPONSE_SLICE;

/// Webhooks over HTTP(S), email over SMTP.
pub struct NetTransport {
    http: reqwest::Client,
    allow_private: bool,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: lettre::message::Mailbox,
}

impl NetTransport {
    /// Builds the clients; fails on settings that can never work (a bad sender address).
    pub fn new(webhooks: &WebhooksConfig, smtp: &SmtpConfig) -> anyhow::Result<NetTransport> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_millis(webhooks.timeout_ms))
            .connect_timeout(Duration::from_millis(webhooks.timeout_ms))
            .pool_max_idle_per_host(webhooks.per_endpoint_concurrency.max(1) * 2)
            .user_agent(concat!("Tend/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
            .dns_resolver(Arc::new(GuardedResolver { allow_private: webhooks.allow_private_targets }))
            .build()
            .context("building the webhook HTTP client")?;
        let from = smtp.from.parse().with_context(|| format!("smtp.from {:?} is not an email address", smtp.from))?;
        let smtp = match &smtp.host {
            None => None,
            Some(host) => Some(smtp_transport(host, smtp)?),
        };
        Ok(NetTransport { http, allow_private: webhooks.allow_private_targets, smtp, from })
    }

    async fn post(
        &self,
        url: &str,
        secret: Option<&str>,
        headers: &[(String, String)],
        id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Attempted {
        let failed =
            |error: String, permanent: bool| Attempted { error: Some(error), permanent, ..Attempted::default() };
        if url == engine::outbox::SINK_URL {
            let response = Some("kept by the sink endpoint; nothing was sent".to_owned());
            return Attempted { accepted: true, status: Some(204), response, ..Attempted::default() };
        }
        let parsed = match reqwest::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => parsed,
            _ => return failed(format!("`{url}` is not an http(s) URL"), true),
        };
        // Literal addresses never reach the resolver, so they are checked here.
        let literal =
            parsed.host_str().and_then(|host| host.trim_start_matches('[').trim_end_matches(']').parse().ok());
        if let (Some(ip), false) = (literal, self.allow_private) {
            if let Some(reason) = forbidden(ip) {
                return failed(refusal(ip, reason), true);
            }
        }
        let mut request = self
            .http
            .post(parsed)
            .header("content-type", "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, id)
            .header(standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string());
        if let Some(secret) = secret {
            let signature = standardwebhooks::Webhook::new(secret).and_then(|signer| signer.sign(id, timestamp, body));
            match signature {
                Ok(signature) => request = request.header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature),
                Err(err) => return failed(format!("signing: {err}"), true),
            }
        }
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        match request.body(body.to_vec()).send().await {
            Ok(mut response) => {
                let status = response.status();
                let mut slice = Vec::new();
                while slice.len() < RESPONSE_SLICE {
                    match response.chunk().await {
                        Ok(Some(chunk)) => {
                            slice.extend_from_slice(&chunk[..chunk.len().min(RESPONSE_SLICE - slice.len())])
                        }
                        _ => break,
                    }
                }
                let text = String::from_utf8_lossy(&slice).into_owned();
                Attempted {
                    accepted: status.is_success(),
                    status: Some(status.as_u16()),
                    response: (!text.is_empty()).then_some(text),
                    ..Attempted::default()
                }
            }
            Err(err) => match refused_by_guard(&err) {
                Some(reason) => failed(reason, true),
                None => failed(describe(&err), false),
            },
        }
    }

    async fn mail(&self, id: &str, to: &[String], subject: &str, body: &str) -> Attempted {
        let failed =
            |error: String, permanent: bool| Attempted { error: Some(error), permanent, ..Attempted::default() };
        let Some(smtp) = &self.smtp else {
            return failed("no mail server is configured (`[smtp] host` in tend.toml)".into(), false);
        };
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(format!("<{id}@tend>")))
            .header(ContentType::TEXT_PLAIN);
        for recipient in to {
            match recipient.parse() {
                Ok(mailbox) => message = message.to(mailbox),
                Err(_) => return failed(format!("`{recipient}` is not an email address"), true),
            }
        }
        let message = match message.body(body.to_owned()) {
            Ok(message) => message,
            Err(err) => return failed(format!("building the message: {err}"), true),
        };
        match smtp.send(message).await {
            Ok(response) => Attempted {
                accepted: true,
                status: response.code().to_string().parse().ok(),
                response: Some(response.message().collect::<Vec<_>>().join(" ")),
                ..Attempted::default()
            },
            Err(err) => failed(format!("SMTP: {err}"), err.is_permanent()),
        }
    }
}

impl Transport for NetTransport {
    fn send<'a>(&'a self, outgoing: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            match outgoing {
                Outgoing::Webhook { url, secret, headers, id, timestamp, body } => {
                    self.post(url, secret.as_deref(), headers, id, *timestamp, body).await
                }
                Outgoing::Email { id, to, subject, body } => self.mail(id, to, subject, body).await,
            }
        })
    }
}

fn smtp_transport(host: &str, config: &SmtpConfig) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let (builder, default_port) = match config.security {
        SmtpSecurity::Starttls => (AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?, 587),
        SmtpSecurity::Tls => (AsyncSmtpTransport::<Tokio1Executor>::relay(host)?, 465),
        SmtpSecurity::None => (AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host), 25),
    };
    let mut builder =
        builder.port(config.port.unwrap_or(default_port)).timeout(Some(Duration::from_millis(config.timeout_ms)));
    if let Some(username) = &config.username {
        builder = builder.credentials(Credentials::new(username.clone(), config.password.clone().unwrap_or_default()));
    }
    Ok(builder.build())
}

/// A resolver that refuses names resolving to addresses a webhook must not reach.
struct GuardedResolver {
    allow_private: bool,
}

/// The resolver's refusal, found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private {
                if let Some((ip, reason)) = addrs.iter().find_map(|addr| Some((addr.ip(), forbidden(addr.ip())?))) {
                    let refused: Box<dyn std::error::Error + Send + Sync> =
                        Box::new(Refused(format!("`{host}` resolves to {}", refusal(ip, reason))));
                    return Err(refused);
                }
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The guard's refusal, when that is why the request failed.
fn refused_by_guard(err: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return Some(refused.0.clone());
        }
        source = current.source();
    }
    None
}

/// A client error with its causes, on one line.
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() { "timed out".to_owned() } else { err.to_string() };
    let mut source = std::error::Error::source(err);
    while let Some(current) = source {
        text.push_str(": ");
        text.push_str(&current.to_string());
        source = current.source();
    }
    text
}
