//! The store's journal tests, written once against `&Store` and run on SQLite (a temp
//! file) and on a real PostgreSQL primary started by the test (support::pg).

use std::collections::BTreeSet;

use ebb::store::{JournalEntry, LeaseOutcome, NewRun, Store, StoreError};
use serde_json::json;

use crate::support::pg::PgCluster;

fn new_run(id: &str, at: i64) -> NewRun {
    NewRun {
        id: id.to_string(),
        plan_name: "rollback-orders".into(),
        plan_digest: "sha256:abc".into(),
        plan_path: "examples/plans/rollback.toml".into(),
        plan_source: "[plan]\nname = \"rollback-orders\"\n# ünïcode\n".into(),
        scenario: Some("bad-migration".into()),
        seed: Some(u64::MAX - 7),
        operator: "alice".into(),
        kube_context: None,
        kube_namespace: None,
        at,
    }
}

fn entry(kind: &str, key: Option<&str>, data: serde_json::Value) -> JournalEntry {
    JournalEntry {
        kind: kind.into(),
        step_id: Some("pause-backfill".into()),
        idempotency_key: key.map(str::to_string),
        data,
        at: 1_000,
    }
}

// ---- the shared tests -------------------------------------------------------------

async fn runs_are_created_and_listed_newest_first(s: &Store) {
    s.create_run(&new_run("r-1", 100)).await.unwrap();
    s.create_run(&new_run("r-2", 200)).await.unwrap();
    let mut r3 = new_run("r-3", 150);
    r3.scenario = None;
    r3.seed = None;
    s.create_run(&r3).await.unwrap();

    let ids: Vec<String> = s.runs().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["r-2", "r-3", "r-1"]);

    let r1 = s.run("r-1").await.unwrap().unwrap();
    let want = new_run("r-1", 100);
    assert_eq!(r1.plan_source, want.plan_source);
    assert_eq!(r1.seed, want.seed);
    assert_eq!(r1.scenario.as_deref(), Some("bad-migration"));
    assert_eq!(
        (r1.state.as_str(), r1.created_at, r1.updated_at),
        ("created", 100, 100)
    );
    let r3 = s.run("r-3").await.unwrap().unwrap();
    assert_eq!((r3.scenario, r3.seed), (None, None));
    assert!(s.run("nope").await.unwrap().is_none());

    s.set_run_state("r-1", "running", 300).await.unwrap();
    let r1 = s.run("r-1").await.unwrap().unwrap();
    assert_eq!(
        (r1.state.as_str(), r1.created_at, r1.updated_at),
        ("running", 100, 300)
    );

    assert!(matches!(
        s.create_run(&new_run("r-1", 400)).await,
        Err(StoreError::RunExists(id)) if id == "r-1"
    ));
    assert!(matches!(
        s.set_run_state("nope", "running", 1).await,
        Err(StoreError::NoSuchRun(_))
    ));
}

async fn append_assigns_increasing_seqs_and_keeps_json(s: &Store) {
    s.create_run(&new_run("r-j", 1)).await.unwrap();
    s.create_run(&new_run("r-other", 1)).await.unwrap();
    let payloads = [
        json!({"step": "pause-backfill", "batch": 3, "ok": true, "lag_s": 1.5}),
        json!(["a", {"nested": null}, 18446744073709551615u64, -3]),
        json!("text with \"quotes\", ünïcode and \u{1b}[31m escapes"),
    ];
    for (i, p) in payloads.iter().enumerate() {
        let mut e = entry("step.intent", None, p.clone());
        e.at = 10 + i as i64;
        if i == 1 {
            e.step_id = None;
        }
        assert_eq!(s.append("r-j", &e).await.unwrap(), i as i64 + 1);
    }
    // Another run has its own sequence.
    assert_eq!(
        s.append("r-other", &entry("run.started", None, json!({})))
            .await
            .unwrap(),
        1
    );

    let j = s.journal("r-j").await.unwrap();
    assert_eq!(j.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    for (i, r) in j.iter().enumerate() {
        assert_eq!(r.data, payloads[i]);
        assert_eq!(r.at, 10 + i as i64);
        assert_eq!(r.kind, "step.intent");
    }
    assert_eq!(j[0].step_id.as_deref(), Some("pause-backfill"));
    assert_eq!(j[1].step_id, None);
    assert!(s.journal("nope").await.unwrap().is_empty());
    assert!(matches!(
        s.append("nope", &entry("x", None, json!(1))).await,
        Err(StoreError::NoSuchRun(_))
    ));
}

async fn duplicate_idempotency_key_is_refused_without_using_a_seq(s: &Store) {
    s.create_run(&new_run("r-d", 1)).await.unwrap();
    let intent = entry("step.intent", Some("r-d/pause-backfill/1"), json!({"n": 1}));
    assert_eq!(s.append("r-d", &intent).await.unwrap(), 1);
    match s.append("r-d", &intent).await {
        Err(StoreError::Duplicate { run_id, kind, key }) => {
            assert_eq!((run_id.as_str(), kind.as_str()), ("r-d", "step.intent"));
            assert_eq!(key, "r-d/pause-backfill/1");
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
    // Same key, another kind: allowed (intent then applied share the step's key).
    let applied = entry("step.applied", Some("r-d/pause-backfill/1"), json!({}));
    assert_eq!(s.append("r-d", &applied).await.unwrap(), 2);
    // No key: never a duplicate.
    let note = entry("note", None, json!({}));
    assert_eq!(s.append("r-d", &note).await.unwrap(), 3);
    assert_eq!(s.append("r-d", &note).await.unwrap(), 4);
    let seqs: Vec<i64> = s
        .journal("r-d")
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
}

async fn concurrent_appends_get_distinct_contiguous_seqs(s: &Store) {
    s.create_run(&new_run("r-c", 1)).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..50 {
                let key = format!("t{t}-{i}");
                let e = entry("step.intent", Some(&key), json!({"t": t, "i": i}));
                seqs.push(s.append("r-c", &e).await.unwrap());
            }
            seqs
        }));
    }
    let mut all = BTreeSet::new();
    for t in tasks {
        for seq in t.await.unwrap() {
            assert!(all.insert(seq), "seq {seq} given twice");
        }
    }
    assert_eq!(all, (1..=200).collect::<BTreeSet<i64>>());
    let j = s.journal("r-c").await.unwrap();
    assert_eq!(j.len(), 200);
    assert!(j.windows(2).all(|w| w[1].seq == w[0].seq + 1));
}

