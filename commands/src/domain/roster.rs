//! The branch's roster rules: finding a member from what someone typed, and changing a role
//! without leaving the branch without a secretary. Used by `/角色` and `zhibu member set-role`.

use zhibu_chat::UserId;

use crate::domain::{Member, Role};
use crate::store::{Store, StoreError, Ticket};

/// Why `who` names no single member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindError {
    NotFound,
    /// Several members match; their ids.
    Ambiguous(Vec<UserId>),
}

/// Finds a member by mention, full id (`console:alice`), exact name, platform-local id or name
/// ignoring ASCII case — in that order of preference.
pub fn find_member<'a>(members: &'a [Member], who: &str, mention: Option<&UserId>) -> Result<&'a Member, FindError> {
    if let Some(m) = mention.and_then(|u| members.iter().find(|m| &m.user == u)) {
        return Ok(m);
    }
    let who = who.trim().trim_start_matches(['@', '＠']);
    if let Some(m) = members.iter().find(|m| m.user.as_str() == who) {
        return Ok(m);
    }
    let exact: Vec<&Member> = members.iter().filter(|m| m.name == who).collect();
    let found = if exact.is_empty() { members.iter().filter(|m| m.user.local() == who || m.name.eq_ignore_ascii_case(who)).collect() } else { exact };
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(FindError::NotFound),
        many => Err(FindError::Ambiguous(many.iter().map(|m| m.user.clone()).collect())),
    }
}

/// What a role change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// Changed, by the write of this ticket.
    Changed(Ticket),
    Unchanged,
    /// Refused: the member is the branch's only secretary.
    LastSecretary,
}

/// Sets `member`'s role, unless that would leave the branch without a secretary.
pub fn change_role(store: &Store, member: &Member, role: Role) -> Result<RoleChange, StoreError> {
    if member.role == role {
        return Ok(RoleChange::Unchanged);
    }
    if member.role == Role::Secretary {
        let secretaries = store.members(&member.branch)?.iter().filter(|m| m.role == Role::Secretary).count();
        if secretaries <= 1 {
            return Ok(RoleChange::LastSecretary);
        }
    }
    Ok(RoleChange::Changed(store.put_member(&Member { role, ..member.clone() })?))
}
