//! When a pod of a rollback is taken as stuck on another revision and its deletion asked
//! for (kubernetes/kubernetes#67250): one rule for the real rollout and the drill's.

use std::time::Duration;

use super::pods::PodState;
use super::{Guide, STUCK_GRACE, wording};

/// The ask about one ordinal's pod, raised and withdrawn as the pod is seen.
#[derive(Default)]
pub struct StuckWatch {
    /// When the pod was first seen not Ready on another revision (any monotonic clock).
    since: Option<Duration>,
    /// The pod the ask is about, while it stands.
    asked: Option<PodState>,
}

impl StuckWatch {
    /// The pod the standing ask is about.
    pub fn asked(&self) -> Option<&PodState> {
        self.asked.as_ref()
    }

    /// Looks at `pod` at `now`: `true` once it is Ready on `update` (and the controller
    /// has caught up). Not Ready on another revision for `STUCK_GRACE` raises the ask
    /// (answers typed earlier do not carry over); anything else withdraws it.
    pub fn observe(
        &mut self,
        g: &mut Guide<'_>,
        pod_name: &str,
        pod: Option<&PodState>,
        update: &str,
        caught_up: bool,
        now: Duration,
    ) -> bool {
        match pod {
            Some(p) if caught_up && p.on(update) && p.ready && !p.terminating => {
                g.ask(None);
                return true;
            }
            Some(p) if caught_up && !p.on(update) && !p.ready && !p.terminating => {
                let since = *self.since.get_or_insert(now);
                if now.saturating_sub(since) >= STUCK_GRACE && self.asked.as_ref() != Some(p) {
                    while g.answers.try_recv().is_ok() {}
                    g.ask(Some((wording::stuck_ask(p), pod_name.to_string())));
                    self.asked = Some(p.clone());
                }
            }
            _ => {
                self.since = None;
                if self.asked.take().is_some() {
                    g.ask(None);
                }
            }
        }
        false
    }

    /// The pod was deleted: the ask is over and the wait starts again.
    pub fn deleted(&mut self, g: &Guide<'_>) {
        g.ask(None);
        self.asked = None;
        self.since = None;
    }
}
