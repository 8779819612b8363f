//! `/帮助 [命令]` (`/help`): generated from the registry, showing only what the asker may use;
//! with a command name, that command's usage, help and other names.

use crate::domain::Capability;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

pub static SPEC: CommandSpec = CommandSpec {
    key: "help",
    names: &["帮助", "help", "菜单", "menu"],
    args: Args::Optional,
    capability: Capability::Basic,
    chats: Where::Anywhere,
    run,
    subcommands: &[],
};

fn where_mark(ctx: &Ctx<'_>, spec: &CommandSpec) -> String {
    match spec.chats {
        Where::Anywhere => String::new(),
        Where::DirectOnly => ctx.t("help.direct_mark", &[]),
        Where::GroupOnly => ctx.t("help.group_mark", &[]),
    }
}

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
    let asked = args.trim().trim_start_matches(crate::framework::parse_command_prefixes());
    if !asked.is_empty() {
        if let Some(spec) = ctx.registry.by_name(asked).filter(|c| c.allowed_for(ctx.member.role)) {
            let aliases: Vec<String> = spec.names.iter().map(|n| format!("/{n}")).collect();
            let mut text = ctx.t(
                "help.detail",
                &[
                    ("usage", &ctx.catalog.get(&spec.catalog_key("usage"))),
                    ("help", &ctx.catalog.get(&spec.catalog_key("help"))),
                    ("where", &where_mark(ctx, spec)),
                    ("aliases", &aliases.join(" ")),
                ],
            );
            for sub in spec.subcommands.iter().filter(|s| s.allowed_for(ctx.member.role)) {
                text.push('\n');
                text.push_str(&line(ctx, sub));
            }
            return Ok(Reply::text(text));
        }
    }
    let mut lines = vec![ctx.t("help.header", &[])];
    for (spec, _) in ctx.registry.all().filter(|(c, _)| c.allowed_for(ctx.member.role)) {
        lines.push(line(ctx, spec));
    }
    lines.push(ctx.t("help.footer", &[]));
    Ok(Reply::text(lines.join("\n")))
}

/// One command's line in the help: usage, what it does, where.
fn line(ctx: &Ctx<'_>, spec: &CommandSpec) -> String {
    ctx.t(
        "help.line",
        &[("usage", &ctx.catalog.get(&spec.catalog_key("usage"))), ("help", &ctx.catalog.get(&spec.catalog_key("help"))), ("where", &where_mark(ctx, spec))],
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::BotTester;

    #[test]
    fn help_shows_only_what_the_asker_may_use() {
        let t = BotTester::new();
        let member = t.say("alice", "/帮助");
        assert!(member.starts_with("你可以使用的命令：\n/签到 [备注] — 每日签到，每人每天一次"), "{member}");
        assert!(member.contains("/查看汇报 <编号> — 查看一份汇报的全文（私聊）"));
        assert!(!member.contains("/统计") && !member.contains("/角色"), "{member}");
        let secretary = t.say("secretary", "/help");
        assert!(secretary.contains("/统计 [本周|上周|2026-W48]") && secretary.contains("/角色 <成员> <角色>"));
        assert_eq!(t.say("alice", "/帮助 签到"), "/签到 [备注]\n每日签到，每人每天一次\n也可以写作：/签到 /打卡 /checkin /check-in");
        // A command the asker may not use is not described.
        assert!(t.say("alice", "/帮助 统计").starts_with("你可以使用的命令："));
    }
}
