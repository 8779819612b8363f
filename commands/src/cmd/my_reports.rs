//! `/我的汇报` (`/myreports`): a member's own reports. In a group only the list (number, kind,
//! date, length); previews only in a direct chat.

use zhibu_chat::ChatKind;

use super::submit_report::kind_key;
use crate::domain::Capability;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

const PREVIEW_CHARS: usize = 30;

pub static SPEC: CommandSpec = CommandSpec {
    key: "my_reports",
    names: &["我的汇报", "myreports", "my-reports"],
    args: Args::None,
    capability: Capability::SubmitReports,
    chats: Where::Anywhere,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, _args: &str) -> Result<Reply, CommandError> {
    let reports = ctx.store.reports_by_author(&ctx.branch.id, &ctx.member.user)?;
    if reports.is_empty() {
        return Ok(Reply::text(ctx.t("report.mine_empty", &[])));
    }
    let mut lines = vec![ctx.t("report.mine_header", &[("count", &reports.len())])];
    for r in reports.iter().rev() {
        let kind = ctx.catalog.get(kind_key(r.kind));
        let date = r.at.with_timezone(&ctx.settings.timezone).format("%Y-%m-%d").to_string();
        let chars = r.chars();
        lines.push(match ctx.chat_kind {
            ChatKind::Group => ctx.t("report.mine_line", &[("id", &r.id), ("kind", &kind), ("date", &date), ("chars", &chars)]),
            ChatKind::Direct => {
                let mut preview: String = r.text.chars().take(PREVIEW_CHARS).map(|c| if c.is_whitespace() { ' ' } else { c }).collect();
                if chars > PREVIEW_CHARS {
                    preview.push('…');
                }
                ctx.t("report.mine_preview", &[("id", &r.id), ("kind", &kind), ("date", &date), ("chars", &chars), ("preview", &preview)])
            }
        });
    }
    if ctx.chat_kind == ChatKind::Group {
        lines.push(ctx.t("report.mine_group_note", &[]));
    }
    Ok(Reply::text(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use crate::testing::BotTester;

    #[test]
    fn previews_only_in_a_direct_chat() {
        let t = BotTester::new();
        assert_eq!(t.dm("alice", "/我的汇报"), "你还没有提交过汇报。");
        t.dm("alice", "/思想汇报 我最近学习了党章总纲，深刻认识到全心全意为人民服务的宗旨的重要意义。");
        let dm = t.dm("alice", "/myreports");
        assert_eq!(dm, "你提交的汇报（共 1 份）：\n#1 思想汇报 2026-11-25 · 34 字：我最近学习了党章总纲，深刻认识到全心全意为人民服务的宗旨的重…");
        let group = t.say("alice", "/我的汇报");
        assert!(group.contains("#1 思想汇报 2026-11-25 · 34 字"), "{group}");
        assert!(!group.contains("党章"), "{group}");
    }
}
