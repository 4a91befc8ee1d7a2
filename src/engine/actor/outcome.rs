//! How one attempt of a step ended: its effect, then its postcheck (a step whose effect is
//! in place and whose postcheck did not pass has only the postcheck evaluated again).

use std::time::Duration;

use super::Actor;
use crate::engine::actuator::{Actuators, CheckOutcome, Ended};
use crate::engine::journal::Journal;
use crate::engine::state::Landed;

/// How an attempt of a step (its effect, then its postcheck) or of its undo ended.
pub(super) enum Outcome {
    Done,
    /// Stopped inside with `landed` in place; `hold`: why a human must decide, when
    /// nobody asked it to stop (a check could not be evaluated).
    Stopped {
        at: String,
        landed: Landed,
        hold: Option<String>,
    },
    Failed {
        error: String,
        landed: Landed,
    },
}

impl<A: Actuators, J: Journal + Send> Actor<A, J> {
    /// Carries out the effect (or, for a step whose effect is in place and whose postcheck
    /// did not pass, nothing) and then the step's postcheck. An inconclusive postcheck
    /// stops the step for a human; it is no failure, so no retry or `on_failure` follows.
    pub(super) async fn outcome(
        &mut self,
        i: usize,
        undo: bool,
        key: &str,
        timeout: Option<Duration>,
    ) -> Outcome {
        let id = self.core.state.steps[i].id.clone();
        let unchecked = !undo && matches!(self.core.state.landed[i], Landed::Unchecked(_));
        if !unchecked {
            match self.effect(i, undo, key, timeout).await {
                Ok(Ended::Complete) if !undo => {}
                Ok(Ended::Complete) => return Outcome::Done,
                Ok(Ended::Interrupted { at, landed }) => {
                    return Outcome::Stopped {
                        at,
                        landed: landed.map_or(Landed::Nothing, Landed::Part),
                        hold: None,
                    };
                }
                Ok(Ended::Inconclusive(why)) => {
                    return Outcome::Stopped {
                        at: "its checks".into(),
                        landed: Landed::Nothing,
                        hold: Some(format!("inconclusive: {id}: {why}")),
                    };
                }
                Err(f) => {
                    return Outcome::Failed {
                        error: f.error,
                        landed: f.landed.map_or(Landed::Nothing, Landed::Part),
                    };
                }
            }
        }
        match self.act.postcheck(i).await {
            CheckOutcome::Pass => Outcome::Done,
            CheckOutcome::Fail(r) => Outcome::Failed {
                error: format!("postcheck failed: {r}"),
                landed: Landed::Unchecked("postcheck failed".into()),
            },
            CheckOutcome::Inconclusive(r) => Outcome::Stopped {
                at: "its postcheck".into(),
                landed: Landed::Unchecked("postcheck inconclusive".into()),
                hold: Some(format!("inconclusive: postcheck of {id}: {r}")),
            },
        }
    }
}
