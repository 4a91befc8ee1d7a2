//! The outline of a plan: its name and steps in order, as the Plan pane shows them.
//! Derived from the validated `Plan`, so a plan the pane shows is a plan that can run.

use std::path::Path;

use super::{Plan, PlanErrors};
use crate::diag::{LocatedError, SourceFile};
use crate::text::DisplayText;

/// Where a step stands in a run. Until the engine drives plans every step is `Pending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StepMark {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
    Compensated,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepOutline {
    pub id: DisplayText,
    pub kind: DisplayText,
    pub description: DisplayText,
    pub has_undo: bool,
    pub mark: StepMark,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanOutline {
    pub name: DisplayText,
    pub description: DisplayText,
    pub rto: Option<DisplayText>,
    pub source_name: String,
    pub gates: usize,
    pub steps: Vec<StepOutline>,
    /// Each target as `name (kind)`, in name order: what a run of this plan reaches.
    pub targets: Vec<DisplayText>,
}

/// Plans shipped in examples/plans/, embedded so the drill needs no files.
/// One per built-in scenario, named as its `plan =` says.
const BUILTIN: &[(&str, &str)] = &[
    (
        "backfill-slot-fill.toml",
        include_str!("../../examples/plans/backfill-slot-fill.toml"),
    ),
    (
        "abandoned-cdc-slot.toml",
        include_str!("../../examples/plans/abandoned-cdc-slot.toml"),
    ),
    (
        "crashloop-new-revision.toml",
        include_str!("../../examples/plans/crashloop-new-revision.toml"),
    ),
    (
        "migration-batch-failure.toml",
        include_str!("../../examples/plans/migration-batch-failure.toml"),
    ),
    (
        "network-partition-replica2.toml",
        include_str!("../../examples/plans/network-partition-replica2.toml"),
    ),
];

impl PlanOutline {
    /// The outline of a validated plan.
    /// The name and text of a plan embedded in the binary (`backfill-slot-fill.toml`).
    pub fn builtin_source(name: &str) -> Option<(String, &'static str)> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| (format!("(embedded) examples/plans/{n}"), *text))
    }

    pub fn from_plan(plan: &Plan) -> PlanOutline {
        PlanOutline {
            name: DisplayText::new(&plan.name),
            description: DisplayText::new(&plan.description),
            rto: plan
                .rto
                .map(|d| DisplayText::new(&humantime::format_duration(d).to_string())),
            source_name: plan.source_name.clone(),
            gates: plan.gates.len(),
            targets: plan
                .targets
                .values()
                .map(|t| DisplayText::new(&format!("{} ({})", t.name, t.kind.name())))
                .collect(),
            steps: plan
                .steps
                .iter()
                .map(|s| StepOutline {
                    id: DisplayText::new(&s.id),
                    kind: DisplayText::new(s.kind.name()),
                    description: DisplayText::new(&s.description),
                    has_undo: s.undo.is_some(),
                    mark: StepMark::Pending,
                })
                .collect(),
        }
    }

    /// Parses and validates `file`; when invalid, the first error, saying how many more
    /// there are (`ebb plan check` lists them all).
    pub fn parse(file: &SourceFile) -> Result<PlanOutline, LocatedError> {
        Plan::parse(file)
            .map(|p| PlanOutline::from_plan(&p))
            .map_err(first_error)
    }

    /// A plan embedded in the binary, by file name (`backfill-slot-fill.toml`).
    pub fn builtin(name: &str) -> Option<Result<PlanOutline, LocatedError>> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(n, text)| {
            PlanOutline::parse(&SourceFile::new(
                format!("(embedded) examples/plans/{n}"),
                *text,
            ))
        })
    }

    /// A path on disk.
    pub fn load(path: &Path) -> Result<PlanOutline, LocatedError> {
        PlanOutline::parse(&SourceFile::read(path)?)
    }
}

fn first_error(errors: PlanErrors) -> LocatedError {
    let more = errors.errors.len().saturating_sub(1);
    let name = errors.name;
    let mut it = errors.errors.into_iter();
    match it.next() {
        Some(mut e) => {
            if more > 0 {
                let s = if more == 1 { "" } else { "s" };
                e.message.push_str(&format!(
                    " (and {more} more error{s}: see `ebb plan check {name}`)"
                ));
            }
            e
        }
        None => SourceFile::new(name, "").error_at(0..0, "invalid plan", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_plan_outlines() {
        let p = PlanOutline::builtin("backfill-slot-fill.toml")
            .unwrap()
            .unwrap();
        assert_eq!(p.name.as_str(), "orders-0042-rollback");
        assert_eq!(p.steps.len(), 8);
        assert_eq!(p.steps[0].id.as_str(), "pause-backfill");
        assert!(p.steps[0].has_undo);
        assert_eq!(p.gates, 1);
    }

    /// The shipped plans are written against real target kinds: a drill binds them.
    #[test]
    fn builtin_plans_use_real_target_kinds_only() {
        for (name, _) in BUILTIN {
            let p = PlanOutline::builtin(name).unwrap().unwrap();
            assert!(!p.targets.is_empty(), "{name}");
            for t in &p.targets {
                assert!(!t.as_str().ends_with("(sim)"), "{name}: {}", t.as_str());
            }
            for s in &p.steps {
                assert!(
                    !s.kind.as_str().starts_with("sim."),
                    "{name}: {}",
                    s.id.as_str()
                );
            }
        }
    }

    #[test]
    fn missing_step_id_is_located() {
        let f = SourceFile::new(
            "p.toml",
            "[plan]\nname = \"x\"\n\n[[step]]\nkind = \"manual\"\n",
        );
        let e = PlanOutline::parse(&f).unwrap_err();
        assert!(e.to_string().contains("p.toml:4:1"), "{e}");
        assert!(e.to_string().contains("missing field `id`"), "{e}");
    }
}
