//! Character-level transforms: case, whitespace, nulls, comments, JavaScript escapes, Windows
//! command-line obfuscation and base64.

use super::unicode::push_char;

/// ASCII lowercase (non-ASCII bytes untouched, so UTF-8 stays valid).
#[must_use]
pub fn lowercase(input: &[u8]) -> Vec<u8> {
    input.to_ascii_lowercase()
}

/// Removes NUL bytes, which C-based back ends treat as string ends.
#[must_use]
pub fn remove_nulls(input: &[u8]) -> Vec<u8> {
    input.iter().copied().filter(|&b| b != 0).collect()
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C) || b == 0xA0
}

/// Turns every run of whitespace into one space.
#[must_use]
pub fn compress_whitespace(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut in_space = false;
    for &b in input {
        if is_space(b) {
            if !in_space {
                out.push(b' ');
            }
            in_space = true;
        } else {
            out.push(b);
            in_space = false;
        }
    }
    out
}

/// Removes all whitespace (`s e l e c t` tricks).
#[must_use]
pub fn remove_whitespace(input: &[u8]) -> Vec<u8> {
    input.iter().copied().filter(|&b| !is_space(b)).collect()
}

/// Trims leading and trailing whitespace.
#[must_use]
pub fn trim(input: &[u8]) -> Vec<u8> {
    let start = input
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |e| e + 1);
    input[start..end].to_vec()
}

