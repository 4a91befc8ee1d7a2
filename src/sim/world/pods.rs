//! The app side of a sub-step: the StatefulSet's rolling update, CrashLoopBackOff with
//! back-off, and the error rate that follows from revisions, schema, flags and the database.

use super::WorldError;
use super::faults::Effects;
use super::model::{App, Pod, WorldState};
use super::rng::Jitter;
use super::{Events, push_event};
use crate::sources::Severity;

/// Time a pod takes to be replaced by a rollout, seconds.
const POD_START: f64 = 12.0;

pub fn app(s: &mut WorldState, fx: &Effects, rng: &mut Jitter, now: f64, ev: &mut Events) {
    let a = &mut s.app;
    for pod in &mut a.pods {
        if pod.restarting_until.is_some_and(|t| now >= t) {
            pod.restarting_until = None;
        }
    }
    // Rolling update: one pod at a time, highest ordinal first, of the ordinals at or above
    // the partition (those below keep the revision they run). A stuck pod holds it.
    if a.pods.iter().all(|p| p.restarting_until.is_none()) {
        let next = (0..a.pods.len())
            .rev()
            .find(|&i| a.pods[i].ordinal >= a.partition && a.pods[i].revision != a.update_revision);
        // A stuck pod on a crashing revision holds it from the first instant, before this
        // sub-step has marked it crashlooping (a rollback can start at world time 0).
        let crashing = |p: &super::model::Pod| {
            fx.crash_pods.contains(&p.ordinal) || fx.crash_revisions.contains(&p.revision)
        };
        if let Some(i) = next
            && !a.pods[i].held()
            && !(a.pods[i].stuck && crashing(&a.pods[i]))
        {
            let desired = a.update_revision.clone();
            let name = a.pod_name(a.pods[i].ordinal);
            replace(&mut a.pods[i], &desired, now);
            push_event(
                ev,
                now,
                Severity::Info,
                format!("{name}: replaced with {desired}"),
            );
        }
    }
    if a.pods
        .iter()
        .all(|p| p.revision == a.update_revision && p.restarting_until.is_none())
        && a.current_revision != a.update_revision
    {
        a.current_revision = a.update_revision.clone();
        push_event(
            ev,
            now,
            Severity::Info,
            format!(
                "{}: rollout to {} complete",
                a.statefulset, a.update_revision
            ),
        );
    }
    for i in 0..a.pods.len() {
        let name = a.pod_name(a.pods[i].ordinal);
        let pod = &mut a.pods[i];
        if pod.restarting_until.is_some() {
            continue;
        }
        let crashing =
            fx.crash_pods.contains(&pod.ordinal) || fx.crash_revisions.contains(&pod.revision);
        if crashing && !pod.crashloop {
            pod.crashloop = true;
            pod.restarts += 1;
            pod.backoff = 10.0;
            pod.next_restart_at = now + pod.backoff;
            push_event(
                ev,
                now,
                Severity::Warn,
                format!("{name}: CrashLoopBackOff ({})", pod.revision),
            );
        } else if pod.crashloop && now >= pod.next_restart_at {
            pod.restarts += 1;
            if crashing {
                pod.backoff = (pod.backoff * 2.0).min(300.0);
                pod.next_restart_at = now + pod.backoff;
            } else {
                pod.crashloop = false;
                push_event(
                    ev,
                    now,
                    Severity::Info,
                    format!("{name}: running again after {} restarts", pod.restarts),
                );
            }
        }
    }
    let rate = error_rate(s, Some(rng));
    let a = &mut s.app;
    a.error_rate = rate;
    if rate > 0.05 && !a.error_reported {
        a.error_reported = true;
        push_event(
            ev,
            now,
            Severity::Crit,
            format!("{}: error rate {:.1}%", a.statefulset, rate * 100.0),
        );
    } else if rate < 0.02 && a.error_reported {
        a.error_reported = false;
        push_event(
            ev,
            now,
            Severity::Info,
            format!("{}: error rate back to {:.1}%", a.statefulset, rate * 100.0),
        );
    }
}

/// A new pod in place of `pod`, starting on `revision`.
fn replace(pod: &mut Pod, revision: &str, now: f64) {
    pod.revision = revision.to_string();
    pod.restarting_until = Some(now + POD_START);
    pod.crashloop = false;
    pod.restarts = 0;
    pod.backoff = 0.0;
    pod.stuck = false;
}

/// Deletes pod `ordinal`; the controller recreates it on the revision its ordinal gets.
pub fn delete(a: &mut App, ordinal: u32, now: f64, ev: &mut Events) -> Result<(), WorldError> {
    let name = a.pod_name(ordinal);
    let revision = a.desired_revision(ordinal).to_string();
    let pod = a
        .pods
        .iter_mut()
        .find(|p| p.ordinal == ordinal)
        .ok_or_else(|| WorldError::Unknown {
            what: "pod",
            name: name.clone(),
        })?;
    replace(pod, &revision, now);
    push_event(
        ev,
        now,
        Severity::Warn,
        format!("{name}: deleted; recreated on {revision}"),
    );
    Ok(())
}

/// Scales the app to `replicas` pods: the highest ordinals go first, new ones start on the
/// revision their ordinal gets.
pub fn scale(a: &mut App, replicas: u32, now: f64, ev: &mut Events) {
    let before = a.pods.len();
    a.pods.retain(|p| p.ordinal < replicas);
    for o in before as u32..replicas {
        let mut pod = Pod {
            ordinal: o,
            revision: String::new(),
            restarting_until: None,
            crashloop: false,
            restarts: 0,
            next_restart_at: 0.0,
            backoff: 0.0,
            stuck: false,
        };
        replace(&mut pod, a.desired_revision(o), now);
        a.pods.push(pod);
    }
    push_event(
        ev,
        now,
        Severity::Info,
        format!(
            "{} scaled from {before} to {replicas} replicas",
            a.statefulset
        ),
    );
}

/// Share of requests failing: incompatible revisions, flags against the wrong schema,
/// failed writes and lost capacity.
pub fn error_rate(s: &WorldState, rng: Option<&mut Jitter>) -> f64 {
    let a = &s.app;
    let ready: Vec<_> = a.pods.iter().filter(|p| p.ready()).collect();
    if ready.is_empty() {
        return 1.0;
    }
    let per_pod = |rev: &str| {
        let compatible = a
            .revision(rev)
            .is_some_and(|r| r.schemas.contains(&s.schema_version));
        if compatible { a.base_error_rate } else { 0.85 }
    };
    let mut ok = 1.0 - ready.iter().map(|p| per_pod(&p.revision)).sum::<f64>() / ready.len() as f64;
    for f in a.flags.iter().filter(|f| f.enabled) {
        if f.requires_schema
            .as_ref()
            .is_some_and(|v| *v != s.schema_version)
        {
            ok *= 1.0 - f.error_rate;
        }
    }
    if s.primary.writes_blocked {
        ok *= 0.6;
    }
    // The pods left carry the load of the missing ones: some requests time out.
    let missing = (a.pods.len() - ready.len()) as f64 / a.pods.len() as f64;
    ok *= 1.0 - 0.12 * missing;
    let jitter = rng.map(|r| r.factor(0.1)).unwrap_or(1.0);
    ((1.0 - ok) * jitter).clamp(0.0, 1.0)
}
