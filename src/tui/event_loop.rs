//! The event loop: keys, observations, the 1 Hz clock and signals in; one `update` per
//! message; a frame only when something changed, at most 30 a second, in a synchronized update.

use std::io::{self, Write};
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::{execute, queue};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep_until};

use super::terminal::TerminalGuard;
use super::view;
use crate::app::effect::Applied;
use crate::app::{Cmd, EngineRequest, Model, Msg, resolve_key, update};
use crate::config::keymap::{KeyChord, Keymap};
use crate::config::theme::Theme;
use crate::control::{Delivery, Recorder, dispatch_applied};
use crate::engine::EngineEvent;
use crate::replay::recording::Recording;
use crate::sim::source::DrillCommand;
use crate::sources::Observation;
use crate::time::Timestamp;

/// The shortest time between two frames (30 frames a second at most).
pub const MIN_FRAME: Duration = Duration::from_millis(33);

/// What the loop talks to besides the terminal.
pub struct LoopIo {
    /// The audit log every action is recorded in before it takes effect.
    pub recorder: Recorder,
    pub observations: mpsc::Receiver<Observation>,
    pub drill: Option<mpsc::Sender<DrillCommand>>,
    /// Requests to the run's engine, and its events back.
    pub engine: Option<mpsc::Sender<EngineRequest>>,
    pub engine_events: Option<mpsc::Receiver<EngineEvent>>,
    /// Where run control goes: this process's engine, or a runner through the store.
    pub delivery: Delivery,
    /// What the console follows of a run a runner drives (view, events, team).
    pub followed: Option<mpsc::Receiver<Msg>>,
    /// The console's recording, when it records (every console on a run does).
    pub tape: Option<Box<dyn Recording>>,
}

/// How the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(&'static str),
    TerminalGone,
}

