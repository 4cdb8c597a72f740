//! The city's geometry: a rotated street grid that routes follow block by block, and vehicle
//! trajectories (time-stamped polylines) that trackers sample.

use ensuresec_model::event::GeoPoint;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::scenario::{City, Range};

const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Local planar coordinates around the city centre, metres east and north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Xy {
    pub x: f64,
    pub y: f64,
}

impl Xy {
    pub(crate) fn dist(self, o: Xy) -> f64 {
        ((self.x - o.x).powi(2) + (self.y - o.y).powi(2)).sqrt()
    }

    fn lerp(self, o: Xy, f: f64) -> Xy {
        Xy {
            x: self.x + (o.x - self.x) * f,
            y: self.y + (o.y - self.y) * f,
        }
    }
}

/// Converts between degrees and the city's metres; routes along its street grid.
pub(crate) struct Map {
    lat0: f64,
    lon0: f64,
    k: f64,
    block: f64,
    cos: f64,
    sin: f64,
}

impl Map {
    pub(crate) fn new(city: &City) -> Map {
        let b = city.grid_bearing_deg.to_radians();
        Map {
            lat0: city.center.lat,
            lon0: city.center.lon,
            k: city.center.lat.to_radians().cos(),
            block: city.block_m,
            cos: b.cos(),
            sin: b.sin(),
        }
    }

    pub(crate) fn xy(&self, lat: f64, lon: f64) -> Xy {
        Xy {
            x: (lon - self.lon0).to_radians() * EARTH_RADIUS_M * self.k,
            y: (lat - self.lat0).to_radians() * EARTH_RADIUS_M,
        }
    }

    pub(crate) fn geo(&self, p: Xy) -> GeoPoint {
        GeoPoint {
            lat: self.lat0 + (p.y / EARTH_RADIUS_M).to_degrees(),
            lon: self.lon0 + (p.x / (EARTH_RADIUS_M * self.k)).to_degrees(),
        }
    }

    /// Into grid axes (u along the streets, v across).
    fn to_grid(&self, p: Xy) -> (f64, f64) {
        (
            p.x * self.cos - p.y * self.sin,
            p.x * self.sin + p.y * self.cos,
        )
    }

    fn grid_point(&self, u: f64, v: f64) -> Xy {
        Xy {
            x: u * self.cos + v * self.sin,
            y: -u * self.sin + v * self.cos,
        }
    }

    /// A street route from `a` to `b`: to the nearest corner, then a staircase of runs of one to
    /// five blocks along either axis, then to `b`. Corners only: a polyline.
    pub(crate) fn street_path(&self, a: Xy, b: Xy, rng: &mut ChaCha8Rng) -> Vec<Xy> {
        let snap = |x: f64| (x / self.block).round() * self.block;
        let (au, av) = self.to_grid(a);
        let (bu, bv) = self.to_grid(b);
        let (mut u, mut v) = (snap(au), snap(av));
        let (tu, tv) = (snap(bu), snap(bv));
        let mut path = vec![a, self.grid_point(u, v)];
        while (u - tu).abs() > 0.5 || (v - tv).abs() > 0.5 {
            let along_u = (v - tv).abs() < 0.5 || ((u - tu).abs() > 0.5 && rng.random_bool(0.5));
            let blocks = f64::from(rng.random_range(1..=5u8)) * self.block;
            if along_u {
                u += (tu - u).signum() * blocks.min((tu - u).abs());
            } else {
                v += (tv - v).signum() * blocks.min((tv - v).abs());
            }
            path.push(self.grid_point(u, v));
        }
        path.push(b);
        path.dedup_by(|p, q| p.dist(*q) < 1.0);
        path
    }

    /// `p` moved `metres` in a random direction.
    pub(crate) fn away(&self, p: Xy, metres: f64, rng: &mut ChaCha8Rng) -> Xy {
        let a = rng.random_range(0.0..std::f64::consts::TAU);
        Xy {
            x: p.x + metres * a.cos(),
            y: p.y + metres * a.sin(),
        }
    }
}

/// Where a vehicle was when: points in time order, positions interpolated in between.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trajectory {
    points: Vec<(i64, Xy)>,
}

