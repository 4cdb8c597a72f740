//! Events per second through the behaviour detectors, and memory per tracked entity.
//!
//! `cargo bench -p ensuresec-behaviour --bench behaviour`; the memory figures are printed first.
//!
//! `BEHAVIOUR_BENCH=profile` runs one pass of the all-scenarios workload and nothing else (for an
//! instruction-count profiler: `valgrind --tool=callgrind --toggle-collect='*behaviour::run*'`;
//! `profile-unique` makes every user agent unique first);
//! `BEHAVIOUR_BENCH=memory` runs only the memory figures; `BEHAVIOUR_BENCH=alerts` prints every
//! alert of one pass (time, rule, entity, evidence), to compare two versions' output exactly.

use std::hint::black_box;

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, Throughput};
use ensuresec_behaviour::anomaly::{AnomalyConfig, AnomalyDetector};
use ensuresec_behaviour::baseline::{BaselineConfig, BaselineDetector};
use ensuresec_behaviour::eval::{campaigns, merge_by_time};
use ensuresec_behaviour::{RuleSet, ScenarioDetector};
use ensuresec_model::event::{AuthAction, AuthEvent, AuthOutcome, HttpRequest};
use ensuresec_model::{Alert, Detector, EntityKind, Event, EventData};
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, Simulator};

fn workload() -> Vec<Event> {
    let start = Utc
        .with_ymd_and_hms(2026, 11, 21, 9, 0, 0)
        .single()
        .expect("time");
    let profile = Profile::from_yaml("shop.yaml", DEFAULT_PROFILE).expect("profile");
    let host = profile.shop.host.clone();
    let sim = Simulator::new(SimConfig {
        seed: 3,
        start,
        rate: 200.0,
        scenario: Scenario::named("mixed").expect("scenario"),
        profile,
        campaigns_per_hour: Some(6.0),
    })
    .expect("simulator");
    let span = Duration::minutes(30);
    let end = start + span;
    let mut extra = campaigns::campaigns(3, start, span, &host, &campaigns::KINDS, 1);
    extra.extend(campaigns::background_flows(3, start, span, 30.0));
    extra.sort_by_key(|e| e.time);
    merge_by_time(sim.take_while(move |e| e.time < end), extra).collect()
}

fn scenario_detectors(rules: &RuleSet) -> Vec<Box<dyn Detector>> {
    rules
        .group_kinds()
        .into_iter()
        .map(|k| {
            Box::new(ScenarioDetector::with_limits(k, &rules.rules, rules.limits))
                as Box<dyn Detector>
        })
        .collect()
}

#[inline(never)]
fn run(detectors: &mut [Box<dyn Detector>], events: &[Event]) -> usize {
    alerts(detectors, events).len()
}

fn alerts(detectors: &mut [Box<dyn Detector>], events: &[Event]) -> Vec<Alert> {
    let mut out = Vec::new();
    for e in events {
        let ty = e.event_type();
        for d in detectors.iter_mut() {
            if d.accepts(ty) {
                d.on_event(e, &mut out);
            }
        }
    }
    out
}

/// CPU time this thread has used, in seconds (user + system, from `/proc`): on a shared machine
/// it measures the work, where wall time also measures the neighbours.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')')?.1;
    let mut f = rest.split_whitespace().skip(11);
    let user: f64 = f.next()?.parse().ok()?;
    let system: f64 = f.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// The workload with every request's user agent made unique (a counter appended): the worst
/// case for the detectors' memory of recent user agents, every one searched.
fn unique_user_agents(events: &[Event]) -> Vec<Event> {
    let mut out = events.to_vec();
    for (i, e) in out.iter_mut().enumerate() {
        if let EventData::HttpRequest(h) = &mut e.data
            && let Some(ua) = &mut h.user_agent
        {
            ua.push_str(&format!(" #{i}"));
        }
    }
    out
}

/// Events per CPU-second through every scenario detector, over `rounds` passes of the workload.
fn cpu_throughput(label: &str, rules: &RuleSet, events: &[Event], rounds: usize) {
    let (Some(start), mut alerts) = (cpu_seconds(), 0) else {
        return;
    };
    for _ in 0..rounds {
        let mut d = scenario_detectors(rules);
        alerts += run(&mut d, events);
    }
    if let Some(end) = cpu_seconds() {
        println!(
            "cpu: all_scenarios{label} {:.0} events per CPU-second ({} passes, {:.2} CPU-s, {} alerts)",
            (events.len() * rounds) as f64 / (end - start),
            rounds,
            end - start,
            alerts / rounds
        );
    }
}

fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// One million addresses, each with a failed login and a page view: every address rule and
/// the login rules keep state for it.
fn memory_per_entity(rules: &RuleSet) {
    const N: u32 = 1_000_000;
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 21, 9, 0, 0)
        .single()
        .expect("time");
    let before = rss_bytes();
    // No ceiling here: the point is what a million addresses cost.
    let unbounded = ensuresec_behaviour::StateLimits {
        max_entities: usize::MAX,
        max_state_bytes: usize::MAX,
    };
    let mut ip = ScenarioDetector::with_limits(EntityKind::Ip, &rules.rules, unbounded);
    let mut out = Vec::new();
    for i in 0..N {
        let addr = std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        let at = t0 + Duration::milliseconds(i64::from(i / 10));
        let login = Event {
            time: at,
            ingest_time: None,
            source: "bench".into(),
            labels: Default::default(),
            data: EventData::Auth(AuthEvent {
                account: format!("user{}", i % 50_000),
                ip: addr,
                action: AuthAction::Login,
                outcome: AuthOutcome::Failure,
                reason: None,
                device: None,
                user_agent: None,
            }),
        };
        let view = Event {
            data: EventData::HttpRequest(HttpRequest {
                client_ip: addr,
                method: "GET".into(),
                host: Some("shop.example".into()),
                path: format!("/product/{}", i % 300),
                query: None,
                http_version: None,
                status: Some(200),
                user_agent: Some("Mozilla/5.0".into()),
                referer: None,
                headers: vec![],
                body: None,
                bytes_sent: None,
                duration_ms: None,
                session: None,
                account: None,
                device: None,
            }),
            ..login.clone()
        };
        ip.on_event(&login, &mut out);
        ip.on_event(&view, &mut out);
    }
    let after = rss_bytes();
    let states = ip.rule_states();
    println!(
        "memory: {N} addresses ({} tracked) -> {states} (rule, address) states, {:.1} per address",
        ip.tracked_entities(),
        states as f64 / f64::from(N)
    );
    println!(
        "memory: estimated state {:.1} MiB = {:.0} bytes per address",
        ip.state_bytes() as f64 / 1048576.0,
        ip.state_bytes() as f64 / f64::from(N)
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "memory: resident set grew {:.1} MiB = {:.0} bytes per address",
            a.saturating_sub(b) as f64 / 1048576.0,
            a.saturating_sub(b) as f64 / f64::from(N)
        );
    }
    println!("memory: limit hits {:?}", ip.limit_hits());
    drop(black_box(ip));
}

fn main() {
    let rules = RuleSet::builtin().expect("shipped rules");
    let only = std::env::var("BEHAVIOUR_BENCH").ok();
    if let Some(mode @ ("profile" | "profile-unique")) = only.as_deref() {
        let events = match mode {
            "profile" => workload(),
            _ => unique_user_agents(&workload()),
        };
        let mut d = scenario_detectors(&rules);
        let alerts = run(&mut d, &events);
        println!("profile: {} events, {alerts} alerts", events.len());
        return;
    }
    if only.as_deref() == Some("alerts") {
        for a in alerts(&mut scenario_detectors(&rules), &workload()) {
            println!("{} {} {} {}", a.time, a.rule_id, a.entity, a.evidence);
        }
        return;
    }
    memory_per_entity(&rules);
    if only.as_deref() == Some("memory") {
        return;
    }
    let events = workload();
    println!(
        "workload: {} events, {} rules",
        events.len(),
        rules.rules.len()
    );
    cpu_throughput("", &rules, &events, 5);
    cpu_throughput(
        ", unique user agents",
        &rules,
        &unique_user_agents(&events),
        5,
    );
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut g = c.benchmark_group("behaviour");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("all_scenarios", |b| {
        b.iter(|| {
            let mut d = scenario_detectors(&rules);
            black_box(run(&mut d, &events))
        })
    });
    g.bench_function("anomaly", |b| {
        b.iter(|| {
            let mut d: Vec<Box<dyn Detector>> =
                vec![Box::new(AnomalyDetector::new(AnomalyConfig::default()))];
            black_box(run(&mut d, &events))
        })
    });
    g.bench_function("baseline", |b| {
        b.iter(|| {
            let mut d: Vec<Box<dyn Detector>> =
                vec![Box::new(BaselineDetector::new(BaselineConfig::default()))];
            black_box(run(&mut d, &events))
        })
    });
    g.finish();
    c.final_summary();
}
