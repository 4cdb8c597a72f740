//! The delivery rules' parameters as data (`rules/delivery.yaml`), loaded strictly: unknown keys
//! and out-of-range values are errors that name the file, the line and the key.

use std::collections::BTreeMap;

use chrono::{NaiveTime, Weekday};
use serde::Deserialize;

/// The shipped parameters.
pub const DEFAULT_RULES: &str = include_str!("../rules/delivery.yaml");

/// Why a rules file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The YAML does not parse or has unknown keys (the parser's message carries line and column).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range.
    #[error("{file}:{line}: `{key}` {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line of the key (of its section when the key is not written).
        line: usize,
        /// The key as a path, e.g. `product_classes.cold-2-8.max_c`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// How a class of contents must be kept.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductClass {
    /// Lowest allowed temperature, °C.
    pub min_c: f64,
    /// Highest allowed temperature, °C.
    pub max_c: f64,
    /// Cumulative minutes out of range tolerated.
    pub excursion_budget_minutes: f64,
    /// Mean kinetic temperature limit, °C.
    pub mkt_max_c: f64,
    /// Minutes of data before the MKT is judged (it is always judged at delivery).
    #[serde(default = "default_mkt_minutes")]
    pub mkt_min_minutes: f64,
    /// At or below this the contents froze (reported at once); none for classes that may freeze.
    #[serde(default)]
    pub freeze_c: Option<f64>,
}

fn default_mkt_minutes() -> f64 {
    120.0
}

/// Route rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRules {
    /// Distance from the planned route that counts as a deviation, m.
    pub corridor_m: f64,
    /// Speed between two positions that cannot be real, km/h.
    pub max_speed_kmh: f64,
    /// Standing still longer than this away from planned stops, minutes.
    pub stop_minutes: f64,
    /// Radius that counts as standing still, m.
    pub stop_radius_m: f64,
    /// Stops this close to the route's ends or the destination are planned, m.
    pub planned_stop_radius_m: f64,
}

/// Custody rules: weights, delivery place and time, opening.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyRules {
    /// Weight loss between two weighings beyond this many grams…
    pub weight_loss_grams: f64,
    /// …and beyond this share of the earlier weight is theft.
    pub weight_loss_pct: f64,
    /// A delivered scan farther than this from the destination, m.
    pub delivered_max_distance_m: f64,
    /// Minutes of grace around the courier's shift.
    pub shift_grace_minutes: f64,
    /// Light above this means the parcel was opened, lux.
    pub light_lux: f64,
    /// Opening within this distance of the destination is expected, m.
    pub open_allowed_radius_m: f64,
    /// A new plan that moves the destination farther than this is a redirect, m.
    pub redirect_min_m: f64,
}

/// The takeover → redirect chain: which other modules' alerts say an account was taken over, and
/// how far apart in time the takeover and the redirect of the account's parcel may be.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeoverRedirectRules {
    /// Rule ids of account-takeover alerts (on the account entity).
    pub takeover_rules: Vec<String>,
    /// Most hours between the takeover alert and the redirect, either way round.
    pub window_hours: f64,
}

/// Claim rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRules {
    /// Window over which claims are counted, days.
    pub window_days: f64,
    /// Claims in the window that make a serial claimer.
    pub serial_claims: u32,
    /// A delivered scan this close to the destination is evidence of delivery, m.
    pub evidence_radius_m: f64,
    /// A shock at or above this corroborates a damage claim, g.
    pub shock_g: f64,
}

/// Sensor health rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorRules {
    /// The trackers' reporting interval, s.
    pub heartbeat_seconds: f64,
    /// Silent this many intervals is an alert.
    pub silence_intervals: f64,
    /// Identical temperatures in a row that mean a stuck or bypassed sensor.
    pub flatline_readings: u32,
    /// Faster temperature change is physically impossible, °C per minute.
    pub max_change_c_per_min: f64,
    /// Battery below this, %.
    pub low_battery_pct: f64,
}

/// Opening hours of a zone, in its own time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneHours {
    /// The zone's time zone.
    pub timezone: chrono_tz::Tz,
    /// Opening time, local.
    pub open: NaiveTime,
    /// Closing time, local.
    pub close: NaiveTime,
    /// Days it opens.
    pub days: Vec<Weekday>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    timezone: String,
    open: String,
    close: String,
    days: Vec<String>,
}

