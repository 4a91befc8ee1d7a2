//! The postgres backend's steps: `sql` once, `sql_batches` in throttled batches steered by
//! the console (stop, halve/double), and the probes that find their markers after a crash.

use std::time::Duration;

use tokio::sync::watch;

use super::{BatchControl, BatchSpec, BatchesDone, PgTargets};
use crate::engine::actuator::{batches_landed, scale};
use crate::engine::{Effect, Ended, Failure, Probe, Progress, Steering};
use crate::plan::StepKind;

/// `lock_timeout` of `sql` and `sql_batches` transactions (retried with backoff).
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

fn pool<'a>(pg: &'a PgTargets, target: Option<&str>) -> Result<&'a sqlx::PgPool, String> {
    pg.pool(target.ok_or("the step names no target")?)
}

/// Carries out a `sql` or `sql_batches` effect.
pub async fn act(
    pg: &PgTargets,
    e: &Effect<'_>,
    steering: &mut Steering,
    progress: &Progress,
) -> Result<Ended, Failure> {
    match e.kind {
        StepKind::Sql { statement } => super::apply_sql(
            pool(pg, e.target)?,
            e.key,
            &e.step.id,
            statement,
            LOCK_TIMEOUT,
        )
        .await
        .map(|()| Ended::Complete)
        .map_err(Failure::from),
        StepKind::SqlBatches {
            table,
            key: column,
            batch,
            statement,
            throttle,
        } => {
            let pool = pool(pg, e.target)?.clone();
            let mut spec = BatchSpec::new(table, column, *batch, statement);
            spec.max_replication_lag = throttle.max_replication_lag;
            spec.max_rows_per_second = throttle.max_rows_per_second;
            spec.lock_timeout = LOCK_TIMEOUT;
            let planned = *batch;
            let sized = move |x: i32| scale(planned, x);
            let mut scale_rx = steering.batch_scale.clone();
            let (size_tx, size_rx) = watch::channel(sized(*scale_rx.borrow_and_update()));
            let mut control = BatchControl::new(steering.stop.clone(), size_rx, progress.clone());
            control.meter = Some(steering.meter.clone());
            let committed = control.committed.clone();
            // What of the step landed: the batches committed, earlier runs included.
            let landed =
                move || batches_landed(committed.load(std::sync::atomic::Ordering::SeqCst));
            // The console's halve/double, turned into keys per batch for this step.
            let follow = async move {
                while scale_rx.changed().await.is_ok() {
                    size_tx.send_replace(sized(*scale_rx.borrow_and_update()));
                }
                std::future::pending::<()>().await
            };
            let ran = tokio::select! {
                r = super::run_batches(&pool, e.key, &spec, &control) => r,
                () = follow => Err("the batch size control went away".to_string()),
            };
            match ran {
                Ok(BatchesDone::Finished { .. }) => Ok(Ended::Complete),
                Ok(BatchesDone::Paused { done_batches }) => Ok(Ended::stopped_after(
                    format!("batch {done_batches}"),
                    landed(),
                )),
                // Every committed batch has its marker: when the server cannot be
                // reached, the step stops here and continues from them later.
                Err(err) if !super::reachable(&pool).await => Ok(Ended::stopped_after(
                    format!("a batch, the target being unreachable ({err})"),
                    landed(),
                )),
                Err(err) => Err(Failure::after(landed(), err)),
            }
        }
        other => Err(format!("`{}` is not a postgres step", other.name()).into()),
    }
}

/// Whether a `sql` or `sql_batches` effect happened, from its markers.
pub async fn probe(pg: &PgTargets, e: &Effect<'_>) -> Probe {
    let pool = match pool(pg, e.target) {
        Ok(p) => p,
        Err(err) => return Probe::Unknown(err),
    };
    match e.kind {
        StepKind::Sql { .. } => super::probe(pool, e.key).await,
        StepKind::SqlBatches { .. } => super::probe_batches(pool, e.key).await,
        other => Probe::Unknown(format!("`{}` is not a postgres step", other.name())),
    }
}
