//! Rate limits on what people ask of the bot: a token bucket per member and one per chat.
//!
//! A member over their rate is not answered until their bucket refills, and is told so once
//! (until they have calmed down: their bucket is full again); a chat over its rate (many
//! members at once) likewise. Only events that ask for an answer count (group talk does not),
//! and a member's message that their own limit refuses costs the chat nothing, so one member's
//! flood never uses up the rest of the group's share.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use tokio::time::Instant;
use zhibu_chat::{ChatId, UserId};

/// Buckets kept before those that are full again (as good as new) are forgotten.
const MAX_BUCKETS: usize = 16_384;

/// A burst, then a steady rate. `per_minute = 0` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub per_minute: u32,
}

impl Rate {
    pub const UNLIMITED: Rate = Rate { burst: 1, per_minute: 0 };

    fn is_unlimited(&self) -> bool {
        self.per_minute == 0
    }
}

/// How much the bot takes from one member and one chat, and how much it keeps waiting per chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub member: Rate,
    pub chat: Rate,
    /// Events waiting in one chat before more are shed.
    pub backlog: usize,
}

impl Default for Limits {
    /// A member may send 3 commands at once, then one every 5 seconds: with the notice to slow
    /// down that is 4 replies, within the 5 a OneBot group gets before its pacing starts, so the
    /// rest of the group is not paced behind a flood. A group may send 20 at once, then one a
    /// second. Up to 50 events wait in one chat.
    fn default() -> Self {
        Limits { member: Rate { burst: 3, per_minute: 12 }, chat: Rate { burst: 20, per_minute: 60 }, backlog: 50 }
    }
}

/// What the limiter says of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Over a limit: not answered. `tell` for the first refusal since the sender (or chat) was
    /// last within its limit.
    Deny {
        tell: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    told: bool,
}

struct Buckets<K> {
    rate: Rate,
    map: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(rate: Rate) -> Self {
        Self { rate, map: HashMap::new() }
    }

    /// Takes one token for `key`: `Ok` when there was one, else whether to tell.
    fn take(&mut self, key: &K, now: Instant) -> Result<(), bool> {
        if self.rate.is_unlimited() {
            return Ok(());
        }
        let burst = f64::from(self.rate.burst.max(1));
        let rate = self.rate;
        if !self.map.contains_key(key) && self.map.len() >= MAX_BUCKETS {
            self.map.retain(|_, b| refilled(rate, b, now) < burst);
        }
        let fresh = Bucket { tokens: burst, at: now, told: false };
        let current = *self.map.get(key).unwrap_or(&fresh);
        let tokens = refilled(rate, &current, now);
        let mut bucket = Bucket { tokens, at: now, told: current.told && tokens < burst };
        let result = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let tell = !bucket.told;
            bucket.told = true;
            Err(tell)
        };
        self.map.insert(key.clone(), bucket);
        result
    }

    /// Gives back the token just taken for `key`.
    fn give_back(&mut self, key: &K) {
        if let Some(bucket) = self.map.get_mut(key) {
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(self.rate.burst.max(1)));
        }
    }
}

/// A bucket's tokens at `now`.
fn refilled(rate: Rate, bucket: &Bucket, now: Instant) -> f64 {
    let per_second = f64::from(rate.per_minute) / 60.0;
    (bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * per_second).min(f64::from(rate.burst.max(1)))
}

/// The buckets of every member and chat.
pub struct RateLimiter {
    members: Mutex<Buckets<UserId>>,
    chats: Mutex<Buckets<ChatId>>,
}

impl RateLimiter {
    pub fn new(limits: &Limits) -> Self {
        Self { members: Mutex::new(Buckets::new(limits.member)), chats: Mutex::new(Buckets::new(limits.chat)) }
    }

