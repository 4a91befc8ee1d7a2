//! `statefulset_rollback`: the template set back to a ControllerRevision's with the partition
//! at `replicas`, then lowered one ordinal at a time as each pod is Ready on the new revision.

use std::time::Instant;

use serde_json::{Value, json};

use super::api::{Cluster, KubeError, controller_revisions, pods};
use super::merge::turning;
use super::pods::PodState;
use super::stuck::StuckWatch;
use super::wording::{self, moved};
use super::{Guide, REVISION_ANNOTATION, STEP_ANNOTATION, settle};
use crate::engine::{Ended, Failure, Probe};
use crate::plan::Revision;

/// How long a pod may sit not Ready on another revision than the target before it is
/// taken as stuck there (kubernetes/kubernetes#67250) and its deletion is asked for.
pub const STUCK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

fn statefulsets() -> kube::discovery::ApiResource {
    match crate::backends::kubernetes::Resource::of_kind("statefulset") {
        Some(r) => r.api_resource(),
        None => kube::discovery::ApiResource {
            group: "apps".into(),
            version: "v1".into(),
            api_version: "apps/v1".into(),
            kind: "StatefulSet".into(),
            plural: "statefulsets".into(),
        },
    }
}

fn annotation<'a>(o: &'a Value, name: &str) -> Option<&'a str> {
    o["metadata"]["annotations"][name].as_str()
}

fn replicas(sts: &Value) -> u64 {
    sts["spec"]["replicas"].as_u64().unwrap_or(1)
}

fn partition(sts: &Value) -> u64 {
    sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
        .as_u64()
        .unwrap_or(0)
}

/// One ControllerRevision of the StatefulSet.
pub(crate) struct Rev {
    pub(crate) name: String,
    pub(crate) number: i64,
    pub(crate) template: Value,
}

