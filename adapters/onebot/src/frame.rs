//! Frames from the implementation: events (they have `post_type`) and action responses (they
//! have `echo`), and how a message event becomes a chat [`Event`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use zhibu_chat::{ChatId, ChatKind, Event, Incoming, Mention, MessageId, Platform, RejectReason, Sender, UserId};

use crate::message::{RawMessage, Scalar, Segment};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawSender<'a> {
    #[serde(default, borrow)]
    pub nickname: Scalar<'a>,
    #[serde(default, borrow)]
    pub card: Scalar<'a>,
}

/// Any frame the implementation sends, borrowed from its text ([`Frame::parse`]). Unknown fields
/// are skipped; every field the bot reads accepts any JSON value (a value of an unexpected type
/// reads as absent), so a frame from an implementation with its own ideas of types still parses.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Frame<'a> {
    // events
    #[serde(default, borrow)]
    pub post_type: Scalar<'a>,
    #[serde(default, borrow)]
    pub message_type: Scalar<'a>,
    #[serde(default, borrow)]
    pub meta_event_type: Scalar<'a>,
    #[serde(default, borrow)]
    pub sub_type: Scalar<'a>,
    #[serde(default, borrow)]
    pub time: Scalar<'a>,
    /// Ids: numbers (QQ) or strings (some WeChat bridges), read as text.
    #[serde(default, borrow)]
    pub self_id: Scalar<'a>,
    #[serde(default, borrow)]
    pub message_id: Scalar<'a>,
    #[serde(default, borrow)]
    pub group_id: Scalar<'a>,
    #[serde(default, borrow)]
    pub user_id: Scalar<'a>,
    /// The message of an event; in an error response, go-cqhttp puts its error text here.
    #[serde(default, borrow)]
    pub message: Option<RawMessage<'a>>,
    #[serde(default, borrow)]
    pub sender: Option<RawSender<'a>>,
    /// Heartbeat: milliseconds until the next one.
    #[serde(default, borrow)]
    pub interval: Scalar<'a>,
    // action responses
    /// What the bot sent as `echo` (a number); text when it is a string or a number.
    #[serde(default, borrow)]
    pub echo: Option<Scalar<'a>>,
    /// `ok` / `async` / `failed` in a response; an object in a heartbeat (read as nothing).
    #[serde(default, borrow)]
    pub status: Scalar<'a>,
    #[serde(default, borrow)]
    pub retcode: Scalar<'a>,
    #[serde(default, borrow)]
    pub data: ResponseData<'a>,
    #[serde(default, borrow)]
    pub wording: Scalar<'a>,
}

/// The ids the bot reads from a response's `data`; nothing when `data` is not an object.
#[derive(Debug, Clone, Default)]
pub struct ResponseData<'a> {
    pub message_id: Scalar<'a>,
    pub user_id: Scalar<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for ResponseData<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = ResponseData<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut data = ResponseData::default();
                while let Some(key) = map.next_key::<Scalar<'de>>()? {
                    match key.as_str() {
                        Some("message_id") => data.message_id = map.next_value()?,
                        Some("user_id") => data.user_id = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(data)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ResponseData::default())
            }
            // Borrowed and owned strings reach this too (serde's defaults forward them).
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ResponseData::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ResponseData::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ResponseData::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ResponseData::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ResponseData::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ResponseData::default())
            }
        }
        deserializer.deserialize_any(DataVisitor)
    }
}

/// An action's response, owned: it outlives the frame it was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// `status` was `ok` or `async`.
    pub accepted: bool,
    pub retcode: Option<i64>,
    /// `data.message_id` of a send, `data.user_id` of `get_login_info`.
    pub message_id: Option<String>,
    pub user_id: Option<String>,
    /// Why the implementation refused: its `wording`, or go-cqhttp's error text in `message`.
    pub why: Option<String>,
}

/// What a frame means to a connection.
#[derive(Debug)]
pub enum Kind {
    Message,
    Heartbeat {
        interval_ms: Option<u64>,
    },
    Lifecycle,
    /// A notice, request or meta event the bot does not use.
    Ignored(String),
    Response,
    Unknown,
}

