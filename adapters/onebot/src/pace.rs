//! Pacing of messages to one chat, so a broadcast does not get the account flagged for
//! flooding: a token bucket per chat (a burst, then a steady rate).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Chats remembered before the idle ones are forgotten (every private chat has a bucket).
const MAX_BUCKETS: usize = 4096;

/// `rate` messages a second per chat after a burst of `burst`; a rate of 0 turns pacing off.
#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    burst: f64,
    /// By chat id (from outside: foldhash with a random seed per process).
    buckets: Mutex<HashMap<String, (f64, Instant), foldhash::fast::RandomState>>,
}

impl Pacer {
    pub fn new(rate: f64, burst: u32) -> Self {
        Self { rate, burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::default()) }
    }

    /// Takes a slot for one message to `chat`: how long to wait before sending it. Slots are
    /// handed out in call order, so messages keep their order.
    pub fn reserve(&self, chat: &str) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Tokens may go negative: that is the queue of messages already waiting.
        // Looked up before inserting: the chat's id is copied only the first time.
        if !buckets.contains_key(chat) {
            if buckets.len() >= MAX_BUCKETS {
                // Chats whose burst is back in full are as good as new: forget them.
                let (rate, burst) = (self.rate, self.burst);
                buckets.retain(|_, (tokens, last)| *tokens + now.saturating_duration_since(*last).as_secs_f64() * rate < burst);
            }
            buckets.insert(chat.to_owned(), (self.burst, now));
        }
        let Some((tokens, last)) = buckets.get_mut(chat) else { return Duration::ZERO };
        *tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        *tokens -= 1.0;
        if *tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-*tokens / self.rate)
        }
    }

    /// Waits for a slot for one message to `chat`.
    pub async fn wait(&self, chat: &str) {
        let delay = self.reserve(chat);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_steady_rate_per_chat() {
        let pacer = Pacer::new(2.0, 3);
        let delays: Vec<Duration> = (0..6).map(|_| pacer.reserve("g1")).collect();
        let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 0, 500, 1000, 1500]);
        // Another chat is not held up.
        assert_eq!(pacer.reserve("g2"), Duration::ZERO);
        // After a quiet while the burst is back.
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(pacer.reserve("g1"), Duration::ZERO);
        assert_eq!(Pacer::new(0.0, 1).reserve("g1"), Duration::ZERO);
    }
}
