//! Labelled attack campaigns for the scenarios the simulator does not generate (scraping,
//! scanning, enumeration, takeover, floods, network attacks), and benign network traffic to mix
//! them with. Deterministic: everything comes from a seeded generator. Used by the evaluation
//! example, the benchmark and the tests; not by detection.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::event::{
    AuthAction, AuthEvent, AuthOutcome, HttpRequest, NetworkFlow, OrderEvent, OrderStatus,
    Transport,
};
use ensuresec_model::{Event, EventData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The attack kinds this module generates, by truth label.
pub const KINDS: [&str; 12] = [
    "brute_force",
    "scraping",
    "vulnerability_scan",
    "coupon_enumeration",
    "account_takeover",
    "http_flood",
    "distributed_flood",
    "syn_flood",
    "port_scan",
    "host_scan",
    "udp_amplification",
    "credential_stuffing_rotating",
];

/// The address of the shop's web server in generated flows.
pub const SHOP_SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));

const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SCAN_PATHS: [&str; 24] = [
    "/.env",
    "/.git/config",
    "/wp-admin/",
    "/wp-login.php",
    "/phpmyadmin/",
    "/admin.php",
    "/config.php",
    "/server-status",
    "/.aws/credentials",
    "/actuator/env",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/backup.zip",
    "/admin",
    "/login.jsp",
    "/console",
    "/old",
    "/test",
    "/debug",
    "/api/v1/users",
    "/.DS_Store",
    "/xmlrpc.php",
    "/cgi-bin/luci",
    "/dump.sql",
    "/db.sql",
];
const SCANNER_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)",
    BROWSER,
];

fn labelled(time: DateTime<Utc>, source: &str, truth: &str, data: EventData) -> Event {
    Event {
        time,
        ingest_time: None,
        source: source.into(),
        labels: BTreeMap::from([("truth".to_string(), truth.to_string())]),
        data,
    }
}

fn http(ip: IpAddr, host: &str, method: &str, path: &str, status: u16, ua: &str) -> HttpRequest {
    HttpRequest {
        client_ip: ip,
        method: method.into(),
        host: Some(host.into()),
        path: path.into(),
        query: None,
        http_version: Some("HTTP/1.1".into()),
        status: Some(status),
        user_agent: Some(ua.into()),
        referer: None,
        headers: vec![],
        body: None,
        bytes_sent: Some(if status == 200 { 15_000 } else { 300 }),
        duration_ms: None,
        session: None,
        account: None,
        device: None,
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "a flow record is eight fields; named arguments would only rename them"
)]
fn flow(
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    transport: Transport,
    packets: u64,
    bytes: u64,
    flags: Option<&str>,
) -> EventData {
    EventData::NetworkFlow(NetworkFlow {
        src_ip: src,
        src_port: sport,
        dst_ip: dst,
        dst_port: dport,
        transport,
        packets,
        bytes,
        duration_ms: Some(if packets > 1 { 200 } else { 0 }),
        tcp_flags: flags.map(str::to_string),
    })
}

/// An address in the documentation and test ranges attackers come from here (never the
/// simulator's customer networks).
fn attacker_ip(rng: &mut ChaCha8Rng) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        198,
        18 + rng.random_range(0..2),
        rng.random(),
        rng.random_range(1..255),
    ))
}

