//! A clock that follows tokio's time, so a test with paused time runs days of schedule in
//! milliseconds while the scheduler's sleeps and its idea of "now" agree.

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use zhibu_commands::domain::Clock;

pub struct TokioClock {
    start: DateTime<Utc>,
    origin: Instant,
}

impl TokioClock {
    /// A clock reading `start` now, moving with tokio's time from here on.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self { start, origin: Instant::now() }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.origin);
        self.start + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}
