//! `http` steps on the drill world, which never leave the process: a JSON body that sets
//! `enabled` turns a world feature flag on or off; any other request is a webhook, delivered.

use serde_json::Value;

use super::actuators::SimWorld;
use super::effects::EffectLog;
use super::world::WorldControl;
use crate::backends::http::{expected, request_shown};
use crate::engine::{Ended, Failure};
use crate::plan::{HttpRequest, HttpUrl, SecretRef};

/// The status the simulated services answer with.
const SIMULATED_STATUS: u16 = 200;

/// The URL as written in the plan: the inline URL, the path, or where a secret URL is read
/// from (the variable's name, the file's path). A secret is never read.
fn written(url: &HttpUrl) -> String {
    match url {
        HttpUrl::Path(p) => p.clone(),
        HttpUrl::Secret(SecretRef::Inline(u)) => u.clone(),
        HttpUrl::Secret(SecretRef::Env(name)) => name.clone(),
        HttpUrl::Secret(SecretRef::File(path)) => path.display().to_string(),
    }
}

/// Names compared loosely: `split-address`, `SPLIT_ADDRESS` and `split_address` match.
fn loose(text: &str) -> String {
    text.to_ascii_lowercase().replace('-', "_")
}

/// `host[:port]` of an inline URL, never its user, path or query (a path can be a secret).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// Where a webhook went, for the world's event: its host, where its URL is read from, or
/// its target.
fn destination(url: &HttpUrl, target: Option<&str>) -> String {
    match url {
        HttpUrl::Secret(SecretRef::Inline(u)) => host_of(u).to_string(),
        HttpUrl::Secret(s) => s.origin(),
        HttpUrl::Path(_) => target.unwrap_or("the step's target").to_string(),
    }
}

/// The `enabled` a request's JSON body sets, if it sets one.
fn enabled(request: &HttpRequest) -> Option<bool> {
    request
        .json
        .as_ref()
        .and_then(|b| b.get("enabled"))
        .and_then(Value::as_bool)
}

impl<E: EffectLog> SimWorld<E> {
    /// The world flag a flag request means: `bound` (the scenario's `[bind]`), else the
    /// flag whose name the URL's text holds (the longest such), else the only flag.
    fn flag_for(&self, url: &HttpUrl, bound: Option<&str>) -> Result<String, String> {
        let flags: Vec<String> =
            self.with_world(|w| w.state().app.flags.iter().map(|f| f.name.clone()).collect())?;
        let known = || {
            if flags.is_empty() {
                "none".to_string()
            } else {
                flags.join(", ")
            }
        };
        if let Some(b) = bound {
            if flags.iter().any(|f| f == b) {
                return Ok(b.to_string());
            }
            return Err(format!(
                "no feature flag {b:?} in the drill world (flags: {})",
                known()
            ));
        }
        let text = loose(&written(url));
        let named = flags
            .iter()
            .filter(|f| text.contains(&loose(f)))
            .max_by_key(|f| f.len());
        match (named, flags.as_slice()) {
            (Some(f), _) => Ok(f.clone()),
            (None, [only]) => Ok(only.clone()),
            (None, _) => Err(format!(
                "no feature flag in the drill world matches this request (flags: {}); \
                 name one in the scenario's [bind]",
                known()
            )),
        }
    }

    /// An `http` step on the world: a flag set, or a webhook delivered; recorded under
    /// `key` (applied again with it, nothing is sent twice). `target` is the step's http
    /// target; `flag` the flag the scenario binds its URL to. The simulated answer is 200,
    /// checked against `expect_status` as a real answer is.
    pub async fn http(
        &mut self,
        target: Option<&str>,
        request: &HttpRequest,
        expect_status: Option<u16>,
        flag: Option<&str>,
        key: &str,
    ) -> Result<Ended, Failure> {
        let what = request_shown(request, target);
        if !self.effects.contains(key).await? {
            let control = match enabled(request) {
                Some(on) => WorldControl::SetFlag {
                    name: self
                        .flag_for(&request.url, flag)
                        .map_err(|e| format!("{what}: {e}"))?,
                    enabled: on,
                },
                None => WorldControl::DeliverWebhook {
                    method: request.method.clone(),
                    to: destination(&request.url, target),
                },
            };
            self.apply_recorded(key, vec![control])
                .await
                .map_err(|e| format!("{what}: {e}"))?;
        }
        expected(&what, SIMULATED_STATUS, expect_status)?;
        Ok(Ended::Complete)
    }
}

#[cfg(test)]
mod tests;
