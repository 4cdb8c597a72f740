//! Normalisation applied to a value before an operator looks at it.
//!
//! Attackers encode payloads so that a naive matcher misses them while the application still
//! decodes them; each transform undoes one such trick. **Invariant: no transform makes its input
//! longer**, so the bytes an operator scans are bounded by the bytes of the request, whatever the
//! chain (the basis of the per-request time bound documented on [`crate::Engine`]).

mod html;
mod path;
mod text;
pub mod unicode;
pub mod url;

/// One normalisation step, named in rule files by [`Transform::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transform {
    /// `%HH` decoded once, `+` kept.
    UrlDecode,
    /// `%HH` and `%uHHHH` decoded once, `+` to space, full-width `%u` folded to ASCII.
    UrlDecodeUni,
    /// Repeated `%`-decoding (at most [`url::MAX_PASSES`] passes) for double encoding.
    UrlDecodeMulti,
    /// Overlong UTF-8 forms of ASCII decoded.
    Utf8Overlong,
    /// HTML entities decoded.
    HtmlEntityDecode,
    /// Full-width Unicode folded to ASCII.
    FullwidthToAscii,
    /// NUL bytes removed.
    RemoveNulls,
    /// `.`/`..` segments resolved, slashes collapsed.
    NormalizePath,
    /// As [`Transform::NormalizePath`], backslashes counted as separators.
    NormalizePathWin,
    /// ASCII lowercase.
    Lowercase,
    /// `/* */` comments replaced by a space.
    ReplaceComments,
    /// SQL/HTML/shell comments removed.
    RemoveComments,
    /// Whitespace runs compressed to one space.
    CompressWhitespace,
    /// All whitespace removed.
    RemoveWhitespace,
    /// Leading and trailing whitespace removed.
    Trim,
    /// JavaScript escapes decoded.
    JsDecode,
    /// Windows command-line obfuscation undone.
    CmdLine,
    /// Shell quoting and escaping removed (`c'a't`, `c\at`, `c^at` → `cat`), separators kept.
    StripQuotes,
    /// Lenient base64 decode.
    Base64Decode,
}

impl Transform {
    /// All transforms.
    pub const ALL: [Transform; 19] = [
        Self::UrlDecode,
        Self::UrlDecodeUni,
        Self::UrlDecodeMulti,
        Self::Utf8Overlong,
        Self::HtmlEntityDecode,
        Self::FullwidthToAscii,
        Self::RemoveNulls,
        Self::NormalizePath,
        Self::NormalizePathWin,
        Self::Lowercase,
        Self::ReplaceComments,
        Self::RemoveComments,
        Self::CompressWhitespace,
        Self::RemoveWhitespace,
        Self::Trim,
        Self::JsDecode,
        Self::CmdLine,
        Self::StripQuotes,
        Self::Base64Decode,
    ];

    /// Name used in rule files.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::UrlDecode => "url_decode",
            Self::UrlDecodeUni => "url_decode_uni",
            Self::UrlDecodeMulti => "url_decode_multi",
            Self::Utf8Overlong => "utf8_overlong",
            Self::HtmlEntityDecode => "html_entity_decode",
            Self::FullwidthToAscii => "fullwidth_to_ascii",
            Self::RemoveNulls => "remove_nulls",
            Self::NormalizePath => "normalize_path",
            Self::NormalizePathWin => "normalize_path_win",
            Self::Lowercase => "lowercase",
            Self::ReplaceComments => "replace_comments",
            Self::RemoveComments => "remove_comments",
            Self::CompressWhitespace => "compress_whitespace",
            Self::RemoveWhitespace => "remove_whitespace",
            Self::Trim => "trim",
            Self::JsDecode => "js_decode",
            Self::CmdLine => "cmd_line",
            Self::StripQuotes => "strip_quotes",
            Self::Base64Decode => "base64_decode",
        }
    }

    /// Inverse of [`Transform::name`].
    #[must_use]
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Applies this transform.
    #[must_use]
    pub fn apply(self, input: &[u8]) -> Vec<u8> {
        match self {
            Self::UrlDecode => url::decode_once(input, false),
            Self::UrlDecodeUni => url::decode_uni(input),
            Self::UrlDecodeMulti => url::decode_multi(input),
            Self::Utf8Overlong => unicode::decode_overlong(input),
            Self::HtmlEntityDecode => html::decode_entities(input),
            Self::FullwidthToAscii => unicode::fullwidth_to_ascii(input),
            Self::RemoveNulls => text::remove_nulls(input),
            Self::NormalizePath => path::normalize(input, false),
            Self::NormalizePathWin => path::normalize(input, true),
            Self::Lowercase => text::lowercase(input),
            Self::ReplaceComments => text::replace_comments(input),
            Self::RemoveComments => text::remove_comments(input),
            Self::CompressWhitespace => text::compress_whitespace(input),
            Self::RemoveWhitespace => text::remove_whitespace(input),
            Self::Trim => text::trim(input),
            Self::JsDecode => text::js_decode(input),
            Self::CmdLine => text::cmd_line(input),
            Self::StripQuotes => text::strip_quotes(input),
            Self::Base64Decode => text::base64_decode(input),
        }
    }
}

/// Applies a chain of transforms in order.
#[must_use]
pub fn apply_chain(chain: &[Transform], input: &[u8]) -> Vec<u8> {
    let mut cur = input.to_vec();
    for t in chain {
        cur = t.apply(&cur);
    }
    cur
}

/// Human-readable name of a chain, for logs and errors.
#[must_use]
pub fn chain_name(chain: &[Transform]) -> String {
    if chain.is_empty() {
        return "none".to_owned();
    }
    chain.iter().map(|t| t.name()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Transform::ALL {
            assert_eq!(Transform::from_name(t.name()), Some(t));
        }
        assert_eq!(Transform::from_name("nope"), None);
    }

    #[test]
    fn chain_undoes_layered_evasion() {
        let chain = [
            Transform::UrlDecodeMulti,
            Transform::HtmlEntityDecode,
            Transform::Lowercase,
        ];
        assert_eq!(apply_chain(&chain, b"%2526lt%253BSCRIPT%253E"), b"<script>");
    }

    #[test]
    fn no_transform_grows_its_input() {
        // A hand-picked set of worst cases per transform, plus a sweep of every byte pair.
        let mut inputs: Vec<Vec<u8>> = vec![
            b"&#128;&#x10FFFF;&lt&#1".to_vec(),
            b"%u00e9%uFFFF%80".to_vec(),
            br"\x80\u0800\377\u{10FFFF}".to_vec(),
            b"\xc0\xae\xe0\x80\xaf".to_vec(),
            b"a/./b/../..//c/".to_vec(),
        ];
        for a in 0..=255u8 {
            for b in [b'%', b'&', b'\\', b'#', b'x', b'u', b'0', b';', 0xC0, 0x80] {
                inputs.push(vec![a, b, b'0', a, b'1', b';']);
            }
        }
        for t in Transform::ALL {
            for i in &inputs {
                assert!(t.apply(i).len() <= i.len(), "{} grew {i:?}", t.name());
            }
        }
    }
}
