//! Delivery events over MQTT: a real Mosquitto broker on localhost, `mosquitto_pub` as the
//! trackers, and `serve` subscribed. A frozen reading becomes a cold-chain alert, a bad message is
//! counted and skipped, messages published while `serve` was down arrive when it is back, and a
//! message the broker delivers again (its acknowledgement lost to a crash or a cut connection)
//! is stored once, and a broker reached over TLS with a client certificate.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::mqtt_proxy::{MqttProxy, PUBACK, PUBLISH, SUBACK, Seen, Way};
use support::{Server, TOKEN, client, metric, next_seq, wait_for};

const BROKER: &str = "127.0.0.1:1883";

/// `mosquitto_pub`'s arguments for the broker above, at QoS 1.
const TO_BROKER: [&str; 6] = ["-h", "127.0.0.1", "-p", "1883", "-q", "1"];

/// Whether a broker and `mosquitto_pub` are here; in CI their absence is a failure.
fn broker_present() -> bool {
    let broker = TcpStream::connect(BROKER).is_ok();
    let publisher = Command::new("mosquitto_pub").arg("--help").output().is_ok();
    if !(broker && publisher) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no MQTT broker on {BROKER} or no mosquitto_pub (scripts/test.sh installs and starts Mosquitto)"
        );
        eprintln!("skipping: no MQTT broker on {BROKER} or no mosquitto_pub");
    }
    broker && publisher
}

