//! The drill world end to end: determinism of the world and the sim source, every built-in
//! scenario running 30 simulated minutes with sane figures, and located scenario errors.

use std::path::PathBuf;
use std::time::Duration;

use ebb::diag::SourceFile;
use ebb::sim::source::{observe, replay};
use ebb::sim::world::{Scenario, World, WorldControl};
use ebb::sources::{Observation, Payload};
use ebb::time::Timestamp;

fn default_scenario() -> Scenario {
    match Scenario::builtin(Scenario::default_name()) {
        Some(Ok(s)) => s,
        Some(Err(e)) => panic!("{e}"),
        None => panic!("no default scenario"),
    }
}

fn replay_json(seed: u64, secs: u64) -> String {
    let mut w = World::new(&default_scenario(), seed);
    let obs = replay(
        &mut w,
        Timestamp::from_secs(1_795_489_200),
        secs,
        Duration::from_secs(1),
    );
    serde_json::to_string(&obs).unwrap()
}

#[test]
fn same_seed_same_world() {
    let sc = default_scenario();
    let mut a = World::new(&sc, 7);
    let mut b = World::new(&sc, 7);
    for _ in 0..300 {
        a.step(Duration::from_millis(700));
        b.step(Duration::from_millis(700));
    }
    assert_eq!(a.state_digest(), b.state_digest());
    assert_eq!(a, b);
    let mut c = World::new(&sc, 8);
    for _ in 0..300 {
        c.step(Duration::from_millis(700));
    }
    assert_ne!(
        a.state_digest(),
        c.state_digest(),
        "another seed, another world"
    );
}

#[test]
fn same_seed_same_observations_byte_for_byte() {
    let a = replay_json(42, 120);
    assert_eq!(a, replay_json(42, 120));
    assert_ne!(a, replay_json(43, 120));
}

#[test]
fn controls_replay_deterministically() {
    let run = || {
        let mut w = World::new(&default_scenario(), 3);
        w.step(Duration::from_secs(60));
        w.apply(WorldControl::PauseBackfill).unwrap();
        w.apply(WorldControl::TakeSnapshot {
            volume: "pgdata-orders-db-0".into(),
            name: None,
        })
        .unwrap();
        w.step(Duration::from_secs(60));
        w.state_digest()
    };
    assert_eq!(run(), run());
}

fn check_sane(name: &str, t: u64, obs: &[Observation]) {
    for o in obs {
        match &o.payload {
            Payload::Replication(r) => {
                assert!(
                    r.wal_bytes_per_sec.is_finite() && r.wal_bytes_per_sec >= 0.0,
                    "{name} t={t}"
                );
                for rep in &r.replicas {
                    if let Some(l) = rep.time_lag {
                        assert!(l < Duration::from_secs(86_400), "{name} t={t} lag {l:?}");
                    }
                }
            }
            Payload::Storage(s) => {
                for v in &s.volumes {
                    assert!(v.used_bytes <= v.capacity_bytes, "{name} t={t} {}", v.name);
                    assert!(v.growth_bytes_per_sec.is_finite(), "{name} t={t}");
                }
                for sl in &s.slots {
                    let st = sl.wal_status.as_str();
                    assert!(
                        ["reserved", "extended", "unreserved", "lost"].contains(&st),
                        "{st}"
                    );
                }
            }
            Payload::Migrations(m) => {
                for mig in &m.migrations {
                    assert!(mig.rows_done <= mig.rows_total, "{name} t={t}");
                    assert!(
                        mig.rows_per_sec.is_finite() && mig.rows_per_sec >= 0.0,
                        "{name} t={t}"
                    );
                }
            }
            Payload::App(a) => {
                assert!(
                    (0.0..=1.0).contains(&a.error_rate),
                    "{name} t={t} {}",
                    a.error_rate
                );
                assert!(a.ready <= a.replicas);
            }
            Payload::Events(ev) => assert!(ev.iter().all(|e| e.at <= o.at), "{name} t={t}"),
            Payload::Error(_) => {}
            Payload::Objectives(_) => {}
            Payload::Kube(_) => panic!("{name} t={t}: the drill world has no kubernetes source"),
        }
    }
}

