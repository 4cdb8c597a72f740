//! Size limits on untrusted input. Every decoder takes them explicitly so that a caller cannot
//! forget them, and every refusal names the limit that was hit.

/// Bounds applied when decoding events from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted NDJSON line (one event), in bytes; it also bounds every field in it.
    pub max_line_bytes: usize,
    /// Most events in one batch (one HTTP request or one chunk of a file).
    pub max_batch_events: usize,
    /// Most labels on one event.
    pub max_labels: usize,
    /// How far in the future of the receiving clock an event's time may lie, in seconds.
    pub max_future_skew_seconds: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 64 * 1024,
            max_batch_events: 100_000,
            max_labels: 32,
            max_future_skew_seconds: 24 * 3600,
        }
    }
}
