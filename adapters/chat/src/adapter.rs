//! The seam between a protocol and the bot: the [`Adapter`] trait and the [`EventSink`] it
//! delivers events into.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::id::{ChatId, MessageId, Platform, UserId};
use crate::message::{Event, Outgoing};

/// An adapter failed in a way that stops it.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The runtime is no longer accepting events (it is shutting down).
    #[error("the bot is shutting down")]
    Closed,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Protocol(String),
    /// The adapter cannot start with its settings (wrong password, unusable server): retrying
    /// will not help, so the bot stops with this message instead of looping.
    #[error("{0}")]
    Startup(String),
}

/// Sending one message failed. The adapter says whether trying again may help; the retry policy
/// itself lives in the runtime, once, not in every adapter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A network hiccup, a rate limit, a server error: try again later.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// The platform asks the bot to slow down and says for how long.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: std::time::Duration },
    /// The chat is gone, the bot was removed, the message is refused: do not retry.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// An event on its way to the runtime, with an optional signal for when it has been handled.
#[derive(Debug)]
pub struct Envelope {
    pub event: Event,
    /// Dropped by the runtime once the event is handled and every reply to it has been handed to
    /// the adapter (or once the runtime has let it go). Adapters that must keep strict order
    /// across chats (the console) or record their position in the platform's stream (a sync
    /// token) wait for it.
    pub done: Option<oneshot::Sender<()>>,
}

/// Resolves when the runtime has handled one event (see [`EventSink::deliver_tracked`]).
#[derive(Debug)]
pub struct Handled(oneshot::Receiver<()>);

impl Handled {
    pub async fn wait(self) {
        // The runtime drops the sender when finished; an error only means it was dropped.
        let _ = self.0.await;
    }
}

/// The runtime no longer takes events: it is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the bot is shutting down")]
pub struct Closed;

/// The runtime's side of an [`EventSink`]: takes each event where it belongs.
pub trait Router: Send + Sync + 'static {
    /// Takes `envelope` without waiting. What the runtime cannot take now (a chat's backlog is
    /// full, a member is over their rate) it sheds itself, saying so in the chat: an adapter's
    /// read loop never waits here, so it always reads on (the responses to the bot's own sends
    /// among what it reads).
    fn route(&self, envelope: Envelope) -> Result<(), Closed>;
}

/// A plain queue, read by whoever holds its receiver (tests, one-shot tools).
impl Router for mpsc::UnboundedSender<Envelope> {
    fn route(&self, envelope: Envelope) -> Result<(), Closed> {
        self.send(envelope).map_err(|_| Closed)
    }
}

/// Where an adapter delivers the events it receives. Delivering never waits.
#[derive(Clone)]
pub struct EventSink {
    router: std::sync::Arc<dyn Router>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink").finish_non_exhaustive()
    }
}

impl EventSink {
    /// A sink into a plain queue.
    pub fn new(tx: mpsc::UnboundedSender<Envelope>) -> Self {
        Self::routed(std::sync::Arc::new(tx))
    }

    /// A sink into `router` (the runtime's).
    pub fn routed(router: std::sync::Arc<dyn Router>) -> Self {
        Self { router }
    }

    /// Hands an event to the runtime.
    pub fn deliver(&self, event: Event) -> Result<(), AdapterError> {
        self.router.route(Envelope { event, done: None }).map_err(|Closed| AdapterError::Closed)
    }

    /// Hands an event to the runtime; the returned [`Handled`] resolves once it has been handled
    /// and its replies sent. An adapter that records its position in the platform's stream (a
    /// sync token) waits for these before moving the position past the events.
    pub fn deliver_tracked(&self, event: Event) -> Result<Handled, AdapterError> {
        let (done, handled) = oneshot::channel();
        self.router.route(Envelope { event, done: Some(done) }).map_err(|Closed| AdapterError::Closed)?;
        Ok(Handled(handled))
    }

    /// Hands an event to the runtime and waits until it has been handled and its replies sent.
    pub async fn deliver_and_wait(&self, event: Event) -> Result<(), AdapterError> {
        self.deliver_tracked(event)?.wait().await;
        Ok(())
    }
}

/// A chat protocol: receives traffic and turns it into [`Event`]s, sends [`Outgoing`] messages.
/// Adapters know nothing of the branch's domain.
#[async_trait]
pub trait Adapter: Send + Sync + 'static {
    /// The platform this adapter speaks for; every id it produces carries it.
    fn platform(&self) -> &Platform;

    /// Receives from the platform and delivers events into `sink` until `shutdown` is cancelled
    /// (or the platform's input ends). Returns `Ok` on a clean stop.
    async fn run(&self, sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError>;

    /// Gets ready to send without receiving, for one-shot commands (`zhibu job run`) that send
    /// while the bot is not running. Adapters that can send without a session need nothing.
    async fn connect_for_sending(&self) -> Result<(), AdapterError> {
        Ok(())
    }

    /// Sends one message; returns the platform's id for it when the platform gives one.
    async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError>;

    /// The direct chat with `user`, where the platform lets the bot message a user privately
    /// (`None` where it cannot, e.g. a group-only webhook: the bot then writes in the group).
    fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
        let _ = user;
        None
    }

    /// Whether this adapter is the operator's own session (the console): the end of its input
    /// (`:quit`, end of file) ends the whole bot, and its one speaker at a time is held to no
    /// rate limit. False for network adapters.
    fn ends_session(&self) -> bool {
        false
    }
}
