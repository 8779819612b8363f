//! The `zhibu` binary's library: config, the runtime that wires adapters to the bot, and the
//! scheduler. `main.rs` and `cli/` are the command line over it.

pub mod config;
pub mod delivery;
pub mod group_commit;
pub mod runtime;
pub mod scheduler;
