//! Seasonal volume baselines per endpoint: floods and sudden drops (an outage is an incident too).
//!
//! Events are counted per endpoint in buckets of event time. Each endpoint keeps a robust
//! Holt-Winters-like baseline: an EWMA level, 24 hour-of-day seasonal factors and an EWMA of the
//! absolute deviation. When a bucket closes, its count is compared with `level × season[hour]`:
//! far above is a flood, far below (on an endpoint that normally has traffic) is a drop. The
//! values that update the baseline are clipped to the expected band first, so a flood does not
//! teach the baseline that floods are normal. A flood is also flagged before its bucket closes,
//! as soon as the running count passes the band, which keeps the detection delay within seconds.
//!
//! Endpoints: for HTTP, the host and a path template (`/product/*`: the first path segment, and `/*`
//! for anything under it); for flows, the destination port and transport. The
//! detector groups by `asset` (the host, or a flow's destination), so one partition owns all of an
//! endpoint's traffic.

use chrono::{DateTime, Timelike, Utc};
use ensuresec_model::{
    Alert, Detector, EntityKey, EntityKind, Event, EventData, EventType, Severity,
};
use serde_json::json;

use crate::hash::{HashedMap, hash_bytes, mix};

/// Settings of the baselines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineConfig {
    /// Length of a counting bucket, in seconds.
    pub bucket_seconds: u32,
    /// Buckets an endpoint must have seen before it may alert.
    pub warmup_buckets: u32,
    /// Width of the normal band, in mean absolute deviations.
    pub band: f64,
    /// A flood needs at least this many events in a bucket and this many times the expectation.
    pub flood_min_count: f64,
    /// See `flood_min_count`.
    pub flood_min_factor: f64,
    /// A drop is only reported on endpoints expecting at least this many events per bucket.
    pub drop_min_expected: f64,
    /// A drop needs the count to fall below this share of the expectation.
    pub drop_max_factor: f64,
    /// Smoothing of the level (per bucket).
    pub alpha: f64,
    /// Smoothing of the seasonal factors (per bucket of that hour).
    pub gamma: f64,
    /// Most endpoints tracked; new ones beyond it are refused and counted.
    pub max_endpoints: usize,
    /// At most one alert per endpoint and kind in this many seconds.
    pub cooldown_seconds: u32,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            bucket_seconds: 10,
            warmup_buckets: 60,
            band: 6.0,
            flood_min_count: 50.0,
            flood_min_factor: 4.0,
            drop_min_expected: 20.0,
            drop_max_factor: 0.2,
            alpha: 0.02,
            gamma: 0.05,
            max_endpoints: 10_000,
            cooldown_seconds: 300,
        }
    }
}

struct Endpoint {
    asset: String,
    name: String,
    bucket: i64,
    count: f64,
    level: f64,
    season: [f64; 24],
    deviation: f64,
    buckets_seen: u32,
    last_flood_ms: Option<i64>,
    last_drop_ms: Option<i64>,
}

impl Endpoint {
    fn expected(&self, hour: usize) -> f64 {
        self.level * self.season[hour]
    }
}

/// Floods and drops of volume per endpoint, against a seasonal baseline.
pub struct BaselineDetector {
    config: BaselineConfig,
    endpoints: HashedMap<Endpoint>,
    latest_bucket: i64,
    refused: u64,
}

fn hour_of(ms: i64) -> usize {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or(0, |t| t.hour() as usize)
}

/// The path template of an HTTP path, its route: the first segment, and `/*` for anything under
/// it (a first segment holding digits is an id and becomes `*` too).
pub fn path_template(path: &str) -> String {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let Some(first) = segs.next() else {
        return "/".into();
    };
    let first = if first.bytes().any(|b| b.is_ascii_digit()) {
        "*"
    } else {
        first
    };
    if segs.next().is_some() {
        format!("/{first}/*")
    } else {
        format!("/{first}")
    }
}

fn endpoint_name(event: &Event) -> Option<String> {
    match &event.data {
        EventData::HttpRequest(h) => Some(path_template(&h.path)),
        EventData::NetworkFlow(f) => {
            Some(format!("{:?}/{}", f.transport, f.dst_port).to_lowercase())
        }
        _ => None,
    }
}

impl BaselineDetector {
    /// A detector with these settings.
    pub fn new(config: BaselineConfig) -> Self {
        BaselineDetector {
            config,
            endpoints: HashedMap::default(),
            latest_bucket: i64::MIN,
            refused: 0,
        }
    }

