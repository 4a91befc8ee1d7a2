//! The lean watch cache of one namespace: watcher events in, compact rows kept per kind,
//! and the figure the panes show built from them on demand.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, PersistentVolumeClaim, Pod};
use kube::ResourceExt;
use kube::api::DynamicObject;
use kube::runtime::watcher::{self, Event};

use super::rows::{
    ClaimRow, PodRow, RevisionRow, SnapshotRow, StsRow, claim_row, event_line, pod_row,
    revision_row, snapshot_row, sts_row,
};
use super::table::{Row, Table};
#[cfg(test)]
use crate::sources::Severity;
use crate::sources::kube::{ClaimStatus, KubeSnapshot, RolloutStatus};
use crate::sources::{PodStatus, SnapshotStatus, SourceEvent};
use crate::text::DisplayText;
use crate::time::Timestamp;

/// Usage at which a claim sorts with the ones in trouble.
const FILLING: f64 = 0.80;

/// One item from one of the namespace's watches.
pub enum Change {
    StatefulSet(watcher::Result<Event<StatefulSet>>),
    Revision(watcher::Result<Event<ControllerRevision>>),
    Pod(watcher::Result<Event<Pod>>),
    Claim(watcher::Result<Event<PersistentVolumeClaim>>),
    Snapshot(watcher::Result<Event<DynamicObject>>),
    Event(watcher::Result<Event<KubeEvent>>),
}

impl Change {
    /// The resource the change came from, as URLs and RBAC name it.
    pub fn what(&self) -> &'static str {
        match self {
            Change::StatefulSet(_) => "statefulsets",
            Change::Revision(_) => "controllerrevisions",
            Change::Pod(_) => "pods",
            Change::Claim(_) => "persistentvolumeclaims",
            Change::Snapshot(_) => "volumesnapshots",
            Change::Event(_) => "events",
        }
    }
}

/// What applying a change did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Something the panes show changed.
    pub changed: bool,
    /// The watch failed (it retries by itself, with backoff): what, and why.
    pub failure: Option<(&'static str, watcher::Error)>,
    /// New Events about watched objects, for the Timeline.
    pub events: Vec<SourceEvent>,
}

impl Row for StsRow {}
impl Row for PodRow {}
impl Row for SnapshotRow {}
impl Row for RevisionRow {}
impl Row for ClaimRow {
    /// A claim keeps its last usage reading when the API server sends it again.
    fn carry(&mut self, old: &Self) {
        self.usage = old.usage;
        self.growth = old.growth;
    }
}

#[derive(Debug, Default)]
pub struct KubeCache {
    pub statefulsets: Table<StsRow>,
    pub revisions: Table<RevisionRow>,
    pub pods: Table<PodRow>,
    pub claims: Table<ClaimRow>,
    pub snapshots: Table<SnapshotRow>,
    /// The Events watch has listed what was there before; only later ones are shown.
    events_listed: bool,
    /// The API server does not serve VolumeSnapshots (no CSI snapshot CRDs).
    pub snapshots_unserved: bool,
}

fn table_event<K: kube::Resource, R: Row>(
    table: &mut Table<R>,
    event: Event<K>,
    row: impl Fn(&K) -> R,
) -> bool {
    match event {
        Event::Init => {
            table.begin_list();
            false
        }
        Event::InitApply(o) => {
            table.listed_row(&o.name_any(), row(&o));
            false
        }
        Event::InitDone => table.end_list(),
        Event::Apply(o) => table.upsert(&o.name_any(), row(&o)),
        Event::Delete(o) => table.remove(&o.name_any()),
    }
}

impl KubeCache {
    pub fn new() -> Self {
        KubeCache::default()
    }

    /// StatefulSets, pods and claims have each been listed once: the figure is whole.
    pub fn ready(&self) -> bool {
        self.statefulsets.listed && self.pods.listed && self.claims.listed
    }

