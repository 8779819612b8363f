//! `/角色 <成员> <角色>` (`/role`), secretary only, direct chat only: sets a member's role. The
//! member is named by @mention, member id, or name; the role in Chinese or English. The last
//! secretary cannot step down.

use crate::domain::{change_role, find_member, Capability, FindError, Role, RoleChange};
use crate::framework::{Args, CommandError, CommandSpec, Ctx, Reply, Where};

pub static SPEC: CommandSpec = CommandSpec {
    key: "role",
    names: &["角色", "role", "setrole"],
    args: Args::Required,
    capability: Capability::ManageRoles,
    chats: Where::DirectOnly,
    run,
    subcommands: &[],
};

fn run(ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
    let (who, role) = args.trim().rsplit_once(char::is_whitespace).ok_or(CommandError::Usage)?;
    let role: Role = role.parse().map_err(|_| CommandError::UnknownRole(role.to_owned()))?;
    let members = ctx.store.members(&ctx.branch.id)?;
    let member = find_member(&members, who, ctx.mentions.first().map(|m| &m.user)).map_err(|e| match e {
        FindError::NotFound => CommandError::MemberNotFound(who.trim().to_owned()),
        FindError::Ambiguous(ids) => CommandError::MemberAmbiguous { name: who.trim().to_owned(), candidates: ids.iter().map(ToString::to_string).collect() },
    })?;
    let args: [(&str, &dyn std::fmt::Display); 2] = [("name", &member.name), ("role", &ctx.catalog.role(role))];
    match change_role(ctx.store, member, role)? {
        RoleChange::Changed(ticket) => Ok(Reply::text(ctx.t("role.set", &args)).confirming(ticket)),
        RoleChange::Unchanged => Ok(Reply::text(ctx.t("role.unchanged", &args))),
        RoleChange::LastSecretary => Err(CommandError::LastSecretary),
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Role;
    use crate::testing::{user, BotTester};

    #[test]
    fn the_secretary_sets_roles_in_a_direct_chat() {
        let t = BotTester::new();
        t.say("alice", "大家好");
        assert_eq!(t.dm("secretary", "/角色 alice 预备党员"), "已将 alice 的角色设为预备党员。");
        assert_eq!(t.dm("secretary", "/role alice probationary"), "alice 的角色本来就是预备党员。");
        let branch = &t.bot.settings().branches[0].id;
        assert_eq!(t.bot.store().member(branch, &user("alice")).unwrap().unwrap().role, Role::Probationary);
        assert_eq!(
            t.dm("secretary", "/角色 alice 老板"),
            "没有“老板”这个角色。可选：书记、支委、正式党员、预备党员、发展对象、入党积极分子、入党申请人、群众。"
        );
        assert_eq!(t.dm("secretary", "/角色 nobody 支委"), "本支部没有找到成员“nobody”。");
        assert_eq!(t.dm("secretary", "/角色 alice"), "用法：/角色 <成员> <角色>");
        assert_eq!(t.say("secretary", "/角色 alice 支委"), "/角色 涉及个人材料，请私聊我使用。");
        assert_eq!(t.dm("alice", "/角色 alice 书记"), "只有书记可以使用 /角色。");
    }

    #[test]
    fn the_last_secretary_cannot_step_down() {
        let t = BotTester::new();
        assert_eq!(t.dm("secretary", "/角色 secretary 正式党员"), "支部至少要有一位书记：请先任命新的书记，再调整自己的角色。");
        t.say("alice", "hi");
        t.dm("secretary", "/角色 alice 书记");
        assert_eq!(t.dm("secretary", "/角色 secretary 支委"), "已将 secretary 的角色设为支委。");
    }

    #[test]
    fn members_are_found_by_mention_and_ambiguous_names_are_refused() {
        let t = BotTester::new();
        t.say("alice", "hi");
        let reply = t.say_mentioning("secretary", "/角色 @Alice 支委", "alice");
        // In the group the command is refused before the mention matters.
        assert_eq!(reply, "/角色 涉及个人材料，请私聊我使用。");
        let branch = t.bot.settings().branches[0].id.clone();
        let mut twin = t.bot.store().member(&branch, &user("alice")).unwrap().unwrap();
        twin.user = user("alice2");
        let _ = t.bot.store().put_member(&twin).unwrap();
        assert_eq!(t.dm("secretary", "/角色 alice 支委"), "有几位成员都叫“alice”：console:alice、console:alice2。请用完整的成员编号指定。");
        assert_eq!(t.dm("secretary", "/角色 console:alice2 支委"), "已将 alice 的角色设为支委。");
    }
}
