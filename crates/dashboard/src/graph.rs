//! Graph drawings as SVG, laid out on the server: columns by dependency level (the asset graph)
//! or by distance from the origin (a cascade), one row per asset in a column, curved edges from
//! what is needed to what needs it. Nodes carry CSS classes for layer and status, so that the
//! live script only flips classes.

use std::collections::HashMap;

use ensuresec_assets::{AssetModel, Cascade};

const NODE_W: usize = 190;
const NODE_H: usize = 38;
const COL_GAP: usize = 70;
const ROW_GAP: usize = 14;
const PAD: usize = 10;

/// A laid-out drawing.
pub(crate) struct Svg {
    /// Total width.
    pub width: usize,
    /// Total height.
    pub height: usize,
    /// Boxes.
    pub nodes: Vec<Node>,
    /// Curves.
    pub edges: Vec<EdgeLine>,
}

/// A box.
pub(crate) struct Node {
    /// Asset id (also the link target and the live script's key).
    pub id: String,
    /// First line.
    pub label: String,
    /// Second line (type, or impact and delay in a cascade).
    pub note: String,
    /// Left.
    pub x: usize,
    /// Top.
    pub y: usize,
    /// CSS classes.
    pub class: String,
}

impl Node {
    /// Text x.
    pub fn tx(&self) -> usize {
        self.x + 8
    }
    /// First text line y.
    pub fn ty(&self) -> usize {
        self.y + 16
    }
    /// Second text line y.
    pub fn ty2(&self) -> usize {
        self.y + 31
    }
    /// Box width.
    pub fn w(&self) -> usize {
        NODE_W
    }
    /// Box height.
    pub fn h(&self) -> usize {
        NODE_H
    }
}

/// A curve with its SVG path and CSS class (the dependency kind).
pub(crate) struct EdgeLine {
    /// The `d` attribute.
    pub d: String,
    /// CSS class.
    pub class: String,
}

