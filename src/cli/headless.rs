//! Headless runs: one line per engine event on stdout (`--json` for JSON lines), control
//! lines on stdin going through the same dispatch as keys. For scripts, CI and crash tests.

use std::process::ExitCode;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::action::Action;
use crate::app::{ActionSource, Cmd, EngineRequest, Layer, Model, Msg, update};
use crate::config::keymap::Keymap;
use crate::control::{Delivery, Recorder, dispatch_recorded};
use crate::engine::{Command, EngineEvent, Final, Status};
use crate::runner::session::RunHandle;
use crate::text::{DisplayText, sanitize};

/// What a control line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// An action, and for reasoned verbs the reason.
    Act(Action, Option<String>),
    /// `approve ID REASON` / `deny ID REASON`: a decision on request `request` that waits
    /// for a second person (`ebb attach RUN --headless` takes these).
    Approval {
        action: Action,
        request: i64,
        reason: String,
    },
}

/// `approve ID REASON` / `deny ID REASON`: the request's id, then the rest as the reason.
fn parse_approval(action: Action, word: &str, rest: &str) -> Result<Line, String> {
    let usage = format!("{word} ID REASON (ID: the request id of an `approval` line)");
    let (id, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let request = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{word}` needs a request id: {usage}"))?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(format!("`{word}` needs a reason: {usage}"));
    }
    Ok(Line::Approval {
        action,
        request,
        reason: reason.to_string(),
    })
}

/// What a control line asks for: an action (with a reason for reasoned verbs), or a
/// decision on a request that waits for approval.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let reasoned = |a: Action| {
        if rest.is_empty() {
            Err(format!("`{word}` needs a reason: {word} REASON"))
        } else {
            Ok(Line::Act(a, Some(rest.to_string())))
        }
    };
    let act = |a: Action, r: Option<String>| Ok(Line::Act(a, r));
    match word {
        "approve" => parse_approval(Action::ApprovalApprove, word, rest),
        "deny" => parse_approval(Action::ApprovalDeny, word, rest),
        "run" | "resume" => act(Action::RunResume, None),
        // Leaving goes through the door like `q` in the console: recorded, then the run
        // is detached (it pauses at its next safe point).
        "detach" | "quit" => act(Action::Quit, None),
        "pause" => act(Action::RunPause, None),
        "step" => act(Action::RunStep, None),
        "retry" => act(Action::RunRetry, None),
        // `confirm NAME` answers an ask (delete a stuck pod) with the name typed out.
        "confirm" if !rest.is_empty() => act(Action::RunConfirm, Some(rest.to_string())),
        "confirm" => act(Action::RunConfirm, None),
        "smaller" => act(Action::RunBatchSmaller, None),
        "larger" => act(Action::RunBatchLarger, None),
        "abort" => reasoned(Action::RunAbort),
        "rollback" => reasoned(Action::RunRollback),
        "skip" => reasoned(Action::RunSkip),
        "resolve" => {
            let (which, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let action = match which {
                "happened" => Action::RunResolveHappened,
                "not-happened" | "not_happened" => Action::RunResolveNotHappened,
                _ => return Err("resolve happened|not-happened REASON".into()),
            };
            if reason.trim().is_empty() {
                return Err("resolve needs a reason".into());
            }
            act(action, Some(reason.trim().to_string()))
        }
        _ => Err(format!(
            "unknown control line {line:?}; one of: run, pause, step, retry, confirm [NAME], abort REASON, rollback REASON, skip REASON, resolve happened|not-happened REASON, smaller, larger, approve ID REASON, deny ID REASON, detach, quit"
        )),
    }
}

/// `ebb run --headless` is an explicit command: the go-ahead a person gives in the
/// console before a fresh run on real targets is given here, recorded as such.
async fn go_ahead(model: &mut Model, rec: &mut Recorder, source: ActionSource) -> Vec<Cmd> {
    if matches!(
        model.layers.last(),
        Some(Layer::Confirm {
            action: Action::RunResume | Action::RunStep,
            ..
        })
    ) {
        return dispatch_recorded(model, rec, &Delivery::Local, Action::ConfirmSubmit, source)
            .await;
    }
    Vec::new()
}

/// Runs one control line through the same door as a key: recorded, then dispatched
/// (reasoned verbs go through the confirm layer with the reason typed in).
pub async fn dispatch_line(
    model: &mut Model,
    rec: &mut Recorder,
    line: &str,
) -> Result<Vec<Cmd>, String> {
    let (action, reason) = match parse_line(line)? {
        Line::Act(action, reason) => (action, reason),
        Line::Approval { .. } => {
            return Err("approvals are taken by a run's runner: `ebb attach RUN --headless` approves and denies".into());
        }
    };
    let source = ActionSource::Headless(line.trim().to_string());
    dispatch_act(model, rec, &Delivery::Local, action, reason, source).await
}

/// One parsed control line through the door, for a run hosted here or a runner's: a
/// control line is an explicit command, so the go-ahead before a fresh run on real
/// targets, a reason, and the plan's name the most dangerous verbs ask for are typed in
/// for it (and recorded as typed); a driver's `detach` leaves.
pub async fn dispatch_act(
    model: &mut Model,
    rec: &mut Recorder,
    delivery: &Delivery,
    action: Action,
    reason: Option<String>,
    source: ActionSource,
) -> Result<Vec<Cmd>, String> {
    let mut cmds = dispatch_recorded(model, rec, delivery, action, source.clone()).await;
    match model.layers.last() {
        // A driver's `detach` on a runner's run: leave, the run goes on as its plan's
        // on_detach says.
        Some(Layer::Leave) => {
            cmds.extend(
                dispatch_recorded(model, rec, delivery, Action::ConsoleDetach, source).await,
            );
            return Ok(cmds);
        }
        Some(Layer::Confirm {
            action: Action::RunResume | Action::RunStep,
            ..
        }) => cmds.extend(
            dispatch_recorded(model, rec, delivery, Action::ConfirmSubmit, source.clone()).await,
        ),
        _ => {}
    }
    let open = matches!(model.layers.last(), Some(Layer::Confirm { .. }));
    match reason {
        None if open => {
            // An ask is open and the line did not type its word.
            model.layers.pop();
            let word = model
                .run
                .as_ref()
                .and_then(|r| r.ask.as_ref())
                .map_or("NAME".to_string(), |a| a.word.clone());
            return Err(format!("confirm needs the name typed out: confirm {word}"));
        }
        None => {}
        Some(reason) => {
            if let Some(Layer::Confirm { input, .. }) = model.layers.last_mut() {
                *input = reason;
            }
            cmds.extend(
                dispatch_recorded(model, rec, delivery, Action::ConfirmSubmit, source.clone())
                    .await,
            );
            let pending = match model.layers.last() {
                Some(Layer::Confirm {
                    action,
                    reason: Some(_),
                    ..
                }) => crate::app::dispatch::target_name_required(model, *action),
                _ => None,
            };
            if let Some(name) = pending {
                if let Some(Layer::Confirm { input, .. }) = model.layers.last_mut() {
                    *input = name;
                }
                cmds.extend(
                    dispatch_recorded(model, rec, delivery, Action::ConfirmSubmit, source).await,
                );
            }
            // A refused confirmation leaves the layer: nobody is there to type into it.
            if matches!(model.layers.last(), Some(Layer::Confirm { .. })) {
                model.layers.pop();
            }
        }
    }
    Ok(cmds)
}

fn print_event(ev: &EngineEvent, json: bool, last_status: &mut Option<Status>) {
    if json {
        if let EngineEvent::View(v) = ev {
            // Views repeat every second while a step is in flight: print them when the
            // status changes, and while a batched step reports its figures.
            if *last_status == Some(v.status) && v.progress.is_some() && v.batch.is_none() {
                return;
            }
            *last_status = Some(v.status);
        }
        if let Ok(line) = serde_json::to_string(ev) {
            println!("{line}");
        }
        return;
    }
    match ev {
        // Notes, reasons and refusals carry text from servers (a SQL error's message):
        // sanitized before they reach the terminal.
        EngineEvent::Note { at, severity, text } => {
            println!(
                "{} {:<5} {}",
                at.rfc3339(),
                format!("{severity:?}").to_lowercase(),
                sanitize(text)
            );
        }
        EngineEvent::Refused { verb, reason } => {
            println!("refused {}: {}", sanitize(verb), sanitize(reason))
        }
        EngineEvent::View(v) => {
            if *last_status != Some(v.status) {
                *last_status = Some(v.status);
                let mut line = format!("state {}", crate::runner::session::status_word(v.status));
                if let (Status::Paused, Some(p)) = (v.status, &v.pause) {
                    line.push_str(&format!(" ({} by {})", sanitize(&p.text), sanitize(&p.by)));
                }
                println!("{line}");
            }
        }
        EngineEvent::Exited { status } => {
            println!("exited {}", crate::runner::session::status_word(*status))
        }
    }
}

/// Prints an actuator's ask when it appears, with the control line that answers it.
/// `--yes` never answers one: deleting a pod needs its name typed by someone.
fn print_ask(ev: &EngineEvent, json: bool, last: &mut Option<crate::engine::Ask>) {
    let EngineEvent::View(v) = ev else { return };
    if v.ask == *last {
        return;
    }
    last.clone_from(&v.ask);
    let Some(ask) = &v.ask else { return };
    if json {
        if let Ok(line) = serde_json::to_string(&serde_json::json!({ "Ask": ask })) {
            println!("{line}");
        }
    } else {
        let (what, word) = (DisplayText::new(&ask.what), DisplayText::new(&ask.word));
        println!(
            "ask {}; to allow it: confirm {}",
            what.as_str(),
            word.as_str()
        );
    }
}

/// Hands what dispatch decided to the run's engine. What cannot reach it is recorded as
/// not delivered and told on stderr: the audit log never claims a verb that was lost.
async fn forward(cmds: Vec<Cmd>, handle: &RunHandle, rec: &mut Recorder) {
    for c in cmds {
        let (name, sent) = match c {
            Cmd::Engine(r) => {
                let name = r.action_name();
                let sent = handle.deliver(r);
                (name, sent)
            }
            Cmd::Quit => {
                let reason = "asked to detach".to_string();
                let sent = handle.deliver(EngineRequest::Detach { reason });
                ("run.detach".to_string(), sent)
            }
            Cmd::Note(_) | Cmd::Drill(_) | Cmd::Facilitate(_) => continue,
        };
        if let Err(why) = sent {
            rec.undelivered(&name, &why).await;
            eprintln!("ebb: {name} was not delivered: {why}");
        }
    }
}

/// Drives `handle` from stdin until the run finishes, stdin closes while it waits for a
/// human, or a signal arrives. `first` is the action to start with (run or step).
pub async fn drive(
    mut model: Model,
    keymap: &Keymap,
    handle: RunHandle,
    mut events: mpsc::Receiver<EngineEvent>,
    first: Option<Action>,
    json: bool,
    mut rec: Recorder,
) -> std::io::Result<ExitCode> {
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut last_status = None;
    let mut last_ask = None;
    let mut final_status = None;
    let run_id = handle.run_id.clone();
    eprintln!("ebb: run {run_id}; after a crash or a lost session: ebb resume {run_id}");

    if let Some(a) = first {
        let mut cmds = dispatch_recorded(
            &mut model,
            &mut rec,
            &Delivery::Local,
            a,
            ActionSource::System,
        )
        .await;
        cmds.extend(go_ahead(&mut model, &mut rec, ActionSource::System).await);
        forward(cmds, &handle, &mut rec).await;
    }
    loop {
        tokio::select! {
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                print_event(&ev, json, &mut last_status);
                print_ask(&ev, json, &mut last_ask);
                if let EngineEvent::Exited { status } = &ev {
                    final_status = Some(*status);
                }
                rec.engine(&ev).await;
                update(&mut model, keymap, Msg::Engine(ev));
            }
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(l)) if l.trim().is_empty() => {}
                Ok(Some(l)) => match dispatch_line(&mut model, &mut rec, &l).await {
                    Ok(cmds) => {
                        if let Some((_, msg)) = model.flash.take() {
                            eprintln!("ebb: {}", sanitize(&msg));
                        }
                        forward(cmds, &handle, &mut rec).await;
                    }
                    Err(e) => eprintln!("ebb: {}", sanitize(&e)),
                },
                Ok(None) | Err(_) => {
                    // Nobody is left to decide: leave when the run would wait for a human.
                    stdin_open = false;
                    let _ = handle.cmds.send(Command::DetachWhenIdle { reason: "headless input closed while the run waits".into() }).await;
                }
            },
            _ = hup.recv() => { rec.lost("SIGHUP").await; let _ = handle.cmds.try_send(Command::Detach { reason: "SIGHUP".into() }); }
            _ = term.recv() => { rec.lost("SIGTERM").await; let _ = handle.cmds.try_send(Command::Detach { reason: "SIGTERM".into() }); }
            _ = int.recv() => { rec.lost("SIGINT").await; let _ = handle.cmds.try_send(Command::Detach { reason: "SIGINT".into() }); }
        }
    }
    let _ = handle.task.await;
    rec.close().await;
    if rec.unsealed().is_some() {
        // `close` said why on stderr; a log that could not be sealed is not a clean exit.
        return Ok(ExitCode::from(super::EXIT_UNSEALED));
    }
    Ok(match final_status {
        Some(Status::Finished(Final::Completed)) | Some(Status::Finished(Final::RolledBack)) => {
            ExitCode::SUCCESS
        }
        Some(Status::Finished(Final::Aborted)) => ExitCode::from(3),
        _ => {
            eprintln!("ebb: run {run_id} is paused; continue it with: ebb resume {run_id}");
            ExitCode::from(4)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_takes_the_name_an_ask_wants_typed() {
        assert_eq!(
            parse_line("confirm"),
            Ok(Line::Act(Action::RunConfirm, None))
        );
        assert_eq!(
            parse_line("confirm  orders-db-2 "),
            Ok(Line::Act(Action::RunConfirm, Some("orders-db-2".into())))
        );
    }

    #[test]
    fn detach_and_quit_go_through_the_door() {
        assert_eq!(parse_line("detach"), Ok(Line::Act(Action::Quit, None)));
        assert_eq!(parse_line(" quit "), Ok(Line::Act(Action::Quit, None)));
    }

    #[test]
    fn approve_and_deny_take_a_request_id_and_a_reason() {
        assert_eq!(
            parse_line("approve 12 looks fine"),
            Ok(Line::Approval {
                action: Action::ApprovalApprove,
                request: 12,
                reason: "looks fine".into()
            })
        );
        assert_eq!(
            parse_line(" deny 12   not now "),
            Ok(Line::Approval {
                action: Action::ApprovalDeny,
                request: 12,
                reason: "not now".into()
            })
        );
        for (line, says) in [
            ("approve", "needs a request id"),
            ("approve x why", "needs a request id"),
            ("approve -3 why", "needs a request id"),
            ("approve 12", "needs a reason"),
            ("deny 12  ", "needs a reason"),
        ] {
            let err = parse_line(line).expect_err(line);
            assert!(err.contains(says), "{line}: {err}");
        }
    }

    /// A verb whose engine has gone is recorded as not delivered, never silently dropped.
    #[tokio::test]
    async fn a_verb_that_cannot_reach_the_engine_is_recorded_as_not_delivered() {
        use crate::audit::{AuditLog, KeySource, Operator};
        use crate::engine::Verb;
        use crate::store::{AuditQuery, Store};

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ebb.db").to_string_lossy())
            .await
            .unwrap();
        let key = Box::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
        let log = AuditLog::open(
            &store,
            KeySource::Key(key),
            "s-1".into(),
            Operator::default(),
        )
        .await
        .unwrap();
        let mut rec = Recorder::new(Ok(log), None);
        let (cmds, cmd_rx) = mpsc::channel(1);
        let (confirms, confirm_rx) = mpsc::channel(1);
        let (answers, answer_rx) = mpsc::channel(1);
        let (batch_scale, _) = tokio::sync::watch::channel(0);
        drop((cmd_rx, confirm_rx, answer_rx));
        let handle = RunHandle {
            run_id: "r-1".into(),
            cmds,
            confirms,
            answers,
            batch_scale,
            task: tokio::spawn(async { Status::Paused }),
            second_person: Vec::new(),
        };
        let verb = Cmd::Engine(EngineRequest::Verb {
            verb: Verb::Run,
            by: "alice".into(),
        });
        forward(vec![verb, Cmd::Quit], &handle, &mut rec).await;
        let rows = store.audit_rows(AuditQuery::default()).await.unwrap();
        let outcomes: Vec<String> = rows
            .iter()
            .filter(|r| r.record.contains("not delivered"))
            .map(|r| r.record.clone())
            .collect();
        assert_eq!(outcomes.len(), 2, "{outcomes:#?}");
        assert!(outcomes[0].contains("run.run"), "{}", outcomes[0]);
        assert!(
            outcomes[0].contains("the run engine has stopped"),
            "{}",
            outcomes[0]
        );
        assert!(outcomes[1].contains("run.detach"), "{}", outcomes[1]);
    }
}