/// Runs the console until quit, a signal, or the terminal going away. The terminal is
/// restored before this returns, whichever way it ends. With a recording (`io.tape`),
/// every change to the model goes to it first, in order, with the iteration's time.
pub async fn run(
    mut model: Model,
    keymap: &Keymap,
    theme: &Theme,
    io: &mut LoopIo,
) -> io::Result<(Model, Exit)> {
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut guard = TerminalGuard::take()?;
    let mut events = EventStream::new();

    let now = Timestamp::now();
    let size = guard.terminal.size()?;
    let mut shown = Shown {
        size: (size.width, size.height),
        key_since_frame: true,
    };
    if let Some(tape) = io.tape.as_mut() {
        tape.start(now, &model, shown.size, keymap.name());
    }
    step(&mut model, keymap, io, now, Msg::Tick(now));
    let to_next_second = Duration::from_millis((1000 - now.0.rem_euclid(1000)) as u64);
    let mut clock = interval_at(Instant::now() + to_next_second, Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Delay);

    draw(&mut guard, &model, keymap, theme, io, now, &mut shown)?;
    let mut last_frame = Instant::now();
    let mut dirty = false;
    let mut observations_open = true;

    let exit = loop {
        let frame_due = last_frame + MIN_FRAME;
        let mut msgs: Vec<Msg> = Vec::new();
        // Keys never reach `update`: they go through the one door (`control`).
        let mut keys: Vec<KeyChord> = Vec::new();
        let mut exit: Option<Exit> = None;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    let chord = KeyChord::from_event(&k);
                    // A key ebb cannot spell (caps lock, media keys) does nothing.
                    if chord.to_string().parse::<KeyChord>() == Ok(chord) {
                        keys.push(chord);
                    }
                }
                Some(Ok(Event::Paste(text))) => msgs.push(Msg::Paste(text)),
                Some(Ok(Event::Resize(_, _))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => exit = Some(Exit::TerminalGone),
            },
            obs = io.observations.recv(), if observations_open => match obs {
                Some(o) => {
                    msgs.push(Msg::Observation(o));
                    // Drain what is already queued so a burst costs one frame.
                    while let Ok(o) = io.observations.try_recv() {
                        msgs.push(Msg::Observation(o));
                    }
                }
                None => observations_open = false,
            },
            ev = recv_engine(&mut io.engine_events) => match ev {
                Some(e) => {
                    msgs.push(Msg::Engine(e));
                    if let Some(rx) = io.engine_events.as_mut() {
                        while let Ok(e) = rx.try_recv() {
                            msgs.push(Msg::Engine(e));
                        }
                    }
                }
                None => io.engine_events = None,
            },
            m = recv_followed(&mut io.followed) => match m {
                Some(m) => {
                    msgs.push(m);
                    if let Some(rx) = io.followed.as_mut() {
                        while let Ok(m) = rx.try_recv() {
                            msgs.push(m);
                        }
                    }
                }
                None => io.followed = None,
            },
            _ = clock.tick() => dirty = true,
            _ = hup.recv() => exit = Some(Exit::Signal("SIGHUP")),
            _ = term.recv() => exit = Some(Exit::Signal("SIGTERM")),
            _ = int.recv() => exit = Some(Exit::Signal("SIGINT")),
            _ = sleep_until(frame_due), if dirty => {}
        }
        // One time for the whole iteration: its Tick and everything recorded in it.
        let now = Timestamp::now();
        if let Some(Exit::Signal(name)) = exit {
            io.recorder
                .lost(&format!("{name}: the console was told to stop"))
                .await;
            step(&mut model, keymap, io, now, Msg::Signal(name.to_string()));
        }
        if let Some(Exit::TerminalGone) = exit {
            io.recorder.lost("the terminal went away").await;
        }
        if let Some(e) = exit {
            break e;
        }
        let mut quit = false;
        let mut cmds_of_keys = Vec::new();
        for k in keys {
            dirty = true;
            shown.key_since_frame = true;
            if let Some(tape) = io.tape.as_mut() {
                tape.key(now, k);
            }
            if let Some((action, source)) = resolve_key(&mut model, keymap, k) {
                let mut fx = Applied::default();
                cmds_of_keys.extend(
                    dispatch_applied(
                        &mut model,
                        &mut io.recorder,
                        &io.delivery,
                        action,
                        source,
                        &mut fx,
                    )
                    .await,
                );
                keep(io, now, fx);
            }
        }
        if !msgs.is_empty() || dirty {
            dirty = true;
            msgs.push(Msg::Tick(now));
        }
        for cmd in cmds_of_keys {
            quit |= carry_out(cmd, &mut model, io, now).await;
        }
        for msg in msgs {
            if let Msg::Engine(ev) = &msg {
                io.recorder.engine(ev).await;
                let was_down = model.audit_down.is_some();
                let mut fx = Applied::default();
                fx.audit_down(&mut model, io.recorder.down.clone());
                if was_down && model.audit_down.is_none() {
                    fx.flash(&mut model, crate::control::AUDIT_BACK.to_string());
                }
                keep(io, now, fx);
            }
            let cmds = step(&mut model, keymap, io, now, msg);
            for cmd in cmds {
                quit |= carry_out(cmd, &mut model, io, now).await;
            }
        }
        if let Some(why) = io.tape.as_mut().and_then(|t| t.stopped()) {
            // The recording has ended: this is the first change it does not hold.
            update(&mut model, keymap, Msg::RecordingStopped(why));
            dirty = true;
        }
        if let Some(text) = model.clipboard.take() {
            // `clip.copy` asked for it: the terminal writes it, never the render.
            super::osc52::write(guard.terminal.backend_mut(), &text)?;
        }
        if quit {
            break Exit::Quit;
        }
        if dirty && Instant::now() >= last_frame + MIN_FRAME {
            draw(&mut guard, &model, keymap, theme, io, now, &mut shown)?;
            last_frame = Instant::now();
            dirty = false;
        }
    };
    drop(guard);
    if let Some(tape) = io.tape.take() {
        tape.finish(Timestamp::now()).await;
    }
    Ok((model, exit))
}

/// What the recording knows of the screen: its size, and whether a key came since the
/// last frame drawn (that frame is kept).
struct Shown {
    size: (u16, u16),
    key_since_frame: bool,
}

/// Records `msg` (when the console records), then applies it.
fn step(model: &mut Model, keymap: &Keymap, io: &mut LoopIo, now: Timestamp, msg: Msg) -> Vec<Cmd> {
    if let Some(tape) = io.tape.as_mut() {
        tape.msg(now, &msg);
    }
    update(model, keymap, msg)
}