    pub fn apply(&mut self, change: Change) -> Applied {
        let mut out = Applied::default();
        let failed = |what, e| Applied {
            failure: Some((what, e)),
            ..Applied::default()
        };
        out.changed = match change {
            Change::StatefulSet(r) => match r {
                Ok(ev) => table_event(&mut self.statefulsets, ev, sts_row),
                Err(e) => return failed("statefulsets", e),
            },
            Change::Revision(r) => match r {
                Ok(ev) => table_event(&mut self.revisions, ev, revision_row),
                Err(e) => return failed("controllerrevisions", e),
            },
            Change::Pod(r) => match r {
                Ok(ev) => table_event(&mut self.pods, ev, pod_row),
                Err(e) => return failed("pods", e),
            },
            Change::Claim(r) => match r {
                Ok(ev) => table_event(&mut self.claims, ev, claim_row),
                Err(e) => return failed("persistentvolumeclaims", e),
            },
            Change::Snapshot(r) => match r {
                Ok(ev) => {
                    self.snapshots_unserved = false;
                    table_event(&mut self.snapshots, ev, snapshot_row)
                }
                // No snapshot CRDs on this cluster: nothing to show, nothing wrong.
                Err(e) if not_found(&e) => {
                    let first = !self.snapshots_unserved;
                    self.snapshots_unserved = true;
                    first
                }
                Err(e) => return failed("volumesnapshots", e),
            },
            Change::Event(r) => match r {
                Ok(Event::InitDone) => {
                    self.events_listed = true;
                    false
                }
                Ok(Event::Apply(e)) if self.events_listed => {
                    if let Some((at, severity, text)) = event_line(&e) {
                        out.events.push(SourceEvent { at, severity, text });
                    }
                    false
                }
                Ok(_) => false,
                Err(e) => return failed("events", e),
            },
        };
        out
    }

    /// Records the kubelet's readings (claim → used, capacity) taken at `at`.
    pub fn set_usage(&mut self, usage: &HashMap<String, (u64, u64)>, at: Timestamp) -> bool {
        let mut changed = false;
        for (name, row) in self.claims.rows.iter_mut() {
            let Some(&(used, capacity)) = usage.get(&**name) else {
                continue;
            };
            if let Some((prev, _, then)) = row.usage
                && then < at
            {
                let secs = then.age_at(at).as_secs_f64();
                row.growth = (used as f64 - prev as f64) / secs;
            }
            changed |= row.usage.map(|(u, c, _)| (u, c)) != Some((used, capacity));
            row.usage = Some((used, capacity, at));
        }
        changed
    }

    /// Nodes running pods that mount claims: where the kubelet's stats are read.
    pub fn stat_nodes(&self) -> BTreeSet<String> {
        self.pods
            .rows
            .values()
            .filter(|p| !p.claims.is_empty())
            .filter_map(|p| p.node.as_deref().map(String::from))
            .collect()
    }

    /// `7d9f (r3)`: a revision of StatefulSet `sts` without the `sts-` prefix its name
    /// carries and, when its ControllerRevision is known, its number.
    fn revision_label(&self, sts: &str, name: &str) -> String {
        let short = short_revision(sts, name);
        match self.revisions.rows.get(name) {
            Some(r) => format!("{short} (r{})", r.revision),
            None => short.to_string(),
        }
    }

    /// The figure the panes show.
    pub fn snapshot(&self, namespace: &str) -> KubeSnapshot {
        let mut unready: HashMap<&str, Vec<PodStatus>> = HashMap::new();
        let mut mounted: HashMap<&str, &str> = HashMap::new();
        for (name, p) in &self.pods.rows {
            for c in p.claims.iter() {
                mounted.insert(c, name);
            }
            let Some(owner) = p.owner.as_deref() else {
                continue;
            };
            if !p.ready || p.reason.is_some() {
                unready.entry(owner).or_default().push(PodStatus {
                    name: DisplayText::new(name),
                    revision: DisplayText::new(short_revision(owner, &p.revision)),
                    phase: DisplayText::new(&p.phase),
                    ready: p.ready,
                    restarts: p.restarts,
                    reason: p.reason.as_deref().map(DisplayText::new),
                });
            }
        }
        let statefulsets = self
            .statefulsets
            .rows
            .iter()
            .map(|(name, s)| RolloutStatus {
                name: DisplayText::new(name),
                replicas: s.replicas,
                ready: s.ready,
                updated: s.updated,
                current_revision: DisplayText::new(&self.revision_label(name, &s.current_revision)),
                update_revision: DisplayText::new(&self.revision_label(name, &s.update_revision)),
                partition: s.partition,
                unready: unready.remove(&**name).unwrap_or_default(),
            })
            .collect();
        let mut volumes: Vec<ClaimStatus> = self
            .claims
            .rows
            .iter()
            .map(|(name, c)| {
                let (used, capacity) = match c.usage {
                    Some((u, cap, _)) if cap > 0 => (Some(u), cap),
                    Some((u, _, _)) => (Some(u), c.capacity),
                    None => (None, c.capacity),
                };
                ClaimStatus {
                    name: DisplayText::new(name),
                    phase: DisplayText::new(&c.phase),
                    capacity_bytes: capacity,
                    used_bytes: used,
                    growth_bytes_per_sec: c.growth,
                    pod: mounted.get(&**name).map(|p| DisplayText::new(p)),
                }
            })
            .collect();
        // Trouble (not bound, or filling) first; a stable sort keeps names in order.
        volumes.sort_by_key(|v| v.bound() && !v.ratio().is_some_and(|r| r >= FILLING));
        let mut snapshots: Vec<SnapshotStatus> = self
            .snapshots
            .rows
            .iter()
            .map(|(name, s)| SnapshotStatus {
                name: DisplayText::new(name),
                volume: DisplayText::new(&s.claim),
                state: s.state,
                created_at: s.created,
            })
            .collect();
        snapshots.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        KubeSnapshot {
            namespace: DisplayText::new(namespace),
            statefulsets,
            volumes,
            snapshots,
        }
    }
}

