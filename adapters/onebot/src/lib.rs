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
mod frame_edges;
mod json;
mod message;
mod pace;
mod read;
mod read_ahead;
pub mod server;
mod ticker;
mod wake;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zhibu_chat::{Adapter, AdapterError, ChatId, EventSink, Hurry, MessageId, Outgoing, Platform, SendError, UserId};

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
/// before every read attempt (twice per frame: the read, and the one that finds the socket
/// empty), so its 128 KiB default cost 256 KiB of memset per frame, 70% of the instructions the
/// bot spent per OneBot message (callgrind). OneBot events are a few hundred bytes and action
/// responses less; a larger frame still arrives whole, in several reads.
const READ_CHUNK_BYTES: usize = 2 * 1024;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_CHUNK_BYTES)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
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

    /// Sends `message` as `send_group_msg` / `send_private_msg`; with `hurry`, the response may
    /// wait for other traffic until [`Hurry::now`] (see `wake`).
    async fn send_as(&self, message: &Outgoing, hurry: Option<&Hurry>) -> Result<Option<MessageId>, SendError> {
        let target = self.ids.target(&message.chat).ok_or_else(|| SendError::Permanent(format!("`{}` is not a OneBot chat", message.chat)))?;
        let reply_to = message.reply_to.as_ref().map(|id| self.ids.local_message(id));
        let at: Vec<&str> = message.mentions.iter().filter(|m| m.user.platform() == self.platform).map(|m| m.user.local()).collect();
        let mut segments = message::build(&message.text, reply_to, &at);
        if let Some(image) = &message.image {
            segments.push(message::OutSegment::Image { file: file_url(image) });
        }
        let (account, action, field, id) = match target {
            Target::Group { account, group } => (account, "send_group_msg", "group_id", group),
            Target::Private { account, user } => (account, "send_private_msg", "user_id", user),
        };
        let conn = self.accounts.get(account).ok_or_else(|| SendError::Transient(format!("OneBot account {account} is not connected")))?;
        self.pacer.wait(message.chat.as_str()).await;
        // `{"group_id":…,"message":[…]}`: the segments' own bytes and a little for their keys.
        let params_len = segments.iter().map(|s| s.text_len() + 48).sum::<usize>() + 32;
        let params = |out: &mut String| {
            out.push_str("{\"");
            out.push_str(field);
            out.push_str("\":");
            json::push_id(out, id);
            out.push_str(",\"message\":");
            message::write_json(&segments, out);
            out.push('}');
        };
        let response =
            conn.call_with(action, params_len, params, self.config.action_timeout, hurry).await.map_err(|e| SendError::Transient(format!("{action}: {e}")))?;
        if response.accepted {
            Ok(response.message_id.and_then(|id| self.ids.message(account, &id)))
        } else {
            Err(SendError::Permanent(format!("{action} refused: retcode {} {}", response.retcode.unwrap_or(-1), response.why.unwrap_or_default())))
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
        // Before the first connection: whether connections may raise their wake mark.
        wake::probe().await;
        if let Some(addr) = self.config.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| AdapterError::Startup(format!("OneBot: cannot listen on {addr}: {e}")))?;
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
        self.send_as(message, None).await
    }

    async fn send_unhurried(&self, message: &Outgoing, hurry: &Hurry) -> Result<Option<MessageId>, SendError> {
        self.send_as(message, Some(hurry)).await
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
