//! `Policy::decide` speed on a policy with 50 principals per role (25 users, 25 groups).
//! Budget (issue 14): ≤ 1 ms per request. Measured medians: 0.25 µs (second-person verb),
//! 0.71 µs (viewing), 3.6 µs (denied, reason built); 2 shared cores, other builds running.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ebb::diag::SourceFile;
use ebb::policy::{Identity, Policy};

/// Every role granted to 25 users and 25 groups; every verb needing a second person listed.
fn policy_text() -> String {
    let mut s = String::from("[roles]\n");
    for role in ["viewer", "responder", "approver", "facilitator", "admin"] {
        let mut principals = Vec::new();
        for i in 0..25 {
            principals.push(format!("\"{role}-user-{i}\""));
            principals.push(format!("\"@{role}-group-{i}\""));
        }
        let _ = writeln!(s, "{role} = [{}]", principals.join(", "));
    }
    s.push_str(
        "\n[approval]\nneeds_second_person = [\"run.rollback\", \"run.abort\", \"run.skip\", \
         \"run.resolve\", \"ask.delete_pod\"]\napprovals = 2\ntimeout = \"10m\"\n\n\
         [break_glass]\nallowed = [\"@responder-group-3\"]\nafter = \"5m\"\nreview_within = \"24h\"\n\n\
         [plans]\nrequire_approved = true\n",
    );
    s
}

fn bench(c: &mut Criterion) {
    let policy = Policy::parse(&SourceFile::new("bench.toml", policy_text()))
        .unwrap_or_else(|e| panic!("{e}"));
    // A member of 20 groups, the last of which grants the role: the longest walk.
    let mut groups: Vec<String> = (0..19).map(|i| format!("staff-{i}")).collect();
    groups.push("responder-group-24".into());
    let responder = Identity {
        user: "someone".into(),
        groups,
    };
    let stranger = Identity {
        user: "stranger".into(),
        groups: (0..20).map(|i| format!("staff-{i}")).collect(),
    };
    c.bench_function("decide: responder, second-person verb", |b| {
        b.iter(|| black_box(policy.decide(black_box(&responder), "run.rollback")))
    });
    c.bench_function("decide: stranger denied (reason built)", |b| {
        b.iter(|| black_box(policy.decide(black_box(&stranger), "run.pause")))
    });
    c.bench_function("decide: viewing", |b| {
        b.iter(|| black_box(policy.decide(black_box(&responder), "pane.zoom")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
