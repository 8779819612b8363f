//! Reply slots: how replies to a callback find their way back into its HTTP response.
//!
//! WeChat waits 5 seconds for the answer to a callback, then retries the same message (same
//! `MsgId`) up to three times. A slot is opened for each message the first time it arrives;
//! replies the bot makes to it ([`Slots::push`]) are collected there until the bot has handled it
//! ([`Slots::finish`]), and the collected text becomes the passive reply. A request whose
//! deadline passes first answers `success` and defers the slot ([`Slots::defer`]): replies from
//! then on go through the customer-service API. Retries find the slot and answer consistently:
//! while pending they wait for the same outcome, once ready they get the same reply, once
//! deferred they get `success`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// Where a slot is; what a request for its message answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The bot has not handled the message yet.
    Pending,
    /// Handled in time: this is the passive reply (empty: nothing to say, answer `success`).
    Ready(String),
    /// Not handled in time: `success` was answered; replies use the customer-service API.
    Deferred,
}

struct Slot {
    opened: Instant,
    /// The follower the replies are for.
    openid: String,
    /// Replies collected while pending; after deferral, those collected before it and not yet
    /// sent.
    texts: Vec<String>,
    outcome: watch::Sender<Outcome>,
}

/// What to do with a reply to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// Collected into the pending passive reply: nothing to send now.
    Collected,
    /// Send it through the customer-service API to this follower, after `earlier` (replies
    /// collected before the deadline passed, which must go first).
    Api { openid: String, earlier: Vec<String> },
    /// No slot (expired, or the reply came after the passive reply was made): send it as a
    /// message to the chat.
    NoSlot,
}

/// Separates several replies joined into one passive reply.
pub const JOIN: &str = "\n\n";

/// The most a text message may carry, passive reply or customer-service message (WeChat's
/// documentation: 2048 bytes).
pub const TEXT_MAX_BYTES: usize = 2048;

/// The open slots, by message key.
pub struct Slots {
    slots: Mutex<HashMap<String, Slot>>,
    /// How long a slot is remembered (retries come within about 15 seconds).
    keep: Duration,
}

