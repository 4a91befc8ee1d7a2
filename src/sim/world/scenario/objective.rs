//! A scenario's `[[objective]]`s: what the responders are to achieve, checked into specs
//! with every bad value located; `world::score` judges them against the world.

#![allow(clippy::result_large_err)]

use std::time::Duration;

use serde::Deserialize;

use super::check::Checker;
use super::raw::{RawObjective, RawObjectiveKind};
use crate::diag::LocatedError;

/// One objective as the scenario declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveSpec {
    pub name: String,
    /// Given in the file, or made from the goal.
    pub description: String,
    pub goal: Goal,
}

/// What an objective asks, per kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Goal {
    /// The backfill is paused (or rolled back) before `volume` reaches `used` (a ratio);
    /// missed the moment it reaches it while the backfill is not paused. A backfill paused
    /// from the start counts as paused at the first sub-step.
    PausedBefore { volume: usize, used: f64 },
    /// Every condition of `when` holds at once within `within` of the start.
    RecoveredWithin {
        within: Duration,
        when: Vec<Recovery>,
    },
    /// No write fails on a full volume and no column holding data is dropped without a
    /// snapshot taken since; decided at the end if nothing was lost.
    NoDataLoss,
    /// `Hazard` never happens; met at the end if it did not.
    Never(Hazard),
    /// The first action on the world comes within `within`.
    TimeToFirstAction { within: Duration },
}

impl Goal {
    /// The `kind` as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Goal::PausedBefore { .. } => "paused_before",
            Goal::RecoveredWithin { .. } => "recovered_within",
            Goal::NoDataLoss => "no_data_loss",
            Goal::Never(_) => "never",
            Goal::TimeToFirstAction { .. } => "time_to_first_action",
        }
    }
}

/// What "recovered" means: each condition of a `recovered_within` objective's `when`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    /// `app_healthy`, `replicas_caught_up` and `disk_ok` together.
    Healthy,
    /// Every pod Ready on a revision that works with the schema, errors under 1 %.
    AppHealthy,
    /// Every replica streaming, not broken, under 30 s of lag.
    ReplicasCaughtUp,
    /// Every volume under 90 %.
    DiskOk,
    /// The backfill is not running (paused, failed, done or rolled back), nor throttled.
    BackfillStopped,
    /// No slot holds WAL for a consumer that is not streaming (an abandoned slot, a
    /// disconnected or broken replica's), and none more than `max_wal_size`.
    WalReleased,
    /// The schema is back at the migration's `from_schema` and the backfill not running.
    MigrationRolledBack,
}

impl Recovery {
    pub fn phrase(self) -> &'static str {
        match self {
            Recovery::Healthy => "app, replicas and disks healthy",
            Recovery::AppHealthy => "app healthy",
            Recovery::ReplicasCaughtUp => "replicas caught up",
            Recovery::DiskOk => "every volume under 90%",
            Recovery::BackfillStopped => "backfill stopped",
            Recovery::WalReleased => "no slot holding WAL back",
            Recovery::MigrationRolledBack => "migration rolled back",
        }
    }
}

/// What must never happen: a `never` objective's `condition`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// A volume reaches 100 % (on the primary's: writes fail).
    DiskFull,
    /// A slot's WAL is removed (`wal_status = lost`).
    SlotLost,
    /// A replica can no longer stream and needs a rebuild.
    ReplicaBroken,
    /// The backfill's columns are dropped (down-migration) while a Ready pod's revision or an
    /// enabled flag still reads them.
    DroppedColumnInUse,
    /// A slot is dropped while its replica streams through it.
    DroppedActiveSlot,
    /// The schema version moves from where the drill began.
    SchemaChanged,
}

impl Hazard {
    pub fn phrase(self) -> &'static str {
        match self {
            Hazard::DiskFull => "Never let a volume fill up",
            Hazard::SlotLost => "Never lose a replication slot",
            Hazard::ReplicaBroken => "Never break a replica (one that needs a rebuild)",
            Hazard::DroppedColumnInUse => {
                "Never drop the new columns while a serving revision or a flag reads them"
            }
            Hazard::DroppedActiveSlot => "Never drop the slot of a streaming replica",
            Hazard::SchemaChanged => "Never change the schema",
        }
    }

    /// What the end of a drill says when it never happened.
    pub fn held(self) -> &'static str {
        match self {
            Hazard::DiskFull => "no volume filled up",
            Hazard::SlotLost => "no slot was lost",
            Hazard::ReplicaBroken => "no replica broke",
            Hazard::DroppedColumnInUse => "no column was dropped while in use",
            Hazard::DroppedActiveSlot => "no streaming replica's slot was dropped",
            Hazard::SchemaChanged => "the schema never changed",
        }
    }
}

