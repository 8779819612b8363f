//! `/学习` (`/study`): today's study item in full. `/学了` (`/done`): records that the member
//! studied it (once per member per item) and awards study points.

use crate::domain::Capability;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};
use crate::store::Insert;
use crate::study::StudyItem;

pub static STUDY_SPEC: CommandSpec = CommandSpec {
    key: "study",
    names: &["学习", "study", "每日学习"],
    args: Args::None,
    capability: Capability::Basic,
    chats: Where::Anywhere,
    run: study,
    subcommands: &[],
};

pub static DONE_SPEC: CommandSpec = CommandSpec {
    key: "study_done",
    names: &["学了", "done", "学习打卡"],
    args: Args::None,
    capability: Capability::CheckIn,
    chats: Where::Anywhere,
    run: done,
    subcommands: &[],
};

/// Today's item for the caller's branch: the one pushed today, else the one that will be.
fn todays_item<'a>(ctx: &Ctx<'a>) -> Result<Option<&'a StudyItem>, CommandError> {
    let today = ctx.today();
    if let Some(pushed) = ctx.store.study_today(&ctx.branch.id)?.filter(|t| t.date == today) {
        if let Some(item) = ctx.study.get(&pushed.item) {
            return Ok(Some(item));
        }
    }
    Ok(ctx.study.next_for(today, &ctx.store.study_pushed(&ctx.branch.id)?))
}

fn study(ctx: &Ctx<'_>, _args: &str) -> Result<Reply, CommandError> {
    let Some(item) = todays_item(ctx)? else {
        return Ok(Reply::text(ctx.t("study.none", &[])));
    };
    let mut text = ctx.t("study.full", &[("title", &item.title), ("body", &item.body)]);
    if !item.source.is_empty() {
        text.push('\n');
        text.push_str(&ctx.t("study.source", &[("source", &item.source)]));
    }
    if let Some(link) = &item.link {
        text.push('\n');
        text.push_str(link);
    }
    text.push('\n');
    text.push_str(&ctx.t("study.done_hint", &[]));
    Ok(Reply::text(text))
}

fn done(ctx: &Ctx<'_>, _args: &str) -> Result<Reply, CommandError> {
    let Some(item) = todays_item(ctx)? else {
        return Ok(Reply::text(ctx.t("study.none", &[])));
    };
    let Insert::Written(ticket) = ctx.store.record_study(&ctx.branch.id, &item.id, &ctx.member.user, ctx.sent_at)? else {
        return Ok(Reply::text(ctx.t("study.already", &[("title", &item.title)])));
    };
    let p = ctx.settings.points.study;
    let gained = ctx.store.award_points(&ctx.branch.id, &ctx.member.user, ctx.today(), "study", p.value, p.daily_cap)?;
    Ok(Reply::text(ctx.t("study.recorded", &[("title", &item.title), ("points", &gained.value)])).confirming(ticket.and(gained.ticket)))
}

#[cfg(test)]
mod tests {
    use crate::testing::BotTester;

    #[test]
    fn read_and_record_todays_item_once() {
        let t = BotTester::new();
        let Some(first) = t.bot.study().items().iter().find(|i| i.date.is_none()) else { return };
        let full = t.say("alice", "/学习");
        assert!(full.starts_with(&format!("📖 {}\n\n", first.title)), "{full}");
        assert!(full.ends_with("学完请发送 /学了 记录。"), "{full}");
        assert_eq!(t.say("alice", "/学了"), format!("已记录：你学习了《{}》，积分 +2。", first.title));
        assert_eq!(t.say("alice", "/done"), format!("你已经记录过学习《{}》了。", first.title));
    }
}
