//! The run bus, written once against `&Store` and run on SQLite (temp files) and on a real
//! PostgreSQL primary (support::pg): requests with their intents, events, views, consoles.

use std::time::{Duration, Instant};

use ebb::store::{
    AuditHead, AuditQuery, AuditRow, ConsoleRow, LeaseOutcome, NewRequest, NewRun, Store,
};
use serde_json::json;

use crate::support::pg::PgCluster;

/// A failure deadline only: nothing here should come near it.
const DEADLINE: Duration = Duration::from_secs(15);

/// How long `Changes::next` waits with nothing changed before it returns anyway.
const QUIET: Duration = Duration::from_secs(2);

fn audit_row(head: &Option<AuditHead>, n: u64, kind: &str) -> AuditRow {
    let seq = head.as_ref().map_or(0, |h| h.seq) + n;
    AuditRow {
        seq,
        at_ns: seq as i64,
        session: "s-1".into(),
        kind: kind.into(),
        record: format!("{{\"seq\":{seq}}}"),
        prev_hash: head.as_ref().map_or("0".into(), |h| h.hash.clone()),
        hash: format!("h{seq}"),
    }
}

fn request(run_id: &str, console: &str, action: &str, at: i64) -> NewRequest {
    NewRequest {
        run_id: run_id.into(),
        console: console.into(),
        operator: "alice".into(),
        action: action.into(),
        body: json!({"step": "pause-backfill", "note": "ünïcode \"quoted\""}),
        at,
    }
}

/// Inserts `req` with one intent record; its id.
async fn submit(s: &Store, req: &NewRequest) -> i64 {
    let (_, id) = s
        .audit_append_with_request(
            |head| Ok::<_, String>(vec![audit_row(&head, 1, "request.intent")]),
            Some(req),
        )
        .await
        .unwrap()
        .unwrap();
    id.unwrap()
}

fn console(id: &str, run_id: &str, role: &str, attached_at: i64) -> ConsoleRow {
    ConsoleRow {
        id: id.into(),
        run_id: run_id.into(),
        operator: "bob".into(),
        host: "bastion-2".into(),
        pid: 4242,
        role: role.into(),
        attached_at,
        seen_at: attached_at,
        detached_at: None,
        how: None,
    }
}

// ---- the shared tests -------------------------------------------------------------

