//! `/思想汇报 <内容>` (`/report`) and `/学习心得 <内容>` (`/note`): store a report. In a group the
//! text is never repeated back: the bot acknowledges briefly and asks for direct messages next
//! time.

use zhibu_chat::ChatKind;

use crate::domain::{Capability, ReportKind};
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

pub static THOUGHT_SPEC: CommandSpec = CommandSpec {
    key: "thought_report",
    names: &["思想汇报", "report", "thought"],
    args: Args::Required,
    capability: Capability::SubmitReports,
    chats: Where::Anywhere,
    run: |ctx, args| submit(ctx, args, ReportKind::Thought),
    subcommands: &[],
};

pub static STUDY_NOTE_SPEC: CommandSpec = CommandSpec {
    key: "study_note",
    names: &["学习心得", "心得", "note"],
    args: Args::Required,
    capability: Capability::SubmitReports,
    chats: Where::Anywhere,
    run: |ctx, args| submit(ctx, args, ReportKind::StudyNote),
    subcommands: &[],
};

/// The catalog key naming a report kind.
pub fn kind_key(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Thought => "report.thought",
        ReportKind::StudyNote => "report.study_note",
    }
}

fn submit(ctx: &Ctx<'_>, args: &str, kind: ReportKind) -> Result<Reply, CommandError> {
    let text = args.trim();
    let max = ctx.settings.report_max_chars;
    let len = text.chars().count();
    if len > max {
        return Err(CommandError::TooLong { len, max });
    }
    let written = ctx.store.add_report(&ctx.branch.id, &ctx.member.user, kind, ctx.sent_at, text)?;
    let report = &written.value;
    let name = ctx.catalog.get(kind_key(kind));
    let reply = match ctx.chat_kind {
        ChatKind::Direct => ctx.t("report.saved_direct", &[("kind", &name), ("id", &report.id), ("chars", &len)]),
        ChatKind::Group => ctx.t("report.saved_group", &[("name", &ctx.member.name), ("kind", &name), ("id", &report.id)]),
    };
    Ok(Reply::text(reply).confirming(written.ticket))
}

#[cfg(test)]
mod tests {
    use crate::domain::Role;
    use crate::testing::BotTester;

    #[test]
    fn a_report_in_a_direct_chat_is_stored_and_acknowledged() {
        let t = BotTester::new();
        assert_eq!(t.dm("alice", "/思想汇报 本季度我认真学习了党章。"), "已收到你的思想汇报（编号 #1，12 字），已妥善保存。");
        assert_eq!(t.dm("alice", "/note 学习心得正文"), "已收到你的学习心得（编号 #2，6 字），已妥善保存。");
        assert_eq!(t.bot.store().report(1).unwrap().unwrap().text, "本季度我认真学习了党章。");
    }

    #[test]
    fn a_report_in_the_group_is_not_echoed() {
        let t = BotTester::new();
        let secret = "我对自己入党动机的反思很私密";
        let reply = t.say("alice", &format!("/思想汇报 {secret}"));
        assert_eq!(reply, "已收到 alice 的思想汇报（编号 #1）。汇报属于个人材料，以后请私聊我提交，不要发在群里。");
        assert!(!reply.contains("反思"));
    }

    #[test]
    fn empty_too_long_and_not_allowed_reports_are_refused() {
        let t = BotTester::new();
        assert_eq!(t.dm("alice", "/思想汇报"), "用法：/思想汇报 <内容>");
        assert_eq!(t.dm("alice", "/思想汇报 　 "), "用法：/思想汇报 <内容>");
        let long = "字".repeat(20_001);
        assert_eq!(t.dm("alice", &format!("/思想汇报 {long}")), "内容太长了：20001 字，上限是 20000 字。");
        t.set_role("carol", Role::Masses);
        assert!(t.dm("carol", "/思想汇报 x").starts_with("只有书记、支委、正式党员"));
        assert!(t.bot.store().report(1).unwrap().is_none());
    }
}
