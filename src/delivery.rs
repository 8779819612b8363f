//! Sending one message through its platform's adapter, with the retry policy written once:
//! transient failures are retried with growing delays, permanent ones are not.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use zhibu_chat::{Adapter, ChatId, MessageId, Outgoing, Platform, SendError, UserId};
use zhibu_commands::jobs::Directory;

/// The adapters by platform.
#[derive(Clone, Default)]
pub struct Adapters(Arc<rustc_hash::FxHashMap<Platform, Arc<dyn Adapter>>>);

impl Adapters {
    pub fn new(adapters: &[Arc<dyn Adapter>]) -> Self {
        Self(Arc::new(adapters.iter().map(|a| (a.platform().clone(), a.clone())).collect()))
    }

    pub fn get(&self, platform: &Platform) -> Option<&Arc<dyn Adapter>> {
        self.0.get(platform)
    }
}

impl Directory for Adapters {
    fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
        self.get(&user.platform())?.direct_chat(user)
    }
}

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("no adapter for platform {0}")]
    NoAdapter(Platform),
    #[error("{0}")]
    Failed(SendError),
    #[error("shutting down")]
    Cancelled,
}

/// Sends `message`, retrying transient failures after each delay in `backoff` (or after the
/// platform's own `retry after`, when it is longer). Gives up early (leaving the message unsent)
/// when `shutdown` is cancelled during a wait. Returns the platform's id for the message.
pub async fn send_with_retry(
    adapters: &Adapters,
    message: &Outgoing,
    backoff: &[Duration],
    shutdown: &CancellationToken,
) -> Result<Option<MessageId>, DeliveryError> {
    let platform = message.chat.platform();
    let adapter = adapters.get(&platform).ok_or_else(|| DeliveryError::NoAdapter(platform.clone()))?;
    let mut delays = backoff.iter();
    loop {
        let (error, asked) = match adapter.send(message).await {
            Ok(id) => return Ok(id),
            Err(SendError::Transient(e)) => (SendError::Transient(e), Duration::ZERO),
            Err(SendError::RateLimited { retry_after }) => (SendError::RateLimited { retry_after }, retry_after),
            Err(e) => return Err(DeliveryError::Failed(e)),
        };
        let Some(delay) = delays.next().map(|d| (*d).max(asked)) else {
            return Err(DeliveryError::Failed(error));
        };
        tracing::warn!(chat = %message.chat, error = %error, "send failed; retrying in {delay:?}");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => return Err(DeliveryError::Cancelled),
        }
    }
}
