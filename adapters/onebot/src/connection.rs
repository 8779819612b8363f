//! One WebSocket connection to an implementation, whichever side dialled: events in, actions out
//! with `echo` correlation, and a watch on the connection's liveness.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use zhibu_chat::EventSink;

use crate::frame::{to_event, Frame, Ids, Kind, Response};

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

/// A call waiting for its response.
#[derive(Debug)]
struct Waiter {
    answer: oneshot::Sender<Result<Response, CallError>>,
    deadline: Instant,
    timeout: Duration,
}

/// The sending half of a connection, shared with whoever calls actions.
#[derive(Debug)]
pub struct Connection {
    /// Unbounded: every caller waits for its response before it calls again, so what is queued
    /// is at most one frame per caller.
    out: mpsc::UnboundedSender<Message>,
    /// Calls by echo. The connection's once-a-second tick fails those past their deadline, so a
    /// call arms no timer of its own.
    pending: Mutex<HashMap<u64, Waiter>>,
    next_echo: AtomicU64,
    /// Cancelled when the connection ends, or to make it end (a newer one replaced it).
    pub closed: CancellationToken,
}

impl Connection {
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Message>) {
        let (out, rx) = mpsc::unbounded_channel();
        (Arc::new(Self { out, pending: Mutex::new(HashMap::default()), next_echo: AtomicU64::new(1), closed: CancellationToken::new() }), rx)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waiter>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls `action` and waits for its response frame, at most `timeout` (checked once a
    /// second, so up to a second more).
    pub async fn call<P: Serialize>(&self, action: &str, params: P, timeout: Duration) -> Result<Response, CallError> {
        let params = serde_json::to_string(&params).map_err(|e| CallError::Encode(e.to_string()))?;
        self.call_with(action, params.len(), |out| out.push_str(&params), timeout).await
    }

    /// [`Connection::call`] with the params written as JSON by `params` (about `params_len`
    /// bytes) into the frame's own buffer.
    pub async fn call_with(&self, action: &str, params_len: usize, params: impl FnOnce(&mut String), timeout: Duration) -> Result<Response, CallError> {
        let echo = self.next_echo.fetch_add(1, Ordering::Relaxed);
        let mut frame = String::with_capacity(params_len + action.len() + 48);
        frame.push_str("{\"action\":");
        crate::json::push_str(&mut frame, action);
        frame.push_str(",\"params\":");
        params(&mut frame);
        frame.push_str(",\"echo\":");
        frame.push_str(itoa::Buffer::new().format(echo));
        frame.push('}');
        let (answer, rx) = oneshot::channel();
        self.pending().insert(echo, Waiter { answer, deadline: Instant::now() + timeout, timeout });
        if self.out.send(Message::text(frame)).is_err() {
            self.pending().remove(&echo);
            return Err(CallError::Closed);
        }
        // The waiter is dropped unanswered when the connection ends.
        rx.await.unwrap_or(Err(CallError::Closed))
    }

    /// Fails the calls whose deadline has passed.
    fn expire(&self, now: Instant) {
        let mut pending = self.pending();
        if pending.is_empty() {
            return;
        }
        let late: Vec<u64> = pending.iter().filter(|(_, w)| w.deadline <= now).map(|(echo, _)| *echo).collect();
        for echo in late {
            if let Some(waiter) = pending.remove(&echo) {
                let _ = waiter.answer.send(Err(CallError::Timeout(waiter.timeout)));
            }
        }
    }

    fn answer(&self, frame: &Frame<'_>) {
        match frame.echo().and_then(|e| self.pending().remove(&e)) {
            Some(waiter) => {
                let _ = waiter.answer.send(Ok(frame.response()));
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
    mut outgoing: mpsc::UnboundedReceiver<Message>,
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
    // Not a tokio interval: see `ticker` for why the I/O runtime keeps no timer.
    let mut ticks = crate::ticker::ticks();
    ticks.borrow_and_update();
    // Made once: a `cancelled()` future registers with its token when first polled, so one made
    // per turn of the loop would register and unregister for every frame.
    let stopping = shutdown.cancelled();
    let replaced = conn.closed.cancelled();
    tokio::pin!(stopping, replaced);
    let result = loop {
        // In this order: stop first, then write what is queued, then read, then the liveness tick
        // (after reading, so frames already waiting count before silence is judged; the tick runs
        // whenever the socket has nothing waiting).
        tokio::select! {
            biased;
            () = &mut stopping => {
                let _ = ws.close(None).await;
                break Ok(());
            }
            () = &mut replaced => {
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
                        let frame = match Frame::parse(text.as_str()) {
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
                            Kind::Response => conn.answer(&frame),
                            Kind::Message => {
                                let Some(acct) = account.as_deref() else { continue };
                                if let Some(event) = to_event(&ctx.ids, &frame, acct, ctx.max_message_bytes) {
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
            Ok(()) = ticks.changed() => {
                conn.expire(Instant::now());
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

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    /// Starts a call and returns it with the echo it was sent with.
    async fn start_call(conn: &Arc<Connection>, outgoing: &mut mpsc::UnboundedReceiver<Message>) -> (tokio::task::JoinHandle<Result<Response, CallError>>, u64) {
        let caller = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.call("send_group_msg", serde_json::Map::new(), TIMEOUT).await })
        };
        let Some(Message::Text(text)) = outgoing.recv().await else { panic!("the call was not written") };
        let call: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        (caller, call["echo"].as_u64().unwrap())
    }

    /// The call's outcome, which must come at once.
    async fn settled(caller: tokio::task::JoinHandle<Result<Response, CallError>>) -> Result<(), CallError> {
        tokio::time::timeout(Duration::from_secs(1), caller).await.expect("the call is still waiting").unwrap().map(drop)
    }

    fn response(echo: u64) -> String {
        format!(r#"{{"status":"ok","retcode":0,"data":{{"message_id":7}},"echo":{echo}}}"#)
    }

    fn answer(conn: &Connection, text: &str) {
        conn.answer(&Frame::parse(text).unwrap());
    }

    #[tokio::test]
    async fn a_call_gets_its_response_and_fails_past_its_deadline_or_when_the_connection_ends() {
        let (conn, mut outgoing) = Connection::new();

        let (mut caller, echo) = start_call(&conn, &mut outgoing).await;
        conn.expire(Instant::now() + TIMEOUT / 2);
        assert!(tokio::time::timeout(Duration::from_millis(20), &mut caller).await.is_err(), "answered before its response came");
        answer(&conn, &response(echo));
        assert_eq!(caller.await.unwrap().unwrap().message_id.as_deref(), Some("7"));

        let (caller, echo) = start_call(&conn, &mut outgoing).await;
        conn.expire(Instant::now() + TIMEOUT);
        assert_eq!(settled(caller).await, Err(CallError::Timeout(TIMEOUT)));
        // A response that comes after all is nobody's.
        answer(&conn, &response(echo));
        assert!(conn.pending().is_empty());

        let (caller, _) = start_call(&conn, &mut outgoing).await;
        conn.pending().clear(); // what the end of the connection does
        assert_eq!(settled(caller).await, Err(CallError::Closed));
    }
}