/// State limits.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateLimits {
    /// Most parcels (or sensors, or claimants) per detector instance.
    pub max_entities: usize,
    /// Entities not heard of for this long are forgotten, days.
    pub idle_days: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    product_classes: BTreeMap<String, ProductClass>,
    route: RouteRules,
    custody: CustodyRules,
    claims: ClaimRules,
    sensors: SensorRules,
    #[serde(default)]
    badges: BTreeMap<String, RawZone>,
    takeover_redirect: TakeoverRedirectRules,
    limits: StateLimits,
}

/// Every parameter of the delivery rules.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRules {
    /// Handling classes by name.
    pub product_classes: BTreeMap<String, ProductClass>,
    /// Route rules.
    pub route: RouteRules,
    /// Custody rules.
    pub custody: CustodyRules,
    /// Claim rules.
    pub claims: ClaimRules,
    /// Sensor health rules.
    pub sensors: SensorRules,
    /// Zones whose badge use outside opening hours is an alert.
    pub badges: BTreeMap<String, ZoneHours>,
    /// The takeover → redirect chain.
    pub takeover_redirect: TakeoverRedirectRules,
    /// State limits.
    pub limits: StateLimits,
}

impl DeliveryRules {
    /// The shipped rules.
    pub fn builtin() -> Result<DeliveryRules, RulesError> {
        DeliveryRules::from_yaml("rules/delivery.yaml", DEFAULT_RULES)
    }