    /// New endpoints refused because the table was full.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    fn bucket_ms(&self) -> i64 {
        i64::from(self.config.bucket_seconds.max(1)) * 1000
    }

    /// Closes an endpoint's buckets up to (not including) `bucket`, checking each for a drop and
    /// learning from it. Long gaps close at most one day of empty buckets.
    fn close_until(
        config: &BaselineConfig,
        bucket_ms: i64,
        e: &mut Endpoint,
        bucket: i64,
        out: &mut Vec<Alert>,
    ) {
        let day = 86_400_000 / bucket_ms;
        if bucket - e.bucket > day {
            e.bucket = bucket - day;
            e.count = 0.0;
        }
        while e.bucket < bucket {
            let at_ms = e.bucket * bucket_ms;
            let hour = hour_of(at_ms);
            let expected = e.expected(hour);
            let x = e.count;
            let band = config.band * e.deviation.max(1.0);
            let close_ms = at_ms + bucket_ms;
            if e.buckets_seen >= config.warmup_buckets
                && expected >= config.drop_min_expected
                && x < expected - band
                && x <= expected * config.drop_max_factor
                && e.last_drop_ms
                    .is_none_or(|t| close_ms - t >= i64::from(config.cooldown_seconds) * 1000)
            {
                e.last_drop_ms = Some(close_ms);
                out.push(alert(
                    e,
                    "volume-drop",
                    close_ms,
                    x,
                    expected,
                    e.deviation,
                    config,
                    Severity::Medium,
                ));
            }
            // Learn from the value clipped to the band, so that floods do not become normal.
            let clipped = if e.buckets_seen < config.warmup_buckets {
                x
            } else {
                x.clamp((expected - band).max(0.0), expected + band)
            };
            if e.buckets_seen == 0 {
                e.level = clipped.max(0.1);
            } else {
                let season = e.season[hour].max(0.05);
                e.level += config.alpha * (clipped / season - e.level);
                e.level = e.level.max(0.01);
                e.season[hour] += config.gamma * (clipped / e.level - e.season[hour]);
                e.season[hour] = e.season[hour].clamp(0.05, 20.0);
            }
            let err = (clipped - e.expected(hour)).abs();
            e.deviation += config.alpha * 4.0 * (err - e.deviation);
            e.buckets_seen = e.buckets_seen.saturating_add(1);
            e.bucket += 1;
            e.count = 0.0;
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one call site per alert kind; a struct would only rename the arguments"
)]
fn alert(
    e: &Endpoint,
    rule: &str,
    at_ms: i64,
    count: f64,
    expected: f64,
    deviation: f64,
    config: &BaselineConfig,
    severity: Severity,
) -> Alert {
    let what = if rule == "volume-flood" {
        "Traffic flood"
    } else {
        "Sudden traffic drop"
    };
    Alert {
        id: 0,
        time: DateTime::from_timestamp_millis(at_ms).unwrap_or_default(),
        detector: "baseline".into(),
        rule_id: rule.into(),
        title: format!("{what} on {} {}", e.asset, e.name),
        severity,
        confidence: 0.7,
        entity: EntityKey {
            kind: EntityKind::Asset,
            value: e.asset.clone(),
        },
        evidence: json!({
            "endpoint": e.name,
            "count": count,
            "expected": (expected * 100.0).round() / 100.0,
            "deviation": (deviation * 100.0).round() / 100.0,
            "bucket_seconds": config.bucket_seconds,
        }),
        tags: if rule == "volume-flood" {
            vec![
                "attack:T1498".into(),
                "attack:T1499".into(),
                "capec:125".into(),
            ]
        } else {
            vec!["attack:T1489".into()]
        },
        incident_id: None,
        ledger_index: None,
    }
}

impl Detector for BaselineDetector {
    fn name(&self) -> &str {
        "baseline/asset"
    }

    fn group_by(&self) -> Option<EntityKind> {
        Some(EntityKind::Asset)
    }

