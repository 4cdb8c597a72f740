//! A TCP proxy between `serve` and an MQTT broker that reads each MQTT packet as it passes: it
//! counts them by kind and direction, can hold back the client's acknowledgements (PUBACK) as if
//! they were lost on the way, and can cut its connections, as a network failure would.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// MQTT control packet types (the high nibble of a packet's first byte).
pub const PUBLISH: u8 = 3;
/// A QoS 1 acknowledgement.
pub const PUBACK: u8 = 4;
/// The broker's answer to a subscription.
pub const SUBACK: u8 = 9;

/// Which way a packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Way {
    /// From `serve` to the broker.
    ToBroker,
    /// From the broker to `serve`.
    ToClient,
}

/// What the proxy saw, packet kind by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seen {
    /// A packet of this type passed.
    Passed(Way, u8),
    /// A PUBLISH passed flagged as a duplicate (delivered again).
    PublishedAgain(Way),
    /// An acknowledgement from `serve` was held back.
    AckHeld,
}

#[derive(Default)]
struct Shared {
    hold_acks: AtomicBool,
    seen: Mutex<HashMap<Seen, usize>>,
    sockets: Mutex<Vec<TcpStream>>,
}

/// A running proxy; its threads end with their connections.
pub struct MqttProxy {
    /// `HOST:PORT` to give `serve` as its broker.
    pub addr: String,
    shared: Arc<Shared>,
}

impl MqttProxy {
    /// Listens on an ephemeral port and forwards each connection to `broker`.
    pub fn start(broker: &str) -> MqttProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        let broker = broker.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(upstream) = TcpStream::connect(&broker) else {
                    continue;
                };
                let mut sockets = accepting.sockets.lock().unwrap();
                sockets.push(client.try_clone().unwrap());
                sockets.push(upstream.try_clone().unwrap());
                drop(sockets);
                pump(&accepting, &client, &upstream, Way::ToBroker);
                pump(&accepting, &upstream, &client, Way::ToClient);
            }
        });
        MqttProxy { addr, shared }
    }

    /// Holds back (drops) every PUBACK `serve` sends from now on, or lets them pass again.
    pub fn hold_acks(&self, hold: bool) {
        self.shared.hold_acks.store(hold, Ordering::SeqCst);
    }

    /// Closes every connection made so far, both ways.
    pub fn cut(&self) {
        for socket in self.shared.sockets.lock().unwrap().drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// How many times the proxy saw `what`.
    pub fn seen(&self, what: Seen) -> usize {
        self.shared
            .seen
            .lock()
            .unwrap()
            .get(&what)
            .copied()
            .unwrap_or(0)
    }
}

/// Copies packets from `from` to `to` on a thread of its own, until either side closes.
fn pump(shared: &Arc<Shared>, from: &TcpStream, to: &TcpStream, way: Way) {
    let shared = Arc::clone(shared);
    let mut from = from.try_clone().unwrap();
    let mut to = to.try_clone().unwrap();
    std::thread::spawn(move || {
        while let Ok(packet) = read_packet(&mut from) {
            let kind = packet[0] >> 4;
            let mut seen = Vec::new();
            let held =
                way == Way::ToBroker && kind == PUBACK && shared.hold_acks.load(Ordering::SeqCst);
            if held {
                seen.push(Seen::AckHeld);
            } else {
                seen.push(Seen::Passed(way, kind));
                if kind == PUBLISH && packet[0] & 0x08 != 0 {
                    seen.push(Seen::PublishedAgain(way));
                }
            }
            // Written before it is counted: what the test reads as seen has reached the peer.
            if !held && to.write_all(&packet).is_err() {
                break;
            }
            let mut counts = shared.seen.lock().unwrap();
            for s in seen {
                *counts.entry(s).or_default() += 1;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// One whole MQTT packet: the fixed header, its remaining length (1 to 4 bytes, seven bits
/// each) and that many bytes.
fn read_packet(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte)?;
    let mut packet = vec![byte[0]];
    let mut remaining = 0usize;
    for shift in [0, 7, 14, 21] {
        stream.read_exact(&mut byte)?;
        packet.push(byte[0]);
        remaining |= usize::from(byte[0] & 0x7f) << shift;
        if byte[0] & 0x80 == 0 {
            let start = packet.len();
            packet.resize(start + remaining, 0);
            stream.read_exact(&mut packet[start..])?;
            return Ok(packet);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "remaining length over four bytes",
    ))
}
