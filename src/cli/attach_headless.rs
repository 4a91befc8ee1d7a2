//! `ebb attach RUN --headless` and `ebb watch RUN --headless`: a console on a run a runner
//! drives, without a terminal: followed events as lines on stdout, control lines on stdin.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use miette::{IntoDiagnostic, Report};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::headless::{Line, parse_line};
use crate::action::Action;
use crate::app::intent::Intent;
use crate::app::{
    ActionSource, Cmd, EngineRequest, Model, Msg, PendingApproval, Role, Team, update,
};
use crate::config::keymap::Keymap;
use crate::control::{AUDIT_BACK, BusLink, Delivery, Recorder};
use crate::engine::{Ask, EngineEvent, Status};
use crate::store::NewRequest;
use crate::text::{DisplayText, sanitize};
use crate::time::Timestamp;

/// What is printed and what was last printed of it.
struct Printer {
    json: bool,
    status: Option<Status>,
    ask: Option<Ask>,
    approvals: BTreeMap<i64, PendingApproval>,
}

impl Printer {
    fn json_line(&self, v: &serde_json::Value) {
        println!("{v}");
    }

    fn event(&mut self, ev: &EngineEvent) {
        if let EngineEvent::View(v) = ev {
            // Views repeat while a step is in flight: one line per change of status.
            let changed = self.status != Some(v.status);
            self.status = Some(v.status);
            if changed {
                if self.json {
                    self.json_line(&json!({ "View": v }));
                } else {
                    let mut line =
                        format!("state {}", crate::runner::session::status_word(v.status));
                    if let (Status::Paused, Some(p)) = (v.status, &v.pause) {
                        line.push_str(&format!(" ({} by {})", sanitize(&p.text), sanitize(&p.by)));
                    }
                    println!("{line}");
                }
            }
            self.ask_of(v.ask.as_ref());
            return;
        }
        if self.json {
            if let Ok(v) = serde_json::to_value(ev) {
                self.json_line(&v);
            }
            return;
        }
        // Text from servers and other consoles is sanitized before it reaches a terminal.
        match ev {
            EngineEvent::Note { at, severity, text } => println!(
                "{} {:<5} {}",
                at.rfc3339(),
                format!("{severity:?}").to_lowercase(),
                sanitize(text)
            ),
            EngineEvent::Refused { verb, reason } => {
                println!("refused {}: {}", sanitize(verb), sanitize(reason))
            }
            EngineEvent::Exited { status } => {
                println!("exited {}", crate::runner::session::status_word(*status))
            }
            EngineEvent::View(_) => {}
        }
    }

    /// An actuator's ask when it appears, with the line that answers it.
    fn ask_of(&mut self, ask: Option<&Ask>) {
        if self.ask.as_ref() == ask {
            return;
        }
        self.ask = ask.cloned();
        let Some(ask) = ask else { return };
        if self.json {
            self.json_line(&json!({ "Ask": ask }));
        } else {
            let (what, word) = (DisplayText::new(&ask.what), DisplayText::new(&ask.word));
            println!(
                "ask {}; to allow it: confirm {}",
                what.as_str(),
                word.as_str()
            );
        }
    }

    /// Each request that waits for approval, when it appears or changes; and its end.
    fn approvals(&mut self, list: &[PendingApproval]) {
        for p in list {
            if self.approvals.get(&p.request) == Some(p) {
                continue;
            }
            self.approvals.insert(p.request, p.clone());
            if self.json {
                self.json_line(&json!({ "Approval": p }));
                continue;
            }
            let left = (p.needed as usize).saturating_sub(p.approved_by.len());
            let mut needs = format!("needs {left}");
            if !p.approved_by.is_empty() {
                needs.push_str(&format!("; approved by {}", p.approved_by.join(", ")));
            }
            println!(
                "approval {}: {} ({}); answer: approve {} REASON | deny {} REASON",
                p.request,
                sanitize(&p.asks()),
                sanitize(&needs),
                p.request,
                p.request
            );
        }
        let gone: Vec<i64> = self
            .approvals
            .keys()
            .filter(|id| !list.iter().any(|p| p.request == **id))
            .copied()
            .collect();
        for id in gone {
            self.approvals.remove(&id);
            if self.json {
                self.json_line(&json!({ "ApprovalGone": { "request": id } }));
            } else {
                println!("approval {id}: no longer waits");
            }
        }
    }
}

