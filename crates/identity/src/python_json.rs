//! JSON text in the layout of Python's `json.dumps` defaults: `", "` and `": "` separators and
//! every non-ASCII character escaped as `\uXXXX`.
//!
//! RFC 9901 lets an issuer encode a disclosure's JSON any way it likes, because the digest is
//! taken over the encoded text, not over a canonical form. The RFC's examples were produced by
//! the Python reference implementation in this layout; issuing in the same layout makes our
//! disclosures byte-identical to the RFC's, which the conformance tests check. serde_json does
//! the serialising; only the whitespace and escaping hooks are ours.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// A serde_json formatter producing Python's default `json.dumps` layout.
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Python's ensure_ascii escapes everything outside printable ASCII (space to tilde);
        // serde_json has already routed the control characters to `write_char_escape`.
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// Serialises `value` in Python's default `json.dumps` layout.
///
/// # Panics
/// Never for JSON values: serialising into a `Vec` cannot fail and the output is ASCII.
#[must_use]
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, PythonFormatter);
    value
        .serialize(&mut serializer)
        .expect("serialising a JSON value into memory cannot fail");
    String::from_utf8(out).expect("the Python layout escapes all non-ASCII, so it is UTF-8")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_string;

    #[test]
    fn matches_python_layout_and_escapes() {
        let value = json!(["salt", "name", {"a": 1, "b": [true, null]}, "太郎\"\n\u{7f}😀"]);
        assert_eq!(
            to_string(&value),
            r#"["salt", "name", {"a": 1, "b": [true, null]}, "\u592a\u90ce\"\n\u007f\ud83d\ude00"]"#
        );
    }
}