    /// Parses and validates `text`, read from `file` (named in errors).
    pub fn from_yaml(file: &str, text: &str) -> Result<DeliveryRules, RulesError> {
        let raw: RawRules = serde_yaml_ng::from_str(text).map_err(|e| RulesError::Parse {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let fail = |key: String, message: String| RulesError::Invalid {
            file: file.to_string(),
            line: line_of(text, &key),
            key,
            message,
        };
        for (name, c) in &raw.product_classes {
            let key = |k: &str| format!("product_classes.{name}.{k}");
            if !(-100.0..=100.0).contains(&c.min_c) || !(-100.0..=100.0).contains(&c.max_c) {
                return Err(fail(key("min_c"), "must be between -100 and 100 °C".into()));
            }
            if c.max_c <= c.min_c {
                return Err(fail(key("max_c"), "must be above min_c".into()));
            }
            positive(
                c.excursion_budget_minutes,
                || key("excursion_budget_minutes"),
                &fail,
            )?;
            positive(c.mkt_min_minutes, || key("mkt_min_minutes"), &fail)?;
            if let Some(f) = c.freeze_c
                && f >= c.min_c
            {
                return Err(fail(key("freeze_c"), "must be below min_c".into()));
            }
        }
        let r = &raw.route;
        for (k, v) in [
            ("corridor_m", r.corridor_m),
            ("max_speed_kmh", r.max_speed_kmh),
            ("stop_minutes", r.stop_minutes),
            ("stop_radius_m", r.stop_radius_m),
            ("planned_stop_radius_m", r.planned_stop_radius_m),
        ] {
            positive(v, || format!("route.{k}"), &fail)?;
        }
        let c = &raw.custody;
        for (k, v) in [
            ("weight_loss_grams", c.weight_loss_grams),
            ("delivered_max_distance_m", c.delivered_max_distance_m),
            ("light_lux", c.light_lux),
            ("open_allowed_radius_m", c.open_allowed_radius_m),
            ("redirect_min_m", c.redirect_min_m),
        ] {
            positive(v, || format!("custody.{k}"), &fail)?;
        }
        if !(0.0..100.0).contains(&c.weight_loss_pct) {
            return Err(fail(
                "custody.weight_loss_pct".into(),
                "must be 0 to 100".into(),
            ));
        }
        if c.shift_grace_minutes < 0.0 {
            return Err(fail(
                "custody.shift_grace_minutes".into(),
                "must not be negative".into(),
            ));
        }
        positive(
            raw.claims.window_days,
            || "claims.window_days".into(),
            &fail,
        )?;
        positive(
            raw.claims.evidence_radius_m,
            || "claims.evidence_radius_m".into(),
            &fail,
        )?;
        positive(raw.claims.shock_g, || "claims.shock_g".into(), &fail)?;
        if raw.claims.serial_claims < 2 {
            return Err(fail(
                "claims.serial_claims".into(),
                "must be 2 or more".into(),
            ));
        }
        let s = &raw.sensors;
        positive(
            s.heartbeat_seconds,
            || "sensors.heartbeat_seconds".into(),
            &fail,
        )?;
        if s.silence_intervals < 1.0 {
            return Err(fail(
                "sensors.silence_intervals".into(),
                "must be 1 or more".into(),
            ));
        }
        if s.flatline_readings < 3 {
            return Err(fail(
                "sensors.flatline_readings".into(),
                "must be 3 or more".into(),
            ));
        }
        positive(
            s.max_change_c_per_min,
            || "sensors.max_change_c_per_min".into(),
            &fail,
        )?;
        if !(0.0..=100.0).contains(&s.low_battery_pct) {
            return Err(fail(
                "sensors.low_battery_pct".into(),
                "must be 0 to 100".into(),
            ));
        }
        if raw.limits.max_entities == 0 {
            return Err(fail(
                "limits.max_entities".into(),
                "must be 1 or more".into(),
            ));
        }
        positive(raw.limits.idle_days, || "limits.idle_days".into(), &fail)?;
        positive(
            raw.takeover_redirect.window_hours,
            || "takeover_redirect.window_hours".into(),
            &fail,
        )?;
        if raw.takeover_redirect.takeover_rules.is_empty() {
            return Err(fail(
                "takeover_redirect.takeover_rules".into(),
                "must name at least one rule".into(),
            ));
        }
        let mut badges = BTreeMap::new();
        for (zone, z) in raw.badges {
            let key = |k: &str| format!("badges.{zone}.{k}");
            let timezone: chrono_tz::Tz = z.timezone.parse().map_err(|_| {
                fail(
                    key("timezone"),
                    format!("`{}` is not an IANA time zone name", z.timezone),
                )
            })?;
            let time = |k: &str, v: &str| {
                NaiveTime::parse_from_str(v, "%H:%M")
                    .map_err(|_| fail(key(k), format!("`{v}` is not a time as HH:MM")))
            };
            let (open, close) = (time("open", &z.open)?, time("close", &z.close)?);
            if open == close {
                return Err(fail(key("close"), "must differ from open".into()));
            }
            let days = z
                .days
                .iter()
                .map(|d| {
                    d.parse::<Weekday>()
                        .map_err(|_| fail(key("days"), format!("`{d}` is not a weekday")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            badges.insert(
                zone,
                ZoneHours {
                    timezone,
                    open,
                    close,
                    days,
                },
            );
        }
        Ok(DeliveryRules {
            product_classes: raw.product_classes,
            route: raw.route,
            custody: raw.custody,
            claims: raw.claims,
            sensors: raw.sensors,
            badges,
            takeover_redirect: raw.takeover_redirect,
            limits: raw.limits,
        })
    }
}

fn positive(
    value: f64,
    key: impl Fn() -> String,
    fail: &impl Fn(String, String) -> RulesError,
) -> Result<(), RulesError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(fail(key(), "must be a positive number".into()))
    }
}

/// The 1-based line where the dotted `key` is written: each part is looked for after the line
/// of the part before it. Stops at the deepest part found (1 when none is).
fn line_of(text: &str, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    let mut found = 0;
    for part in key.split('.') {
        let hit = lines.iter().enumerate().skip(at).find(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with('#') && t.strip_prefix(part).is_some_and(|r| r.starts_with(':'))
        });
        match hit {
            Some((n, _)) => {
                at = n + 1;
                found = n + 1;
            }
            None => break,
        }
    }
    found.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_load() {
        let rules = DeliveryRules::builtin().expect("shipped rules are valid");
        assert!(rules.product_classes.contains_key("cold-2-8"));
        assert_eq!(
            rules.badges["controlled-medicines"].timezone,
            chrono_tz::Europe::Berlin
        );
    }

    #[test]
    fn a_bad_value_names_file_line_and_key() {
        let text = DEFAULT_RULES.replace("    max_c: 8.0\n", "    max_c: 1.0\n");
        let err = DeliveryRules::from_yaml("d.yaml", &text)
            .unwrap_err()
            .to_string();
        let line = DEFAULT_RULES
            .lines()
            .position(|l| l.trim() == "max_c: 8.0")
            .map(|n| n + 1)
            .unwrap_or(0);
        assert_eq!(
            err,
            format!("d.yaml:{line}: `product_classes.cold-2-8.max_c` must be above min_c")
        );
    }

    #[test]
    fn unknown_keys_and_bad_zones_are_refused() {
        let typo = DEFAULT_RULES.replace("corridor_m:", "corider_m:");
        let err = DeliveryRules::from_yaml("d.yaml", &typo)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `corider_m`"), "{err}");
        assert!(err.contains("line"), "{err}");
        let tz = DEFAULT_RULES.replace("Europe/Berlin", "Mars/Olympus");
        let err = DeliveryRules::from_yaml("d.yaml", &tz)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`badges.controlled-medicines.timezone` `Mars/Olympus` is not an IANA"),
            "{err}"
        );
    }
}