#[test]
fn every_builtin_runs_thirty_minutes_sanely() {
    assert!(Scenario::builtin_names().contains(&Scenario::default_name()));
    assert!(Scenario::builtin_names().len() >= 4);
    for name in Scenario::builtin_names() {
        let sc = match Scenario::builtin(name) {
            Some(Ok(s)) => s,
            Some(Err(e)) => panic!("{name}: {e}"),
            None => panic!("{name} listed but missing"),
        };
        assert_eq!(&sc.name, name, "scenario name matches its file stem");
        assert!(!sc.title.is_empty() && !sc.description.is_empty());
        let mut w = World::new(&sc, 1);
        let start = Timestamp::from_secs(1_795_489_200);
        let mut saw_error = false;
        for t in 0..1800u64 {
            w.step(Duration::from_secs(1));
            if t % 5 == 0 {
                let at = start.plus(w.elapsed());
                let obs = observe(&mut w, at, Duration::from_secs(1));
                saw_error |= obs.iter().any(|o| matches!(o.payload, Payload::Error(_)));
                check_sane(name, t, &obs);
            }
        }
        let has_outage = sc.faults.iter().any(|f| {
            matches!(
                f.fault,
                ebb::sim::world::scenario::Fault::SourceOutage { .. }
            )
        });
        assert_eq!(saw_error, has_outage, "{name}: outages show as errors");
    }
}

#[test]
fn default_scenario_tells_its_story() {
    let mut w = World::new(&default_scenario(), 42);
    w.step(Duration::from_secs(20));
    let lag = w.state().replicas[0].time_lag.unwrap_or(0.0);
    assert!(lag > 3.0, "replica-1 visibly lagging after 20 s: {lag}");
    w.step(Duration::from_secs(280));
    let events = w.drain_events();
    assert!(
        events.iter().any(|e| e.text.contains("throttled")),
        "throttled within five minutes"
    );
    w.step(Duration::from_secs(25 * 60));
    let v = &w.state().volumes[0];
    assert!(
        v.used / v.capacity > 0.9,
        "disk critical within ~30 min: {}",
        v.used / v.capacity
    );
}

#[test]
fn load_finds_builtins_and_files() {
    assert!(Scenario::load("backfill-slot-fill").is_ok());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/scenarios/crashloop-new-revision.toml");
    assert_eq!(
        Scenario::load(&path.display().to_string())
            .map(|s| s.name)
            .ok(),
        Some("crashloop-new-revision".to_string())
    );
    let e = Scenario::load("no-such-scenario").unwrap_err();
    assert!(
        e.help
            .as_deref()
            .unwrap_or("")
            .contains("backfill-slot-fill"),
        "{e}"
    );
}

#[test]
fn invalid_scenarios_give_located_errors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/invalid/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for path in files {
        let file = SourceFile::read(&path).unwrap();
        let first = file.text.lines().next().unwrap_or("");
        let expect = first.strip_prefix("# expect: ").unwrap_or_else(|| {
            panic!(
                "{}: first line must be `# expect: LINE:COL: text`",
                path.display()
            )
        });
        let mut parts = expect.splitn(3, ':');
        let line: usize = parts.next().unwrap().trim().parse().unwrap();
        let col: usize = parts.next().unwrap().trim().parse().unwrap();
        let text = parts.next().unwrap().trim();
        let err = match Scenario::parse(&file) {
            Ok(_) => panic!("{} parsed but should not", path.display()),
            Err(e) => e,
        };
        assert_eq!(
            (err.line, err.col),
            (line, col),
            "{}: {err}",
            path.display()
        );
        assert!(err.message.contains(text), "{}: {err}", path.display());
    }
}
