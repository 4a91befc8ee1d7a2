//! The outline of a plan file: its name and steps in order, read leniently for display.
//! Full validation (unknown keys, targets, secrets) belongs to the plan checker.

use std::path::Path;

use serde::Deserialize;

use crate::config::diag::{LocatedError, SourceFile};
use crate::text::DisplayText;

/// Where a step stands in a run. Until the engine drives plans every step is `Pending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepMark {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
    Compensated,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepOutline {
    pub id: DisplayText,
    pub kind: DisplayText,
    pub description: DisplayText,
    pub has_undo: bool,
    pub mark: StepMark,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanOutline {
    pub name: DisplayText,
    pub description: DisplayText,
    pub rto: Option<DisplayText>,
    pub source_name: String,
    pub gates: usize,
    pub steps: Vec<StepOutline>,
}

#[derive(Deserialize)]
struct RawPlan {
    plan: RawHeader,
    #[serde(default)]
    step: Vec<RawStep>,
    #[serde(default)]
    gate: Vec<toml::Table>,
}

#[derive(Deserialize)]
struct RawHeader {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    rto: Option<String>,
}

#[derive(Deserialize)]
struct RawStep {
    id: String,
    kind: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    undo: Option<toml::Value>,
}

/// Plans shipped in examples/plans/, embedded so the drill needs no files.
const BUILTIN: &[(&str, &str)] = &[(
    "backfill-slot-fill.toml",
    include_str!("../../examples/plans/backfill-slot-fill.toml"),
)];

impl PlanOutline {
    pub fn parse(file: &SourceFile) -> Result<PlanOutline, LocatedError> {
        let raw: RawPlan = file.parse_toml()?;
        Ok(PlanOutline {
            name: DisplayText::new(&raw.plan.name),
            description: DisplayText::new(&raw.plan.description),
            rto: raw.plan.rto.as_deref().map(DisplayText::new),
            source_name: file.name.clone(),
            gates: raw.gate.len(),
            steps: raw
                .step
                .iter()
                .map(|s| StepOutline {
                    id: DisplayText::new(&s.id),
                    kind: DisplayText::new(&s.kind),
                    description: DisplayText::new(s.description.as_deref().unwrap_or("")),
                    has_undo: s.undo.is_some(),
                    mark: StepMark::Pending,
                })
                .collect(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_plan_outlines() {
        let p = PlanOutline::builtin("backfill-slot-fill.toml")
            .unwrap()
            .unwrap();
        assert_eq!(p.name.as_str(), "orders-0042-rollback");
        assert_eq!(p.steps.len(), 7);
        assert_eq!(p.steps[0].id.as_str(), "pause-backfill");
        assert!(p.steps[0].has_undo);
        assert_eq!(p.gates, 1);
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