async fn a_request_commits_with_its_intent_or_not_at_all(s: &Store) {
    let req = request("r-1", "c-1", "pause", 100);
    let (rows, id) = s
        .audit_append_with_request(
            |head| {
                assert_eq!(head, None);
                Ok::<_, String>(vec![audit_row(&head, 1, "request.intent")])
            },
            Some(&req),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rows.len(), 1);
    let id = id.unwrap();
    let pending = s.pending_requests("r-1", 0).await.unwrap();
    assert_eq!(pending.len(), 1);
    let p = &pending[0];
    assert_eq!((p.id, p.audit_seq), (id, rows[0].seq as i64));
    assert_eq!((p.console.as_str(), p.operator.as_str()), ("c-1", "alice"));
    assert_eq!((p.action.as_str(), p.created_at), ("pause", 100));
    assert_eq!(p.body, req.body);
    assert_eq!(
        (p.state.as_str(), &p.outcome, p.decided_at),
        ("pending", &None, None)
    );

    // Several records: the request carries the last one's seq.
    let (rows, id2) = s
        .audit_append_with_request(
            |head| {
                Ok::<_, String>(vec![
                    audit_row(&head, 1, "note"),
                    audit_row(&head, 2, "request.intent"),
                ])
            },
            Some(&request("r-1", "c-1", "resume", 200)),
        )
        .await
        .unwrap()
        .unwrap();
    let pending = s.pending_requests("r-1", id).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((Some(pending[0].id), pending[0].audit_seq), (id2, 3));
    assert_eq!(rows[1].seq, 3);

    // `build` refusing writes neither the records nor the request.
    let refused = s
        .audit_append_with_request(
            |head| {
                let _ = audit_row(&head, 1, "request.intent");
                Err::<Vec<AuditRow>, _>("refused".to_string())
            },
            Some(&request("r-1", "c-1", "abort", 300)),
        )
        .await
        .unwrap();
    assert_eq!(refused, Err("refused".to_string()));
    assert_eq!(s.pending_requests("r-1", 0).await.unwrap().len(), 2);
    assert_eq!(s.audit_rows(AuditQuery::default()).await.unwrap().len(), 3);

    // Without a request it is `audit_append`, which still works as before.
    let rows = s
        .audit_append(|head| Ok::<_, String>(vec![audit_row(&head, 1, "note")]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rows[0].seq, 4);
    assert_eq!(s.pending_requests("r-1", 0).await.unwrap().len(), 2);
}

async fn requests_are_decided_once_and_read_back_by_console(s: &Store) {
    let a = submit(s, &request("r-1", "c-1", "pause", 1)).await;
    let b = submit(s, &request("r-1", "c-1", "resume", 2)).await;
    let c = submit(s, &request("r-1", "c-2", "skip", 3)).await;
    let other = submit(s, &request("r-2", "c-1", "pause", 4)).await;
    assert!(a < b && b < c && c < other, "{a} {b} {c} {other}");

    let ids = |rows: Vec<ebb::store::RequestRow>| rows.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(s.pending_requests("r-1", 0).await.unwrap()), [a, b, c]);
    assert_eq!(ids(s.pending_requests("r-1", a).await.unwrap()), [b, c]);

    assert!(s.decide_request(a, "applied", "paused", 10).await.unwrap());
    assert!(
        !s.decide_request(a, "refused", "too late", 11)
            .await
            .unwrap()
    );
    assert!(
        s.decide_request(b, "refused", "not paused", 12)
            .await
            .unwrap()
    );
    assert!(
        !s.decide_request(9_999, "applied", "none", 13)
            .await
            .unwrap()
    );
    assert_eq!(ids(s.pending_requests("r-1", 0).await.unwrap()), [c]);

    let decided = s.decided_requests("r-1", "c-1", 0).await.unwrap();
    assert_eq!(ids(decided.clone()), [a, b]);
    // The second decision left the first as it was.
    let d = &decided[0];
    assert_eq!(
        (d.state.as_str(), d.outcome.as_deref(), d.decided_at),
        ("applied", Some("paused"), Some(10))
    );
    let d = &decided[1];
    assert_eq!(
        (d.state.as_str(), d.outcome.as_deref(), d.decided_at),
        ("refused", Some("not paused"), Some(12))
    );
    assert_eq!(ids(s.decided_requests("r-1", "c-1", a).await.unwrap()), [b]);
    assert!(
        s.decided_requests("r-1", "c-2", 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.decided_requests("r-2", "c-1", 0)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn run_events_count_per_run_and_views_version(s: &Store) {
    for i in 1..=3 {
        let seq = s
            .push_run_event("r-a", 10 * i, &json!({"event": i}))
            .await
            .unwrap();
        assert_eq!(seq, i);
    }
    assert_eq!(s.push_run_event("r-b", 5, &json!("b")).await.unwrap(), 1);
    assert_eq!(s.last_run_event("r-a").await.unwrap(), 3);
    assert_eq!(s.last_run_event("r-b").await.unwrap(), 1);
    assert_eq!(s.last_run_event("r-none").await.unwrap(), 0);

    let events = s.run_events("r-a", 1, 10).await.unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!((events[0].at, &events[0].body), (20, &json!({"event": 2})));
    let first = s.run_events("r-a", 0, 1).await.unwrap();
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
    assert!(s.run_events("r-a", 3, 10).await.unwrap().is_empty());

    // Concurrent pushers to one run get 1, 2, … without a gap or a repeat.
    let mut tasks = Vec::new();
    for t in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                s.push_run_event("r-c", i, &json!([t, i])).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> = s
        .run_events("r-c", 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<i64>>());

    assert_eq!(s.run_view("r-a", 0).await.unwrap(), None);
    assert_eq!(
        s.put_run_view("r-a", 100, &json!({"v": 1})).await.unwrap(),
        1
    );
    assert_eq!(
        s.put_run_view("r-a", 200, &json!({"v": 2})).await.unwrap(),
        2
    );
    assert_eq!(
        s.put_run_view("r-b", 300, &json!({"v": "b"}))
            .await
            .unwrap(),
        1
    );
    let v = s.run_view("r-a", 0).await.unwrap().unwrap();
    assert_eq!((v.version, v.at, v.body), (2, 200, json!({"v": 2})));
    assert_eq!(
        s.run_view("r-a", 1).await.unwrap().map(|v| v.version),
        Some(2)
    );
    assert_eq!(s.run_view("r-a", 2).await.unwrap(), None);
}

async fn consoles_attach_beat_detach_and_list(s: &Store) {
    let c1 = console("c-1", "r-a", "driver", 100);
    let c2 = console("c-2", "r-a", "watcher", 200);
    let c3 = console("c-3", "r-b", "watcher", 150);
    for c in [&c1, &c2, &c3] {
        s.attach_console(c).await.unwrap();
    }
    let ids = |rows: Vec<ConsoleRow>| rows.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        s.consoles(Some("r-a")).await.unwrap(),
        [c1.clone(), c2.clone()]
    );
    assert_eq!(ids(s.consoles(None).await.unwrap()), ["c-1", "c-3", "c-2"]);

    assert!(s.console_seen("c-1", 300).await.unwrap());
    assert_eq!(s.consoles(Some("r-a")).await.unwrap()[0].seen_at, 300);
    assert!(!s.console_seen("c-nope", 300).await.unwrap());

    s.detach_console("c-2", 400, "detached").await.unwrap();
    assert_eq!(ids(s.consoles(Some("r-a")).await.unwrap()), ["c-1"]);
    assert!(!s.console_seen("c-2", 500).await.unwrap());
    s.detach_console("c-2", 450, "gone").await.unwrap();
    s.detach_console("c-nope", 450, "gone").await.unwrap();

    // Attaching again under the same id replaces the row.
    let again = console("c-2", "r-a", "driver", 600);
    s.attach_console(&again).await.unwrap();
    let beaten = ConsoleRow { seen_at: 300, ..c1 };
    assert_eq!(s.consoles(Some("r-a")).await.unwrap(), [beaten, again]);
    s.detach_console("c-3", 700, "lost: no heartbeat for 30s")
        .await
        .unwrap();
    assert_eq!(ids(s.consoles(None).await.unwrap()), ["c-1", "c-2"]);
}

async fn the_lease_names_its_holder(s: &Store) {
    let run = NewRun {
        id: "r-l".into(),
        plan_name: "p".into(),
        plan_digest: "sha256:0".into(),
        plan_path: "p.toml".into(),
        plan_source: String::new(),
        scenario: None,
        seed: None,
        operator: "alice".into(),
        kube_context: None,
        kube_namespace: None,
        at: 1,
    };
    s.create_run(&run).await.unwrap();
    assert_eq!(s.lease("r-l").await.unwrap(), None);
    let got = s.acquire_lease("r-l", "alice@a", 1_000, 500).await.unwrap();
    assert_eq!(got, LeaseOutcome::Acquired);
    let l = s.lease("r-l").await.unwrap().unwrap();
    assert_eq!(
        (l.holder.as_str(), l.acquired_at, l.expires_at),
        ("alice@a", 1_000, 1_500)
    );
    // Renewing (or re-acquiring) moves the expiry, not the acquisition.
    assert!(s.renew_lease("r-l", "alice@a", 1_200, 500).await.unwrap());
    let got = s.acquire_lease("r-l", "alice@a", 1_300, 500).await.unwrap();
    assert_eq!(got, LeaseOutcome::Acquired);
    let l = s.lease("r-l").await.unwrap().unwrap();
    assert_eq!((l.acquired_at, l.expires_at), (1_000, 1_800));
    // Taken over after expiry: the new holder, from then.
    let got = s.acquire_lease("r-l", "bob@b", 2_000, 500).await.unwrap();
    assert_eq!(got, LeaseOutcome::Acquired);
    let l = s.lease("r-l").await.unwrap().unwrap();
    assert_eq!((l.holder.as_str(), l.acquired_at), ("bob@b", 2_000));
    s.release_lease("r-l", "bob@b").await.unwrap();
    assert_eq!(s.lease("r-l").await.unwrap(), None);
}

/// `watcher` and `writer` are two stores opened separately on one database, as a console
/// and the runner process would be. `named`: the feed says which run (PostgreSQL).
async fn the_change_feed_wakes_on_another_stores_write(
    watcher: &Store,
    writer: &Store,
    named: bool,
) {
    assert_eq!(watcher.statements(), 0, "opening counts no statement");
    let mut feed = watcher.changes().await.unwrap();
    let after_open = watcher.statements();
    assert!(after_open >= 1, "the feed's first statement is counted");

    writer
        .push_run_event("r-feed", 1, &json!({"n": 1}))
        .await
        .unwrap();
    let written = Instant::now();
    if named {
        // Only the failure deadline is timed: the payload says it is this write.
        loop {
            let run = tokio::time::timeout(DEADLINE, feed.next()).await.unwrap();
            if run.as_deref() == Some("r-feed") {
                break;
            }
            assert!(written.elapsed() < DEADLINE, "no notification for r-feed");
        }
    } else {
        // SQLite says nothing but "changed": it must have come before the quiet period
        // would have ended the wait anyway (a cause check, with 20 polls of slack).
        let run = tokio::time::timeout(DEADLINE, feed.next()).await.unwrap();
        assert_eq!(run, None);
        assert!(
            written.elapsed() < QUIET,
            "woken by the change, not the {QUIET:?} quiet return ({:?})",
            written.elapsed()
        );
    }
    assert_eq!(watcher.run_events("r-feed", 0, 10).await.unwrap().len(), 1);

    // A heartbeat is not announced: with nothing else written the feed returns on its
    // own, saying no run.
    writer
        .attach_console(&console("c-1", "r-feed", "watcher", 5))
        .await
        .unwrap();
    if named {
        let run = tokio::time::timeout(DEADLINE, feed.next()).await.unwrap();
        assert_eq!(run.as_deref(), Some("r-feed"), "attaching is announced");
    }
    assert!(writer.console_seen("c-1", 6).await.unwrap());
    let quiet = tokio::time::timeout(DEADLINE, feed.next()).await.unwrap();
    assert_eq!(quiet, None);
    assert!(watcher.statements() > after_open);
}

/// Every statement of every clone is counted, none of another store's.
async fn statements_are_counted_per_store(s: &Store, other: &Store) {
    let before = s.statements();
    s.run_events("r-x", 0, 10).await.unwrap();
    assert_eq!(s.statements(), before + 1, "one SELECT");
    let clone = s.clone();
    clone.last_run_event("r-x").await.unwrap();
    assert_eq!(s.statements(), before + 2, "clones share the count");
    let theirs = other.statements();
    s.push_run_event("r-x", 1, &json!(null)).await.unwrap();
    assert!(s.statements() >= before + 3);
    assert_eq!(other.statements(), theirs);
}

// ---- SQLite -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_bus() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |name: &str| {
        dir.path()
            .join(format!("{name}.db"))
            .to_string_lossy()
            .into_owned()
    };
    let open = async |name: &str| Store::open(&spec(name)).await.unwrap();

    a_request_commits_with_its_intent_or_not_at_all(&open("requests").await).await;
    requests_are_decided_once_and_read_back_by_console(&open("decisions").await).await;
    run_events_count_per_run_and_views_version(&open("events").await).await;
    consoles_attach_beat_detach_and_list(&open("consoles").await).await;
    the_lease_names_its_holder(&open("lease").await).await;
    statements_are_counted_per_store(&open("count").await, &open("count").await).await;
    the_change_feed_wakes_on_another_stores_write(&open("feed").await, &open("feed").await, false)
        .await;
}

// ---- PostgreSQL -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_bus() {
    let pg = PgCluster::start();
    let open = async |name: &str| Store::open(&pg.primary_url(name)).await.unwrap();
    for db in [
        "requests",
        "decisions",
        "events",
        "consoles",
        "lease",
        "count",
        "feed",
    ] {
        pg.create_database(db).await;
    }

    a_request_commits_with_its_intent_or_not_at_all(&open("requests").await).await;
    requests_are_decided_once_and_read_back_by_console(&open("decisions").await).await;
    run_events_count_per_run_and_views_version(&open("events").await).await;
    consoles_attach_beat_detach_and_list(&open("consoles").await).await;
    the_lease_names_its_holder(&open("lease").await).await;
    statements_are_counted_per_store(&open("count").await, &open("count").await).await;
    the_change_feed_wakes_on_another_stores_write(&open("feed").await, &open("feed").await, true)
        .await;
}