impl Slots {
    pub fn new(keep: Duration) -> Self {
        Self { slots: Mutex::new(HashMap::new()), keep }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // A panic elsewhere while holding the lock leaves a consistent map (every change is one
        // statement); keep using it.
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The slot of `key`, opened with `first` as its first text (a greeting, or nothing) if this
    /// is the message's first arrival. Returns whether it was opened now (the caller then hands
    /// the message to the bot), and a receiver of its outcome.
    pub fn open(&self, key: &str, openid: &str, first: Option<String>, now: Instant) -> (bool, watch::Receiver<Outcome>) {
        let mut slots = self.lock();
        let keep = self.keep;
        slots.retain(|_, s| now.saturating_duration_since(s.opened) < keep);
        if let Some(slot) = slots.get(key) {
            return (false, slot.outcome.subscribe());
        }
        let (outcome, rx) = watch::channel(Outcome::Pending);
        slots.insert(key.to_owned(), Slot { opened: now, openid: openid.to_owned(), texts: first.into_iter().collect(), outcome });
        (true, rx)
    }

    /// A reply to the message `key`: collected, or to be sent through the API.
    pub fn push(&self, key: &str, text: &str) -> Push {
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(key) else { return Push::NoSlot };
        let outcome = slot.outcome.borrow().clone();
        match outcome {
            Outcome::Pending => {
                slot.texts.push(text.to_owned());
                Push::Collected
            }
            Outcome::Deferred => Push::Api { openid: slot.openid.clone(), earlier: std::mem::take(&mut slot.texts) },
            Outcome::Ready(_) => Push::NoSlot,
        }
    }

    /// Puts back replies that [`Push::Api`] handed out and that could not be sent, so that the
    /// next attempt (the runtime retries) sends them again, still first.
    pub fn restore(&self, key: &str, mut earlier: Vec<String>) {
        if earlier.is_empty() {
            return;
        }
        if let Some(slot) = self.lock().get_mut(key) {
            earlier.append(&mut slot.texts);
            slot.texts = earlier;
        }
    }

    /// The bot has handled the message: a pending slot becomes ready with the collected text,
    /// or as much of it as one text message carries. Returns what is left to send through the
    /// API to the follower: what a deferred slot still holds, or what did not fit.
    pub fn finish(&self, key: &str) -> Option<(String, Vec<String>)> {
        let mut slots = self.lock();
        let slot = slots.get_mut(key)?;
        let deferred = *slot.outcome.borrow() == Outcome::Deferred;
        if deferred {
            let left = std::mem::take(&mut slot.texts);
            return (!left.is_empty()).then(|| (slot.openid.clone(), left));
        }
        let mut parts = zhibu_chat::split_lines(&std::mem::take(&mut slot.texts).join(JOIN), TEXT_MAX_BYTES).into_iter();
        slot.outcome.send_replace(Outcome::Ready(parts.next().unwrap_or_default()));
        let rest: Vec<String> = parts.collect();
        (!rest.is_empty()).then(|| (slot.openid.clone(), rest))
    }

    /// A request's deadline passed: a pending slot is deferred (what it has collected stays, to
    /// go out first through the API). Returns the outcome to answer with.
    pub fn defer(&self, key: &str) -> Outcome {
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(key) else { return Outcome::Deferred };
        let current = slot.outcome.borrow().clone();
        if current == Outcome::Pending {
            slot.outcome.send_replace(Outcome::Deferred);
            return Outcome::Deferred;
        }
        current
    }

    /// How many slots are remembered.
    pub fn remembered(&self) -> usize {
        self.lock().len()
    }
}

/// Waits until the slot's outcome is known, at most until `deadline`; then defers it if it is
/// still pending. The answer for this request.
pub async fn wait_outcome(slots: &Slots, key: &str, mut rx: watch::Receiver<Outcome>, deadline: tokio::time::Instant) -> Outcome {
    let settled = tokio::time::timeout_at(deadline, rx.wait_for(|o| *o != Outcome::Pending)).await;
    match settled {
        Ok(Ok(outcome)) => outcome.clone(),
        // The deadline passed, or the slot was dropped.
        _ => slots.defer(key),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn slots() -> Slots {
        Slots::new(Duration::from_secs(60))
    }

    #[test]
    fn replies_collected_while_pending_make_the_passive_reply() {
        let s = slots();
        let now = Instant::now();
        let (first, rx) = s.open("m1", "o_a", None, now);
        assert!(first);
        assert_eq!(s.push("m1", "签到成功"), Push::Collected);
        assert_eq!(s.push("m1", "第二条"), Push::Collected);
        assert_eq!(s.finish("m1"), None);
        assert_eq!(*rx.borrow(), Outcome::Ready("签到成功\n\n第二条".into()));
        // A retry gets the same reply and opens nothing.
        let (first, rx) = s.open("m1", "o_a", None, now);
        assert!(!first);
        assert_eq!(*rx.borrow(), Outcome::Ready("签到成功\n\n第二条".into()));
        // A reply after the passive reply was made cannot join it.
        assert_eq!(s.push("m1", "late"), Push::NoSlot);
        assert_eq!(s.push("unknown", "x"), Push::NoSlot);
    }

    #[test]
    fn a_first_text_leads_the_reply() {
        let s = slots();
        let (_, rx) = s.open("e1", "o_a", Some("欢迎".into()), Instant::now());
        s.push("e1", "菜单");
        s.finish("e1");
        assert_eq!(*rx.borrow(), Outcome::Ready("欢迎\n\n菜单".into()));
        // Nothing to say at all: an empty reply (answered `success`).
        let (_, rx) = s.open("m2", "o_a", None, Instant::now());
        s.finish("m2");
        assert_eq!(*rx.borrow(), Outcome::Ready(String::new()));
    }

    #[test]
    fn after_the_deadline_replies_go_through_the_api_in_order() {
        let s = slots();
        let (_, rx) = s.open("m1", "o_a", None, Instant::now());
        assert_eq!(s.push("m1", "one"), Push::Collected);
        assert_eq!(s.defer("m1"), Outcome::Deferred);
        assert_eq!(*rx.borrow(), Outcome::Deferred);
        // The next reply takes the one collected before the deadline with it.
        assert_eq!(s.push("m1", "two"), Push::Api { openid: "o_a".into(), earlier: vec!["one".into()] });
        // It failed: put back, and the retry sends both again.
        s.restore("m1", vec!["one".into()]);
        assert_eq!(s.push("m1", "two"), Push::Api { openid: "o_a".into(), earlier: vec!["one".into()] });
        assert_eq!(s.push("m1", "three"), Push::Api { openid: "o_a".into(), earlier: vec![] });
        assert_eq!(s.finish("m1"), None);
        // A deferred slot stays deferred; retries answer `success`.
        assert_eq!(s.defer("m1"), Outcome::Deferred);
    }

    #[test]
    fn what_is_left_at_the_end_of_a_deferred_slot_is_handed_out() {
        let s = slots();
        s.open("m1", "o_a", Some("hi".into()), Instant::now());
        s.push("m1", "one");
        s.defer("m1");
        assert_eq!(s.finish("m1"), Some(("o_a".into(), vec!["hi".into(), "one".into()])));
        assert_eq!(s.finish("m1"), None);
    }

    #[test]
    fn a_ready_slot_is_not_deferred_and_old_slots_are_forgotten() {
        let s = Slots::new(Duration::from_secs(10));
        let t0 = Instant::now();
        s.open("m1", "o_a", None, t0);
        s.finish("m1");
        assert_eq!(s.defer("m1"), Outcome::Ready(String::new()));
        assert_eq!(s.remembered(), 1);
        let (first, _) = s.open("m2", "o_b", None, t0 + Duration::from_secs(11));
        assert!(first);
        assert_eq!(s.remembered(), 1, "m1 expired");
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_ends_with_the_outcome_or_defers_at_the_deadline() {
        let s = std::sync::Arc::new(slots());
        let (_, rx) = s.open("m1", "o_a", None, Instant::now());
        let deadline = tokio::time::Instant::now() + Duration::from_millis(4500);
        let waiter = {
            let s = s.clone();
            tokio::spawn(async move { wait_outcome(&s, "m1", rx, deadline).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        s.push("m1", "ok");
        s.finish("m1");
        assert_eq!(waiter.await.unwrap(), Outcome::Ready("ok".into()));

        let (_, rx) = s.open("m2", "o_a", None, Instant::now());
        let (_, retry_rx) = s.open("m2", "o_a", None, Instant::now());
        let deadline = tokio::time::Instant::now() + Duration::from_millis(4500);
        let first = tokio::spawn({
            let s = s.clone();
            async move { wait_outcome(&s, "m2", rx, deadline).await }
        });
        // A retry while pending waits for the same outcome, here the first request's deferral.
        let retry = tokio::spawn({
            let s = s.clone();
            async move { wait_outcome(&s, "m2", retry_rx, deadline + Duration::from_secs(5)).await }
        });
        assert_eq!(first.await.unwrap(), Outcome::Deferred);
        assert_eq!(retry.await.unwrap(), Outcome::Deferred);
        assert_eq!(s.push("m2", "late"), Push::Api { openid: "o_a".into(), earlier: vec![] });
    }

    #[test]
    fn a_reply_too_long_for_one_message_continues_through_the_api() {
        let s = slots();
        let (_, rx) = s.open("m9", "o_a", None, Instant::now());
        let long: String = (0..200).map(|i| format!("第{i}条：学习党章，牢记使命。\n")).collect();
        s.push("m9", &long);
        let (openid, rest) = s.finish("m9").expect("the rest");
        let Outcome::Ready(first) = rx.borrow().clone() else { panic!("not ready") };
        assert_eq!(openid, "o_a");
        assert!(first.len() <= TEXT_MAX_BYTES && rest.iter().all(|p| p.len() <= TEXT_MAX_BYTES));
        assert!(first.starts_with("第0条") && !rest.is_empty());
        assert_eq!(format!("{first}\n{}\n", rest.join("\n")), long, "nothing lost, nothing reordered");
    }
}
