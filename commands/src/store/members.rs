//! Members: `<branch>\0<user>` → [`Member`].
//!
//! Every event looks its sender up, so records read are kept in memory ([`MemberCache`]) and
//! replaced when written; so are the names holding each role, asked on every FAQ miss ("ask the
//! secretary"), until any member record is written.
//!
//! Two kinds of write: [`Store::put_member`] for changes someone is told about (a role set by
//! the secretary, an import), with a ticket for the reply that confirms it; [`Store::note_member`]
//! for what the bot learns by itself as people talk (a new speaker enrolled, a changed display
//! name), which nobody waits for. A crash can lose a noted change of the last seconds; the
//! speaker's next message notes it again.

use zhibu_chat::UserId;

use std::collections::HashMap;

use super::{decode, encode, keys, scan, Store, StoreError, Ticket};
use crate::domain::{BranchId, Member, Role};

/// The most member lookups kept (strangers talking in a group are looked up too); the cache
/// starts over when it is full.
const CACHED_LOOKUPS: usize = 4096;

/// Member records and role holders read since the last write to `members`.
#[derive(Debug, Default)]
pub(super) struct MemberCache {
    /// By record key: the record, or `None` for someone who is not a member.
    /// foldhash with a random seed per process: the keys come from outside, and SipHash's
    /// longer code costs more than the lookup itself at a message's pace.
    records: HashMap<Vec<u8>, Option<Member>, foldhash::fast::RandomState>,
    /// The names of the members holding a role, by branch and role.
    role_names: HashMap<(BranchId, Role), Vec<String>>,
}

impl MemberCache {
    /// Replaces what is cached for one record after it was written.
    fn remember(&mut self, key: Vec<u8>, member: Member) {
        if self.records.len() >= CACHED_LOOKUPS {
            self.records.clear();
        }
        self.records.insert(key, Some(member));
    }
}

pub(super) fn record_key(m: &Member) -> Vec<u8> {
    key(&m.branch, &m.user)
}

fn key(branch: &BranchId, user: &UserId) -> Vec<u8> {
    keys::join(&[branch.as_str().as_bytes(), user.as_str().as_bytes()])
}

impl Store {
    pub fn member(&self, branch: &BranchId, user: &UserId) -> Result<Option<Member>, StoreError> {
        let key = key(branch, user);
        if let Some(found) = self.member_cache().records.get(&key) {
            return Ok(found.clone());
        }
        // Read under the lock, so a write that clears the cache meanwhile cannot be overtaken
        // by this older read.
        let mut cache = self.member_cache();
        let found: Option<Member> = self.members.get(&key)?.map(|raw| decode("member", &raw)).transpose()?;
        if cache.records.len() >= CACHED_LOOKUPS {
            cache.records.clear();
        }
        cache.records.insert(key, found.clone());
        Ok(found)
    }

    /// Adds or replaces a member.
    pub fn put_member(&self, member: &Member) -> Result<Ticket, StoreError> {
        let mut cache = self.member_cache();
        let key = key(&member.branch, &member.user);
        self.members.insert(key.as_slice(), encode(member)?)?;
        cache.remember(key, member.clone());
        // The record replaced may have held another role: every role's holders are read again.
        cache.role_names.clear();
        Ok(self.wrote())
    }

    /// Notes a speaker without waiting for the disk: enrolls `member` when the branch has no
    /// record of them, or else brings the recorded display name up to `member.name`, keeping
    /// everything else of the record (a role set meanwhile is not overwritten). Returns the
    /// record as it now stands.
    pub fn note_member(&self, member: &Member) -> Result<Member, StoreError> {
        let mut cache = self.member_cache();
        let key = key(&member.branch, &member.user);
        let fresh = encode(member)?;
        let stored = self.members.update_and_fetch(key.as_slice(), |old| match old {
            None => Some(fresh.clone()),
            Some(raw) => match decode::<Member>("member", raw) {
                Ok(mut recorded) if recorded.name != member.name => {
                    recorded.name.clone_from(&member.name);
                    Some(encode(&recorded).unwrap_or_else(|_| raw.to_vec()))
                }
                // Unchanged, or unreadable: left for `member` to report.
                _ => Some(raw.to_vec()),
            },
        })?;
        let stored: Member = match stored {
            Some(raw) => decode("member", &raw)?,
            None => member.clone(),
        };
        // Only a name was written, or a record with the role it was enrolled with.
        cache.role_names.remove(&(stored.branch.clone(), stored.role));
        cache.remember(key, stored.clone());
        Ok(stored)
    }

