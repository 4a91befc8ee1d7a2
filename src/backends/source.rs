//! A server the console watches, whatever its kind: its name, how it is described and how
//! often it is observed, and the source task that observes it.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::kubernetes::source::KubeTarget;
use super::postgres::source::PgTarget;
use super::prometheus::source::PromTarget;
use crate::sources::{Observation, SourceId};

#[derive(Clone, Debug)]
pub enum SourceTarget {
    Pg(PgTarget),
    Prom(PromTarget),
    Kube(KubeTarget),
}

impl SourceTarget {
    pub fn name(&self) -> &str {
        match self {
            SourceTarget::Pg(t) => &t.name,
            SourceTarget::Prom(t) => &t.name,
            SourceTarget::Kube(t) => t.name(),
        }
    }

    /// Where it is, without credentials.
    pub fn describe(&self) -> String {
        match self {
            SourceTarget::Pg(t) => t.describe(),
            SourceTarget::Prom(t) => format!("Prometheus {}", t.describe()),
            SourceTarget::Kube(t) => format!("Kubernetes {}", t.describe()),
        }
    }

    pub fn interval(&self) -> Duration {
        match self {
            SourceTarget::Pg(t) => t.interval,
            SourceTarget::Prom(t) => t.interval,
            SourceTarget::Kube(t) => t.interval,
        }
    }

    /// The id its observations carry: `pg:NAME`, `prom:NAME`.
    pub fn source_id(&self) -> SourceId {
        match self {
            SourceTarget::Pg(t) => SourceId(format!("pg:{}", t.name)),
            SourceTarget::Prom(t) => t.source_id(),
            SourceTarget::Kube(t) => SourceId(format!("kube:{}", t.name())),
        }
    }

    /// Starts its source task.
    pub fn spawn(self, tx: mpsc::Sender<Observation>) -> JoinHandle<()> {
        match self {
            SourceTarget::Pg(t) => super::postgres::source::spawn(t, tx),
            SourceTarget::Prom(t) => super::prometheus::source::spawn(t, tx),
            SourceTarget::Kube(t) => super::kubernetes::source::spawn(t, tx),
        }
    }
}
