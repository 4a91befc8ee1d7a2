//! `ebb screenshot --replay RUN --at T`: the screen a console showed at T, from its
//! recording, at the console's size then; and `--at` as seconds, an offset or a time.

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use miette::{IntoDiagnostic, Report};

use super::screenshot::{MAX_AT, ScreenshotArgs};
use crate::config::theme::Theme;
use crate::replay::Player;
use crate::store::spec_from_env;
use crate::time::Timestamp;
use crate::tui::replayed::render_at;
use crate::tui::svg;

/// When to render, as `--at` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// Plain seconds: world time for a scenario, an offset for a replay.
    Seconds(u64),
    /// `90s`, `5m`, `+1h2m`: an offset from a recording's start.
    Offset(Duration),
    /// An RFC 3339 time.
    Time(Timestamp),
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Seconds(s) => write!(f, "{s}"),
            At::Offset(d) => write!(f, "+{}", humantime::format_duration(*d)),
            At::Time(t) => write!(f, "{}", t.rfc3339()),
        }
    }
}

impl At {
    /// The instant in a recording that begins at `start`.
    pub fn in_recording(self, start: Timestamp) -> Timestamp {
        match self {
            At::Seconds(s) => start.plus(Duration::from_secs(s)),
            At::Offset(d) => start.plus(d),
            At::Time(t) => t,
        }
    }
}

/// Parses `--at`: seconds (at most a day), an offset (`90s`, `+1h2m`) or an RFC 3339 time.
pub fn parse_at(s: &str) -> Result<At, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<u64>() {
            Ok(n) if n <= MAX_AT => Ok(At::Seconds(n)),
            _ => Err(format!("{s} is not in 0..={MAX_AT}")),
        };
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        let ms = t
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .map_err(|_| format!("{s} is before 1970"))?;
        return Ok(At::Time(Timestamp(ms)));
    }
    let offset = s.strip_prefix('+').unwrap_or(s);
    humantime::parse_duration(offset)
        .map(At::Offset)
        .map_err(|_| {
            format!(
                "expected seconds, an offset like 90s, 5m or +1h2m, or an RFC 3339 time; got {s:?}"
            )
        })
}

pub fn run(args: &ScreenshotArgs, run_id: &str, theme: &Theme) -> Result<ExitCode, Report> {
    let spec = spec_from_env(args.store.as_deref());
    let rt = super::setup::runtime()?;
    let mut player = rt.block_on(async {
        let store = super::setup::open_store(&spec).await?;
        let p = Player::load(&store, run_id, args.console.as_deref())
            .await
            .map_err(|e| miette::miette!("{e}"));
        store.close().await;
        p
    })?;
    let (start, end) = player.span();
    let t = args.at.map(|a| a.in_recording(start)).unwrap_or(end);
    if t < start || t > end {
        return Err(miette::miette!(
            "--at {} is outside the recording ({} to {})",
            t.rfc3339(),
            start.rfc3339(),
            end.rfc3339()
        ));
    }
    let info = player.console().clone();
    if info.of > 1 && args.console.is_none() {
        eprintln!(
            "ebb: console {} ({}) of {} on run {}; --console picks another",
            crate::text::sanitize(&info.id),
            crate::text::sanitize(&info.user),
            info.of,
            crate::text::sanitize(run_id)
        );
    }
    let keymap = player_keymap(&player);
    let buf = render_at(&mut player, t, &keymap, theme);
    std::fs::write(&args.output, svg::to_svg(&buf, theme)).into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
}

fn player_keymap(player: &Player) -> crate::config::keymap::Keymap {
    player.keymap().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_reads_seconds_offsets_and_times() {
        assert_eq!(parse_at("300"), Ok(At::Seconds(300)));
        assert!(
            parse_at("100000")
                .unwrap_err()
                .contains("is not in 0..=86400")
        );
        assert_eq!(parse_at("90s"), Ok(At::Offset(Duration::from_secs(90))));
        assert_eq!(parse_at("+1h2m"), Ok(At::Offset(Duration::from_secs(3720))));
        assert_eq!(
            parse_at("2026-11-24T03:00:00Z"),
            Ok(At::Time(Timestamp(1_795_489_200_000)))
        );
        assert!(parse_at("soon").is_err());
        let start = Timestamp(1_000);
        assert_eq!(
            At::Offset(Duration::from_secs(5)).in_recording(start),
            Timestamp(6_000)
        );
        assert_eq!(At::Seconds(2).in_recording(start), Timestamp(3_000));
    }
}
