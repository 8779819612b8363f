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
use zhibu_chat::{EventSink, Hurry};

use crate::frame::{to_event, Frame, Ids, Kind, Response};
use crate::wake::WakeMark;

/// How long a stopping connection waits for the implementation to answer its close, reading the
/// responses that came before it.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

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
    /// Its response may wait until other traffic wakes the connection (see `wake`).
    unhurried: bool,
    /// Made unhurried (a reply): its response's size predicts the next such response's.
    predicts: bool,
}

/// What callers hand a connection's task.
#[derive(Debug)]
pub enum Out {
    /// An action call's frame.
    Call(Message),
    /// The call with this echo now wants its response at once.
    Hurry(u64),
}

/// The sending half of a connection, shared with whoever calls actions.
#[derive(Debug)]
pub struct Connection {
    /// Unbounded: every caller waits for its response before it calls again, so what is queued
    /// is at most one frame (and one hurry) per caller.
    out: mpsc::UnboundedSender<Out>,
    /// Calls by echo. The connection's once-a-second tick fails those past their deadline, so a
    /// call arms no timer of its own.
    pending: Mutex<HashMap<u64, Waiter>>,
    next_echo: AtomicU64,
    /// Cancelled when the connection ends, or to make it end (a newer one replaced it).
    pub closed: CancellationToken,
}

