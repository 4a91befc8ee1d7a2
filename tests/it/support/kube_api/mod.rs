//! A loopback Kubernetes API server for the tests: the API subset ebb uses (list, watch,
//! get, create, replace, merge/apply patch, delete, scale, the kubelet stats proxy) over
//! real k8s JSON, faults on demand (500s, hangs) and a StatefulSet controller simulation.

mod controller;
pub mod fixtures;
mod http;
mod store;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub use controller::StsSim;
pub use store::Seen;

use store::State;

/// What a matching request gets instead of an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// An error status with a `Status` body.
    Status(u16),
    /// No answer at all, until the client gives up.
    Hang,
}

/// The server state shared by the HTTP handlers, the controller and the test.
pub(crate) struct Shared {
    pub state: Mutex<State>,
    /// The latest resourceVersion, for watchers to wait on.
    pub changed: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    /// Runs `f` on the state and wakes watchers if it wrote anything.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (out, rv) = {
            let mut state = self.state.lock().unwrap();
            let out = f(&mut state);
            (out, state.rv)
        };
        self.changed.send_if_modified(|seen| {
            let newer = *seen != rv;
            *seen = rv;
            newer
        });
        out
    }
}

/// A running loopback API server; stops when dropped.
pub struct KubeApi {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::runtime::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KubeApi {
    pub fn start() -> KubeApi {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (changed, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed,
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let serve = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            handle_tx.send(runtime.handle().clone()).unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = http::serve(listener, serve) => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        let handle = handle_rx.recv().unwrap();
        KubeApi {
            url,
            shared,
            stop: Some(stop),
            handle,
            thread: Some(thread),
        }
    }

    /// Writes a kubeconfig whose context `loopback` reaches this server as a token user,
    /// with `namespace` as the context's namespace.
    pub fn kubeconfig(&self, dir: &Path, namespace: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: loopback\n  cluster:\n    server: {}\n\
             contexts:\n- name: loopback\n  context:\n    cluster: loopback\n    user: ebb-test\n    namespace: {namespace}\n\
             current-context: loopback\nusers:\n- name: ebb-test\n  user:\n    token: loopback-token\n",
            self.url
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Creates or replaces `obj` (by apiVersion, kind, namespace and name) as a client
    /// write would: new resourceVersion, uid and creationTimestamp kept or set, watchers told.
    pub fn apply(&self, obj: Value) -> Value {
        self.shared.with(|s| s.upsert_object(obj)).unwrap()
    }

    pub fn get(&self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        self.shared.with(|s| s.get(plural, ns, name).cloned())
    }

    /// Objects of `plural` in `ns` (every namespace when `None`), in name order.
    pub fn list(&self, plural: &str, ns: Option<&str>) -> Vec<Value> {
        self.shared.with(|s| s.list(plural, ns))
    }

    pub fn delete(&self, plural: &str, ns: &str, name: &str) {
        self.shared.with(|s| s.remove(plural, ns, name));
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.with(|s| s.requests.clone())
    }

    /// Requests whose path contains `needle` get `fault` from now on (until `clear_faults`).
    pub fn fault(&self, path_contains: &str, fault: Fault) {
        self.shared
            .with(|s| s.faults.push((path_contains.to_string(), fault)));
    }

    pub fn clear_faults(&self) {
        self.shared.with(|s| s.faults.clear());
    }

    /// What `GET /api/v1/nodes/{node}/proxy/stats/summary` answers.
    pub fn set_stats(&self, node: &str, summary: Value) {
        self.shared
            .with(|s| s.stats.insert(node.to_string(), summary));
    }

    /// Runs a StatefulSet controller for `ns/name` until the server stops (see `StsSim`).
    pub fn run_statefulset_controller(&self, ns: &str, name: &str, sim: StsSim) {
        let shared = self.shared.clone();
        let (ns, name) = (ns.to_string(), name.to_string());
        self.handle
            .spawn(async move { controller::run(shared, ns, name, sim).await });
    }

    /// Waits (polling, up to `within`) until `f` holds; panics with `what` otherwise.
    pub fn wait_for(&self, within: Duration, what: &str, mut f: impl FnMut(&KubeApi) -> bool) {
        let deadline = std::time::Instant::now() + within;
        while !f(self) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
