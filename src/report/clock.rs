//! The report's time axis: seconds since the run started, on the wall clock, or on the
//! drill world's clock when the series were re-simulated (then actions are mapped onto it).

use crate::time::Timestamp;

/// Maps wall-clock instants to the charts' x axis (seconds) and back.
#[derive(Clone, Debug, PartialEq)]
pub enum Clock {
    /// x = seconds since `start` on the wall clock.
    Wall { start: Timestamp },
    /// x = world seconds. `anchors`: (wall ms, world s) pairs known to coincide (each
    /// journaled drill effect), sorted; between them linear, beyond the ends at the
    /// nearest segment's pace (world speed 1 with fewer than two).
    World {
        start: Timestamp,
        anchors: Vec<(i64, f64)>,
    },
}

impl Clock {
    pub fn start(&self) -> Timestamp {
        match self {
            Clock::Wall { start } | Clock::World { start, .. } => *start,
        }
    }

    pub fn is_world(&self) -> bool {
        matches!(self, Clock::World { .. })
    }

    /// Where the wall-clock instant `at` falls on the x axis.
    pub fn x(&self, at: Timestamp) -> f64 {
        match self {
            Clock::Wall { start } => (at.0 - start.0) as f64 / 1000.0,
            Clock::World { start, anchors } => {
                let pts: Vec<(f64, f64)> = anchors
                    .iter()
                    .map(|&(w, s)| (w as f64 / 1000.0, s))
                    .collect();
                let wall_s = at.0 as f64 / 1000.0;
                match pts.as_slice() {
                    [] => (at.0 - start.0) as f64 / 1000.0,
                    [(w, s)] => s + (wall_s - w),
                    _ => interpolate(&pts, wall_s),
                }
            }
        }
    }

    /// The wall-clock instant at x (the inverse of [`Clock::x`]).
    pub fn wall(&self, x: f64) -> Timestamp {
        let secs = match self {
            Clock::Wall { start } => start.0 as f64 / 1000.0 + x,
            Clock::World { start, anchors } => {
                let pts: Vec<(f64, f64)> = anchors
                    .iter()
                    .map(|&(w, s)| (s, w as f64 / 1000.0))
                    .collect();
                match pts.as_slice() {
                    [] => start.0 as f64 / 1000.0 + x,
                    [(s, w)] => w + (x - s),
                    _ => interpolate(&pts, x),
                }
            }
        };
        Timestamp((secs * 1000.0).round() as i64)
    }
}

/// Piecewise-linear through `pts` (sorted by their first value, at least two), extended
/// past the ends along the first and last segments; a vertical segment counts as pace 1.
fn interpolate(pts: &[(f64, f64)], x: f64) -> f64 {
    let seg = pts
        .windows(2)
        .position(|w| x <= w[1].0)
        .unwrap_or(pts.len() - 2);
    let (a, b) = (pts[seg], pts[seg + 1]);
    let dx = b.0 - a.0;
    let slope = if dx.abs() < 1e-9 {
        1.0
    } else {
        (b.1 - a.1) / dx
    };
    a.1 + (x - a.0) * slope
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_is_seconds_since_start() {
        let c = Clock::Wall {
            start: Timestamp(10_000),
        };
        assert_eq!(c.x(Timestamp(70_000)), 60.0);
        assert_eq!(c.wall(60.0), Timestamp(70_000));
    }

    #[test]
    fn world_clock_follows_the_anchors_both_ways() {
        // At speed 100: one wall second is 100 world seconds.
        let c = Clock::World {
            start: Timestamp(0),
            anchors: vec![(1_000, 50.0), (3_000, 250.0)],
        };
        assert_eq!(c.x(Timestamp(2_000)), 150.0);
        assert_eq!(c.x(Timestamp(4_000)), 350.0);
        assert_eq!(c.x(Timestamp(500)), 0.0);
        assert_eq!(c.wall(150.0), Timestamp(2_000));
        let one = Clock::World {
            start: Timestamp(0),
            anchors: vec![(1_000, 50.0)],
        };
        assert_eq!(one.x(Timestamp(3_000)), 52.0);
        // Two effects in the same wall millisecond do not divide by zero.
        let same = Clock::World {
            start: Timestamp(0),
            anchors: vec![(1_000, 50.0), (1_000, 60.0)],
        };
        assert!(same.x(Timestamp(2_000)).is_finite());
    }
}
