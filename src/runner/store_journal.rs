//! The journal and the drill's effect markers on the store: each record is one committed
//! row of the run's journal, keyed so the same intent can never be written twice.

use crate::engine::{Journal, PreImageLog, Record};
use crate::sim::effects::{EffectLog, SimEffect};
use crate::store::{JournalEntry, Store};
use crate::time::Timestamp;

/// The kind of the rows that mark drill-world effects.
pub const SIM_EFFECT: &str = "sim.effect";

/// The kind of the rows that keep a hosted drill's clock (the facilitator's speed and
/// freeze), so a new runner goes on at the same pace.
pub const DRILL_CLOCK: &str = "drill.clock";

/// A hosted drill's clock as the facilitator last set it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DrillClock {
    pub speed: f64,
    pub frozen: bool,
}

/// One run's journal in the store. Cheap to clone (the store is a pool).
#[derive(Clone, Debug)]
pub struct StoreJournal {
    pub store: Store,
    pub run_id: String,
    /// Step ids by index, for the `step_id` column.
    pub step_ids: Vec<String>,
}

impl Journal for StoreJournal {
    async fn append(&mut self, record: &Record) -> Result<(), String> {
        let data = serde_json::to_value(record).map_err(|e| e.to_string())?;
        let entry = JournalEntry {
            kind: record.kind().to_string(),
            step_id: record.step().and_then(|i| self.step_ids.get(i).cloned()),
            idempotency_key: record.key(),
            data,
            at: Timestamp::now().0,
        };
        self.store
            .append(&self.run_id, &entry)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl StoreJournal {
    /// Journals the drill's clock as the facilitator set it.
    pub async fn record_clock(&self, clock: DrillClock) -> Result<(), String> {
        self.append_row(DRILL_CLOCK, None, &clock).await
    }

    /// Appends one row of `kind` that is not an engine record (no step).
    async fn append_row(
        &self,
        kind: &str,
        key: Option<String>,
        data: &impl serde::Serialize,
    ) -> Result<(), String> {
        let entry = JournalEntry {
            kind: kind.to_string(),
            step_id: None,
            idempotency_key: key,
            data: serde_json::to_value(data).map_err(|e| e.to_string())?,
            at: Timestamp::now().0,
        };
        self.store
            .append(&self.run_id, &entry)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl EffectLog for StoreJournal {
    async fn record(&mut self, effect: &SimEffect) -> Result<(), String> {
        self.append_row(SIM_EFFECT, Some(effect.key.clone()), effect)
            .await
    }

    async fn contains(&mut self, key: &str) -> Result<bool, String> {
        let rows = self
            .store
            .journal(&self.run_id)
            .await
            .map_err(|e| e.to_string())?;
        Ok(rows
            .iter()
            .any(|r| r.kind == SIM_EFFECT && r.idempotency_key.as_deref() == Some(key)))
    }
}

impl PreImageLog for StoreJournal {
    async fn keep_pre_image(
        &mut self,
        step: usize,
        key: &str,
        data: &serde_json::Value,
    ) -> Result<(), String> {
        let record = Record::PreImage {
            step,
            key: key.to_string(),
            data: data.clone(),
        };
        Journal::append(self, &record).await
    }
}

/// A run's journal as read back: its records in order with the store's seq of each, and
/// the drill world's effects.
pub struct Loaded {
    pub records: Vec<Record>,
    pub seqs: Vec<i64>,
    pub effects: Vec<SimEffect>,
    /// The drill's clock as last journaled, when a facilitator set it.
    pub clock: Option<DrillClock>,
}

/// Reads a run's records and effects back from the store, in order.
pub async fn load(store: &Store, run_id: &str) -> Result<Loaded, String> {
    let rows = store.journal(run_id).await.map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    let mut seqs = Vec::new();
    let mut effects = Vec::new();
    let mut clock = None;
    for r in rows {
        if r.kind == DRILL_CLOCK {
            clock = Some(
                serde_json::from_value(r.data)
                    .map_err(|e| format!("journal row {}: {e}", r.seq))?,
            );
        } else if r.kind == SIM_EFFECT {
            effects.push(
                serde_json::from_value(r.data)
                    .map_err(|e| format!("journal row {}: {e}", r.seq))?,
            );
        } else {
            records.push(
                serde_json::from_value(r.data)
                    .map_err(|e| format!("journal row {}: {e}", r.seq))?,
            );
            seqs.push(r.seq);
        }
    }
    Ok(Loaded {
        records,
        seqs,
        effects,
        clock,
    })
}
