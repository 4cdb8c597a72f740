//! The C2SP `tlog-tiles` layout: resource paths of hash tiles and entry bundles, and which tiles
//! a tree of a given size has, so the log can be served as static files that existing
//! transparency-log tooling reads.

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: usize = 256;
/// Tree levels spanned by one tile level.
pub const TILE_HEIGHT: u8 = 8;

/// A parsed tile resource path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`: hashes of tree level `8 * L`.
    Hashes {
        /// Tile level.
        level: u8,
        /// Tile index within the level.
        index: u64,
        /// Number of hashes (256 for a full tile).
        width: u16,
    },
    /// `tile/entries/<N>[.p/<W>]`: an entry bundle.
    Entries {
        /// Bundle index.
        index: u64,
        /// Number of entries (256 for a full bundle).
        width: u16,
    },
}

/// Encodes a tile index as zero-padded three-digit path elements, all but the last prefixed by
/// `x` (1234067 becomes `x001/x234/067`).
pub fn encode_index(index: u64) -> String {
    let mut groups = vec![index % 1000];
    let mut rest = index / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut out = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            out.push_str(&format!("x{g:03}/"));
        } else {
            out.push_str(&format!("{g:03}"));
        }
    }
    out
}

fn suffix(width: u16) -> String {
    if usize::from(width) == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

impl TilePath {
    /// The resource path below the log prefix, e.g. `tile/0/x001/234.p/7`.
    pub fn to_path(&self) -> String {
        match *self {
            TilePath::Hashes {
                level,
                index,
                width,
            } => format!("tile/{level}/{}{}", encode_index(index), suffix(width)),
            TilePath::Entries { index, width } => {
                format!("tile/entries/{}{}", encode_index(index), suffix(width))
            }
        }
    }

    /// Parses a resource path; anything not exactly in the spec's form is refused.
    pub fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("tile/")?;
        let (kind, rest) = rest.split_once('/')?;
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                if w.starts_with('0') || w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let w: u16 = w.parse().ok()?;
                if w == 0 || usize::from(w) >= TILE_WIDTH {
                    return None;
                }
                (i, w)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = decode_index(index_part)?;
        if kind == "entries" {
            return Some(TilePath::Entries { index, width });
        }
        if kind.len() > 1 && kind.starts_with('0') {
            return None;
        }
        let level: u8 = kind.parse().ok().filter(|l| *l < 64)?;
        Some(TilePath::Hashes {
            level,
            index,
            width,
        })
    }
}

fn decode_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let mut index: u64 = 0;
    for (i, p) in parts.iter().enumerate() {
        let digits = if i + 1 < parts.len() {
            p.strip_prefix('x')?
        } else {
            p
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    // Leading all-zero groups are not canonical.
    (parts.len() == 1 || !parts[0].eq("x000")).then_some(index)
}

/// The tree level and first node index a hash tile covers, or `None` when out of range.
pub fn tile_node_range(level: u8, index: u64, width: u16) -> Option<(u8, u64)> {
    if width == 0 || usize::from(width) > TILE_WIDTH {
        return None;
    }
    let tree_level = level.checked_mul(TILE_HEIGHT)?;
    Some((tree_level, index.checked_mul(TILE_WIDTH as u64)?))
}

/// Width of tile `index` at tile level `level` in a tree of `size` entries: 256 when full,
/// 1 to 255 when partial, 0 when the tree has no such tile.
pub fn tile_width(size: u64, level: u8, index: u64) -> u16 {
    let Some(tree_level) = level.checked_mul(TILE_HEIGHT).filter(|l| *l < 64) else {
        return 0;
    };
    let nodes = size >> tree_level;
    let Some(start) = index.checked_mul(TILE_WIDTH as u64) else {
        return 0;
    };
    if nodes <= start {
        return 0;
    }
    (nodes - start).min(TILE_WIDTH as u64) as u16
}

/// Every tile and bundle path a tree of `size` entries has, as a static server would write them.
pub fn tiles_for_size(size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    for level in 0..8u8 {
        let tree_level = level * TILE_HEIGHT;
        let nodes = size >> tree_level;
        if nodes == 0 {
            break;
        }
        for index in 0..nodes.div_ceil(TILE_WIDTH as u64) {
            let width = tile_width(size, level, index);
            out.push(TilePath::Hashes {
                level,
                index,
                width,
            });
            if level == 0 {
                out.push(TilePath::Entries { index, width });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_the_spec() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(5), "005");
        assert_eq!(decode_index("x001/x234/067"), Some(1234067));
        assert_eq!(decode_index("x000/005"), None);
        assert_eq!(decode_index("5"), None);
    }

    #[test]
    fn spec_example_of_size_70000() {
        let tiles = tiles_for_size(70_000);
        let hashes: Vec<_> = tiles
            .iter()
            .filter(|t| matches!(t, TilePath::Hashes { .. }))
            .collect();
        // 273 full + 1 partial (112) at level 0; 1 full + 1 partial (17) at level 1; 1 partial (1) at level 2.
        assert_eq!(hashes.len(), 273 + 1 + 2 + 1);
        assert_eq!(tile_width(70_000, 0, 273), 112);
        assert_eq!(tile_width(70_000, 1, 1), 17);
        assert_eq!(tile_width(70_000, 2, 0), 1);
        assert_eq!(tile_width(256, 1, 0), 1);
    }

    #[test]
    fn path_round_trip() {
        for t in [
            TilePath::Hashes {
                level: 0,
                index: 1234067,
                width: 256,
            },
            TilePath::Hashes {
                level: 2,
                index: 0,
                width: 1,
            },
            TilePath::Entries {
                index: 273,
                width: 112,
            },
        ] {
            assert_eq!(TilePath::parse(&t.to_path()), Some(t));
        }
        assert_eq!(TilePath::parse("tile/0/001.p/256"), None);
        assert_eq!(TilePath::parse("tile/00/001"), None);
        assert_eq!(TilePath::parse("tile/0/001.p/0"), None);
    }
}