impl Connection {
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Out>) {
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
        self.call_with(action, params.len(), |out| out.push_str(&params), timeout, None).await
    }

    /// [`Connection::call`] with the params written as JSON by `params` (about `params_len`
    /// bytes) into the frame's own buffer. With `hurry`, the response may wait for other
    /// traffic until [`Hurry::now`].
    pub async fn call_with(
        &self,
        action: &str,
        params_len: usize,
        params: impl FnOnce(&mut String),
        timeout: Duration,
        hurry: Option<&Hurry>,
    ) -> Result<Response, CallError> {
        let echo = self.next_echo.fetch_add(1, Ordering::Relaxed);
        let mut frame = String::with_capacity(params_len + action.len() + 48);
        frame.push_str("{\"action\":");
        crate::json::push_str(&mut frame, action);
        frame.push_str(",\"params\":");
        params(&mut frame);
        frame.push_str(",\"echo\":");
        frame.push_str(itoa::Buffer::new().format(echo));
        frame.push('}');
        let (answer, mut rx) = oneshot::channel();
        let unhurried = hurry.is_some_and(|h| !h.is_now());
        self.pending().insert(echo, Waiter { answer, deadline: Instant::now() + timeout, timeout, unhurried, predicts: hurry.is_some() });
        if self.out.send(Out::Call(Message::text(frame))).is_err() {
            self.pending().remove(&echo);
            return Err(CallError::Closed);
        }
        if let Some(hurry) = hurry.filter(|_| unhurried) {
            tokio::select! {
                biased;
                answered = &mut rx => return answered.unwrap_or(Err(CallError::Closed)),
                () = hurry.wanted() => {
                    let _ = self.out.send(Out::Hurry(echo));
                }
            }
        }
        // The waiter is dropped unanswered when the connection ends.
        rx.await.unwrap_or(Err(CallError::Closed))
    }

    /// The call with `echo` wants its response at once.
    fn hurry(&self, echo: u64) {
        if let Some(waiter) = self.pending().get_mut(&echo) {
            waiter.unhurried = false;
        }
    }

    /// Every call wants its response at once: none waits for other traffic longer than a tick.
    fn hurry_all(&self) {
        for waiter in self.pending().values_mut() {
            waiter.unhurried = false;
        }
    }

    /// The unread bytes worth waking for: 1 while any call is in a hurry (or nothing is known of
    /// response sizes yet); else one more than the unhurried calls' responses are expected to
    /// take, `each` bytes apiece.
    fn wake_mark(&self, each: Option<usize>) -> usize {
        let pending = self.pending();
        match each {
            Some(each) if !pending.is_empty() && pending.values().all(|w| w.unhurried) => 1 + pending.len() * each,
            _ => 1,
        }
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

    /// Hands a response to its caller; whether the call was one whose response size predicts
    /// the next unhurried one's.
    fn answer(&self, frame: &Frame<'_>) -> bool {
        match frame.echo().and_then(|e| self.pending().remove(&e)) {
            Some(waiter) => {
                let _ = waiter.answer.send(Ok(frame.response()));
                waiter.predicts
            }
            None => {
                tracing::debug!(echo = ?frame.echo, "a response nobody is waiting for (timed out?)");
                false
            }
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

/// The expected size on the wire of a frame whose text is `text_bytes` long: the text, a
/// WebSocket header as large as a masked frame of that size takes, and a few bytes of slack for
/// numbers that grow by a digit (echoes, message ids). Too small costs a wakeup; too large keeps
/// a frame of no more than that excess (a ping, a close) waiting for the next tick.
fn wire_bytes(text_bytes: usize) -> usize {
    const SLACK: usize = 8;
    text_bytes + crate::frame_edges::header_bytes(text_bytes, true) + SLACK
}

/// Closes the connection from our side. The responses the implementation sent before it answers
/// the close still reach their callers: a reply's confirmation may be waiting unread, and a caller
/// told the connection closed would send the reply again. Events read meanwhile are dropped.
async fn close<S>(ws: &mut WebSocketStream<S>, conn: &Connection)
where
    S: AsyncRead + AsyncWrite + WakeMark + Unpin,
{
    conn.hurry_all();
    ws.get_mut().want_wake_mark(1);
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

/// Serves one connection until it closes, goes silent, is replaced, or `shutdown`. `account`
/// is known from the handshake (reverse WebSocket) or learnt from the first event.
pub async fn serve<S>(
    mut ws: WebSocketStream<S>,
    conn: Arc<Connection>,
    mut outgoing: mpsc::UnboundedReceiver<Out>,
    ctx: Arc<Context>,
    mut account: Option<String>,
    shutdown: CancellationToken,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + WakeMark + Unpin,
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
    // The size the next reply's response is expected to take, for the socket's wake mark.
    let mut response_bytes: Option<usize> = None;
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
                close(&mut ws, &conn).await;
                break Ok(());
            }
            () = &mut replaced => {
                close(&mut ws, &conn).await;
                break Err("replaced by a newer connection of the same account".into());
            }
            Some(first) = outgoing.recv() => {
                let mut written = Ok(());
                let mut next = Some(first);
                while let Some(out) = next.take().or_else(|| outgoing.try_recv().ok()) {
                    match out {
                        Out::Call(message) => {
                            written = ws.feed(message).await;
                            if written.is_err() {
                                break;
                            }
                        }
                        Out::Hurry(echo) => conn.hurry(echo),
                    }
                }
                // Before the calls leave: their responses must not find the old mark.
                ws.get_mut().want_wake_mark(conn.wake_mark(response_bytes));
                if let Err(e) = written.and(ws.flush().await) {
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
                            Kind::Response => {
                                if conn.answer(&frame) {
                                    response_bytes = Some(wire_bytes(text.len()));
                                }
                            }
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
                // No response waits unread past a tick, nor a frame smaller than the mark.
                conn.hurry_all();
                ws.get_mut().want_wake_mark(1);
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
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    /// Starts a call and returns it with the echo it was sent with.
    async fn start_call(conn: &Arc<Connection>, outgoing: &mut mpsc::UnboundedReceiver<Out>) -> (tokio::task::JoinHandle<Result<Response, CallError>>, u64) {
        let caller = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.call("send_group_msg", serde_json::Map::new(), TIMEOUT).await })
        };
        let Some(Out::Call(Message::Text(text))) = outgoing.recv().await else { panic!("the call was not written") };
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

    /// A connection served over real loopback TCP, and the implementation's end of it.
    #[cfg(target_os = "linux")]
    mod over_tcp {
        use futures_util::{SinkExt, StreamExt};
        use tokio::net::{TcpListener, TcpStream};
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::WebSocketStream;
        use zhibu_chat::{Envelope, Event};

        use super::*;
        use crate::read_ahead::ReadAhead;

        type Implementation = WebSocketStream<TcpStream>;

        async fn served() -> (Arc<Connection>, Implementation, mpsc::Receiver<Envelope>, CancellationToken) {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}/", listener.local_addr().unwrap());
            let dial = async { tokio_tungstenite::client_async(url, TcpStream::connect(listener.local_addr().unwrap()).await.unwrap()).await.unwrap().0 };
            let accept = async { tokio_tungstenite::accept_async(ReadAhead::new(listener.accept().await.unwrap().0)).await.unwrap() };
            let (mut ws, implementation) = tokio::join!(accept, dial);
            assert!(crate::wake::probe().await, "this kernel cannot run these tests");
            ws.get_mut().frames_start();
            let (events, events_rx) = mpsc::channel(16);
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

        /// Starts a reply's call, unhurried when `hurry` is given.
        fn reply(conn: &Arc<Connection>, hurry: Option<&Hurry>) -> tokio::task::JoinHandle<Result<Response, CallError>> {
            let (conn, hurry) = (conn.clone(), hurry.cloned());
            tokio::spawn(async move { conn.call_with("send_group_msg", 2, |out| out.push_str("{}"), TIMEOUT, hurry.as_ref()).await })
        }

        /// Reads the next call and answers it at once, as NapCat does.
        async fn answer_next(implementation: &mut Implementation) {
            let Some(Ok(Message::Text(text))) = implementation.next().await else { panic!("no call") };
            let call: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            implementation.send(Message::text(response(call["echo"].as_u64().unwrap()))).await.unwrap();
        }

        async fn done_within(caller: &mut tokio::task::JoinHandle<Result<Response, CallError>>, wait: Duration) -> bool {
            match tokio::time::timeout(wait, caller).await {
                Ok(result) => {
                    result.unwrap().unwrap();
                    true
                }
                Err(_) => false,
            }
        }

        /// Returns just after a liveness tick, which the connection has seen: the next is a
        /// second away.
        async fn next_tick() {
            let mut ticks = crate::ticker::ticks();
            ticks.borrow_and_update();
            ticks.changed().await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        /// A reply sent unhurried and answered at once by the implementation, right after a
        /// liveness tick: its response waits unread.
        async fn left_waiting(conn: &Arc<Connection>, implementation: &mut Implementation, hurry: &Hurry) -> tokio::task::JoinHandle<Result<Response, CallError>> {
            next_tick().await;
            let mut caller = reply(conn, Some(hurry));
            answer_next(implementation).await;
            assert!(!done_within(&mut caller, Duration::from_millis(300)).await, "a response nobody hurried for woke the connection");
            caller
        }

        fn group_message(id: u64) -> String {
            format!(
                r#"{{"time":1700000000,"self_id":10001000,"post_type":"message","message_type":"group","sub_type":"normal","message_id":{id},"group_id":200001,"user_id":300001,"message":[{{"type":"text","data":{{"text":"/echo 在吗"}}}}],"raw_message":"/echo 在吗","font":0,"sender":{{"user_id":300001,"nickname":"同学"}}}}"#
            )
        }

        #[tokio::test]
        async fn an_unhurried_response_is_read_with_the_next_event_when_hurried_or_at_the_next_tick() {
            let (conn, mut implementation, mut events, stop) = served().await;
            let hurry = Hurry::new();
            // The first reply's response has no size to expect yet: it is read at once (well
            // before the next tick), and gives the size of the next.
            next_tick().await;
            let mut first = reply(&conn, Some(&hurry));
            answer_next(&mut implementation).await;
            assert!(done_within(&mut first, Duration::from_millis(500)).await);

            let mut second = left_waiting(&conn, &mut implementation, &hurry).await;
            implementation.send(Message::text(group_message(1))).await.unwrap();
            let Some(Envelope { event: Event::Message(m), .. }) = events.recv().await else { panic!("no event") };
            assert_eq!(m.text, "/echo 在吗");
            assert!(done_within(&mut second, Duration::from_millis(100)).await, "the response was not read with the event");

            let hurry = Hurry::new();
            let mut third = left_waiting(&conn, &mut implementation, &hurry).await;
            hurry.now();
            assert!(done_within(&mut third, Duration::from_millis(100)).await, "hurrying did not read the response");

            // A call in a hurry is answered at once, and so is the unhurried one it finds waiting.
            let mut fourth = left_waiting(&conn, &mut implementation, &Hurry::new()).await;
            let mut login = reply(&conn, None);
            answer_next(&mut implementation).await;
            assert!(done_within(&mut login, Duration::from_millis(200)).await, "a call in a hurry waited");
            assert!(done_within(&mut fourth, Duration::from_millis(100)).await);

            // Left alone, a response waits no longer than the next tick.
            let mut fifth = left_waiting(&conn, &mut implementation, &Hurry::new()).await;
            assert!(done_within(&mut fifth, crate::ticker::TICK + Duration::from_millis(500)).await, "a response waited past a tick");

            // At shutdown the connection reads what is waiting before it closes.
            let mut last = left_waiting(&conn, &mut implementation, &Hurry::new()).await;
            stop.cancel();
            let closing = tokio::spawn(async move { while let Some(Ok(_)) = implementation.next().await {} });
            assert!(done_within(&mut last, Duration::from_millis(500)).await, "the waiting response was dropped at shutdown");
            closing.await.unwrap();
        }

        /// A text frame as a client puts it on the wire (masked).
        fn client_frame(text: &str) -> Vec<u8> {
            let key = [0x5a, 0x11, 0xc3, 0x07];
            let mut out = vec![0x81];
            match text.len() {
                n @ 0..=125 => out.push(0x80 | n as u8),
                n => {
                    out.push(0x80 | 126);
                    out.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
                }
            }
            out.extend_from_slice(&key);
            out.extend(text.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
            out
        }

        #[tokio::test]
        async fn the_rest_of_a_split_event_wakes_the_connection_however_small_it_is() {
            use tokio::io::AsyncWriteExt;
            let (conn, mut implementation, mut events, stop) = served().await;
            let hurry = Hurry::new();
            // Learn a response's size, then leave one unhurried response unread: the mark is up.
            let mut first = reply(&conn, Some(&hurry));
            answer_next(&mut implementation).await;
            assert!(done_within(&mut first, Duration::from_millis(500)).await);
            let mut waiting = left_waiting(&conn, &mut implementation, &hurry).await;

            // An event larger than a TCP segment arrives in two parts, the second (5 bytes) far
            // below the mark.
            let event = client_frame(&group_message(2));
            let (head, tail) = event.split_at(event.len() - 5);
            let socket = implementation.get_mut();
            socket.write_all(head).await.unwrap();
            socket.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            socket.write_all(tail).await.unwrap();
            let arrived = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
            let Ok(Some(Envelope { event: Event::Message(m), .. })) = arrived else { panic!("the event's last bytes waited for the tick") };
            assert_eq!(m.text, "/echo 在吗");
            // The unhurried response came in before the event, and is read with it.
            assert!(done_within(&mut waiting, Duration::from_millis(100)).await);
            stop.cancel();
        }
    }
}
