//! The callback URL: `GET` for WeChat's URL verification, `POST` for followers' messages.
//!
//! Every request is checked before anything reaches the bot: the timestamp must be within
//! `max_clock_skew` of now (a captured request cannot be replayed later), the signature must
//! match (401 when missing, 403 when wrong), the body must fit [`MAX_BODY_BYTES`] (413) and be
//! WeChat's flat XML without a DOCTYPE (400). A message is handed to the bot once per MsgId; the
//! request then waits for the reply (see [`crate::slots`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use zhibu_chat::{AdapterError, ChatId, ChatKind, Event, EventSink, Incoming, MessageId, RejectReason, Sender, UserId};

use crate::crypto::{random_bytes, RANDOM_BYTES};
use crate::signature;
use crate::slots::{wait_outcome, Outcome};
use crate::xml::{self, Inbound, InboundKind};
use crate::{Inner, Mode, MAX_BODY_BYTES};

/// How long shutdown waits for messages still being handled.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);
/// Attempts at sending, through the API, replies left over when a deferred message is handled.
const LEFTOVER_ATTEMPTS: u32 = 3;

#[derive(Clone)]
struct AppState {
    inner: Arc<Inner>,
    sink: EventSink,
}

/// The query string WeChat signs its requests with.
#[derive(Debug, Default, Deserialize)]
struct Params {
    signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    echostr: Option<String>,
    encrypt_type: Option<String>,
    msg_signature: Option<String>,
}

/// Why a request is refused; each maps to one status.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("no signature")]
    Unsigned,
    #[error("wrong signature")]
    BadSignature,
    #[error("timestamp missing, malformed or too far from now")]
    Stale,
    #[error("plaintext messages are refused in safe mode")]
    PlaintextRefused,
    #[error("bad request: {0}")]
    Bad(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match self {
            Refusal::Unsigned => StatusCode::UNAUTHORIZED,
            Refusal::BadSignature | Refusal::Stale | Refusal::PlaintextRefused => StatusCode::FORBIDDEN,
            Refusal::Bad(_) => StatusCode::BAD_REQUEST,
        };
        tracing::info!(%status, reason = %self, "callback refused");
        (status, status.canonical_reason().unwrap_or_default()).into_response()
    }
}

fn bad(e: impl std::fmt::Display) -> Refusal {
    Refusal::Bad(e.to_string())
}

/// Serves the callback until `shutdown`, then waits (bounded) for messages still in hand.
pub(crate) async fn serve(inner: Arc<Inner>, sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError> {
    let listener = tokio::net::TcpListener::bind(inner.config.listen)
        .await
        .map_err(|e| AdapterError::Startup(format!("wechat_oa: cannot listen on {}: {e}", inner.config.listen)))?;
    tracing::info!(address = %inner.config.listen, path = %inner.config.path, "WeChat Official Account callback listening");
    let app = router(AppState { inner: inner.clone(), sink });
    let stop = shutdown.clone();
    axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await?;
    inner.tasks.close();
    if tokio::time::timeout(DRAIN, inner.tasks.wait()).await.is_err() {
        tracing::warn!("wechat_oa: messages were still being handled at shutdown");
    }
    Ok(())
}

fn router(state: AppState) -> Router {
    let path = state.inner.config.path.clone();
    Router::new().route(&path, get(verify).post(receive)).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(state)
}

/// The request's timestamp, if it is within the allowed skew of now.
fn fresh_timestamp(inner: &Inner, params: &Params) -> Result<i64, Refusal> {
    let ts: i64 = params.timestamp.as_deref().and_then(|t| t.trim().parse().ok()).ok_or(Refusal::Stale)?;
    let skew = i64::try_from(inner.config.max_clock_skew.as_secs()).unwrap_or(i64::MAX);
    if (Utc::now().timestamp() - ts).abs() > skew {
        return Err(Refusal::Stale);
    }
    Ok(ts)
}

fn check_signature(inner: &Inner, params: &Params) -> Result<(), Refusal> {
    let given = params.signature.as_deref().ok_or(Refusal::Unsigned)?;
    let (timestamp, nonce) = (params.timestamp.as_deref().unwrap_or_default(), params.nonce.as_deref().unwrap_or_default());
    if signature::verify(given, &[&inner.config.token, timestamp, nonce]) {
        Ok(())
    } else {
        Err(Refusal::BadSignature)
    }
}

/// `GET`: WeChat checks that the URL is ours; we echo `echostr` when the signature is right.
async fn verify(State(state): State<AppState>, Query(params): Query<Params>) -> Result<Response, Refusal> {
    check_signature(&state.inner, &params)?;
    fresh_timestamp(&state.inner, &params)?;
    let echo = params.echostr.ok_or_else(|| bad("no echostr"))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], echo).into_response())
}

