//! Percent-decoding: single pass, IIS `%uXXXX`, and repeated passes for double encoding.

use super::unicode::push_char;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%HH` once; invalid escapes are kept as they are. With `plus`, `+` becomes a space
/// (form encoding).
#[must_use]
pub fn decode_once(input: &[u8], plus: bool) -> Vec<u8> {
    if memchr::memchr2(b'%', b'+', input).is_none() {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(if plus && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// Decodes `%HH` and the IIS-specific `%uHHHH` once, `+` to space. Full-width code points
/// (U+FF01–U+FF5E) map to their ASCII twins, as IIS does.
#[must_use]
pub fn decode_uni(input: &[u8]) -> Vec<u8> {
    if memchr::memchr2(b'%', b'+', input).is_none() {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            if matches!(input.get(i + 1), Some(b'u' | b'U')) {
                let digits = input.get(i + 2..i + 6).and_then(|d| {
                    d.iter()
                        .try_fold(0u32, |acc, &c| hex(c).map(|v| acc << 4 | u32::from(v)))
                });
                if let Some(cp) = digits {
                    push_char(&mut out, fold_fullwidth(cp));
                    i += 6;
                    continue;
                }
            } else if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// Maps full-width forms to ASCII, leaves other code points alone.
pub(crate) fn fold_fullwidth(cp: u32) -> u32 {
    match cp {
        0xFF01..=0xFF5E => cp - 0xFF01 + 0x21,
        0x3000 => 0x20,
        _ => cp,
    }
}

/// Maximum passes of [`decode_multi`]; three covers triple encoding, which is as deep as real
/// evasion goes, and keeps the cost bounded.
pub const MAX_PASSES: usize = 3;

/// Decodes repeatedly (at most [`MAX_PASSES`]) until the value stops changing, to undo double
/// and triple encoding (`%252e` → `%2e` → `.`).
#[must_use]
pub fn decode_multi(input: &[u8]) -> Vec<u8> {
    let mut cur = decode_uni(input);
    for _ in 1..MAX_PASSES {
        if memchr::memchr(b'%', &cur).is_none() {
            break;
        }
        let next = decode_uni(&cur);
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// Whether every `%` starts a valid `%HH` escape (CRS's `validateUrlEncoding`).
#[must_use]
pub fn is_valid_url_encoding(input: &[u8]) -> bool {
    let mut rest = input;
    while let Some(i) = memchr::memchr(b'%', rest) {
        let ok = rest.get(i + 1).copied().and_then(hex).is_some()
            && rest.get(i + 2).copied().and_then(hex).is_some();
        if !ok {
            return false;
        }
        rest = &rest[i + 3..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once() {
        for (input, plus, want) in [
            ("a%20b", false, "a b"),
            ("a+b", true, "a b"),
            ("a+b", false, "a+b"),
            ("%zz%4", false, "%zz%4"),
            ("%2527", false, "%27"),
            ("%41%42", false, "AB"),
        ] {
            assert_eq!(
                decode_once(input.as_bytes(), plus),
                want.as_bytes(),
                "{input}"
            );
        }
    }

    #[test]
    fn uni() {
        for (input, want) in [
            ("%u0041%u002e", "A."),
            ("%uff1cscript%uff1e", "<script>"),
            ("%u00e9", "é"),
            ("%u12", "%u12"),
            ("%u0041+x", "A x"),
        ] {
            assert_eq!(decode_uni(input.as_bytes()), want.as_bytes(), "{input}");
        }
    }

    #[test]
    fn multi() {
        for (input, want) in [
            ("%252e%252e%252f", "../"),
            ("%25252e", "."),
            ("%2525252e", "%2e"),
            ("plain", "plain"),
        ] {
            assert_eq!(decode_multi(input.as_bytes()), want.as_bytes(), "{input}");
        }
    }

    #[test]
    fn validity() {
        for (input, ok) in [
            ("a%20", true),
            ("%", false),
            ("%2", false),
            ("%g0", false),
            ("", true),
        ] {
            assert_eq!(is_valid_url_encoding(input.as_bytes()), ok, "{input}");
        }
    }
}
