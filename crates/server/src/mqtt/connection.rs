//! The connection to the broker, driven by a task of its own: it polls `rumqttc`'s event loop
//! without pause, reconnects with back-off, renews the subscriptions, and hands each message to
//! the batching loop over a channel.
//!
//! Why a task of its own: the event loop sends our acknowledgements only while it is polled.
//! Polled from the batching loop, a batch with more acknowledgements than the request channel
//! holds waited for room that only the next poll would make, and the source stopped for good
//! (the broker then dropped what it could no longer queue). And `EventLoop::poll` is not
//! documented as safe to cancel, which a poll raced against the flush timer would do.

use std::time::Duration;

use rumqttc::{AsyncClient, EventLoop, Packet, Publish, QoS};
use tokio::sync::mpsc;

use super::RECONNECTS_METRIC;

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Room in the request channel to the event loop: more than the acknowledgements that can be
/// waiting at once. A broker has at most 65,535 messages in flight to a session (the packet
/// ids), and each is acknowledged at most twice (its first copy, and a copy delivered again
/// after a reconnect), so acknowledging never waits. The channel grows only as it fills.
pub(super) const REQUEST_ROOM: usize = 2 * 65_536;

/// Messages received and not yet taken by the batching loop. When it is full the connection
/// stops reading, and the broker keeps the rest (or drops past its own queue limit).
pub(super) const RECEIVED_ROOM: usize = 4_096;

/// Polls `events` until the batching loop hangs up `messages`: subscribes to `topics` on every
/// connection, retries a failed one after 1 s doubling to 60 s.
pub(super) async fn drive(
    mut events: EventLoop,
    client: AsyncClient,
    broker: String,
    topics: Vec<String>,
    messages: mpsc::Sender<Publish>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match events.poll().await {
            Ok(rumqttc::Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_secs(1);
                tracing::info!(broker = %broker, "connected to the MQTT broker");
                for topic in &topics {
                    // Queued for the event loop; sent on this connection by the next polls.
                    if client.subscribe(topic, QoS::AtLeastOnce).await.is_err() {
                        return;
                    }
                }
            }
            Ok(rumqttc::Event::Incoming(Packet::Publish(message))) => {
                if messages.send(message).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                if messages.is_closed() {
                    return;
                }
                metrics::counter!(RECONNECTS_METRIC).increment(1);
                tracing::warn!(broker = %broker, error = %e, retry_in = ?backoff, "MQTT connection failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
