//! Framing of entries in the entries file: `len: u32 BE | crc32(len || data): u32 BE | data`.
//! The checksum tells a torn or garbled tail from a whole record during recovery.

/// Bytes of framing before each entry.
pub(crate) const HEADER: usize = 8;

/// Appends one framed record to `out`.
pub(crate) fn encode(data: &[u8], out: &mut Vec<u8>) {
    let len = (data.len() as u32).to_be_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(data);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.extend_from_slice(data);
}

/// What is at the start of a byte buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A whole record with a valid checksum, and its total framed length.
    Record(&'a [u8], usize),
    /// The buffer ends inside the record (it may be whole once more bytes are read).
    Incomplete,
    /// The record is whole but its length is absurd or its checksum is wrong.
    Bad,
}

/// Decodes the record at the start of `buf`; lengths above `max_len` count as bad.
pub(crate) fn decode(buf: &[u8], max_len: usize) -> Decoded<'_> {
    let Some(header) = buf.get(..HEADER) else {
        return Decoded::Incomplete;
    };
    let len_bytes = [header[0], header[1], header[2], header[3]];
    let len = u32::from_be_bytes(len_bytes) as usize;
    if len > max_len {
        return Decoded::Bad;
    }
    let Some(data) = buf.get(HEADER..HEADER + len) else {
        return Decoded::Incomplete;
    };
    let want = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len_bytes);
    crc.update(data);
    if crc.finalize() != want {
        return Decoded::Bad;
    }
    Decoded::Record(data, HEADER + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_torn_and_garbled() {
        let mut buf = Vec::new();
        encode(b"hello", &mut buf);
        assert_eq!(decode(&buf, 100), Decoded::Record(b"hello", 13));
        assert_eq!(decode(&buf[..12], 100), Decoded::Incomplete);
        assert_eq!(decode(&buf, 4), Decoded::Bad);
        buf[10] ^= 1;
        assert_eq!(decode(&buf, 100), Decoded::Bad);
    }
}
