//! One parcel's journey judged against its plan: cold chain, route, custody (weights, opening,
//! scan order), the courier's delivery (place and shift), a silent tracker, and customer claims
//! weighed against the evidence gathered on the way. Each rule fires at most once per parcel.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use ensuresec_model::event::{
    ClaimKind, DeliveryClaim, DeliveryPlan, DeliveryScan, ScanKind, SensorReading,
};
use ensuresec_model::{Alert, EntityKey, EntityKind};
use serde_json::{Value, json};

use crate::coldchain::{ColdChain, ColdFinding};
use crate::finding::Rule;
use crate::geo::{Point, distance_m, match_route, simplify};
use crate::rules::DeliveryRules;

/// Most route points kept per parcel (a longer plan is simplified, and its corridor widened by
/// the simplification's tolerance).
pub const MAX_ROUTE_POINTS_KEPT: usize = 48;
/// Scans kept per parcel for evidence.
const MAX_SCANS: usize = 12;
/// Track points kept per parcel for evidence.
const MAX_TRACK: usize = 8;
/// Route segments behind the furthest one reached that still count as on the route (a courier
/// may go round a block again; a tour that crosses itself may match a later segment early).
const ROUTE_LOOKBACK: usize = 2;
/// A position this close to a route segment (plus the simplification's tolerance) is on it:
/// GPS noise and the width of a street.
const ROUTE_SNAP_M: f64 = 100.0;

/// What the plan says.
#[derive(Debug)]
struct Plan {
    destination: Point,
    route: Box<[Point]>,
    route_tolerance_m: f32,
    class: Option<u16>,
    courier: Option<Box<str>>,
    account: Option<Box<str>>,
    shift: Option<(i64, i64)>,
}

#[derive(Debug, Clone, Copy)]
struct Fix {
    at: i64,
    point: Option<Point>,
    temperature_c: Option<f32>,
}

#[derive(Debug)]
struct Delivered {
    at: i64,
    location: Option<Point>,
    photo: bool,
}

/// One parcel's state; see [`Parcel::heap_bytes`] for its size.
#[derive(Debug, Default)]
pub(crate) struct Parcel {
    plan: Option<Box<Plan>>,
    scans: VecDeque<(ScanKind, i64)>,
    last_weight: Option<(u32, ScanKind, i64)>,
    delivered: Option<Box<Delivered>>,
    cold: ColdChain,
    track: VecDeque<Fix>,
    last_fix: Option<(i64, Point)>,
    still_since: Option<(i64, Point)>,
    max_shock_g: Option<f32>,
    /// The furthest route segment reached within the corridor: deviation is judged against
    /// the route ahead, not against parts of a tour already driven or far ahead.
    route_progress: u8,
    light_measured: bool,
    locker_opened: Option<i64>,
    pub(crate) deadline: Option<i64>,
    /// The deadline this parcel is queued under in the detector's silence queue, if queued.
    pub(crate) queued: Option<i64>,
    pub(crate) last_seen: i64,
    fired: u32,
}

fn bit(rule: Rule) -> u32 {
    1 << Rule::ALL.iter().position(|r| *r == rule).unwrap_or(31)
}

/// What a handler needs besides the parcel.
pub(crate) struct Ctx<'a> {
    pub(crate) rules: &'a DeliveryRules,
    pub(crate) class_names: &'a [String],
    pub(crate) parcel_id: &'a str,
    pub(crate) time: DateTime<Utc>,
    pub(crate) out: &'a mut Vec<Alert>,
}

impl Ctx<'_> {
    fn at(&self) -> i64 {
        self.time.timestamp()
    }
}

