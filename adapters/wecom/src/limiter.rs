//! Pacing one robot to WeCom's limit: at most N messages in any rolling minute.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The documented limit: 20 messages a minute per robot.
pub const DEFAULT_PER_MINUTE: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);

/// The send times of the last minute. It does not queue by itself: its owner holds it behind a
/// fair (FIFO) lock for a whole outgoing message, so waiting senders keep their order.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    sent: VecDeque<Instant>,
    /// WeCom said 45009 although we kept count (another sender shares the robot, or its clock
    /// differs): nothing goes out before this.
    paused_until: Option<Instant>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        let limit = per_minute.max(1) as usize;
        Self { limit, sent: VecDeque::with_capacity(limit), paused_until: None }
    }

    /// Waits until one more message fits in the window, and counts it as sent now.
    pub async fn acquire(&mut self) {
        if let Some(until) = self.paused_until.take() {
            tokio::time::sleep_until(until).await;
        }
        loop {
            let now = Instant::now();
            while self.sent.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                self.sent.pop_front();
            }
            if self.sent.len() < self.limit {
                self.sent.push_back(now);
                return;
            }
            // The window is full, so it has a first entry; the slot frees a minute after it.
            if let Some(&oldest) = self.sent.front() {
                tracing::debug!("{} WeCom messages in the last minute; waiting for a slot", self.limit);
                tokio::time::sleep_until(oldest + WINDOW).await;
            }
        }
    }

    /// Sends nothing for `wait` (the platform said to slow down).
    pub fn pause(&mut self, wait: Duration) {
        self.paused_until = Some(Instant::now() + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn at_most_the_limit_in_any_rolling_minute() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(3);
        let mut times = Vec::new();
        for _ in 0..7 {
            limiter.acquire().await;
            times.push(start.elapsed().as_secs());
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        assert_eq!(times, vec![0, 5, 10, 60, 65, 70, 120]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_the_next_message() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(20);
        limiter.acquire().await;
        limiter.pause(Duration::from_secs(60));
        limiter.acquire().await;
        assert_eq!(start.elapsed().as_secs(), 60);
    }
}
