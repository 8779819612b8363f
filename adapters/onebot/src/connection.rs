//! One WebSocket connection to an implementation, whichever side dialled: events in, actions out
//! with `echo` correlation, and a watch on the connection's liveness.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use zhibu_chat::EventSink;

use crate::frame::{to_event, Frame, Ids, Kind};

/// How long a connection may stay silent before it is pinged, and how long a ping may go
/// unanswered before the connection counts as dead.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub ping_after: Duration,
    pub ping_timeout: Duration,
}

/// Why an action call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("the connection closed before the implementation answered")]
    Closed,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the action could not be encoded: {0}")]
    Encode(String),
}

/// The sending half of a connection, shared with whoever calls actions.
#[derive(Debug)]
pub struct Connection {
    out: mpsc::Sender<Message>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Frame>>>,
    next_echo: AtomicU64,
    /// Cancelled when the connection ends, or to make it end (a newer one replaced it).
    pub closed: CancellationToken,
}

impl Connection {
    pub fn new() -> (Arc<Self>, mpsc::Receiver<Message>) {
        let (out, rx) = mpsc::channel(1024);
        (Arc::new(Self { out, pending: Mutex::new(HashMap::new()), next_echo: AtomicU64::new(1), closed: CancellationToken::new() }), rx)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Frame>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls `action` and waits for its response frame.
    pub async fn call<P: Serialize>(&self, action: &str, params: P, timeout: Duration) -> Result<Frame, CallError> {
        #[derive(Serialize)]
        struct Call<'a, P> {
            action: &'a str,
            params: P,
            echo: u64,
        }
        let echo = self.next_echo.fetch_add(1, Ordering::Relaxed);
        // Sized for a usual reply, so the buffer is not regrown as it is written.
        let mut frame = Vec::with_capacity(512);
        serde_json::to_writer(&mut frame, &Call { action, params, echo }).map_err(|e| CallError::Encode(e.to_string()))?;
        let frame = String::from_utf8(frame).map_err(|e| CallError::Encode(e.to_string()))?;
        let (tx, rx) = oneshot::channel();
        self.pending().insert(echo, tx);
        if self.out.send(Message::text(frame)).await.is_err() {
            self.pending().remove(&echo);
            return Err(CallError::Closed);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(_)) => Err(CallError::Closed),
            Err(_) => {
                self.pending().remove(&echo);
                Err(CallError::Timeout(timeout))
            }
        }
    }

    fn answer(&self, frame: Frame) {
        let echo = frame.echo.as_ref().and_then(|e| e.as_str()?.parse::<u64>().ok());
        match echo.and_then(|e| self.pending().remove(&e)) {
            Some(waiter) => {
                let _ = waiter.send(frame);
            }
            None => tracing::debug!(echo = ?frame.echo, "a response nobody is waiting for (timed out?)"),
        }
    }
}

/// The bot accounts connected now, by self id.
#[derive(Debug, Default)]
pub struct Accounts(Mutex<HashMap<String, Arc<Connection>>>);

impl Accounts {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Connection>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `conn` the connection of `account`. An older connection of the same account is
    /// closed: the implementation reconnected, and the old one is most likely dead.
    pub fn register(&self, account: &str, conn: &Arc<Connection>) {
        if let Some(old) = self.map().insert(account.to_owned(), conn.clone()) {
            if !Arc::ptr_eq(&old, conn) {
                tracing::info!(account, "account reconnected; closing its previous connection");
                old.closed.cancel();
            }
        }
    }

    /// Forgets `conn` under whichever account it was registered.
    fn unregister(&self, conn: &Arc<Connection>) {
        self.map().retain(|_, c| !Arc::ptr_eq(c, conn));
    }

    pub fn get(&self, account: &str) -> Option<Arc<Connection>> {
        self.map().get(account).cloned()
    }

    /// The connected account with the smallest id, if any.
    pub fn first(&self) -> Option<String> {
        self.map().keys().min().cloned()
    }
}

/// What every connection needs.
#[derive(Debug)]
pub struct Context {
    pub ids: Ids,
    pub accounts: Arc<Accounts>,
    pub sink: EventSink,
    pub liveness: Liveness,
    pub max_message_bytes: usize,
}