    fn accepts(&self, event_type: EventType) -> bool {
        matches!(event_type, EventType::HttpRequest | EventType::NetworkFlow)
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let Some(asset) = event.entity(EntityKind::Asset) else {
            return;
        };
        let Some(name) = endpoint_name(event) else {
            return;
        };
        let bucket_ms = self.bucket_ms();
        let bucket = event.time.timestamp_millis().div_euclid(bucket_ms);
        // A new bucket for the partition: close every endpoint's, so silent endpoints show drops.
        if bucket > self.latest_bucket {
            if self.latest_bucket != i64::MIN {
                let mut keys: Vec<u64> = self.endpoints.keys().copied().collect();
                keys.sort_unstable();
                for k in keys {
                    if let Some(e) = self.endpoints.get_mut(&k) {
                        Self::close_until(&self.config, bucket_ms, e, bucket, out);
                    }
                }
            }
            self.latest_bucket = bucket;
        }
        let key = mix(crate::hash::hash_entity(asset) ^ hash_bytes(name.as_bytes()));
        if !self.endpoints.contains_key(&key) {
            if self.endpoints.len() >= self.config.max_endpoints {
                self.refused += 1;
                return;
            }
            self.endpoints.insert(
                key,
                Endpoint {
                    asset: asset.to_string(),
                    name,
                    bucket,
                    count: 0.0,
                    level: 0.0,
                    season: [1.0; 24],
                    deviation: 0.0,
                    buckets_seen: 0,
                    last_flood_ms: None,
                    last_drop_ms: None,
                },
            );
        }
        let Some(e) = self.endpoints.get_mut(&key) else {
            return;
        };
        if bucket > e.bucket {
            Self::close_until(&self.config, bucket_ms, e, bucket, out);
        } else if bucket < e.bucket {
            return; // Too late for a closed bucket.
        }
        e.count += 1.0;
        let c = &self.config;
        let time_ms = event.time.timestamp_millis();
        let expected = e.expected(hour_of(time_ms));
        if e.buckets_seen >= c.warmup_buckets
            && e.count >= c.flood_min_count
            && e.count > expected + c.band * e.deviation.max(1.0)
            && e.count >= expected * c.flood_min_factor
            && e.last_flood_ms
                .is_none_or(|t| time_ms - t >= i64::from(c.cooldown_seconds) * 1000)
        {
            e.last_flood_ms = Some(time_ms);
            out.push(alert(
                e,
                "volume-flood",
                time_ms,
                e.count,
                expected,
                e.deviation,
                c,
                Severity::High,
            ));
        }
    }

    fn tracked_entities(&self) -> usize {
        self.endpoints.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_hide_ids_and_keep_the_route() {
        assert_eq!(path_template("/product/aspirin-500"), "/product/*");
        assert_eq!(path_template("/order/12345/items"), "/order/*");
        assert_eq!(path_template("/"), "/");
        assert_eq!(path_template("/checkout"), "/checkout");
        assert_eq!(path_template("/123"), "/*");
    }
}

#[cfg(test)]
mod behaviour_tests {
    use chrono::{Duration, TimeZone, Utc};
    use ensuresec_model::event::HttpRequest;

    use super::*;

    fn get(path: &str, at: DateTime<Utc>) -> Event {
        Event {
            time: at,
            ingest_time: None,
            source: "t".into(),
            labels: Default::default(),
            data: EventData::HttpRequest(HttpRequest {
                client_ip: "192.0.2.1".parse().expect("literal address"),
                method: "GET".into(),
                host: Some("shop.example".into()),
                path: path.into(),
                query: None,
                http_version: None,
                status: Some(200),
                user_agent: None,
                referer: None,
                headers: vec![],
                body: None,
                bytes_sent: None,
                duration_ms: None,
                session: None,
                account: None,
                device: None,
            }),
        }
    }

    /// Steady traffic on two endpoints for an hour, then a flood on one and silence on the other.
    #[test]
    fn floods_and_drops_are_flagged_and_steady_traffic_is_not() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
            .single()
            .expect("valid time");
        let mut d = BaselineDetector::new(BaselineConfig::default());
        let mut out = Vec::new();
        // 5 per second on each endpoint (50 per bucket), for an hour.
        for i in 0..18_000 {
            let at = t0 + Duration::milliseconds(200 * i);
            d.on_event(&get("/product/a", at), &mut out);
            d.on_event(&get("/checkout", at), &mut out);
        }
        assert!(out.is_empty(), "steady traffic: {out:#?}");
        // Flood: 400 per second on /product/* for 20 s, and /checkout goes silent.
        let flood_start = t0 + Duration::hours(1);
        for i in 0..8_000 {
            d.on_event(
                &get(
                    "/product/b",
                    flood_start + Duration::microseconds(2_500 * i),
                ),
                &mut out,
            );
        }
        let flood: Vec<&Alert> = out.iter().filter(|a| a.rule_id == "volume-flood").collect();
        assert_eq!(flood.len(), 1, "{out:#?}");
        assert!(
            flood[0].time - flood_start < Duration::seconds(5),
            "detected within 5 s"
        );
        assert_eq!(flood[0].evidence["endpoint"], "/product/*");
        let drops: Vec<&Alert> = out.iter().filter(|a| a.rule_id == "volume-drop").collect();
        assert_eq!(drops.len(), 1, "{out:#?}");
        assert_eq!(drops[0].evidence["endpoint"], "/checkout");
    }
}
