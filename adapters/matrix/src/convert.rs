//! Between Matrix events and the chat model.

use chrono::{DateTime, Utc};
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::receipt::{ReceiptEventContent, ReceiptType};
use matrix_sdk::ruma::events::relation::InReplyTo;
use matrix_sdk::ruma::events::relation::Reply;
use matrix_sdk::ruma::events::room::message::{MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::{OwnedEventId, OwnedUserId};
use matrix_sdk::Room;
use zhibu_chat::{ChatId, ChatKind, Event, Incoming, Mention, MessageId, Outgoing, Platform, SendError, Sender, UserId};

pub fn platform() -> Platform {
    Platform::new("matrix").unwrap_or_else(|_| unreachable!("`matrix` is a valid platform name"))
}

/// Drops the quoted fallback (`> ` lines) a client may put before a reply's own text.
fn strip_reply_fallback(body: &str) -> &str {
    let mut rest = body;
    while let Some(line_end) = rest.find('\n').filter(|_| rest.starts_with("> ") || rest.starts_with(">\n")) {
        rest = &rest[line_end + 1..];
    }
    if rest.len() != body.len() {
        rest.trim_start_matches('\n')
    } else {
        body
    }
}

/// A message event as the chat model's [`Incoming`]; `None` for edits, notices (other bots)
/// and content that is not text.
/// A message as a model event; `direct`: whether the room is a direct chat (see
/// `DirectInvites` in the adapter).
pub async fn incoming(event: &OriginalSyncRoomMessageEvent, room: &Room, direct: bool) -> Option<Incoming> {
    if matches!(event.content.relates_to, Some(Relation::Replacement(_))) {
        return None;
    }
    let body = match &event.content.msgtype {
        MessageType::Text(t) => t.body.as_str(),
        MessageType::Emote(e) => e.body.as_str(),
        _ => return None,
    };
    let reply_to = match &event.content.relates_to {
        Some(Relation::Reply(reply)) => MessageId::parse(&format!("matrix:{}", reply.in_reply_to.event_id)).ok(),
        _ => None,
    };
    let text = if reply_to.is_some() { strip_reply_fallback(body) } else { body };
    let display_name = match room.get_member_no_sync(&event.sender).await {
        Ok(Some(member)) => member.display_name().map(ToOwned::to_owned),
        _ => None,
    }
    .unwrap_or_else(|| event.sender.localpart().to_owned());
    let mentions = event
        .content
        .mentions
        .iter()
        .flat_map(|m| m.user_ids.iter())
        .filter_map(|u| Some(Mention { user: user_id(u)?, display_name: u.localpart().to_owned() }))
        .collect();
    let timestamp = DateTime::<Utc>::from(event.origin_server_ts.to_system_time()?);
    Some(Incoming {
        chat: ChatId::parse(&format!("matrix:{}", room.room_id())).ok()?,
        chat_kind: if direct { ChatKind::Direct } else { ChatKind::Group },
        sender: Sender { id: user_id(&event.sender)?, display_name },
        text: text.to_owned(),
        mentions,
        reply_to,
        id: MessageId::parse(&format!("matrix:{}", event.event_id)).ok()?,
        timestamp,
        bare_commands: false,
    })
}

fn user_id(u: &OwnedUserId) -> Option<UserId> {
    UserId::parse(&format!("matrix:{u}")).ok()
}

/// The model's message as Matrix content: plain text, a reply relation, `m.mentions`.
pub fn outgoing(message: &Outgoing) -> RoomMessageEventContent {
    let mut content = RoomMessageEventContent::text_plain(&message.text);
    let users: Vec<OwnedUserId> = message.mentions.iter().filter_map(|m| m.user.local().try_into().ok()).collect();
    if !users.is_empty() {
        content.mentions = Some(Mentions::with_user_ids(users));
    }
    if let Some(reply) = &message.reply_to {
        if let Ok(event_id) = OwnedEventId::try_from(reply.local()) {
            content.relates_to = Some(Relation::Reply(Reply::new(InReplyTo::new(event_id))));
        }
    }
    content
}

/// A Matrix transaction id from an idempotency key: the same key, the same id, so a resend
/// after a crash is recognised by the homeserver and not delivered twice.
pub fn transaction_id(key: &str) -> String {
    let safe: String = key.chars().map(|c| if c.is_ascii_alphanumeric() || "._~-".contains(c) { c } else { '_' }).collect();
    format!("zhibu-{safe}")
}

/// Rate limits and network trouble are worth retrying; a room the bot cannot post in is not.
/// (The SDK already waits out `M_LIMIT_EXCEEDED` with its `retry_after_ms` before giving up;
/// what reaches here is passed on with the server's delay.)
pub fn send_error(e: matrix_sdk::Error) -> SendError {
    use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
    match e.client_api_error_kind() {
        Some(ErrorKind::LimitExceeded(limit)) => match &limit.retry_after {
            Some(RetryAfter::Delay(delay)) => SendError::RateLimited { retry_after: *delay },
            _ => SendError::Transient(format!("rate limited: {e}")),
        },
        Some(ErrorKind::Forbidden | ErrorKind::NotFound | ErrorKind::UnknownToken(_)) => SendError::Permanent(e.to_string()),
        _ => SendError::Transient(e.to_string()),
    }
}

/// A reaction as the model's [`Event::Reaction`].
pub fn reaction(event: &OriginalSyncReactionEvent, room: &Room) -> Option<Event> {
    Some(Event::Reaction {
        chat: ChatId::parse(&format!("matrix:{}", room.room_id())).ok()?,
        user: user_id(&event.sender)?,
        target: MessageId::parse(&format!("matrix:{}", event.content.relates_to.event_id)).ok()?,
        key: event.content.relates_to.key.clone(),
        id: MessageId::parse(&format!("matrix:{}", event.event_id)).ok()?,
        timestamp: DateTime::<Utc>::from(event.origin_server_ts.to_system_time()?),
    })
}

/// Public read receipts (`m.read`) of others as [`Event::Read`]s, at the time of reading.
pub fn reads(content: &ReceiptEventContent, room: &Room, own: &OwnedUserId) -> Vec<Event> {
    let Ok(chat) = ChatId::parse(&format!("matrix:{}", room.room_id())) else { return Vec::new() };
    let mut out = Vec::new();
    for receipts in content.values() {
        let Some(users) = receipts.get(&ReceiptType::Read) else { continue };
        for (user, receipt) in users {
            if user == own {
                continue;
            }
            let at = receipt.ts.and_then(|ts| ts.to_system_time()).map_or_else(Utc::now, DateTime::<Utc>::from);
            if let Some(user) = user_id(user) {
                out.push(Event::Read { chat: chat.clone(), user, at });
            }
        }
    }
    out
}

/// The MIME type of an image file, from its extension.
pub fn image_mime(path: &std::path::Path) -> mime::Mime {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => mime::IMAGE_PNG,
        Some("jpg" | "jpeg") => mime::IMAGE_JPEG,
        Some("gif") => mime::IMAGE_GIF,
        Some("svg") => mime::IMAGE_SVG,
        Some("webp") => "image/webp".parse().unwrap_or(mime::APPLICATION_OCTET_STREAM),
        _ => mime::APPLICATION_OCTET_STREAM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_fallbacks_are_stripped() {
        assert_eq!(strip_reply_fallback("> <@a:x> /签到\n> more\n\n/问 预备期"), "/问 预备期");
        assert_eq!(strip_reply_fallback("/签到"), "/签到");
    }

    #[test]
    fn image_types_come_from_the_extension() {
        assert_eq!(image_mime(std::path::Path::new("chart.PNG")), mime::IMAGE_PNG);
        assert_eq!(image_mime(std::path::Path::new("a.jpeg")), mime::IMAGE_JPEG);
        assert_eq!(image_mime(std::path::Path::new("noext")), mime::APPLICATION_OCTET_STREAM);
    }

    #[test]
    fn transaction_ids_are_stable_and_safe() {
        assert_eq!(transaction_id("daily-study@1795564800#1"), "zhibu-daily-study_1795564800_1");
        assert_eq!(transaction_id("x"), transaction_id("x"));
    }
}
