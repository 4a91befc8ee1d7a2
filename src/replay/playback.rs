//! Where `ebb replay` is in a recording and how it moves: position, play/pause, speed,
//! stepping between recorded moments and jumping between operator actions. Pure: no clock.

use std::time::Duration;

use crate::action::Action;
use crate::config::keymap::{KeyChord, Keymap, Lookup, Mode};
use crate::time::Timestamp;

/// The playback speeds, slowest first; `+` and `-` move one step along them.
pub const SPEEDS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// The index of ×1 in [`SPEEDS`].
const NORMAL: usize = 2;

/// The viewer's state over one recording. Positions are clamped to the recording's span.
#[derive(Clone, Debug, PartialEq)]
pub struct Playback {
    start: Timestamp,
    end: Timestamp,
    /// Each distinct recorded moment, ascending (for ← / →).
    times: Vec<Timestamp>,
    /// When each operator action happened, ascending (for [ / ] and the scrub bar).
    actions: Vec<Timestamp>,
    at: Timestamp,
    /// Milliseconds of play not yet added to `at` (slow speeds move less than 1 ms a tick).
    carry: f64,
    playing: bool,
    speed: usize,
    /// The key help is shown over the recording.
    pub help: bool,
    /// A one-key remark for the hint row ("no later action"), cleared by the next key.
    pub notice: Option<&'static str>,
}

/// What the replay loop does after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Keep going (redraw: something may have changed).
    Continue,
    Quit,
}

impl Playback {
    /// A playback over `span`, playing from its start at the `SPEEDS` entry nearest `speed`.
    /// `times` and `actions` need not be sorted; times outside the span are dropped.
    pub fn new(
        span: (Timestamp, Timestamp),
        times: &[Timestamp],
        actions: &[Timestamp],
        speed: f64,
    ) -> Playback {
        let (start, end) = (span.0.min(span.1), span.0.max(span.1));
        let inside = |ts: &[Timestamp]| {
            let mut v: Vec<Timestamp> = ts
                .iter()
                .copied()
                .filter(|t| (start..=end).contains(t))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        Playback {
            start,
            end,
            times: inside(times),
            actions: inside(actions),
            at: start,
            carry: 0.0,
            playing: start < end,
            speed: nearest_speed(speed),
            help: false,
            notice: None,
        }
    }

    pub fn at(&self) -> Timestamp {
        self.at
    }

    pub fn span(&self) -> (Timestamp, Timestamp) {
        (self.start, self.end)
    }

    /// The operator actions' times, ascending.
    pub fn actions(&self) -> &[Timestamp] {
        &self.actions
    }

    pub fn playing(&self) -> bool {
        self.playing
    }

    /// The playback speed, a factor of real time.
    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed]
    }

    /// How far into the recording the position is.
    pub fn elapsed(&self) -> Duration {
        self.start.age_at(self.at)
    }

    /// How long the recording is.
    pub fn length(&self) -> Duration {
        self.start.age_at(self.end)
    }

    /// Moves the position to `t`, clamped to the span.
    pub fn seek(&mut self, t: Timestamp) {
        self.at = t.clamp(self.start, self.end);
        self.carry = 0.0;
    }

    /// Advances a playing position by `real` elapsed time × speed; stops at the end.
    /// Returns whether the position moved.
    pub fn advance(&mut self, real: Duration) -> bool {
        if !self.playing {
            return false;
        }
        let ms = real.as_secs_f64() * 1000.0 * self.speed() + self.carry;
        let whole = ms.floor();
        self.carry = ms - whole;
        let before = self.at;
        self.at = Timestamp(self.at.0.saturating_add(whole as i64)).min(self.end);
        if self.at >= self.end {
            self.at = self.end;
            self.playing = false;
            self.carry = 0.0;
        }
        self.at != before || !self.playing
    }

    /// Plays or pauses; playing from the end starts again from the beginning.
    pub fn play_pause(&mut self) {
        if self.playing {
            self.playing = false;
        } else {
            if self.at >= self.end {
                self.seek(self.start);
            }
            self.playing = self.start < self.end;
        }
        self.carry = 0.0;
    }

    /// Pauses at the recorded moment after the position (or the end).
    pub fn step_forward(&mut self) {
        self.playing = false;
        let next = self.times.iter().copied().find(|t| *t > self.at);
        self.seek(next.unwrap_or(self.end));
    }

    /// Pauses at the recorded moment before the position (or the start).
    pub fn step_back(&mut self) {
        self.playing = false;
        let prev = self.times.iter().rev().copied().find(|t| *t < self.at);
        self.seek(prev.unwrap_or(self.start));
    }

    /// Jumps to the next operator action after the position; false (and no move) if none.
    pub fn next_action(&mut self) -> bool {
        match self.actions.iter().copied().find(|t| *t > self.at) {
            Some(t) => {
                self.seek(t);
                true
            }
            None => false,
        }
    }

    /// Jumps to the operator action before the position; false (and no move) if none.
    pub fn prev_action(&mut self) -> bool {
        match self.actions.iter().rev().copied().find(|t| *t < self.at) {
            Some(t) => {
                self.seek(t);
                true
            }
            None => false,
        }
    }

    pub fn faster(&mut self) {
        self.speed = (self.speed + 1).min(SPEEDS.len() - 1);
    }

    pub fn slower(&mut self) {
        self.speed = self.speed.saturating_sub(1);
    }
}

