//! The drill's Prometheus storage: labelled series of (world seconds, value) samples with a
//! bounded history, and the scrape that samples the world under real exporters' metric names.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use crate::sim::world::WorldState;

/// World seconds between two scrapes of the world.
pub const SCRAPE_INTERVAL: f64 = 5.0;
/// How much history each series keeps, world seconds (a `for` window plus a `[5m]` range).
pub const RETENTION: f64 = 20.0 * 60.0;
/// History written at world time 0 as if the world had been steady before the drill began,
/// so `rate(…[5m])` and `for` windows have data from the start.
pub const SEEDED_HISTORY: f64 = 5.0 * 60.0;
/// Requests per second each Ready pod of the app serves.
pub const REQUESTS_PER_POD: f64 = 50.0;
/// At most this many series; later new ones are dropped (the world's are far fewer).
const MAX_SERIES: usize = 4096;
/// Samples kept per series: the retention at the scrape interval, and a little slack.
const MAX_SAMPLES: usize = (RETENTION / SCRAPE_INTERVAL) as usize + 2;

/// A series' identity: its metric name and its other labels, sorted by label name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    pub name: String,
    pub labels: Vec<(String, String)>,
}

impl SeriesKey {
    pub fn new(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        labels.dedup_by(|a, b| a.0 == b.0);
        SeriesKey {
            name: name.to_string(),
            labels,
        }
    }

    /// The value of label `name` (`__name__` is the metric name).
    pub fn label(&self, name: &str) -> Option<&str> {
        if name == "__name__" {
            return Some(&self.name);
        }
        self.labels
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.labels[i].1.as_str())
    }
}

/// `(world seconds, value)` samples, oldest first.
pub type Samples = VecDeque<(f64, f64)>;

/// Every series the drill's Prometheus holds, each with at most `RETENTION` of history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesStore {
    series: BTreeMap<SeriesKey, Samples>,
    traffic: Traffic,
}

impl SeriesStore {
    pub fn new() -> SeriesStore {
        SeriesStore::default()
    }

    /// Appends a sample at `t`; a sample not newer than the series' last one is ignored.
    pub fn push(&mut self, name: &str, labels: &[(&str, &str)], t: f64, value: f64) {
        let key = SeriesKey::new(name, labels);
        if !self.series.contains_key(&key) && self.series.len() >= MAX_SERIES {
            return;
        }
        let samples = self.series.entry(key).or_default();
        if samples.back().is_some_and(|(last, _)| *last >= t) {
            return;
        }
        samples.push_back((t, value));
        while samples.len() > MAX_SAMPLES
            || samples.front().is_some_and(|(t0, _)| t - *t0 > RETENTION)
        {
            samples.pop_front();
        }
    }

    /// Drops series with no sample in the retention window before `now`.
    pub fn prune(&mut self, now: f64) {
        self.series
            .retain(|_, s| s.back().is_some_and(|(t, _)| now - *t <= RETENTION));
    }

    /// Every series, by name then labels.
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &Samples)> {
        self.series.iter()
    }

    /// The series of metric `name`.
    pub fn named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a SeriesKey, &'a Samples)> {
        let from = SeriesKey {
            name: name.to_string(),
            labels: Vec::new(),
        };
        self.series
            .range((Bound::Included(from), Bound::Unbounded))
            .take_while(move |(k, _)| k.name == name)
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Integrates the app's request and error counters over `dt` seconds of the world as it is.
    pub fn advance_traffic(&mut self, state: &WorldState, dt: f64) {
        self.traffic.advance(state, dt);
    }
}

/// The app's cumulative counters per pod ordinal: (requests, errors). They only grow.
#[derive(Clone, Debug, Default, PartialEq)]
struct Traffic {
    pods: BTreeMap<u32, (f64, f64)>,
}

impl Traffic {
    fn advance(&mut self, state: &WorldState, dt: f64) {
        let error_rate = state.app.error_rate.clamp(0.0, 1.0);
        for pod in &state.app.pods {
            let c = self.pods.entry(pod.ordinal).or_insert((0.0, 0.0));
            if pod.ready() {
                let requests = REQUESTS_PER_POD * dt;
                c.0 += requests;
                c.1 += requests * error_rate;
            }
        }
    }
}

/// Metric names the scrape writes; `<prefix>` is the scenario's `[app] metrics`.
pub mod names {
    pub const REPLICATION_LAG: &str = "pg_replication_lag";
    pub const VOLUME_USED: &str = "kubelet_volume_stats_used_bytes";
    pub const VOLUME_CAPACITY: &str = "kubelet_volume_stats_capacity_bytes";
    pub const VOLUME_AVAILABLE: &str = "kubelet_volume_stats_available_bytes";
    /// The conventional HTTP counter, `{app, pod, code}`: code 200 or 500.
    pub const HTTP_REQUESTS: &str = "http_requests_total";