impl Checker<'_> {
    /// Checks every `[[objective]]`; `primary_volume` is the default of `paused_before`.
    pub(super) fn objectives(
        &self,
        raw: &[RawObjective],
        vol_names: &[&str],
        primary_volume: Option<usize>,
    ) -> Result<Vec<ObjectiveSpec>, LocatedError> {
        self.unique(
            &raw.iter().map(|o| &o.name).collect::<Vec<_>>(),
            "objective",
        )?;
        raw.iter()
            .map(|o| self.objective(o, vol_names, primary_volume))
            .collect()
    }

    fn objective(
        &self,
        o: &RawObjective,
        vol_names: &[&str],
        primary_volume: Option<usize>,
    ) -> Result<ObjectiveSpec, LocatedError> {
        let kind = *o.kind.get_ref();
        let kname = kind_name(kind);
        if o.name.get_ref().trim().is_empty() {
            return self.err(o.name.span(), "objective name is empty".into(), None);
        }
        let allowed: &[&str] = match kind {
            RawObjectiveKind::PausedBefore => &["volume", "used"],
            RawObjectiveKind::RecoveredWithin => &["within", "when"],
            RawObjectiveKind::NoDataLoss => &[],
            RawObjectiveKind::Never => &["condition"],
            RawObjectiveKind::TimeToFirstAction => &["within"],
        };
        let present = [
            ("volume", o.volume.as_ref().map(|s| s.span())),
            ("used", o.used.as_ref().map(|s| s.span())),
            ("within", o.within.as_ref().map(|s| s.span())),
            (
                "when",
                o.when.as_ref().and_then(|w| w.first()).map(|s| s.span()),
            ),
            ("condition", o.condition.as_ref().map(|s| s.span())),
        ];
        for (key, span) in present {
            if let Some(span) = span
                && !allowed.contains(&key)
            {
                let takes = if allowed.is_empty() {
                    "nothing but name, kind and description".to_string()
                } else {
                    allowed.join(", ")
                };
                return self.err(
                    span,
                    format!("`{key}` does not apply to a {kname} objective"),
                    Some(format!("a {kname} objective takes: {takes}")),
                );
            }
        }
        let missing = |what: &str| -> LocatedError {
            self.file.error_at(
                o.kind.span(),
                format!("a {kname} objective needs `{what}`"),
                None,
            )
        };
        let within = || -> Result<(Duration, String), LocatedError> {
            let s = o.within.as_ref().ok_or_else(|| missing("within"))?;
            let d = self.duration(s)?;
            if d.is_zero() {
                return self.err(s.span(), "within must be more than 0".into(), None);
            }
            Ok((d, s.get_ref().trim().to_string()))
        };
        let (goal, default_description) = match kind {
            RawObjectiveKind::PausedBefore => {
                let volume = match &o.volume {
                    Some(v) => self.lookup(v, "volume", vol_names)?,
                    None => primary_volume.ok_or_else(|| missing("volume"))?,
                };
                let (used, text) = match &o.used {
                    Some(u) => (self.percent(u)?, u.get_ref().trim().to_string()),
                    None => (0.9, "90%".to_string()),
                };
                let vname = vol_names.get(volume).copied().unwrap_or("?");
                (
                    Goal::PausedBefore { volume, used },
                    format!("Pause the backfill before {vname} reaches {text}"),
                )
            }
            RawObjectiveKind::RecoveredWithin => {
                let (within, text) = within()?;
                let when = match &o.when {
                    Some(list) if list.is_empty() => {
                        return self.err(
                            o.kind.span(),
                            "`when` lists no condition".into(),
                            Some("e.g. when = [\"app_healthy\"]".into()),
                        );
                    }
                    Some(list) => list.iter().map(|r| *r.get_ref()).collect(),
                    None => vec![Recovery::Healthy],
                };
                let what: Vec<&str> = when.iter().map(|r: &Recovery| r.phrase()).collect();
                (
                    Goal::RecoveredWithin { within, when },
                    format!("Recover within {text}: {}", what.join(", ")),
                )
            }
            RawObjectiveKind::NoDataLoss => (
                Goal::NoDataLoss,
                "Lose no data: no failed writes, no filled column dropped without a snapshot"
                    .to_string(),
            ),
            RawObjectiveKind::Never => {
                let c = o.condition.as_ref().ok_or_else(|| missing("condition"))?;
                let h = *c.get_ref();
                (Goal::Never(h), h.phrase().to_string())
            }
            RawObjectiveKind::TimeToFirstAction => {
                let (within, text) = within()?;
                (
                    Goal::TimeToFirstAction { within },
                    format!("First action within {text}"),
                )
            }
        };
        let description = match &o.description {
            Some(d) if d.get_ref().trim().is_empty() => {
                return self.err(d.span(), "description is empty".into(), None);
            }
            Some(d) => d.get_ref().trim().to_string(),
            None => default_description,
        };
        Ok(ObjectiveSpec {
            name: o.name.get_ref().clone(),
            description,
            goal,
        })
    }

    /// `"90%"` as the ratio 0.9: more than 0 %, at most 100 %.
    fn percent(&self, s: &super::raw::S) -> Result<f64, LocatedError> {
        let t = s.get_ref().trim();
        let value = crate::units::parse_percent(t);
        match value {
            Some(v) if v > 0.0 && v <= 100.0 => Ok(v / 100.0),
            Some(v) => self.err(
                s.span(),
                format!("used must be more than 0% and at most 100%, found {v}%"),
                None,
            ),
            None => self.err(
                s.span(),
                format!("bad used: expected a percentage like \"90%\", found {t:?}"),
                None,
            ),
        }
    }
}

fn kind_name(k: RawObjectiveKind) -> &'static str {
    match k {
        RawObjectiveKind::PausedBefore => "paused_before",
        RawObjectiveKind::RecoveredWithin => "recovered_within",
        RawObjectiveKind::NoDataLoss => "no_data_loss",
        RawObjectiveKind::Never => "never",
        RawObjectiveKind::TimeToFirstAction => "time_to_first_action",
    }
}
