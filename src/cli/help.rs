//! What each command's long help (`--help`) adds after its options: examples and the exit
//! statuses it can end with. One table of statuses, one list of examples per command.

/// Ended as asked: the console quit, the run finished, the file is valid.
pub const EXIT_OK: u8 = 0;
/// A check said no: a file is invalid, the log does not verify, a change was refused.
pub const EXIT_FAILED: u8 = 1;
/// Could not do it: bad arguments, a located file error, the store or a target unreachable.
pub const EXIT_ERROR: u8 = 2;
/// A headless run ended aborted (its steps stopped where they were).
pub const EXIT_ABORTED: u8 = 3;
/// A headless run stopped paused; `ebb resume RUN` continues it.
pub const EXIT_PAUSED: u8 = 4;

/// The statuses a console ends with (drill, console, run, resume, attach, watch, replay).
macro_rules! console_statuses {
    () => {
        "  0    quit (q), or detached from a run that goes on\n\
         \x20 2    could not start: bad arguments, a file error (file:line:col), no terminal\n\
         \x20 5    ended, but its audit session could not be sealed\n\
         \x20 129  SIGHUP or the terminal went away (terminal restored; a run goes on)\n\
         \x20 130  SIGINT     143  SIGTERM\n"
    };
}

/// The statuses of a headless run or resume, besides the console's.
macro_rules! headless_statuses {
    () => {
        "  With --headless: 0 completed or rolled back, 3 aborted, 4 stopped paused\n\
         \x20 (continue it with `ebb resume RUN`), 6 the audit log cannot be written\n\
         \x20 (AUDIT DOWN: nothing was started).\n"
    };
}

/// The statuses of a command that only reads or writes the store.
macro_rules! store_statuses {
    () => {
        "  0  done     2  could not: bad arguments, the store unreachable, no such run\n"
    };
}

/// `ebb --help` and ebb(1): where ebb keeps things, what it reads, how it ends.
pub const TOP: &str = concat!(
    "Start here:\n",
    "  ebb drill                  rehearse on the built-in world (no infrastructure)\n",
    "  ebb plan check PLAN        validate a rollback plan\n",
    "  ebb run PLAN               run it; others `ebb attach RUN` or `ebb watch RUN`\n",
    "  ebb COMMAND --help         a command's options, examples and exit statuses\n",
    "\nEnvironment:\n",
    "  EBB_STORE        the store: a SQLite file or a postgres:// URL (as --store)\n",
    "  EBB_AUDIT_KEY    the audit signing key file (as --key)\n",
    "  EBB_LOG          log filter (tracing syntax, default info); EBB_LOG_FILES: days kept\n",
    "  NO_COLOR         a non-empty value: the mono theme\n",
    "  XDG_CONFIG_HOME  ebb/: keymap.toml, theme.toml, keymaps/, themes/, audit.key\n",
    "                   (default ~/.config)\n",
    "  XDG_STATE_HOME   ebb.db and logs/ under ebb/ (default ~/.local/state)\n",
    "  A relative XDG_* is ignored, as the XDG spec says.\n",
    "\nExit status:\n",
    "  0 done   1 a check said no   2 could not (error)   3 run aborted   4 run paused\n",
    "  5 audit session not sealed   6 AUDIT DOWN   7 refused by policy   129/130/143 signal\n",
);

pub const DRILL: &str = concat!(
    "Examples:\n",
    "  ebb drill                                  the default scenario and its plan\n",
    "  ebb drill --scenario crashloop-new-revision --speed 10\n",
    "  ebb drill --plan my-release-rollback.toml  rehearse your own plan on the world\n",
    "  ebb drill --facilitate                     a team drill: prints the id to attach\n",
    "  ebb drill --seed 7 --theme light --keymap vim\n",
    "\nExit status:\n",
    console_statuses!(),
);

pub const CONSOLE: &str = concat!(
    "Examples:\n",
    "  ebb console --config examples/postgres/console.toml\n",
    "  ebb console --config release-42-rollback.toml       a plan's targets and steps\n",
    "  ebb console --config plan.toml --context prod-eu -n shop\n",
    "\nExit status:\n",
    console_statuses!(),
);

pub const RUN: &str = concat!(
    "Examples:\n",
    "  ebb run release-42-rollback.toml             a runner drives it; this console attaches\n",
    "  ebb run release-42-rollback.toml --drill     rehearse it: nothing real is reached\n",
    "  ebb run plan.toml --context prod-eu -n shop  kubernetes targets in another place\n",
    "  ebb run plan.toml --headless --json --yes    for scripts: JSON lines, no prompts\n",
    "  ebb run plan.toml --step                     one step, then pause\n",
    "\nExit status:\n",
    console_statuses!(),
    "  7    refused by the policy in force (a role, an unapproved plan)\n",
    headless_statuses!(),
);

pub const RESUME: &str = concat!(
    "Examples:\n",
    "  ebb runs list                  find the run whose runner is gone\n",
    "  ebb resume 01JD3Q…             a new runner; no step is applied twice\n",
    "  ebb resume 01JD3Q… --headless\n",
    "\nExit status:\n",
    console_statuses!(),
    headless_statuses!(),
);

