//! The runner's loop: takes a run's requests from the store in order, checks and applies
//! them, publishes the run's view (≤ 10 a second) and events, and acts on `on_detach`.

use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::audit::EngineAudit;
use super::bus::{PendingApproval, Published};
use super::session::RunHandle;
use crate::audit::{EntryKind, NewRecord};
use crate::engine::{Command, EngineEvent, EngineRequest, RunView, Status, Verb};
use crate::plan::OnDetach;
use crate::policy::{Decision, Identity};
use crate::sources::Observation;
use crate::store::{ConsoleRow, RequestRow, Store};
use crate::time::Timestamp;

/// The run-view row is written at most this many times in any second.
pub const VIEWS_PER_SECOND: usize = 10;
/// How often a drill world's figures are published, as one batch.
const OBSERVATION_EVERY: Duration = Duration::from_millis(900);
/// How long a changed view may settle before it is written.
const VIEW_SETTLE: Duration = Duration::from_millis(20);
/// A console that has not said it is there for this long is taken as lost.
pub const CONSOLE_LOST_AFTER: Duration = Duration::from_secs(20);
/// How often consoles are looked at with nothing else happening.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// A finished (or never started) run's runner leaves once no console has been attached
/// for this long; `ebb resume` brings one back (for a rollback, say).
const IDLE_EXIT: Duration = Duration::from_secs(60);

/// What became of a request.
enum Taken {
    /// Applied; the text adds how (after approval, or an approval counted).
    Applied(String),
    Refused(String),
    /// Held until this many approvers approve it; it stays pending in the store.
    Awaiting(u32),
}

impl Taken {
    fn state(&self) -> Option<&'static str> {
        match self {
            Taken::Applied(_) => Some("applied"),
            Taken::Refused(_) => Some("refused"),
            Taken::Awaiting(_) => None,
        }
    }
}

/// Everything the runner's loop works with.
pub struct Hosted {
    pub store: Store,
    pub run_id: String,
    pub handle: RunHandle,
    pub events: mpsc::Receiver<EngineEvent>,
    pub audit: EngineAudit,
    pub on_detach: OnDetach,
    /// A drill world's observations, published for the consoles' panes.
    pub observations: Option<mpsc::Receiver<Observation>>,
    /// `operator@host:pid`, as in the lease.
    pub holder: String,
    /// The drill world this runner hosts, for the facilitator's requests.
    pub drill: Option<super::drill::DrillHost>,
}

/// Hosts the run until its engine stops; returns the run's last status.
pub async fn host(h: Hosted) -> Status {
    let Hosted {
        store,
        run_id,
        handle,
        mut events,
        audit,
        on_detach,
        mut observations,
        holder,
        drill,
    } = h;
    let mut r = Runner {
        store: store.clone(),
        run_id,
        handle,
        audit,
        on_detach,
        holder,
        last_request: 0,
        view: None,
        view_dirty: false,
        dirty_since: Instant::now(),
        written: std::collections::VecDeque::new(),
        batch: Vec::new(),
        batch_at: Instant::now(),
        status: Status::NotStarted,
        drivers_seen: false,
        alone_since: Some(Instant::now()),
        gate: super::gate::Gate::default(),
        drill,
    };
    // Without a feed, the one-second look below still takes requests.
    let mut wakes = super::bus::wakes(&store, &r.run_id).await;
    r.note("runner started", crate::sources::Severity::Info)
        .await;
    let mut look = tokio::time::interval(LOOK_EVERY);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut observations_open = observations.is_some();
    loop {
        let view_due = r.view_due();
        let batch_due = r.batch_at + OBSERVATION_EVERY;
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ev) => {
                    let exited = matches!(ev, EngineEvent::Exited { .. });
                    r.engine_event(ev).await;
                    if exited {
                        break;
                    }
                }
                None => break,
            },
            o = recv_opt(&mut observations), if observations_open => match o {
                Some(o) => r.observation(o),
                None => observations_open = false,
            },
            w = recv_opt(&mut wakes) => match w {
                Some(()) => r.take_requests().await,
                None => wakes = None,
            },
            _ = look.tick() => {
                r.expire().await;
                r.take_requests().await;
                if r.look_at_consoles().await {
                    break;
                }
            }
            _ = tokio::time::sleep_until(view_due), if r.view_dirty => r.flush_view().await,
            _ = tokio::time::sleep_until(batch_due), if !r.batch.is_empty() => r.flush_batch().await,
        }
    }
    r.flush_view().await;
    // The actor has stopped (finished and left, detached, or lost its lease).
    r.status
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

