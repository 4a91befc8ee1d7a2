//! The PostgreSQL targets of a run: one lazily connected pool per declared target, with
//! connect and statement timeouts, built from the target's URL or the libpq environment.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::pg_options;
use crate::plan::{Plan, TargetKind};
use crate::redact::redact_str;

/// How long connecting (or waiting for a pooled connection) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Pools by target name. A target whose URL cannot be read keeps its error, reported
/// when a step or check uses it.
#[derive(Default)]
pub struct PgTargets {
    pools: BTreeMap<String, Result<PgPool, String>>,
}

impl PgTargets {
    /// A pool per `postgres` target of `plan`. Nothing connects until first use.
    pub fn for_plan(plan: &Plan) -> PgTargets {
        let pools = plan
            .targets
            .values()
            .filter(|t| t.kind == TargetKind::Postgres)
            .map(|t| {
                let opts = match &t.url {
                    Some(secret) => secret.resolve().and_then(|url| {
                        pg_options::from_url(&url).map_err(|e| {
                            format!(
                                "target {}: bad URL from {}: {}",
                                t.name,
                                secret.origin(),
                                redact_str(&e.to_string())
                            )
                        })
                    }),
                    // PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGPASSFILE, …
                    None => Ok(pg_options::from_env()),
                };
                let pool = opts.map(|o| {
                    PgPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(CONNECT_TIMEOUT)
                        .connect_lazy_with(o)
                });
                (t.name.clone(), pool)
            })
            .collect();
        PgTargets { pools }
    }

    /// The pool of target `name`, or why there is none.
    pub fn pool(&self, name: &str) -> Result<&PgPool, String> {
        match self.pools.get(name) {
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("{name} is not a postgres target of this plan")),
        }
    }
}