/// Serves one connection until it closes, goes silent, is replaced, or `shutdown`. `account`
/// is known from the handshake (reverse WebSocket) or learnt from the first event.
pub async fn serve<S>(
    mut ws: WebSocketStream<S>,
    conn: Arc<Connection>,
    mut outgoing: mpsc::Receiver<Message>,
    ctx: Arc<Context>,
    mut account: Option<String>,
    shutdown: CancellationToken,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Some(a) = &account {
        ctx.accounts.register(a, &conn);
    }
    // Any frame (a pong too) proves the connection alive; only events prove the implementation
    // is still at work when it has promised heartbeats.
    let mut last_frame = Instant::now();
    let mut last_event = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    let mut heartbeat: Option<Duration> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                let _ = ws.close(None).await;
                break Ok(());
            }
            () = conn.closed.cancelled() => {
                let _ = ws.close(None).await;
                break Err("replaced by a newer connection of the same account".into());
            }
            Some(message) = outgoing.recv() => {
                if let Err(e) = ws.feed(message).await {
                    break Err(format!("writing: {e}"));
                }
                while let Ok(more) = outgoing.try_recv() {
                    if ws.feed(more).await.is_err() {
                        break;
                    }
                }
                if let Err(e) = ws.flush().await {
                    break Err(format!("writing: {e}"));
                }
            }
            received = ws.next() => {
                let message = match received {
                    None => break Ok(()),
                    Some(Err(e)) => break Err(format!("reading: {e}")),
                    Some(Ok(message)) => message,
                };
                last_frame = Instant::now();
                ping_sent = None;
                match message {
                    Message::Text(text) => {
                        last_event = last_frame;
                        let frame: Frame = match serde_json::from_str(text.as_str()) {
                            Ok(frame) => frame,
                            Err(e) => {
                                tracing::warn!(error = %e, "a frame that is not a OneBot object; ignored");
                                continue;
                            }
                        };
                        if account.is_none() {
                            // An account is one path segment of our ids.
                            if let Some(id) = frame.self_id.as_str().filter(|id| !id.is_empty() && !id.contains('/')).map(str::to_owned) {
                                ctx.accounts.register(&id, &conn);
                                tracing::info!(account = %id, "OneBot account connected");
                                account = Some(id);
                            }
                        }
                        match frame.kind() {
                            Kind::Response => conn.answer(frame),
                            Kind::Message => {
                                let Some(acct) = account.as_deref() else { continue };
                                if let Some(event) = to_event(&ctx.ids, frame, acct, ctx.max_message_bytes) {
                                    if ctx.sink.deliver(event).await.is_err() {
                                        break Ok(());
                                    }
                                }
                            }
                            Kind::Heartbeat { interval_ms } => heartbeat = interval_ms.filter(|ms| *ms > 0).map(Duration::from_millis),
                            Kind::Lifecycle => tracing::debug!(account = ?account, "lifecycle event"),
                            Kind::Ignored(what) => tracing::debug!(what, "event not used by the bot; ignored"),
                            Kind::Unknown => tracing::warn!("a frame that is neither an event nor a response; ignored"),
                        }
                    }
                    Message::Close(_) => break Ok(()),
                    // Pongs and pings only prove the peer alive (tungstenite answers pings).
                    _ => {}
                }
            }
            _ = tick.tick() => {
                if let Some(interval) = heartbeat {
                    let silent = last_event.elapsed();
                    if silent > interval * 2 {
                        break Err(format!("no heartbeat or frame for {silent:?} (heartbeat interval {interval:?})"));
                    }
                }
                match ping_sent {
                    Some(at) if at.elapsed() > ctx.liveness.ping_timeout => {
                        break Err(format!("ping unanswered for {:?}", at.elapsed()));
                    }
                    None if last_frame.elapsed() > ctx.liveness.ping_after => {
                        if let Err(e) = ws.send(Message::Ping(Vec::new().into())).await {
                            break Err(format!("ping failed: {e}"));
                        }
                        ping_sent = Some(Instant::now());
                    }
                    _ => {}
                }
            }
        }
    };
    conn.closed.cancel();
    conn.pending().clear();
    ctx.accounts.unregister(&conn);
    result
}
