//! `/问 <问题>` (`/faq`): answers from the FAQ library (see [`ask`]); and, for the committee in a
//! direct chat, the library's editing subcommands — `/faq 添加`, `修改 <id>`, `删除 <id>`,
//! `同义词`, `历史 <id>`, `未答`, each change confirmed with `/faq 确认` (see [`edit`]).

mod ask;
mod edit;

pub use ask::{reply, run_with_verdict as question};

use crate::domain::Capability;
use crate::framework::{Args, CommandSpec, Where};

pub static SPEC: CommandSpec = CommandSpec {
    key: "faq",
    names: &["问", "问答", "faq", "ask"],
    args: Args::Required,
    capability: Capability::Basic,
    chats: Where::Anywhere,
    run: ask::run,
    subcommands: &edit::SUBCOMMANDS,
};
