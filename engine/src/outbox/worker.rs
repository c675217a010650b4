//! The delivery worker: takes due deliveries from the outbox, hands each attempt to the
//! [`Transport`], and records the outcome durably.
//!
//! Isolation: every concurrency group (an endpoint, a bare URL's host, email) has its own
//! limit, and the worker only reads the due entries of groups with free capacity, so a slow or
//! dead receiver fills its own slots and nobody else's. A global limit bounds the attempts in
//! flight, and every attempt has a timeout.
//!
//! At least once: an attempt's outcome is committed (and flushed) right after the answer. A
//! crash between a receiver's 2xx and that commit leaves the delivery pending, and it is sent
//! again after the restart with the same `webhook-id`: at most `max_in_flight` deliveries per
//! crash, which receivers dedupe.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use forms::EndpointName;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::{backoff, Attempted, Outgoing, Transport};
use crate::error::Result;
use crate::model::{Attempt, Delivery, DeliveryStatus, DeliveryTarget, MAX_KEPT_ATTEMPTS};
use crate::store::Store as _;
use crate::Engine;

/// How many bytes of a receiver's answer an attempt keeps.
pub const RESPONSE_SLICE: usize = 1024;

/// Retry and concurrency settings of the delivery worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPolicy {
    /// Attempts before a delivery is dead (counted again from zero on redeliver).
    pub max_attempts: u32,
    /// Delay after the first failed attempt; it doubles with each failure.
    pub backoff_base: Duration,
    /// The longest delay between attempts.
    pub backoff_max: Duration,
    /// Attempts in flight at once per concurrency group (endpoint, host, email).
    pub per_target_concurrency: usize,
    /// Attempts in flight at once in all.
    pub max_in_flight: usize,
    /// An attempt not answered within this is a failure.
    pub timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(3600),
            per_target_concurrency: 8,
            max_in_flight: 256,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The worker's own bookkeeping: limits and the groups of what is in flight.
struct Slots {
    global: Arc<Semaphore>,
    groups: HashMap<String, Arc<Semaphore>>,
    /// In-flight deliveries per group (the first entries of the group's due range).
    in_flight: HashMap<String, usize>,
}

/// A finished attempt: the delivery's id and group.
type Finished = (Uuid, String);

