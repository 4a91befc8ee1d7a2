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

/// The facilitator's speed and freeze outlive the runner: they are journaled, and the host
/// a new runner builds from the journal goes on at the same pace, still frozen.
#[tokio::test]
async fn the_drill_clock_is_journaled_and_a_new_host_keeps_it() {
    use ebb::runner::drill::DrillHost;
    use ebb::runner::store_journal::{DrillClock, load};
    use ebb::sim::facilitate::FacilitatorRequest;
    use ebb::sim::source::DrillCommand;
    use ebb::sim::world::{Scenario, World};
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let store = ebb::store::Store::open(&dir.path().join("ebb.db").to_string_lossy())
        .await
        .unwrap();
    store
        .create_run(&ebb::store::NewRun {
            id: "r-clock".into(),
            plan_name: "p".into(),
            plan_digest: "sha256:0".into(),
            plan_path: "p.toml".into(),
            plan_source: String::new(),
            scenario: Some("backfill-slot-fill".into()),
            seed: Some(42),
            operator: "f".into(),
            kube_context: None,
            kube_namespace: None,
            at: 1,
        })
        .await
        .unwrap();
    let scenario = Scenario::load("backfill-slot-fill").unwrap();
    let world = || Arc::new(Mutex::new(World::new(&scenario, 42)));
    let start = DrillClock {
        speed: 1.0,
        frozen: false,
    };

    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let mut host = DrillHost::new(world(), tx, store.clone(), "r-clock", start);
    assert_eq!(load(&store, "r-clock").await.unwrap().clock, None);
    host.take(1, FacilitatorRequest::Speed { speed: 8.0 }, "f")
        .await
        .unwrap();
    host.take(2, FacilitatorRequest::Freeze { frozen: true }, "f")
        .await
        .unwrap();
    assert_eq!(rx.try_recv().unwrap(), DrillCommand::SetSpeed(8.0));
    assert_eq!(rx.try_recv().unwrap(), DrillCommand::Freeze(true));
    let kept = load(&store, "r-clock").await.unwrap().clock;
    assert_eq!(
        kept,
        Some(DrillClock {
            speed: 8.0,
            frozen: true
        })
    );

    // A new runner: the host built from the journal freezes its clock at once.
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let again = DrillHost::new(world(), tx, store.clone(), "r-clock", kept.unwrap());
    assert_eq!(rx.try_recv().unwrap(), DrillCommand::Freeze(true));
    assert_eq!((again.seen().speed, again.seen().frozen), (8.0, true));
}
