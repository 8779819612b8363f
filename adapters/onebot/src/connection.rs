//! One WebSocket connection to an implementation, whichever side dialled: events in, actions out
//! with `echo` correlation, and a watch on the connection's liveness.
//!
//! One task serves the socket. It never waits for anyone but the socket: events go to the
//! runtime without waiting ([`EventSink::deliver`]), action calls come in through an unbounded
//! queue (every caller waits for its response before it calls again, so it holds at most one
//! frame per caller), and each caller waits for its own response with its own timeout. So the
//! responses to the bot's replies are always read, however busy the bot is.

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

/// How long a stopping connection waits for the implementation to answer its close, reading the
/// responses that came before it.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How often liveness is checked.
const TICK: Duration = Duration::from_secs(1);
/// How long writing what is queued may take: an implementation that stops reading for this long
/// is taken for dead (its TCP window stays shut), and the connection is closed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// An action call as sent.
#[derive(Serialize)]
struct Action<'a, P> {
    action: &'a str,
    params: P,
    echo: u64,
}

/// The sending half of a connection, shared with whoever calls actions.
#[derive(Debug)]
pub struct Connection {
    out: mpsc::UnboundedSender<Message>,
    /// Calls waiting for their response, by echo.
    pending: Mutex<HashMap<u64, oneshot::Sender<Response>>>,
    next_echo: AtomicU64,
    /// Cancelled when the connection ends, or to make it end (a newer one replaced it).
    pub closed: CancellationToken,
}

impl Connection {
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Message>) {
        let (out, rx) = mpsc::unbounded_channel();
        (Arc::new(Self { out, pending: Mutex::new(HashMap::default()), next_echo: AtomicU64::new(1), closed: CancellationToken::new() }), rx)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Response>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls `action` and waits for its response frame, at most `timeout`.
    pub async fn call<P: Serialize>(&self, action: &str, params: P, timeout: Duration) -> Result<Response, CallError> {
        let echo = self.next_echo.fetch_add(1, Ordering::Relaxed);
        let frame = serde_json::to_string(&Action { action, params, echo }).map_err(|e| CallError::Encode(e.to_string()))?;
        let (answer, response) = oneshot::channel();
        self.pending().insert(echo, answer);
        if self.out.send(Message::text(frame)).is_err() {
            self.pending().remove(&echo);
            return Err(CallError::Closed);
        }
        match tokio::time::timeout(timeout, response).await {
            Ok(Ok(response)) => Ok(response),
            // Dropped unanswered: the connection ended.
            Ok(Err(_)) => Err(CallError::Closed),
            Err(_) => {
                self.pending().remove(&echo);
                Err(CallError::Timeout(timeout))
            }
        }
    }

    /// Hands a response to its caller.
    fn answer(&self, frame: &Frame<'_>) {
        match frame.echo().and_then(|e| self.pending().remove(&e)) {
            Some(caller) => {
                let _ = caller.send(frame.response());
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

/// Closes the connection from our side. The responses the implementation sent before it answers
/// the close still reach their callers: a caller told the connection closed would send its reply
/// again. Events read meanwhile are dropped (the implementation sends them again, or they are
/// lost with the connection as they would be anyway).
async fn close<S>(ws: &mut WebSocketStream<S>, conn: &Connection)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Sending the close is bounded too: a peer that stopped reading would hold it until TCP
    // gives up, minutes later.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        if ws.close(None).await.is_err() {
            return;
        }
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else { continue };
            if let Ok(frame) = Frame::parse(text.as_str()) {
                if matches!(frame.kind(), Kind::Response) {
                    conn.answer(&frame);
                }
            }
        }
    })
    .await;
}

/// Writes every frame queued now, then flushes; gives up at shutdown (the implementation may
/// have stopped reading).
async fn write_queued<S>(
    ws: &mut WebSocketStream<S>,
    first: Message,
    outgoing: &mut mpsc::UnboundedReceiver<Message>,
    shutdown: &CancellationToken,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let write = async {
        let mut next = Some(first);
        while let Some(message) = next.take().or_else(|| outgoing.try_recv().ok()) {
            ws.feed(message).await?;
        }
        ws.flush().await
    };
    tokio::select! {
        written = tokio::time::timeout(WRITE_TIMEOUT, write) => match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("writing: {e}")),
            Err(_) => Err(format!("the implementation read nothing for {WRITE_TIMEOUT:?}")),
        },
        () = shutdown.cancelled() => Err("stopping while the implementation was not reading".into()),
    }
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
    let mut ticks = tokio::time::interval_at(Instant::now() + TICK, TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        // In this order: stop first, then write what is queued, then read, then the liveness tick
        // (after reading, so frames already waiting count before silence is judged).
        tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                close(&mut ws, &conn).await;
                break Ok(());
            }
            () = conn.closed.cancelled() => {
                close(&mut ws, &conn).await;
                break Err("replaced by a newer connection of the same account".into());
            }
            Some(first) = outgoing.recv() => {
                if let Err(why) = write_queued(&mut ws, first, &mut outgoing, &shutdown).await {
                    break Err(why);
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
                                    if ctx.sink.deliver(event).is_err() {
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
            _ = ticks.tick() => {
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
                        match tokio::time::timeout(WRITE_TIMEOUT, ws.send(Message::Ping(Vec::new().into()))).await {
                            Ok(Ok(())) => ping_sent = Some(Instant::now()),
                            Ok(Err(e)) => break Err(format!("ping failed: {e}")),
                            Err(_) => break Err(format!("the implementation read nothing for {WRITE_TIMEOUT:?}")),
                        }
                    }
                    _ => {}
                }
            }
        }
    };
    // In this order: a call made from now on finds the connection gone (its frame cannot be
    // queued), and every call already waiting is dropped, which tells its caller.
    conn.closed.cancel();
    ctx.accounts.unregister(&conn);
    outgoing.close();
    conn.pending().clear();
    result
}

