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
    match frame(buf, max_len) {
        Decoded::Record(_, n) if !checksum_matches(&buf[..n]) => Decoded::Bad,
        framed => framed,
    }
}

/// Finds where the record at the start of `buf` ends without checking its checksum, so that a
/// reader can frame records on one thread and check them ([`checksum_matches`]) on several.
pub(crate) fn frame(buf: &[u8], max_len: usize) -> Decoded<'_> {
    let Some(header) = buf.get(..HEADER) else {
        return Decoded::Incomplete;
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > max_len {
        return Decoded::Bad;
    }
    match buf.get(HEADER..HEADER + len) {
        Some(data) => Decoded::Record(data, HEADER + len),
        None => Decoded::Incomplete,
    }
}

/// Whether a whole framed record (header and data, as [`frame`] delimited it) carries the
/// checksum of its length and data.
pub(crate) fn checksum_matches(record: &[u8]) -> bool {
    let (Some(len), Some(want), Some(data)) =
        (record.get(..4), record.get(4..HEADER), record.get(HEADER..))
    else {
        return false;
    };
    let mut crc = crc32fast::Hasher::new();
    crc.update(len);
    crc.update(data);
    crc.finalize().to_be_bytes() == want
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
        assert!(checksum_matches(&buf));
        buf[10] ^= 1;
        assert_eq!(decode(&buf, 100), Decoded::Bad);
        assert_eq!(frame(&buf, 100), Decoded::Record(b"hemlo", 13));
        assert!(!checksum_matches(&buf));
        assert!(!checksum_matches(&buf[..7]));
    }
}