impl Engine {
    /// Delivers the outbox until `stop` turns true, then lets attempts under way finish.
    pub async fn run_delivery_worker(
        &self,
        transport: Arc<dyn Transport>,
        policy: DeliveryPolicy,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut slots = Slots {
            global: Arc::new(Semaphore::new(policy.max_in_flight.max(1))),
            groups: HashMap::new(),
            in_flight: HashMap::new(),
        };
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        loop {
            while let Some(finished) = tasks.try_join_next() {
                self.finished(&mut slots, finished);
            }
            let wait = match self.dispatch(&transport, &policy, &mut slots, &mut tasks) {
                Ok(wait) => wait,
                Err(err) => {
                    tracing::error!(error = %err, "delivery worker pass failed; retrying");
                    Duration::from_millis(500)
                }
            };
            tokio::select! {
                () = self.inner.deliveries.wake.notified() => {}
                Some(finished) = tasks.join_next(), if !tasks.is_empty() => self.finished(&mut slots, finished),
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        // Attempts under way end within their timeout; their outcomes are recorded before the
        // store closes.
        let drain = async {
            while let Some(finished) = tasks.join_next().await {
                self.finished(&mut slots, finished);
            }
        };
        if tokio::time::timeout(policy.timeout + Duration::from_secs(5), drain).await.is_err() {
            tracing::warn!("delivery attempts still running at shutdown; they will be retried");
        }
    }

    fn finished(&self, slots: &mut Slots, finished: std::result::Result<Finished, tokio::task::JoinError>) {
        let Ok((id, group)) = finished else {
            tracing::error!("a delivery attempt panicked");
            return;
        };
        if let Some(count) = slots.in_flight.get_mut(&group) {
            *count = count.saturating_sub(1);
        }
        self.inner.deliveries.release(&id);
    }

    /// Starts an attempt for every due delivery of every group with free capacity; returns
    /// how long to sleep before the next delivery falls due (at most a second, so a moved
    /// clock is noticed).
    fn dispatch(
        &self,
        transport: &Arc<dyn Transport>,
        policy: &DeliveryPolicy,
        slots: &mut Slots,
        tasks: &mut JoinSet<Finished>,
    ) -> Result<Duration> {
        let now = self.now();
        let mut wait = Duration::from_secs(1);
        for group in self.store().due_groups()? {
            let semaphore = Arc::clone(
                slots
                    .groups
                    .entry(group.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(policy.per_target_concurrency.max(1)))),
            );
            let busy = slots.in_flight.get(&group).copied().unwrap_or(0);
            let free = semaphore.available_permits();
            if free > 0 {
                for (_, id) in self.store().due_in_group(&group, now, busy + free)? {
                    if self.inner.deliveries.is_in_flight(&id) {
                        continue;
                    }
                    let Ok(global) = Arc::clone(&slots.global).try_acquire_owned() else {
                        return Ok(Duration::from_secs(1));
                    };
                    let Ok(local) = Arc::clone(&semaphore).try_acquire_owned() else { break };
                    self.inner.deliveries.claim(id);
                    *slots.in_flight.entry(group.clone()).or_insert(0) += 1;
                    let engine = self.clone();
                    let (transport, policy, group) = (Arc::clone(transport), policy.clone(), group.clone());
                    tasks.spawn(async move {
                        engine.attempt(id, transport.as_ref(), &policy, local, global).await;
                        (id, group)
                    });
                }
            }
            if let Some(next) = self.store().next_due_in_group(&group, now)? {
                wait = wait.min((next - now).to_std().unwrap_or_default());
            }
        }
        Ok(wait)
    }

    /// One attempt at delivery `id`, its outcome recorded durably. The group's slot is freed
    /// as soon as the receiver answered; the global one once the outcome is on disk, which
    /// bounds the deliveries a crash can leave sent but not recorded.
    async fn attempt(
        &self,
        id: Uuid,
        transport: &dyn Transport,
        policy: &DeliveryPolicy,
        local: OwnedSemaphorePermit,
        global: OwnedSemaphorePermit,
    ) {
        // The due entry was read from what the store has applied, which may not be flushed
        // yet: send only once it is durable, so nothing leaves for a run that a crash then
        // undoes and the processor redoes.
        if let Err(err) = self.store().barrier().await {
            tracing::error!(error = %err, %id, "waiting for the outbox to be durable failed; it will be retried");
            return;
        }
        let delivery = match self.store().delivery(&id) {
            Ok(Some(delivery)) if delivery.next_attempt_at.is_some() => delivery,
            Ok(_) => return,
            Err(err) => {
                tracing::error!(error = %err, %id, "reading a delivery failed");
                return;
            }
        };
        let at = self.now();
        let started = Instant::now();
        let attempted = match self.outgoing(&delivery, at) {
            Ok(outgoing) => match tokio::time::timeout(policy.timeout, transport.send(&outgoing)).await {
                Ok(attempted) => attempted,
                Err(_) => Attempted {
                    error: Some(format!("no answer within {} ms", policy.timeout.as_millis())),
                    ..Attempted::default()
                },
            },
            Err(attempted) => attempted,
        };
        drop(local);
        let latency = started.elapsed();
        metrics::histogram!("tend_delivery_attempt_seconds").record(latency.as_secs_f64());
        let previous_due = delivery.next_attempt_at;
        let updated = record_attempt(delivery, attempted, at, latency, policy);
        metrics::counter!("tend_delivery_attempts_total", "outcome" => updated.status.as_str()).increment(1);
        if let Err(err) = self.store().update_deliveries(vec![(updated, previous_due)]).await {
            tracing::error!(error = %err, %id, "recording a delivery attempt failed; it will be retried");
        }
        drop(global);
        self.inner.deliveries.wake();
    }

    /// What to send for a delivery, or why it can't be sent.
    fn outgoing(
        &self,
        delivery: &Delivery,
        at: chrono::DateTime<chrono::Utc>,
    ) -> std::result::Result<Outgoing, Attempted> {
        let failed =
            |error: String, permanent: bool| Attempted { error: Some(error), permanent, ..Attempted::default() };
        let body =
            || serde_json::to_vec(&delivery.body).map_err(|err| failed(format!("encoding the body: {err}"), true));
        let webhook = |url: String, secret: Option<String>, headers: Vec<(String, String)>| {
            Ok(Outgoing::Webhook {
                url,
                secret,
                headers,
                id: delivery.id.to_string(),
                timestamp: at.timestamp(),
                body: body()?,
            })
        };
        match &delivery.target {
            DeliveryTarget::Webhook(name) => {
                // A workflow names its endpoint in text; one that breaks the name rule names none.
                let found =
                    EndpointName::parse(name).map_or(Ok(None), |name| self.store().endpoint(&delivery.space, &name));
                let endpoint = match found {
                    Ok(Some(endpoint)) => endpoint,
                    Ok(None) => {
                        return Err(failed(
                            format!("no webhook endpoint `{name}` in space `{}`", delivery.space),
                            false,
                        ))
                    }
                    Err(err) => return Err(failed(err.to_string(), false)),
                };
                if !endpoint.enabled {
                    return Err(failed(format!("webhook endpoint `{name}` is disabled"), false));
                }
                webhook(endpoint.url, Some(endpoint.secret), endpoint.headers.into_iter().collect())
            }
            DeliveryTarget::Url(url) => webhook(url.clone(), None, Vec::new()),
            DeliveryTarget::Email(email) => {
                let text = |key: &str| email.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
                let to: Vec<String> = match email.get("to") {
                    Some(serde_json::Value::String(one)) => vec![one.clone()],
                    Some(serde_json::Value::Array(many)) => {
                        many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
                    }
                    _ => Vec::new(),
                };
                let (Some(subject), Some(body)) = (text("subject"), text("body")) else {
                    return Err(failed("the email has no subject or body".into(), true));
                };
                if to.is_empty() {
                    return Err(failed("the email has no recipient".into(), true));
                }
                Ok(Outgoing::Email { id: delivery.id.to_string(), to, subject, body })
            }
        }
    }
}

/// The delivery after one attempt: delivered, dead, or due again after a backoff.
fn record_attempt(
    mut delivery: Delivery,
    attempted: Attempted,
    at: chrono::DateTime<chrono::Utc>,
    latency: Duration,
    policy: &DeliveryPolicy,
) -> Delivery {
    let mut response = attempted.response;
    if let Some(text) = &mut response {
        if text.len() > RESPONSE_SLICE {
            let mut end = RESPONSE_SLICE;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
    }
    delivery.attempts.push(Attempt {
        at,
        status: attempted.status,
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        response,
        error: attempted.error,
    });
    if delivery.attempts.len() > MAX_KEPT_ATTEMPTS {
        let excess = delivery.attempts.len() - MAX_KEPT_ATTEMPTS;
        delivery.attempts.drain(..excess);
    }
    delivery.round_attempts += 1;
    if attempted.accepted {
        delivery.status = DeliveryStatus::Delivered;
        delivery.delivered_at = Some(at);
        delivery.next_attempt_at = None;
    } else if attempted.permanent || delivery.round_attempts >= policy.max_attempts {
        delivery.status = DeliveryStatus::Dead;
        delivery.next_attempt_at = None;
    } else {
        delivery.status = DeliveryStatus::Pending;
        let delay = chrono::Duration::from_std(backoff(policy, delivery.round_attempts)).unwrap_or_default();
        delivery.next_attempt_at = Some(at + delay);
    }
    delivery
}
