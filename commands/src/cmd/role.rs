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
