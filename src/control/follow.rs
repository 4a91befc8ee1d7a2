//! Following a run a runner drives, through the store: its view, its events (and a drill
//! world's observations), what became of this console's requests, and who is attached.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::{Attached, Msg, Role, RunnerSeen, TeamSeen};
use crate::engine::EngineEvent;
use crate::runner::bus::{Published, runner_alive};
use crate::store::Store;
use crate::time::Timestamp;

/// How many of a run's latest events a console catches up on when it attaches.
const CATCH_UP: i64 = 400;
/// How often the team (consoles, the runner's liveness) is looked at: two statements,
/// not worth making on every change of a busy run.
const TEAM_EVERY: Duration = Duration::from_secs(3);

/// Follows `run_id` for console `console` until `out` closes. A watcher sends no
/// requests, so it does not look for their outcomes.
pub fn spawn(
    store: Store,
    run_id: String,
    console: String,
    role: Role,
    out: mpsc::Sender<Msg>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut f = Follower {
            store,
            run_id,
            console,
            role,
            failing: None,
            view: 0,
            event: 0,
            decided: 0,
            team: None,
        };
        let mut wakes = crate::runner::bus::wakes(&f.store, &f.run_id).await;
        f.event = f
            .store
            .last_run_event(&f.run_id)
            .await
            .unwrap_or(0)
            .saturating_sub(CATCH_UP)
            .max(0);
        let mut last_team = tokio::time::Instant::now() - TEAM_EVERY;
        loop {
            f.pull(&out).await;
            if out.is_closed() {
                return;
            }
            if last_team.elapsed() >= TEAM_EVERY {
                f.team(&out).await;
                last_team = tokio::time::Instant::now();
            }
            // A wake comes with every change, and at least every 2 s.
            let woke = match wakes.as_mut() {
                Some(w) => w.recv().await.is_some(),
                None => false,
            };
            if !woke {
                wakes = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    })
}

struct Follower {
    store: Store,
    run_id: String,
    console: String,
    role: Role,
    /// The store error being shown, so it is said once, and its end too.
    failing: Option<String>,
    view: i64,
    event: i64,
    decided: i64,
    team: Option<TeamSeen>,
}

impl Follower {
    /// Sends what is new; true when anything was.
    async fn pull(&mut self, out: &mpsc::Sender<Msg>) -> bool {
        let mut any = false;
        // Events before the view: a note about a pause reads before the paused view.
        loop {
            let rows = match self.store.run_events(&self.run_id, self.event, 200).await {
                Ok(r) => {
                    self.recovered(out).await;
                    r
                }
                Err(e) => {
                    self.failed(out, &e.to_string()).await;
                    return any;
                }
            };
            let n = rows.len();
            for row in rows {
                self.event = row.seq;
                any = true;
                match serde_json::from_value::<Published>(row.body) {
                    Ok(Published::Engine(ev)) => {
                        let _ = out.send(Msg::Engine(ev)).await;
                    }
                    Ok(Published::BreakGlass { by, .. }) => {
                        let _ = out.send(Msg::BreakGlass(by)).await;
                    }
                    Ok(Published::Drill(d)) => {
                        let _ = out.send(Msg::Drill(d)).await;
                    }
                    Ok(Published::Announcement { by, text }) => {
                        let _ = out.send(Msg::Announcement { by, text }).await;
                    }
                    Ok(Published::Approvals(p)) => {
                        let _ = out.send(Msg::Approvals(p)).await;
                    }
                    Ok(Published::Observations(os)) => {
                        for o in os {
                            let _ = out.send(Msg::Observation(o)).await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(seq = row.seq, error = %e, "an event this console cannot read")
                    }
                }
            }
            if n < 200 {
                break;
            }
        }
        if let Ok(Some(row)) = self.store.run_view(&self.run_id, self.view).await {
            self.view = row.version;
            any = true;
            match serde_json::from_value(row.body) {
                Ok(v) => {
                    let _ = out.send(Msg::Engine(EngineEvent::View(v))).await;
                }
                Err(e) => tracing::warn!(error = %e, "a run view this console cannot read"),
            }
        }
        if self.role == Role::Watcher {
            return any;
        }
        if let Ok(rows) = self
            .store
            .decided_requests(&self.run_id, &self.console, self.decided)
            .await
        {
            for r in rows {
                self.decided = r.id;
                any = true;
                if r.state != "applied" {
                    let verb = r.action.trim_start_matches("run.").to_string();
                    let reason = r.outcome.unwrap_or_else(|| r.state.clone());
                    let _ = out
                        .send(Msg::Engine(EngineEvent::Refused { verb, reason }))
                        .await;
                }
            }
        }
        any
    }

    /// Says on the Timeline, once, that the run cannot be followed, and why.
    async fn failed(&mut self, out: &mpsc::Sender<Msg>, why: &str) {
        tracing::warn!(error = %why, "cannot follow the run");
        if self.failing.as_deref() == Some(why) {
            return;
        }
        self.failing = Some(why.to_string());
        let note = EngineEvent::Note {
            at: Timestamp::now(),
            severity: crate::sources::Severity::Crit,
            text: format!(
                "cannot follow the run through the store: {why}; what is shown may be stale"
            ),
        };
        let _ = out.send(Msg::Engine(note)).await;
    }

    async fn recovered(&mut self, out: &mpsc::Sender<Msg>) {
        if self.failing.take().is_some() {
            let note = EngineEvent::Note {
                at: Timestamp::now(),
                severity: crate::sources::Severity::Info,
                text: "following the run through the store again".into(),
            };
            let _ = out.send(Msg::Engine(note)).await;
        }
    }

    async fn team(&mut self, out: &mpsc::Sender<Msg>) {
        let consoles = self
            .store
            .consoles(Some(&self.run_id))
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|c| Attached {
                me: c.id == self.console,
                operator: c.operator,
                host: c.host,
                role: Role::from_name(&c.role),
            })
            .collect();
        let runner = match self.store.lease(&self.run_id).await {
            Ok(Some(l)) => Some(RunnerSeen {
                alive: runner_alive(&l, Timestamp::now().0),
                holder: l.holder,
            }),
            _ => None,
        };
        let seen = TeamSeen { consoles, runner };
        if self.team.as_ref() != Some(&seen) {
            self.team = Some(seen.clone());
            let _ = out.send(Msg::Team(seen)).await;
        }
    }
}
