//! The duty cycle's place in the service: its estimates kept in the state
//! directory, and the thread that moves it on under the engine's lock.

use super::engine::Engine;
use crate::probes::memory::duty::{self, Keeper};
use crate::probes::Probes;
use crate::stats::state::Dir;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// `duty-<group>.json` files in the state directory.
struct StateDir(Dir);

impl Keeper for StateDir {
    fn load(&self, name: &str) -> io::Result<serde_json::Value> {
        self.0.read_json(name)
    }

    fn store(&self, name: &str, value: &serde_json::Value) -> io::Result<()> {
        self.0.write_json(name, value)
    }

    fn place(&self) -> String {
        self.0.path().display().to_string()
    }
}

/// Takes the estimates kept in `state_dir`, and keeps them there from now.
pub(super) fn restore(probes: &mut Probes, state_dir: &Path) {
    match Dir::open_state(state_dir) {
        Ok(dir) => duty::restore(&mut probes.memory, Arc::new(StateDir(dir))),
        Err(why) => log::warn!("duty-cycle estimates are not kept across restarts: {why}"),
    }
}

/// Runs the duty cycle while the engine lives.
pub(super) fn start(engine: &Arc<Mutex<Engine>>) {
    let engine = Arc::downgrade(engine);
    duty::run(move |now| {
        let engine = engine.upgrade()?;
        let mut e = engine.lock().unwrap_or_else(|e| e.into_inner());
        Some(duty::tick(&mut e.probes.memory, now))
    });
}
