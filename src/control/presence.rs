//! A console's presence on a run: its row in the store (operator, host, pid, role), a
//! heartbeat every few seconds, and its detach, each attach and detach audited.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::Role;
use crate::store::{ConsoleRow, Store};
use crate::time::Timestamp;

/// How often an attached console says it is still there.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// This console on a run, until [`Presence::leave`].
pub struct Presence {
    store: Store,
    pub id: String,
    beat: JoinHandle<()>,
}

impl Presence {
    /// Writes the console's row and starts its heartbeat.
    pub async fn attach(
        store: &Store,
        id: &str,
        run_id: &str,
        operator: &str,
        role: Role,
    ) -> Result<Presence, String> {
        let now = Timestamp::now().0;
        let row = ConsoleRow {
            id: id.to_string(),
            run_id: run_id.to_string(),
            operator: operator.to_string(),
            host: crate::audit::record::hostname(),
            pid: i64::from(std::process::id()),
            role: role.name().to_string(),
            attached_at: now,
            seen_at: now,
            detached_at: None,
            how: None,
        };
        store
            .attach_console(&row)
            .await
            .map_err(|e| e.to_string())?;
        let beat = {
            let (store, id) = (store.clone(), id.to_string());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(HEARTBEAT);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(e) = store.console_seen(&id, Timestamp::now().0).await {
                        tracing::warn!(error = %e, "console heartbeat failed");
                    }
                }
            })
        };
        Ok(Presence {
            store: store.clone(),
            id: id.to_string(),
            beat,
        })
    }

    /// Marks the console detached, saying how ("detached", "lost: SIGHUP").
    pub async fn leave(self, how: &str) {
        self.beat.abort();
        if let Err(e) = self
            .store
            .detach_console(&self.id, Timestamp::now().0, how)
            .await
        {
            tracing::warn!(error = %e, "cannot mark the console detached");
        }
    }
}
