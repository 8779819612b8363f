//! The Matrix adapter, on matrix-sdk: logs in (password or access token) and keeps its session
//! and the SDK's state and crypto stores under the data dir, so a restart is the same device;
//! reads and answers in end-to-end encrypted rooms; joins rooms only when the inviter or the
//! room is allowed; resumes from its last sync token, so commands sent while the bot was down
//! are handled once, with their original timestamps.
//!
//! It syncs with a loop of `sync_once` calls (long-poll) rather than `Client::sync`, which in
//! 0.18 sleeps a second after every quick sync cycle and so adds a second to every reply.

mod convert;
mod session;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::OriginalSyncRoomMessageEvent;
use matrix_sdk::ruma::{OwnedRoomId, OwnedTransactionId, OwnedUserId};
use matrix_sdk::{Client, Room};
use tokio_util::sync::CancellationToken;
use zhibu_chat::{Adapter, AdapterError, ChatId, EventSink, MessageId, Outgoing, Platform, SendError, UserId};

/// Settings of the Matrix adapter.
#[derive(Debug, Clone)]
pub struct MatrixConfig {
    /// The homeserver's URL (`https://matrix.example.org`).
    pub homeserver: String,
    /// The bot's user id (`@zhibu:example.org`) or localpart.
    pub user: String,
    pub password: Option<String>,
    /// An access token instead of a password (needs `device_id` of that token's device).
    pub access_token: Option<String>,
    /// The device the bot logs in as; fixed, so a restart reuses it.
    pub device_id: String,
    /// Where the session, the sync token and the SDK's sqlite stores live.
    pub store_dir: PathBuf,
    /// Users whose invites the bot accepts (full ids); empty with `allowed_rooms` empty: anyone.
    pub allowed_inviters: Vec<String>,
    /// Rooms the bot may join when invited, whoever invites.
    pub allowed_rooms: Vec<String>,
    /// How long one sync long-polls.
    pub sync_timeout: Duration,
}

/// The adapter.
pub struct MatrixAdapter {
    platform: Platform,
    config: MatrixConfig,
    client: OnceLock<Client>,
}

impl MatrixAdapter {
    pub fn new(config: MatrixConfig) -> Self {
        Self { platform: convert::platform(), config, client: OnceLock::new() }
    }

    fn client(&self) -> Result<&Client, SendError> {
        self.client.get().ok_or_else(|| SendError::Transient("not connected to the homeserver yet".into()))
    }

    fn may_join(&self, inviter: &str, room: &str) -> bool {
        let c = &self.config;
        (c.allowed_inviters.is_empty() && c.allowed_rooms.is_empty())
            || c.allowed_inviters.iter().any(|u| u == inviter)
            || c.allowed_rooms.iter().any(|r| r == room)
    }
}

#[async_trait]
impl Adapter for MatrixAdapter {
    fn platform(&self) -> &Platform {
        &self.platform
    }

    async fn run(&self, sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError> {
        let (client, token) = session::connect(&self.config).await?;
        let _ = self.client.set(client.clone());
        let own: OwnedUserId = client.user_id().map(ToOwned::to_owned).ok_or_else(|| AdapterError::Protocol("no user id after login".into()))?;

        // Invites are pending state, not history: handle them from the first sync on.
        let policy = Arc::new((self.config.allowed_inviters.clone(), self.config.allowed_rooms.clone()));
        let open = self.config.allowed_inviters.is_empty() && self.config.allowed_rooms.is_empty();
        client.add_event_handler(move |event: StrippedRoomMemberEvent, room: Room, client: Client| {
            let policy = policy.clone();
            async move {
                if Some(event.state_key.as_ref()) != client.user_id() {
                    return;
                }
                let inviter = event.sender.to_string();
                let room_id = room.room_id().to_string();
                let allowed = open || policy.0.contains(&inviter) || policy.1.contains(&room_id);
                if !allowed {
                    tracing::warn!(%inviter, room = %room_id, "invite refused: neither the inviter nor the room is allowed");
                    let _ = room.leave().await;
                    return;
                }
                tokio::spawn(async move {
                    let mut delay = Duration::from_millis(200);
                    for _ in 0..8 {
                        match room.join().await {
                            Ok(()) => {
                                tracing::info!(room = %room.room_id(), %inviter, "joined");
                                return;
                            }
                            Err(e) => {
                                tracing::warn!(room = %room.room_id(), error = %e, "join failed; retrying");
                                tokio::time::sleep(delay).await;
                                delay *= 2;
                            }
                        }
                    }
                });
            }
        });

        // With no sync token yet (the first start), history from before the bot joined is not
        // replayed: sync once before listening. With a token, what came while the bot was down is
        // exactly what the next sync returns, and it is handled once.
        let mut token = token;
        if token.is_none() {
            let response = sync_with_retry(&client, SyncSettings::default(), &shutdown).await?;
            session::save_token(&self.config.store_dir, &response)?;
            token = Some(response);
        }

        let sink_for_messages = sink.clone();
        let own_for_messages = own.clone();
        client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
            let sink = sink_for_messages.clone();
            let own = own_for_messages.clone();
            async move {
                if event.sender == own {
                    return;
                }
                if let Some(incoming) = convert::incoming(&event, &room).await {
                    if sink.deliver(zhibu_chat::Event::Message(incoming)).await.is_err() {
                        tracing::debug!("runtime closed; message dropped");
                    }
                }
            }
        });
        let mut settings = SyncSettings::default().timeout(self.config.sync_timeout);
        if let Some(t) = token {
            settings = settings.token(t);
        }
        loop {
            let response = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                r = sync_with_retry(&client, settings.clone(), &shutdown) => r?,
            };
            session::save_token(&self.config.store_dir, &response)?;
            settings = settings.token(response);
        }
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError> {
        let client = self.client()?;
        let room_id: OwnedRoomId = message.chat.local().try_into().map_err(|_| SendError::Permanent(format!("not a Matrix room id: {}", message.chat)))?;
        let room = client.get_room(&room_id).ok_or_else(|| SendError::Permanent(format!("the bot is not in room {room_id}")))?;
        let content = convert::outgoing(message);
        let mut request = room.send(content);
        if let Some(key) = &message.idempotency_key {
            request = request.with_transaction_id(OwnedTransactionId::from(convert::transaction_id(key)));
        }
        match request.await {
            Ok(sent) => Ok(MessageId::parse(&format!("matrix:{}", sent.response.event_id)).ok()),
            Err(e) => Err(convert::send_error(e)),
        }
    }

    fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
        let client = self.client.get()?;
        let user: OwnedUserId = user.local().try_into().ok()?;
        let room = client.get_dm_room(&user)?;
        ChatId::parse(&format!("matrix:{}", room.room_id())).ok()
    }
}

/// One sync, retried with backoff while the homeserver is unreachable; other adapters keep going.
async fn sync_with_retry(client: &Client, settings: SyncSettings, shutdown: &CancellationToken) -> Result<String, AdapterError> {
    let mut delay = Duration::from_secs(1);
    loop {
        match client.sync_once(settings.clone()).await {
            Ok(response) => return Ok(response.next_batch),
            Err(e) => {
                tracing::warn!(error = %e, "sync failed; retrying in {delay:?}");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shutdown.cancelled() => return Err(AdapterError::Closed),
                }
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
}

impl MatrixAdapter {
    /// Whether an invite from `inviter` to `room` would be accepted (for tests and `check-config`).
    pub fn accepts_invite(&self, inviter: &str, room: &str) -> bool {
        self.may_join(inviter, room)
    }
}
