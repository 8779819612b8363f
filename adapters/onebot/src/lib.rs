//! The OneBot v11 adapter: QQ (and WeChat through OneBot bridges) by way of an implementation
//! such as NapCat, Lagrange or go-cqhttp.
//!
//! - Reverse WebSocket ([`server`]): the bot listens, implementations connect, one per account,
//!   told apart by `X-Self-ID`; the access token is checked on the upgrade (401 missing, 403
//!   wrong).
//! - Forward WebSocket ([`dial`]): the bot dials the implementation and redials with backoff.
//! - Either way, a [`connection`] carries events in and action calls out (matched by `echo`,
//!   with a timeout), and is closed when it goes silent: no frame for two heartbeat intervals,
//!   or a ping left unanswered. Silent dead connections after a network change are the most
//!   reported failure of OneBot bots.
//! - Replies go out as `send_group_msg` / `send_private_msg` with a `reply` segment and `at`
//!   segments, paced per chat ([`pace`]).
//!
//! Ids: users `onebot:<qq>`, chats `onebot:<account>/group/<group>` and
//! `onebot:<account>/private/<qq>`, messages `onebot:<account>/<message_id>`. Duplicate events
//! (a reconnecting implementation sending a message again) have the same message id, and the
//! runtime handles each id once.

mod connection;
pub mod dial;
mod frame;
mod message;
mod pace;
pub mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zhibu_chat::{Adapter, AdapterError, ChatId, EventSink, MessageId, Outgoing, Platform, SendError, UserId};

pub use connection::Liveness;
use connection::{Accounts, Context};
pub use dial::ForwardSettings;
use frame::{Ids, Target};
use pace::Pacer;
pub use server::ServerSettings;

/// The platform name in every id this adapter makes.
pub const PLATFORM: &str = "onebot";

/// The largest WebSocket message accepted from an implementation.
const MAX_FRAME_BYTES: usize = 1 << 20;

/// How much tungstenite reads from the socket at a time. It zeroes that much of its buffer
/// before every read, and its 128 KiB default made that memset most of what a OneBot message
/// cost. OneBot events are a few hundred bytes; a larger frame still arrives whole, in several
/// reads.
const READ_CHUNK_BYTES: usize = 4 * 1024;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(READ_CHUNK_BYTES).max_message_size(Some(MAX_FRAME_BYTES)).max_frame_size(Some(MAX_FRAME_BYTES))
}

/// Everything the adapter is configured with.
#[derive(Debug, Clone)]
pub struct OneBotConfig {
    /// Serve reverse WebSocket on this address.
    pub listen: Option<SocketAddr>,
    pub server: ServerSettings,
    /// Implementations to dial (forward WebSocket).
    pub connect: Vec<ForwardSettings>,
    /// The account that sends direct messages to a member (default: the connected account with
    /// the smallest id).
    pub default_account: Option<String>,
    /// How long an action may take before the send counts as failed (and is retried).
    pub action_timeout: Duration,
    /// Messages a second to one chat after a burst of `chat_burst` (0: no pacing).
    pub chat_rate: f64,
    pub chat_burst: u32,
    pub liveness: Liveness,
    /// Longer messages are answered with a short refusal.
    pub max_message_bytes: usize,
}

impl Default for OneBotConfig {
    fn default() -> Self {
        Self {
            listen: None,
            server: ServerSettings { path: "/onebot/v11/ws".into(), access_token: None },
            connect: Vec::new(),
            default_account: None,
            action_timeout: Duration::from_secs(10),
            chat_rate: 1.0,
            chat_burst: 5,
            liveness: Liveness { ping_after: Duration::from_secs(30), ping_timeout: Duration::from_secs(10) },
            max_message_bytes: 64 * 1024,
        }
    }
}

pub struct OneBotAdapter {
    config: OneBotConfig,
    platform: Platform,
    ids: Ids,
    accounts: Arc<Accounts>,
    pacer: Pacer,
}

impl OneBotAdapter {
    pub fn new(config: OneBotConfig) -> Self {
        let ids = Ids::new();
        let pacer = Pacer::new(config.chat_rate, config.chat_burst);
        Self { platform: ids.platform.clone(), ids, config, accounts: Arc::new(Accounts::default()), pacer }
    }

    fn account_for_direct(&self) -> Option<String> {
        self.config.default_account.clone().or_else(|| self.accounts.first())
    }