/// The StatefulSet's ControllerRevisions (owned by it, or named after it when unowned).
async fn revisions(c: &Cluster, sts: &str) -> Result<Vec<Rev>, KubeError> {
    let prefix = format!("{sts}-");
    Ok(c.list(&controller_revisions())
        .await?
        .into_iter()
        .filter(|r| match r["metadata"]["ownerReferences"].as_array() {
            Some(owners) if !owners.is_empty() => owners
                .iter()
                .any(|o| o["kind"] == "StatefulSet" && o["name"] == sts),
            _ => r["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&prefix)),
        })
        .map(|r| {
            let mut template = r["data"]["spec"]["template"].clone();
            if let Some(t) = template.as_object_mut() {
                t.remove("$patch");
            }
            Rev {
                name: r["metadata"]["name"].as_str().unwrap_or("").to_string(),
                number: r["revision"].as_i64().unwrap_or(0),
                template,
            }
        })
        .collect())
}

/// The revision to roll back to: the highest numbered below the update revision's, or the
/// one named (by name, or by the hash after `{sts}-`).
pub(crate) fn choose(
    revs: Vec<Rev>,
    sts: &str,
    current: &str,
    to: &Revision,
) -> Result<Rev, KubeError> {
    let known = || {
        let mut names: Vec<&str> = revs.iter().map(|r| r.name.as_str()).collect();
        names.sort();
        names.join(", ")
    };
    match to {
        Revision::Previous => {
            let Some(now) = revs.iter().find(|r| r.name == current).map(|r| r.number) else {
                return Err(KubeError::Failed(format!(
                    "its update revision {current} has no ControllerRevision (known: {})",
                    known()
                )));
            };
            revs.into_iter()
                .filter(|r| r.number < now)
                .max_by_key(|r| r.number)
                .ok_or_else(|| KubeError::Failed(format!("no revision before {current}")))
        }
        Revision::Named(name) => {
            let long = format!("{sts}-{name}");
            let list = known();
            revs.into_iter()
                .find(|r| r.name == *name || r.name == long)
                .ok_or_else(|| {
                    KubeError::Failed(format!("no ControllerRevision {name} (known: {list})"))
                })
        }
    }
}

/// Rolls statefulset `name` back; see the module doc. Continues from the object's observed
/// state when the template was already written by this step (its annotation). Stopped or
/// failing once the template is written, it says how far it got (a rollback undoes it).
pub async fn rollback(
    c: &Cluster,
    name: &str,
    to: &Revision,
    g: &mut Guide<'_>,
) -> Result<Ended, Failure> {
    let mut at = "the template write".to_string();
    let mut landed = None;
    let r = run(c, name, to, g, &mut at, &mut landed).await;
    g.ask(None);
    settle(&at, &format!("statefulset/{name}"), landed, r)
}

async fn run(
    c: &Cluster,
    name: &str,
    to: &Revision,
    g: &mut Guide<'_>,
    at: &mut String,
    landed: &mut Option<String>,
) -> Result<Ended, KubeError> {
    let res = statefulsets();
    let sts = c.get(&res, name).await?;
    let n = replicas(&sts);
    let target = match annotation(&sts, STEP_ANNOTATION) {
        Some(k) if k == g.key => annotation(&sts, REVISION_ANNOTATION)
            .unwrap_or("")
            .to_string(),
        _ => {
            let current = sts["status"]["updateRevision"].as_str().unwrap_or("");
            let rev = choose(revisions(c, name).await?, name, current, to)?;
            let patch = json!({
                "metadata": { "annotations": {
                    STEP_ANNOTATION: g.key,
                    REVISION_ANNOTATION: rev.name,
                } },
                "spec": {
                    "template": turning(&sts["spec"]["template"], &rev.template),
                    "updateStrategy": { "type": "RollingUpdate", "rollingUpdate": { "partition": n } },
                },
            });
            c.merge_patch(&res, name, &patch).await?;
            *landed = Some(moved(&rev.name, n, n));
            g.say(wording::template_set(name, &rev.name, current, n));
            rev.name
        }
    };
    loop {
        let sts = c.get(&res, name).await?;
        let n = replicas(&sts);
        let p = partition(&sts).min(n);
        *at = format!("ordinal {p}");
        *landed = Some(moved(&target, p, n));
        if p < n && !wait_for_pod(c, name, p, &target, g).await? {
            return Ok(Ended::stopped_after(at.clone(), landed.clone()));
        }
        if p == 0 {
            return Ok(Ended::Complete);
        }
        if g.stop_requested() {
            return Ok(Ended::stopped_after(at.clone(), landed.clone()));
        }
        let patch = json!({
            "metadata": { "annotations": { STEP_ANNOTATION: g.key } },
            "spec": { "updateStrategy": { "rollingUpdate": { "partition": p - 1 } } },
        });
        c.merge_patch(&res, name, &patch).await?;
        *landed = Some(moved(&target, p - 1, n));
        g.report(wording::partition_lowered(name, p - 1));
    }
}

/// Waits until pod `ordinal` is Ready on the update revision (once the controller has
/// taken `target`). A pod stuck not Ready on another revision is deleted only after the
/// responder types its name. `Ok(false)`: stopped on request.
async fn wait_for_pod(
    c: &Cluster,
    sts: &str,
    ordinal: u64,
    target: &str,
    g: &mut Guide<'_>,
) -> Result<bool, KubeError> {
    let pod_name = format!("{sts}-{ordinal}");
    let mut deadline = Instant::now() + g.pod_timeout;
    let started = Instant::now();
    let mut watch = StuckWatch::default();
    loop {
        if g.stop_requested() {
            g.ask(None);
            return Ok(false);
        }
        let set = c.get(&statefulsets(), sts).await?;
        let update = set["status"]["updateRevision"].as_str().unwrap_or("");
        let observed = set["status"]["observedGeneration"].as_i64();
        let generation = set["metadata"]["generation"].as_i64();
        let caught_up = update == target
            || matches!((observed, generation), (Some(o), Some(g)) if o >= g && !update.is_empty());
        let pod = c
            .get_opt(&pods(), &pod_name)
            .await?
            .map(|p| PodState::of(&p));
        let state = pod
            .as_ref()
            .map_or("absent".to_string(), |p| p.detail.clone());
        if watch.observe(
            g,
            &pod_name,
            pod.as_ref(),
            update,
            caught_up,
            started.elapsed(),
        ) {
            return Ok(true);
        }
        g.report(wording::waiting(
            ordinal,
            &pod_name,
            watch.asked().is_some(),
            caught_up,
            target,
            &state,
            update,
        ));
        // A human is being asked: the pod's timeout waits for them.
        if watch.asked().is_none() && Instant::now() >= deadline {
            g.ask(None);
            return Err(KubeError::Failed(wording::pod_timeout(
                &pod_name,
                update,
                g.pod_timeout,
                &state,
                pod.as_ref(),
            )));
        }
        let answer = {
            let Guide { stop, answers, .. } = g;
            tokio::select! {
                _ = tokio::time::sleep(super::POLL) => None,
                _ = stop.wait_for(|s| *s) => None,
                a = answers.recv() => a,
            }
        };
        if let (Some((step, typed)), Some(p)) = (answer, watch.asked().cloned())
            && step == g.step
        {
            if typed.trim() != pod_name {
                g.say(wording::not_deleting(&pod_name, &typed));
                continue;
            }
            c.delete_pod(&pod_name, p.uid.as_deref()).await?;
            g.say(wording::deleted(&p, update));
            watch.deleted(g);
            deadline = Instant::now() + g.pod_timeout;
        }
    }
}

/// Whether the rollback keyed `key` happened: not started (no annotation), finished
/// (partition 0 and every replica updated and ready), or reached an ordinal.
pub async fn probe_rollback(c: &Cluster, name: &str, key: &str) -> Probe {
    let sts = match c.get(&statefulsets(), name).await {
        Ok(s) => s,
        Err(e) => return Probe::Unknown(e.to_string()),
    };
    if annotation(&sts, STEP_ANNOTATION) != Some(key) {
        return Probe::NotHappened;
    }
    let n = replicas(&sts);
    let p = partition(&sts);
    let status = &sts["status"];
    let all = |f: &str| status[f].as_u64() == Some(n);
    if p == 0 && all("updatedReplicas") && all("readyReplicas") {
        Probe::Happened
    } else {
        Probe::Resumable(format!("ordinal {}", p.min(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(name: &str, number: i64) -> Rev {
        Rev {
            name: name.into(),
            number,
            template: json!({}),
        }
    }

    #[test]
    fn previous_is_the_highest_revision_below_the_update_revision() {
        let revs = vec![
            rev("db-a", 1),
            rev("db-c", 3),
            rev("db-b", 2),
            rev("db-d", 4),
        ];
        let r = choose(revs, "db", "db-c", &Revision::Previous).unwrap();
        assert_eq!(r.name, "db-b");
        let err = choose(vec![rev("db-a", 1)], "db", "db-a", &Revision::Previous)
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "no revision before db-a");
    }

    #[test]
    fn a_named_revision_is_found_by_name_or_hash() {
        let revs = || vec![rev("db-a1", 1), rev("db-b2", 2)];
        assert_eq!(
            choose(revs(), "db", "db-b2", &Revision::Named("a1".into()))
                .unwrap()
                .name,
            "db-a1"
        );
        assert_eq!(
            choose(revs(), "db", "db-b2", &Revision::Named("db-a1".into()))
                .unwrap()
                .name,
            "db-a1"
        );
        let err = choose(revs(), "db", "db-b2", &Revision::Named("zz".into()))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("known: db-a1, db-b2"), "{err}");
    }
}
