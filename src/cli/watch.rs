//! What `ebb console --config FILE` watches: the file is a plan (its postgres, prometheus
//! and kubernetes targets, its outline for the Plan pane) or a targets-only file.

use std::path::Path;
use std::time::Duration;

use miette::Report;

use crate::backends::kubernetes::source::KubeTarget;
use crate::backends::postgres::source::PgTarget;
use crate::backends::prometheus::source::PromTarget;
use crate::backends::source::SourceTarget;
use crate::config::targets::{self, DEFAULT_INTERVAL, DEFAULT_TIMEOUT};
use crate::diag::SourceFile;
use crate::plan::overrides::KubeOverride;
use crate::plan::{Plan, PlanOutline, SecretRef, Target, TargetKind};

/// The servers to watch and, for a plan file, the plan.
#[derive(Debug)]
pub struct Watch {
    pub targets: Vec<SourceTarget>,
    pub plan: Option<(Plan, PlanOutline)>,
    /// Targets of the file that are not watched (not postgres, prometheus or kubernetes),
    /// for the Timeline.
    pub unwatched: Vec<String>,
}

/// The target kinds the console has a source for.
fn watchable(kind: TargetKind) -> bool {
    matches!(
        kind,
        TargetKind::Postgres | TargetKind::Prometheus | TargetKind::Kubernetes
    )
}

/// Reads the file (plan or targets-only; a `[plan]` table decides), checks it (located
/// errors), and resolves every target's secret (errors name the variable or file).
/// `kube` (`--context`, `-n`) overrides every kubernetes target's context and namespace.
pub fn load(path: &Path, kube: &KubeOverride) -> Result<Watch, Report> {
    let file = SourceFile::read(path).map_err(Report::new)?;
    let table: toml::Table = file.parse_toml().map_err(Report::new)?;
    let (declared, plan, unwatched, interval, timeout) = if table.contains_key("plan") {
        let mut plan = Plan::parse(&file).map_err(Report::new)?;
        kube.apply(&mut plan);
        let mut declared = Vec::new();
        let mut unwatched = Vec::new();
        for (name, t) in &plan.targets {
            if watchable(t.kind) {
                declared.push(t.clone());
            } else {
                unwatched.push(format!("{name} ({})", t.kind.name()));
            }
        }
        let outline = PlanOutline::from_plan(&plan);
        (
            declared,
            Some((plan, outline)),
            unwatched,
            DEFAULT_INTERVAL,
            DEFAULT_TIMEOUT,
        )
    } else {
        let t = targets::parse(&file).map_err(Report::new)?;
        let declared = t
            .targets
            .into_iter()
            .map(|w| Target {
                name: w.name,
                kind: w.kind,
                url: w.url,
                ca: w.ca,
                object: None,
                context: w.context,
                namespace: w.namespace,
            })
            .map(|mut t| {
                kube.apply_to(&mut t);
                t
            })
            .collect();
        (declared, None, Vec::new(), t.interval, t.timeout)
    };
    if declared.is_empty() {
        return Err(miette::miette!(
            "{}: no postgres, prometheus or kubernetes targets to watch; declare one under [targets.NAME] with kind = \"postgres\"",
            file.name
        ));
    }
    let targets = resolve(&declared, interval, timeout)
        .map_err(|errs| miette::miette!("{}: {}", file.name, errs.join("; ")))?;
    Ok(Watch {
        targets,
        plan,
        unwatched,
    })
}

/// The postgres, prometheus and kubernetes targets of a plan as sources to watch (secrets
/// resolved, all errors at once), for `ebb run` on real targets.
pub fn plan_sources(plan: &Plan) -> Result<Vec<SourceTarget>, Report> {
    let declared: Vec<Target> = plan
        .targets
        .values()
        .filter(|t| watchable(t.kind))
        .cloned()
        .collect();
    resolve(&declared, DEFAULT_INTERVAL, DEFAULT_TIMEOUT)
        .map_err(|errs| miette::miette!("{}: {}", plan.source_name, errs.join("; ")))
}

/// Resolves every target's secret into connect options; all errors at once. A kubernetes
/// target's `env:` kubeconfig variable must be set; its kubeconfig is read by its source.
fn resolve(
    declared: &[Target],
    interval: Duration,
    timeout: Duration,
) -> Result<Vec<SourceTarget>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for t in declared {
        let name = &t.name;
        let target = if t.kind == TargetKind::Kubernetes {
            match &t.url {
                Some(secret @ SecretRef::Env(_)) => secret.resolve().map(|_| ()),
                _ => Ok(()),
            }
            .map_err(|e| format!("target {name}: {e}"))
            .map(|()| {
                SourceTarget::Kube(KubeTarget {
                    target: t.clone(),
                    interval,
                    timeout,
                })
            })
        } else {
            let resolved = t
                .url
                .as_ref()
                .map(|s| s.resolve().map_err(|e| format!("target {name}: {e}")));
            match (t.kind, resolved) {
                (_, Some(Err(e))) => Err(e),
                (TargetKind::Prometheus, Some(Ok(url))) => {
                    PromTarget::from_url(name, &url, t.ca.as_deref(), interval, timeout)
                        .map(SourceTarget::Prom)
                }
                (TargetKind::Prometheus, None) => Err(format!("target {name}: needs a url")),
                (_, None) => Ok(SourceTarget::Pg(PgTarget::from_env(
                    name, interval, timeout,
                ))),
                (_, Some(Ok(url))) => {
                    PgTarget::from_url(name, &url, interval, timeout).map(SourceTarget::Pg)
                }
            }
        };
        match target {
            Ok(t) => out.push(t),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
