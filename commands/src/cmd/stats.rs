//! `/统计 [本周|上周|YYYY-Www]` (`/stats`), committee only: the branch's week as a table.

use super::week_arg::week_from_arg;
use crate::domain::Capability;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::stats::weekly_stats;

pub static SPEC: CommandSpec = CommandSpec {
    key: "stats",
    names: &["统计", "stats"],
    args: Args::Optional,
    capability: Capability::ViewStats,
    chats: Where::Anywhere,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
    let week = week_from_arg(ctx, args)?;
    let stats = weekly_stats(ctx.store, ctx.branch, week, ctx.settings.timezone, ctx.today())?;
    Ok(Reply::text(stats.render_text(ctx.catalog)))
}

#[cfg(test)]
mod tests {
    use crate::testing::BotTester;

    #[test]
    fn the_weekly_table() {
        let t = BotTester::new();
        t.say("alice", "/签到");
        t.dm("bob", "/学习心得 心得");
        t.say("carol", "大家好");
        let table = t.say("secretary", "/统计");
        assert_eq!(
            table,
            "演示支部 · 2026-W48（2026-11-23 至 2026-11-29）本周已过 3 天\n\
             成员       签到  思想汇报  学习心得  学习\n\
             alice      1/3   0         0         0\n\
             bob        0/3   0         1         0\n\
             carol      0/3   0         0         0\n\
             secretary  0/3   0         0         0\n\
             签到率 8.3%（1/12 人·天）；思想汇报 0 份，学习心得 1 份。\n\
             本周既未签到也未交汇报：carol、secretary"
        );
        assert!(t.say("secretary", "/stats 2026-W47").contains("（2026-11-16 至 2026-11-22）\n"));
        assert_eq!(t.say("alice", "/统计"), "只有书记、支委可以使用 /统计。");
    }

    #[test]
    fn reads_and_thumbs_up_on_pushes_are_counted() {
        use zhibu_chat::{ChatId, Event, MessageId};

        use crate::store::Push;
        use crate::testing::{at, user, GROUP};

        let t = BotTester::new();
        for who in ["alice", "bob", "secretary"] {
            t.say(who, "大家好");
        }
        let group = ChatId::parse(GROUP).unwrap();
        let push = |id: &str, when: &str| {
            let message = MessageId::parse(id).unwrap();
            t.bot.store().record_push(&Push { message: message.clone(), chat: group.clone(), job: "daily-study".into(), sent_at: at(when) }).unwrap();
            message
        };
        let monday = push("console:push-1", "2026-11-23T08:00:00+08:00");
        let tuesday = push("console:push-2", "2026-11-24T08:00:00+08:00");
        // Alice read the group on Monday night: Monday's push only. Bob gave Tuesday's a 👍.
        t.bot.handle(&Event::Read { chat: group.clone(), user: user("alice"), at: at("2026-11-23T21:00:00+08:00") });
        let thumbs = |target: &MessageId, key: &str, n: u32| Event::Reaction {
            chat: group.clone(),
            user: user("bob"),
            target: target.clone(),
            key: key.into(),
            id: MessageId::parse(&format!("console:reaction-{n}")).unwrap(),
            timestamp: at("2026-11-24T09:00:00+08:00"),
        };
        assert!(t.bot.handle(&thumbs(&tuesday, "👍", 1)).replies.is_empty());
        // A heart is not an acknowledgement; a thumbs up on ordinary chatter counts nothing.
        t.bot.handle(&thumbs(&monday, "❤️", 2));
        t.bot.handle(&thumbs(&MessageId::parse("console:chatter").unwrap(), "👍", 3));
        let table = t.say("secretary", "/统计");
        assert!(table.contains("已读推送  确认"), "{table}");
        let row = |name: &str| table.lines().find(|l| l.starts_with(name)).unwrap().split_whitespace().collect::<Vec<_>>();
        assert_eq!(row("alice")[5..], ["1/2", "0/2"], "{table}");
        assert_eq!(row("bob")[5..], ["1/2", "1/2"], "{table}");
        assert_eq!(row("secretary")[5..], ["0/2", "0/2"], "{table}");
    }
}
