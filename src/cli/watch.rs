//! What `ebb console --config FILE` watches: the file is a plan (its postgres and kubernetes
//! targets, and its outline for the Plan pane) or a targets-only file; secrets read up front.

use std::path::Path;
use std::time::Duration;

use miette::Report;

use crate::config::diag::SourceFile;
use crate::config::targets::{self, DEFAULT_INTERVAL, DEFAULT_TIMEOUT};
use crate::plan::{Plan, PlanOutline, SecretRef, Target, TargetKind};
use crate::sources::kube::KubeTarget;
use crate::sources::pg::PgTarget;

/// The source tasks a console starts: one per PostgreSQL server, one per Kubernetes target.
#[derive(Debug, Default)]
pub struct Sources {
    pub pg: Vec<PgTarget>,
    pub kube: Vec<KubeTarget>,
}

/// The servers to watch and, for a plan file, the plan.
#[derive(Debug)]
pub struct Watch {
    pub targets: Vec<PgTarget>,
    /// Kubernetes targets, each watched in its namespace.
    pub kube: Vec<KubeTarget>,
    pub plan: Option<(Plan, PlanOutline)>,
    /// Targets of the file that are not watched (not postgres or kubernetes), for the Timeline.
    pub unwatched: Vec<String>,
}

/// One target as declared: its name and where its URL comes from (`None`: the libpq
/// environment).
type Declared = (String, Option<SecretRef>);

/// Reads the file (plan or targets-only; a `[plan]` table decides), checks it (located
/// errors), and resolves every target's secret (errors name the variable or file).
pub fn load(path: &Path) -> Result<Watch, Report> {
    let file = SourceFile::read(path).map_err(Report::new)?;
    let table: toml::Table = file.parse_toml().map_err(Report::new)?;
    let (declared, kube, plan, unwatched, interval, timeout) = if table.contains_key("plan") {
        let plan = Plan::parse(&file).map_err(Report::new)?;
        let mut declared = Vec::new();
        let mut kube = Vec::new();
        let mut unwatched = Vec::new();
        for (name, t) in &plan.targets {
            match t.kind {
                TargetKind::Postgres => declared.push((name.clone(), t.url.clone())),
                TargetKind::Kubernetes => kube.push(t.clone()),
                _ => unwatched.push(format!("{name} ({})", t.kind.name())),
            }
        }
        let outline = PlanOutline::from_plan(&plan);
        (
            declared,
            kube,
            Some((plan, outline)),
            unwatched,
            DEFAULT_INTERVAL,
            DEFAULT_TIMEOUT,
        )
    } else {
        let t = targets::parse(&file).map_err(Report::new)?;
        let mut declared = Vec::new();
        let mut kube = Vec::new();
        for w in t.targets {
            match w.kind {
                TargetKind::Kubernetes => kube.push(Target {
                    name: w.name,
                    kind: TargetKind::Kubernetes,
                    url: w.url,
                    object: None,
                    context: w.context,
                    namespace: w.namespace,
                }),
                _ => declared.push((w.name, w.url)),
            }
        }
        (declared, kube, None, Vec::new(), t.interval, t.timeout)
    };
    if declared.is_empty() && kube.is_empty() {
        return Err(miette::miette!(
            "{}: no postgres or kubernetes targets to watch; declare one under [targets.NAME] with kind = \"postgres\" or \"kubernetes\"",
            file.name
        ));
    }
    let resolved = resolve(&declared, interval, timeout);
    let kube = kube_targets(kube, interval, timeout);
    let targets = match (resolved, kube.as_ref().err()) {
        (Ok(t), None) => t,
        (r, k) => {
            let mut errs = r.err().unwrap_or_default();
            errs.extend(k.cloned().unwrap_or_default());
            return Err(miette::miette!("{}: {}", file.name, errs.join("; ")));
        }
    };
    Ok(Watch {
        targets,
        kube: kube.unwrap_or_default(),
        plan,
        unwatched,
    })
}

/// The postgres and kubernetes targets of a plan as sources to watch (secrets resolved,
/// all errors at once), for `ebb run` on real targets.
pub fn plan_sources(plan: &Plan) -> Result<Sources, Report> {
    let declared: Vec<Declared> = plan
        .targets
        .values()
        .filter(|t| t.kind == TargetKind::Postgres)
        .map(|t| (t.name.clone(), t.url.clone()))
        .collect();
    let kube: Vec<Target> = plan
        .targets
        .values()
        .filter(|t| t.kind == TargetKind::Kubernetes)
        .cloned()
        .collect();
    let mut errs = Vec::new();
    let pg = resolve(&declared, DEFAULT_INTERVAL, DEFAULT_TIMEOUT).unwrap_or_else(|e| {
        errs.extend(e);
        Vec::new()
    });
    let kube = kube_targets(kube, DEFAULT_INTERVAL, DEFAULT_TIMEOUT).unwrap_or_else(|e| {
        errs.extend(e);
        Vec::new()
    });
    if errs.is_empty() {
        Ok(Sources { pg, kube })
    } else {
        Err(miette::miette!("{}: {}", plan.source_name, errs.join("; ")))
    }
}

/// Kubernetes targets to watch; an `env:` kubeconfig variable that is not set is an error
/// now, before the terminal is taken (the kubeconfig itself is read by the source task).
fn kube_targets(
    targets: Vec<Target>,
    interval: Duration,
    timeout: Duration,
) -> Result<Vec<KubeTarget>, Vec<String>> {
    let mut errors = Vec::new();
    for t in &targets {
        if let Some(secret @ SecretRef::Env(_)) = &t.url
            && let Err(e) = secret.resolve()
        {
            errors.push(format!("target {}: {e}", t.name));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(targets
        .into_iter()
        .map(|target| KubeTarget {
            target,
            interval,
            timeout,
        })
        .collect())
}

/// Resolves every target's secret into connect options; all errors at once.
fn resolve(
    declared: &[Declared],
    interval: Duration,
    timeout: Duration,
) -> Result<Vec<PgTarget>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, url) in declared {
        let target = match url {
            None => Ok(PgTarget::from_env(name, interval, timeout)),
            Some(secret) => secret
                .resolve()
                .map_err(|e| format!("target {name}: {e}"))
                .and_then(|url| PgTarget::from_url(name, &url, interval, timeout)),
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
