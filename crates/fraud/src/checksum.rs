//! The framing both state files share (the feature state and the ring graph): every byte but
//! the last eight passes through a 64-bit FNV-1a hash, and the file ends with that hash.
//! A reader takes exact-sized pieces, naming what it was reading when the file ends, and at the
//! end checks the hash and that nothing follows it.

use std::io::{self, Read, Write};

/// FNV-1a over every byte that passes, in either direction.
pub(crate) struct Checksum<T> {
    inner: T,
    hash: u64,
}

impl<T> Checksum<T> {
    /// Starts the hash over `inner`.
    pub(crate) fn new(inner: T) -> Checksum<T> {
        Checksum {
            inner,
            hash: 0xcbf2_9ce4_8422_2325,
        }
    }

    fn add(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.hash = (self.hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl<W: Write> Checksum<W> {
    /// Writes `bytes` and adds them to the hash.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.add(bytes);
        self.inner.write_all(bytes)
    }

    /// Writes the hash of everything put, and flushes.
    pub(crate) fn end(mut self) -> io::Result<()> {
        let sum = self.hash.to_le_bytes();
        self.inner.write_all(&sum)?;
        self.inner.flush()
    }
}

impl<R: Read> Checksum<R> {
    /// Exactly `N` bytes; `what` names them when the file ends first.
    pub(crate) fn take<const N: usize>(
        &mut self,
        what: &dyn Fn() -> String,
    ) -> Result<[u8; N], String> {
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| ended(e, what))?;
        self.add(&buf);
        Ok(buf)
    }

    /// Exactly `len` bytes, allocated as they arrive (a damaged length cannot make it reserve
    /// more memory than the file holds); `what` names them when the file ends first.
    pub(crate) fn take_vec(
        &mut self,
        len: usize,
        what: &dyn Fn() -> String,
    ) -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        let got = (&mut self.inner)
            .take(len as u64)
            .read_to_end(&mut buf)
            .map_err(|e| ended(e, what))?;
        if got < len {
            return Err(format!("ends inside {}", what()));
        }
        self.add(&buf);
        Ok(buf)
    }

    /// Checks the hash at the end and that nothing follows it.
    pub(crate) fn check_end(mut self) -> Result<(), String> {
        let expected = self.hash;
        let mut sum = [0u8; 8];
        self.inner
            .read_exact(&mut sum)
            .map_err(|_| "ends before its checksum".to_string())?;
        if u64::from_le_bytes(sum) != expected {
            return Err("wrong checksum: the file was changed or damaged".into());
        }
        if self.inner.read(&mut [0u8; 1]).map_err(|e| e.to_string())? != 0 {
            return Err("bytes after the checksum".into());
        }
        Ok(())
    }
}

/// Appends to `bytes` the checksum of all of them: for a file made whole in memory, sealed
/// after it is made (outside whatever lock it was made under).
pub(crate) fn seal(bytes: &mut Vec<u8>) {
    let mut sum = Checksum::new(());
    sum.add(bytes);
    bytes.extend_from_slice(&sum.hash.to_le_bytes());
}

/// The message of a read that failed: "ends inside …" when the file was too short.
fn ended(e: io::Error, what: &dyn Fn() -> String) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => format!("ends inside {}", what()),
        _ => format!("{}: {e}", what()),
    }
}

/// The refusals every state file shares, checked on a good file `good` with the reader `read`:
/// a file cut short, a byte changed at `flip` (where no other check would stop it first), a
/// byte added, another version (the `u32` after the 22-byte header), each named, and the file
/// named in the error as `name`.
#[cfg(test)]
pub(crate) fn assert_framing_refused(
    good: &[u8],
    flip: usize,
    name: &str,
    read: impl Fn(&[u8]) -> Result<(), String>,
) {
    let refused = |bytes: &[u8], expected: &str| {
        let e = read(bytes).expect_err(expected);
        assert!(e.contains(expected) && e.contains(name), "{expected}: {e}");
    };
    refused(&good[..good.len() - 1], "checksum");
    let mut flipped = good.to_vec();
    flipped[flip] ^= 1;
    refused(&flipped, "wrong checksum");
    let mut longer = good.to_vec();
    longer.push(0);
    refused(&longer, "after the checksum");
    let mut version = good.to_vec();
    version[22] = 9;
    refused(&version, "version 9");
}
