//! The run's view as it reaches the console, made safe to draw once, here: pause reasons,
//! step errors and progress carry server text (a SQL error's message) and may hold escapes.

use crate::engine::{Landed, RunView, StepStatus};
use crate::text::sanitize;

/// Every free-text field of `v`, sanitized (escape sequences, controls and bidi overrides
/// shown as a mark). An ask's word is left exact: it is what the responder must type.
pub fn sanitized(mut v: RunView) -> RunView {
    let clean = |s: &mut String| *s = sanitize(s);
    if let Some(p) = v.pause.as_mut() {
        clean(&mut p.text);
        clean(&mut p.by);
    }
    v.held.as_mut().map(clean);
    v.progress.as_mut().map(clean);
    if let Some((step, f)) = v.batch.as_mut() {
        clean(step);
        f.holding.as_mut().map(clean);
    }
    if let Some(a) = v.ask.as_mut() {
        clean(&mut a.what);
    }
    for s in &mut v.steps {
        clean(&mut s.id);
        s.stopped_at.as_mut().map(clean);
        match &mut s.landed {
            Landed::Part(t) | Landed::Unchecked(t) => clean(t),
            Landed::Nothing | Landed::Whole => {}
        }
        match &mut s.status {
            StepStatus::Partial { done: t }
            | StepStatus::Unchecked { why: t }
            | StepStatus::Failed { error: t, .. }
            | StepStatus::Skipped { reason: t }
            | StepStatus::UndoFailed { error: t } => clean(t),
            _ => {}
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Direction, PauseReason, Status, StepView};

    const EVIL: &str = "boom \u{1b}]52;c;aGFja2Vk\u{7} \u{1b}[2J\u{202e}";

    #[test]
    fn server_text_in_a_view_is_sanitized_before_the_model_keeps_it() {
        let v = RunView {
            run_id: "r-1".into(),
            status: Status::Paused,
            direction: Direction::Forward,
            step_mode: false,
            pause: Some(PauseReason {
                text: format!("step a failed: {EVIL}"),
                by: "engine".into(),
            }),
            held: Some(EVIL.into()),
            progress: Some(EVIL.into()),
            batch: None,
            steps: vec![StepView {
                id: "a".into(),
                status: StepStatus::Failed {
                    error: EVIL.into(),
                    attempts: 1,
                },
                started_at: None,
                finished_at: None,
                stopped_at: Some(EVIL.into()),
                landed: Landed::Part(EVIL.into()),
            }],
            ask: None,
        };
        let clean = sanitized(v);
        let step = &clean.steps[0];
        let error = match &step.status {
            StepStatus::Failed { error, .. } => error.clone(),
            other => panic!("{other:?}"),
        };
        let landed = match &step.landed {
            Landed::Part(t) => t.clone(),
            other => panic!("{other:?}"),
        };
        let texts = [
            clean
                .pause
                .as_ref()
                .map(|p| p.text.clone())
                .unwrap_or_default(),
            clean.held.clone().unwrap_or_default(),
            clean.progress.clone().unwrap_or_default(),
            step.stopped_at.clone().unwrap_or_default(),
            error,
            landed,
        ];
        for t in &texts {
            assert!(t.contains("boom"), "{t:?}");
            assert!(!t.chars().any(crate::text::is_unsafe), "{t:?}");
        }
    }
}
