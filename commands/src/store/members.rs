//! Members: `<branch>\0<user>` → [`Member`].

use zhibu_chat::UserId;

use super::{decode, encode, keys, scan, Store, StoreError};
use crate::domain::{BranchId, Member};

pub(super) fn record_key(m: &Member) -> Vec<u8> {
    key(&m.branch, &m.user)
}

fn key(branch: &BranchId, user: &UserId) -> Vec<u8> {
    keys::join(&[branch.as_str().as_bytes(), user.as_str().as_bytes()])
}

impl Store {
    pub fn member(&self, branch: &BranchId, user: &UserId) -> Result<Option<Member>, StoreError> {
        self.members.get(key(branch, user))?.map(|raw| decode("member", &raw)).transpose()
    }

    /// Adds or replaces a member, durably.
    pub fn put_member(&self, member: &Member) -> Result<(), StoreError> {
        self.members.insert(key(&member.branch, &member.user), encode(member)?)?;
        self.flush()
    }

    /// Every member of a branch, in user-id order.
    pub fn members(&self, branch: &BranchId) -> Result<Vec<Member>, StoreError> {
        scan("member", self.members.scan_prefix(keys::prefix(&[branch.as_str().as_bytes()])))
    }

    /// The branches a user belongs to.
    pub fn branches_of(&self, user: &UserId) -> Result<Vec<BranchId>, StoreError> {
        let all: Vec<Member> = scan("member", self.members.iter())?;
        Ok(all.into_iter().filter(|m| &m.user == user).map(|m| m.branch).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;
    use crate::domain::Role;

    #[test]
    fn members_are_kept_per_branch() {
        let (_dir, store) = temp_store();
        let a = BranchId::new("a").unwrap();
        let b = BranchId::new("b").unwrap();
        let alice = UserId::parse("console:alice").unwrap();
        let m = Member { branch: a.clone(), user: alice.clone(), name: "alice".into(), role: Role::Member, joined_at: chrono::Utc::now() };
        store.put_member(&m).unwrap();
        assert_eq!(store.member(&a, &alice).unwrap(), Some(m));
        assert_eq!(store.member(&b, &alice).unwrap(), None);
        assert_eq!(store.members(&a).unwrap().len(), 1);
        assert_eq!(store.branches_of(&alice).unwrap(), vec![a]);
    }
}
