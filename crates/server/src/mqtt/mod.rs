//! The MQTT source: subscribes to a broker (Mosquitto, EMQX, HiveMQ…) where carriers' scanners,
//! parcel trackers, lockers and door controllers publish, and feeds what they publish into the
//! pipeline. Built on `rumqttc`, the maintained pure-Rust MQTT client.
//!
//! * **Payloads** are events in the shape of `POST /v1/events` (one JSON object, or NDJSON),
//!   decoded by the same strict decoder. A message that does not decode is refused whole, logged
//!   with its topic and the line and field at fault, counted, and acknowledged with its batch (a
//!   broker would otherwise redeliver it forever).
//! * **Delivery.** QoS 1 with manual acknowledgements and a persistent session: a message is
//!   acknowledged to the broker only after its events are durable in the store, so that a crash
//!   before that makes the broker deliver it again. Messages are handed to the ingestor in batches
//!   (full, or the flush interval after the batch's first message).
//! * **Once.** A message whose events were stored but whose acknowledgement was lost (a crash,
//!   a dropped connection) is delivered again, flagged as a duplicate under the same packet id.
//!   Each batch keeps a mark per message (session, packet id, SHA-256 of topic and payload) in
//!   its transaction; a copy flagged as a duplicate whose mark is stored, or that the pending
//!   batch already holds, is acknowledged and left out. Only flagged copies are looked up: a new
//!   message that happens to repeat an earlier one is stored.
//! * **Faults.** A lost connection is retried with exponential back-off (1 s doubling to 60 s);
//!   subscriptions are renewed on every connection. The connection runs in a task of its own
//!   ([`connection`]), so that acknowledgements go out whatever the batching loop is doing.
//! * **TLS** (rustls) when the section has a `tls` table: the broker's certificate checked
//!   against its CA file or the platform's roots, and a client certificate presented when
//!   configured (mutual TLS).

mod connection;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ensuresec_model::{Clock, Event, Limits, decode_batch};
use ensuresec_pipeline::{IngestError, Ingestor, Source, SourceError};
use ensuresec_store::{MessageMark, Resend};
use rumqttc::{AsyncClient, MqttOptions, Publish, QoS, TlsConfiguration, Transport};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::config::MqttConfig;

/// Metric: MQTT messages received, by `outcome` (`ingested`, `bad`, `redelivered`: a copy of a
/// message already stored or pending, left out).
pub const MESSAGES_METRIC: &str = "ensuresec_mqtt_messages_total";
/// Metric: connection failures to the broker.
pub const RECONNECTS_METRIC: &str = "ensuresec_mqtt_reconnects_total";

/// Subscribes to a broker and ingests what is published.
pub struct MqttSource {
    config: MqttConfig,
    password: Option<String>,
    limits: Limits,
    clock: Arc<dyn Clock>,
    name: String,
    /// The broker session the packet ids belong to, for the messages' marks.
    session: String,
    /// The TLS client configuration, when the broker is reached over TLS.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl MqttSource {
    /// A source for one `[[sources.mqtt]]` section; `password` was read from its secret. Fails
    /// when its TLS files cannot be used, naming the file.
    pub fn new(
        config: MqttConfig,
        password: Option<String>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Result<MqttSource, String> {
        let tls = match &config.tls {
            None => None,
            Some(t) => Some(Arc::new(
                ensuresec_gateway::client_tls::client_config(
                    t.ca_file.as_deref(),
                    "sources.mqtt.tls.ca_file",
                    t.client.as_ref(),
                )
                .map_err(|e| format!("sources.mqtt.tls: {e}"))?,
            )),
        };
        let name = format!("mqtt:{}", config.broker);
        let session = format!("mqtt:{}/{}", config.broker, config.client_id);
        Ok(MqttSource {
            config,
            password,
            limits,
            clock,
            name,
            session,
            tls,
        })
    }

    fn options(&self) -> Result<MqttOptions, String> {
        let (host, port) = self
            .config
            .broker
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("broker `{}` is not HOST:PORT", self.config.broker))?;
        let mut o = MqttOptions::new(&self.config.client_id, host, port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_session(false);
        o.set_manual_acks(true);
        o.set_max_packet_size(self.config.max_message_bytes, 64 * 1024);
        if let Some(tls) = &self.tls {
            o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::clone(tls),
            )));
        }
        if let Some(user) = &self.config.username {
            o.set_credentials(user, self.password.clone().unwrap_or_default());
        }
        Ok(o)
    }
}

