//! What a console asks of a run's engine, as data: in-process it goes down a channel, to a
//! runner process it goes as a request row in the store, written with its audit intent.

use serde::{Deserialize, Serialize};

use super::Verb;

/// What the console asks of the run's engine; the operator is attached by dispatch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineRequest {
    Verb {
        verb: Verb,
        by: String,
    },
    /// Confirms the manual step with this index.
    Confirm {
        step: usize,
        by: String,
    },
    /// Allows what the step in flight asked (deleting a stuck pod), with the word the
    /// responder typed.
    Answer {
        step: usize,
        typed: String,
        by: String,
    },
    /// Halve (`larger: false`) or double the batch size of the running batched step,
    /// from its next batch on.
    BatchSize {
        larger: bool,
        by: String,
    },
    /// The console is going away: pause at the next safe point and stop driving.
    Detach {
        reason: String,
    },
    /// A second person approves the request `request` that waits for approval (the
    /// policy's `needs_second_person`), with a typed reason. The runner, not the engine,
    /// takes it.
    Approve {
        request: i64,
        reason: String,
        by: String,
    },
    /// … or denies it: the request is dropped.
    Deny {
        request: i64,
        reason: String,
        by: String,
    },
    /// The requester breaks glass (the policy's `[break_glass]`): the request runs without
    /// approval, with a typed justification, once it has waited long enough.
    BreakGlass {
        request: i64,
        justification: String,
        by: String,
    },
}

impl EngineRequest {
    /// The action name it carries out, for the audit record of what became of it.
    pub fn action_name(&self) -> String {
        match self {
            EngineRequest::Verb { verb, .. } => format!("run.{}", verb.name()),
            EngineRequest::Confirm { .. } | EngineRequest::Answer { .. } => "run.confirm".into(),
            EngineRequest::BatchSize { larger: true, .. } => "run.batch.larger".into(),
            EngineRequest::BatchSize { larger: false, .. } => "run.batch.smaller".into(),
            EngineRequest::Detach { .. } => "run.detach".into(),
            EngineRequest::Approve { .. } => "approval.approve".into(),
            EngineRequest::Deny { .. } => "approval.deny".into(),
            EngineRequest::BreakGlass { .. } => "approval.break_glass".into(),
        }
    }
}
