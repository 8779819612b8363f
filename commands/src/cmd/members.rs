//! `/成员` (`/members`), committee only, direct chat only (roles are political status, not for
//! the group): the branch's members with their roles and ids.

use crate::domain::Capability;
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

pub static SPEC: CommandSpec = CommandSpec {
    key: "members",
    names: &["成员", "members"],
    args: Args::None,
    capability: Capability::ViewStats,
    chats: Where::DirectOnly,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, _args: &str) -> Result<Reply, CommandError> {
    let mut members = ctx.store.members(&ctx.branch.id)?;
    members.sort_by(|a, b| a.role.cmp(&b.role).then_with(|| a.name.cmp(&b.name)));
    let mut lines = vec![ctx.t("members.title", &[("branch", &ctx.branch.name), ("count", &members.len())])];
    for m in &members {
        lines.push(ctx.t("members.line", &[("name", &m.name), ("role", &ctx.catalog.role(m.role)), ("id", &m.user)]));
    }
    Ok(Reply::text(lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use crate::testing::BotTester;

    #[test]
    fn the_member_list_is_for_the_committee_in_private() {
        let t = BotTester::new();
        t.say("alice", "hi");
        assert_eq!(
            t.dm("secretary", "/成员"),
            "演示支部 成员（共 2 人）：\n· secretary（书记）· 编号 console:secretary\n· alice（正式党员）· 编号 console:alice"
        );
        assert_eq!(t.say("secretary", "/成员"), "/成员 涉及个人材料，请私聊我使用。");
        assert_eq!(t.dm("alice", "/成员"), "只有书记、支委可以使用 /成员。");
    }
}
