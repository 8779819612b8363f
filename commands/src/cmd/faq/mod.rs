//! `/问 <问题>` (`/faq`): answers from the FAQ library (see [`ask`]); and, for the committee in a
//! direct chat, the library's editing subcommands — `/faq 添加`, `修改 <id>`, `删除 <id>`,
//! `同义词`, `历史 <id>`, `未答`, each change confirmed with `/faq 确认` (see [`edit`]).

mod ask;
mod edit;

pub use ask::{reply, run_with_verdict as question};

use crate::domain::Capability;
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};

pub struct FaqCommand;

static SPEC: CommandSpec = CommandSpec {
    key: "faq",
    names: &["问", "问答", "faq", "ask"],
    args: Args::Required,
    capability: Capability::Basic,
    chats: Where::Anywhere,
};

impl Command for FaqCommand {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    /// Questions only read (their unanswered-question log is written without an fsync); the
    /// editing subcommands write.
    fn read_only(&self, args: &str) -> bool {
        edit::Sub::parse(args).is_none()
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        match edit::Sub::parse(args) {
            Some(sub) => edit::run(ctx, sub),
            None => ask::run(ctx, args),
        }
    }
}
