//! `assets.yaml`: parsing and validation, with errors that name the file, the line and the key.
//!
//! Parsing is strict (unknown keys are errors, with the parser's line and column). Validation
//! errors name the asset, the key as a path (`depends_on[1].impact`) and the line where that key
//! is written, found by locating the asset's `id:` line and the key after it.

use std::collections::HashSet;

use ensuresec_model::{EntityKey, EntityKind};
use serde::Deserialize;

use crate::mapping::Selector;
use crate::model::{Asset, AssetModel, Dependency};
use crate::ontology::{AssetType, Criticality, DependencyKind};

/// Largest model file accepted.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Most assets in one model.
pub const MAX_ASSETS: usize = 100_000;
/// Most dependencies or selectors of one asset.
const MAX_PER_ASSET: usize = 1_000;
/// Longest accepted delay on one edge: a week.
const MAX_DELAY_MINUTES: u32 = 7 * 24 * 60;
/// Longest id, name, owner, tag or selector value.
const MAX_TEXT: usize = 256;

/// Why an asset model was refused.
#[derive(Debug, thiserror::Error)]
pub enum AssetModelError {
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{file}: {bytes} bytes is over the limit of {limit}")]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The YAML does not parse or has unknown keys (the message carries line and column).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with its location.
        message: String,
    },
    /// An asset parses but makes no sense.
    #[error("{file}:{line}: asset `{asset}`: `{key}` {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line of the offending key (of the asset when the key is not written).
        line: usize,
        /// The asset's id.
        asset: String,
        /// The offending key, as a path (`depends_on[1].impact`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    assets: Vec<RawAsset>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsset {
    id: String,
    name: String,
    #[serde(rename = "type")]
    asset_type: AssetType,
    owner: String,
    criticality: Criticality,
    #[serde(default)]
    impact_per_hour: f64,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    partners: Vec<String>,
    #[serde(default)]
    incidents: Vec<RawSelector>,
    #[serde(default)]
    depends_on: Vec<RawDependency>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    entity: Option<String>,
    detector: Option<String>,
    rule: Option<String>,
    tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDependency {
    asset: String,
    kind: DependencyKind,
    #[serde(default)]
    delay_minutes: u32,
    #[serde(default = "full_impact")]
    impact: f64,
}

fn full_impact() -> f64 {
    1.0
}

/// A validation failure before its line is looked up: key path, offending value, message.
struct Problem {
    key: String,
    value: String,
    message: String,
}

fn problem(
    key: impl Into<String>,
    value: impl Into<String>,
    message: impl Into<String>,
) -> Problem {
    Problem {
        key: key.into(),
        value: value.into(),
        message: message.into(),
    }
}

impl AssetModel {
    /// Parses and validates an asset model; `file` names it in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<AssetModel, AssetModelError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(AssetModelError::TooLarge {
                file: file.to_string(),
                bytes: text.len(),
                limit: MAX_FILE_BYTES,
            });
        }
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| AssetModelError::Syntax {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        if raw.assets.len() > MAX_ASSETS {
            return Err(AssetModelError::Syntax {
                file: file.to_string(),
                message: format!(
                    "`assets`: {} assets is over the limit of {MAX_ASSETS}",
                    raw.assets.len()
                ),
            });
        }
        let ids: HashSet<&str> = raw.assets.iter().map(|a| a.id.as_str()).collect();
        let mut seen = HashSet::new();
        let mut assets = Vec::with_capacity(raw.assets.len());
        for (position, a) in raw.assets.iter().enumerate() {
            let asset = validate(a, &ids, &mut seen).map_err(|p| AssetModelError::Invalid {
                file: file.to_string(),
                line: locate(text, position, &p.key, &p.value),
                asset: a.id.clone(),
                key: p.key,
                message: p.message,
            })?;
            assets.push(asset);
        }
        Ok(AssetModel::from_assets(assets))
    }
}