/// Records the door's effects, already applied to the model, in order.
fn keep(io: &mut LoopIo, now: Timestamp, fx: Applied) {
    if let Some(tape) = io.tape.as_mut() {
        for e in fx.0 {
            tape.msg(now, &Msg::Door(e));
        }
    }
}

/// Carries out one effect `update` or the door asked for; true when it is to quit.
async fn carry_out(cmd: Cmd, model: &mut Model, io: &mut LoopIo, now: Timestamp) -> bool {
    let mut fx = Applied::default();
    let quit = carry_out_into(cmd, model, io, &mut fx).await;
    keep(io, now, fx);
    quit
}

async fn carry_out_into(cmd: Cmd, model: &mut Model, io: &mut LoopIo, fx: &mut Applied) -> bool {
    match cmd {
        Cmd::Quit => return true,
        Cmd::Drill(c) => {
            let sent = match &io.drill {
                Some(tx) => tx.try_send(c).map_err(|e| match e {
                    mpsc::error::TrySendError::Full(_) => "the drill world is busy",
                    mpsc::error::TrySendError::Closed(_) => "the drill world has stopped",
                }),
                None if matches!(io.delivery, Delivery::Bus(_)) => Err(
                    "the drill world runs in the run's runner; its speed is set with `ebb run --speed`",
                ),
                None => Err("there is no drill world"),
            };
            if let Err(why) = sent {
                io.recorder.undelivered("drill", why).await;
                fx.flash(model, format!("not delivered: {why}; try again"));
            }
        }
        Cmd::Facilitate(r) => {
            // On a runner's drill these went as request rows; here nothing hosts them.
            let why = crate::app::facilitate::not_hosted(&r);
            io.recorder.undelivered("drill.fault", why).await;
            fx.flash(model, format!("not delivered: {why}"));
        }
        Cmd::Note(text) => {
            if let Err(why) = io.recorder.note(&text).await {
                fx.flash(model, format!("the note could not be recorded: {why}"));
            }
        }
        Cmd::Engine(r) => match &io.engine {
            Some(tx) => {
                let name = r.action_name();
                if let Err(e) = tx.try_send(r) {
                    let why = match e {
                        mpsc::error::TrySendError::Full(_) => "the run engine is busy",
                        mpsc::error::TrySendError::Closed(_) => "the run engine has stopped",
                    };
                    io.recorder.undelivered(&name, why).await;
                    fx.audit_down(model, io.recorder.down.clone());
                    fx.flash(model, format!("{name} not delivered: {why}; try again"));
                }
            }
            None => fx.flash(model, "no plan is loaded: run control needs a plan".into()),
        },
    }
    false
}

/// The next message followed from the store, or never when the console follows nothing.
async fn recv_followed(rx: &mut Option<mpsc::Receiver<Msg>>) -> Option<Msg> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next engine event, or never when there is no engine.
async fn recv_engine(rx: &mut Option<mpsc::Receiver<EngineEvent>>) -> Option<EngineEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Draws one frame; a console that records keeps its size when it changed, and the
/// frame itself when one is due.
fn draw(
    guard: &mut TerminalGuard,
    model: &Model,
    keymap: &Keymap,
    theme: &Theme,
    io: &mut LoopIo,
    now: Timestamp,
    shown: &mut Shown,
) -> io::Result<()> {
    let t = &mut guard.terminal;
    queue!(
        t.backend_mut(),
        crossterm::terminal::BeginSynchronizedUpdate
    )?;
    let frame = t.draw(|f| {
        let area = f.area();
        view::render(model, keymap, theme, area, f.buffer_mut());
    })?;
    if let Some(tape) = io.tape.as_mut() {
        let size = (frame.area.width, frame.area.height);
        if size != shown.size {
            shown.size = size;
            tape.resize(now, size);
        }
        if tape.frame_due(now, shown.key_since_frame) {
            tape.frame(now, frame.buffer);
        }
    }
    shown.key_since_frame = false;
    execute!(t.backend_mut(), crossterm::terminal::EndSynchronizedUpdate)?;
    t.backend_mut().flush()
}
