//! The WeCom (企业微信) group robot adapter: sends the bot's messages to robot webhooks.
//!
//! A group robot only receives what the bot posts to its webhook; it hears nothing, so this
//! adapter is outbound only: scheduled pushes, digests and reminders reach a WeCom group, and
//! commands are answered elsewhere. Each robot is one chat, `wecom:<name>`, which a branch lists
//! in its `groups`.
//!
//! - [`compose`]: an outgoing message becomes `text` (default) or `markdown` messages within
//!   the documented sizes (split at line ends, in order), then an `image` message for its
//!   picture. Mentions of `wecom:<userid>` (and `wecom:tel:<mobile>`) notify; others are text.
//! - [`limiter`]: at most N messages in any rolling minute per robot (the documented 20). A
//!   send waits for its turn behind a fair lock, so nothing is dropped or reordered.
//! - [`webhook`]: the POST, and what WeCom's answer means: 45009 is
//!   [`SendError::RateLimited`], a network error or a 5xx is transient, any other errcode is
//!   permanent with its errmsg.

mod compose;
mod limiter;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use zhibu_chat::{Adapter, AdapterError, EventSink, MessageId, Outgoing, Platform, SendError};

pub use compose::{Format, IMAGE_MAX_BYTES, MARKDOWN_MAX_BYTES, TEXT_MAX_BYTES};
pub use limiter::DEFAULT_PER_MINUTE;
pub use webhook::{Webhook, WebhookError};

use compose::compose;
use limiter::RateLimiter;
use webhook::{interpret, Http, Transport};

/// The platform name in every id this adapter makes.
pub const PLATFORM: &str = "wecom";

/// How long one POST may take before it counts as a (transient) failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Partly sent messages remembered for a retry; more than this means retries are not coming.
const MAX_REMEMBERED: usize = 1024;

/// One robot: the chat `wecom:<name>`.
#[derive(Debug, Clone)]
pub struct RobotConfig {
    pub name: String,
    pub webhook: Webhook,
    pub format: Format,
}

/// Everything the adapter is configured with.
#[derive(Debug, Clone)]
pub struct WeComConfig {
    pub robots: Vec<RobotConfig>,
    /// Messages per rolling minute per robot (WeCom's limit is 20).
    pub per_minute: u32,
}

impl Default for WeComConfig {
    fn default() -> Self {
        Self { robots: Vec::new(), per_minute: DEFAULT_PER_MINUTE }
    }
}

struct Robot {
    config: RobotConfig,
    /// Held for the whole of one outgoing message: tokio's mutex is fair, so senders go out in
    /// the order they asked, and one message's parts are never interleaved with another's.
    state: tokio::sync::Mutex<RobotState>,
}

struct RobotState {
    limiter: RateLimiter,
    /// Idempotency key → parts already delivered, for a message that failed part-way: its
    /// retry sends only the rest, so the group does not see the first half twice.
    delivered: HashMap<String, usize>,
}

/// Sends to WeCom group robots. See the crate documentation.
pub struct WeComAdapter {
    platform: Platform,
    robots: HashMap<String, Robot>,
    transport: Result<Arc<dyn Transport>, String>,
}

impl WeComAdapter {
    pub fn new(config: WeComConfig) -> Self {
        let transport =
            Http::new(REQUEST_TIMEOUT).map(|http| Arc::new(http) as Arc<dyn Transport>).map_err(|e| format!("WeCom: cannot set up an HTTP client: {e}"));
        Self::with_transport(config, transport)
    }

    fn with_transport(config: WeComConfig, transport: Result<Arc<dyn Transport>, String>) -> Self {
        let robots = config
            .robots
            .into_iter()
            .map(|robot| {
                let state = RobotState { limiter: RateLimiter::new(config.per_minute), delivered: HashMap::new() };
                (robot.name.clone(), Robot { config: robot, state: tokio::sync::Mutex::new(state) })
            })
            .collect();
        let platform = Platform::new(PLATFORM).unwrap_or_else(|_| unreachable!("`wecom` is a valid platform name"));
        Self { platform, robots, transport }
    }

    fn transport(&self) -> Result<&Arc<dyn Transport>, String> {
        self.transport.as_ref().map_err(Clone::clone)
    }
}

#[async_trait]
impl Adapter for WeComAdapter {
    fn platform(&self) -> &Platform {
        &self.platform
    }

    /// A robot hears nothing: there is nothing to receive, only the shutdown to wait for.
    async fn run(&self, _sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError> {
        self.transport().map_err(AdapterError::Startup)?;
        shutdown.cancelled().await;
        Ok(())
    }

    async fn connect_for_sending(&self) -> Result<(), AdapterError> {
        self.transport().map(|_| ()).map_err(AdapterError::Startup)
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError> {
        let transport = self.transport().map_err(SendError::Permanent)?;
        let name = message.chat.local();
        let robot = self.robots.get(name).ok_or_else(|| SendError::Permanent(format!("no WeCom robot `{name}` is configured")))?;
        let parts = compose(message, robot.config.format).map_err(|e| SendError::Permanent(e.to_string()))?;
        if parts.is_empty() {
            tracing::debug!(robot = name, "nothing to send (empty text, no image)");
            return Ok(None);
        }
        // Waiting here is waiting for our turn: the limiter decides, nothing else. A shutdown
        // may abandon the wait; scheduled messages stay in the durable outbox until sent.
        let mut state = robot.state.lock().await;
        let key = message.idempotency_key.as_deref();
        let done = key.and_then(|k| state.delivered.get(k).copied()).unwrap_or(0);
        for (i, part) in parts.iter().enumerate().skip(done) {
            let body = serde_json::to_vec(part).map_err(|e| SendError::Permanent(e.to_string()))?;
            state.limiter.acquire().await;
            let result = match transport.post_json(&robot.config.webhook, body).await {
                Ok(reply) => interpret(&reply),
                Err(e) => Err(e),
            };
            let Err(error) = result else { continue };
            // The runtime logs the failure and decides on a retry; this adds which part it was.
            tracing::debug!(robot = name, part = i + 1, parts = parts.len(), %error, "WeCom robot did not take the message");
            if let SendError::RateLimited { retry_after } = &error {
                state.limiter.pause(*retry_after);
            }
            if let Some(key) = key {
                match &error {
                    SendError::Permanent(_) => {
                        state.delivered.remove(key);
                    }
                    _ if i > 0 => {
                        if state.delivered.len() >= MAX_REMEMBERED {
                            state.delivered.clear();
                        }
                        state.delivered.insert(key.to_owned(), i);
                    }
                    _ => {}
                }
            }
            return Err(error);
        }
        if let Some(key) = key {
            state.delivered.remove(key);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
