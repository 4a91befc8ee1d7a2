//! The namespace's watches as one stream: StatefulSets, ControllerRevisions, Pods, PVCs,
//! VolumeSnapshots and Events, each a kube-runtime watcher that relists and retries itself.

use futures::stream::{BoxStream, SelectAll, StreamExt};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, PersistentVolumeClaim, Pod};
use kube::Api;
use kube::api::DynamicObject;
use kube::discovery::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};

use super::cache::Change;
use super::fault::QuickBackoff;

/// Objects per list page: 5,000 pods arrive in ten pages.
pub const PAGE: u32 = 500;

/// All watches of `namespace`, merged.
pub fn watches(client: &kube::Client, namespace: &str) -> SelectAll<BoxStream<'static, Change>> {
    let config = || watcher::Config::default().page_size(PAGE);
    let (c, n) = (client.clone(), namespace);
    let mut all: SelectAll<BoxStream<'static, Change>> = SelectAll::new();
    all.push(
        watcher(Api::<StatefulSet>::namespaced(c.clone(), n), config())
            .backoff(QuickBackoff::default())
            .map(Change::StatefulSet)
            .boxed(),
    );
    all.push(
        watcher(
            Api::<ControllerRevision>::namespaced(c.clone(), n),
            config(),
        )
        .backoff(QuickBackoff::default())
        .map(Change::Revision)
        .boxed(),
    );
    all.push(
        watcher(Api::<Pod>::namespaced(c.clone(), n), config())
            .backoff(QuickBackoff::default())
            .map(Change::Pod)
            .boxed(),
    );
    all.push(
        watcher(
            Api::<PersistentVolumeClaim>::namespaced(c.clone(), n),
            config(),
        )
        .backoff(QuickBackoff::default())
        .map(Change::Claim)
        .boxed(),
    );
    let snapshots = volume_snapshots();
    all.push(
        watcher(
            Api::<DynamicObject>::namespaced_with(c.clone(), n, &snapshots),
            config(),
        )
        .backoff(QuickBackoff::default())
        .map(Change::Snapshot)
        .boxed(),
    );
    all.push(
        watcher(Api::<KubeEvent>::namespaced(c, n), config())
            .backoff(QuickBackoff::default())
            .map(Change::Event)
            .boxed(),
    );
    all
}

/// `snapshot.storage.k8s.io/v1` VolumeSnapshots (CSI snapshot CRDs).
pub fn volume_snapshots() -> ApiResource {
    ApiResource {
        group: "snapshot.storage.k8s.io".into(),
        version: "v1".into(),
        api_version: "snapshot.storage.k8s.io/v1".into(),
        kind: "VolumeSnapshot".into(),
        plural: "volumesnapshots".into(),
    }
}
