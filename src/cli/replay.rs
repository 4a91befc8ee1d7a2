//! `ebb replay RUN`: what a recorded console showed, with the same view code, read-only and
//! scrubbable; `--list` prints the run's recorded consoles. Keys only move the viewer.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::{execute, queue};
use futures::StreamExt;
use miette::{IntoDiagnostic, Report};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, sleep_until};

use super::UiArgs;
use super::drill::load_config;
use crate::config::keymap::{KeyChord, Keymap};
use crate::config::theme::Theme;
use crate::replay::bar::{self, Chrome};
use crate::replay::playback::{KeyOutcome, Playback, key_action, on_key};
use crate::replay::player::{Player, RecordedConsole};
use crate::store::spec_from_env;
use crate::text::sanitize;
use crate::tui::overlay::help;
use crate::tui::terminal::TerminalGuard;
use crate::tui::view;

/// At most 30 frames a second.
const MIN_FRAME: Duration = Duration::from_millis(33);

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The run whose console to replay.
    pub run_id: String,
    /// The recorded console to replay (an id from --list); default: the run's only
    /// console, else its first driver's.
    #[arg(long)]
    pub console: Option<String>,
    /// Print the run's recorded consoles (id, user, from–to, size) and exit.
    #[arg(long)]
    pub list: bool,
    /// Playback speed, a factor of real time: 0.25 to 64, snapped to the nearest of
    /// 0.25 0.5 1 2 4 8 16 32 64 (+ and - change it while playing).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
    #[command(flatten)]
    pub ui: UiArgs,
}

