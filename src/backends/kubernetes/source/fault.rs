//! How a Kubernetes target's failures are told (short, naming what failed, never a token)
//! and how soon a failed watch tries again (backoff from 250 ms up to 5 s).

use std::time::Duration;

use kube::runtime::utils::Backoff;
use kube::runtime::watcher;

use crate::redact::redact_str;

/// `HTTP 500 InternalError: etcd is down` for API answers; the error's own words otherwise.
pub fn describe_client(e: &kube::Error) -> String {
    let text = match e {
        kube::Error::Api(s) => {
            let mut text = format!("HTTP {}", s.code);
            if !s.reason.is_empty() {
                text = format!("{text} {}", s.reason);
            }
            if !s.message.is_empty() {
                text = format!("{text}: {}", s.message);
            }
            text
        }
        other => other.to_string(),
    };
    redact_str(&text).into_owned()
}

/// A watch failure in a few words.
pub fn describe_watch(e: &watcher::Error) -> String {
    match e {
        watcher::Error::InitialListFailed(c) => format!("list: {}", describe_client(c)),
        watcher::Error::WatchStartFailed(c) => format!("watch: {}", describe_client(c)),
        watcher::Error::WatchFailed(c) => format!("watch stream: {}", describe_client(c)),
        watcher::Error::WatchError(s) => redact_str(&format!(
            "watch: HTTP {} {}: {}",
            s.code, s.reason, s.message
        ))
        .into_owned(),
        watcher::Error::NoResourceVersion => "watch: no resourceVersion in the answer".into(),
    }
}

const FIRST: Duration = Duration::from_millis(250);
const MOST: Duration = Duration::from_secs(5);

/// Doubling from 250 ms to at most 5 s; reset by the watcher's next good item. During an
/// incident a watch should come back within seconds of its API server.
#[derive(Clone, Debug)]
pub struct QuickBackoff {
    next: Duration,
}

impl Default for QuickBackoff {
    fn default() -> Self {
        QuickBackoff { next: FIRST }
    }
}

impl Iterator for QuickBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (now * 2).min(MOST);
        Some(now)
    }
}

impl Backoff for QuickBackoff {
    fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut b = QuickBackoff::default();
        let seen: Vec<u128> = b.by_ref().take(7).map(|d| d.as_millis()).collect();
        assert_eq!(seen, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next(), Some(FIRST));
    }

    #[test]
    fn api_errors_are_short() {
        let e = kube::Error::Api(
            kube::core::Status::failure("etcd is down", "InternalError")
                .with_code(500)
                .boxed(),
        );
        assert_eq!(describe_client(&e), "HTTP 500 InternalError: etcd is down");
    }
}