#[cfg(test)]
mod tests {
    use futures_util::{SinkExt, StreamExt};
    use tokio::net::{TcpListener, TcpStream};
    use zhibu_chat::{Envelope, Event};

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn response(echo: u64) -> String {
        format!(r#"{{"status":"ok","retcode":0,"data":{{"message_id":7}},"echo":{echo}}}"#)
    }

    /// A connection served over loopback TCP, and the implementation's end of it.
    async fn served() -> (Arc<Connection>, WebSocketStream<TcpStream>, mpsc::UnboundedReceiver<Envelope>, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let dial = async { tokio_tungstenite::client_async(url, TcpStream::connect(listener.local_addr().unwrap()).await.unwrap()).await.unwrap().0 };
        let accept = async { tokio_tungstenite::accept_async(listener.accept().await.unwrap().0).await.unwrap() };
        let (ws, implementation) = tokio::join!(accept, dial);
        let (events, events_rx) = mpsc::unbounded_channel();
        let ctx = Arc::new(Context {
            ids: Ids::new(),
            accounts: Arc::new(Accounts::default()),
            sink: EventSink::new(events),
            liveness: Liveness { ping_after: Duration::from_secs(60), ping_timeout: Duration::from_secs(60) },
            max_message_bytes: 64 * 1024,
        });
        let (conn, outgoing) = Connection::new();
        let stop = CancellationToken::new();
        tokio::spawn(serve(ws, conn.clone(), outgoing, ctx, Some("10001000".into()), stop.clone()));
        (conn, implementation, events_rx, stop)
    }

    fn call(conn: &Arc<Connection>, timeout: Duration) -> tokio::task::JoinHandle<Result<Response, CallError>> {
        let conn = conn.clone();
        tokio::spawn(async move { conn.call("send_group_msg", serde_json::json!({"group_id": 1}), timeout).await })
    }

    /// The echo of the next call the implementation reads.
    async fn next_call(implementation: &mut WebSocketStream<TcpStream>) -> u64 {
        loop {
            let Some(Ok(Message::Text(text))) = implementation.next().await else { panic!("no call") };
            let call: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            if let Some(echo) = call["echo"].as_u64() {
                return echo;
            }
        }
    }

    fn group_message(id: u64) -> String {
        format!(
            r#"{{"time":1700000000,"self_id":10001000,"post_type":"message","message_type":"group","sub_type":"normal","message_id":{id},"group_id":200001,"user_id":300001,"message":[{{"type":"text","data":{{"text":"/echo 在吗"}}}}],"raw_message":"/echo 在吗","font":0,"sender":{{"user_id":300001,"nickname":"同学"}}}}"#
        )
    }

    #[tokio::test]
    async fn a_call_gets_its_response_and_times_out_on_its_own_whatever_the_connection_does() {
        let (conn, mut implementation, mut events, stop) = served().await;
        let first = call(&conn, TIMEOUT);
        let echo = next_call(&mut implementation).await;
        implementation.send(Message::text(response(echo))).await.unwrap();
        assert_eq!(first.await.unwrap().unwrap().message_id.as_deref(), Some("7"));

        // A call nobody answers fails at its own deadline, while events keep coming in and
        // nothing else happens on the connection.
        let started = Instant::now();
        let unanswered = call(&conn, Duration::from_millis(300));
        next_call(&mut implementation).await;
        implementation.send(Message::text(group_message(1))).await.unwrap();
        assert!(matches!(events.recv().await, Some(Envelope { event: Event::Message(_), .. })));
        let timed_out = tokio::time::timeout(Duration::from_secs(2), unanswered).await.expect("the call never timed out");
        assert_eq!(timed_out.unwrap(), Err(CallError::Timeout(Duration::from_millis(300))));
        assert!(started.elapsed() < Duration::from_millis(900), "the timeout waited for a tick: {:?}", started.elapsed());
        assert!(conn.pending().is_empty(), "a call that timed out leaves nothing behind");

        // The connection ends: a waiting call is told at once.
        let waiting = call(&conn, TIMEOUT);
        next_call(&mut implementation).await;
        stop.cancel();
        let closing = tokio::spawn(async move { while let Some(Ok(_)) = implementation.next().await {} });
        assert_eq!(tokio::time::timeout(Duration::from_secs(3), waiting).await.expect("still waiting").unwrap(), Err(CallError::Closed));
        closing.await.unwrap();
    }

    #[tokio::test]
    async fn responses_sent_before_the_close_still_reach_their_callers() {
        let (conn, mut implementation, _events, stop) = served().await;
        let caller = call(&conn, TIMEOUT);
        let echo = next_call(&mut implementation).await;
        // The bot stops; the implementation answers the call before it reads the close.
        stop.cancel();
        implementation.send(Message::text(response(echo))).await.unwrap();
        let closing = tokio::spawn(async move { while let Some(Ok(_)) = implementation.next().await {} });
        assert!(tokio::time::timeout(Duration::from_secs(2), caller).await.unwrap().unwrap().is_ok());
        closing.await.unwrap();
    }
}
