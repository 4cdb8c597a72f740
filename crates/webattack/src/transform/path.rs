//! Path normalisation: resolve `.` and `..`, collapse repeated slashes.

/// Normalises a path the way a file system would, so `/a/./b//../.env` becomes `/a/.env`.
/// With `windows`, backslashes count as separators too. `..` above the root of an absolute
/// path is dropped; in a relative path it is kept (it is the attack).
#[must_use]
pub fn normalize(input: &[u8], windows: bool) -> Vec<u8> {
    let is_sep = |b: u8| b == b'/' || (windows && b == b'\\');
    let absolute = input.first().is_some_and(|&b| is_sep(b));
    let trailing = input.len() > 1 && input.last().is_some_and(|&b| is_sep(b));
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in input.split(|&b| is_sep(b)) {
        match seg {
            b"" | b"." => {}
            b".." => {
                if segs.last().is_some_and(|s| *s != b"..") {
                    segs.pop();
                } else if !absolute {
                    segs.push(seg);
                }
            }
            _ => segs.push(seg),
        }
    }
    let mut out = Vec::with_capacity(input.len());
    if absolute {
        out.push(b'/');
    }
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
    if trailing && !segs.is_empty() {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix() {
        for (input, want) in [
            ("/a/./b//../.env", "/a/.env"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("../../etc/passwd", "../../etc/passwd"),
            ("a/b/../../../c", "../c"),
            ("/", "/"),
            ("/dir/", "/dir/"),
            ("", ""),
        ] {
            assert_eq!(
                normalize(input.as_bytes(), false),
                want.as_bytes(),
                "{input}"
            );
        }
    }

    #[test]
    fn windows() {
        assert_eq!(
            normalize(br"..\..\windows\win.ini", true),
            b"../../windows/win.ini"
        );
        assert_eq!(normalize(br"a\b", false), br"a\b");
    }
}
