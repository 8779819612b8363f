//! `/统计 [本周|上周|YYYY-Www]` (`/stats`), committee only: the branch's week as a table.

use super::week_arg::week_from_arg;
use crate::domain::Capability;
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::stats::weekly_stats;

pub struct StatsCommand;

static SPEC: CommandSpec = CommandSpec {
    key: "stats",
    names: &["统计", "stats"],
    args: Args::Optional,
    capability: Capability::ViewStats,
    chats: Where::Anywhere,
};

impl Command for StatsCommand {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let week = week_from_arg(ctx, args)?;
        let stats = weekly_stats(ctx.store, ctx.branch, week, ctx.settings.timezone, ctx.today())?;
        Ok(Reply::text(stats.render_text(ctx.catalog)))
    }
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
}