pub const ATTACH: &str = concat!(
    "Examples:\n",
    "  ebb attach 01JD3Q…                         drive a run from a second terminal\n",
    "  ebb attach 01JD3Q… --headless --json       followed events as JSON lines\n",
    "  ebb attach 01JD3Q… --facilitate            the facilitator's console of a drill\n",
    "  EBB_STORE=postgres://ebb@db/ebb ebb attach 01JD3Q…\n",
    "\nExit status:\n",
    console_statuses!(),
    "  6    --headless only: the audit log cannot be written (AUDIT DOWN)\n",
);

pub const WATCH: &str = concat!(
    "Examples:\n",
    "  ebb watch 01JD3Q…              follow a run; run-control keys are refused (audited)\n",
    "  ebb watch 01JD3Q… --headless   followed events as lines\n",
    "\nExit status:\n",
    console_statuses!(),
);

pub const RUNS: &str = concat!(
    "Examples:\n",
    "  ebb runs list\n",
    "  ebb runs list --json | jq '.[] | select(.state == \"paused\")'\n",
    "  ebb runs show 01JD3Q…\n",
    "\nExit status:\n",
    store_statuses!(),
);

pub const REPLAY: &str = concat!(
    "Examples:\n",
    "  ebb replay 01JD3Q…                 the run's console (space pauses, ←/→ seek)\n",
    "  ebb replay 01JD3Q… --list          its recorded consoles\n",
    "  ebb replay 01JD3Q… --console 4f2a… --speed 8\n",
    "\nExit status:\n",
    "  0  quit     2  could not: no recording, no such run or console, no terminal\n",
);

pub const SCREENSHOT: &str = concat!(
    "Examples:\n",
    "  ebb screenshot -o drill.svg --at 600\n",
    "  ebb screenshot --scenario abandoned-cdc-slot --size 120x40 -o cdc.svg\n",
    "  ebb screenshot --replay 01JD3Q… --at 5m -o at-5m.svg\n",
    "\nExit status:\n",
    "  0  written     2  could not: a file error, no such run or recording\n",
);

pub const PLAN: &str = concat!(
    "Examples:\n",
    "  ebb plan check release-42-rollback.toml\n",
    "  ebb plan check plan.toml --json            for CI\n",
    "  ebb plan check plan.toml --rbac | kubectl apply -f -\n",
    "  ebb plan approve plan.toml                 an approver signs its digest\n",
    "\nExit status:\n",
    "  0  valid (approved)     1  invalid, every error with file:line:col\n",
    "  2  could not          5  approved, audit session not sealed     7  refused\n",
);

pub const AUDIT: &str = concat!(
    "Examples:\n",
    "  ebb audit verify\n",
    "  ebb audit show --since 1h\n",
    "  ebb audit export --since 2026-11-24T03:00:00+01:00 > incident.jsonl\n",
    "  ebb audit pubkey > ops.pub; ebb audit verify --from-file incident.jsonl --pubkey ops.pub\n",
    "  ebb audit keys show-mine                  for an admin to `ebb audit keys add`\n",
    "\nExit status:\n",
    "  0  verified / done     1  the log does not verify, or nothing to change\n",
    "  2  could not           5  done, audit session not sealed     6  AUDIT DOWN\n",
    "  7  refused by the policy in force (keys add and revoke are for admins)\n",
);

pub const POLICY: &str = concat!(
    "Examples:\n",
    "  ebb policy apply examples/policy.toml\n",
    "  ebb policy show\n",
    "\nExit status:\n",
    "  0  applied / shown     1  invalid, every error with file:line:col\n",
    "  2  could not           5  applied, audit session not sealed     7  refused\n",
);

pub const REPORT: &str = concat!(
    "Examples:\n",
    "  ebb report 01JD3Q…                          Markdown on stdout\n",
    "  ebb report 01JD3Q… -o debrief.md            charts beside it as SVG files\n",
    "  ebb report 01JD3Q… --format html -o debrief.html\n",
    "\nExit status:\n",
    store_statuses!(),
);

pub const COMPLETIONS: &str = concat!(
    "Examples:\n",
    "  ebb completions bash > ~/.local/share/bash-completion/completions/ebb\n",
    "  ebb completions zsh > \"${fpath[1]}/_ebb\"\n",
    "  ebb completions fish > ~/.config/fish/completions/ebb.fish\n",
    "\nExit status:\n",
    "  0  written     2  an unknown shell\n",
);

pub const MAN: &str = concat!(
    "Examples:\n",
    "  ebb man > ~/.local/share/man/man1/ebb.1 && man ebb\n",
    "  ebb man | man -l -\n",
    "  ebb man --dir ~/.local/share/man/man1      every command's page: man ebb-run\n",
    "\nExit status:\n",
    "  0  written\n",
);

#[cfg(test)]
mod tests {
    #[test]
    fn statuses_line_up() {
        for text in [super::DRILL, super::RUN, super::AUDIT, super::PLAN] {
            for line in text.lines().filter(|l| !l.is_empty() && !l.ends_with(':')) {
                assert!(line.starts_with("  "), "{line:?} is not indented");
            }
        }
        assert!(super::RUN.contains("3 aborted") && super::RUN.contains("4 stopped paused"));
    }
}