impl Trajectory {
    pub(crate) fn start(at: i64, p: Xy) -> Trajectory {
        Trajectory {
            points: vec![(at, p)],
        }
    }

    pub(crate) fn end(&self) -> (i64, Xy) {
        self.points
            .last()
            .copied()
            .unwrap_or((0, Xy { x: 0.0, y: 0.0 }))
    }

    /// Stays where it is until `until`.
    pub(crate) fn wait_until(&mut self, until: i64) {
        let (t, p) = self.end();
        if until > t {
            self.points.push((until, p));
        }
    }

    /// Drives along `path` at `kmh`, with a traffic stop drawn from `stop_s` about every 600 m.
    pub(crate) fn drive(&mut self, path: &[Xy], kmh: f64, stop_s: Range, rng: &mut ChaCha8Rng) {
        let mps = kmh / 3.6;
        let mut since_stop = 0.0;
        for w in path.windows(2) {
            let (t, here) = self.end();
            let d = here.dist(w[1]);
            if d < 0.5 {
                continue;
            }
            let mut at = t as f64 + d / mps;
            since_stop += d;
            self.points.push((at as i64, w[1]));
            if since_stop > 600.0 {
                since_stop = 0.0;
                at += stop_s.draw(rng);
                self.points.push((at as i64, w[1]));
            }
        }
    }

    /// Where it was at `at` (clamped to its ends).
    pub(crate) fn at(&self, at: i64) -> Xy {
        let i = self.points.partition_point(|(t, _)| *t <= at);
        match (i.checked_sub(1).map(|j| self.points[j]), self.points.get(i)) {
            (Some((t0, p0)), Some(&(t1, p1))) if t1 > t0 => {
                p0.lerp(p1, (at - t0) as f64 / (t1 - t0) as f64)
            }
            (Some((_, p)), _) => p,
            (None, Some(&(_, p))) => p,
            (None, None) => Xy { x: 0.0, y: 0.0 },
        }
    }

    /// Whether it is standing still at `at` (the same place a minute before and after).
    pub(crate) fn still(&self, at: i64) -> bool {
        self.at(at - 60).dist(self.at(at + 60)) < 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn map() -> Map {
        let city: super::super::scenario::DayScenario =
            serde_yaml_ng::from_str(super::super::scenario::DEFAULT_DAY).expect("shipped");
        Map::new(&city.city)
    }

    #[test]
    fn street_paths_join_their_ends_along_the_grid() {
        let m = map();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (a, b) = (
            Xy {
                x: -2000.0,
                y: 300.0,
            },
            Xy {
                x: 1500.0,
                y: 2500.0,
            },
        );
        let path = m.street_path(a, b, &mut rng);
        assert_eq!(path.first(), Some(&a));
        assert_eq!(path.last(), Some(&b));
        let length: f64 = path.windows(2).map(|w| w[0].dist(w[1])).sum();
        // A grid route is longer than the straight line and shorter than the axis-aligned sum
        // plus the snapping at both ends.
        assert!(length >= a.dist(b), "{length}");
        assert!(length <= 3500.0 + 2200.0 + 2.0 * m.block, "{length}");
        // Every inner leg runs along one grid axis.
        for w in path[1..path.len() - 1].windows(2) {
            let (u0, v0) = m.to_grid(w[0]);
            let (u1, v1) = m.to_grid(w[1]);
            assert!((u0 - u1).abs() < 0.01 || (v0 - v1).abs() < 0.01, "{w:?}");
        }
    }

    #[test]
    fn a_trajectory_interpolates_and_waits() {
        let mut t = Trajectory::start(0, Xy { x: 0.0, y: 0.0 });
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let path = [Xy { x: 0.0, y: 0.0 }, Xy { x: 360.0, y: 0.0 }];
        t.drive(&path, 36.0, Range([0.0, 0.0]), &mut rng);
        t.wait_until(200);
        assert_eq!(t.end(), (200, Xy { x: 360.0, y: 0.0 }));
        assert!((t.at(18).x - 180.0).abs() < 1e-6);
        assert!(t.still(120));
        assert!(!t.still(18));
    }
}
