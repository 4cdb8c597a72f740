//! Unicode normalisation: overlong UTF-8 sequences and full-width forms folded to ASCII.

use super::url::fold_fullwidth;

/// Appends `cp` as UTF-8 (invalid code points become U+FFFD).
pub(crate) fn push_char(out: &mut Vec<u8>, cp: u32) {
    let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn cont(b: Option<&u8>) -> Option<u32> {
    b.filter(|&&b| b & 0xC0 == 0x80)
        .map(|&b| u32::from(b & 0x3F))
}

/// Decodes overlong UTF-8 encodings of ASCII (`C0 AE` → `.`, `E0 80 AF` → `/`), a classic way
/// to slip `../` past a filter that a lenient server then decodes.
#[must_use]
pub fn decode_overlong(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == 0xC0 || b == 0xC1 {
            if let Some(c1) = cont(input.get(i + 1)) {
                out.push(((u32::from(b & 0x1F) << 6 | c1) & 0x7F) as u8);
                i += 2;
                continue;
            }
        } else if b == 0xE0 {
            if let (Some(c1), Some(c2)) = (cont(input.get(i + 1)), cont(input.get(i + 2)))
                && c1 < 0x20
            {
                let cp = c1 << 6 | c2;
                if cp < 0x80 {
                    out.push(cp as u8);
                } else {
                    push_char(&mut out, cp);
                }
                i += 3;
                continue;
            }
        } else if b == 0xF0
            && let (Some(c1), Some(c2), Some(c3)) = (
                cont(input.get(i + 1)),
                cont(input.get(i + 2)),
                cont(input.get(i + 3)),
            )
            && c1 < 0x10
        {
            let cp = c1 << 12 | c2 << 6 | c3;
            if cp < 0x80 {
                out.push(cp as u8);
            } else {
                push_char(&mut out, cp);
            }
            i += 4;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Folds full-width forms (U+FF01–U+FF5E, U+3000) to ASCII: `＜ｓｃｒｉｐｔ＞` → `<script>`.
#[must_use]
pub fn fullwidth_to_ascii(input: &[u8]) -> Vec<u8> {
    if memchr::memchr2(0xEF, 0xE3, input).is_none() {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if (b == 0xEF || b == 0xE3)
            && let (Some(c1), Some(c2)) = (cont(input.get(i + 1)), cont(input.get(i + 2)))
        {
            let cp = u32::from(b & 0x0F) << 12 | c1 << 6 | c2;
            let folded = fold_fullwidth(cp);
            if folded != cp {
                out.push(folded as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong() {
        let cases: [(&[u8], &[u8]); 5] = [
            (b"\xc0\xae\xc0\xae\xc0\xaf", b"../"),
            (b"\xe0\x80\xaf", b"/"),
            (b"\xf0\x80\x80\xaf", b"/"),
            (b"\xc3\xa9", b"\xc3\xa9"),
            (b"\xc0", b"\xc0"),
        ];
        for (input, want) in cases {
            assert_eq!(decode_overlong(input), want, "{input:?}");
        }
    }

    #[test]
    fn fullwidth() {
        for (input, want) in [
            ("＜ｓｃｒｉｐｔ＞", "<script>"),
            ("ａ\u{3000}ｂ", "a b"),
            ("日本", "日本"),
            ("plain", "plain"),
        ] {
            assert_eq!(
                fullwidth_to_ascii(input.as_bytes()),
                want.as_bytes(),
                "{input}"
            );
        }
    }
}
