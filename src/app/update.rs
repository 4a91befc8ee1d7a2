//! `update`: applies one message to the model and returns the effects to carry out.
//! Observations replace figures (keeping their times); events and errors go to the Timeline.

use crate::config::keymap::Keymap;
use crate::engine::EngineEvent;
use crate::sources::{Observation, Payload, Severity};
use crate::text::DisplayText;

use super::model::{Figure, LAG_HISTORY, Model, TimelineKind};
use super::msg::{Cmd, Msg};

/// How long a flash message stays.
const FLASH_MS: i64 = 5_000;

pub fn update(model: &mut Model, _keymap: &Keymap, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Tick(now) => {
            model.now = model.now.max(now);
            if let Some((at, _)) = &model.flash
                && model.now.0 - at.0 > FLASH_MS
            {
                model.flash = None;
            }
            Vec::new()
        }
        Msg::Observation(obs) => {
            observe(model, obs);
            Vec::new()
        }
        Msg::Paste(text) => {
            super::paste::on_paste(model, &text);
            Vec::new()
        }
        Msg::Engine(ev) => {
            engine_event(model, ev);
            Vec::new()
        }
        Msg::Team(t) => {
            super::team::seen(model, t);
            Vec::new()
        }
        Msg::Approvals(p) => {
            super::team::pending(model, p);
            Vec::new()
        }
        Msg::BreakGlass(by) => {
            super::team::broke_glass(model, by);
            Vec::new()
        }
        Msg::Drill(d) => {
            super::facilitate::seen(model, d);
            Vec::new()
        }
        Msg::Announcement { by, text } => {
            super::facilitate::announced(model, &by, &text);
            Vec::new()
        }
        Msg::Door(effect) => super::effect::apply(model, effect),
        Msg::RecordingStopped(why) => {
            let text = format!("recording stopped: {why}");
            model.push_timeline(model.now, TimelineKind::System, DisplayText::new(&text));
            Vec::new()
        }
        Msg::Signal(name) => {
            let text = format!("{name} received: leaving the console");
            model.push_timeline(model.now, TimelineKind::System, DisplayText::new(&text));
            model.quit = true;
            vec![Cmd::Quit]
        }
    }
}

/// The source the Migration pane shows the run's batched step under.
pub const RUN_SOURCE: &str = "run";

/// A batched step in flight shows in the Migration pane like a running migration: rows,
/// rate, ETA, and why it holds; it leaves the pane when the step stops.
fn batch_figure(model: &mut Model, v: &crate::engine::RunView) {
    use crate::sources::{MigrationPhase, MigrationSnapshot, MigrationStatus, SourceId};
    let source = SourceId(RUN_SOURCE.into());
    let Some((step, f)) = &v.batch else {
        model.migrations.remove(&source);
        return;
    };
    let status = MigrationStatus {
        name: DisplayText::new(&format!("step {step}")),
        phase: if f.holding.is_some() {
            MigrationPhase::Throttled
        } else {
            MigrationPhase::Running
        },
        rows_done: f.rows_done,
        rows_total: f.rows_total,
        rows_per_sec: f.rows_per_sec,
        batch_size: f.batch_size,
        throttle: f.holding.as_deref().map(DisplayText::new),
        error: None,
    };
    model.migrations.insert(
        source.clone(),
        Figure {
            value: MigrationSnapshot {
                schema_version: DisplayText::new(""),
                migrations: vec![status],
            },
            source,
            at: model.now,
            // The engine reports a step in flight every second.
            interval: std::time::Duration::from_secs(1),
        },
    );
}

fn engine_event(model: &mut Model, ev: EngineEvent) {
    match ev {
        EngineEvent::View(v) => {
            let v = super::ingress::sanitized(v);
            batch_figure(model, &v);
            model.run = Some(v);
        }
        EngineEvent::Note { at, severity, text } => {
            model.push_timeline(
                at,
                TimelineKind::Event(severity),
                DisplayText::new(&format!("run: {text}")),
            );
        }
        EngineEvent::Refused { verb, reason } => {
            let text = format!("{verb} refused: {reason}");
            model.flash = Some((model.now, text.clone()));
            model.push_timeline(
                model.now,
                TimelineKind::Event(Severity::Warn),
                DisplayText::new(&text),
            );
        }
        EngineEvent::Exited { status } => {
            let text = format!("the engine stopped driving the run ({status:?})").to_lowercase();
            model.push_timeline(model.now, TimelineKind::System, DisplayText::new(&text));
        }
    }
}

fn observe(model: &mut Model, obs: Observation) {
    let Observation {
        source,
        at,
        interval,
        payload,
    } = obs;
    if !matches!(payload, Payload::Error(_) | Payload::Events(_)) {
        model.source_errors.remove(&source);
    }
    match payload {
        Payload::Replication(r) => {
            for rep in &r.replicas {
                let h = model
                    .lag_history
                    .entry((source.clone(), rep.name.as_str().to_string()))
                    .or_default();
                h.push_back(rep.time_lag.map(|d| d.as_millis() as u64));
                while h.len() > LAG_HISTORY {
                    h.pop_front();
                }
            }
            model.replication.insert(
                source.clone(),
                Figure {
                    value: r,
                    source,
                    at,
                    interval,
                },
            );
        }
        Payload::Storage(s) => {
            model.storage.insert(
                source.clone(),
                Figure {
                    value: s,
                    source,
                    at,
                    interval,
                },
            );
        }
        Payload::Migrations(m) => {
            model.migrations.insert(
                source.clone(),
                Figure {
                    value: m,
                    source,
                    at,
                    interval,
                },
            );
        }
        Payload::App(a) => {
            model.workload.insert(
                source.clone(),
                Figure {
                    value: a,
                    source,
                    at,
                    interval,
                },
            );
        }
        Payload::Kube(k) => {
            model.kube.insert(
                source.clone(),
                Figure {
                    value: k,
                    source,
                    at,
                    interval,
                },
            );
        }
        Payload::Objectives(o) => {
            model.objectives = Some(Figure {
                value: o,
                source,
                at,
                interval,
            });
        }
        Payload::Events(events) => {
            for e in events {
                model.push_timeline(e.at, TimelineKind::Event(e.severity), e.text);
            }
        }
        Payload::Error(text) => {
            let is_new = model
                .source_errors
                .get(&source)
                .is_none_or(|(_, t)| *t != text);
            if is_new {
                let line = format!("{}: {}", source.0, text);
                model.push_timeline(
                    at,
                    TimelineKind::Event(Severity::Crit),
                    DisplayText::new(&line),
                );
            }
            let since = model
                .source_errors
                .get(&source)
                .filter(|(_, t)| *t == text)
                .map(|(t, _)| *t);
            model
                .source_errors
                .insert(source, (since.unwrap_or(at), text));
        }
    }
}
