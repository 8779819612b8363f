//! The WeChat Official Account (公众号) adapter: the bot is the account's server-side callback.
//!
//! - [`server`]: the callback URL (axum). `GET` answers WeChat's URL verification; `POST`
//!   carries a follower's message, in plaintext or in safe mode ([`crypto`]), signed
//!   ([`signature`]) and written in a small XML dialect ([`xml`]).
//! - Replies go back in the HTTP response when the bot answers within the deadline (a passive
//!   reply, [`slots`]); later replies, and messages the bot starts, go through the
//!   customer-service API ([`api`]).
//!
//! An account has no groups and no slash commands: every follower's chat is the direct chat
//! `wxoa:<openid>` with sender `wxoa:<openid>`, and messages are marked `bare_commands` so that
//! `签到` works like `/签到`. Message ids are `wxoa:<MsgId>`; events have no MsgId and are named
//! by follower and time (`wxoa:event/<openid>/<CreateTime>/<event>`), as WeChat's retries repeat
//! both.

pub mod api;
pub mod crypto;
pub mod server;
pub mod signature;
pub mod slots;
pub mod xml;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zhibu_chat::{Adapter, AdapterError, ChatId, EventSink, MessageId, Outgoing, Platform, SendError, UserId};

use crate::slots::{Push, Slots};

/// The platform name in every id this adapter makes.
pub const PLATFORM: &str = "wxoa";
/// WeChat's own API, the default `api_base`.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// How long a callback waits for the bot's reply before answering `success` (WeChat gives up
/// after 5 seconds).
pub const DEFAULT_REPLY_DEADLINE: Duration = Duration::from_millis(4500);
/// The callback path if none is configured.
pub const DEFAULT_PATH: &str = "/wechat";
/// The largest callback body accepted (WeChat's messages are a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Which callback bodies are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Plaintext, and safe mode when an EncodingAESKey is configured (兼容模式 on the backend
    /// sends both).
    #[default]
    Compatible,
    /// Safe mode only (安全模式): plaintext bodies are refused.
    Safe,
}

/// What a new follower is greeted with. The texts come from the bot's message catalog (the
/// adapter knows nothing of the domain): `greeting` leads the reply, and `command` is handed to
/// the bot as if the follower had sent it, so the reply lists the keywords the follower may use.
#[derive(Debug, Clone, Default)]
pub struct Welcome {
    pub greeting: String,
    pub command: String,
}

/// Everything the adapter is configured with.
#[derive(Debug, Clone)]
pub struct WechatOaConfig {
    pub listen: SocketAddr,
    pub path: String,
    /// The Token set on the OA backend (服务器配置 → 令牌).
    pub token: String,
    pub app_id: String,
    pub app_secret: String,
    /// The 43-character EncodingAESKey (消息加解密密钥); safe mode is accepted with it.
    pub encoding_aes_key: Option<String>,
    pub mode: Mode,
    pub api_base: String,
    pub reply_deadline: Duration,
    /// Requests whose timestamp is further than this from now are refused (replays).
    pub max_clock_skew: Duration,
    pub welcome: Welcome,
}

impl WechatOaConfig {
    /// A config with the defaults for everything but the account's own settings.
    pub fn new(listen: SocketAddr, token: &str, app_id: &str, app_secret: &str) -> Self {
        Self {
            listen,
            path: DEFAULT_PATH.into(),
            token: token.into(),
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            encoding_aes_key: None,
            mode: Mode::default(),
            api_base: DEFAULT_API_BASE.into(),
            reply_deadline: DEFAULT_REPLY_DEADLINE,
            max_clock_skew: Duration::from_secs(300),
            welcome: Welcome::default(),
        }
    }
}

/// A setting the adapter cannot work with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("encoding_aes_key: {0}")]
    Key(#[from] crypto::CryptoError),
    #[error("mode = \"safe\" needs an encoding_aes_key")]
    SafeWithoutKey,
}

/// What the server and the sender share.
pub(crate) struct Inner {
    pub(crate) config: WechatOaConfig,
    pub(crate) crypto: Option<crypto::MessageCrypto>,
    pub(crate) platform: Platform,
    pub(crate) slots: Slots,
    pub(crate) api: api::Api,
    /// Tasks that hand a message to the bot and wait until it is handled.
    pub(crate) tasks: TaskTracker,
}

/// The adapter.
pub struct WechatOaAdapter {
    inner: Arc<Inner>,
}

/// How long a message's slot is remembered: WeChat's three retries come within about 15 s.
const SLOT_KEEP: Duration = Duration::from_secs(300);

impl WechatOaAdapter {
    pub fn new(config: WechatOaConfig) -> Result<Self, ConfigError> {
        let crypto = config.encoding_aes_key.as_deref().map(|key| crypto::MessageCrypto::new(key, &config.app_id)).transpose()?;
        if config.mode == Mode::Safe && crypto.is_none() {
            return Err(ConfigError::SafeWithoutKey);
        }
        let api = api::Api::new(&config.api_base, &config.app_id, &config.app_secret);
        #[allow(clippy::unwrap_used)] // A constant, valid platform name.
        let platform = Platform::new(PLATFORM).unwrap();
        Ok(Self { inner: Arc::new(Inner { config, crypto, platform, slots: Slots::new(SLOT_KEEP), api, tasks: TaskTracker::new() }) })
    }
}

#[async_trait]
impl Adapter for WechatOaAdapter {
    fn platform(&self) -> &Platform {
        &self.inner.platform
    }

    async fn run(&self, sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError> {
        server::serve(self.inner.clone(), sink, shutdown).await
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError> {
        if message.chat.platform() != self.inner.platform {
            return Err(SendError::Permanent(format!("{} is not a WeChat Official Account chat", message.chat)));
        }
        if let Some(key) = message.reply_to.as_ref().filter(|id| id.platform() == self.inner.platform).map(MessageId::local) {
            match self.inner.slots.push(key, &message.text) {
                Push::Collected => return Ok(None),
                Push::Api { openid, earlier } => {
                    let mut texts = earlier.clone();
                    texts.push(message.text.clone());
                    let sent = self.inner.api.send_text(&openid, &texts.join(slots::JOIN)).await;
                    if sent.is_err() {
                        self.inner.slots.restore(key, earlier);
                    }
                    return sent.map(|()| None);
                }
                Push::NoSlot => {}
            }
        }
        self.inner.api.send_text(message.chat.local(), &message.text).await.map(|()| None)
    }

    fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
        (user.platform() == self.inner.platform).then(|| ChatId::new(&self.inner.platform, user.local()).ok()).flatten()
    }
}
