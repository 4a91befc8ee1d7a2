//! How a `promql` check reads Prometheus answers: every series must hold now (instant), or,
//! with `for`, a series fails only when it broke the condition at every step of the window.

use crate::backends::prometheus::client::{Labels, Sample, Series};
use crate::engine::CheckOutcome;
use crate::plan::CompareOp;

/// A series for messages: `{instance="db-1:9187", job="pg"}` without `__name__`, or `value`.
pub fn series_name(labels: &Labels) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if parts.is_empty() {
        "value".to_string()
    } else {
        format!("{{{}}}", parts.join(", "))
    }
}

fn op_str(op: CompareOp) -> &'static str {
    CompareOp::ALL
        .iter()
        .find(|(_, o)| *o == op)
        .map_or("?", |(n, _)| n)
}

/// A NaN never holds (as in a Prometheus alert, it compares false).
fn holds(op: CompareOp, value: f64, threshold: f64) -> bool {
    !value.is_nan() && op.holds(value, threshold)
}

/// An instant query's answer: passes when every series holds; no series is inconclusive.
pub fn instant(query: &str, samples: &[Sample], op: CompareOp, threshold: f64) -> CheckOutcome {
    if samples.is_empty() {
        return CheckOutcome::Inconclusive(format!("`{query}` returned no data"));
    }
    match samples.iter().find(|s| !holds(op, s.value, threshold)) {
        Some(s) => CheckOutcome::Fail(format!(
            "{} is {}, expected {} {}",
            series_name(&s.labels),
            fmt_value(s.value),
            op_str(op),
            fmt_value(threshold)
        )),
        None => CheckOutcome::Pass,
    }
}

/// A range query's answer over `[start, end]` at `step` (unix seconds): a series fails
/// when it has a point at the window's start and at its end (within one step) and breaks
/// the condition at every point between — the `for` of an alert rule. Shorter breaches
/// pass. No series at all is inconclusive.
pub fn window(
    query: &str,
    series: &[Series],
    op: CompareOp,
    threshold: f64,
    (start, end, step): (f64, f64, f64),
) -> CheckOutcome {
    let with_points: Vec<&Series> = series.iter().filter(|s| !s.points.is_empty()).collect();
    if with_points.is_empty() {
        return CheckOutcome::Inconclusive(format!(
            "`{query}` returned no data over the last {}",
            fmt_secs(end - start)
        ));
    }
    let slack = step * 1.5;
    for s in with_points {
        let (first, last) = match (s.points.first(), s.points.last()) {
            (Some(f), Some(l)) => (f.0, l.0),
            _ => continue,
        };
        let covers = first <= start + slack && last >= end - slack;
        // A gap longer than a step means the series was absent for a while: not "for".
        let unbroken = s.points.windows(2).all(|w| w[1].0 - w[0].0 <= slack);
        let always_bad = s.points.iter().all(|&(_, v)| !holds(op, v, threshold));
        if covers && unbroken && always_bad {
            let now = s.points.last().map_or(f64::NAN, |p| p.1);
            return CheckOutcome::Fail(format!(
                "{} is {}, expected {} {} (broken for the whole {})",
                series_name(&s.labels),
                fmt_value(now),
                op_str(op),
                fmt_value(threshold),
                fmt_secs(end - start)
            ));
        }
    }
    CheckOutcome::Pass
}

pub fn fmt_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.is_finite() {
        format!("{v:.3}")
    } else {
        format!("{v}")
    }
}

fn fmt_secs(s: f64) -> String {
    crate::units::fmt_duration(std::time::Duration::from_secs_f64(s.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(f64, f64)]) -> Series {
        Series {
            labels: [("instance".to_string(), "s1".to_string())].into(),
            points: points.to_vec(),
        }
    }

    const W: (f64, f64, f64) = (100.0, 130.0, 5.0);

    fn every_step(v: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
        (0..=6)
            .map(|i| 100.0 + 5.0 * i as f64)
            .map(|t| (t, v(t)))
            .collect()
    }

    #[test]
    fn instant_needs_every_series_to_hold_and_data_to_exist() {
        let ok = Sample {
            labels: Labels::new(),
            value: 1.0,
        };
        let bad = Sample {
            labels: [("server".to_string(), "b".to_string())].into(),
            value: 9.0,
        };
        assert_eq!(
            instant("q", std::slice::from_ref(&ok), CompareOp::Lt, 5.0),
            CheckOutcome::Pass
        );
        let CheckOutcome::Fail(why) = instant("q", &[ok, bad], CompareOp::Lt, 5.0) else {
            panic!()
        };
        assert_eq!(why, "{server=\"b\"} is 9, expected < 5");
        assert!(matches!(
            instant("q", &[], CompareOp::Lt, 5.0),
            CheckOutcome::Inconclusive(m) if m.contains("no data")
        ));
        let nan = Sample {
            labels: Labels::new(),
            value: f64::NAN,
        };
        assert!(matches!(
            instant("q", &[nan], CompareOp::Ne, 1.0),
            CheckOutcome::Fail(_)
        ));
    }

    #[test]
    fn a_window_fails_only_when_broken_at_every_step() {
        let always = series(&every_step(|_| 10.0));
        assert!(matches!(
            window("q", &[always], CompareOp::Lt, 5.0, W),
            CheckOutcome::Fail(m) if m.contains("whole 30s")
        ));
        let blip = series(&every_step(|t| if t == 115.0 { 10.0 } else { 1.0 }));
        assert_eq!(
            window("q", &[blip], CompareOp::Lt, 5.0, W),
            CheckOutcome::Pass
        );
        let recovered = series(&every_step(|t| if t < 130.0 { 10.0 } else { 1.0 }));
        assert_eq!(
            window("q", &[recovered], CompareOp::Lt, 5.0, W),
            CheckOutcome::Pass
        );
    }

    #[test]
    fn a_series_that_appeared_late_or_vanished_midway_has_not_been_broken_for_the_window() {
        let late = series(&[(125.0, 10.0), (130.0, 10.0)]);
        assert_eq!(
            window("q", &[late], CompareOp::Lt, 5.0, W),
            CheckOutcome::Pass
        );
        let gap = series(&[(100.0, 10.0), (105.0, 10.0), (125.0, 10.0), (130.0, 10.0)]);
        assert_eq!(
            window("q", &[gap], CompareOp::Lt, 5.0, W),
            CheckOutcome::Pass
        );
        assert!(matches!(
            window("q", &[], CompareOp::Lt, 5.0, W),
            CheckOutcome::Inconclusive(m) if m.contains("no data over the last 30s")
        ));
    }
}
