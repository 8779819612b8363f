//! A OneBot v11 implementation (the NapCat side) played in Rust over a real WebSocket: it sends
//! events, answers every action the bot calls at once, and hands over what the bot said with
//! the time it arrived. Shared by the end-to-end tests and the benchmarks.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The bot account every test plays.
pub const ACCOUNT: &str = "10001000";

/// An action the bot called, as the implementation received it.
#[derive(Debug, Clone)]
pub struct Action {
    pub at: Instant,
    pub json: Value,
}

impl Action {
    /// The text segments of the message sent.
    pub fn text(&self) -> String {
        match &self.json["params"]["message"] {
            Value::Array(segments) => segments.iter().filter(|s| s["type"] == "text").filter_map(|s| s["data"]["text"].as_str()).collect(),
            Value::String(text) => text.clone(),
            _ => String::new(),
        }
    }

    /// The message the bot quoted (its `reply` segment), as a number.
    pub fn reply_to(&self) -> Option<u64> {
        let segments = self.json["params"]["message"].as_array()?;
        let reply = segments.iter().find(|s| s["type"] == "reply")?;
        reply["data"]["id"].as_str()?.parse().ok()
    }
}

/// One connection to the bot, as an implementation.
pub struct Peer {
    frames: mpsc::UnboundedSender<Message>,
    pub actions: mpsc::UnboundedReceiver<Action>,
}

impl Peer {
    /// Connects to `ws://127.0.0.1:port/onebot/v11/ws` with `token` (retrying while the bot
    /// starts) and announces the connection.
    pub async fn connect(port: u16, token: &str) -> Peer {
        let mut req = format!("ws://127.0.0.1:{port}/onebot/v11/ws").into_client_request().unwrap();
        req.headers_mut().insert("X-Self-ID", ACCOUNT.parse().unwrap());
        req.headers_mut().insert("X-Client-Role", "Universal".parse().unwrap());
        req.headers_mut().insert("Authorization", format!("Bearer {token}").parse().unwrap());
        let mut ws = None;
        for _ in 0..300 {
            match tokio_tungstenite::connect_async(req.clone()).await {
                Ok((connected, _)) => {
                    ws = Some(connected);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let ws = ws.unwrap_or_else(|| panic!("the bot never listened on {port}"));
        let (mut sink, mut stream) = ws.split();
        let (frames, mut outgoing) = mpsc::unbounded_channel::<Message>();
        let (actions_tx, actions) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(frame) = outgoing.recv().await {
                if sink.send(frame).await.is_err() {
                    return;
                }
            }
        });
        let answers = frames.clone();
        tokio::spawn(async move {
            let mut sent = 0u64;
            while let Some(Ok(frame)) = stream.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(json) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                sent += 1;
                let response = json!({"status": "ok", "retcode": 0, "data": {"message_id": 900_000 + sent}, "echo": json["echo"]});
                let _ = answers.send(Message::text(response.to_string()));
                let _ = actions_tx.send(Action { at: Instant::now(), json });
            }
        });
        let peer = Peer { frames, actions };
        peer.send(json!({"time": now(), "self_id": 10001000, "post_type": "meta_event", "meta_event_type": "lifecycle", "sub_type": "connect"}));
        peer
    }

    pub fn send(&self, frame: Value) {
        let _ = self.frames.send(Message::text(frame.to_string()));
    }

    /// `user` says `text` in `group`, as message `id`.
    pub fn say_in_group(&self, id: u64, group: u64, user: u64, text: &str) {
        self.send(json!({"time": now(), "self_id": 10001000, "post_type": "message", "message_type": "group", "sub_type": "normal",
            "message_id": id, "group_id": group, "user_id": user, "anonymous": null, "message": [{"type": "text", "data": {"text": text}}],
            "raw_message": text, "font": 0, "sender": {"user_id": user, "nickname": format!("同学{user}"), "card": "", "role": "member"}}));
    }

    /// `user` says `text` to the bot in a private chat, as message `id`.
    pub fn say_privately(&self, id: u64, user: u64, text: &str) {
        self.send(json!({"time": now(), "self_id": 10001000, "post_type": "message", "message_type": "private", "sub_type": "friend",
            "message_id": id, "user_id": user, "message": [{"type": "text", "data": {"text": text}}], "raw_message": text, "font": 0,
            "sender": {"user_id": user, "nickname": format!("同学{user}")}}));
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The `q`-quantile of `values` (sorted in place), 0 for none.
pub fn quantile(values: &mut [Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    let i = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len()) - 1;
    values[i]
}

/// What [`check_in_all`] saw.
pub struct CheckIns {
    /// Members whose check-in the bot confirmed ("签到成功"), in the order it did.
    pub acknowledged: Vec<u64>,
    /// From the first check-in sent to the last confirmation.
    pub elapsed: Duration,
}

/// The member ids [`check_in_all`] uses: `members` of them from 300001.
pub fn member(i: u64) -> u64 {
    300_001 + i
}

/// `members` members each send `/签到` once, spread over `groups`, as messages `first_id`,
/// `first_id + 1`, …, with at most `window` waiting for their answer at a time; returns once every
/// one is answered, or once `stop_after` are confirmed (with the rest still on their way). A
/// second round takes other message ids: the same id sent again in the same second is the same
/// event, which the bot handles once.
pub async fn check_in_all(peer: &mut Peer, first_id: u64, members: u64, window: usize, groups: &[u64], stop_after: Option<usize>) -> CheckIns {
    let mut acknowledged = Vec::with_capacity(members as usize);
    let (mut next, mut answered) = (0u64, 0u64);
    let start = Instant::now();
    let mut last = start;
    while answered < members && !matches!(stop_after, Some(n) if acknowledged.len() >= n) {
        while next < members && next - answered < window as u64 {
            peer.say_in_group(first_id + next, groups[(next % groups.len() as u64) as usize], member(next), "/签到");
            next += 1;
        }
        let Ok(Some(action)) = tokio::time::timeout(Duration::from_secs(10), peer.actions.recv()).await else {
            panic!("no answer for 10 s ({answered} of {members} answered)");
        };
        let Some(id) = action.reply_to().filter(|id| (first_id..first_id + members).contains(id)) else { continue };
        answered += 1;
        last = action.at;
        if action.text().starts_with("签到成功") {
            acknowledged.push(member(id - first_id));
        }
    }
    CheckIns { acknowledged, elapsed: last.saturating_duration_since(start) }
}
