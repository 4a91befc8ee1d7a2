//! STUB until the world branch lands.
use crate::config::diag::LocatedError;
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub description: String,
    pub plan: Option<String>,
}
impl Scenario {
    pub fn default_name() -> &'static str {
        "backfill-slot-fill"
    }
    pub fn load(name: &str) -> Result<Scenario, LocatedError> {
        Ok(Scenario {
            name: name.into(),
            title: "stub".into(),
            description: String::new(),
            plan: Some("backfill-slot-fill.toml".into()),
        })
    }
}
#[derive(Clone, Debug)]
pub struct World;
impl World {
    pub fn new(_s: &Scenario, _seed: u64) -> World {
        World
    }
}
