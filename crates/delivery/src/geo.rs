//! Distances on the Earth for the route and custody rules: great-circle distance between two
//! points, distance from a point to a planned route, and route simplification so that a parcel's
//! plan fits its memory budget. Written here because the few functions needed are short and the
//! rules run them on every reading; a general GIS crate would bring far more than it gives.

use ensuresec_model::event::GeoPoint;

/// Mean Earth radius in metres (IUGG).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A point stored compactly (single precision is ~1 m at city scale, plenty for corridors of
/// hundreds of metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude in degrees.
    pub lat: f32,
    /// Longitude in degrees.
    pub lon: f32,
}

impl From<GeoPoint> for Point {
    fn from(p: GeoPoint) -> Point {
        Point {
            lat: p.lat as f32,
            lon: p.lon as f32,
        }
    }
}

/// Great-circle distance in metres (haversine).
pub fn distance_m(a: Point, b: Point) -> f64 {
    let (la1, la2) = (f64::from(a.lat).to_radians(), f64::from(b.lat).to_radians());
    let dlat = la2 - la1;
    let dlon = (f64::from(b.lon) - f64::from(a.lon)).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Local planar coordinates in metres around `origin` (equirectangular; exact enough within a
/// city, where routes are).
fn local(origin: Point, p: Point) -> (f64, f64) {
    let k = f64::from(origin.lat).to_radians().cos();
    let x = (f64::from(p.lon) - f64::from(origin.lon)).to_radians() * EARTH_RADIUS_M * k;
    let y = (f64::from(p.lat) - f64::from(origin.lat)).to_radians() * EARTH_RADIUS_M;
    (x, y)
}

/// Distance in metres from `p` to the segment `a`–`b`.
fn to_segment_m(p: Point, a: Point, b: Point) -> f64 {
    let (bx, by) = local(a, b);
    let (px, py) = local(a, p);
    let len2 = bx * bx + by * by;
    let t = if len2 == 0.0 {
        0.0
    } else {
        ((px * bx + py * by) / len2).clamp(0.0, 1.0)
    };
    let (dx, dy) = (px - t * bx, py - t * by);
    (dx * dx + dy * dy).sqrt()
}

/// Where a position lies against a route's segments `from` onwards (segment `i` joins points `i`
/// and `i + 1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteMatch {
    /// Distance to the nearest of those segments, m.
    pub distance_m: f64,
    /// The first of those segments within the snap radius: where along the route the position
    /// is (the first, not the nearest, so that a route crossing itself does not skip ahead).
    pub on_segment: Option<usize>,
}

/// Matches `p` against `route`'s segments `from` onwards; `None` when there is no such segment.
/// The route is projected once around `p` (one cosine per call, not per segment: this runs on
/// every position of a parcel out for delivery); within a city the projection is off by well
/// under one percent of the distance, a few metres against corridors of hundreds.
pub fn match_route(p: Point, route: &[Point], from: usize, snap_m: f64) -> Option<RouteMatch> {
    let k = f64::from(p.lat).to_radians().cos();
    let project = |q: Point| {
        (
            (f64::from(q.lon) - f64::from(p.lon)).to_radians() * EARTH_RADIUS_M * k,
            (f64::from(q.lat) - f64::from(p.lat)).to_radians() * EARTH_RADIUS_M,
        )
    };
    let mut found: Option<RouteMatch> = None;
    let mut points = route.iter().skip(from).map(|&q| project(q));
    let mut a = points.next()?;
    for (i, b) in points.enumerate() {
        let d = origin_to_segment_m(a, b);
        let m = found.get_or_insert(RouteMatch {
            distance_m: d,
            on_segment: None,
        });
        m.distance_m = m.distance_m.min(d);
        if d <= snap_m && m.on_segment.is_none() {
            m.on_segment = Some(from + i);
        }
        a = b;
    }
    found
}

/// Distance in metres from the origin to the segment `a`–`b` (planar, metres).
fn origin_to_segment_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(a.0 * dx + a.1 * dy) / len2).clamp(0.0, 1.0)
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    (x * x + y * y).sqrt()
}