struct Runner {
    store: Store,
    run_id: String,
    handle: RunHandle,
    audit: EngineAudit,
    on_detach: OnDetach,
    holder: String,
    last_request: i64,
    view: Option<RunView>,
    view_dirty: bool,
    /// When the unwritten view first changed.
    dirty_since: Instant,
    /// When the view was written in the last second (at most VIEWS_PER_SECOND).
    written: std::collections::VecDeque<Instant>,
    /// A drill world's figures waiting to be published together: the newest of each
    /// source and kind, and every event.
    batch: Vec<Observation>,
    batch_at: Instant,
    status: Status,
    /// Whether a driving console has been attached (seen, or its request applied) since
    /// the last time none was.
    drivers_seen: bool,
    /// Since when no console at all has been attached.
    alone_since: Option<Instant>,
    /// The policy in force and the requests that wait for approval.
    gate: super::gate::Gate,
    drill: Option<super::drill::DrillHost>,
}

impl Runner {
    async fn engine_event(&mut self, ev: EngineEvent) {
        if let Err(why) = self.audit.record(&ev).await {
            tracing::error!(error = %why, "the runner cannot write the audit log");
        }
        match ev {
            EngineEvent::View(v) => {
                let finished = matches!(v.status, Status::Finished(_));
                if finished
                    && !matches!(self.status, Status::Finished(_))
                    && let Some(d) = self.drill.as_mut()
                {
                    // The drill is over: its objectives are scored for good.
                    d.finish();
                }
                self.status = v.status;
                self.view = Some(v);
                if !self.view_dirty {
                    self.view_dirty = true;
                    self.dirty_since = Instant::now();
                }
            }
            // Consoles read events before the view, at every wake.
            other => self.publish(Published::Engine(other)).await,
        }
    }

    /// When the changed view is to be written: once it has settled a moment (a pausing
    /// view followed at once by the paused one is one write), and never more than
    /// VIEWS_PER_SECOND times in any second.
    fn view_due(&self) -> Instant {
        view_due(&self.written, self.dirty_since)
    }