/// A batch waiting to be ingested, with the messages to acknowledge once it is durable.
/// Bad messages are acknowledged with the batch too: MQTT wants acknowledgements in the order the
/// messages arrived.
#[derive(Default)]
struct Pending {
    events: Vec<Event>,
    messages: Vec<Publish>,
    marks: Vec<MessageMark>,
    bad: usize,
    /// Copies of messages stored before, acknowledged with the batch but not in it.
    again: usize,
}

#[async_trait]
impl Source for MqttSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(self: Box<Self>, ingestor: Ingestor) -> Result<(), SourceError> {
        let fail = |message: String| SourceError {
            source_name: self.name.clone(),
            message,
        };
        let (client, events) =
            AsyncClient::new(self.options().map_err(fail)?, connection::REQUEST_ROOM);
        let (sender, mut received) = mpsc::channel(connection::RECEIVED_ROOM);
        let driver = tokio::spawn(connection::drive(
            events,
            client.clone(),
            self.config.broker.clone(),
            self.config.topics.clone(),
            sender,
        ));
        let _stop = AbortOnDrop(driver);
        let flush = Duration::from_millis(self.config.flush_interval_milliseconds);
        let mut pending = Pending::default();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            // `recv` is cancel-safe: a message is never lost to the timer.
            let next = match deadline {
                Some(at) => tokio::select! {
                    m = received.recv() => Some(m),
                    () = tokio::time::sleep_until(at) => None,
                },
                None => Some(received.recv().await),
            };
            match next {
                Some(Some(message)) => {
                    self.take(message, &mut pending, &ingestor)
                        .await
                        .map_err(|e| fail(e.to_string()))?;
                    if !pending.messages.is_empty() && deadline.is_none() {
                        deadline = Some(tokio::time::Instant::now() + flush);
                    }
                    if pending.events.len() < self.config.max_batch_events {
                        continue;
                    }
                }
                Some(None) => return Err(fail("the MQTT connection task ended".into())),
                None => {}
            }
            deadline = None;
            let batch = std::mem::take(&mut pending);
            if !batch.events.is_empty() {
                ingestor
                    .ingest_batch(batch.events, None, Resend::Marks(batch.marks))
                    .await
                    .map_err(|e| fail(e.to_string()))?;
            }
            metrics::counter!(MESSAGES_METRIC, "outcome" => "ingested")
                .increment((batch.messages.len() - batch.bad - batch.again) as u64);
            for m in &batch.messages {
                client.ack(m).await.map_err(|e| fail(e.to_string()))?;
            }
        }
    }
}

/// Ends the connection task when the batching loop ends, whichever way it does.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl MqttSource {
    /// Decodes one message into the pending batch, or leaves it out when it is a copy of a
    /// message stored before or pending.
    async fn take(
        &self,
        message: Publish,
        pending: &mut Pending,
        ingestor: &Ingestor,
    ) -> Result<(), IngestError> {
        // QoS 0 messages have no packet id, and are never delivered again.
        let mark = (message.qos != QoS::AtMostOnce).then(|| self.mark(&message));
        if let Some(mark) = mark.as_ref().filter(|_| message.dup) {
            if pending.marks.contains(mark) {
                // Delivered again after a reconnect while its first copy waits in this batch:
                // that copy's acknowledgement, under the same packet id, answers both.
                metrics::counter!(MESSAGES_METRIC, "outcome" => "redelivered").increment(1);
                return Ok(());
            }
            if ingestor.is_stored(mark).await? {
                metrics::counter!(MESSAGES_METRIC, "outcome" => "redelivered").increment(1);
                tracing::debug!(topic = %message.topic, pkid = message.pkid, "MQTT message stored before, acknowledged again");
                pending.again += 1;
                pending.messages.push(message);
                return Ok(());
            }
        }
        pending.marks.extend(mark);
        match decode_batch(&message.payload, &self.limits, self.clock.now()) {
            Ok(events) => pending.events.extend(events),
            Err(e) => {
                metrics::counter!(MESSAGES_METRIC, "outcome" => "bad").increment(1);
                tracing::warn!(topic = %message.topic, error = %e, "MQTT message refused");
                pending.bad += 1;
            }
        }
        pending.messages.push(message);
        Ok(())
    }

    /// The message's mark: its session and packet id, and the SHA-256 of its topic and payload.
    fn mark(&self, message: &Publish) -> MessageMark {
        let mut digest = Sha256::new();
        digest.update(message.topic.as_bytes());
        digest.update([0]);
        digest.update(&message.payload);
        MessageMark {
            source: self.session.clone(),
            id: u32::from(message.pkid),
            digest: digest.finalize().into(),
        }
    }
}