    /// Counts one event asking for an answer from `member` in `chat`.
    pub fn check(&self, member: &UserId, chat: &ChatId, now: Instant) -> Verdict {
        let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(tell) = members.take(member, now) {
            return Verdict::Deny { tell };
        }
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        match chats.take(chat, now) {
            Ok(()) => Verdict::Allow,
            Err(tell) => {
                // Refused for the chat's sake: the member's own share is not spent.
                members.give_back(member);
                Verdict::Deny { tell }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn user(n: u32) -> UserId {
        UserId::parse(&format!("onebot:{n}")).unwrap()
    }

    fn chat(n: u32) -> ChatId {
        ChatId::parse(&format!("onebot:1/group/{n}")).unwrap()
    }

    #[test]
    fn a_member_gets_the_burst_then_the_rate_and_is_told_once_until_calm() {
        let limiter = RateLimiter::new(&Limits { member: Rate { burst: 3, per_minute: 6 }, chat: Rate { burst: 100, per_minute: 600 }, backlog: 10 });
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let verdicts: Vec<Verdict> = (0..6).map(|i| limiter.check(&user(1), &chat(1), at(i * 100))).collect();
        assert_eq!(
            verdicts,
            [Verdict::Allow, Verdict::Allow, Verdict::Allow, Verdict::Deny { tell: true }, Verdict::Deny { tell: false }, Verdict::Deny { tell: false }]
        );
        // One every 10 s: another at 10.2 s, then refused again without a second notice.
        assert_eq!(limiter.check(&user(1), &chat(1), at(10_200)), Verdict::Allow);
        assert_eq!(limiter.check(&user(1), &chat(1), at(10_300)), Verdict::Deny { tell: false });
        // Others in the group are not held up by the flood.
        assert_eq!(limiter.check(&user(2), &chat(1), at(10_300)), Verdict::Allow);
        // Quiet long enough for the burst to come back: told again if they flood again.
        for i in 0..3 {
            assert_eq!(limiter.check(&user(1), &chat(1), at(60_000 + i)), Verdict::Allow);
        }
        assert_eq!(limiter.check(&user(1), &chat(1), at(60_010)), Verdict::Deny { tell: true });
    }

    #[test]
    fn a_busy_chat_is_limited_without_spending_its_members_shares() {
        let limiter = RateLimiter::new(&Limits { member: Rate { burst: 2, per_minute: 60 }, chat: Rate { burst: 3, per_minute: 60 }, backlog: 10 });
        let now = Instant::now();
        let verdicts: Vec<Verdict> = (1..=5).map(|u| limiter.check(&user(u), &chat(1), now)).collect();
        assert_eq!(verdicts[..3], [Verdict::Allow; 3]);
        assert_eq!(verdicts[3..], [Verdict::Deny { tell: true }, Verdict::Deny { tell: false }]);
        // Member 4 was refused for the chat's sake: in another chat they still have their burst.
        assert_eq!(limiter.check(&user(4), &chat(2), now), Verdict::Allow);
        assert_eq!(limiter.check(&user(4), &chat(2), now), Verdict::Allow);
        assert_eq!(limiter.check(&user(4), &chat(2), now), Verdict::Deny { tell: true });
        let unlimited = RateLimiter::new(&Limits { member: Rate::UNLIMITED, chat: Rate::UNLIMITED, backlog: 10 });
        assert!((0..1000).all(|_| unlimited.check(&user(1), &chat(1), now) == Verdict::Allow));
    }

    #[test]
    fn the_buckets_stay_bounded() {
        let limiter = RateLimiter::new(&Limits::default());
        let start = Instant::now();
        for i in 0..(MAX_BUCKETS as u32 + 100) {
            limiter.check(&user(i), &chat(i), start + Duration::from_secs(60 * u64::from(i)));
        }
        assert!(limiter.members.lock().unwrap().map.len() <= MAX_BUCKETS);
        assert!(limiter.chats.lock().unwrap().map.len() <= MAX_BUCKETS);
    }
}