async fn leases_exclude_expire_renew_and_release(s: &Store) {
    let run = "r-l";
    s.create_run(&new_run(run, 1)).await.unwrap();
    assert_eq!(
        s.acquire_lease(run, "alice@a", 1_000, 500).await.unwrap(),
        LeaseOutcome::Acquired
    );
    // Bob is refused while it is unexpired, and told who holds it until when.
    assert_eq!(
        s.acquire_lease(run, "bob@b", 1_200, 500).await.unwrap(),
        LeaseOutcome::HeldBy {
            holder: "alice@a".into(),
            expires_at: 1_500
        }
    );
    // Alice re-acquiring renews.
    assert_eq!(
        s.acquire_lease(run, "alice@a", 1_400, 500).await.unwrap(),
        LeaseOutcome::Acquired
    );
    assert!(matches!(
        s.acquire_lease(run, "bob@b", 1_800, 500).await.unwrap(),
        LeaseOutcome::HeldBy {
            expires_at: 1_900,
            ..
        }
    ));
    assert!(s.renew_lease(run, "alice@a", 1_850, 500).await.unwrap());
    assert!(!s.renew_lease(run, "bob@b", 1_850, 500).await.unwrap());
    // After expiry, bob takes it over; alice can no longer renew or release it.
    assert_eq!(
        s.acquire_lease(run, "bob@b", 2_350, 500).await.unwrap(),
        LeaseOutcome::Acquired
    );
    assert!(!s.renew_lease(run, "alice@a", 2_400, 500).await.unwrap());
    s.release_lease(run, "alice@a").await.unwrap();
    assert!(matches!(
        s.acquire_lease(run, "alice@a", 2_500, 500).await.unwrap(),
        LeaseOutcome::HeldBy { holder, .. } if holder == "bob@b"
    ));
    // Bob releases: free for anyone, at once.
    s.release_lease(run, "bob@b").await.unwrap();
    assert_eq!(
        s.acquire_lease(run, "alice@a", 2_500, 500).await.unwrap(),
        LeaseOutcome::Acquired
    );
}

