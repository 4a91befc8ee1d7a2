//! `http` steps on the drill world: flags found by binding, URL text or being the only one;
//! webhooks delivered with their host only; secrets never read; the status checked.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;
use crate::engine::Progress;
use crate::sim::effects::MemEffects;
use crate::sim::world::scenario::FlagSpec;
use crate::sim::world::{Scenario, SharedWorld, World};

/// Variables no test sets: a drill must work without them.
const FLAG_URL_VAR: &str = "EBB_TEST_UNSET_SPLIT_ADDRESS_READS_URL";
const OTHER_VAR: &str = "EBB_TEST_UNSET_FLAG_SERVICE_URL";

/// The backfill scenario's world, its flag failing against the schema while on, with
/// `more` flags besides.
fn world(more: &[&str]) -> SharedWorld {
    let mut sc = Scenario::builtin("backfill-slot-fill").unwrap().unwrap();
    sc.app.flags[0].requires_schema = Some("0043".into());
    for name in more {
        sc.app.flags.push(FlagSpec {
            name: name.to_string(),
            enabled: true,
            requires_schema: None,
            error_rate: 0.3,
        });
    }
    Arc::new(Mutex::new(World::new(&sc, 3)))
}

fn sim(world: &SharedWorld) -> SimWorld<MemEffects> {
    SimWorld::new(world.clone(), MemEffects::default(), Progress::default())
}

fn request(method: &str, url: HttpUrl, body: Option<Value>) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        url,
        json: body,
        headers: BTreeMap::new(),
    }
}

fn flag_off(url: HttpUrl) -> HttpRequest {
    request("PUT", url, Some(json!({ "enabled": false })))
}

fn flag(world: &SharedWorld, name: &str) -> bool {
    let w = world.lock().unwrap();
    w.state()
        .app
        .flags
        .iter()
        .any(|f| f.name == name && f.enabled)
}

fn error_rate(world: &SharedWorld) -> f64 {
    world.lock().unwrap().state().app.error_rate
}

fn event_texts(world: &SharedWorld) -> Vec<String> {
    let mut w = world.lock().unwrap();
    w.drain_events().into_iter().map(|e| e.text).collect()
}

#[tokio::test]
async fn a_flag_off_from_an_env_url_turns_the_world_flag_off_without_reading_the_variable() {
    assert!(std::env::var_os(FLAG_URL_VAR).is_none());
    let world = world(&["bulk_export"]);
    let mut sim = sim(&world);
    let before = error_rate(&world);
    assert!(before > 0.25, "{before}");
    let url = HttpUrl::Secret(SecretRef::Env(FLAG_URL_VAR.into()));
    let ended = sim
        .http(None, &flag_off(url), None, None, "r/flag-off")
        .await;
    assert_eq!(ended, Ok(Ended::Complete));
    // Found by name among two flags: the variable's name holds it.
    assert!(!flag(&world, "split_address_reads") && flag(&world, "bulk_export"));
    assert!(error_rate(&world) < 0.01, "{}", error_rate(&world));
    assert!(event_texts(&world).contains(&"flag split_address_reads turned off".to_string()));
    assert!(sim.probe_marker("r/flag-off").await == crate::engine::Probe::Happened);
}

#[tokio::test]
async fn the_only_flag_is_the_one_and_a_bound_flag_wins() {
    let world = world(&[]);
    let mut sim = sim(&world);
    // Neither the path nor the variable names it: the world has one flag.
    let path = HttpUrl::Path("/flags/split-address".into());
    sim.http(Some("flags"), &flag_off(path), Some(200), None, "r/a")
        .await
        .unwrap();
    assert!(!flag(&world, "split_address_reads"));
    let env = HttpUrl::Secret(SecretRef::Env(OTHER_VAR.into()));
    let on = request("PUT", env, Some(json!({ "enabled": true })));
    sim.http(None, &on, None, None, "r/b").await.unwrap();
    assert!(flag(&world, "split_address_reads"));

    let world = self::world(&["bulk_export"]);
    let mut sim = self::sim(&world);
    let env = || HttpUrl::Secret(SecretRef::Env(OTHER_VAR.into()));
    let err = sim
        .http(None, &flag_off(env()), None, None, "r/c")
        .await
        .unwrap_err();
    assert_eq!(
        err.error,
        format!(
            "PUT <env:{OTHER_VAR}>: no feature flag in the drill world matches this request \
             (flags: split_address_reads, bulk_export); name one in the scenario's [bind]"
        )
    );
    assert!(flag(&world, "split_address_reads") && flag(&world, "bulk_export"));
    sim.http(None, &flag_off(env()), None, Some("bulk_export"), "r/d")
        .await
        .unwrap();
    assert!(flag(&world, "split_address_reads") && !flag(&world, "bulk_export"));
    let err = sim
        .http(None, &flag_off(env()), None, Some("nope"), "r/e")
        .await
        .unwrap_err();
    assert!(err.error.contains("no feature flag \"nope\""), "{err}");
    assert_eq!(sim.effects().effects.len(), 1);
}

#[tokio::test]
async fn a_webhook_is_delivered_once_and_names_its_host_only() {
    let world = world(&[]);
    let mut sim = sim(&world);
    let url = HttpUrl::Secret(SecretRef::Inline(
        "https://hooks.example.com:8443/T000/B000/s3cr3t-path?x=1".into(),
    ));
    let hook = request("POST", url, Some(json!({ "text": "rolling back" })));
    sim.http(None, &hook, None, None, "r/hook").await.unwrap();
    sim.http(None, &hook, None, None, "r/hook").await.unwrap();
    let texts = event_texts(&world);
    let delivered: Vec<&String> = texts.iter().filter(|t| t.starts_with("webhook")).collect();
    assert_eq!(delivered, ["webhook POST hooks.example.com:8443 delivered"]);
    assert!(!texts.iter().any(|t| t.contains("s3cr3t")));
    assert!(flag(&world, "split_address_reads"));

    let file = HttpUrl::Secret(SecretRef::File("/run/secrets/none-such".into()));
    let hook = request("POST", file, None);
    sim.http(None, &hook, None, None, "r/file").await.unwrap();
    assert_eq!(
        event_texts(&world),
        ["webhook POST file:/run/secrets/none-such delivered"]
    );
}

#[tokio::test]
async fn the_simulated_status_is_checked_like_a_real_one() {
    let world = world(&[]);
    let mut sim = sim(&world);
    let url = HttpUrl::Secret(SecretRef::Env(OTHER_VAR.into()));
    let hook = request("POST", url, None);
    let err = sim
        .http(None, &hook, Some(204), None, "r/hook")
        .await
        .unwrap_err();
    assert_eq!(
        err.error,
        format!("POST <env:{OTHER_VAR}> returned 200 (expected 204)")
    );
}

#[test]
fn hosts_leave_out_users_paths_and_queries() {
    assert_eq!(host_of("https://u@h.example:1/p?q#f"), "h.example:1");
    assert_eq!(host_of("h.example/p"), "h.example");
}