    async fn flush_view(&mut self) {
        if !self.view_dirty {
            return;
        }
        let Some(v) = &self.view else { return };
        let body = match serde_json::to_value(v) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode the run view");
                return;
            }
        };
        match self
            .store
            .put_run_view(&self.run_id, Timestamp::now().0, &body)
            .await
        {
            Ok(_) => self.view_dirty = false,
            Err(e) => tracing::warn!(error = %e, "cannot publish the run view"),
        }
        let now = Instant::now();
        self.written.push_back(now);
        while self
            .written
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.written.pop_front();
        }
    }

    async fn publish(&self, p: Published) {
        let body = match serde_json::to_value(&p) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a run event");
                return;
            }
        };
        if let Err(e) = self
            .store
            .push_run_event(&self.run_id, Timestamp::now().0, &body)
            .await
        {
            tracing::warn!(error = %e, "cannot publish a run event");
        }
    }

    async fn note(&self, text: &str, severity: crate::sources::Severity) {
        self.publish(Published::Engine(EngineEvent::Note {
            at: Timestamp::now(),
            severity,
            text: text.to_string(),
        }))
        .await;
    }

    /// A drill world's observation, into the next batch: the newest figure of each source
    /// and kind (an older one in the batch is replaced), and every event and error.
    fn observation(&mut self, o: Observation) {
        let kind = figure_kind(&o.payload);
        if let Some(kind) = kind
            && let Some(slot) = self
                .batch
                .iter_mut()
                .find(|b| b.source == o.source && figure_kind(&b.payload) == Some(kind))
        {
            *slot = o;
            return;
        }
        if self.batch.is_empty() {
            self.batch_at = Instant::now();
        }
        self.batch.push(o);
    }

    /// Publishes the batch as one event: one wake for every console, about once a second.
    async fn flush_batch(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.batch_at = Instant::now();
        if !batch.is_empty() {
            self.publish(Published::Observations(batch)).await;
        }
        if let Some(p) = self.drill.as_mut().and_then(|d| d.moved()) {
            self.publish(p).await;
        }
    }

    /// Takes the run's pending requests in order: checks, applies and records each.
    async fn take_requests(&mut self) {
        let rows = match self
            .store
            .pending_requests(&self.run_id, self.last_request)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read requests");
                return;
            }
        };
        if rows.is_empty() {
            return;
        }
        let consoles = self
            .store
            .consoles(Some(&self.run_id))
            .await
            .unwrap_or_default();
        if let Err(e) = self.gate.refresh(&self.store).await {
            tracing::warn!(error = %e, "cannot read the policy");
        }
        for row in rows {
            self.last_request = row.id;
            let taken = if row.action.starts_with("drill.") {
                self.facilitate(&row, &consoles).await
            } else {
                match self.check(&row, &consoles).await {
                    Err(why) => Taken::Refused(why),
                    Ok(req) => self.take(&row, req).await,
                }
            };
            let outcome = match &taken {
                Taken::Applied(how) => format!("applied by the runner {}{how}", self.holder),
                Taken::Refused(why) => format!("refused: {why}"),
                Taken::Awaiting(n) => {
                    format!("awaits approval by {n} approver(s), not the requester")
                }
            };
            if let Some(state) = taken.state() {
                self.decide(&row, state, &outcome).await;
            }
            self.record(&row, &outcome, json!({})).await;
        }
    }

    /// Marks a request applied or refused in the store.
    async fn decide(&self, row: &RequestRow, state: &str, outcome: &str) {
        let at = Timestamp::now().0;
        if let Err(e) = self.store.decide_request(row.id, state, outcome, at).await {
            tracing::warn!(error = %e, request = row.id, "cannot record a request's outcome");
        }
    }

    /// The audit record of what became of a request, naming it and its intent.
    async fn record(&self, row: &RequestRow, outcome: &str, extra: serde_json::Value) {
        let mut rec = NewRecord::outcome(&row.action, outcome);
        rec.run_id = Some(self.run_id.clone());
        rec.args = json!({
            "request": row.id,
            "intent_seq": row.audit_seq,
            "console": row.console,
            "requested_by": row.operator,
        });
        if let (Some(args), Some(more)) = (rec.args.as_object_mut(), extra.as_object()) {
            args.extend(more.clone());
        }
        let _ = self.audit.append(rec).await;
    }

    /// A checked request under the policy: applied, refused, held for approval, or (an
    /// approval) counted toward the request it approves.
    async fn take(&mut self, row: &RequestRow, req: EngineRequest) -> Taken {
        let (who, _) = match super::gate::requester(&self.store, row).await {
            Ok(w) => w,
            Err(why) => return Taken::Refused(why),
        };
        match self.gate.decide(&who, &row.action) {
            Decision::Deny { reason } => return Taken::Refused(reason),
            Decision::NeedsApproval { approvals } => {
                let now = Timestamp::now().0;
                let reason = match &req {
                    EngineRequest::Verb { verb, .. } => verb.reason().unwrap_or_default(),
                    _ => String::new(),
                };
                self.gate.awaiting.push(super::gate::Awaiting {
                    row: row.clone(),
                    requester: who.clone(),
                    pending: PendingApproval {
                        request: row.id,
                        requester: who.user.clone(),
                        action: row.action.clone(),
                        reason,
                        needed: approvals,
                        approved_by: Vec::new(),
                        since: now,
                        expires: now + self.gate.timeout_ms(),
                    },
                });
                self.publish_approvals().await;
                return Taken::Awaiting(approvals);
            }
            Decision::Allow => {}
        }
        match req {
            EngineRequest::Approve {
                request, reason, ..
            } => self.approve(request, &who, &reason).await,
            EngineRequest::Deny {
                request, reason, ..
            } => self.deny(request, &who, &reason).await,
            EngineRequest::BreakGlass {
                request,
                justification,
                ..
            } => self.break_glass(request, &who, &justification).await,
            req => match self.apply(req).await {
                Ok(()) => {
                    self.drivers_seen = true;
                    self.responders_acted(row).await;
                    Taken::Applied(String::new())
                }
                Err(why) => Taken::Refused(why),
            },
        }
    }

    /// A responder's run control reached the engine: on a drill, it counts for the score
    /// (`time_to_first_action`), journaled like any change to the world.
    async fn responders_acted(&mut self, row: &RequestRow) {
        if let Some(d) = self.drill.as_mut() {
            let control = crate::sim::world::WorldControl::NoteAction {
                action: row.action.clone(),
            };
            if let Err(e) = d.change(format!("action-{}", row.id), control).await {
                tracing::warn!(error = %e, "cannot note a responder's action in the drill world");
            }
        }
    }

    async fn publish_approvals(&self) {
        self.publish(Published::Approvals(self.gate.pending()))
            .await;
    }

    /// An approval of request `id`: counted when the approver is not its requester; the
    /// request is applied once it has enough.
    async fn approve(&mut self, id: i64, approver: &Identity, reason: &str) -> Taken {
        let Some(i) = self.gate.awaiting.iter().position(|a| a.row.id == id) else {
            return Taken::Refused(format!("request {id} does not wait for approval"));
        };
        let a = &mut self.gate.awaiting[i];
        if a.requester.user == approver.user {
            return Taken::Refused(
                "approving your own request is refused: another approver must".into(),
            );
        }
        if a.pending.approved_by.contains(&approver.user) {
            return Taken::Refused(format!("{} approved request {id} already", approver.user));
        }
        a.pending.approved_by.push(approver.user.clone());
        let (got, needed) = (a.pending.approved_by.len() as u32, a.pending.needed);
        if got < needed {
            self.publish_approvals().await;
            return Taken::Applied(format!(" (approval {got} of {needed} for request {id})"));
        }
        let a = self.gate.awaiting.remove(i);
        self.publish_approvals().await;
        let by = a.pending.approved_by.join(", ");
        let applied = match serde_json::from_value::<EngineRequest>(a.row.body.clone()) {
            Ok(req) => self.apply(req).await,
            Err(e) => Err(format!("a request this runner cannot read: {e}")),
        };
        let (state, outcome) = match applied {
            Ok(()) => (
                "applied",
                format!(
                    "applied by the runner {} after approval by {by} ({reason})",
                    self.holder
                ),
            ),
            Err(why) => ("refused", format!("refused after approval by {by}: {why}")),
        };
        self.decide(&a.row, state, &outcome).await;
        self.record(
            &a.row,
            &outcome,
            json!({ "approved_by": a.pending.approved_by, "approval_reason": reason }),
        )
        .await;
        Taken::Applied(format!(" (approved request {id})"))
    }

    /// The requester breaks glass on request `id`: allowed by the policy, and only once it
    /// has waited `after`; it then runs without approval, loudly and on record.
    async fn break_glass(&mut self, id: i64, who: &Identity, justification: &str) -> Taken {
        let Some(i) = self.gate.awaiting.iter().position(|a| a.row.id == id) else {
            return Taken::Refused(format!("request {id} does not wait for approval"));
        };
        let after = match self.gate.break_glass_after(who) {
            Ok(after) => after,
            Err(why) => return Taken::Refused(why),
        };
        let a = &self.gate.awaiting[i];
        if a.requester.user != who.user {
            return Taken::Refused(format!(
                "only its requester, {}, may break glass on request {id}",
                a.requester.user
            ));
        }
        let waited = Timestamp::now().0 - a.pending.since;
        if waited < after.as_millis() as i64 {
            return Taken::Refused(format!(
                "break glass only after the request has waited {} (it has waited {} s)",
                crate::units::fmt_duration(after),
                waited / 1000
            ));
        }
        let a = self.gate.awaiting.remove(i);
        self.publish_approvals().await;
        let applied = match serde_json::from_value::<EngineRequest>(a.row.body.clone()) {
            Ok(req) => self.apply(req).await,
            Err(e) => Err(format!("a request this runner cannot read: {e}")),
        };
        let (state, outcome) = match applied {
            Ok(()) => (
                "applied",
                format!(
                    "applied by the runner {}: BREAK GLASS by {}: {justification}",
                    self.holder, who.user
                ),
            ),
            Err(why) => (
                "refused",
                format!("refused after break glass by {}: {why}", who.user),
            ),
        };
        self.decide(&a.row, state, &outcome).await;
        self.record(
            &a.row,
            &outcome,
            json!({ "break_glass": true, "break_glass_by": who.user, "justification": justification }),
        )
        .await;
        self.publish(Published::BreakGlass {
            by: who.user.clone(),
            request: id,
            justification: justification.to_string(),
        })
        .await;
        Taken::Applied(format!(" (broke glass on request {id})"))
    }

    /// A denial of request `id`: the request is dropped.
    async fn deny(&mut self, id: i64, approver: &Identity, reason: &str) -> Taken {
        let Some(i) = self.gate.awaiting.iter().position(|a| a.row.id == id) else {
            return Taken::Refused(format!("request {id} does not wait for approval"));
        };
        if self.gate.awaiting[i].requester.user == approver.user {
            return Taken::Refused(
                "denying your own request is refused: another approver must".into(),
            );
        }
        let a = self.gate.awaiting.remove(i);
        self.publish_approvals().await;
        let outcome = format!("refused: denied by {}: {reason}", approver.user);
        self.decide(&a.row, "refused", &outcome).await;
        self.record(
            &a.row,
            &outcome,
            json!({ "denied_by": approver.user, "denial_reason": reason }),
        )
        .await;
        Taken::Applied(format!(" (denied request {id})"))
    }

    /// Requests that waited for approval longer than the policy's timeout are dropped.
    async fn expire(&mut self) {
        let now = Timestamp::now().0;
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.gate.awaiting)
            .into_iter()
            .partition(|a| a.pending.expires <= now);
        self.gate.awaiting = kept;
        if gone.is_empty() {
            return;
        }
        self.publish_approvals().await;
        for a in gone {
            let outcome = format!(
                "refused: expired, no approval within {} s",
                (a.pending.expires - a.pending.since) / 1000
            );
            self.decide(&a.row, "refused", &outcome).await;
            self.record(&a.row, &outcome, json!({ "expired": true }))
                .await;
        }
    }

    /// Whether the request may be applied: its console drives the run, and this runner
    /// still holds the run's lease. Roles come with the policy.
    async fn check(
        &self,
        row: &RequestRow,
        consoles: &[ConsoleRow],
    ) -> Result<EngineRequest, String> {
        match consoles.iter().find(|c| c.id == row.console) {
            Some(c) if c.role == "watcher" => {
                return Err("the console that sent it only watches the run".into());
            }
            Some(c) if c.role == "facilitator" => {
                return Err("a facilitator's console drives the drill's world, not its run".into());
            }
            Some(_) => {}
            None => return Err("the console that sent it is not attached to the run".into()),
        }
        match self.store.lease(&self.run_id).await {
            Ok(Some(l)) if l.holder == self.holder => {}
            Ok(_) => return Err("this runner no longer holds the run's lease".into()),
            Err(e) => return Err(format!("cannot read the run's lease: {e}")),
        }
        serde_json::from_value(row.body.clone())
            .map_err(|e| format!("a request this runner cannot read: {e}"))
    }

    /// A facilitator's request (`drill.*`): from an attached console that may drive the
    /// world (a facilitator's; the clock also from a driver's when no policy is in force),
    /// allowed by the policy, on a drill this runner hosts.
    async fn facilitate(&mut self, row: &RequestRow, consoles: &[ConsoleRow]) -> Taken {
        use crate::sim::facilitate::FacilitatorRequest;
        let role = match consoles.iter().find(|c| c.id == row.console) {
            Some(c) => c.role.clone(),
            None => {
                return Taken::Refused(
                    "the console that sent it is not attached to the run".into(),
                );
            }
        };
        let req: FacilitatorRequest = match serde_json::from_value(row.body.clone()) {
            Ok(r) => r,
            Err(e) => return Taken::Refused(format!("a request this runner cannot read: {e}")),
        };
        let clock = matches!(
            req,
            FacilitatorRequest::Speed { .. } | FacilitatorRequest::Freeze { .. }
        );
        match role.as_str() {
            "facilitator" => {}
            "driver" if clock && !self.gate.has_policy() => {}
            _ => {
                return Taken::Refused(
                    "only a facilitator's console changes the drill's world (`ebb attach RUN --facilitate`)".into(),
                );
            }
        }
        match self.store.lease(&self.run_id).await {
            Ok(Some(l)) if l.holder == self.holder => {}
            Ok(_) => return Taken::Refused("this runner no longer holds the run's lease".into()),
            Err(e) => return Taken::Refused(format!("cannot read the run's lease: {e}")),
        }
        let (who, _) = match super::gate::requester(&self.store, row).await {
            Ok(w) => w,
            Err(why) => return Taken::Refused(why),
        };
        match self.gate.decide(&who, &row.action) {
            Decision::Allow => {}
            Decision::Deny { reason } => return Taken::Refused(reason),
            Decision::NeedsApproval { .. } => {
                return Taken::Refused("a facilitator's action is never held for approval".into());
            }
        }
        let Some(drill) = self.drill.as_mut() else {
            return Taken::Refused("this run has no drill world".into());
        };
        match drill.take(row.id, req, &who.user).await {
            Ok(published) => {
                for p in published {
                    self.publish(p).await;
                }
                Taken::Applied(String::new())
            }
            Err(why) => Taken::Refused(why),
        }
    }

    async fn apply(&self, req: EngineRequest) -> Result<(), String> {
        if let EngineRequest::Detach { .. } = req {
            return Err("a console cannot detach the runner; it detaches itself".into());
        }
        self.handle.deliver(req)
    }

    /// Marks silent consoles lost, and acts on `on_detach` when the last driving console
    /// goes. True when the runner should stop (a settled run nobody is attached to).
    async fn look_at_consoles(&mut self) -> bool {
        let Ok(consoles) = self.store.consoles(Some(&self.run_id)).await else {
            return false;
        };
        let now = Timestamp::now().0;
        let lost_before = now - CONSOLE_LOST_AFTER.as_millis() as i64;
        let mut drivers = 0;
        let mut attached = 0;
        for c in &consoles {
            if c.seen_at < lost_before {
                let how = format!("lost: no heartbeat for {} s", CONSOLE_LOST_AFTER.as_secs());
                let _ = self.store.detach_console(&c.id, now, &how).await;
                let rec = NewRecord {
                    kind: EntryKind::Engine,
                    action: Some("console.lost".into()),
                    run_id: Some(self.run_id.clone()),
                    outcome: Some(how),
                    args: json!({ "console": c.id, "operator": c.operator, "host": c.host, "pid": c.pid }),
                    ..NewRecord::default()
                };
                let _ = self.audit.append(rec).await;
                continue;
            }
            attached += 1;
            if c.role == "driver" {
                drivers += 1;
            }
        }
        // A driver that came and went between two looks still counts: it was seen when
        // its request was applied.
        if drivers > 0 {
            self.drivers_seen = true;
        } else if self.drivers_seen {
            self.drivers_seen = false;
            self.on_last_driver_gone().await;
        }
        if attached > 0 {
            self.alone_since = None;
        } else if self.alone_since.is_none() {
            self.alone_since = Some(Instant::now());
        }
        let settled = matches!(self.status, Status::Finished(_) | Status::NotStarted);
        let idle = self.alone_since.is_some_and(|t| t.elapsed() >= IDLE_EXIT);
        if settled && idle {
            self.note(
                "no console attached to a settled run: the runner leaves (`ebb resume` brings one back)",
                crate::sources::Severity::Info,
            )
            .await;
            let _ = self
                .handle
                .cmds
                .send(Command::Detach {
                    reason: "no console attached".into(),
                })
                .await;
        }
        false
    }

    async fn on_last_driver_gone(&mut self) {
        let active = matches!(self.status, Status::Running | Status::Pausing);
        let text = match (self.on_detach, active) {
            (OnDetach::Pause, true) => {
                "every driving console left: pausing at the next safe point (on_detach = \"pause\")"
            }
            (OnDetach::Continue, true) => {
                "every driving console left: the run goes on (on_detach = \"continue\"); manual steps and asks wait for someone to attach"
            }
            (_, false) => "every driving console left; the run waits for someone to attach",
        };
        self.note(text, crate::sources::Severity::Warn).await;
        let mut rec = NewRecord::outcome("run.on_detach", text);
        rec.kind = EntryKind::Engine;
        rec.run_id = Some(self.run_id.clone());
        rec.args = json!({ "on_detach": self.on_detach.name() });
        let _ = self.audit.append(rec).await;
        if self.on_detach == OnDetach::Pause && active {
            let _ = self
                .handle
                .cmds
                .send(Command::Verb {
                    verb: Verb::Pause,
                    by: "on_detach".into(),
                })
                .await;
        }
    }
}