/// `7d9f` for revision `db-7d9f` of StatefulSet `db`; other names as they are.
fn short_revision<'a>(sts: &str, name: &'a str) -> &'a str {
    name.strip_prefix(sts)
        .and_then(|rest| rest.strip_prefix('-'))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(name)
}

/// The API server answered 404: the resource is not served.
pub fn not_found(e: &watcher::Error) -> bool {
    let client = match e {
        watcher::Error::InitialListFailed(c)
        | watcher::Error::WatchStartFailed(c)
        | watcher::Error::WatchFailed(c) => c,
        watcher::Error::WatchError(status) => return status.code == 404,
        watcher::Error::NoResourceVersion => return false,
    };
    matches!(client, kube::Error::Api(s) if s.code == 404)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts(name: &str, replicas: i32, ready: i32, cur: &str, upd: &str) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {},
                     "template": {}, "updateStrategy": {"rollingUpdate": {"partition": 1}}},
            "status": {"replicas": replicas, "readyReplicas": ready,
                       "currentRevision": cur, "updateRevision": upd}
        }))
        .unwrap()
    }

    fn pod(name: &str, ready: bool, rev: &str, claim: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"controller-revision-hash": rev},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "u"}]},
            "spec": {"nodeName": "n1", "containers": [],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
        }))
        .unwrap()
    }

    fn pvc(name: &str, phase: &str) -> PersistentVolumeClaim {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"resources": {"requests": {"storage": "10Gi"}}},
            "status": {"phase": phase, "capacity": {"storage": "10Gi"}}
        }))
        .unwrap()
    }

    fn listed<K>(items: Vec<K>) -> Vec<watcher::Result<Event<K>>> {
        let mut out = vec![Ok(Event::Init)];
        out.extend(items.into_iter().map(|k| Ok(Event::InitApply(k))));
        out.push(Ok(Event::InitDone));
        out
    }

    fn loaded() -> KubeCache {
        let mut c = KubeCache::new();
        for e in listed(vec![sts("db", 3, 2, "db-a", "db-b")]) {
            c.apply(Change::StatefulSet(e));
        }
        for e in listed(vec![
            pod("db-0", true, "db-a", "data-db-0"),
            pod("db-1", true, "db-a", "data-db-1"),
            pod("db-2", false, "db-b", "data-db-2"),
        ]) {
            c.apply(Change::Pod(e));
        }
        assert!(!c.ready(), "claims not listed yet");
        for e in listed(vec![
            pvc("data-db-0", "Bound"),
            pvc("data-db-1", "Bound"),
            pvc("data-db-2", "Pending"),
        ]) {
            c.apply(Change::Claim(e));
        }
        c
    }

    #[test]
    fn a_listed_namespace_gives_rollout_unready_pods_and_claims_in_trouble_first() {
        let c = loaded();
        assert!(c.ready());
        let s = c.snapshot("shop");
        assert_eq!(s.namespace.as_str(), "shop");
        let db = &s.statefulsets[0];
        assert_eq!((db.replicas, db.ready, db.partition), (3, 2, 1));
        assert!(db.rolling());
        assert_eq!(db.unready.len(), 1);
        assert_eq!(db.unready[0].name.as_str(), "db-2");
        let names: Vec<&str> = s.volumes.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["data-db-2", "data-db-0", "data-db-1"]);
        assert_eq!(s.volumes[1].capacity_bytes, 10 << 30);
        assert_eq!(s.volumes[1].used_bytes, None);
        assert_eq!(s.volumes[1].pod.as_ref().map(|p| p.as_str()), Some("db-0"));
        assert_eq!(c.stat_nodes().into_iter().collect::<Vec<_>>(), ["n1"]);
    }

    #[test]
    fn a_pod_turning_not_ready_is_a_change_and_an_identical_one_is_not() {
        let mut c = loaded();
        let a = c.apply(Change::Pod(Ok(Event::Apply(pod(
            "db-0",
            false,
            "db-a",
            "data-db-0",
        )))));
        assert!(a.changed);
        let a = c.apply(Change::Pod(Ok(Event::Apply(pod(
            "db-0",
            false,
            "db-a",
            "data-db-0",
        )))));
        assert!(!a.changed);
        assert_eq!(c.snapshot("shop").statefulsets[0].unready.len(), 2);
        let a = c.apply(Change::Pod(Ok(Event::Delete(pod(
            "db-0", false, "db-a", "x",
        )))));
        assert!(a.changed);
        assert_eq!(c.snapshot("shop").statefulsets[0].unready.len(), 1);
    }

    #[test]
    fn usage_readings_give_growth_and_survive_a_claim_update() {
        let mut c = loaded();
        let usage = HashMap::from([("data-db-0".to_string(), (1000, 4000))]);
        assert!(c.set_usage(&usage, Timestamp(0)));
        let usage = HashMap::from([("data-db-0".to_string(), (3500, 4000))]);
        assert!(c.set_usage(&usage, Timestamp(1000)));
        c.apply(Change::Claim(Ok(Event::Apply(pvc("data-db-0", "Bound")))));
        let s = c.snapshot("shop");
        let v = s
            .volumes
            .iter()
            .find(|v| v.name.as_str() == "data-db-0")
            .unwrap();
        assert_eq!((v.used_bytes, v.capacity_bytes), (Some(3500), 4000));
        assert_eq!(v.growth_bytes_per_sec, 2500.0);
        assert_eq!(
            s.volumes[0].name.as_str(),
            "data-db-0",
            "filling sorts first with the unbound"
        );
    }

    #[test]
    fn failures_are_named_and_missing_snapshot_crds_are_not_a_failure() {
        let mut c = loaded();
        let status = kube::core::Status::failure("down", "InternalError").with_code(500);
        let a = c.apply(Change::Pod(Err(watcher::Error::InitialListFailed(
            kube::Error::Api(status.boxed()),
        ))));
        assert_eq!(a.failure.map(|(w, _)| w), Some("pods"));
        let gone = kube::core::Status::failure("no", "NotFound").with_code(404);
        let a = c.apply(Change::Snapshot(Err(watcher::Error::InitialListFailed(
            kube::Error::Api(gone.boxed()),
        ))));
        assert!(a.failure.is_none());
        assert!(c.snapshots_unserved);
    }

    #[test]
    fn only_events_after_the_first_list_reach_the_timeline() {
        let mut c = KubeCache::new();
        let ev = |reason: &str| -> KubeEvent {
            serde_json::from_value(json!({
                "metadata": {"name": reason},
                "involvedObject": {"kind": "Pod", "name": "db-1"},
                "reason": reason, "message": "Back-off restarting", "type": "Warning"
            }))
            .unwrap()
        };
        for e in listed(vec![ev("Old")]) {
            assert!(c.apply(Change::Event(e)).events.is_empty());
        }
        let a = c.apply(Change::Event(Ok(Event::Apply(ev("BackOff")))));
        assert_eq!(a.events.len(), 1);
        assert_eq!(a.events[0].severity, Severity::Warn);
        assert_eq!(
            a.events[0].text.as_str(),
            "Pod/db-1: BackOff: Back-off restarting"
        );
    }
}