fn ms(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> Duration {
    Duration::milliseconds((rng.random_range(lo..hi) * 1000.0) as i64)
}

/// Generates one campaign of `kind` starting at `start` against the shop at `host`.
pub fn campaign(
    kind: &str,
    rng: &mut ChaCha8Rng,
    start: DateTime<Utc>,
    host: &str,
    id: u32,
) -> Vec<Event> {
    let mut out = Vec::new();
    let mut t = start;
    let ip = attacker_ip(rng);
    let device = format!("atk-device-{id}");
    match kind {
        "brute_force" => {
            let account = format!("c{:05}", rng.random_range(1..20_000));
            for _ in 0..rng.random_range(30..80) {
                out.push(labelled(
                    t,
                    "shop-app",
                    kind,
                    EventData::Auth(AuthEvent {
                        account: account.clone(),
                        ip,
                        action: AuthAction::Login,
                        outcome: AuthOutcome::Failure,
                        reason: Some("bad_password".into()),
                        device: None,
                        user_agent: Some(BROWSER.into()),
                    }),
                ));
                t += ms(rng, 2.0, 10.0);
            }
        }
        "credential_stuffing_rotating" => {
            // Stuffing through a proxy pool: a new address every few tries, one tool fingerprint.
            for i in 0..rng.random_range(60..200) {
                let ip = if i % 3 == 0 { attacker_ip(rng) } else { ip };
                out.push(labelled(
                    t,
                    "shop-app",
                    kind,
                    EventData::Auth(AuthEvent {
                        account: format!("leak{id}-{i}@mail.example"),
                        ip,
                        action: AuthAction::Login,
                        outcome: AuthOutcome::Failure,
                        reason: Some("unknown_account".into()),
                        device: Some(device.clone()),
                        user_agent: Some(BROWSER.into()),
                    }),
                ));
                t += ms(rng, 0.5, 3.0);
            }
        }
        "scraping" => {
            for i in 0..rng.random_range(200..600) {
                let path = if i % 5 == 0 {
                    format!("/category/c{}", i % 40)
                } else {
                    format!("/product/p-{}", rng.random_range(0..5000))
                };
                out.push(labelled(
                    t,
                    "shop-proxy",
                    kind,
                    EventData::HttpRequest(http(ip, host, "GET", &path, 200, BROWSER)),
                ));
                t += ms(rng, 0.3, 1.2);
            }
        }
        "vulnerability_scan" => {
            let ua = SCANNER_AGENTS[rng.random_range(0..SCANNER_AGENTS.len())];
            for i in 0..rng.random_range(80..300) {
                let path = if i % 3 == 0 {
                    SCAN_PATHS[rng.random_range(0..SCAN_PATHS.len())].to_string()
                } else {
                    format!(
                        "/{}",
                        [
                            "admin", "backup", "old", "test", "dev", "api", "private", "tmp"
                        ][rng.random_range(0..8)]
                        .to_owned()
                            + &rng.random_range(0..100).to_string()
                    )
                };
                out.push(labelled(
                    t,
                    "shop-proxy",
                    kind,
                    EventData::HttpRequest(http(ip, host, "GET", &path, 404, ua)),
                ));
                t += ms(rng, 0.05, 0.6);
            }
        }
        "coupon_enumeration" => {
            for _ in 0..rng.random_range(30..100) {
                let mut r = http(
                    ip,
                    host,
                    "POST",
                    "/cart/coupon",
                    if rng.random_bool(0.97) { 404 } else { 200 },
                    BROWSER,
                );
                r.body = Some(format!("code=SAVE{:04}", rng.random_range(0..10_000)));
                r.device = Some(device.clone());
                out.push(labelled(t, "shop-proxy", kind, EventData::HttpRequest(r)));
                t += ms(rng, 1.0, 6.0);
            }
        }
        "account_takeover" => {
            let account = format!("c{:05}", rng.random_range(1..20_000));
            let auth = |action, device: &str, ip| {
                EventData::Auth(AuthEvent {
                    account: account.clone(),
                    ip,
                    action,
                    outcome: AuthOutcome::Success,
                    reason: None,
                    device: Some(device.into()),
                    user_agent: Some(BROWSER.into()),
                })
            };
            if rng.random_bool(0.5) {
                // The owner was active earlier in the hour from their usual device.
                let owner_ip = IpAddr::V4(Ipv4Addr::new(
                    86,
                    130,
                    rng.random(),
                    rng.random_range(1..255),
                ));
                out.push(labelled(
                    t,
                    "shop-app",
                    kind,
                    auth(AuthAction::Login, &format!("owner-{id}"), owner_ip),
                ));
                t += ms(rng, 300.0, 1500.0);
            }
            out.push(labelled(
                t,
                "shop-app",
                kind,
                auth(AuthAction::PasswordReset, &device, ip),
            ));
            t += ms(rng, 30.0, 300.0);
            out.push(labelled(
                t,
                "shop-app",
                kind,
                auth(AuthAction::Login, &device, ip),
            ));
            t += ms(rng, 30.0, 300.0);
            if rng.random_bool(0.5) {
                out.push(labelled(
                    t,
                    "shop-app",
                    kind,
                    auth(AuthAction::ProfileChange, &device, ip),
                ));
            } else {
                out.push(labelled(
                    t,
                    "shop-app",
                    kind,
                    EventData::Order(OrderEvent {
                        order_id: format!("o-ato-{id}"),
                        status: OrderStatus::AddressChanged,
                        account: Some(account.clone()),
                        ip: Some(ip),
                        device: Some(device.clone()),
                        total: None,
                        items: None,
                        shipping_address_hash: Some(format!("drop-{id}")),
                    }),
                ));
            }
        }
        "http_flood" => {
            let rate = rng.random_range(50.0..200.0);
            for _ in 0..rng.random_range(2000..5000) {
                out.push(labelled(
                    t,
                    "shop-proxy",
                    kind,
                    EventData::HttpRequest(http(ip, host, "GET", "/", 200, BROWSER)),
                ));
                t += Duration::microseconds((1e6 / rate) as i64);
            }
        }
        "distributed_flood" => {
            let bots: Vec<IpAddr> = (0..rng.random_range(200..500))
                .map(|_| attacker_ip(rng))
                .collect();
            let rate = rng.random_range(100.0..300.0);
            for _ in 0..(rate * 60.0) as usize {
                let bot = bots[rng.random_range(0..bots.len())];
                out.push(labelled(
                    t,
                    "shop-proxy",
                    kind,
                    EventData::HttpRequest(http(bot, host, "GET", "/search", 200, BROWSER)),
                ));
                t += Duration::microseconds((1e6 / rate) as i64);
            }
        }
        "syn_flood" => {
            let rate = rng.random_range(1000.0..2000.0);
            for _ in 0..(rate * 20.0) as usize {
                let src = IpAddr::V4(Ipv4Addr::from(rng.random::<u32>() | 0x0100_0000));
                out.push(labelled(
                    t,
                    "netflow",
                    kind,
                    flow(
                        src,
                        rng.random_range(1024..65535),
                        SHOP_SERVER,
                        443,
                        Transport::Tcp,
                        1,
                        60,
                        Some("S"),
                    ),
                ));
                t += Duration::microseconds((1e6 / rate) as i64);
            }
        }
        "port_scan" => {
            let mut ports: Vec<u16> = (1..=1024).collect();
            for i in (1..ports.len()).rev() {
                ports.swap(i, rng.random_range(0..=i));
            }
            for p in ports {
                out.push(labelled(
                    t,
                    "netflow",
                    kind,
                    flow(
                        ip,
                        rng.random_range(40000..60000),
                        SHOP_SERVER,
                        p,
                        Transport::Tcp,
                        1,
                        44,
                        Some("S"),
                    ),
                ));
                t += ms(rng, 0.001, 0.01);
            }
        }
        "host_scan" => {
            for h in 1..=254u8 {
                let dst = IpAddr::V4(Ipv4Addr::new(203, 0, 113, h));
                out.push(labelled(
                    t,
                    "netflow",
                    kind,
                    flow(
                        ip,
                        rng.random_range(40000..60000),
                        dst,
                        22,
                        Transport::Tcp,
                        1,
                        44,
                        Some("S"),
                    ),
                ));
                t += ms(rng, 0.01, 0.05);
            }
        }
        "udp_amplification" => {
            let reflectors: Vec<IpAddr> = (0..rng.random_range(50..200))
                .map(|_| attacker_ip(rng))
                .collect();
            let port = [53u16, 123, 11211, 1900][rng.random_range(0..4)];
            let rate = rng.random_range(300.0..800.0);
            for _ in 0..(rate * 20.0) as usize {
                let r = reflectors[rng.random_range(0..reflectors.len())];
                let packets = rng.random_range(10..50);
                out.push(labelled(
                    t,
                    "netflow",
                    kind,
                    flow(
                        r,
                        port,
                        SHOP_SERVER,
                        rng.random_range(1024..65535),
                        Transport::Udp,
                        packets,
                        packets * rng.random_range(468..1400),
                        None,
                    ),
                ));
                t += Duration::microseconds((1e6 / rate) as i64);
            }
        }
        _ => {}
    }
    out
}

/// `per_kind` campaigns of each of `kinds`, at random times within `span` after `start`, merged in
/// time order.
pub fn campaigns(
    seed: u64,
    start: DateTime<Utc>,
    span: Duration,
    host: &str,
    kinds: &[&str],
    per_kind: u32,
) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut id = 0;
    for kind in kinds {
        for _ in 0..per_kind {
            let at =
                start + Duration::milliseconds(rng.random_range(0..span.num_milliseconds().max(1)));
            out.extend(campaign(kind, &mut rng, at, host, id));
            id += 1;
        }
    }
    out.sort_by_key(|e| e.time);
    out
}

