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

/// A caller's say in how soon it needs a send's confirmation (see [`Adapter::send_unhurried`]):
/// not before [`Hurry::now`], which the caller says once something is waiting behind the send.
#[derive(Debug, Clone, Default)]
pub struct Hurry(CancellationToken);

impl Hurry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The confirmation is wanted now.
    pub fn now(&self) {
        self.0.cancel();
    }

    pub fn is_now(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves once [`Hurry::now`] has been said.
    pub async fn wanted(&self) {
        self.0.cancelled().await;
    }
}

/// An event on its way to the runtime, with an optional signal for when it has been handled.
#[derive(Debug)]
pub struct Envelope {
    pub event: Event,
    /// Dropped by the runtime once the event is handled and every reply to it has been handed to
    /// the adapter. Adapters that must keep strict order across chats (the console) wait for it.
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

/// The runtime's side of an [`EventSink`]: takes each event where it belongs. The runtime's
/// router answers an event that only reads right away, on the adapter's own task, so such an
/// event passes through no queue of its own.
pub trait Router: Send + Sync + 'static {
    /// Takes `envelope` if that needs no waiting; gives it back otherwise.
    fn try_route(&self, envelope: Envelope) -> Result<(), Refused>;

    /// Takes `envelope`, waiting for room in a full queue.
    fn route(&self, envelope: Envelope) -> RouteFuture<'_>;
}

/// What [`Router::route`] returns: done when the envelope is taken, or failed when the runtime
/// is shutting down.
pub type RouteFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AdapterError>> + Send + 'a>>;

/// Why [`Router::try_route`] gave an envelope back.
#[derive(Debug)]
pub enum Refused {
    /// The queue it belongs to is full: [`Router::route`] waits for room. (Boxed: an envelope
    /// is large, and this is the rare case.)
    Full(Box<Envelope>),
    /// The runtime is shutting down.
    Closed,
}

/// A queue's refusal of an envelope, as a router's.
impl From<mpsc::error::TrySendError<Envelope>> for Refused {
    fn from(e: mpsc::error::TrySendError<Envelope>) -> Self {
        match e {
            mpsc::error::TrySendError::Full(envelope) => Refused::Full(Box::new(envelope)),
            mpsc::error::TrySendError::Closed(_) => Refused::Closed,
        }
    }
}

/// A plain queue, read by whoever holds its receiver (tests, one-shot tools).
impl Router for mpsc::Sender<Envelope> {
    fn try_route(&self, envelope: Envelope) -> Result<(), Refused> {
        Ok(self.try_send(envelope)?)
    }

    fn route(&self, envelope: Envelope) -> RouteFuture<'_> {
        Box::pin(async move { self.send(envelope).await.map_err(|_| AdapterError::Closed) })
    }
}

/// Where an adapter delivers the events it receives.
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
    pub fn new(tx: mpsc::Sender<Envelope>) -> Self {
        Self::routed(std::sync::Arc::new(tx))
    }

    /// A sink into `router` (the runtime's).
    pub fn routed(router: std::sync::Arc<dyn Router>) -> Self {
        Self { router }
    }

    async fn hand_over(&self, envelope: Envelope) -> Result<(), AdapterError> {
        match self.router.try_route(envelope) {
            Ok(()) => Ok(()),
            Err(Refused::Full(envelope)) => self.router.route(*envelope).await,
            Err(Refused::Closed) => Err(AdapterError::Closed),
        }
    }

    /// Hands an event to the runtime; waits only when the runtime's queue is full.
    pub async fn deliver(&self, event: Event) -> Result<(), AdapterError> {
        self.hand_over(Envelope { event, done: None }).await
    }

    /// Hands an event to the runtime; the returned [`Handled`] resolves once it has been handled
    /// and its replies sent. An adapter that records its position in the platform's stream (a
    /// sync token) waits for these before moving the position past the events.
    pub async fn deliver_tracked(&self, event: Event) -> Result<Handled, AdapterError> {
        let (done, handled) = oneshot::channel();
        self.hand_over(Envelope { event, done: Some(done) }).await?;
        Ok(Handled(handled))
    }

    /// Hands an event to the runtime and waits until it has been handled and its replies sent.
    pub async fn deliver_and_wait(&self, event: Event) -> Result<(), AdapterError> {
        let (done, handled) = oneshot::channel();
        self.hand_over(Envelope { event, done: Some(done) }).await?;
        // The runtime drops `done` when finished; an error here only means it was dropped.
        let _ = handled.await;
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

    /// Sends one message as [`Adapter::send`] does, for a caller in no hurry for the platform's
    /// confirmation until [`Hurry::now`]: the adapter may leave the confirmation waiting until
    /// other traffic wakes it, instead of being woken for it alone. OneBot does (one wakeup per
    /// answered message instead of two); the default is [`Adapter::send`].
    async fn send_unhurried(&self, message: &Outgoing, hurry: &Hurry) -> Result<Option<MessageId>, SendError> {
        let _ = hurry;
        self.send(message).await
    }

    /// The direct chat with `user`, where the platform lets the bot message a user privately
    /// (`None` where it cannot, e.g. a group-only webhook: the bot then writes in the group).
    fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
        let _ = user;
        None
    }

    /// Whether the end of this adapter's input ends the whole bot. True for an interactive
    /// session (the console: `:quit` or end of input), false for network adapters.
    fn ends_session(&self) -> bool {
        false
    }
}