impl Parcel {
    /// Bytes this parcel holds on the heap (its plan, scans and track), for the memory budget.
    pub(crate) fn heap_bytes(&self) -> usize {
        let plan = self.plan.as_ref().map_or(0, |p| {
            std::mem::size_of::<Plan>()
                + p.route.len() * std::mem::size_of::<Point>()
                + p.courier.as_ref().map_or(0, |s| s.len())
                + p.account.as_ref().map_or(0, |s| s.len())
        });
        plan + self.scans.capacity() * std::mem::size_of::<(ScanKind, i64)>()
            + self.track.capacity() * std::mem::size_of::<Fix>()
            + self
                .delivered
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<Delivered>())
    }

    fn fire(&mut self, rule: Rule) -> bool {
        let b = bit(rule);
        let fresh = self.fired & b == 0;
        self.fired |= b;
        fresh
    }

    fn has_fired(&self, rule: Rule) -> bool {
        self.fired & bit(rule) != 0
    }

    fn raise(
        &mut self,
        cx: &mut Ctx<'_>,
        rule: Rule,
        entity: EntityKey,
        title: String,
        mut evidence: Value,
    ) {
        if !self.fire(rule) {
            return;
        }
        if let Value::Object(map) = &mut evidence {
            map.insert("parcel_id".into(), json!(cx.parcel_id));
            if let Some(p) = &self.plan {
                map.insert("courier".into(), json!(p.courier.as_deref()));
                map.insert("account".into(), json!(p.account.as_deref()));
            }
            map.insert("scans".into(), self.scan_list());
            map.insert("track".into(), self.track_excerpt());
        }
        cx.out.push(rule.alert(cx.time, entity, title, evidence));
    }

    fn parcel_entity(cx: &Ctx<'_>) -> EntityKey {
        EntityKey::new(EntityKind::Parcel, cx.parcel_id)
    }

    fn courier_entity(&self, cx: &Ctx<'_>) -> EntityKey {
        match self.plan.as_ref().and_then(|p| p.courier.as_deref()) {
            Some(c) => EntityKey::new(EntityKind::Account, c),
            None => Parcel::parcel_entity(cx),
        }
    }

    fn scan_list(&self) -> Value {
        self.scans
            .iter()
            .map(|(k, t)| json!({"scan": k, "time": time_text(*t)}))
            .collect()
    }

    fn track_excerpt(&self) -> Value {
        self.track
            .iter()
            .map(|f| {
                json!({
                    "time": time_text(f.at),
                    "lat": f.point.map(|p| p.lat),
                    "lon": f.point.map(|p| p.lon),
                    "temperature_c": f.temperature_c,
                })
            })
            .collect()
    }

    fn last_scan(&self) -> Option<(ScanKind, i64)> {
        self.scans.back().copied()
    }

    fn out_for_delivery(&self) -> bool {
        self.delivered.is_none() && matches!(self.last_scan(), Some((ScanKind::OutForDelivery, _)))
    }

    fn finished(&self) -> bool {
        self.delivered.is_some() || matches!(self.last_scan(), Some((ScanKind::Returned, _)))
    }

    /// The delivery plan arrived (or was changed).
    pub(crate) fn on_plan(&mut self, cx: &mut Ctx<'_>, plan: &DeliveryPlan) {
        let new_destination = Point::from(plan.destination);
        let moved = self
            .plan
            .as_ref()
            .map(|p| (p.destination, distance_m(p.destination, new_destination)))
            .filter(|(_, d)| *d > cx.rules.custody.redirect_min_m);
        let route: Vec<Point> = plan.route.iter().map(|&p| p.into()).collect();
        let (route, tolerance) = simplify(&route, MAX_ROUTE_POINTS_KEPT);
        let class = plan.product_class.as_deref().and_then(|name| {
            cx.class_names
                .iter()
                .position(|c| c == name)
                .and_then(|i| u16::try_from(i).ok())
        });
        self.route_progress = 0;
        self.plan = Some(Box::new(Plan {
            destination: plan.destination.into(),
            route: route.into_boxed_slice(),
            route_tolerance_m: tolerance as f32,
            class,
            courier: plan.courier.as_deref().map(Into::into),
            account: plan.account.as_deref().map(Into::into),
            shift: plan
                .shift_start
                .zip(plan.shift_end)
                .map(|(s, e)| (s.timestamp(), e.timestamp())),
        }));
        if let Some(w) = plan.weight_grams
            && self.last_weight.is_none()
        {
            self.last_weight = Some((w, ScanKind::Pickup, cx.at()));
        }
        if let Some((before, d)) = moved {
            let entity = match plan.account.as_deref() {
                Some(a) => EntityKey::new(EntityKind::Account, a),
                None => Parcel::parcel_entity(cx),
            };
            self.raise(
                cx,
                Rule::ParcelRedirected,
                entity,
                format!("Parcel {} was redirected {d:.0} m", cx.parcel_id),
                json!({"distance_m": d.round(), "order_id": plan.order_id,
                       "from_lat": before.lat, "from_lon": before.lon,
                       "to_lat": new_destination.lat, "to_lon": new_destination.lon}),
            );
        }
    }

    /// A carrier scan.
    pub(crate) fn on_scan(&mut self, cx: &mut Ctx<'_>, scan: &DeliveryScan) {
        let at = cx.at();
        let last = self.last_scan();
        if last == Some((scan.scan, at)) {
            return; // a duplicate
        }
        let late = last.is_some_and(|(_, t)| at < t);
        if !late && !follows(last.map(|l| l.0), scan.scan) {
            let prev = last.map(|l| l.0);
            self.scans.push_back((scan.scan, at));
            self.raise(
                cx,
                Rule::ScanOutOfOrder,
                Parcel::parcel_entity(cx),
                format!(
                    "Scan `{}` after `{}`",
                    scan_name(scan.scan),
                    prev.map_or("nothing", scan_name)
                ),
                json!({"scan": scan.scan, "after": prev}),
            );
        } else {
            self.scans.push_back((scan.scan, at));
        }
        if late {
            self.scans.make_contiguous().sort_by_key(|s| s.1);
        }
        while self.scans.len() > MAX_SCANS {
            self.scans.pop_front();
        }
        if let Some(w) = scan.weight_grams {
            self.weigh(cx, w, scan, at);
        }
        match scan.scan {
            ScanKind::Delivered => self.on_delivered(cx, scan, at),
            ScanKind::Returned => self.deadline = None,
            // Each run out of the depot starts again at the route's beginning.
            ScanKind::OutForDelivery if !late => self.route_progress = 0,
            _ => {}
        }
    }

    fn weigh(&mut self, cx: &mut Ctx<'_>, grams: u32, scan: &DeliveryScan, at: i64) {
        match self.last_weight {
            Some((_, _, t)) if at <= t => {}
            Some((before, before_scan, t)) => {
                let loss = f64::from(before) - f64::from(grams);
                let rules = cx.rules;
                let c = &rules.custody;
                if loss > c.weight_loss_grams
                    && loss * 100.0 / f64::from(before.max(1)) > c.weight_loss_pct
                {
                    self.raise(
                        cx,
                        Rule::ParcelWeightLoss,
                        Parcel::parcel_entity(cx),
                        format!("Parcel {} lost {loss:.0} g between two weighings", cx.parcel_id),
                        json!({
                            "before_grams": before, "before_scan": before_scan, "before_time": time_text(t),
                            "after_grams": grams, "after_scan": scan.scan, "hub": scan.hub,
                        }),
                    );
                }
                self.last_weight = Some((grams, scan.scan, at));
            }
            None => self.last_weight = Some((grams, scan.scan, at)),
        }
    }

    fn on_delivered(&mut self, cx: &mut Ctx<'_>, scan: &DeliveryScan, at: i64) {
        let location = scan.location.map(Point::from);
        self.delivered = Some(Box::new(Delivered {
            at,
            location,
            photo: scan.photo_sha256.is_some(),
        }));
        self.deadline = None;
        let Some(plan) = self.plan.as_deref() else {
            return;
        };
        let (destination, shift, class) = (plan.destination, plan.shift, plan.class);
        let rules = cx.rules;
        let custody = &rules.custody;
        if let Some(p) = location {
            let d = distance_m(p, destination);
            if d > custody.delivered_max_distance_m {
                let entity = self.courier_entity(cx);
                self.raise(
                    cx,
                    Rule::DeliveredFarFromAddress,
                    entity,
                    format!(
                        "Parcel {} scanned delivered {d:.0} m from its address",
                        cx.parcel_id
                    ),
                    json!({"distance_m": d.round(), "scan_lat": p.lat, "scan_lon": p.lon,
                           "destination_lat": destination.lat, "destination_lon": destination.lon}),
                );
            }
        }
        if let Some((start, end)) = shift {
            let grace = (custody.shift_grace_minutes * 60.0) as i64;
            if at < start - grace || at > end + grace {
                let entity = self.courier_entity(cx);
                self.raise(
                    cx,
                    Rule::DeliveredOutsideShift,
                    entity,
                    format!(
                        "Parcel {} scanned delivered outside the courier's shift",
                        cx.parcel_id
                    ),
                    json!({"shift_start": time_text(start), "shift_end": time_text(end)}),
                );
            }
        }
        if let Some(class) =
            class.and_then(|i| rules.product_classes.get(&cx.class_names[usize::from(i)]))
        {
            let mut found = Vec::new();
            self.cold.at_delivery(class, &mut found);
            self.cold_alerts(cx, found);
        }
    }

    /// A reading of the parcel's tracker (or of a locker it sits in).
    pub(crate) fn on_reading(&mut self, cx: &mut Ctx<'_>, r: &SensorReading) {
        let at = cx.at();
        let point = r.location.map(Point::from);
        let fresh = self.track.back().is_none_or(|f| at > f.at);
        if fresh {
            self.track.push_back(Fix {
                at,
                point,
                temperature_c: r.temperature_c.map(|t| t as f32),
            });
            while self.track.len() > MAX_TRACK {
                self.track.pop_front();
            }
            if r.asset.is_none() && !self.finished() {
                let s = &cx.rules.sensors;
                self.deadline = Some(at + (s.heartbeat_seconds * s.silence_intervals) as i64);
            }
        }
        if let Some(t) = r.temperature_c {
            let class = self.plan.as_ref().and_then(|p| p.class).and_then(|i| {
                cx.rules
                    .product_classes
                    .get(&cx.class_names[usize::from(i)])
            });
            if let Some(class) = class {
                let mut found = Vec::new();
                self.cold.observe(class, at, t, &mut found);
                self.cold_alerts(cx, found);
            }
        }
        if let Some(g) = r.shock_g {
            self.max_shock_g = Some(self.max_shock_g.map_or(g as f32, |m| m.max(g as f32)));
        }
        let lit = r.light_lux.map(|l| l > cx.rules.custody.light_lux);
        self.light_measured |= lit.is_some() || r.lid_open.is_some();
        if lit == Some(true) || r.lid_open == Some(true) {
            self.opened(cx, r, point, at);
        }
        if let Some(p) = point
            && fresh
        {
            self.moved(cx, p, at);
        }
    }

    fn opened(&mut self, cx: &mut Ctx<'_>, r: &SensorReading, point: Option<Point>, at: i64) {
        let near_destination = match (point, self.plan.as_deref()) {
            (Some(p), Some(plan)) => {
                distance_m(p, plan.destination) <= cx.rules.custody.open_allowed_radius_m
            }
            _ => false,
        };
        if self.delivered.is_some() || near_destination {
            if r.asset.is_some() {
                self.locker_opened.get_or_insert(at);
            }
            return;
        }
        self.raise(
            cx,
            Rule::ParcelOpenedInTransit,
            Parcel::parcel_entity(cx),
            format!(
                "Parcel {} opened before delivery, away from its address",
                cx.parcel_id
            ),
            json!({"sensor": r.sensor, "light_lux": r.light_lux, "lid_open": r.lid_open}),
        );
    }

    fn moved(&mut self, cx: &mut Ctx<'_>, p: Point, at: i64) {
        let rules = cx.rules;
        let route_rules = &rules.route;
        if let Some((t, q)) = self.last_fix
            && at > t
        {
            let kmh = distance_m(p, q) / (at - t) as f64 * 3.6;
            if kmh > route_rules.max_speed_kmh {
                self.raise(
                    cx,
                    Rule::RouteImpossibleJump,
                    Parcel::parcel_entity(cx),
                    format!("Parcel {}'s tracker jumped at {kmh:.0} km/h", cx.parcel_id),
                    json!({"speed_kmh": kmh.round(), "seconds": at - t}),
                );
            }
        }
        self.last_fix = Some((at, p));
        if !self.out_for_delivery() {
            self.still_since = None;
            return;
        }
        let Some(plan) = self.plan.as_deref() else {
            return;
        };
        let (corridor, planned_stop) = (route_rules.corridor_m, route_rules.planned_stop_radius_m);
        let from = usize::from(self.route_progress).saturating_sub(ROUTE_LOOKBACK);
        let tolerance = f64::from(plan.route_tolerance_m);
        let matched = match_route(p, &plan.route, from, tolerance + ROUTE_SNAP_M);
        let off = matched.map_or(f64::INFINITY, |m| m.distance_m) - tolerance;
        let has_route = matched.is_some();
        if let Some(segment) = matched.and_then(|m| m.on_segment) {
            let segment = u8::try_from(segment).unwrap_or(u8::MAX);
            self.route_progress = self.route_progress.max(segment);
        }
        let near_planned_stop = distance_m(p, plan.destination) <= planned_stop
            || plan
                .route
                .first()
                .is_some_and(|&s| distance_m(p, s) <= planned_stop);
        if has_route && off > corridor {
            self.raise(
                cx,
                Rule::RouteDeviation,
                Parcel::parcel_entity(cx),
                format!(
                    "Parcel {} is {off:.0} m off its planned route",
                    cx.parcel_id
                ),
                json!({"off_route_m": off.round(), "corridor_m": corridor}),
            );
        }
        match self.still_since {
            Some((since, q)) if distance_m(p, q) <= route_rules.stop_radius_m => {
                let minutes = (at - since) as f64 / 60.0;
                if minutes > route_rules.stop_minutes && !near_planned_stop {
                    self.raise(
                        cx,
                        Rule::RouteUnscheduledStop,
                        Parcel::parcel_entity(cx),
                        format!(
                            "Parcel {} stood still {minutes:.0} min away from any planned stop",
                            cx.parcel_id
                        ),
                        json!({"minutes": minutes.round(), "lat": q.lat, "lon": q.lon}),
                    );
                }
            }
            _ => self.still_since = Some((at, p)),
        }
    }

    fn cold_alerts(&mut self, cx: &mut Ctx<'_>, found: Vec<ColdFinding>) {
        let class = self
            .plan
            .as_ref()
            .and_then(|p| p.class)
            .map(|i| cx.class_names[usize::from(i)].clone());
        for f in found {
            let (rule, title, evidence) = match f {
                ColdFinding::Frozen { temperature_c } => (
                    Rule::ColdChainFrozen,
                    format!("Parcel {} froze ({temperature_c:.1} °C)", cx.parcel_id),
                    json!({"temperature_c": temperature_c}),
                ),
                ColdFinding::Excursion { minutes, worst_c } => (
                    Rule::ColdChainExcursion,
                    format!(
                        "Parcel {} was {minutes:.0} min out of its temperature range",
                        cx.parcel_id
                    ),
                    json!({"minutes_out_of_range": minutes.round(), "worst_c": worst_c}),
                ),
                ColdFinding::Mkt { mkt_c, minutes } => (
                    Rule::ColdChainMkt,
                    format!(
                        "Parcel {}'s mean kinetic temperature is {mkt_c:.1} °C",
                        cx.parcel_id
                    ),
                    json!({"mkt_c": (mkt_c * 10.0).round() / 10.0, "minutes": minutes.round()}),
                ),
            };
            let mut evidence = evidence;
            if let Value::Object(m) = &mut evidence {
                m.insert("product_class".into(), json!(class));
            }
            self.raise(cx, rule, Parcel::parcel_entity(cx), title, evidence);
        }
    }

    /// The tracker has been silent past its deadline.
    pub(crate) fn on_silence(&mut self, cx: &mut Ctx<'_>) {
        self.deadline = None;
        let last = self.track.back().map(|f| time_text(f.at));
        self.raise(
            cx,
            Rule::TrackerSilent,
            Parcel::parcel_entity(cx),
            format!(
                "Parcel {}'s tracker went silent before delivery",
                cx.parcel_id
            ),
            json!({"last_reading": last}),
        );
    }

    /// A customer's claim, weighed against what the journey showed.
    pub(crate) fn on_claim(&mut self, cx: &mut Ctx<'_>, claim: &DeliveryClaim) {
        let radius = cx.rules.claims.evidence_radius_m;
        let delivered_near = match (self.delivered.as_deref(), self.plan.as_deref()) {
            (Some(d), Some(plan)) => d
                .location
                .map(|l| distance_m(l, plan.destination) <= radius),
            _ => None,
        };
        let tampering =
            self.has_fired(Rule::ParcelOpenedInTransit) || self.has_fired(Rule::ParcelWeightLoss);
        let mut supports: Vec<&str> = Vec::new();
        let mut against: Vec<&str> = Vec::new();
        match claim.claim {
            ClaimKind::NotReceived => {
                if self.delivered.is_none() {
                    supports.push("no delivered scan");
                }
                if delivered_near == Some(false) {
                    supports.push("delivered scan far from the address");
                }
                if tampering {
                    supports.push("opened or lightened on the way");
                }
                if delivered_near == Some(true) {
                    against.push("delivered scan at the address");
                }
                if self.delivered.as_ref().is_some_and(|d| d.photo) {
                    against.push("proof-of-delivery photo");
                }
                if self.locker_opened.is_some() {
                    against.push("locker opened after delivery");
                }
            }
            ClaimKind::Damaged => {
                if self
                    .max_shock_g
                    .is_some_and(|g| f64::from(g) >= cx.rules.claims.shock_g)
                {
                    supports.push("shock recorded on the way");
                } else if self.max_shock_g.is_some() && self.delivered.is_some() {
                    against.push("no shock recorded on the way");
                }
            }
            ClaimKind::Tampered => {
                if tampering {
                    supports.push("opened or lightened on the way");
                } else if self.light_measured
                    && self.last_weight.is_some()
                    && self.delivered.is_some()
                {
                    against.push("tracker saw no opening and weights held");
                }
            }
        }
        let claim_json = json!({
            "claim": claim.claim, "claimant": claim.account, "address": claim.address,
            "device": claim.device, "delivered_at": self.delivered.as_ref().map(|d| time_text(d.at)),
        });
        // What the tracker and the scales said, besides the scan list and the track excerpt.
        let readings = json!({
            "max_shock_g": self.max_shock_g, "light_measured": self.light_measured,
            "last_weight_grams": self.last_weight.map(|w| w.0),
            "locker_opened_at": self.locker_opened.map(time_text),
            "delivered_photo": self.delivered.as_ref().map(|d| d.photo),
        });
        if !supports.is_empty() {
            self.raise(
                cx,
                Rule::ClaimCorroborated,
                Parcel::parcel_entity(cx),
                format!(
                    "Claim on parcel {} is supported by the journey's evidence",
                    cx.parcel_id
                ),
                json!({"claim": claim_json, "supports": supports, "against": against, "readings": readings}),
            );
        } else if !against.is_empty() {
            self.raise(
                cx,
                Rule::ClaimContradicted,
                EntityKey::new(EntityKind::Account, &claim.account),
                format!(
                    "Claim on parcel {} is contradicted by the evidence",
                    cx.parcel_id
                ),
                json!({"claim": claim_json, "against": against, "readings": readings}),
            );
        }
    }
}

/// Whether scan `next` may follow `prev` in a parcel's journey.
fn follows(prev: Option<ScanKind>, next: ScanKind) -> bool {
    use ScanKind::*;
    match prev {
        None => matches!(next, Pickup),
        Some(Pickup) => matches!(next, HubIn | OutForDelivery),
        Some(HubIn) => matches!(next, HubOut),
        Some(HubOut) => matches!(next, HubIn | OutForDelivery),
        Some(OutForDelivery) => matches!(next, Delivered | FailedAttempt | Returned),
        Some(FailedAttempt) => matches!(next, OutForDelivery | HubIn | Returned),
        Some(Delivered) | Some(Returned) => false,
    }
}

fn scan_name(k: ScanKind) -> &'static str {
    match k {
        ScanKind::Pickup => "pickup",
        ScanKind::HubIn => "hub_in",
        ScanKind::HubOut => "hub_out",
        ScanKind::OutForDelivery => "out_for_delivery",
        ScanKind::Delivered => "delivered",
        ScanKind::FailedAttempt => "failed_attempt",
        ScanKind::Returned => "returned",
    }
}

fn time_text(at: i64) -> String {
    DateTime::<Utc>::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}
