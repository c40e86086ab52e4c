//! Renderers. `model` is what a dump shows; `text` prints it for people and
//! JSON (`docs/json.md`) for scripts, both from the same structures.

pub mod model;
pub mod text;
mod text_system;

use serde::Serialize;
use std::io::{self, Write};

/// Writes `value` as one line of JSON.
pub(crate) fn json<T: Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}
