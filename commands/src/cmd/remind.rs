//! `/提醒 <时间> <内容>` (`/remind`), secretary and committee: a one-off reminder, posted at that
//! time in the group the command came from (from a direct chat: in the branch's groups).
//! Persisted and fired exactly once like every scheduled job.

use zhibu_chat::ChatKind;

use crate::domain::{parse_when, Capability};
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};

pub struct RemindCommand;

static SPEC: CommandSpec = CommandSpec {
    key: "remind",
    names: &["提醒", "remind"],
    args: Args::Required,
    capability: Capability::Announce,
    chats: Where::Anywhere,
};

const MAX_TEXT_CHARS: usize = 500;

impl Command for RemindCommand {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let now = ctx.clock.now();
        let Ok((at, text)) = parse_when(args, now, ctx.settings.timezone) else {
            return Ok(Reply::text(ctx.t("remind.bad_time", &[])));
        };
        if text.trim().is_empty() {
            return Err(CommandError::Usage);
        }
        let len = text.chars().count();
        if len > MAX_TEXT_CHARS {
            return Err(CommandError::TooLong { len, max: MAX_TEXT_CHARS });
        }
        if at <= now {
            return Ok(Reply::text(ctx.t("remind.past", &[("time", &ctx.local_time(at))])));
        }
        let chats = match ctx.chat_kind {
            ChatKind::Group => vec![ctx.chat.clone()],
            ChatKind::Direct => ctx.branch.groups.clone(),
        };
        let reminder = ctx.store.add_reminder(&ctx.branch.id, chats, &ctx.member.user, at, text.trim())?;
        Ok(Reply::text(ctx.t("remind.set", &[("id", &reminder.id), ("time", &ctx.local_time(at)), ("text", &reminder.text)])))
    }
}