pub fn run(args: ReplayArgs) -> Result<ExitCode, Report> {
    if !(args.speed.is_finite() && (0.25..=64.0).contains(&args.speed)) {
        return Err(miette::miette!(
            "--speed {}: expected a factor from 0.25 to 64",
            args.speed
        ));
    }
    // Everything that can fail is read before the terminal is taken.
    let config = load_config(&args.ui)?;
    let spec = spec_from_env(args.store.as_deref());
    let rt = super::setup::runtime()?;
    rt.block_on(async {
        let store = super::setup::open_store(&spec).await?;
        if store.run(&args.run_id).await.into_diagnostic()?.is_none() {
            return Err(miette::miette!(
                "no run {} in {} (ebb runs list names them)",
                sanitize(&args.run_id),
                store.identity()
            ));
        }
        if args.list {
            let consoles = Player::consoles(&store, &args.run_id)
                .await
                .map_err(|e| miette::miette!("{e}"))?;
            let mut out = io::stdout().lock();
            list(&args.run_id, &consoles, &mut out).into_diagnostic()?;
            return Ok(ExitCode::SUCCESS);
        }
        super::require_terminal(
            "replay",
            "without a terminal, `ebb replay RUN --list` names its consoles, `ebb screenshot --replay RUN --at T` draws one moment to SVG, and `ebb report RUN` writes what happened",
        )?;
        let player = Player::load(&store, &args.run_id, args.console.as_deref())
            .await
            .map_err(|e| miette::miette!("{e}"))?;
        drop(store);
        let playback = Playback::new(
            player.span(),
            player.times(),
            &player.actions().iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            args.speed,
        );
        play(player, playback, &config.keymap, &config.theme)
            .await
            .into_diagnostic()?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The `--list` table: one recorded console a line.
pub fn list(run_id: &str, consoles: &[RecordedConsole], out: &mut impl Write) -> io::Result<()> {
    if consoles.is_empty() {
        return writeln!(out, "run {} has no recorded console", sanitize(run_id));
    }
    writeln!(
        out,
        "{:<38} {:<12} {:<20} {:<20} SIZE",
        "CONSOLE", "USER", "FROM", "TO"
    )?;
    for c in consoles {
        writeln!(
            out,
            "{:<38} {:<12} {:<20} {:<20} {}×{}",
            sanitize(&c.info.id),
            sanitize(&c.info.user),
            c.from.rfc3339(),
            c.to.rfc3339(),
            c.size.0,
            c.size.1
        )?;
    }
    Ok(())
}

/// The replay screen at the playback's position: the recorded screen drawn by the live
/// console's view at its recorded size, inside the replay's banner, scrub bar and hints.
pub fn render_screen(
    player: &mut Player,
    playback: &Playback,
    keymap: &Keymap,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let at = playback.at();
    let (w, h) = player.size_at(at);
    let recorded_area = Rect::new(0, 0, w, h);
    let mut recorded = Buffer::empty(recorded_area);
    view::render(player.seek(at), keymap, theme, recorded_area, &mut recorded);
    let chrome = Chrome {
        console: player.console(),
        playback,
        keymap,
        theme,
    };
    bar::render(&recorded, &chrome, area, buf);
    if playback.help {
        help::render_sections(keymap, help::REPLAY, 0, area, theme, buf);
    }
}

/// Takes the terminal and runs the viewer's loop until a quit key, a signal, or the end of
/// the terminal; the terminal is restored on every path (`TerminalGuard`).
async fn play(
    mut player: Player,
    playback: Playback,
    keymap: &Keymap,
    theme: &Theme,
) -> io::Result<()> {
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut guard = TerminalGuard::take()?;
    let viewer = run_loop(
        &mut player,
        playback,
        keymap,
        EventStream::new(),
        |player, playback| draw(&mut guard, player, playback, keymap, theme),
    );
    tokio::select! {
        r = viewer => r.map(|_| ()),
        _ = hup.recv() => Ok(()),
        _ = term.recv() => Ok(()),
        _ = int.recv() => Ok(()),
    }
}

/// The viewer's loop: keys (through the keymap's `[replay]` table) move the playback, a
/// play clock advances it by real elapsed time × speed, and `draw` is called when something
/// changed, at most 30 times a second. Returns the playback where it was left.
pub async fn run_loop<E, D>(
    player: &mut Player,
    mut playback: Playback,
    keymap: &Keymap,
    mut events: E,
    mut draw: D,
) -> io::Result<Playback>
where
    E: futures::Stream<Item = io::Result<Event>> + Unpin,
    D: FnMut(&mut Player, &Playback) -> io::Result<()>,
{
    let mut pending: Vec<KeyChord> = Vec::new();
    draw(player, &playback)?;
    let mut last_frame = Instant::now();
    let mut clock = Instant::now();
    let mut dirty = false;
    loop {
        let frame_due = last_frame + MIN_FRAME;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    if let Some(action) = key_action(keymap, &mut pending, KeyChord::from_event(&k))
                        && on_key(&mut playback, action) == KeyOutcome::Quit
                    {
                        break;
                    }
                    dirty = true;
                }
                Some(Ok(Event::Resize(_, _))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            _ = sleep_until(frame_due), if dirty || playback.playing() => {}
        }
        let now = Instant::now();
        dirty |= playback.advance(now - clock);
        clock = now;
        if dirty && now >= frame_due {
            draw(player, &playback)?;
            last_frame = now;
            dirty = false;
        }
    }
    Ok(playback)
}

fn draw(
    guard: &mut TerminalGuard,
    player: &mut Player,
    playback: &Playback,
    keymap: &Keymap,
    theme: &Theme,
) -> io::Result<()> {
    let t = &mut guard.terminal;
    queue!(
        t.backend_mut(),
        crossterm::terminal::BeginSynchronizedUpdate
    )?;
    t.draw(|f| {
        let area = f.area();
        render_screen(player, playback, keymap, theme, area, f.buffer_mut());
    })?;
    execute!(t.backend_mut(), crossterm::terminal::EndSynchronizedUpdate)?;
    t.backend_mut().flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::player::{ConsoleInfo, Frame};
    use crate::time::Timestamp;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn console() -> ConsoleInfo {
        ConsoleInfo {
            of: 1,
            id: "c-7".into(),
            user: "alice".into(),
            run_id: "r-1".into(),
        }
    }

    /// Ten minutes of recording (two frames of a drill's model), actions at 2:00 and 7:00.
    fn ten_minutes() -> Player {
        let scenario = crate::sim::world::Scenario::load("backfill-slot-fill").unwrap();
        let t0 = Timestamp::from_secs(1_795_489_200);
        let model = super::super::drill::drill_model(&scenario, None, "alice", 42, 1.0, t0);
        let frames = [0, 600]
            .into_iter()
            .map(|s| Frame {
                at: Timestamp(t0.0 + s * 1000),
                model: model.clone(),
                size: (80, 24),
            })
            .collect();
        let actions = vec![
            (Timestamp(t0.0 + 120_000), "run.resume".to_string()),
            (Timestamp(t0.0 + 420_000), "run.rollback".to_string()),
        ];
        Player::from_frames(console(), frames, actions).unwrap()
    }

    fn key(c: KeyCode) -> io::Result<Event> {
        Ok(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
    }

    /// The loop on a paused clock: it plays at the asked speed, a key jumps, q quits,
    /// and it never draws more than 30 frames a second.
    #[tokio::test(start_paused = true)]
    async fn the_loop_plays_jumps_and_quits() {
        let mut player = ten_minutes();
        let (start, _) = player.span();
        let actions: Vec<Timestamp> = player.actions().iter().map(|(t, _)| *t).collect();
        let playback = Playback::new(player.span(), player.times(), &actions, 2.0);
        let keymap = Keymap::default();
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let mut frames: Vec<Timestamp> = Vec::new();
        let viewer = run_loop(&mut player, playback, &keymap, rx, |_, p| {
            frames.push(p.at());
            Ok(())
        });
        let keys = async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            tx.unbounded_send(key(KeyCode::Char(']'))).unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
            tx.unbounded_send(key(KeyCode::Char('q'))).unwrap();
        };
        let (left, ()) = tokio::join!(viewer, keys);
        let left = left.unwrap();
        // ×2 for 3 s is 6 s in; `]` jumps to 2:00; 1 s more at ×2 is 2:02.
        let off = left.at().0 - start.0;
        assert!((122_000..122_100).contains(&off), "left at +{off} ms");
        assert!(frames.len() <= 4 * 30 + 2, "{} frames in 4 s", frames.len());
        assert!(frames.len() >= 4 * 20, "{} frames in 4 s", frames.len());
        assert!(
            frames.windows(2).all(|w| w[0] <= w[1]),
            "time only moves on"
        );
    }

    /// A paused replay draws only when a key changes something, and the end of the key
    /// stream (the terminal gone) ends the loop.
    #[tokio::test(start_paused = true)]
    async fn a_paused_loop_is_quiet() {
        let mut player = ten_minutes();
        let mut playback = Playback::new(player.span(), player.times(), &[], 1.0);
        playback.play_pause();
        let keymap = Keymap::default();
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let mut draws = 0;
        let viewer = run_loop(&mut player, playback, &keymap, rx, |_, _| {
            draws += 1;
            Ok(())
        });
        let keys = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            tx.unbounded_send(key(KeyCode::Right)).unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(tx);
        };
        let (left, ()) = tokio::join!(viewer, keys);
        let left = left.unwrap();
        assert!(!left.playing());
        assert_eq!(left.at(), left.span().1, "→ steps to the next (last) frame");
        assert_eq!(draws, 2, "the first frame and the one after →");
    }

    #[test]
    fn list_names_each_console_or_says_there_is_none() {
        let mut out = Vec::new();
        list("r-1", &[], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "run r-1 has no recorded console\n"
        );
        let c = RecordedConsole {
            info: ConsoleInfo {
                of: 1,
                id: "c-7".into(),
                user: "alice".into(),
                run_id: "r-1".into(),
            },
            from: Timestamp::from_secs(1_795_489_200),
            to: Timestamp::from_secs(1_795_489_800),
            size: (160, 48),
        };
        let mut out = Vec::new();
        list("r-1", &[c], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert!(row.starts_with("c-7 "), "{row}");
        assert!(row.contains("alice"), "{row}");
        assert!(
            row.contains("2026-11-24T03:00:00Z") && row.contains("2026-11-24T03:10:00Z"),
            "{row}"
        );
        assert!(row.ends_with("160×48"), "{row}");
    }
}
