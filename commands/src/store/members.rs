//! Members: `<branch>\0<user>` → [`Member`].

use zhibu_chat::UserId;

use super::{decode, encode, keys, scan, Store, StoreError};
use crate::domain::{BranchId, Member, Role};

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
        self.forget_role_names();
        self.flush()
    }

    pub(super) fn forget_role_names(&self) {
        self.role_names.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The names of the branch's members with `role`, in user-id order (cached until a
    /// member record changes).
    pub fn names_with_role(&self, branch: &BranchId, role: Role) -> Result<Vec<String>, StoreError> {
        let cache_key = (branch.clone(), role);
        if let Some(names) = self.role_names.lock().unwrap_or_else(|p| p.into_inner()).get(&cache_key) {
            return Ok(names.clone());
        }
        let names: Vec<String> = self.members(branch)?.into_iter().filter(|m| m.role == role).map(|m| m.name).collect();
        self.role_names.lock().unwrap_or_else(|p| p.into_inner()).insert(cache_key, names.clone());
        Ok(names)
    }

    /// Every member of a branch, in user-id order.
    pub fn members(&self, branch: &BranchId) -> Result<Vec<Member>, StoreError> {
        scan("member", self.members.scan_prefix(keys::prefix(&[branch.as_str().as_bytes()])))
    }

    /// The branches a user belongs to. Reads keys only (`<branch>\0<user>`), no records.
    pub fn branches_of(&self, user: &UserId) -> Result<Vec<BranchId>, StoreError> {
        let mut out = Vec::new();
        for k in self.members.iter().keys() {
            let k = k?;
            let mut parts = k.splitn(2, |b| *b == 0);
            let (Some(branch), Some(u)) = (parts.next(), parts.next()) else { continue };
            if u == user.as_str().as_bytes() {
                if let Some(id) = std::str::from_utf8(branch).ok().and_then(|b| BranchId::new(b).ok()) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::temp_store;
    use super::*;

    #[test]
    fn members_are_kept_per_branch() {
        let (_dir, store) = temp_store();
        let a = BranchId::new("a").unwrap();
        let b = BranchId::new("b").unwrap();
        let alice = UserId::parse("console:alice").unwrap();
        let m = Member { branch: a.clone(), user: alice.clone(), name: "alice".into(), role: Role::Member, joined_at: chrono::Utc::now() };
        store.put_member(&m).unwrap();
        assert_eq!(store.member(&a, &alice).unwrap(), Some(m.clone()));
        assert_eq!(store.member(&b, &alice).unwrap(), None);
        assert_eq!(store.members(&a).unwrap().len(), 1);
        assert_eq!(store.branches_of(&alice).unwrap(), vec![a.clone()]);
        assert_eq!(store.names_with_role(&a, Role::Member).unwrap(), vec!["alice".to_owned()]);
        store.put_member(&Member { role: Role::Secretary, ..m.clone() }).unwrap();
        assert!(store.names_with_role(&a, Role::Member).unwrap().is_empty(), "a member write clears the cache");
        assert_eq!(store.names_with_role(&a, Role::Secretary).unwrap(), vec!["alice".to_owned()]);
    }
}