/// Labels longer than a box holds are cut, with the full name in the node's tooltip.
fn fit(label: &str) -> String {
    const MAX: usize = 26;
    if label.chars().count() <= MAX {
        label.to_string()
    } else {
        let cut: String = label.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

fn position(col: usize, row: usize) -> (usize, usize) {
    (
        PAD + col * (NODE_W + COL_GAP),
        PAD + row * (NODE_H + ROW_GAP),
    )
}

fn curve(from: (usize, usize), to: (usize, usize)) -> String {
    let (x1, y1) = (from.0 + NODE_W, from.1 + NODE_H / 2);
    let (x2, y2) = (to.0, to.1 + NODE_H / 2);
    let mid = (x1 + x2) / 2;
    format!("M{x1} {y1} C{mid} {y1} {mid} {y2} {x2} {y2}")
}

fn finish(cols: &[Vec<usize>], nodes: Vec<Node>, edges: Vec<EdgeLine>) -> Svg {
    let rows = cols.iter().map(Vec::len).max().unwrap_or(0);
    let (w, h) = position(cols.len(), rows);
    Svg {
        width: w.max(NODE_W + 2 * PAD),
        height: h.max(NODE_H + 2 * PAD),
        nodes,
        edges,
    }
}

/// The whole model; `status` gives the worst open severity per asset id, for colouring;
/// `include` filters assets (partners see their own).
pub(crate) fn asset_graph(
    model: &AssetModel,
    status: &HashMap<String, &'static str>,
    include: impl Fn(&ensuresec_assets::Asset) -> bool,
) -> Svg {
    let assets = model.assets();
    let shown: Vec<usize> = (0..assets.len()).filter(|&i| include(&assets[i])).collect();
    // Level = 1 + the deepest level among what it needs; bounded rounds so cycles end.
    let mut level = vec![0usize; assets.len()];
    for _ in 0..assets.len().min(64) {
        let mut changed = false;
        for (i, a) in assets.iter().enumerate() {
            let l = a
                .depends_on
                .iter()
                .filter_map(|d| model.index_of(&d.asset))
                .map(|j| level[j] + 1)
                .max()
                .unwrap_or(0);
            if l > level[i] {
                level[i] = l.min(63);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut cols: Vec<Vec<usize>> = Vec::new();
    let mut place = HashMap::new();
    for &i in &shown {
        let c = level[i];
        if cols.len() <= c {
            cols.resize(c + 1, Vec::new());
        }
        place.insert(i, position(c, cols[c].len()));
        cols[c].push(i);
    }
    let nodes = shown
        .iter()
        .map(|&i| {
            let a = &assets[i];
            let (x, y) = place[&i];
            let state = status.get(&a.id).copied().unwrap_or("ok");
            Node {
                id: a.id.clone(),
                label: fit(&a.name),
                note: format!("{} · {}", a.asset_type.as_str(), a.criticality.as_str()),
                x,
                y,
                class: format!("layer-{} status-{state}", a.layer.as_str()),
            }
        })
        .collect();
    let mut edges = Vec::new();
    for &i in &shown {
        for d in &assets[i].depends_on {
            if let Some(j) = model.index_of(&d.asset).filter(|j| place.contains_key(j)) {
                edges.push(EdgeLine {
                    d: curve(place[&j], place[&i]),
                    class: format!("edge kind-{}", d.kind.as_str()),
                });
            }
        }
    }
    finish(&cols, nodes, edges)
}

/// A cascade: the origin on the left, each affected asset in the column of its distance, edges
/// along the worst paths.
pub(crate) fn cascade_graph(model: &AssetModel, cascade: &Cascade) -> Svg {
    let mut cols: Vec<Vec<usize>> = Vec::new();
    let mut place: HashMap<&str, (usize, usize)> = HashMap::new();
    for (k, a) in cascade.affected.iter().enumerate() {
        let c = a.depth as usize;
        if cols.len() <= c {
            cols.resize(c + 1, Vec::new());
        }
        place.insert(a.id.as_str(), position(c, cols[c].len()));
        cols[c].push(k);
    }
    let nodes = cascade
        .affected
        .iter()
        .map(|a| {
            let (x, y) = place[a.id.as_str()];
            let name = model.get(&a.id).map_or(a.id.as_str(), |x| x.name.as_str());
            let level = if a.depth == 0 {
                "origin"
            } else if a.impact >= 0.75 {
                "high"
            } else if a.impact >= 0.4 {
                "medium"
            } else {
                "low"
            };
            Node {
                id: a.id.clone(),
                label: fit(name),
                note: format!("{:.0}% · +{} min", a.impact * 100.0, a.delay_minutes),
                x,
                y,
                class: format!("impact-{level}"),
            }
        })
        .collect();
    let edges = cascade
        .affected
        .iter()
        .filter_map(|a| {
            let parent = a.parent.as_deref()?;
            Some(EdgeLine {
                d: curve(*place.get(parent)?, place[a.id.as_str()]),
                class: format!("edge kind-{}", a.via.map_or("service", |k| k.as_str())),
            })
        })
        .collect();
    finish(&cols, nodes, edges)
}

/// A fraud ring: the group on the left, then the cards (members of `kinds[0]`) in one column
/// and the members of the other `kinds`, in their order, in the next. `links` are the report's
/// pairs of member indices that a payment used together (`[i, j]`: member `i` hangs from
/// member `j`), always a card and another entity, so each is drawn between the two adjacent
/// columns and never passes behind a box it does not join (which would show a link that is
/// not there). A member that hangs from no member drawn gets a dashed edge from the group, so
/// the drawing is connected; a report from before the ring graph kept links has none, and
/// every member then hangs from the group. The columns do not wrap: at most a report's 100
/// members, in a drawing that scrolls.
pub(crate) fn ring_graph(
    label: &str,
    note: &str,
    members: &[(String, String)],
    links: &[[usize; 2]],
    kinds: &[&str],
) -> Svg {
    let origin = position(0, 0);
    let mut cols: Vec<Vec<usize>> = vec![vec![0], Vec::new(), Vec::new()];
    let mut nodes = vec![Node {
        id: "ring".into(),
        label: fit(label),
        note: note.to_string(),
        x: origin.0,
        y: origin.1,
        class: "ring".into(),
    }];
    // Where each member is drawn, by its index in `members` (`None`: a kind not drawn).
    let mut placed = vec![None; members.len()];
    for (order, kind) in kinds.iter().enumerate() {
        let c = if order == 0 { 1 } else { 2 };
        for (i, (k, value)) in members.iter().enumerate() {
            if k.as_str() != *kind {
                continue;
            }
            let (x, y) = position(c, cols[c].len());
            cols[c].push(nodes.len());
            placed[i] = Some((x, y));
            nodes.push(Node {
                id: value.clone(),
                label: fit(value),
                note: k.clone(),
                x,
                y,
                class: format!("member member-{k}"),
            });
        }
    }
    while cols.last().is_some_and(Vec::is_empty) {
        cols.pop();
    }
    let mut hangs = vec![false; members.len()];
    let mut edges = Vec::new();
    for &[i, j] in links {
        let (Some(Some(a)), Some(Some(b))) = (placed.get(i), placed.get(j)) else {
            continue;
        };
        // A pair within one column is not a link the graph makes; it is left out rather than
        // drawn across the boxes between.
        if a.0 == b.0 || std::mem::replace(&mut hangs[i], true) {
            continue;
        }
        let (from, to) = if a.0 < b.0 { (*a, *b) } else { (*b, *a) };
        edges.push(EdgeLine {
            d: curve(from, to),
            class: "edge link".into(),
        });
    }
    for (i, (k, _)) in members.iter().enumerate() {
        if let (Some(at), false) = (placed[i], hangs[i]) {
            edges.push(EdgeLine {
                d: curve(origin, at),
                class: format!("edge group member-{k}"),
            });
        }
    }
    finish(&cols, nodes, edges)
}

#[cfg(test)]
mod ring_tests {
    use super::*;

    #[test]
    fn cards_fill_one_column_and_the_other_kinds_the_next() {
        let mut members: Vec<(String, String)> = (0..15)
            .map(|i| ("card".to_string(), format!("card-{i}")))
            .collect();
        members.push(("device".into(), "dev-x".into()));
        members.push(("unknown-kind".into(), "skipped".into()));
        members.push(("email".into(), "mail-x".into()));
        let svg = ring_graph(
            "ring",
            "3 of 4",
            &members,
            &[],
            &["card", "email", "device"],
        );
        // The group, 15 cards, the e-mail and the device; a kind not asked for is left out.
        // Without links, every member hangs from the group.
        assert_eq!(svg.nodes.len(), 18);
        assert_eq!(svg.edges.len(), 17);
        assert!(
            svg.edges
                .iter()
                .all(|e| e.class.starts_with("edge group member-"))
        );
        assert!(svg.nodes.iter().all(|n| n.id != "skipped"));
        // The cards in one column, top to bottom; the others in the next, in `kinds`' order.
        let cards = &svg.nodes[1..16];
        assert!(cards.iter().all(|n| n.x == cards[0].x));
        assert!(cards.windows(2).all(|w| w[0].y < w[1].y));
        let (mail, dev) = (&svg.nodes[16], &svg.nodes[17]);
        assert_eq!((mail.id.as_str(), dev.id.as_str()), ("mail-x", "dev-x"));
        assert!(mail.x > cards[0].x && dev.x == mail.x && dev.y > mail.y);
        assert!(svg.width >= mail.x + NODE_W);
        assert!(svg.height >= cards[14].y + NODE_H);
        // No card listed: the other kinds keep their column, and the drawing its width.
        let alone = [("device".to_string(), "dev-y".to_string())];
        let svg = ring_graph("ring", "", &alone, &[], &["card", "device"]);
        assert_eq!(svg.nodes[1].x, mail.x);
        assert!(svg.width >= mail.x + NODE_W);
    }

    #[test]
    fn linked_members_hang_from_each_other_and_the_rest_from_the_group() {
        let members: Vec<(String, String)> = [
            ("card", "c1"),
            ("card", "c2"),
            ("device", "d1"),
            ("email", "e1"),
            ("unknown-kind", "skipped"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // c2 → d1 → c1; e1 linked to a member not drawn; then pairs the page must survive:
        // out of range, c2 a second time, a member to itself, two cards.
        let links = [[1, 2], [2, 0], [3, 4], [7, 0], [1, 0], [0, 0], [0, 1]];
        let svg = ring_graph("ring", "", &members, &links, &["card", "device", "email"]);
        let (c1, c2, d1, e1) = (&svg.nodes[1], &svg.nodes[2], &svg.nodes[3], &svg.nodes[4]);
        let link = |a: &Node, b: &Node| curve((a.x, a.y), (b.x, b.y));
        let drawn: Vec<(&str, &str)> = svg
            .edges
            .iter()
            .map(|e| (e.d.as_str(), e.class.as_str()))
            .collect();
        let group = (svg.nodes[0].x, svg.nodes[0].y);
        assert_eq!(
            drawn,
            [
                (link(c2, d1).as_str(), "edge link"),
                (link(c1, d1).as_str(), "edge link"),
                (
                    curve(group, (c1.x, c1.y)).as_str(),
                    "edge group member-card"
                ),
                (
                    curve(group, (e1.x, e1.y)).as_str(),
                    "edge group member-email"
                ),
            ]
        );
    }
}
