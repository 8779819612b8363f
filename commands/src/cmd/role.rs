//! `/角色 <成员> <角色>` (`/role`), secretary only, direct chat only: sets a member's role. The
//! member is named by @mention, member id, or name; the role in Chinese or English. The last
//! secretary cannot step down.

use crate::domain::{Capability, Member, Role};
use crate::framework::{Args, Command, CommandError, CommandSpec, Ctx, Reply, Where};

pub struct RoleCommand;

static SPEC: CommandSpec = CommandSpec {
    key: "role",
    names: &["角色", "role", "setrole"],
    args: Args::Required,
    capability: Capability::ManageRoles,
    chats: Where::DirectOnly,
};

impl Command for RoleCommand {
    fn spec(&self) -> &'static CommandSpec {
        &SPEC
    }

    fn run(&self, ctx: &Ctx<'_>, args: &str) -> Result<Reply, CommandError> {
        let args = args.trim();
        let (who, role) = args.rsplit_once(char::is_whitespace).ok_or(CommandError::Usage)?;
        let role: Role = role.parse().map_err(|_| CommandError::UnknownRole(role.to_owned()))?;
        let mut member = find_member(ctx, who.trim())?;
        let name = member.name.clone();
        let role_name = ctx.catalog.role(role);
        if member.role == role {
            return Ok(Reply::text(ctx.t("role.unchanged", &[("name", &name), ("role", &role_name)])));
        }
        if member.role == Role::Secretary {
            let secretaries = ctx.store.members(&ctx.branch.id)?.iter().filter(|m| m.role == Role::Secretary).count();
            if secretaries <= 1 {
                return Err(CommandError::LastSecretary);
            }
        }
        member.role = role;
        ctx.store.put_member(&member)?;
        Ok(Reply::text(ctx.t("role.set", &[("name", &name), ("role", &role_name)])))
    }
}

/// Finds a member of the caller's branch by @mention, full id, local id or name.
pub fn find_member(ctx: &Ctx<'_>, who: &str) -> Result<Member, CommandError> {
    let members = ctx.store.members(&ctx.branch.id)?;
    let who = who.trim_start_matches(['@', '＠']);
    if let Some(mention) = ctx.mentions.first() {
        if let Some(m) = members.iter().find(|m| m.user == mention.user) {
            return Ok(m.clone());
        }
    }
    if let Some(m) = members.iter().find(|m| m.user.as_str() == who) {
        return Ok(m.clone());
    }
    let by_name: Vec<&Member> = members.iter().filter(|m| m.name == who).collect();
    let matches = if by_name.is_empty() {
        members.iter().filter(|m| m.user.local() == who || m.name.eq_ignore_ascii_case(who)).collect()
    } else {
        by_name
    };
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CommandError::MemberNotFound(who.to_owned())),
        many => Err(CommandError::MemberAmbiguous {
            name: who.to_owned(),
            candidates: many.iter().map(|m| m.user.to_string()).collect(),
        }),
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
        assert_eq!(t.dm("secretary", "/角色 alice 老板"), "没有“老板”这个角色。可选：书记、支委、正式党员、预备党员、发展对象、入党积极分子、入党申请人、群众。");
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
        t.bot.store().put_member(&twin).unwrap();
        assert_eq!(
            t.dm("secretary", "/角色 alice 支委"),
            "有几位成员都叫“alice”：console:alice、console:alice2。请用完整的成员编号指定。"
        );
        assert_eq!(t.dm("secretary", "/角色 console:alice2 支委"), "已将 alice 的角色设为支委。");
    }
}