    pub fn requests(prefix: &str) -> String {
        format!("{prefix}_requests_total")
    }

    pub fn errors(prefix: &str) -> String {
        format!("{prefix}_errors_total")
    }
}

/// One scrape of the world at `now` (world seconds):
/// `pg_replication_lag{instance}` (seconds, 0 when idle), kubelet volume stats per
/// `persistentvolumeclaim`, and the app's counters per pod: `<prefix>_requests_total{pod}`,
/// `<prefix>_errors_total{pod}`, and the same as `http_requests_total{app, pod, code}`
/// (code "500" the errors, "200" the rest).
pub fn record(store: &mut SeriesStore, now: f64, state: &WorldState, prefix: &str) {
    for r in &state.replicas {
        let lag = r.time_lag.unwrap_or(0.0);
        store.push(names::REPLICATION_LAG, &[("instance", &r.name)], now, lag);
    }
    for v in &state.volumes {
        let claim = [("persistentvolumeclaim", v.name.as_str())];
        store.push(names::VOLUME_USED, &claim, now, v.used);
        store.push(names::VOLUME_CAPACITY, &claim, now, v.capacity);
        store.push(
            names::VOLUME_AVAILABLE,
            &claim,
            now,
            (v.capacity - v.used).max(0.0),
        );
    }
    let (requests, errors) = (names::requests(prefix), names::errors(prefix));
    for pod in &state.app.pods {
        let (r, e) = store
            .traffic
            .pods
            .get(&pod.ordinal)
            .copied()
            .unwrap_or((0.0, 0.0));
        let name = state.app.pod_name(pod.ordinal);
        store.push(&requests, &[("pod", &name)], now, r);
        store.push(&errors, &[("pod", &name)], now, e);
        let app = state.app.statefulset.as_str();
        for (code, v) in [("200", (r - e).max(0.0)), ("500", e)] {
            store.push(
                names::HTTP_REQUESTS,
                &[("app", app), ("pod", &name), ("code", code)],
                now,
                v,
            );
        }
    }
    store.prune(now);
}

/// Writes `SEEDED_HISTORY` before `now` as if the world had stood still at `state`: gauges
/// flat, the app's counters growing at their current rate up to their present value.
pub fn seed(store: &mut SeriesStore, now: f64, state: &WorldState, prefix: &str) {
    let steps = (SEEDED_HISTORY / SCRAPE_INTERVAL) as u32;
    let error_rate = state.app.error_rate.clamp(0.0, 1.0);
    let ready: Vec<bool> = state.app.pods.iter().map(|p| p.ready()).collect();
    for i in 0..=steps {
        let t = now - SEEDED_HISTORY + f64::from(i) * SCRAPE_INTERVAL;
        let elapsed = t - (now - SEEDED_HISTORY);
        store.traffic.pods.clear();
        for (pod, up) in state.app.pods.iter().zip(&ready) {
            let requests = if *up { REQUESTS_PER_POD * elapsed } else { 0.0 };
            store
                .traffic
                .pods
                .insert(pod.ordinal, (requests, requests * error_rate));
        }
        record(store, t, state, prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_ordered() {
        let mut s = SeriesStore::new();
        let n = (2.0 * RETENTION / SCRAPE_INTERVAL) as usize;
        for i in 0..n {
            s.push("up", &[("job", "a")], i as f64 * SCRAPE_INTERVAL, 1.0);
        }
        s.push("up", &[("job", "a")], 0.0, 9.0);
        let (_, samples) = s.named("up").next().unwrap();
        assert!(samples.len() <= MAX_SAMPLES, "{}", samples.len());
        let (first, last) = (samples.front().unwrap().0, samples.back().unwrap().0);
        assert!(last - first <= RETENTION && last - first >= 15.0 * 60.0);
        assert!(
            samples.iter().all(|(_, v)| *v == 1.0),
            "the late sample was ignored"
        );
    }

    #[test]
    fn series_are_found_by_name_and_label_order_does_not_matter() {
        let mut s = SeriesStore::new();
        s.push("a", &[("x", "1"), ("pod", "p")], 1.0, 1.0);
        s.push("a", &[("pod", "p"), ("x", "1")], 2.0, 2.0);
        s.push("ab", &[], 1.0, 1.0);
        s.push("b", &[], 1.0, 1.0);
        let a: Vec<_> = s.named("a").collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].1.len(), 2);
        assert_eq!(a[0].0.label("pod"), Some("p"));
        assert_eq!(a[0].0.label("__name__"), Some("a"));
        assert_eq!(a[0].0.label("nope"), None);
        s.prune(2.0 + RETENTION + 0.5);
        assert!(s.is_empty());
    }
}