/// The index of the `SPEEDS` entry nearest `x` (by ratio); ×1 for nonsense.
fn nearest_speed(x: f64) -> usize {
    if !x.is_finite() || x <= 0.0 {
        return NORMAL;
    }
    SPEEDS
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let da = (a.ln() - x.ln()).abs();
            let db = (b.ln() - x.ln()).abs();
            da.total_cmp(&db)
        })
        .map(|(i, _)| i)
        .unwrap_or(NORMAL)
}

/// Applies one key's action to the playback. The recording itself is never changed:
/// every action here only moves the viewer. Actions a replay has no use for do nothing.
pub fn on_key(p: &mut Playback, action: Action) -> KeyOutcome {
    p.notice = None;
    match action {
        Action::Quit => return KeyOutcome::Quit,
        Action::HelpToggle => p.help = !p.help,
        Action::LayerClose => p.help = false,
        Action::ReplayPlayPause => p.play_pause(),
        Action::ReplayStepBack => p.step_back(),
        Action::ReplayStepForward => p.step_forward(),
        Action::ReplayPrevAction => {
            p.notice = (!p.prev_action()).then_some("no earlier action");
        }
        Action::ReplayNextAction => {
            p.notice = (!p.next_action()).then_some("no later action");
        }
        Action::ReplayFaster => p.faster(),
        Action::ReplaySlower => p.slower(),
        _ => {}
    }
    KeyOutcome::Continue
}

