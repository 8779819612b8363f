//! `/提醒 <时间> <内容>` (`/remind`), secretary and committee: a one-off reminder, posted at that
//! time in the group the command came from (from a direct chat: in the branch's groups).
//! Persisted and fired exactly once like every scheduled job.

use zhibu_chat::ChatKind;

use crate::domain::{parse_when, Capability};
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::store::Written;

pub static SPEC: CommandSpec = CommandSpec {
    key: "remind",
    names: &["提醒", "remind"],
    args: Args::Required,
    capability: Capability::Announce,
    chats: Where::Anywhere,
    run,
    subcommands: &[],
};

const MAX_TEXT_CHARS: usize = 500;

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
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
    let Written { value: reminder, ticket } = ctx.store.add_reminder(&ctx.branch.id, chats, &ctx.member.user, at, text.trim())?;
    Ok(Reply::text(ctx.t("remind.set", &[("id", &reminder.id), ("time", &ctx.local_time(at)), ("text", &reminder.text)])).confirming(ticket))
}

#[cfg(test)]
mod tests {
    use crate::testing::BotTester;

    #[test]
    fn reminders_are_stored_for_the_future_only() {
        let t = BotTester::new();
        assert_eq!(t.say("secretary", "/提醒 周五 18:00 主题党日"), "好的，提醒 #1 将于 2026-11-27 18:00 发出：主题党日");
        let r = &t.bot.store().reminders().unwrap()[0];
        assert_eq!(r.chats[0].as_str(), "console:group");
        assert_eq!(t.dm("secretary", "/提醒 2026-01-01 09:00 太晚了"), "2026-01-01 09:00 已经过去了，请设置一个将来的时间。");
        assert!(t.dm("secretary", "/提醒 改天 开会").starts_with("没看懂提醒时间。可以这样写："));
        assert_eq!(t.dm("secretary", "/提醒 明天 9:00"), "用法：/提醒 <时间> <内容>");
        assert_eq!(t.say("alice", "/提醒 明天 9:00 x"), "只有书记、支委可以使用 /提醒。");
        // From a direct chat, the reminder goes to the branch's groups.
        t.dm("secretary", "/提醒 明天 9:00 交党费");
        assert_eq!(t.bot.store().reminders().unwrap()[1].chats[0].as_str(), "console:group");
    }
}
