//! Evaluator tests on hand-built stores.

use super::*;

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Two pods' request counters (10/s and 20/s, pod b restarting at t=60) and error counters
/// (1/s on each), and a gauge, sampled every 5 s from 0 to 120.
fn store() -> SeriesStore {
    let mut s = SeriesStore::new();
    for i in 0..=24 {
        let t = 5.0 * i as f64;
        s.push("req_total", &[("pod", "a"), ("job", "app")], t, 10.0 * t);
        let b = if t < 60.0 {
            1000.0 + 20.0 * t
        } else {
            20.0 * (t - 60.0)
        };
        s.push("req_total", &[("pod", "b"), ("job", "app")], t, b);
        s.push("err_total", &[("pod", "a"), ("job", "app")], t, t);
        s.push("err_total", &[("pod", "b"), ("job", "app")], t, t);
        s.push("lag", &[("instance", "r1")], t, 2.0);
        s.push("lag", &[("instance", "r2")], t, 9.0);
    }
    s
}

fn values(samples: &[Sample]) -> Vec<(String, f64)> {
    samples
        .iter()
        .map(|s| {
            let name: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (name.join(","), (s.value * 1000.0).round() / 1000.0)
        })
        .collect()
}

#[test]
fn a_selector_takes_the_latest_sample_within_the_lookback() {
    let s = store();
    let got = instant(&s, r#"lag{instance="r1"}"#, 62.0).unwrap();
    assert_eq!(
        got,
        vec![Sample {
            labels: l(&[("__name__", "lag"), ("instance", "r1")]),
            value: 2.0
        }]
    );
    assert_eq!(instant(&s, "req_total", 7.0).unwrap()[0].value, 50.0);
    assert_eq!(instant(&s, "lag", 120.0 + LOOKBACK - 1.0).unwrap().len(), 2);
    assert!(
        instant(&s, "lag", 120.0 + LOOKBACK).unwrap().is_empty(),
        "stale"
    );
    assert!(instant(&s, "lag", -1.0).unwrap().is_empty(), "nothing yet");
    assert_eq!(
        values(&instant(&s, r#"{__name__=~"l.g", instance!~"r1"}"#, 120.0).unwrap()),
        [("__name__=lag,instance=r2".to_string(), 9.0)]
    );
}

#[test]
fn rate_of_a_counter_handles_a_reset() {
    let s = store();
    let got = values(&instant(&s, "rate(req_total[1m])", 120.0).unwrap());
    assert_eq!(
        got,
        [
            ("job=app,pod=a".to_string(), 10.0),
            ("job=app,pod=b".to_string(), 20.0)
        ]
    );
    // Samples 50..=75: +100, then the reset at 60 counts its new value (0), then +100 ×3:
    // 400 over 25 s. Without reset handling it would be negative.
    let across = values(&instant(&s, "rate(req_total{pod=\"b\"}[30s])", 75.0).unwrap());
    assert_eq!(across[0].1, 16.0);
    let inc = values(&instant(&s, "increase(req_total{pod=\"a\"}[1m])", 120.0).unwrap());
    assert_eq!(inc[0].1, 600.0);
    let irate = values(&instant(&s, "irate(req_total{pod=\"b\"}[1m])", 60.0).unwrap());
    assert_eq!(
        irate[0].1, 0.0,
        "0 after the restart: the counter restarted at 0"
    );
    assert!(
        instant(&s, "rate(req_total[4s])", 120.0)
            .unwrap()
            .is_empty(),
        "one sample gives no rate"
    );
}

#[test]
fn aggregations_group_by_or_without_labels() {
    let s = store();
    assert_eq!(
        values(&instant(&s, "sum(rate(req_total[1m]))", 120.0).unwrap()),
        [(String::new(), 30.0)]
    );
    assert_eq!(
        values(&instant(&s, "sum by (pod) (rate(req_total[1m]))", 120.0).unwrap()),
        [("pod=a".to_string(), 10.0), ("pod=b".to_string(), 20.0)]
    );
    assert_eq!(
        values(&instant(&s, "sum without (pod) (rate(req_total[1m]))", 120.0).unwrap()),
        [("job=app".to_string(), 30.0)]
    );
    for (q, v) in [
        ("max(lag)", 9.0),
        ("min(lag)", 2.0),
        ("avg(lag)", 5.5),
        ("count(lag)", 2.0),
    ] {
        assert_eq!(
            values(&instant(&s, q, 120.0).unwrap()),
            [(String::new(), v)],
            "{q}"
        );
    }
    assert_eq!(
        values(&instant(&s, "max by (instance) (lag)", 120.0).unwrap()).len(),
        2
    );
}

#[test]
fn vector_vector_division_matches_one_to_one_without_the_name() {
    let s = store();
    let got = values(&instant(&s, "rate(err_total[1m]) / rate(req_total[1m])", 120.0).unwrap());
    assert_eq!(
        got,
        [
            ("job=app,pod=a".to_string(), 0.1),
            ("job=app,pod=b".to_string(), 0.05)
        ]
    );
    let got = values(
        &instant(
            &s,
            "sum(rate(err_total[1m])) / sum(rate(req_total[1m]))",
            120.0,
        )
        .unwrap(),
    );
    assert_eq!(got, [(String::new(), 0.067)]);
    // `on(pod)` keeps only the pod label; `ignoring(job)` drops job.
    assert_eq!(
        values(&instant(&s, "err_total / on(pod) req_total", 120.0).unwrap())[0].0,
        "pod=a"
    );
    assert_eq!(
        values(&instant(&s, "err_total / ignoring(job) req_total", 120.0).unwrap())[0].0,
        "pod=a"
    );
    // Nothing in common: nothing matches.
    assert!(instant(&s, "lag / req_total", 120.0).unwrap().is_empty());
    assert!(matches!(
        instant(&s, "req_total / on(job) err_total", 120.0),
        Err(PromqlError::Eval(m)) if m.contains("duplicate series")
    ));
    assert_eq!(
        values(&instant(&s, "lag * 2 + 1", 120.0).unwrap()),
        [
            ("instance=r1".to_string(), 5.0),
            ("instance=r2".to_string(), 19.0)
        ]
    );
    assert_eq!(
        values(&instant(&s, "1 - -2 * 3", 0.0).unwrap()),
        [(String::new(), 7.0)]
    );
    assert_eq!(
        values(&instant(&s, "-lag", 120.0).unwrap())[0],
        ("instance=r1".to_string(), -2.0)
    );
}

#[test]
fn comparisons_filter_or_with_bool_give_0_or_1() {
    let s = store();
    assert_eq!(
        values(&instant(&s, "lag > 5", 120.0).unwrap()),
        [("__name__=lag,instance=r2".to_string(), 9.0)]
    );
    assert_eq!(
        values(&instant(&s, "5 > lag", 120.0).unwrap()),
        [("__name__=lag,instance=r1".to_string(), 2.0)]
    );
    assert_eq!(
        values(&instant(&s, "lag > bool 5", 120.0).unwrap()),
        [
            ("instance=r1".to_string(), 0.0),
            ("instance=r2".to_string(), 1.0)
        ]
    );
    assert_eq!(
        values(&instant(&s, "2 >= bool 3", 0.0).unwrap()),
        [(String::new(), 0.0)]
    );
    for (q, n) in [
        ("lag == 2", 1),
        ("lag != 2", 1),
        ("lag <= 9", 2),
        ("lag < 2", 0),
        ("lag >= 9", 1),
    ] {
        assert_eq!(instant(&s, q, 120.0).unwrap().len(), n, "{q}");
    }
    let r1_over_r2 = r#"lag{instance="r1"} > ignoring(instance) lag{instance="r2"}"#;
    assert!(instant(&s, r1_over_r2, 120.0).unwrap().is_empty());
}

#[test]
fn empty_results_are_empty_not_errors() {
    let s = store();
    assert!(instant(&s, "no_such_metric", 120.0).unwrap().is_empty());
    assert!(
        instant(&s, "sum(no_such_metric)", 120.0)
            .unwrap()
            .is_empty()
    );
    assert!(
        instant(&s, "sum(rate(no_such_metric[5m])) / 2", 120.0)
            .unwrap()
            .is_empty()
    );
    assert!(instant(&s, "lag > 100", 120.0).unwrap().is_empty());
    assert!(
        range(&s, "no_such_metric", 0.0, 60.0, 5.0)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn range_evaluation_steps_through_the_window() {
    let s = store();
    let got = range(&s, "sum(rate(req_total[1m]))", 60.0, 120.0, 15.0).unwrap();
    assert_eq!(got.len(), 1);
    let times: Vec<f64> = got[0].points.iter().map(|p| p.0).collect();
    assert_eq!(times, [60.0, 75.0, 90.0, 105.0, 120.0]);
    assert_eq!(got[0].points[4].1, 30.0);
    // A filter drops points where it does not hold: the series has gaps, not zeros.
    let got = range(&s, "lag > 5", 0.0, 10.0, 5.0).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].points.len(), 3);
    assert!(matches!(
        range(&s, "lag", 0.0, 1e9, 1.0),
        Err(PromqlError::Eval(m)) if m.contains("maximum resolution")
    ));
    assert!(matches!(
        range(&s, "lag[5m]", 0.0, 10.0, 5.0),
        Err(PromqlError::Eval(_))
    ));
    assert!(matches!(
        instant(&s, "lag[5m]", 0.0),
        Err(PromqlError::Eval(_))
    ));
}
