//! A fixed, well-mixed 64-bit hash whose values outlive a build: the fraud module's feature
//! tables, journals and ring files are keyed by it (replays give the same scores), and the
//! pipeline routes an entity to its partition by it (a restart works out which partition owned
//! an event in the last run). `std`'s `DefaultHasher` may change between builds, so it cannot do
//! either. Changing anything here changes files on disk: it needs a new file format.

/// FNV-1a over `bytes`, finished with [`mix`].
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// [`hash_bytes`] of `ip`'s text form ("192.0.2.1", "2001:db8::1"), written on the stack: the
/// key of the address's state, without allocating a string for every payment.
#[inline]
pub fn hash_ip(ip: std::net::IpAddr) -> u64 {
    use std::io::Write;
    let v6 = match ip {
        std::net::IpAddr::V4(v4) => return hash_bytes(dotted(v4).text()),
        std::net::IpAddr::V6(v6) => v6,
    };
    // The longest IPv6 text form (six groups and a dotted IPv4 tail) is 45 bytes.
    let mut buf = [0u8; 48];
    let mut rest = &mut buf[..];
    write!(rest, "{v6}").expect("an IP address fits in 48 bytes");
    let len = 48 - rest.len();
    hash_bytes(&buf[..len])
}

/// An IPv4 address's text ("192.0.2.1") on the stack.
struct Dotted {
    bytes: [u8; 15],
    len: usize,
}

impl Dotted {
    fn text(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// `ip` in the text `Display` writes, written by hand: through the formatting machinery it
/// cost a seventh of a payment's score without a model, for the address of every payment.
fn dotted(ip: std::net::Ipv4Addr) -> Dotted {
    let mut out = Dotted {
        bytes: [0; 15],
        len: 0,
    };
    let mut push = |b: u8| {
        out.bytes[out.len] = b;
        out.len += 1;
    };
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            push(b'.');
        }
        if octet >= 100 {
            push(b'0' + octet / 100);
        }
        if octet >= 10 {
            push(b'0' + octet / 10 % 10);
        }
        push(b'0' + octet % 10);
    }
    out
}

/// The SplitMix64 finaliser: spreads every input bit over every output bit.
#[inline]
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A hasher for keys that are already [`mix`]ed: passes them through.
#[derive(Debug, Default, Clone, Copy)]
pub struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with this hasher; any other use still gets a good hash.
        self.0 = hash_bytes(bytes);
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Builds [`PreHashed`] hashers.
pub type BuildPreHashed = std::hash::BuildHasherDefault<PreHashed>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_those_files_on_disk_were_keyed_by() {
        // From a separate implementation of FNV-1a (64-bit) and SplitMix64's finaliser: a
        // change here makes every fraud state, journal and ring file, and the partition
        // every event was routed to, read wrong.
        assert_eq!(hash_bytes(b""), 0xc381_7c01_6ba4_ff30);
        assert_eq!(hash_bytes(b"card-1"), 0x308c_017b_7034_bbca);
        assert_eq!(hash_bytes(&[192, 0, 2, 1]), 0x7d72_555d_50da_3b6a);
        assert_eq!(mix(0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn an_address_hashes_as_its_text() {
        for text in [
            "192.0.2.1",
            "2001:db8::1",
            "::ffff:255.255.255.255",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let ip: std::net::IpAddr = text.parse().expect("address");
            assert_eq!(hash_ip(ip), hash_bytes(ip.to_string().as_bytes()), "{text}");
        }
        // Every octet value in every position, as `Display` writes it.
        for octet in 0..=255u8 {
            for position in 0..4 {
                let mut octets = [7, 10, 200, 0];
                octets[position] = octet;
                let ip = std::net::Ipv4Addr::from(octets);
                assert_eq!(dotted(ip).text(), ip.to_string().as_bytes(), "{ip}");
            }
        }
        let a: std::net::IpAddr = "192.0.2.1".parse().expect("address");
        let b: std::net::IpAddr = "192.0.2.2".parse().expect("address");
        assert_ne!(hash_ip(a), hash_ip(b));
    }
}