fn validate<'a>(
    a: &'a RawAsset,
    ids: &HashSet<&str>,
    seen: &mut HashSet<&'a str>,
) -> Result<Asset, Problem> {
    check_id("id", &a.id)?;
    if !seen.insert(a.id.as_str()) {
        return Err(problem("id", &a.id, "is used by an earlier asset"));
    }
    for (key, text) in [("name", &a.name), ("owner", &a.owner)] {
        if text.trim().is_empty() || text.len() > MAX_TEXT {
            return Err(problem(
                key,
                text,
                format!("must be 1 to {MAX_TEXT} characters"),
            ));
        }
    }
    if !a.impact_per_hour.is_finite() || a.impact_per_hour < 0.0 {
        return Err(problem(
            "impact_per_hour",
            "",
            "must be a finite number at or above 0",
        ));
    }
    for (key, list) in [("tags", &a.tags), ("partners", &a.partners)] {
        if list.len() > MAX_PER_ASSET {
            return Err(problem(
                key,
                "",
                format!("has more than {MAX_PER_ASSET} items"),
            ));
        }
        if let Some(bad) = list.iter().find(|t| t.is_empty() || t.len() > MAX_TEXT) {
            return Err(problem(
                key,
                bad,
                format!("items must be 1 to {MAX_TEXT} characters"),
            ));
        }
    }
    if a.incidents.len() > MAX_PER_ASSET || a.depends_on.len() > MAX_PER_ASSET {
        return Err(problem(
            if a.incidents.len() > MAX_PER_ASSET {
                "incidents"
            } else {
                "depends_on"
            },
            "",
            format!("has more than {MAX_PER_ASSET} items"),
        ));
    }
    let selectors = a
        .incidents
        .iter()
        .enumerate()
        .map(|(i, s)| selector(i, s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut depends_on = Vec::with_capacity(a.depends_on.len());
    let mut targets = HashSet::new();
    for (i, d) in a.depends_on.iter().enumerate() {
        let key = |k: &str| format!("depends_on[{i}].{k}");
        if !ids.contains(d.asset.as_str()) {
            return Err(problem(
                key("asset"),
                &d.asset,
                "names no asset in this model",
            ));
        }
        if d.asset == a.id {
            return Err(problem(key("asset"), &d.asset, "is the asset itself"));
        }
        if !targets.insert(d.asset.as_str()) {
            return Err(problem(key("asset"), &d.asset, "is listed twice"));
        }
        if !(d.impact > 0.0 && d.impact <= 1.0) {
            return Err(problem(key("impact"), "", "must be above 0 and at most 1"));
        }
        if d.delay_minutes > MAX_DELAY_MINUTES {
            return Err(problem(
                key("delay_minutes"),
                "",
                format!("must be at most {MAX_DELAY_MINUTES} (a week)"),
            ));
        }
        depends_on.push(Dependency {
            asset: d.asset.clone(),
            kind: d.kind,
            delay_minutes: d.delay_minutes,
            impact: d.impact,
        });
    }
    Ok(Asset {
        id: a.id.clone(),
        name: a.name.clone(),
        asset_type: a.asset_type,
        layer: a.asset_type.layer(),
        owner: a.owner.clone(),
        criticality: a.criticality,
        impact_per_hour: a.impact_per_hour,
        description: a.description.clone(),
        tags: a.tags.clone(),
        partners: a.partners.clone(),
        selectors,
        depends_on,
    })
}

fn check_id(key: &str, id: &str) -> Result<(), Problem> {
    let ok = !id.is_empty()
        && id.len() <= MAX_TEXT
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(problem(
            key,
            id,
            format!("must be 1 to {MAX_TEXT} characters of a-z, 0-9, `.`, `_`, `-`"),
        ))
    }
}

fn selector(i: usize, s: &RawSelector) -> Result<Selector, Problem> {
    let key = format!("incidents[{i}]");
    let given = [&s.entity, &s.detector, &s.rule, &s.tag]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if given != 1 {
        return Err(problem(
            key,
            "",
            "must have exactly one of entity, detector, rule, tag",
        ));
    }
    let text = |k: &str, v: &str| -> Result<(), Problem> {
        if v.is_empty() || v.len() > MAX_TEXT {
            Err(problem(
                format!("incidents[{i}].{k}"),
                v,
                format!("must be 1 to {MAX_TEXT} characters"),
            ))
        } else {
            Ok(())
        }
    };
    if let Some(e) = &s.entity {
        let (kind, value) = e.split_once(':').ok_or_else(|| {
            problem(
                format!("incidents[{i}].entity"),
                e,
                "must be KIND:VALUE (`asset:web-frontend`)",
            )
        })?;
        let kind: EntityKind = kind
            .parse()
            .map_err(|m: String| problem(format!("incidents[{i}].entity"), e, m))?;
        text("entity", value)?;
        return Ok(Selector::Entity(EntityKey::new(kind, value)));
    }
    if let Some(d) = &s.detector {
        text("detector", d)?;
        return Ok(Selector::Detector(d.clone()));
    }
    if let Some(r) = &s.rule {
        text("rule", r)?;
        if r.trim_end_matches('*').contains('*') {
            return Err(problem(
                format!("incidents[{i}].rule"),
                r,
                "may have `*` only at the end",
            ));
        }
        return Ok(Selector::Rule(r.clone()));
    }
    let t = s.tag.as_deref().unwrap_or_default();
    text("tag", t)?;
    Ok(Selector::Tag(t.to_string()))
}

/// The 1-based line where `key` (with `value`, when given) is written in the asset at
/// `position` (only assets have an `id:` key, so the n-th `id:` line starts the n-th asset); the
/// asset's `id:` line when the key is not written (a default), 1 when not even that is found.
fn locate(text: &str, position: usize, key: &str, value: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let is_id_line = |l: &str| {
        l.trim_start()
            .trim_start_matches("- ")
            .trim_start()
            .starts_with("id:")
    };
    let Some(start) = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| is_id_line(l))
        .nth(position)
        .map(|(n, _)| n)
    else {
        return 1;
    };
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    let needle = format!("{leaf}:");
    for (n, l) in lines.iter().enumerate().skip(start) {
        if n > start && is_id_line(l) {
            break;
        }
        if l.contains(&needle) && (value.is_empty() || l.contains(value)) {
            return n + 1;
        }
    }
    start + 1
}