impl<'a> Frame<'a> {
    /// Reads a frame: a JSON object.
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn kind(&self) -> Kind {
        match self.post_type.as_str() {
            Some("message") => Kind::Message,
            Some("meta_event") => match self.meta_event_type.as_str() {
                Some("heartbeat") => Kind::Heartbeat { interval_ms: self.interval.as_str().and_then(|ms| ms.parse().ok()) },
                Some("lifecycle") => Kind::Lifecycle,
                other => Kind::Ignored(format!("meta_event/{}", other.unwrap_or("?"))),
            },
            Some(other) => Kind::Ignored(format!("{other}/{}", self.sub_type.as_str().or(self.message_type.as_str()).unwrap_or("?"))),
            None if self.echo.is_some() || self.status.as_str().is_some() => Kind::Response,
            None => Kind::Unknown,
        }
    }

    /// The echo of a response, when it is one the bot sends (a number).
    pub fn echo(&self) -> Option<u64> {
        self.echo.as_ref()?.as_str()?.parse().ok()
    }

    /// The frame as an action's response.
    pub fn response(&self) -> Response {
        let owned = |s: &Scalar<'_>| s.as_str().map(str::to_owned);
        let why = owned(&self.wording).or_else(|| match &self.message {
            Some(RawMessage::Text(t)) => Some(t.clone().into_owned()),
            _ => None,
        });
        Response {
            accepted: matches!(self.status.as_str(), Some("ok" | "async")),
            retcode: self.retcode.as_str().and_then(|r| r.parse().ok()),
            message_id: owned(&self.data.message_id),
            user_id: owned(&self.data.user_id),
            why,
        }
    }
}

/// Ids on the `onebot` platform: users are `onebot:<user_id>`; chats and messages carry the
/// bot account they belong to, because several accounts may be connected at once:
/// `onebot:<self_id>/group/<group_id>`, `onebot:<self_id>/private/<user_id>`,
/// `onebot:<self_id>/<message_id>`.
#[derive(Debug, Clone)]
pub struct Ids {
    pub platform: Platform,
}

/// Where a chat id points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    Group { account: &'a str, group: &'a str },
    Private { account: &'a str, user: &'a str },
}

impl Ids {
    pub fn new() -> Self {
        Self { platform: Platform::new(crate::PLATFORM).unwrap_or_else(|_| unreachable!("a valid platform name")) }
    }

    pub fn user(&self, user: &str) -> Option<UserId> {
        UserId::new(&self.platform, user).ok()
    }

    pub fn group(&self, account: &str, group: &str) -> Option<ChatId> {
        ChatId::from_parts(&self.platform, &[account, "/group/", group]).ok()
    }

    pub fn private(&self, account: &str, user: &str) -> Option<ChatId> {
        ChatId::from_parts(&self.platform, &[account, "/private/", user]).ok()
    }

    pub fn message(&self, account: &str, id: &str) -> Option<MessageId> {
        MessageId::from_parts(&self.platform, &[account, "/", id]).ok()
    }

    /// Splits a chat id of this platform.
    pub fn target<'a>(&self, chat: &'a ChatId) -> Option<Target<'a>> {
        let (account, rest) = split_at_byte(chat.local(), b'/')?;
        let (kind, id) = split_at_byte(rest, b'/')?;
        if account.is_empty() || id.is_empty() {
            return None;
        }
        match kind {
            "group" => Some(Target::Group { account, group: id }),
            "private" => Some(Target::Private { account, user: id }),
            _ => None,
        }
    }

    /// The id of a received message: its message id, its time and a digest of who said what
    /// where. Implementations number messages with small integers that come round again (after
    /// a restart or reinstall, or a hash collision in go-cqhttp), while a duplicate event (a
    /// reconnecting implementation) repeats all of it: the runtime drops duplicates and never a
    /// new message.
    pub fn received(&self, account: &str, id: &str, time: i64, digest: u64) -> Option<MessageId> {
        let mut time_text = itoa::Buffer::new();
        let mut digest_hex = [0u8; 16];
        for (i, d) in digest_hex.iter_mut().enumerate() {
            *d = b"0123456789abcdef"[(digest >> (60 - 4 * i)) as usize & 0xf];
        }
        let digest_hex = std::str::from_utf8(&digest_hex).unwrap_or_default();
        MessageId::from_parts(&self.platform, &[account, "/", id, "@", time_text.format(time), ".", digest_hex]).ok()
    }

    /// The implementation's message id in one of our message ids (`<account>/<id>[@time]` → `id`).
    pub fn local_message<'a>(&self, id: &'a MessageId) -> &'a str {
        let m = split_at_byte(id.local(), b'/').map_or(id.local(), |(_, m)| m);
        split_at_byte(m, b'@').map_or(m, |(m, _)| m)
    }
}

