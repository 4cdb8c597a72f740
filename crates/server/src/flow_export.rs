//! The flow-export collector: a [`Source`] that receives NetFlow v5, v9 and IPFIX export packets
//! over UDP (from routers, firewalls, `softflowd`, `nprobe`…) and feeds their flows into the
//! pipeline as `network_flow` events, where the network scenarios (scans, floods, amplification)
//! see them.
//!
//! * **Batching.** Flows are handed to the ingestor when a batch is full or when the flush interval
//!   has passed since the first flow of the batch, whichever comes first, so that a quiet exporter
//!   still reaches detection within the interval.
//! * **Bad input.** A packet that does not decode is counted (metric, by outcome) and logged at
//!   debug level with its exporter, and the collector goes on: exporters are outside our control.
//!   Packets are read into a 64 KiB buffer, the largest a UDP datagram can be; the decoder bounds
//!   its template cache.
//! * **Delivery.** UDP is fire-and-forget: what arrives while the pipeline applies back-pressure
//!   waits in the socket's receive buffer, and what overflows it is lost by the kernel, as with
//!   every flow collector. The loss shows in the exporters' sequence numbers.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use ensuresec_model::Event;
use ensuresec_netflow::FlowRecord;
use ensuresec_netflow::export::{ExportConfig, ExportDecoder};
use ensuresec_pipeline::{Ingestor, Source, SourceError};
use tokio::net::UdpSocket;

/// Metric: export packets received, by `outcome` (`decoded`, `bad`).
pub const PACKETS_METRIC: &str = "ensuresec_flow_export_packets_total";
/// Metric: flow records decoded from export packets.
pub const FLOWS_METRIC: &str = "ensuresec_flow_export_flows_total";

/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// Receives flow exports on a bound UDP socket.
pub struct FlowExportSource {
    socket: UdpSocket,
    name: String,
    flush_interval: Duration,
    max_batch_flows: usize,
}

impl FlowExportSource {
    /// A collector on `socket` (already bound, so the caller can print its address), handing
    /// batches of at most `max_batch_flows` flows to the pipeline at least every `flush_interval`.
    pub fn new(socket: UdpSocket, flush_interval: Duration, max_batch_flows: usize) -> Self {
        let name = socket
            .local_addr()
            .map_or_else(|_| "flow-export".into(), |a| format!("flow-export:{a}"));
        FlowExportSource {
            socket,
            name,
            flush_interval,
            max_batch_flows: max_batch_flows.max(1),
        }
    }
}

/// The event source name of flows from one exporter.
fn source_of(exporter: SocketAddr) -> String {
    format!("netflow:{}", exporter.ip())
}

#[async_trait]
impl Source for FlowExportSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(self: Box<Self>, ingestor: Ingestor) -> Result<(), SourceError> {
        let FlowExportSource {
            socket,
            name,
            flush_interval,
            max_batch_flows,
        } = *self;
        let fail = |e: &dyn std::fmt::Display| SourceError {
            source_name: name.clone(),
            message: e.to_string(),
        };
        let mut decoder = ExportDecoder::new(ExportConfig::default());
        let mut packet = vec![0u8; MAX_DATAGRAM];
        let mut flows: Vec<FlowRecord> = Vec::new();
        let mut batch: Vec<Event> = Vec::new();
        // When the oldest flow of the pending batch must be handed on at the latest.
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let received = match deadline {
                Some(at) => tokio::select! {
                    r = socket.recv_from(&mut packet) => Some(r),
                    () = tokio::time::sleep_until(at) => None,
                },
                None => Some(socket.recv_from(&mut packet).await),
            };
            if let Some(received) = received {
                let (len, exporter) = received.map_err(|e| fail(&e))?;
                flows.clear();
                match decoder.decode(exporter.ip(), &packet[..len], &mut flows) {
                    Ok(()) => {
                        metrics::counter!(PACKETS_METRIC, "outcome" => "decoded").increment(1)
                    }
                    Err(e) => {
                        metrics::counter!(PACKETS_METRIC, "outcome" => "bad").increment(1);
                        tracing::debug!(%exporter, error = %e, "flow export packet refused");
                    }
                }
                metrics::counter!(FLOWS_METRIC).increment(flows.len() as u64);
                let source = source_of(exporter);
                batch.extend(flows.drain(..).map(|f| f.into_event(&source)));
                if !batch.is_empty() && deadline.is_none() {
                    deadline = Some(tokio::time::Instant::now() + flush_interval);
                }
                if batch.len() < max_batch_flows {
                    continue;
                }
            }
            if !batch.is_empty() {
                ingestor
                    .ingest(std::mem::take(&mut batch))
                    .await
                    .map_err(|e| fail(&e))?;
            }
            deadline = None;
        }
    }
}