    fn member_cache(&self) -> std::sync::MutexGuard<'_, MemberCache> {
        // A cache: a panic elsewhere leaves at worst records that are still true.
        self.member_cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets what the cache holds (member records were written some other way).
    pub(super) fn forget_cached_members(&self) {
        *self.member_cache() = MemberCache::default();
    }

    /// The names of the branch's members with `role`, in user-id order (cached until a
    /// member record changes).
    pub fn names_with_role(&self, branch: &BranchId, role: Role) -> Result<Vec<String>, StoreError> {
        let cache_key = (branch.clone(), role);
        let mut cache = self.member_cache();
        if let Some(names) = cache.role_names.get(&cache_key) {
            return Ok(names.clone());
        }
        let names: Vec<String> = self.members(branch)?.into_iter().filter(|m| m.role == role).map(|m| m.name).collect();
        cache.role_names.insert(cache_key, names.clone());
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
        let _ = store.put_member(&m).unwrap();
        assert_eq!(store.member(&a, &alice).unwrap(), Some(m.clone()));
        assert_eq!(store.member(&b, &alice).unwrap(), None);
        assert_eq!(store.members(&a).unwrap().len(), 1);
        assert_eq!(store.branches_of(&alice).unwrap(), vec![a.clone()]);
        assert_eq!(store.names_with_role(&a, Role::Member).unwrap(), vec!["alice".to_owned()]);
        let _ = store.put_member(&Member { role: Role::Secretary, ..m.clone() }).unwrap();
        assert!(store.names_with_role(&a, Role::Member).unwrap().is_empty(), "a member write clears the cache");
        assert_eq!(store.names_with_role(&a, Role::Secretary).unwrap(), vec!["alice".to_owned()]);
        assert_eq!(store.member(&a, &alice).unwrap().unwrap().role, Role::Secretary, "a cached record is replaced");
        // Someone looked up before joining is found once they join.
        let bob = UserId::parse("console:bob").unwrap();
        assert_eq!(store.member(&a, &bob).unwrap(), None);
        let _ = store.put_member(&Member { user: bob.clone(), name: "bob".into(), ..m.clone() }).unwrap();
        assert_eq!(store.member(&a, &bob).unwrap().unwrap().name, "bob");
    }

    #[test]
    fn the_lookup_cache_stays_bounded_and_true() {
        let (_dir, store) = temp_store();
        let a = BranchId::new("a").unwrap();
        for i in 0..CACHED_LOOKUPS + 5 {
            assert_eq!(store.member(&a, &UserId::parse(&format!("console:u{i}")).unwrap()).unwrap(), None);
        }
        assert!(store.member_cache().records.len() <= CACHED_LOOKUPS);
        let u0 = UserId::parse("console:u0").unwrap();
        let m = Member { branch: a.clone(), user: u0.clone(), name: "u0".into(), role: Role::Member, joined_at: chrono::Utc::now() };
        let _ = store.put_member(&m).unwrap();
        assert_eq!(store.member(&a, &u0).unwrap(), Some(m));
    }

    #[test]
    fn speakers_are_noted_without_a_ticket_and_without_losing_a_role() {
        let (_dir, store) = temp_store();
        let a = BranchId::new("a").unwrap();
        let u = UserId::parse("console:zhang").unwrap();
        let seen = Member { branch: a.clone(), user: u.clone(), name: "小张".into(), role: Role::Member, joined_at: chrono::Utc::now() };
        assert_eq!(store.note_member(&seen).unwrap(), seen, "enrolled on first contact");
        assert_eq!(store.names_with_role(&a, Role::Member).unwrap(), vec!["小张".to_owned()]);
        // The secretary makes them committee, with a ticket for the reply; a later note with the
        // default role and a new display name changes the name only.
        let ticket = store.put_member(&Member { role: Role::Committee, ..seen.clone() }).unwrap();
        assert!(!store.is_durable(ticket));
        let noted = store.note_member(&Member { name: "张三".into(), ..seen.clone() }).unwrap();
        assert_eq!((noted.name.as_str(), noted.role), ("张三", Role::Committee));
        assert_eq!(store.member(&a, &u).unwrap(), Some(noted));
        assert_eq!(store.names_with_role(&a, Role::Committee).unwrap(), vec!["张三".to_owned()]);
        assert!(store.names_with_role(&a, Role::Member).unwrap().is_empty());
        store.flush().unwrap();
        assert!(store.is_durable(ticket));
    }
}