/// `POST`: a follower's message or event.
async fn receive(State(state): State<AppState>, Query(params): Query<Params>, body: Bytes) -> Result<Response, Refusal> {
    let started = tokio::time::Instant::now();
    let inner = &state.inner;
    let encrypted = params.encrypt_type.as_deref() == Some("aes");
    if encrypted {
        if params.msg_signature.is_none() {
            return Err(Refusal::Unsigned);
        }
        // WeChat signs the query too; check it when present.
        if params.signature.is_some() {
            check_signature(inner, &params)?;
        }
    } else {
        check_signature(inner, &params)?;
        if inner.config.mode == Mode::Safe {
            return Err(Refusal::PlaintextRefused);
        }
    }
    fresh_timestamp(inner, &params)?;
    let body = std::str::from_utf8(&body).map_err(|_| bad("body is not UTF-8"))?;
    let mut fields = xml::parse_fields(body).map_err(bad)?;
    if encrypted {
        let crypto = inner.crypto.as_ref().ok_or_else(|| bad("safe mode is not configured (no encoding_aes_key)"))?;
        let encrypt = fields.get("Encrypt").ok_or_else(|| bad("no <Encrypt>"))?;
        let given = params.msg_signature.as_deref().unwrap_or_default();
        let (timestamp, nonce) = (params.timestamp.as_deref().unwrap_or_default(), params.nonce.as_deref().unwrap_or_default());
        if !signature::verify(given, &[&inner.config.token, timestamp, nonce, encrypt]) {
            return Err(Refusal::BadSignature);
        }
        let plain = crypto.decrypt(encrypt).map_err(bad)?;
        fields = xml::parse_fields(&plain).map_err(bad)?;
    }
    let inbound = Inbound::from_fields(&fields).map_err(bad)?;
    let Some((key, delivery, greeting)) = what_to_deliver(inner, &inbound) else {
        tracing::debug!(kind = ?inbound.kind, "callback not for the bot; answered success");
        return Ok(success());
    };
    let event = incoming(inner, &inbound, &key, delivery).map_err(bad)?;

    let (first, outcome) = inner.slots.open(&key, &inbound.openid, greeting, std::time::Instant::now());
    if first {
        inner.tasks.spawn(hand_to_bot(state.clone(), key.clone(), event));
    } else {
        tracing::info!(%key, "WeChat retried a message; answering from its slot");
    }
    match wait_outcome(&inner.slots, &key, outcome, started + inner.config.reply_deadline).await {
        Outcome::Ready(text) if !text.is_empty() => Ok(reply(inner, &inbound, &text, encrypted)),
        Outcome::Ready(_) => Ok(success()),
        Outcome::Deferred | Outcome::Pending => {
            tracing::info!(%key, "no reply within the deadline; later replies go through the customer-service API");
            Ok(success())
        }
    }
}

/// What a callback hands to the bot.
enum Delivery {
    /// Text to read (a message, recognised speech, or the welcome command for a new follower).
    Text(String),
    /// A message the bot cannot read (an image, unrecognised voice, a location, …): the follower
    /// is told to write instead of waiting for an answer that never comes.
    NotText,
}

