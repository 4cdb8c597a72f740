//! HTML entity decoding, as a browser would before running an attribute value.

use super::unicode::push_char;

/// Named entities that matter for attacks (markup, quoting and JavaScript punctuation).
const NAMED: &[(&str, u8)] = &[
    ("lt", b'<'),
    ("gt", b'>'),
    ("amp", b'&'),
    ("quot", b'"'),
    ("apos", b'\''),
    ("nbsp", b' '),
    ("colon", b':'),
    ("semi", b';'),
    ("tab", b'\t'),
    ("newline", b'\n'),
    ("lpar", b'('),
    ("rpar", b')'),
    ("sol", b'/'),
    ("bsol", b'\\'),
    ("lsqb", b'['),
    ("rsqb", b']'),
    ("lbrack", b'['),
    ("rbrack", b']'),
    ("lcub", b'{'),
    ("rcub", b'}'),
    ("grave", b'`'),
    ("equals", b'='),
    ("excl", b'!'),
    ("quest", b'?'),
    ("period", b'.'),
    ("comma", b','),
    ("plus", b'+'),
    ("num", b'#'),
    ("dollar", b'$'),
    ("percnt", b'%'),
    ("ast", b'*'),
    ("vert", b'|'),
];

/// Decodes `&name;`, `&#DDD;` and `&#xHH;` (semicolon optional, as browsers allow). Unknown
/// entities are kept verbatim. Never grows the input.
#[must_use]
pub fn decode_entities(input: &[u8]) -> Vec<u8> {
    if memchr::memchr(b'&', input).is_none() {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'&'
            && let Some((consumed, emit)) = entity(&input[i + 1..])
        {
            match emit {
                Emit::Byte(b) => out.push(b),
                Emit::Char(cp) => push_char(&mut out, cp),
            }
            i += 1 + consumed;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

enum Emit {
    Byte(u8),
    Char(u32),
}

/// Parses one entity body (after `&`); returns bytes consumed and what to emit.
fn entity(s: &[u8]) -> Option<(usize, Emit)> {
    if s.first() == Some(&b'#') {
        let (radix, start) = match s.get(1) {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        let digits = s[start.min(s.len())..]
            .iter()
            .take_while(|b| (b as &u8).is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit()))
            .count();
        if digits == 0 {
            return None;
        }
        let text = std::str::from_utf8(&s[start..start + digits]).ok()?;
        // Leading zeros are a known evasion (`&#0000060`): strip them before bounding the length.
        let trimmed = text.trim_start_matches('0');
        let cp = if trimmed.is_empty() {
            0
        } else if trimmed.len() > 7 {
            0xFFFD
        } else {
            u32::from_str_radix(trimmed, radix).unwrap_or(0xFFFD)
        };
        let mut used = start + digits;
        if s.get(used) == Some(&b';') {
            used += 1;
        }
        let emit = if cp < 0x80 {
            Emit::Byte(cp as u8)
        } else {
            Emit::Char(cp)
        };
        // Never expand: a 2-byte UTF-8 result needs at least `&#` plus 2 more bytes, which holds.
        return Some((used, emit));
    }
    let len = s
        .iter()
        .take(10)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    if len == 0 {
        return None;
    }
    let name = std::str::from_utf8(&s[..len]).ok()?.to_ascii_lowercase();
    let (_, b) = NAMED.iter().find(|(n, _)| *n == name)?;
    let used = if s.get(len) == Some(&b';') {
        len + 1
    } else {
        len
    };
    Some((used, Emit::Byte(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        for (input, want) in [
            ("&lt;script&gt;", "<script>"),
            ("&#60;&#x3C;&#X3c", "<<<"),
            ("&#0000060;", "<"),
            ("javascript&colon;alert&lpar;1&rpar;", "javascript:alert(1)"),
            ("&QUOT;", "\""),
            ("&unknown; & a", "&unknown; & a"),
            ("&#xe9;", "é"),
            ("&#99999999999;", "\u{FFFD}"),
            ("&#", "&#"),
        ] {
            assert_eq!(
                decode_entities(input.as_bytes()),
                want.as_bytes(),
                "{input}"
            );
        }
    }
}