/// What a key does in the replay, through the keymap's `[replay]` table: an action, or
/// nothing yet (`pending` holds the keys of an unfinished chord; a miss drops them).
pub fn key_action(keymap: &Keymap, pending: &mut Vec<KeyChord>, key: KeyChord) -> Option<Action> {
    match keymap.lookup(Mode::Replay, pending, key) {
        Lookup::Action(a) => {
            pending.clear();
            Some(a)
        }
        Lookup::Pending => {
            pending.push(key);
            None
        }
        Lookup::NoMatch => {
            pending.clear();
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    /// 100 s of recording: moments every 10 s, actions at 30 s and 70 s.
    fn sample() -> Playback {
        let times: Vec<Timestamp> = (0..=10).map(|i| t(1000 + i * 10)).collect();
        Playback::new((t(1000), t(1100)), &times, &[t(1070), t(1030)], 1.0)
    }

    #[test]
    fn opens_playing_at_the_start() {
        let p = sample();
        assert_eq!(p.at(), t(1000));
        assert!(p.playing());
        assert_eq!(p.speed(), 1.0);
        assert_eq!(p.length(), Duration::from_secs(100));
        assert_eq!(p.actions(), &[t(1030), t(1070)]);
    }

    #[test]
    fn playing_advances_by_real_time_times_speed_and_stops_at_the_end() {
        let mut p = sample();
        assert!(p.advance(Duration::from_secs(2)));
        assert_eq!(p.at(), t(1002));
        p.faster();
        p.faster(); // ×4
        p.advance(Duration::from_millis(500));
        assert_eq!(p.at(), t(1004));
        p.advance(Duration::from_secs(1000));
        assert_eq!(p.at(), t(1100));
        assert!(!p.playing(), "stops at the end");
        assert!(!p.advance(Duration::from_secs(1)));
        assert_eq!(p.at(), t(1100));
    }

    #[test]
    fn slow_speeds_keep_the_fraction() {
        let mut p = sample();
        for _ in 0..4 {
            p.slower();
        }
        assert_eq!(p.speed(), 0.25);
        // 30 ticks of 1 ms at ×0.25 is 7.5 ms: 7 whole, the half kept for later.
        for _ in 0..30 {
            p.advance(Duration::from_millis(1));
        }
        assert_eq!(p.at(), Timestamp(1_000_007));
        for _ in 0..2 {
            p.advance(Duration::from_millis(1));
        }
        assert_eq!(p.at(), Timestamp(1_000_008));
    }

    #[test]
    fn paused_does_not_move() {
        let mut p = sample();
        p.play_pause();
        assert!(!p.playing());
        assert!(!p.advance(Duration::from_secs(5)));
        assert_eq!(p.at(), t(1000));
    }

    #[test]
    fn steps_walk_the_recorded_moments_and_clamp() {
        let mut p = sample();
        p.advance(Duration::from_secs(15));
        p.step_forward();
        assert!(!p.playing(), "a step pauses");
        assert_eq!(p.at(), t(1020));
        p.step_back();
        assert_eq!(p.at(), t(1010));
        p.step_back();
        p.step_back();
        assert_eq!(p.at(), t(1000), "clamped at the start");
        p.seek(t(1095));
        p.step_forward();
        assert_eq!(p.at(), t(1100));
        p.step_forward();
        assert_eq!(p.at(), t(1100), "clamped at the end");
    }

    #[test]
    fn jumps_go_between_actions_and_stay_when_there_is_none() {
        let mut p = sample();
        assert!(!p.prev_action());
        assert_eq!(p.at(), t(1000));
        assert!(p.next_action());
        assert_eq!(p.at(), t(1030));
        assert!(p.next_action());
        assert_eq!(p.at(), t(1070));
        assert!(!p.next_action());
        assert_eq!(p.at(), t(1070));
        p.seek(t(1071));
        assert!(p.prev_action(), "just after an action, [ goes back to it");
        assert_eq!(p.at(), t(1070));
        assert!(p.prev_action());
        assert_eq!(p.at(), t(1030));
        assert!(p.playing(), "a jump keeps playing");
    }

    #[test]
    fn speed_is_clamped_and_snapped() {
        let mut p = sample();
        for _ in 0..20 {
            p.faster();
        }
        assert_eq!(p.speed(), 64.0);
        for _ in 0..20 {
            p.slower();
        }
        assert_eq!(p.speed(), 0.25);
        let at = |x| Playback::new((t(0), t(1)), &[], &[], x).speed();
        assert_eq!(at(4.0), 4.0);
        assert_eq!(at(5.0), 4.0);
        assert_eq!(at(7.0), 8.0);
        assert_eq!(at(1000.0), 64.0);
        assert_eq!(at(0.01), 0.25);
        assert_eq!(at(-3.0), 1.0);
        assert_eq!(at(f64::NAN), 1.0);
    }

    #[test]
    fn play_at_the_end_starts_over() {
        let mut p = sample();
        p.advance(Duration::from_secs(500));
        assert!(!p.playing());
        p.play_pause();
        assert!(p.playing());
        assert_eq!(p.at(), t(1000));
    }

    #[test]
    fn an_empty_recording_never_plays() {
        let mut p = Playback::new((t(5), t(5)), &[t(5)], &[], 1.0);
        assert!(!p.playing());
        p.play_pause();
        assert!(!p.playing());
        p.step_forward();
        p.step_back();
        assert_eq!(p.at(), t(5));
    }

    #[test]
    fn times_outside_the_span_are_dropped() {
        let p = Playback::new((t(10), t(20)), &[t(5), t(15)], &[t(25), t(12), t(12)], 1.0);
        assert_eq!(p.actions(), &[t(12)]);
    }

    #[test]
    fn keys_move_only_the_viewer() {
        let mut p = sample();
        assert_eq!(
            on_key(&mut p, Action::ReplayPlayPause),
            KeyOutcome::Continue
        );
        assert!(!p.playing());
        on_key(&mut p, Action::ReplayNextAction);
        assert_eq!(p.at(), t(1030));
        on_key(&mut p, Action::ReplayStepForward);
        assert_eq!(p.at(), t(1040));
        on_key(&mut p, Action::ReplayStepBack);
        on_key(&mut p, Action::ReplayStepBack);
        assert_eq!(p.at(), t(1020));
        on_key(&mut p, Action::ReplayPrevAction);
        assert_eq!(p.at(), t(1020), "no action before 1020");
        assert_eq!(p.notice, Some("no earlier action"));
        on_key(&mut p, Action::ReplayFaster);
        assert_eq!(p.notice, None, "the next key clears the remark");
        assert_eq!(p.speed(), 2.0);
        on_key(&mut p, Action::ReplaySlower);
        on_key(&mut p, Action::ReplaySlower);
        assert_eq!(p.speed(), 0.5);
        on_key(&mut p, Action::ReplayNextAction);
        on_key(&mut p, Action::ReplayNextAction);
        assert_eq!(p.at(), t(1070));
        on_key(&mut p, Action::ReplayNextAction);
        assert_eq!(p.notice, Some("no later action"));
        on_key(&mut p, Action::HelpToggle);
        assert!(p.help);
        on_key(&mut p, Action::LayerClose);
        assert!(!p.help);
        // Run control has no meaning in a replay: nothing moves, nothing is sent.
        let before = p.clone();
        for a in [Action::RunRollback, Action::RunAbort, Action::NoteOpen] {
            assert_eq!(on_key(&mut p, a), KeyOutcome::Continue);
        }
        assert_eq!(p, before);
        assert_eq!(on_key(&mut p, Action::Quit), KeyOutcome::Quit);
    }

    #[test]
    fn keys_resolve_through_the_replay_table() {
        let km = Keymap::default();
        let k = |s: &str| KeyChord::parse(s).unwrap();
        let mut pending = Vec::new();
        assert_eq!(
            key_action(&km, &mut pending, k("space")),
            Some(Action::ReplayPlayPause)
        );
        assert_eq!(
            key_action(&km, &mut pending, k("]")),
            Some(Action::ReplayNextAction)
        );
        assert_eq!(
            key_action(&km, &mut pending, k("left")),
            Some(Action::ReplayStepBack)
        );
        // Run control is not in the replay table: `r` does nothing here.
        assert_eq!(key_action(&km, &mut pending, k("r")), None);
        assert_eq!(key_action(&km, &mut pending, k("q")), Some(Action::Quit));
        assert!(pending.is_empty());
    }
}