/// Benign flows: customers reaching the shop over HTTPS, the shop resolving names and calling its
/// payment provider, `per_second` flows on average.
pub fn background_flows(
    seed: u64,
    start: DateTime<Utc>,
    span: Duration,
    per_second: f64,
) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut t = start;
    let end = start + span;
    while t < end {
        let data = match rng.random_range(0..10) {
            0 => flow(
                SHOP_SERVER,
                rng.random_range(30000..60000),
                IpAddr::V4(Ipv4Addr::new(9, 9, 9, 9)),
                53,
                Transport::Udp,
                1,
                70,
                None,
            ),
            1 => flow(
                IpAddr::V4(Ipv4Addr::new(9, 9, 9, 9)),
                53,
                SHOP_SERVER,
                rng.random_range(30000..60000),
                Transport::Udp,
                1,
                rng.random_range(90..500),
                None,
            ),
            2 => flow(
                SHOP_SERVER,
                rng.random_range(30000..60000),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50)),
                443,
                Transport::Tcp,
                20,
                9000,
                Some("SAFP"),
            ),
            _ => {
                let client = IpAddr::V4(Ipv4Addr::new(
                    86,
                    128 + rng.random_range(0..32),
                    rng.random(),
                    rng.random_range(1..255),
                ));
                let packets = rng.random_range(8..200);
                flow(
                    client,
                    rng.random_range(30000..60000),
                    SHOP_SERVER,
                    443,
                    Transport::Tcp,
                    packets,
                    packets * rng.random_range(60..1400),
                    Some(if rng.random_bool(0.02) { "S" } else { "SAFP" }),
                )
            }
        };
        out.push(Event {
            time: t,
            ingest_time: None,
            source: "netflow".into(),
            labels: BTreeMap::new(),
            data,
        });
        let gap: f64 = -rng.random_range(f64::EPSILON..1.0).ln() / per_second;
        t += Duration::microseconds((gap * 1e6).max(1.0) as i64);
    }
    out
}
