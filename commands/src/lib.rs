//! The branch's domain and its chat commands, independent of any chat protocol.
//!
//! - [`domain`]: members, roles and who may do what, check-ins, reports, weeks, the clock.
//! - [`store`]: the sled store behind a typed layer.
//! - [`faq`]: the FAQ library and its retrieval.
//! - [`i18n`]: the message catalogs (zh-CN default, en).
//! - [`framework`]: how a command is declared, parsed, checked and answered.
//! - [`cmd`]: one module per command.
//! - [`stats`]: a branch's week in numbers.
//! - [`bot`]: turns a chat [`zhibu_chat::Event`] into replies.

pub mod bot;
pub mod cmd;
pub mod domain;
pub mod faq;
pub mod framework;
pub mod i18n;
pub mod jobs;
pub mod quiz;
pub mod settings;
pub mod shipped;
pub mod stats;
pub mod store;
pub mod study;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use bot::{Answer, Bot, BotError, FaqAnswer};
pub use settings::{BranchSettings, Settings};
