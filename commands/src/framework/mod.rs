//! How a command is declared, parsed, checked and answered.
//!
//! A command declares its names, argument shape, who may use it and where, in one
//! [`CommandSpec`]; the [`Registry`] finds it from a message, checks the declaration, runs it,
//! and turns a [`CommandError`] into the catalog's words in one place.

mod context;
mod error;
mod parse;
mod registry;

pub use context::{Ctx, Reply};
pub use error::CommandError;
pub use parse::{parse_command, parse_keyword, ParsedCommand, PREFIXES};

/// The command prefix characters, for stripping them from an argument.
pub fn parse_command_prefixes() -> [char; 4] {
    PREFIXES
}
pub use registry::{edit_distance, Args, CommandSpec, Found, Lookup, Registry, Run, Where};