/// A topic prefix and client id of this run only, so that runs never see each other's messages.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Publishes each line of `lines` as a message of its own, from one client, as fast as the
/// broker takes them.
fn publish_lines(topic: &str, lines: &str) {
    let mut child = Command::new("mosquitto_pub")
        .args(TO_BROKER)
        .args(["-t", topic, "-l"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "mosquitto_pub -l failed");
}

fn publish(topic: &str, payload: &str) {
    let out = Command::new("mosquitto_pub")
        .args(TO_BROKER)
        .args(["-t", topic, "-m", payload])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mosquitto_pub failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_config(dir: &Path, prefix: &str, client_id: &str) -> String {
    write_config_for(
        dir,
        BROKER,
        prefix,
        client_id,
        "flush_interval_milliseconds = 50",
    )
}

/// A config subscribing to `prefix/#` on `broker`, with `extra` lines in the source's section.
fn write_config_for(
    dir: &Path,
    broker: &str,
    prefix: &str,
    client_id: &str,
    extra: &str,
) -> String {
    let config = dir.join("ensuresec.toml");
    std::fs::write(
        &config,
        format!(
            "[[sources.mqtt]]\nbroker = \"{broker}\"\ntopics = [\"{prefix}/#\"]\nclient_id = \"{client_id}\"\n{extra}\n"
        ),
    )
    .unwrap();
    config.to_str().unwrap().to_string()
}

/// `serve` subscribed to the broker through a proxy that reads its packets.
struct Proxied {
    dir: tempfile::TempDir,
    prefix: String,
    config: String,
    server: Server,
}

impl Proxied {
    /// Starts `serve` with `extra` lines in its MQTT section, connected through `proxy`, and
    /// returns once the broker has confirmed its subscription.
    fn start(proxy: &MqttProxy, extra: &str) -> Proxied {
        let dir = tempfile::tempdir().unwrap();
        let prefix = unique("ensuresec-test");
        let config = write_config_for(dir.path(), &proxy.addr, &prefix, &unique("es"), extra);
        let server = Server::start(&dir.path().join("data"), &["--config", &config]);
        wait_for("the subscription", 30, || {
            (proxy.seen(Seen::Passed(Way::ToClient, SUBACK)) >= 1).then_some(())
        });
        Proxied {
            dir,
            prefix,
            config,
            server,
        }
    }

    /// `serve` again, on the same data directory and session, after the first was killed.
    fn restart(&self) -> Server {
        Server::start(&self.dir.path().join("data"), &["--config", &self.config])
    }

    fn topic(&self) -> String {
        format!("{}/sensors/tt", self.prefix)
    }
}

/// The value of the MQTT message counter for `outcome` (0 before the first).
fn messages(server: &Server, outcome: &str) -> f64 {
    metric(
        server,
        &format!("ensuresec_mqtt_messages_total{{outcome=\"{outcome}\"}}"),
    )
    .unwrap_or(0.0)
}

/// Waits until the counter for `outcome` reads `n`.
fn wait_for_messages(server: &Server, outcome: &str, n: f64) {
    wait_for(&format!("{n} MQTT messages {outcome}"), 30, || {
        (messages(server, outcome) == n).then_some(())
    });
}

fn plan(parcel: &str) -> String {
    format!(
        r#"{{"type":"delivery_plan","time":"2026-11-21T08:00:00Z","source":"carrier","data":{{"parcel_id":"{parcel}","product_class":"cold-2-8","destination":{{"lat":52.52,"lon":13.40}}}}}}"#
    )
}

fn reading(parcel: &str, minute: u32, celsius: f64) -> String {
    format!(
        r#"{{"type":"sensor_reading","time":"2026-11-21T08:{minute:02}:00Z","source":"tracker","data":{{"sensor":"tt-{parcel}","parcel_id":"{parcel}","temperature_c":{celsius}}}}}"#
    )
}

/// The `items` of the API's answer at `path`, waiting up to 30 s for at least one.
fn wait_for_items(server: &Server, path: &str) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = server.url(path);
    loop {
        let body: serde_json::Value = client()
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if !items.is_empty() || Instant::now() > deadline {
            return items;
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

/// The alerts of `rule` about `parcel`, waiting up to 30 s for at least one.
fn wait_for_alert(server: &Server, rule: &str, parcel: &str) -> Vec<serde_json::Value> {
    wait_for_items(
        server,
        &format!("/v1/alerts?rule={rule}&entity=parcel:{parcel}"),
    )
}

#[test]
fn a_frozen_reading_published_over_mqtt_becomes_a_cold_chain_alert() {
    if !broker_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("ensuresec-test");
    let config = write_config(dir.path(), &prefix, &unique("es"));
    let server = Server::start(&dir.path().join("data"), &["--config", &config]);
    server.printed("subscribing to mqtt://");
    // The subscription is made once the client is connected: publish until the first message
    // is seen, with a plan (idempotent) as the probe.
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(
        &server,
        "ensuresec_mqtt_messages_total{outcome=\"ingested\"}",
    )
    .unwrap_or(0.0)
        < 1.0
    {
        assert!(Instant::now() < deadline, "serve never received a message");
        publish(&format!("{prefix}/plans"), &plan("P-MQTT-1"));
        std::thread::park_timeout(Duration::from_millis(200));
    }
    publish(&format!("{prefix}/sensors/tt"), "{not json");
    let readings = format!(
        "{}\n{}\n",
        reading("P-MQTT-1", 5, 5.0),
        reading("P-MQTT-1", 10, -1.5)
    );
    publish(&format!("{prefix}/sensors/tt"), &readings);

    let alerts = wait_for_alert(&server, "cold-chain-frozen", "P-MQTT-1");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["evidence"]["temperature_c"], -1.5);
    // The delivery playbook answers the incident: the parcel is to be held (the webhook target
    // is not configured here, so the step is recorded as failed; the run exists).
    let incident = alerts[0]["incident_id"].as_u64().unwrap();
    let steps = wait_for_items(&server, &format!("/v1/incidents/{incident}/steps"));
    assert!(
        steps
            .iter()
            .any(|s| s["playbook"] == "hold-parcel" && s["step_id"] == "hold"),
        "{steps:?}"
    );
    assert_eq!(
        metric(&server, "ensuresec_mqtt_messages_total{outcome=\"bad\"}"),
        Some(1.0)
    );
}

#[test]
fn messages_published_while_serve_was_down_arrive_when_it_is_back() {
    if !broker_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let prefix = unique("ensuresec-test");
    let config = write_config(dir.path(), &prefix, &unique("es"));
    let mut server = Server::start(&data, &["--config", &config]);
    server.printed("subscribing to mqtt://");
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(
        &server,
        "ensuresec_mqtt_messages_total{outcome=\"ingested\"}",
    )
    .unwrap_or(0.0)
        < 1.0
    {
        assert!(Instant::now() < deadline, "serve never received a message");
        publish(&format!("{prefix}/plans"), &plan("P-MQTT-2"));
        std::thread::park_timeout(Duration::from_millis(200));
    }
    server.kill_hard();

    // The broker keeps the persistent session's QoS 1 messages for the client. (Detector state
    // starts afresh with the process, so the plan comes again.)
    publish(&format!("{prefix}/plans"), &plan("P-MQTT-2"));
    publish(
        &format!("{prefix}/sensors/tt"),
        &reading("P-MQTT-2", 5, 5.0),
    );
    publish(
        &format!("{prefix}/sensors/tt"),
        &reading("P-MQTT-2", 10, -3.0),
    );

    let server = Server::start(&data, &["--config", &config]);
    let alerts = wait_for_alert(&server, "cold-chain-frozen", "P-MQTT-2");
    assert_eq!(alerts.len(), 1, "the queued readings were not delivered");
    assert_eq!(alerts[0]["evidence"]["temperature_c"], -3.0);
}

#[test]
fn a_message_stored_before_a_crash_lost_its_acknowledgement_is_stored_once() {
    if !broker_present() {
        return;
    }
    // Every acknowledgement `serve` sends is lost on the way: the broker still waits for them
    // when `serve` dies, with the messages' events stored.
    let proxy = MqttProxy::start(BROKER);
    proxy.hold_acks(true);
    let mut first = Proxied::start(&proxy, "flush_interval_milliseconds = 50");
    for minute in 1..=3 {
        publish(&first.topic(), &reading("P-MQTT-3", minute, 5.0));
    }
    wait_for_messages(&first.server, "ingested", 3.0);
    wait_for("the three acknowledgements", 30, || {
        (proxy.seen(Seen::AckHeld) == 3).then_some(())
    });
    let held = next_seq(&first.server, 1) - 1;
    assert_eq!(held, 3, "the three readings are stored");
    first.server.kill_hard();

    proxy.hold_acks(false);
    let server = first.restart();
    wait_for_messages(&server, "redelivered", 3.0);
    assert!(
        proxy.seen(Seen::PublishedAgain(Way::ToClient)) >= 3,
        "the broker delivered the three messages again, flagged as duplicates"
    );
    assert_eq!(messages(&server, "ingested"), 0.0);
    assert_eq!(
        next_seq(&server, 2),
        held + 2,
        "nothing was stored for the copies: only the two probes came after the readings"
    );
    // The copies were acknowledged this time, and a new message is taken as before.
    publish(&first.topic(), &reading("P-MQTT-3", 4, 5.0));
    wait_for_messages(&server, "ingested", 1.0);
    wait_for("the acknowledgements", 30, || {
        (proxy.seen(Seen::Passed(Way::ToBroker, PUBACK)) == 4).then_some(())
    });
    assert_eq!(next_seq(&server, 3), held + 4);
}

#[test]
fn a_message_delivered_again_after_a_cut_connection_is_stored_once() {
    if !broker_present() {
        return;
    }
    // A batch is ingested when it holds four events: the first two messages wait in it while
    // the connection is cut, and come again on the next one.
    let proxy = MqttProxy::start(BROKER);
    let proxied = Proxied::start(
        &proxy,
        "flush_interval_milliseconds = 600000\nmax_batch_events = 4",
    );
    let (server, topic) = (&proxied.server, proxied.topic());
    publish(&topic, &reading("P-MQTT-4", 1, 5.0));
    publish(&topic, &reading("P-MQTT-4", 2, 5.0));
    wait_for("the two messages to reach serve", 30, || {
        (proxy.seen(Seen::Passed(Way::ToClient, PUBLISH)) == 2).then_some(())
    });
    proxy.cut();
    wait_for_messages(server, "redelivered", 2.0);
    assert_eq!(
        proxy.seen(Seen::PublishedAgain(Way::ToClient)),
        2,
        "the broker delivered both again on the new connection, flagged as duplicates"
    );
    assert_eq!(messages(server, "ingested"), 0.0, "the batch still waits");
    publish(&topic, &reading("P-MQTT-4", 3, 5.0));
    publish(&topic, &reading("P-MQTT-4", 4, 5.0));
    wait_for_messages(server, "ingested", 4.0);
    assert_eq!(
        next_seq(server, 1),
        5,
        "the four readings are stored once each"
    );
    wait_for("the acknowledgements", 30, || {
        (proxy.seen(Seen::Passed(Way::ToBroker, PUBACK)) == 4).then_some(())
    });
}

#[test]
fn a_burst_of_a_thousand_messages_is_stored_whole() {
    if !broker_present() {
        return;
    }
    let proxy = MqttProxy::start(BROKER);
    let proxied = Proxied::start(&proxy, "flush_interval_milliseconds = 50");
    let server = &proxied.server;
    // Far more messages in one flush interval than the client's request channel used to hold
    // acknowledgements for: the source stopped at the first such batch. (A thousand is what
    // Mosquitto queues for a client by default, `max_queued_messages`; past that it drops.)
    let lines: String = (0..1000)
        .map(|i| format!("{}\n", reading(&format!("P-BURST-{}", i % 50), i % 60, 5.0)))
        .collect();
    publish_lines(&proxied.topic(), &lines);
    wait_for_messages(server, "ingested", 1000.0);
    assert_eq!(next_seq(server, 1), 1001, "every message stored once");
    wait_for("every acknowledgement", 30, || {
        (proxy.seen(Seen::Passed(Way::ToBroker, PUBACK)) == 1000).then_some(())
    });
}

/// A Mosquitto of the test's own, listening on an ephemeral port with TLS only and wanting a
/// client certificate; its certificate (for 127.0.0.1) and the client's are self-signed, made
/// here. Stopped when dropped.
struct TlsBroker {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl TlsBroker {
    /// `None` (after saying why) where Mosquitto is not installed; in CI that is a failure.
    fn start() -> Option<TlsBroker> {
        if !broker_present() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        for (name, subject) in [("server", "127.0.0.1"), ("client", "ensuresec")] {
            let made = rcgen::generate_simple_self_signed(vec![subject.into()]).unwrap();
            std::fs::write(dir.path().join(format!("{name}.pem")), made.cert.pem()).unwrap();
            std::fs::write(
                dir.path().join(format!("{name}.key")),
                made.signing_key.serialize_pem(),
            )
            .unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = |name: &str| dir.path().join(name).display().to_string();
        let config = dir.path().join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n\
                 require_certificate true\nallow_anonymous true\npersistence false\n",
                file("client.pem"),
                file("server.pem"),
                file("server.key")
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&config)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the TLS broker to listen", 30, || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Some(TlsBroker { child, port, dir })
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Publishes `payload` over TLS with the client certificate.
    fn publish(&self, topic: &str, payload: &str) {
        let out = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q", "1"])
            .args(["--cafile", &self.file("server.pem")])
            .args(["--cert", &self.file("client.pem")])
            .args(["--key", &self.file("client.key")])
            .args(["-t", topic, "-m", payload])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mosquitto_pub over TLS failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A config for `serve` reaching this broker over TLS, with `tls` as its `tls` table.
    fn serve_config(&self, dir: &Path, prefix: &str, tls: &str) -> String {
        write_config_for(
            dir,
            &format!("127.0.0.1:{}", self.port),
            prefix,
            &unique("es"),
            &format!("flush_interval_milliseconds = 50\ntls = {tls}"),
        )
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn messages_arrive_over_tls_from_a_broker_that_wants_a_client_certificate() {
    let Some(broker) = TlsBroker::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("ensuresec-test");
    let tls = format!(
        "{{ ca_file = {:?}, client = {{ cert_file = {:?}, key_file = {:?} }} }}",
        broker.file("server.pem"),
        broker.file("client.pem"),
        broker.file("client.key")
    );
    let config = broker.serve_config(dir.path(), &prefix, &tls);
    let server = Server::start(&dir.path().join("data"), &["--config", &config]);
    server.printed("subscribing to mqtts://");
    // Published until the first is taken: the subscription is made once connected.
    let mut minute = 0;
    wait_for("a reading over TLS", 30, || {
        minute += 1;
        broker.publish(
            &format!("{prefix}/sensors/tt"),
            &reading("P-TLS-1", minute, 5.0),
        );
        (messages(&server, "ingested") >= 1.0).then_some(())
    });
    assert_eq!(messages(&server, "bad"), 0.0);
    assert!(next_seq(&server, 1) >= 2, "the reading is stored");
}

#[test]
fn without_its_client_certificate_serve_is_refused_and_stores_nothing() {
    let Some(broker) = TlsBroker::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique("ensuresec-test");
    let tls = format!("{{ ca_file = {:?} }}", broker.file("server.pem"));
    let config = broker.serve_config(dir.path(), &prefix, &tls);
    let server = Server::start(&dir.path().join("data"), &["--config", &config]);
    wait_for("a refused connection", 30, || {
        (metric(&server, "ensuresec_mqtt_reconnects_total").unwrap_or(0.0) >= 1.0).then_some(())
    });
    broker.publish(&format!("{prefix}/sensors/tt"), &reading("P-TLS-2", 1, 5.0));
    // Another attempt after the message was published: refused again, nothing taken.
    wait_for("a second refused connection", 30, || {
        (metric(&server, "ensuresec_mqtt_reconnects_total").unwrap_or(0.0) >= 2.0).then_some(())
    });
    assert_eq!(messages(&server, "ingested"), 0.0);
}

#[test]
fn a_tls_ca_file_without_a_certificate_stops_serve_at_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("not-a-ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let config = write_config_for(
        dir.path(),
        "127.0.0.1:8883",
        "ensuresec-test",
        "es",
        &format!("tls = {{ ca_file = {:?} }}", ca.display().to_string()),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--config", &config])
        .env("ENSURESEC_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    let text = support::output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("sources.mqtt.tls") && text.contains("not-a-ca.pem"),
        "{text}"
    );
}