/// Replaces each C-style comment `/* ... */` (unterminated ones included) with one space, so
/// `UNION/**/SELECT` reads `UNION SELECT`.
#[must_use]
pub fn replace_comments(input: &[u8]) -> Vec<u8> {
    if memchr::memmem::find(input, b"/*").is_none() {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'/' && input.get(i + 1) == Some(&b'*') {
            match memchr::memmem::find(&input[i + 2..], b"*/") {
                Some(end) => i += 2 + end + 2,
                None => i = input.len(),
            }
            out.push(b' ');
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// Removes comments of every syntax that SQL, HTML and shells accept: `/* */`, `<!-- -->`, and
/// `--` or `#` up to the end of the line.
#[must_use]
pub fn remove_comments(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        let skip_to = |open: usize, close: &[u8]| -> usize {
            memchr::memmem::find(&rest[open..], close)
                .map_or(input.len(), |e| i + open + e + close.len())
        };
        if rest.starts_with(b"/*") {
            i = skip_to(2, b"*/");
        } else if rest.starts_with(b"<!--") {
            i = skip_to(4, b"-->");
        } else if rest.starts_with(b"--") || rest[0] == b'#' {
            i = memchr::memchr(b'\n', rest).map_or(input.len(), |e| i + e);
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    out
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// Decodes JavaScript escapes: `\xHH`, `\uHHHH`, `\u{H..}`, octal `\NNN` and the single-letter
/// ones. Never grows the input.
#[must_use]
pub fn js_decode(input: &[u8]) -> Vec<u8> {
    if memchr::memchr(b'\\', input).is_none() {
        return input.to_vec();
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'\\' || i + 1 >= input.len() {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let n = input[i + 1];
        let hexes = |from: usize, count: usize| -> Option<u32> {
            input
                .get(from..from + count)?
                .iter()
                .try_fold(0u32, |acc, &c| hex(c).map(|v| acc << 4 | v))
        };
        match n {
            b'x' => {
                if let Some(v) = hexes(i + 2, 2) {
                    push_char(&mut out, v);
                    i += 4;
                    continue;
                }
            }
            b'u' => {
                if let Some(v) = hexes(i + 2, 4) {
                    push_char(&mut out, v);
                    i += 6;
                    continue;
                }
                if input.get(i + 2) == Some(&b'{')
                    && let Some(close) = input[i + 3..].iter().take(7).position(|&b| b == b'}')
                    && close > 0
                    && let Some(v) = hexes(i + 3, close)
                {
                    push_char(&mut out, v);
                    i += 4 + close;
                    continue;
                }
            }
            b'0'..=b'7' => {
                let len = input[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(*b))
                    .count();
                let v = input[i + 1..i + 1 + len]
                    .iter()
                    .fold(0u32, |acc, &c| acc * 8 + u32::from(c - b'0'));
                push_char(&mut out, v & 0xFF);
                i += 1 + len;
                continue;
            }
            _ => {}
        }
        out.push(match n {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'b' => 0x08,
            b'f' => 0x0C,
            b'v' => 0x0B,
            other => other,
        });
        i += 2;
    }
    out
}

/// Undoes Windows `cmd.exe` obfuscation, like CRS's `cmdLine`: drops `\ " ' ^`, turns `,` and
/// `;` into spaces, squeezes spaces, drops spaces before `/` and `(`, and lowercases.
#[must_use]
pub fn cmd_line(input: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(input.len());
    for &b in input {
        match b {
            b'\\' | b'"' | b'\'' | b'^' => {}
            b',' | b';' | b' ' | b'\t' | b'\n' | b'\r' => {
                if out.last() != Some(&b' ') {
                    out.push(b' ');
                }
            }
            b'/' | b'(' => {
                if out.last() == Some(&b' ') {
                    out.pop();
                }
                out.push(b);
            }
            _ => out.push(b.to_ascii_lowercase()),
        }
    }
    out
}

/// Removes shell quoting and escapes (`'`, `"`, `\`, `^`) but keeps separators, so
/// `c'a't /et""c/pas\swd` reads `cat /etc/passwd`.
#[must_use]
pub fn strip_quotes(input: &[u8]) -> Vec<u8> {
    input
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\'' | b'"' | b'\\' | b'^'))
        .collect()
}

/// Lenient base64 decode (standard and URL alphabets, whitespace skipped), stopping at the first
/// byte outside the alphabet; used to look inside encoded Java and PHP payloads.
#[must_use]
pub fn base64_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => break,
        };
        acc = (acc << 6 | u32::from(v)) & 0xFF_FFFF;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: fn(&[u8]) -> Vec<u8>, cases: &[(&str, &str)]) {
        for (input, want) in cases {
            assert_eq!(
                String::from_utf8_lossy(&f(input.as_bytes())),
                *want,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn case_and_nulls() {
        check(lowercase, &[("SeLeCT", "select"), ("É", "É")]);
        check(remove_nulls, &[("a\0b\0", "ab")]);
    }

    #[test]
    fn whitespace() {
        check(compress_whitespace, &[("a \t\n b", "a b"), ("  x", " x")]);
        check(remove_whitespace, &[("s e\tl\ne c t", "select")]);
        check(trim, &[("  a b \n", "a b"), ("   ", "")]);
    }

    #[test]
    fn comments() {
        check(
            replace_comments,
            &[("UNION/**/SELECT", "UNION SELECT"), ("a/*open", "a ")],
        );
        check(
            remove_comments,
            &[
                ("UNION/*x*/SELECT", "UNIONSELECT"),
                ("1 -- rest\nnext", "1 \nnext"),
                ("a<!-- b -->c", "ac"),
                ("x # y", "x "),
            ],
        );
    }

    #[test]
    fn javascript() {
        check(
            js_decode,
            &[
                (r"\x3cscript\x3e", "<script>"),
                (r"\u0061lert", "alert"),
                (r"\u{61}lert", "alert"),
                (r"\141lert", "alert"),
                (r"a\nb\\", "a\nb\\"),
                (r"\x4", r"x4"),
                ("\\", "\\"),
            ],
        );
    }

    #[test]
    fn windows_cmd() {
        check(
            cmd_line,
            &[
                ("c^md.e\"xe /c  wh\"o\"ami", "cmd.exe/c whoami"),
                ("POWERSHELL,;IEX (x)", "powershell iex(x)"),
            ],
        );
    }

    #[test]
    fn shell_quotes() {
        check(
            strip_quotes,
            &[("c'a't /et\"\"c/pas\\swd;id", "cat /etc/passwd;id")],
        );
    }

    #[test]
    fn base64() {
        check(
            base64_decode,
            &[
                ("amF2YS5sYW5nLlJ1bnRpbWU=", "java.lang.Runtime"),
                ("aGk$garbage", "hi"),
            ],
        );
    }
}