/// Which figure an observation carries; `None` for events and errors (never replaced).
fn figure_kind(p: &crate::sources::Payload) -> Option<&'static str> {
    use crate::sources::Payload;
    match p {
        Payload::Replication(_) => Some("replication"),
        Payload::Storage(_) => Some("storage"),
        Payload::Migrations(_) => Some("migrations"),
        Payload::App(_) => Some("app"),
        Payload::Kube(_) => Some("kube"),
        Payload::Objectives(_) => Some("objectives"),
        Payload::Events(_) | Payload::Error(_) => None,
    }
}

/// When a view that changed at `dirty_since` may be written, given the writes of the last
/// second (oldest first).
fn view_due(written: &std::collections::VecDeque<Instant>, dirty_since: Instant) -> Instant {
    let settled = dirty_since + VIEW_SETTLE;
    match written.front() {
        Some(oldest) if written.len() >= VIEWS_PER_SECOND => {
            settled.max(*oldest + Duration::from_secs(1))
        }
        _ => settled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_settles_then_is_written_at_most_ten_times_a_second() {
        let t0 = Instant::now();
        let mut written = std::collections::VecDeque::new();
        // Nothing written lately: only the settle.
        assert_eq!(view_due(&written, t0), t0 + VIEW_SETTLE);
        for i in 0..VIEWS_PER_SECOND as u64 {
            written.push_back(t0 + Duration::from_millis(10 * i));
        }
        // Ten in the last second: the next waits until the oldest is a second old.
        let dirty = t0 + Duration::from_millis(200);
        assert_eq!(view_due(&written, dirty), t0 + Duration::from_secs(1));
        written.pop_front();
        assert_eq!(view_due(&written, dirty), dirty + VIEW_SETTLE);
    }
}
