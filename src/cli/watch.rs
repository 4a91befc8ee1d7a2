//! What `ebb console --config FILE` watches: the file is a plan (its postgres and prometheus
//! targets, its outline for the Plan pane) or a targets-only file; secrets are read up front.

use std::path::Path;
use std::time::Duration;

use miette::Report;

use crate::config::diag::SourceFile;
use crate::config::targets::{self, DEFAULT_INTERVAL, DEFAULT_TIMEOUT};
use crate::plan::{Plan, PlanOutline, SecretRef, TargetKind};
use crate::sources::pg::PgTarget;
use crate::sources::prom::PromTarget;
use crate::sources::target::SourceTarget;

/// The servers to watch and, for a plan file, the plan.
#[derive(Debug)]
pub struct Watch {
    pub targets: Vec<SourceTarget>,
    pub plan: Option<(Plan, PlanOutline)>,
    /// Targets of the file that are not watched (not postgres or prometheus), for the Timeline.
    pub unwatched: Vec<String>,
}

/// One target as declared: its name, kind and where its URL comes from (`None`: the libpq
/// environment).
type Declared = (String, TargetKind, Option<SecretRef>);

/// The target kinds the console has a source for.
fn watchable(kind: TargetKind) -> bool {
    matches!(kind, TargetKind::Postgres | TargetKind::Prometheus)
}

/// Reads the file (plan or targets-only; a `[plan]` table decides), checks it (located
/// errors), and resolves every target's secret (errors name the variable or file).
pub fn load(path: &Path) -> Result<Watch, Report> {
    let file = SourceFile::read(path).map_err(Report::new)?;
    let table: toml::Table = file.parse_toml().map_err(Report::new)?;
    let (declared, plan, unwatched, interval, timeout) = if table.contains_key("plan") {
        let plan = Plan::parse(&file).map_err(Report::new)?;
        let mut declared = Vec::new();
        let mut unwatched = Vec::new();
        for (name, t) in &plan.targets {
            if watchable(t.kind) {
                declared.push((name.clone(), t.kind, t.url.clone()));
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
            .map(|w| (w.name, w.kind, w.url))
            .collect();
        (declared, None, Vec::new(), t.interval, t.timeout)
    };
    if declared.is_empty() {
        return Err(miette::miette!(
            "{}: no postgres or prometheus targets to watch; declare one under [targets.NAME] with kind = \"postgres\"",
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

/// The postgres and prometheus targets of a plan as sources to watch (secrets resolved,
/// all errors at once), for `ebb run` on real targets.
pub fn plan_sources(plan: &Plan) -> Result<Vec<SourceTarget>, Report> {
    let declared: Vec<Declared> = plan
        .targets
        .values()
        .filter(|t| watchable(t.kind))
        .map(|t| (t.name.clone(), t.kind, t.url.clone()))
        .collect();
    resolve(&declared, DEFAULT_INTERVAL, DEFAULT_TIMEOUT)
        .map_err(|errs| miette::miette!("{}: {}", plan.source_name, errs.join("; ")))
}

/// Resolves every target's secret into connect options; all errors at once.
fn resolve(
    declared: &[Declared],
    interval: Duration,
    timeout: Duration,
) -> Result<Vec<SourceTarget>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, kind, url) in declared {
        let resolved = url
            .as_ref()
            .map(|s| s.resolve().map_err(|e| format!("target {name}: {e}")));
        let target = match (kind, resolved) {
            (_, Some(Err(e))) => Err(e),
            (TargetKind::Prometheus, Some(Ok(url))) => {
                PromTarget::from_url(name, &url, interval, timeout).map(SourceTarget::Prom)
            }
            (TargetKind::Prometheus, None) => Err(format!("target {name}: needs a url")),
            (_, None) => Ok(SourceTarget::Pg(PgTarget::from_env(
                name, interval, timeout,
            ))),
            (_, Some(Ok(url))) => {
                PgTarget::from_url(name, &url, interval, timeout).map(SourceTarget::Pg)
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
