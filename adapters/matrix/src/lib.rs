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
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::receipt::ReceiptEventContent;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::OriginalSyncRoomMessageEvent;
use matrix_sdk::ruma::events::SyncEphemeralRoomEvent;
use matrix_sdk::ruma::{OwnedRoomId, OwnedTransactionId, OwnedUserId};
use matrix_sdk::{Client, Room};
use tokio_util::sync::CancellationToken;
use zhibu_chat::{Adapter, AdapterError, ChatId, EventSink, Handled, MessageId, Outgoing, Platform, SendError, UserId};

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
    dm_creation: tokio::sync::Mutex<()>,
}

impl MatrixAdapter {
    pub fn new(config: MatrixConfig) -> Self {
        Self { platform: convert::platform(), config, client: OnceLock::new(), dm_creation: tokio::sync::Mutex::new(()) }
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
        let direct_invites = DirectInvites::default();
        let invites = direct_invites.clone();
        client.add_event_handler(move |event: StrippedRoomMemberEvent, room: Room, client: Client| {
            let (policy, invites) = (policy.clone(), invites.clone());
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
                if event.content.is_direct == Some(true) {
                    invites.insert(room.room_id());
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

        // Events of one sync are handed over tracked: the sync token moves past them only once
        // they are handled, so a crash in between redelivers them (and the runtime's persisted
        // event ids drop what was handled already).
        let pending: Pending = Arc::default();
        register_event_handlers(&client, Forward { sink, pending: pending.clone(), own, direct_invites });
        let mut settings = SyncSettings::default().timeout(self.config.sync_timeout);
        if let Some(t) = token {
            settings = settings.token(t);
        }
        loop {
            let response = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                r = sync_with_retry(&client, settings.clone(), &shutdown) => r?,
            };
            let batch = std::mem::take(&mut *pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            for handled in batch {
                handled.wait().await;
            }
            session::save_token(&self.config.store_dir, &response)?;
            settings = settings.token(response);
        }
    }

    /// Restores the session (rooms and crypto state come from the sqlite stores) without syncing.
    async fn connect_for_sending(&self) -> Result<(), AdapterError> {
        if self.client.get().is_none() {
            let (client, _) = session::connect(&self.config).await?;
            let _ = self.client.set(client);
        }
        Ok(())
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError> {
        let client = self.client()?;
        let room = self.room_for(client, &message.chat).await?;
        let txn = |suffix: &str| message.idempotency_key.as_ref().map(|key| OwnedTransactionId::from(convert::transaction_id(&format!("{key}{suffix}"))));
        let mut sent = None;
        if !message.text.is_empty() || message.image.is_none() {
            let mut request = room.send(convert::outgoing(message));
            if let Some(txn) = txn("") {
                request = request.with_transaction_id(txn);
            }
            let response = request.await.map_err(convert::send_error)?;
            sent = MessageId::parse(&format!("matrix:{}", response.response.event_id)).ok();
        }
        if let Some(path) = &message.image {
            let data = tokio::fs::read(path).await.map_err(|e| SendError::Permanent(format!("cannot read image {}: {e}", path.display())))?;
            let name = path.file_name().map_or_else(|| "image".to_owned(), |n| n.to_string_lossy().into_owned());
            let mut config = AttachmentConfig::new();
            if let Some(txn) = txn("-image") {
                config = config.txn_id(txn);
            }
            let response = room.send_attachment(name, &convert::image_mime(path), data, config).await.map_err(convert::send_error)?;
            sent = sent.or_else(|| MessageId::parse(&format!("matrix:{}", response.event_id)).ok());
        }
        Ok(sent)
    }

    /// Direct chats are addressed by the user (`matrix:@alice:example.org`): [`send`] finds the
    /// DM room with them, or creates one, so the bot can write to a member it never talked to.
    fn direct_chat(&self, user: &UserId) -> Option<ChatId> {
        let user_id: OwnedUserId = user.local().try_into().ok()?;
        match self.client.get().and_then(|client| client.get_dm_room(&user_id)) {
            Some(room) => ChatId::parse(&format!("matrix:{}", room.room_id())).ok(),
            None => ChatId::parse(&format!("matrix:{user_id}")).ok(),
        }
    }
}

impl MatrixAdapter {
    /// The room a message goes to: a room id, or a user id for a direct chat (found or created).
    async fn room_for(&self, client: &Client, chat: &ChatId) -> Result<Room, SendError> {
        let local = chat.local();
        if local.starts_with('@') {
            let user: OwnedUserId = local.try_into().map_err(|_| SendError::Permanent(format!("not a Matrix user id: {chat}")))?;
            // One creation at a time, so two messages for a new DM make one room.
            let _guard = self.dm_creation.lock().await;
            if let Some(room) = client.get_dm_room(&user) {
                return Ok(room);
            }
            tracing::info!(%user, "creating a direct chat");
            return client.create_dm(&user).await.map_err(convert::send_error);
        }
        let room_id: OwnedRoomId = local.try_into().map_err(|_| SendError::Permanent(format!("not a Matrix room id: {chat}")))?;
        client.get_room(&room_id).ok_or_else(|| SendError::Permanent(format!("the bot is not in room {room_id}")))
    }
}

/// Handles of the events delivered during the current sync.
type Pending = Arc<std::sync::Mutex<Vec<Handled>>>;

/// Rooms the bot joined on an invite marked `is_direct`. The SDK marks such a room as a DM in
/// the bot's `m.direct` account data when it joins, but its own `Room::is_direct` only says so
/// once that account data comes back in a sync: a member's first message, sent the moment the
/// bot joined, can come first, and would be taken for a group message. (Element's "start chat"
/// marks its invites `is_direct`. Member counts are not used: a new group room whose members
/// have not joined yet would look like a DM.)
#[derive(Clone, Default)]
struct DirectInvites(Arc<std::sync::Mutex<std::collections::HashSet<OwnedRoomId>>>);

impl DirectInvites {
    fn set(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<OwnedRoomId>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn insert(&self, room: &matrix_sdk::ruma::RoomId) {
        self.set().insert(room.to_owned());
    }

    /// Whether `room` is a direct chat: by the SDK, or by its invite while the SDK catches up.
    async fn is_direct(&self, room: &Room) -> bool {
        if room.is_direct().await.unwrap_or(false) {
            self.set().remove(room.room_id());
            return true;
        }
        self.set().contains(room.room_id())
    }
}

/// What every event handler needs: where events go, the current sync's handles, the bot's id,
/// the rooms known to be direct from their invite.
#[derive(Clone)]
struct Forward {
    sink: EventSink,
    pending: Pending,
    own: OwnedUserId,
    direct_invites: DirectInvites,
}

impl Forward {
    /// Delivers `event` tracked, so the sync token waits for it.
    fn deliver(&self, event: zhibu_chat::Event) {
        match self.sink.deliver_tracked(event) {
            Ok(h) => self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(h),
            Err(_) => tracing::debug!("runtime closed; event dropped"),
        }
    }
}

/// Messages, reactions and read receipts from others become model events, delivered tracked.
fn register_event_handlers(client: &Client, forward: Forward) {
    let f = forward.clone();
    client.add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
        let f = f.clone();
        async move {
            if event.sender != f.own {
                let direct = f.direct_invites.is_direct(&room).await;
                if let Some(incoming) = convert::incoming(&event, &room, direct).await {
                    f.deliver(zhibu_chat::Event::Message(incoming));
                }
            }
        }
    });
    let f = forward.clone();
    client.add_event_handler(move |event: OriginalSyncReactionEvent, room: Room| {
        let f = f.clone();
        async move {
            if event.sender != f.own {
                if let Some(reaction) = convert::reaction(&event, &room) {
                    f.deliver(reaction);
                }
            }
        }
    });
    client.add_event_handler(move |event: SyncEphemeralRoomEvent<ReceiptEventContent>, room: Room| {
        let f = forward.clone();
        async move {
            for read in convert::reads(&event.content, &room, &f.own) {
                f.deliver(read);
            }
        }
    });
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
