//! STUB (replaced by the world branch): the drill source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DrillCommand {
    SetSpeed(f64),
    Freeze(bool),
}
use crate::sources::Observation;
use crate::time::Timestamp;
use crate::world::World;
use std::time::Duration;
pub fn spawn(
    _world: World,
    _speed: f64,
    _interval: Duration,
    _tx: tokio::sync::mpsc::Sender<Observation>,
    _cmds: tokio::sync::mpsc::Receiver<DrillCommand>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {})
}
pub fn replay(_w: &mut World, _s: Timestamp, _secs: u64, _i: Duration) -> Vec<Observation> {
    Vec::new()
}