/// `s` split around the first `byte` (ASCII), like `split_once` with a `char` but in a plain
/// loop: a message runs through these splits, and `char` patterns bring their own searcher.
fn split_at_byte(s: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii());
    let at = s.bytes().position(|b| b == byte)?;
    // An ASCII byte is a whole character: both sides are valid text.
    Some((&s[..at], &s[at + 1..]))
}

/// FNV-1a over the parts (NUL-separated): stable across builds and restarts, unlike std's
/// hasher, because the ids it goes into are stored.
fn fnv1a<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Turns a message event into a chat event. `None` for events that are not for the bot (its
/// own messages, missing ids); `Rejected` when the text is over `max_bytes`.
pub fn to_event(ids: &Ids, frame: &Frame<'_>, account: &str, max_bytes: usize) -> Option<Event> {
    let user_id = frame.user_id.as_str()?;
    if user_id == account {
        return None;
    }
    let (chat, chat_kind) = match frame.message_type.as_str() {
        Some("group") => (ids.group(account, frame.group_id.as_str()?)?, ChatKind::Group),
        Some("private") => (ids.private(account, user_id)?, ChatKind::Direct),
        _ => return None,
    };
    let (card, nickname) = frame.sender.as_ref().map_or((None, None), |s| (s.card.as_str(), s.nickname.as_str()));
    let display_name = [card, nickname].into_iter().flatten().find(|n| !n.trim().is_empty()).unwrap_or(user_id).to_owned();
    let sender = Sender { id: ids.user(user_id)?, display_name };
    let segments = frame.message.as_ref().map(RawMessage::segments).unwrap_or_default();
    // Sized once: the text segments, and the `@name`s (a guess at their length).
    let mut text = String::with_capacity(
        segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.len(),
                Segment::At { .. } => 16,
                _ => 0,
            })
            .sum(),
    );
    let mut mentions = Vec::new();
    let mut reply_to = None;
    let mut media = false;
    for segment in segments {
        match segment {
            Segment::Text(t) => text.push_str(&t),
            // `@bot` addresses the bot; `@all` is not a person.
            Segment::At { qq, .. } if qq == account || qq == "all" => {}
            Segment::At { qq, name } => {
                let display_name = name.unwrap_or_else(|| qq.clone()).into_owned();
                text.push('@');
                text.push_str(&display_name);
                if let Some(user) = ids.user(&qq) {
                    mentions.push(Mention { user, display_name });
                }
            }
            Segment::Reply { id } => reply_to = ids.message(account, &id),
            Segment::Image | Segment::Other => media = true,
        }
    }
    let timestamp = frame.time.as_str().and_then(|t| t.parse().ok()).and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)).unwrap_or_else(Utc::now);
    let digest = fnv1a([chat.as_str(), sender.id.as_str(), text.as_str()]);
    let id = ids.received(account, frame.message_id.as_str()?, timestamp.timestamp(), digest)?;
    if text.len() > max_bytes {
        let reason = RejectReason::TooLong { limit_bytes: max_bytes };
        return Some(Event::Rejected { chat, chat_kind, sender, reason, id: Some(id) });
    }
    // A picture or sticker alone, sent to the bot itself, waits for an answer; in a group it is
    // talk among members.
    if media && chat_kind == ChatKind::Direct && text.trim().is_empty() {
        return Some(Event::Rejected { chat, chat_kind, sender, reason: RejectReason::NotText, id: Some(id) });
    }
    Some(Event::Message(Incoming { chat, chat_kind, sender, text, mentions, reply_to, id, timestamp, bare_commands: false }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A frame from test text (leaked: frames borrow their text).
    fn frame(json: &str) -> Frame<'static> {
        Frame::parse(Box::leak(json.to_owned().into_boxed_str())).unwrap()
    }

    #[test]
    fn a_group_message_in_array_format() {
        let ids = Ids::new();
        let f = frame(
            r#"{"time":1764036000,"self_id":10001000,"post_type":"message","message_type":"group","sub_type":"normal",
                "message_id":1000001,"group_id":200001,"user_id":300001,"anonymous":null,
                "message":[{"type":"reply","data":{"id":"99"}},{"type":"at","data":{"qq":"10001000"}},{"type":"text","data":{"text":" /角色 "}},{"type":"at","data":{"qq":"300002","name":"小李"}}],
                "raw_message":"","font":0,"sender":{"user_id":300001,"nickname":"王同学","card":"王五"}}"#,
        );
        assert!(matches!(f.kind(), Kind::Message));
        let Some(Event::Message(m)) = to_event(&ids, &f, "10001000", 1000) else { panic!() };
        assert_eq!(m.chat.as_str(), "onebot:10001000/group/200001");
        assert_eq!(m.chat_kind, ChatKind::Group);
        assert_eq!(m.sender.id.as_str(), "onebot:300001");
        assert_eq!(m.sender.display_name, "王五");
        assert_eq!(m.text, " /角色 @小李");
        assert_eq!(m.mentions[0].user.as_str(), "onebot:300002");
        assert_eq!(m.reply_to.unwrap().as_str(), "onebot:10001000/99");
        assert!(m.id.as_str().starts_with("onebot:10001000/1000001@1764036000."), "{}", m.id);
        assert_eq!(ids.local_message(&m.id), "1000001");
        assert_eq!(m.timestamp.timestamp(), 1764036000);
    }

    #[test]
    fn a_private_message_in_cq_string_format_with_string_ids() {
        let ids = Ids::new();
        let f = frame(
            r#"{"time":1764036000,"self_id":"wxid_bot","post_type":"message","message_type":"private","sub_type":"friend",
                "message_id":"m-1","user_id":"wxid_alice","message":"/问 预备期&#91;多久&#93;","sender":{"nickname":"alice"}}"#,
        );
        let Some(Event::Message(m)) = to_event(&ids, &f, "wxid_bot", 1000) else { panic!() };
        assert_eq!(m.chat.as_str(), "onebot:wxid_bot/private/wxid_alice");
        assert_eq!(m.chat_kind, ChatKind::Direct);
        assert_eq!(m.text, "/问 预备期[多久]");
    }

    #[test]
    fn escaped_strings_and_extreme_ids_read_like_plain_ones() {
        let ids = Ids::new();
        // Escapes make serde_json hand over an owned string instead of a borrowed one.
        let f = frame(
            r#"{"post_type":"mess\u0061ge","message_type":"group","message_id":-9223372036854775808,"group_id":18446744073709551615,
                "user_id":"u\/1","message":[{"type":"text","data":{"text":"\/问 \"引号\"\n"}}],"sender":{"card":" ","nickname":"\u5c0f\u738b"}}"#,
        );
        assert!(matches!(f.kind(), Kind::Message));
        let Some(Event::Message(m)) = to_event(&ids, &f, "9", 1000) else { panic!() };
        assert_eq!(m.chat.as_str(), "onebot:9/group/18446744073709551615");
        assert_eq!(m.sender.id.as_str(), "onebot:u/1");
        assert_eq!(m.sender.display_name, "小王");
        assert_eq!(m.text, "/问 \"引号\"\n");
        assert_eq!(ids.local_message(&m.id), "-9223372036854775808");
    }

    #[test]
    fn responses_read_their_status_ids_and_error_text_whatever_data_is() {
        let ok = frame(r#"{"status":"ok","retcode":0,"data":{"message_id":"m\/7","extra":[1,{"a":2}]},"echo":12}"#);
        assert_eq!((ok.echo(), ok.response().accepted, ok.response().message_id.as_deref()), (Some(12), true, Some("m/7")));
        let login = frame(r#"{"status":"async","retcode":1,"data":{"user_id":10001000,"nickname":"bot"},"echo":"13"}"#);
        assert_eq!((login.echo(), login.response().user_id.as_deref()), (Some(13), Some("10001000")));
        for data in ["null", "[1,2]", "\"text\"", "3.5", "true"] {
            let f = frame(&format!(r#"{{"status":"failed","retcode":100,"data":{data},"echo":14,"wording":"群已解散"}}"#));
            let r = f.response();
            assert_eq!((r.accepted, r.retcode, r.message_id, r.why.as_deref()), (false, Some(100), None, Some("群已解散")), "{data}");
        }
        // go-cqhttp puts its error text in `message`.
        let cq = frame(r#"{"status":"failed","retcode":1404,"data":null,"message":"API不存在","echo":15}"#);
        assert_eq!(cq.response().why.as_deref(), Some("API不存在"));
        // An echo the bot did not send.
        assert_eq!(frame(r#"{"status":"ok","echo":"abc"}"#).echo(), None);
    }

    #[test]
    fn own_messages_and_unknown_events_are_not_for_the_bot() {
        let ids = Ids::new();
        let own = frame(r#"{"post_type":"message","message_type":"group","message_id":1,"group_id":2,"user_id":10001000,"message":"x"}"#);
        assert!(to_event(&ids, &own, "10001000", 1000).is_none());
        assert!(matches!(frame(r#"{"post_type":"notice","notice_type":"group_increase","sub_type":"approve"}"#).kind(), Kind::Ignored(_)));
        assert!(matches!(frame(r#"{"post_type":"message_sent","message_type":"group"}"#).kind(), Kind::Ignored(_)));
        assert!(matches!(frame(r#"{"status":"ok","retcode":0,"data":null,"echo":"3"}"#).kind(), Kind::Response));
        assert!(matches!(frame(r#"{"what":"ever"}"#).kind(), Kind::Unknown));
        let hb = frame(r#"{"post_type":"meta_event","meta_event_type":"heartbeat","interval":5000,"status":{"online":true}}"#);
        assert!(matches!(hb.kind(), Kind::Heartbeat { interval_ms: Some(5000) }));
    }

    #[test]
    fn an_oversized_message_is_rejected_not_dropped() {
        let ids = Ids::new();
        let text = "长".repeat(500);
        let f = frame(&format!(r#"{{"post_type":"message","message_type":"group","message_id":1,"group_id":2,"user_id":3,"message":"{text}"}}"#));
        assert!(matches!(to_event(&ids, &f, "9", 100), Some(Event::Rejected { reason: RejectReason::TooLong { limit_bytes: 100 }, .. })));
    }

    #[test]
    fn a_picture_sent_to_the_bot_gets_a_hint_and_one_in_a_group_is_talk() {
        let ids = Ids::new();
        let picture = |kind: &str, message: &str| {
            frame(&format!(r#"{{"post_type":"message","message_type":"{kind}","message_id":7,"group_id":2,"user_id":3,"message":{message}}}"#))
        };
        let image = r#"[{"type":"image","data":{"file":"a.jpg","url":"http://x/a.jpg"}}]"#;
        let Some(Event::Rejected { reason, id, .. }) = to_event(&ids, &picture("private", image), "9", 1000) else { panic!() };
        assert_eq!((reason, ids.local_message(&id.unwrap())), (RejectReason::NotText, "7"));
        assert!(matches!(to_event(&ids, &picture("private", r#""[CQ:face,id=14]""#), "9", 1000), Some(Event::Rejected { .. })));
        let Some(Event::Message(m)) = to_event(&ids, &picture("group", image), "9", 1000) else { panic!() };
        assert_eq!(m.text, "");
        // A picture with words is a message.
        let captioned = r#"[{"type":"image","data":{"file":"a.jpg"}},{"type":"text","data":{"text":"/签到"}}]"#;
        assert!(matches!(to_event(&ids, &picture("private", captioned), "9", 1000), Some(Event::Message(_))));
    }

    #[test]
    fn chat_ids_split_back_into_targets() {
        let ids = Ids::new();
        let g = ids.group("1", "2").unwrap();
        assert_eq!(ids.target(&g), Some(Target::Group { account: "1", group: "2" }));
        let p = ids.private("1", "wxid/x").unwrap();
        assert_eq!(ids.target(&p), Some(Target::Private { account: "1", user: "wxid/x" }));
        assert_eq!(ids.target(&ChatId::parse("onebot:1/guild/2").unwrap()), None);
        assert_eq!(ids.local_message(&ids.message("1", "77").unwrap()), "77");
        assert_eq!(ids.local_message(&ids.received("1", "77", 5, 9).unwrap()), "77");
        assert_eq!(ids.received("1", "77", -5, 0xfedc_ba98_7654_3210).unwrap().as_str(), "onebot:1/77@-5.fedcba9876543210");
        // The digest is stable (it goes into stored ids).
        assert_eq!(fnv1a(["a", "b"]), 0xab40_d782_0d40_8076, "FNV-1a of a NUL b NUL");
    }
}
