//! What `ebb console --config FILE` watches: the file is a plan (its postgres targets, and
//! its outline for the Plan pane) or a targets-only file; secrets are read here, up front.

use std::path::Path;
use std::time::Duration;

use miette::Report;

use crate::config::diag::SourceFile;
use crate::config::targets::{self, DEFAULT_INTERVAL, DEFAULT_TIMEOUT};
use crate::plan::{Plan, PlanOutline, SecretRef, TargetKind};
use crate::sources::pg::PgTarget;

/// The servers to watch and, for a plan file, the plan.
#[derive(Debug)]
pub struct Watch {
    pub targets: Vec<PgTarget>,
    pub plan: Option<(Plan, PlanOutline)>,
    /// Targets of the file that are not watched (not postgres), for the Timeline.
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
    let (declared, plan, unwatched, interval, timeout) = if table.contains_key("plan") {
        let plan = Plan::parse(&file).map_err(Report::new)?;
        let mut declared = Vec::new();
        let mut unwatched = Vec::new();
        for (name, t) in &plan.targets {
            if t.kind == TargetKind::Postgres {
                declared.push((name.clone(), t.url.clone()));
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
        let declared = t.targets.into_iter().map(|w| (w.name, w.url)).collect();
        (declared, None, Vec::new(), t.interval, t.timeout)
    };
    if declared.is_empty() {
        return Err(miette::miette!(
            "{}: no postgres targets to watch; declare one under [targets.NAME] with kind = \"postgres\"",
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

/// The postgres targets of a plan as sources to watch (secrets resolved, all errors at
/// once), for `ebb run` on real targets.
pub fn plan_sources(plan: &Plan) -> Result<Vec<PgTarget>, Report> {
    let declared: Vec<Declared> = plan
        .targets
        .values()
        .filter(|t| t.kind == TargetKind::Postgres)
        .map(|t| (t.name.clone(), t.url.clone()))
        .collect();
    resolve(&declared, DEFAULT_INTERVAL, DEFAULT_TIMEOUT)
        .map_err(|errs| miette::miette!("{}: {}", plan.source_name, errs.join("; ")))
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