/// Many holders race for one free lease: exactly one wins.
async fn racing_acquirers_have_one_winner(s: &Store) {
    let run = "r-race";
    s.create_run(&new_run(run, 1)).await.unwrap();
    let mut tasks = Vec::new();
    for h in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.acquire_lease(run, &format!("h{h}"), 1_000, 60_000)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() == LeaseOutcome::Acquired {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// Every shared test, each on its own run ids, against one store.
async fn journal_suite(s: &Store) {
    runs_are_created_and_listed_newest_first(s).await;
    append_assigns_increasing_seqs_and_keeps_json(s).await;
    duplicate_idempotency_key_is_refused_without_using_a_seq(s).await;
    concurrent_appends_get_distinct_contiguous_seqs(s).await;
    leases_exclude_expire_renew_and_release(s).await;
    racing_acquirers_have_one_winner(s).await;
}

/// What the suite left behind, as a reopened store must still show it.
async fn assert_suite_state(s: &Store) {
    assert_eq!(s.runs().await.unwrap().len(), 9);
    assert_eq!(s.journal("r-c").await.unwrap().len(), 200);
    let j = s.journal("r-j").await.unwrap();
    assert_eq!(
        j[1].data,
        json!(["a", {"nested": null}, 18446744073709551615u64, -3])
    );
    assert!(matches!(
        s.acquire_lease("r-l", "bob@b", 2_600, 500).await.unwrap(),
        LeaseOutcome::HeldBy { holder, .. } if holder == "alice@a"
    ));
    // The duplicate is still refused after reopening.
    let intent = entry("step.intent", Some("r-d/pause-backfill/1"), json!({"n": 1}));
    assert!(matches!(
        s.append("r-d", &intent).await,
        Err(StoreError::Duplicate { .. })
    ));
}

// ---- SQLite -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_journal_tests_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ebb.db");
    let spec = path.to_str().unwrap();
    let s = Store::open(spec).await.unwrap();
    journal_suite(&s).await;
    s.close().await;

    let s = Store::open(spec).await.unwrap();
    assert_suite_state(&s).await;
    s.close().await;

    // A sqlite: URL names the same file.
    let s = Store::open(&format!("sqlite://{spec}")).await.unwrap();
    assert_eq!(s.runs().await.unwrap().len(), 9);
}

/// Two stores on one file (as two ebb processes would be) append to one run in turn:
/// the file lock, not the pool, keeps the sequence whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_stores_on_one_file_share_one_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("shared.db");
    let spec = spec.to_str().unwrap();
    let a = Store::open(spec).await.unwrap();
    let b = Store::open(spec).await.unwrap();
    a.create_run(&new_run("r-2p", 1)).await.unwrap();
    let mut tasks = Vec::new();
    for (t, s) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let key = format!("t{t}-{i}");
                s.append("r-2p", &entry("step.intent", Some(&key), json!(i)))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> = b
        .journal("r-2p")
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<i64>>());
}

#[tokio::test]
async fn sqlite_durability_is_read_back_as_wal_and_full() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("d.db").to_str().unwrap())
        .await
        .unwrap();
    let d = s.durability();
    assert_eq!(d.backend, "sqlite");
    assert_eq!(d.journal_mode, "wal");
    assert_eq!(d.synchronous, "full"); // PRAGMA synchronous = 2
}

#[tokio::test]
async fn sqlite_in_memory_is_refused_as_not_durable() {
    match Store::open("sqlite::memory:").await {
        Err(StoreError::NotDurable { setting, found, .. }) => {
            assert_eq!(setting, "PRAGMA journal_mode");
            assert_eq!(found, "memory");
        }
        other => panic!("expected NotDurable, got {other:?}"),
    }
}

#[test]
fn store_spec_comes_from_the_flag_first() {
    // (No environment changes here: tests in this binary share it. Path rules and the
    // 0700 state directory are unit-tested in src/store/paths.rs.)
    assert_eq!(ebb::store::spec_from_env(Some("x.db")), "x.db");
    assert_eq!(
        ebb::store::spec_from_env(Some("postgres://h/db")),
        "postgres://h/db"
    );
    let spec = ebb::store::spec_from_env(None);
    match std::env::var("EBB_STORE") {
        Ok(s) if !s.is_empty() => assert_eq!(spec, s),
        _ => assert!(spec.ends_with("ebb/ebb.db"), "{spec}"),
    }
}

// ---- PostgreSQL -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_journal_tests_and_survives_reopening() {
    let pg = PgCluster::start();
    pg.create_database("ebb").await;
    let url = pg.primary_url("ebb");
    let s = Store::open(&url).await.unwrap();
    let d = s.durability();
    assert_eq!((d.backend, d.synchronous.as_str()), ("postgres", "on"));
    journal_suite(&s).await;
    s.close().await;

    let s = Store::open(&url).await.unwrap();
    assert_suite_state(&s).await;
    s.close().await;
}

#[tokio::test]
async fn postgres_store_refuses_synchronous_commit_off() {
    let pg = PgCluster::start();
    pg.create_database("lax").await;
    pg.execute(
        "postgres",
        "ALTER DATABASE lax SET synchronous_commit = off",
    )
    .await;
    match Store::open(&pg.primary_url("lax")).await {
        Err(StoreError::NotDurable { setting, found, .. }) => {
            assert_eq!((setting, found.as_str()), ("synchronous_commit", "off"));
        }
        other => panic!("expected NotDurable, got {other:?}"),
    }
}

#[tokio::test]
async fn postgres_standby_streams_the_journal() {
    let pg = PgCluster::start_with_standby();
    pg.create_database("ebb").await;
    let s = Store::open(&pg.primary_url("ebb")).await.unwrap();
    s.create_run(&new_run("r-s", 1)).await.unwrap();
    s.append("r-s", &entry("step.intent", Some("k"), json!({"a": 1})))
        .await
        .unwrap();
    // The standby replays it (read-only there: no store on it, just a query).
    pg.wait_standby_caught_up().await;
    let mut conn = pg.connect(&pg.standby_url("ebb")).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM journal WHERE run_id = 'r-s'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