/// How the session ended.
enum End {
    /// `detach`/`quit`, or stdin closed: how, for the record.
    Detached(&'static str),
    Signal(&'static str),
}

/// A headless console attached to run `run_id` as `role`, until stdin closes, a `detach`
/// line, or a signal. Exit 0; 6 when the audit log cannot be opened; 5 when the session
/// could not be sealed; 129/130/143 on a signal.
pub fn console_headless(
    run_id: &str,
    role: Role,
    store_spec: &str,
    cfg: &crate::config::Config,
    annotation: Option<&str>,
    json: bool,
) -> Result<ExitCode, Report> {
    let operator = super::identity::operator(annotation);
    let rt = super::setup::runtime()?;
    rt.block_on(async {
        let (store, row, plan) = super::attach::open_run(store_spec, run_id).await?;
        let log = match super::drill::open_audit(&store, annotation).await {
            Ok(log) => log,
            Err(why) => {
                if json {
                    println!("{}", json!({ "AuditDown": { "reason": why } }));
                } else {
                    println!("AUDIT DOWN: {}", DisplayText::new(&why).as_str());
                }
                eprintln!("ebb: the audit log cannot be written, so no run control: {why}");
                store.close().await;
                return Ok(ExitCode::from(super::EXIT_AUDIT_DOWN));
            }
        };
        let mut model = super::attach::model_for(&row, &plan, &operator)?;
        model.operator_annotation = annotation.map(str::to_string);
        model.team = Some(Team::new(role, plan.on_detach.name()));
        model.runnable = true;
        let console = log.session().to_string();
        let mut rec = Recorder::attached(Ok(log), Some(plan.digest().to_string()));
        let presence =
            crate::control::presence::Presence::attach(&store, &console, run_id, &operator, role)
                .await
                .map_err(|e| miette::miette!("cannot attach to run {run_id}: {e}"))?;
        rec.presence(
            "console.attach",
            run_id,
            json!({ "role": role.name(), "console": console, "headless": true,
                "host": crate::audit::record::hostname(), "pid": std::process::id() }),
        )
        .await;
        let (follow_tx, follow_rx) = mpsc::channel(512);
        let follower = crate::control::follow::spawn(
            store.clone(),
            run_id.to_string(),
            console.clone(),
            role,
            follow_tx,
        );
        eprintln!(
            "ebb: attached to run {run_id} as {}; control lines on stdin, `detach` leaves",
            role.name()
        );
        let link = BusLink {
            run_id: run_id.to_string(),
            console: console.clone(),
            role,
        };
        let printer = Printer {
            json,
            status: None,
            ask: None,
            approvals: BTreeMap::new(),
        };
        let end = follow(model, &cfg.keymap, &mut rec, &link, follow_rx, printer).await;
        follower.abort();
        let end = end.into_diagnostic()?;
        let how = match &end {
            End::Detached(_) => "detached".to_string(),
            End::Signal(name) => format!("lost: {name}"),
        };
        presence.leave(&how).await;
        if let End::Detached(via) = &end {
            rec.presence(
                "console.detach",
                run_id,
                json!({ "console": console, "via": via }),
            )
            .await;
        }
        rec.close().await;
        store.close().await;
        Ok(match end {
            _ if rec.unsealed().is_some() => ExitCode::from(super::EXIT_UNSEALED),
            End::Detached(_) => ExitCode::SUCCESS,
            End::Signal(name) => {
                eprintln!("ebb: {name} received; detached from run {run_id}");
                ExitCode::from(match name {
                    "SIGHUP" => 129,
                    "SIGINT" => 130,
                    _ => 143,
                })
            }
        })
    })
}

/// Prints what is followed and takes control lines until the session ends.
async fn follow(
    mut model: Model,
    keymap: &Keymap,
    rec: &mut Recorder,
    link: &BusLink,
    mut followed: mpsc::Receiver<Msg>,
    mut out: Printer,
) -> std::io::Result<End> {
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    let delivery = Delivery::Bus(link.clone());
    update(&mut model, keymap, Msg::Tick(Timestamp::now()));
    loop {
        let msg = tokio::select! {
            m = followed.recv() => match m {
                Some(m) => m,
                // The follower never ends by itself; if it did, nothing more would come.
                None => std::future::pending().await,
            },
            _ = clock.tick() => Msg::Tick(Timestamp::now()),
            line = lines.next_line() => match line {
                Ok(Some(l)) if l.trim().is_empty() => continue,
                Ok(Some(l)) => {
                    let quit = match on_line(&mut model, rec, &delivery, link, &l).await {
                        Ok(cmds) => carry_out(cmds, rec).await,
                        Err(e) => {
                            eprintln!("ebb: {}", sanitize(&e));
                            false
                        }
                    };
                    if let Some((_, msg)) = model.flash.take() {
                        eprintln!("ebb: {}", sanitize(&msg));
                    }
                    if quit {
                        return Ok(End::Detached("detach line"));
                    }
                    continue;
                }
                Ok(None) | Err(_) => return Ok(End::Detached("stdin closed")),
            },
            _ = hup.recv() => return lost(rec, "SIGHUP").await,
            _ = term.recv() => return lost(rec, "SIGTERM").await,
            _ = int.recv() => return lost(rec, "SIGINT").await,
        };
        match &msg {
            Msg::Engine(ev) => out.event(ev),
            Msg::Approvals(list) => out.approvals(list),
            _ => {}
        }
        let cmds = update(&mut model, keymap, msg);
        if carry_out(cmds, rec).await {
            return Ok(End::Detached("asked to quit"));
        }
    }
}

async fn lost(rec: &mut Recorder, name: &'static str) -> std::io::Result<End> {
    rec.lost(&format!("{name}: the console was told to stop"))
        .await;
    Ok(End::Signal(name))
}

/// Carries out what the door or `update` asked for; true when it is to quit. Run control
/// never comes back from the door on a run a runner drives: it went as a request row.
async fn carry_out(cmds: Vec<Cmd>, rec: &mut Recorder) -> bool {
    let mut quit = false;
    for c in cmds {
        match c {
            Cmd::Quit => quit = true,
            Cmd::Note(text) => {
                if let Err(why) = rec.note(&text).await {
                    eprintln!("ebb: the note could not be recorded: {}", sanitize(&why));
                }
            }
            Cmd::Engine(r) => tracing::debug!(action = %r.action_name(), "not for a runner's run"),
            Cmd::Drill(_) | Cmd::Facilitate(_) => {
                tracing::debug!("drill commands go to the runner's world")
            }
        }
    }
    quit
}

/// One control line through the door, as a key would go: reasoned verbs through their
/// confirm layer with the reason typed in; `approve`/`deny` as a request to the runner.
async fn on_line(
    model: &mut Model,
    rec: &mut Recorder,
    delivery: &Delivery,
    link: &BusLink,
    line: &str,
) -> Result<Vec<Cmd>, String> {
    let source = ActionSource::Headless(line.trim().to_string());
    let (action, reason) = match parse_line(line)? {
        Line::Act(action, reason) => (action, reason),
        Line::Approval {
            action,
            request,
            reason,
        } => {
            decide(model, rec, link, action, request, reason, &source).await;
            return Ok(Vec::new());
        }
    };
    super::headless::dispatch_act(model, rec, delivery, action, reason, source).await
}

/// `approve ID REASON` / `deny ID REASON`: the door's bus path for a decision on a named
/// request (the action path takes the oldest pending one): the intent, with the request id
/// and the reason in its args, and the request row for the runner, in one transaction. A
/// watcher's decision is recorded and refused; a log that cannot be written refuses it.
async fn decide(
    model: &mut Model,
    rec: &mut Recorder,
    link: &BusLink,
    action: Action,
    request: i64,
    reason: String,
    source: &ActionSource,
) {
    let was_down = model.audit_down.is_some();
    let intent = Intent {
        key: None,
        action: action.name().to_string(),
        run_id: Some(link.run_id.clone()),
        step_id: None,
        args: json!({ "source": source.label(), "request": request, "reason": reason,
            "confirmed_with": "headless line" }),
        run_control: true,
    };
    if link.role == Role::Watcher {
        let recorded = rec.intent(&intent).await.is_ok();
        model.audit_down = rec.down.clone();
        if recorded {
            rec.undelivered(
                &intent.action,
                "refused: this console watches (ebb watch), it does not drive",
            )
            .await;
        }
        model.flash = Some((
            model.now,
            format!(
                "{} refused: this console only watches; `ebb attach {}` drives the run",
                intent.action, link.run_id
            ),
        ));
        return;
    }
    let by = model.operator.as_str().to_string();
    let body = if action == Action::ApprovalApprove {
        EngineRequest::Approve {
            request,
            reason,
            by: by.clone(),
        }
    } else {
        EngineRequest::Deny {
            request,
            reason,
            by: by.clone(),
        }
    };
    let new = NewRequest {
        run_id: link.run_id.clone(),
        console: link.console.clone(),
        operator: by,
        action: intent.action.clone(),
        body: serde_json::to_value(&body).unwrap_or(serde_json::Value::Null),
        at: Timestamp::now().0,
    };
    match rec.intent_with_request(&intent, &new).await {
        Ok(id) => {
            model.audit_down = None;
            tracing::debug!(request = id, action = %new.action, "request sent to the runner");
            if was_down {
                model.flash = Some((model.now, AUDIT_BACK.to_string()));
            }
        }
        Err(why) => {
            model.audit_down = rec.down.clone();
            model.flash = Some((
                model.now,
                format!(
                    "{} refused: the audit log cannot be written ({why})",
                    intent.action
                ),
            ));
        }
    }
}