/// The slot key, what to hand the bot and a greeting to lead the reply, for callbacks the bot
/// answers: messages and new followers.
fn what_to_deliver(inner: &Inner, inbound: &Inbound) -> Option<(String, Delivery, Option<String>)> {
    match &inbound.kind {
        InboundKind::Text { msg_id, content } => Some((msg_id.clone(), Delivery::Text(content.clone()), None)),
        InboundKind::Event { event } if event == "subscribe" && !inner.config.welcome.command.is_empty() => {
            let key = format!("event/{}/{}/subscribe", inbound.openid, inbound.create_time);
            let greeting = Some(inner.config.welcome.greeting.clone()).filter(|g| !g.is_empty());
            Some((key, Delivery::Text(inner.config.welcome.command.clone()), greeting))
        }
        // Every message type carries a MsgId; events do not.
        InboundKind::Other { msg_id: Some(msg_id), .. } => Some((msg_id.clone(), Delivery::NotText, None)),
        InboundKind::Event { .. } | InboundKind::Other { msg_id: None, .. } => None,
    }
}

fn incoming(inner: &Inner, inbound: &Inbound, key: &str, delivery: Delivery) -> Result<Event, zhibu_chat::IdError> {
    let user = UserId::new(&inner.platform, &inbound.openid)?;
    let chat = ChatId::new(&inner.platform, &inbound.openid)?;
    // WeChat tells a server nothing of a follower's name; the bot shows the OpenID until a
    // secretary names the member.
    let sender = Sender { id: user, display_name: String::new() };
    // The slot key: the bot's replies quote it, which is how they find the waiting callback.
    let id = MessageId::new(&inner.platform, key)?;
    let text = match delivery {
        Delivery::Text(text) => text,
        Delivery::NotText => return Ok(Event::Rejected { chat, chat_kind: ChatKind::Direct, sender, reason: RejectReason::NotText, id: Some(id) }),
    };
    let timestamp = DateTime::<Utc>::from_timestamp(inbound.create_time, 0).unwrap_or_else(Utc::now);
    Ok(Event::Message(Incoming { chat, chat_kind: ChatKind::Direct, sender, text, mentions: Vec::new(), reply_to: None, id, timestamp, bare_commands: true }))
}

/// Hands the message to the bot and settles its slot once the bot has handled it.
async fn hand_to_bot(state: AppState, key: String, event: Event) {
    let inner = &state.inner;
    match state.sink.deliver_tracked(event) {
        Ok(handled) => handled.wait().await,
        Err(e) => tracing::warn!(%key, error = %e, "message not handed to the bot"),
    }
    let Some((openid, left)) = inner.slots.finish(&key) else { return };
    // Replies collected just before the deadline, with nothing after them to carry them out,
    // or the part of a passive reply that did not fit in one message.
    let text = left.join(crate::slots::JOIN);
    for attempt in 1..=LEFTOVER_ATTEMPTS {
        match inner.api.send_text(&openid, &text).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(%key, attempt, error = %e, "sending a late reply failed");
                if matches!(e, zhibu_chat::SendError::Permanent(_)) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_secs(u64::from(attempt))).await;
            }
        }
    }
}

fn success() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "success").into_response()
}

fn reply(inner: &Inner, inbound: &Inbound, text: &str, encrypted: bool) -> Response {
    let now = Utc::now().timestamp();
    let plain = xml::text_reply(&inbound.account, &inbound.openid, now, text);
    let body = match (&inner.crypto, encrypted) {
        (Some(crypto), true) => {
            let encrypt = crypto.encrypt(&plain, random_bytes::<RANDOM_BYTES>());
            let timestamp = now.to_string();
            let nonce = u32::from_be_bytes(random_bytes::<4>()).to_string();
            let signature = signature::sign(&[&inner.config.token, &timestamp, &nonce, &encrypt]);
            xml::encrypted_reply(&encrypt, &signature, &timestamp, &nonce)
        }
        _ => plain,
    };
    ([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], body).into_response()
}
