//! A facilitated drill: the facilitator's console (`ebb drill --facilitate`) and a
//! participant's (`ebb attach`) on one runner's drill; faults injected through the one door.

use crate::team::{Team, record_with, within};

/// The facilitator injects a stall: the participant sees the replica stop replaying but
/// not the injection; an announcement reaches everyone; each side's keys stay its own; the
/// audit log holds the facilitator's intent with what was chosen, and the runner's outcome.
#[test]
fn a_facilitator_injects_faults_the_participants_see_by_their_effects() {
    let team = Team::sqlite();
    let mut f = team.console(
        &[
            "drill",
            "--facilitate",
            "--speed",
            "5",
            "--operator",
            "fran",
        ],
        "f",
    );
    within(&f, "the facilitator's console", |s| {
        s.contains("Drill · facilitator") && s.contains("(facilitator)")
    });
    let run = team.newest_run();
    let mut p = team.console(&["attach", &run, "--operator", "pat"], "p");
    within(&p, "the participant following the drill", |s| {
        s.contains("replica-2") && s.contains("2 attached")
    });
    assert!(
        !p.describe().contains("Drill · facilitator"),
        "a participant does not see the score or the fault list"
    );

    // The facilitator's menu: stall replica-2's replay.
    f.send(b"I");
    within(&f, "the menu", |s| s.contains("type to narrow"));
    f.send(b"stall replica-2");
    within(&f, "the one line left", |s| {
        s.contains("inject now: replica apply stall on replica-2")
    });
    f.send(b"\r");
    within(&f, "the injected fault in the facilitator's box", |s| {
        s.contains("WAL replay stalled (injected)")
    });
    within(&p, "the participant seeing the effect", |s| {
        s.contains("apply stalled")
    });
    let screen = p.describe();
    assert!(
        !screen.contains("injected") && !screen.contains("replay stalled"),
        "the participant sees effects, not the action:\n{screen}"
    );

    // Each console keeps to its part.
    p.send(b"I");
    within(&p, "the participant refused the menu", |s| {
        s.contains("only a facilitator's console has the fault menu")
    });
    f.send(b"p");
    within(&f, "the facilitator refused run control", |s| {
        s.contains("drives the world, not the run")
    });

    // An announcement reaches every console.
    f.send(b"I");
    within(&f, "the menu again", |s| s.contains("type to narrow"));
    f.send(b"say failover drill starts now");
    f.send(b"\r");
    within(&p, "the announcement on the participant", |s| {
        s.contains("announcement from") && s.contains("failover drill starts now")
    });

    // End the fault early: the replica replays again.
    f.send(b"I");
    within(&f, "the menu once more", |s| s.contains("type to narrow"));
    f.send(b"end fault");
    within(&f, "the end line", |s| s.contains("end fault #1"));
    f.send(b"\r");
    within(&p, "replica-2 streaming again", |s| {
        !s.contains("apply stalled")
    });

    let audit = team.audit();
    let intent = audit
        .iter()
        .find(|r| {
            r["kind"] == "intent"
                && r["action"] == "drill.fault"
                && r["args"]["choice"]
                    .as_str()
                    .is_some_and(|c| c.contains("replica apply stall on replica-2"))
        })
        .expect("the facilitator's intent, with what was chosen");
    assert_eq!(intent["operator"]["annotation"], "fran", "{intent}");
    assert!(
        record_with(&audit, "drill.fault", "applied by the runner").is_some(),
        "the runner's outcome"
    );
    assert!(
        record_with(&audit, "faults.open", "").is_none()
            || audit
                .iter()
                .any(|r| r["action"] == "faults.open" && r["operator"]["annotation"] == "pat"),
        "the participant's refused menu is on record as theirs"
    );
    assert!(
        record_with(&audit, "run.pause", "refused: a facilitator's console").is_some(),
        "the facilitator's refused verb is on record"
    );
    // The injection is journaled as an effect of the world, so a new runner rebuilds it.
    let journal = team.ebb(&["runs", "show", &run, "--json"]);
    let text = String::from_utf8_lossy(&journal.stdout);
    assert!(text.contains("facilitator-"), "{text}");
    p.send(b"q");
    p.send(b"d");
    f.send(b"q");
    f.send(b"d");
    p.wait_exit();
    f.wait_exit();

    // The debrief names what the facilitator did, and when.
    let out = team.ebb(&["report", &run, "--format", "md"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    for said in [
        "fault injected now: replica apply stall on replica-2",
        "facilitator: announce to every console: failover drill starts now",
        "facilitator: end fault",
    ] {
        assert!(md.contains(said), "{said} not in the report:\n{md}");
    }
}

/// Under a policy, the facilitator role comes from the policy: without it, `ebb drill
/// --facilitate` is refused before anything starts (no run, no runner), and so is
/// `ebb attach --facilitate`; granted, the facilitator's console opens.
#[test]
fn under_a_policy_only_its_facilitators_facilitate() {
    let team = Team::sqlite();
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .expect("this user's name");
    let policy = team.write(
        "policy.toml",
        &format!("[roles]\nadmin = [\"{me}\"]\nresponder = [\"{me}\"]\n"),
    );
    let out = team.ebb(&["policy", "apply", &policy]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = team.ebb(&["drill", "--facilitate"]);
    assert_eq!(out.status.code(), Some(7), "a policy refusal exits 7");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("does not make {me} a facilitator")),
        "{err}"
    );
    assert!(team.runs().is_empty(), "nothing was started");

    let granted = team.write(
        "granted.toml",
        &format!("[roles]\nadmin = [\"{me}\"]\nresponder = [\"{me}\"]\nfacilitator = [\"{me}\"]\n"),
    );
    let out = team.ebb(&["policy", "apply", &granted]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut f = team.console(&["drill", "--facilitate", "--speed", "5"], "f");
    within(&f, "the facilitator's console", |s| {
        s.contains("Drill · facilitator")
    });
    f.send(b"q");
    f.send(b"d");
    f.wait_exit();
}