    /// Sends `message` as `send_group_msg` / `send_private_msg`, paced per chat.
    async fn send_message(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError> {
        let target = self.ids.target(&message.chat).ok_or_else(|| SendError::Permanent(format!("`{}` is not a OneBot chat", message.chat)))?;
        let reply_to = message.reply_to.as_ref().map(|id| self.ids.local_message(id));
        let at: Vec<&str> = message.mentions.iter().filter(|m| m.user.platform() == self.platform).map(|m| m.user.local()).collect();
        let mut segments = message::build(&message.text, reply_to, &at);
        if let Some(image) = &message.image {
            segments.push(message::OutSegment::Image { file: file_url(image) });
        }
        let (account, action, params) = match target {
            Target::Group { account, group } => (account, "send_group_msg", SendParams { group_id: Some(Id(group)), user_id: None, message: &segments }),
            Target::Private { account, user } => (account, "send_private_msg", SendParams { group_id: None, user_id: Some(Id(user)), message: &segments }),
        };
        let conn = self.accounts.get(account).ok_or_else(|| SendError::Transient(format!("OneBot account {account} is not connected")))?;
        self.pacer.wait(message.chat.as_str()).await;
        let response = conn.call(action, params, self.config.action_timeout).await.map_err(|e| SendError::Transient(format!("{action}: {e}")))?;
        if response.accepted {
            Ok(response.message_id.and_then(|id| self.ids.message(account, &id)))
        } else {
            Err(SendError::Permanent(format!("{action} refused: retcode {} {}", response.retcode.unwrap_or(-1), response.why.unwrap_or_default())))
        }
    }
}

/// The params of `send_group_msg` and `send_private_msg`.
#[derive(serde::Serialize)]
struct SendParams<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<Id<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<Id<'a>>,
    message: &'a [message::OutSegment<'a>],
}

/// An id as implementations expect it: a number when it is a decimal integer (QQ numbers), else
/// a string (the ids of some WeChat bridges).
struct Id<'a>(&'a str);

impl serde::Serialize for Id<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.parse::<i64>() {
            Ok(n) => serializer.serialize_i64(n),
            Err(_) => serializer.serialize_str(self.0),
        }
    }
}

#[async_trait]
impl Adapter for OneBotAdapter {
    fn platform(&self) -> &Platform {
        &self.platform
    }

    async fn run(&self, sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError> {
        let ctx = Arc::new(Context {
            ids: self.ids.clone(),
            accounts: self.accounts.clone(),
            sink,
            liveness: self.config.liveness,
            max_message_bytes: self.config.max_message_bytes,
        });
        let tracker = TaskTracker::new();
        if let Some(addr) = self.config.listen {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| AdapterError::Startup(format!("OneBot: cannot listen on {addr}: {e}")))?;
            let local = listener.local_addr().unwrap_or(addr);
            tracing::info!("OneBot v11 reverse WebSocket listening on ws://{local}{}", self.config.server.path);
            tracker.spawn(server::accept_loop(listener, Arc::new(self.config.server.clone()), ctx.clone(), tracker.clone(), shutdown.clone()));
        }
        for forward in &self.config.connect {
            tracker.spawn(dial::dial_forever(forward.clone(), ctx.clone(), self.config.action_timeout, shutdown.clone()));
        }
        shutdown.cancelled().await;
        tracker.close();
        tracker.wait().await;
        Ok(())
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError> {
        self.send_message(message).await
    }

    fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
        if user.platform() != self.platform {
            return None;
        }
        self.ids.private(&self.account_for_direct()?, user.local())
    }
}

fn file_url(path: &std::path::Path) -> String {
    let absolute: PathBuf = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    format!("file://{}", absolute.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numbers_when_they_are_integers() {
        let id = |s: &str| serde_json::to_string(&Id(s)).unwrap();
        assert_eq!(id("200001"), "200001");
        assert_eq!(id("007"), "7");
        assert_eq!(id("wxid_a\"b"), r#""wxid_a\"b""#);
        assert_eq!(id("99999999999999999999"), r#""99999999999999999999""#);
        let segments = message::build("签到\n成功", Some("7"), &["300001"]);
        let params = SendParams { group_id: Some(Id("200001")), user_id: None, message: &segments };
        assert_eq!(
            serde_json::to_value(&params).unwrap(),
            serde_json::json!({"group_id": 200001, "message": [{"type":"reply","data":{"id":"7"}},{"type":"at","data":{"qq":"300001"}},{"type":"text","data":{"text":" 签到\n成功"}}]})
        );
    }
}
