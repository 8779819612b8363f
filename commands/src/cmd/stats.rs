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
