//! Prometheus answers turned into pane figures: postgres_exporter's replication lag into a
//! Replication snapshot, kubelet volume stats into a Storage snapshot. Pure, no I/O.

use std::collections::HashMap;
use std::time::Duration;

use super::client::{Labels, Sample};
use crate::sources::{ReplicaState, ReplicaStatus, ReplicationSnapshot, VolumeStatus};
use crate::text::DisplayText;
use crate::time::Timestamp;

/// Seconds behind, per standby (postgres_exporter's `pg_replication_lag`, from the
/// classic `queries.yaml`: `now() - pg_last_xact_replay_timestamp()`, 0 on a primary).
pub const LAG: &str = "pg_replication_lag";
/// 1 on a standby, 0 on a primary (same `pg_replication` query, when it exports it).
pub const IS_REPLICA: &str = "pg_replication_is_replica";
/// The primary's WAL write rate, from what postgres_exporter reads in `pg_stat_replication`.
pub const WAL_RATE: &str =
    "max by (instance) (rate(pg_stat_replication_pg_current_wal_lsn_bytes[1m]))";
/// Volume figures kubelet exports per PVC.
pub const VOLUME_USED: &str = "kubelet_volume_stats_used_bytes";
pub const VOLUME_CAPACITY: &str = "kubelet_volume_stats_capacity_bytes";

/// The server a postgres_exporter series describes: its `server` label when it has one,
/// else the scraped `instance`.
fn server_of(labels: &Labels) -> String {
    labels
        .get("server")
        .or_else(|| labels.get("instance"))
        .cloned()
        .unwrap_or_else(|| "?".to_string())
}

/// Where a series was scraped from, to join series of one exporter.
fn scrape_of(labels: &Labels) -> (String, String) {
    (
        labels.get("job").cloned().unwrap_or_default(),
        labels.get("instance").cloned().unwrap_or_default(),
    )
}

fn secs(v: f64) -> Duration {
    if v.is_finite() {
        Duration::try_from_secs_f64(v.max(0.0)).unwrap_or(Duration::ZERO)
    } else {
        Duration::ZERO
    }
}

/// One row per standby: every `pg_replication_lag` series except those an exporter marks
/// as a primary (`pg_replication_is_replica == 0`). Byte lag is not known from here (0).
pub fn replication(
    target: &str,
    lag: &[Sample],
    is_replica: &[Sample],
    wal_rate: &[Sample],
) -> ReplicationSnapshot {
    let primaries: Vec<(String, String)> = is_replica
        .iter()
        .filter(|s| s.value == 0.0)
        .map(|s| scrape_of(&s.labels))
        .collect();
    let mut replicas: Vec<ReplicaStatus> = lag
        .iter()
        .filter(|s| !primaries.contains(&scrape_of(&s.labels)))
        .map(|s| ReplicaStatus {
            name: DisplayText::new(&server_of(&s.labels)),
            state: ReplicaState::Streaming,
            time_lag: Some(secs(s.value)),
            byte_lag: 0,
            replay_paused: false,
        })
        .collect();
    replicas.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    let wal_bytes_per_sec = wal_rate
        .iter()
        .map(|s| s.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    ReplicationSnapshot {
        primary: DisplayText::new(target),
        wal_bytes_per_sec,
        replicas,
    }
}

/// A volume's key: (namespace, persistentvolumeclaim).
type VolumeKey = (String, String);

fn volume_key(labels: &Labels) -> Option<VolumeKey> {
    let pvc = labels.get("persistentvolumeclaim")?;
    Some((
        labels.get("namespace").cloned().unwrap_or_default(),
        pvc.clone(),
    ))
}

fn bytes(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v as u64
    } else {
        0
    }
}

/// One row per PVC that has both figures; growth from the previous observation's usage
/// (`prev`, replaced by this one's).
pub fn volumes(
    used: &[Sample],
    capacity: &[Sample],
    prev: &mut HashMap<VolumeKey, (u64, Timestamp)>,
    at: Timestamp,
) -> Vec<VolumeStatus> {
    let capacity: HashMap<VolumeKey, u64> = capacity
        .iter()
        .filter_map(|s| Some((volume_key(&s.labels)?, bytes(s.value))))
        .collect();
    let mut seen = HashMap::new();
    let mut out: Vec<(VolumeKey, VolumeStatus)> = Vec::new();
    for s in used {
        let Some(key) = volume_key(&s.labels) else {
            continue;
        };
        let Some(&cap) = capacity.get(&key) else {
            continue;
        };
        if seen.contains_key(&key) {
            continue; // the same PVC from two kubelets during a move: keep the first
        }
        let used = bytes(s.value);
        let growth = match prev.get(&key) {
            Some(&(before, t)) if at > t => {
                (used as f64 - before as f64) / t.age_at(at).as_secs_f64()
            }
            _ => 0.0,
        };
        seen.insert(key.clone(), (used, at));
        let (ns, pvc) = &key;
        let owner = if ns.is_empty() {
            "pvc".to_string()
        } else {
            format!("pvc in {ns}")
        };
        out.push((
            key.clone(),
            VolumeStatus {
                name: DisplayText::new(pvc),
                owner: DisplayText::new(&owner),
                used_bytes: used,
                capacity_bytes: cap,
                growth_bytes_per_sec: growth,
            },
        ));
    }
    *prev = seen;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, v)| v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
        Sample {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }

    #[test]
    fn standbys_are_rows_and_a_marked_primary_is_not() {
        let lag = [
            sample(&[("instance", "e2:9187"), ("server", "db-1:5432")], 7.5),
            sample(&[("instance", "e1:9187"), ("server", "db-0:5432")], 0.0),
        ];
        let is_replica = [
            sample(&[("instance", "e1:9187")], 0.0),
            sample(&[("instance", "e2:9187")], 1.0),
        ];
        let rate = [sample(&[("instance", "e1:9187")], 2048.0)];
        let r = replication("metrics", &lag, &is_replica, &rate);
        assert_eq!(r.replicas.len(), 1);
        assert_eq!(r.replicas[0].name.as_str(), "db-1:5432");
        assert_eq!(r.replicas[0].time_lag, Some(Duration::from_millis(7500)));
        assert_eq!(r.wal_bytes_per_sec, 2048.0);
        assert_eq!(r.primary.as_str(), "metrics");
    }

    #[test]
    fn volumes_pair_used_with_capacity_and_grow_between_looks() {
        let used = [
            sample(
                &[("namespace", "shop"), ("persistentvolumeclaim", "data-0")],
                50.0,
            ),
            sample(&[("persistentvolumeclaim", "lonely")], 5.0),
        ];
        let cap = [sample(
            &[("namespace", "shop"), ("persistentvolumeclaim", "data-0")],
            100.0,
        )];
        let mut prev = HashMap::new();
        let v = volumes(&used, &cap, &mut prev, Timestamp(0));
        assert_eq!(v.len(), 1, "no capacity, no row");
        assert_eq!(v[0].owner.as_str(), "pvc in shop");
        assert_eq!(v[0].growth_bytes_per_sec, 0.0);
        let used = [sample(
            &[("namespace", "shop"), ("persistentvolumeclaim", "data-0")],
            70.0,
        )];
        let v = volumes(&used, &cap, &mut prev, Timestamp(2000));
        assert_eq!(v[0].growth_bytes_per_sec, 10.0);
        assert_eq!(v[0].used_bytes, 70);
    }
}