/// Simplifies `route` to at most `max_points` points (Douglas–Peucker with a tolerance that
/// grows until it fits), keeping both ends. The tolerance used is returned so that callers can
/// widen their corridor by it: a point within the corridor of the full route stays within the
/// corridor plus tolerance of the simplified one.
pub fn simplify(route: &[Point], max_points: usize) -> (Vec<Point>, f64) {
    let max_points = max_points.max(2);
    if route.len() <= max_points {
        return (route.to_vec(), 0.0);
    }
    let mut tolerance = 5.0;
    loop {
        let kept = douglas_peucker(route, tolerance);
        if kept.len() <= max_points {
            return (kept, tolerance);
        }
        tolerance *= 2.0;
    }
}

fn douglas_peucker(route: &[Point], tolerance: f64) -> Vec<Point> {
    let mut keep = vec![false; route.len()];
    keep[0] = true;
    keep[route.len() - 1] = true;
    let mut stack = vec![(0, route.len() - 1)];
    while let Some((first, last)) = stack.pop() {
        let mut worst = (0.0, first);
        for i in first + 1..last {
            let d = to_segment_m(route[i], route[first], route[last]);
            if d > worst.0 {
                worst = (d, i);
            }
        }
        if worst.0 > tolerance {
            keep[worst.1] = true;
            stack.push((first, worst.1));
            stack.push((worst.1, last));
        }
    }
    route
        .iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(lat: f32, lon: f32) -> Point {
        Point { lat, lon }
    }

    /// Distance to a route in the metric the simplification is defined with.
    fn to_route(q: Point, route: &[Point]) -> f64 {
        route
            .windows(2)
            .map(|w| to_segment_m(q, w[0], w[1]))
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn one_degree_of_latitude_is_about_111_km() {
        let d = distance_m(p(52.0, 13.0), p(53.0, 13.0));
        assert!((d - 111_195.0).abs() < 200.0, "{d}");
    }

    #[test]
    fn distance_to_a_route_is_to_its_nearest_segment() {
        let route = [p(52.50, 13.30), p(52.50, 13.40), p(52.55, 13.40)];
        let to_route = |q: Point| match_route(q, &route, 0, 0.0).unwrap().distance_m;
        // On the first segment.
        assert!(to_route(p(52.50, 13.35)) < 5.0);
        // About 1.1 km north of the first segment, far from the second.
        let d = to_route(p(52.51, 13.33));
        assert!((d - 1_112.0).abs() < 20.0, "{d}");
    }

    #[test]
    fn a_route_is_matched_from_a_given_segment_on() {
        // Out along latitude 52.50, back along 52.51 (1.1 km north).
        let route = [
            p(52.50, 13.30),
            p(52.50, 13.40),
            p(52.51, 13.40),
            p(52.51, 13.30),
        ];
        let q = p(52.50, 13.35);
        let m = match_route(q, &route, 0, 50.0).unwrap();
        assert!(m.distance_m < 5.0);
        assert_eq!(m.on_segment, Some(0));
        // Once past the turn, only the way back counts.
        let m = match_route(q, &route, 2, 50.0).unwrap();
        assert!((m.distance_m - 1_112.0).abs() < 20.0, "{m:?}");
        assert_eq!(m.on_segment, None);
        assert_eq!(match_route(q, &route, 3, 50.0), None);
        assert_eq!(match_route(q, &route[..1], 0, 50.0), None);
        // Where the route crosses itself, the first segment wins.
        let crossing = [
            p(52.50, 13.30),
            p(52.50, 13.40),
            p(52.49, 13.35),
            p(52.51, 13.35),
        ];
        let m = match_route(p(52.50, 13.35), &crossing, 0, 50.0).unwrap();
        assert_eq!(m.on_segment, Some(0));
    }

    proptest! {
        #[test]
        fn simplified_routes_fit_and_stay_within_their_tolerance(
            pts in prop::collection::vec((52.3f32..52.7, 13.1f32..13.7), 2..300),
            max in 2usize..64,
        ) {
            let route: Vec<Point> = pts.iter().map(|&(a, b)| p(a, b)).collect();
            let (small, tolerance) = simplify(&route, max);
            prop_assert!(small.len() <= max);
            prop_assert_eq!(small[0], route[0]);
            prop_assert_eq!(small[small.len() - 1], route[route.len() - 1]);
            for q in &route {
                prop_assert!(to_route(*q, &small) <= tolerance + 1.0);
            }
        }
    }
}
