//! The callback's XML: reading what WeChat posts, writing passive replies.
//!
//! WeChat's messages are one flat `<xml>` element with text children. The reader takes exactly
//! that and nothing more: a `<!DOCTYPE>` is refused outright (so no entity can be declared, no
//! external DTD named), and the only references resolved are XML's five predefined entities and
//! character references. quick-xml never fetches anything or expands declared entities by
//! itself; refusing the DOCTYPE also makes a "billion laughs" body fail fast.

use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::Reader;

/// Why a body is not a WeChat message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("a DOCTYPE is not accepted")]
    DocType,
    #[error("unknown entity `&{0};`")]
    UnknownEntity(String),
    #[error("the root element is not <xml>")]
    NotWeChat,
    #[error("missing <{0}>")]
    Missing(&'static str),
    #[error("<{0}> is not valid")]
    Invalid(&'static str),
    #[error("not well-formed XML: {0}")]
    Syntax(String),
}

fn syntax(e: impl std::fmt::Display) -> XmlError {
    XmlError::Syntax(e.to_string())
}

/// The text of each child element of the root `<xml>` (the first of a name wins).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn require(&self, name: &'static str) -> Result<&str, XmlError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or(XmlError::Missing(name))
    }
}

/// Reads a flat `<xml>…</xml>` document into its fields.
pub fn parse_fields(body: &str) -> Result<Fields, XmlError> {
    let mut reader = Reader::from_str(body);
    let mut fields = HashMap::new();
    // The element path below the root: only direct children of <xml> carry fields.
    let mut depth = 0usize;
    let mut current: Option<(String, String)> = None;
    let mut seen_root = false;
    loop {
        match reader.read_event().map_err(syntax)? {
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Start(start) => {
                let name = std::str::from_utf8(start.name().as_ref()).map_err(syntax)?.to_owned();
                if depth == 0 {
                    if seen_root || name != "xml" {
                        return Err(XmlError::NotWeChat);
                    }
                    seen_root = true;
                } else if depth == 1 {
                    current = Some((name, String::new()));
                }
                depth += 1;
            }
            Event::Empty(start) => {
                let name = std::str::from_utf8(start.name().as_ref()).map_err(syntax)?.to_owned();
                if depth == 0 {
                    return Err(XmlError::NotWeChat);
                }
                if depth == 1 {
                    fields.entry(name).or_insert_with(String::new);
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    if let Some((name, value)) = current.take() {
                        fields.entry(name).or_insert(value);
                    }
                }
            }
            Event::Text(text) => {
                let text = text.xml_content().map_err(syntax)?;
                if let Some((_, value)) = current.as_mut().filter(|_| depth == 2) {
                    value.push_str(&text);
                } else if depth == 0 && !text.trim().is_empty() {
                    return Err(XmlError::NotWeChat);
                }
            }
            Event::CData(data) => {
                let text = data.decode().map_err(syntax)?;
                if let Some((_, value)) = current.as_mut().filter(|_| depth == 2) {
                    value.push_str(&text);
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(syntax)? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference.decode().map_err(syntax)?;
                        quick_xml::escape::resolve_predefined_entity(&name).ok_or_else(|| XmlError::UnknownEntity(name.chars().take(32).collect()))?.to_owned()
                    }
                };
                if let Some((_, value)) = current.as_mut().filter(|_| depth == 2) {
                    value.push_str(&resolved);
                }
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !seen_root || depth != 0 {
        return Err(XmlError::NotWeChat);
    }
    Ok(Fields(fields))
}

/// A message or event from a follower, as WeChat describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The Official Account's original id (`gh_…`): the sender of any reply.
    pub account: String,
    /// The follower's OpenID.
    pub openid: String,
    /// Seconds since the epoch.
    pub create_time: i64,
    pub kind: InboundKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundKind {
    Text {
        msg_id: String,
        content: String,
    },
    /// `subscribe`, `unsubscribe`, `CLICK`, … (WeChat's names, as sent).
    Event {
        event: String,
    },
    /// An image, voice (unrecognised), location, … message: not something the bot reads.
    Other {
        msg_id: Option<String>,
        msg_type: String,
    },
}

impl Inbound {
    pub fn from_fields(fields: &Fields) -> Result<Self, XmlError> {
        let account = fields.require("ToUserName")?.to_owned();
        let openid = fields.require("FromUserName")?.to_owned();
        let create_time = fields.require("CreateTime")?.trim().parse().map_err(|_| XmlError::Invalid("CreateTime"))?;
        let msg_type = fields.require("MsgType")?;
        let msg_id = fields.get("MsgId").map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned);
        let kind = match msg_type {
            "text" => InboundKind::Text { msg_id: msg_id.ok_or(XmlError::Missing("MsgId"))?, content: fields.get("Content").unwrap_or_default().to_owned() },
            // With speech recognition turned on for the account, WeChat sends what was said.
            "voice" if msg_id.is_some() && fields.get("Recognition").is_some_and(|r| !r.trim().is_empty()) => {
                InboundKind::Text { msg_id: msg_id.unwrap_or_default(), content: fields.get("Recognition").unwrap_or_default().to_owned() }
            }
            "event" => InboundKind::Event { event: fields.require("Event")?.to_owned() },
            other => InboundKind::Other { msg_id, msg_type: other.to_owned() },
        };
        Ok(Self { account, openid, create_time, kind })
    }
}

/// `text` inside CDATA; a `]]>` in it is split over two sections.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// A passive text reply to `openid` from `account`.
pub fn text_reply(account: &str, openid: &str, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime><MsgType>{}</MsgType><Content>{}</Content></xml>",
        cdata(openid),
        cdata(account),
        cdata("text"),
        cdata(content)
    )
}

/// A safe-mode reply: the encrypted reply with its signature, timestamp and nonce.
pub fn encrypted_reply(encrypt: &str, signature: &str, timestamp: &str, nonce: &str) -> String {
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(encrypt),
        cdata(signature),
        cdata(nonce)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TEXT: &str = "<xml><ToUserName><![CDATA[gh_123]]></ToUserName>\n<FromUserName><![CDATA[o_alice]]></FromUserName>\n\
        <CreateTime>1764057600</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[签到]]></Content>\
        <MsgId>24000000000000001</MsgId></xml>";

    #[test]
    fn reads_a_text_message() {
        let m = Inbound::from_fields(&parse_fields(TEXT).unwrap()).unwrap();
        assert_eq!((m.account.as_str(), m.openid.as_str(), m.create_time), ("gh_123", "o_alice", 1_764_057_600));
        assert_eq!(m.kind, InboundKind::Text { msg_id: "24000000000000001".into(), content: "签到".into() });
    }

    #[test]
    fn reads_events_and_other_types() {
        let sub = "<?xml version=\"1.0\"?><xml><ToUserName>gh_1</ToUserName><FromUserName>o_b</FromUserName><CreateTime>1</CreateTime>\
                   <MsgType>event</MsgType><Event>subscribe</Event><EventKey/></xml>";
        assert_eq!(Inbound::from_fields(&parse_fields(sub).unwrap()).unwrap().kind, InboundKind::Event { event: "subscribe".into() });
        let image = "<xml><ToUserName>gh_1</ToUserName><FromUserName>o_b</FromUserName><CreateTime>1</CreateTime>\
                     <MsgType>image</MsgType><PicUrl>http://x</PicUrl><MsgId>7</MsgId></xml>";
        let kind = Inbound::from_fields(&parse_fields(image).unwrap()).unwrap().kind;
        assert_eq!(kind, InboundKind::Other { msg_id: Some("7".into()), msg_type: "image".into() });
        let voice = |recognition: &str| {
            format!(
                "<xml><ToUserName>gh_1</ToUserName><FromUserName>o_b</FromUserName><CreateTime>1</CreateTime>\
                 <MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format>{recognition}<MsgId>8</MsgId></xml>"
            )
        };
        let kind = Inbound::from_fields(&parse_fields(&voice("<Recognition><![CDATA[签到。]]></Recognition>")).unwrap()).unwrap().kind;
        assert_eq!(kind, InboundKind::Text { msg_id: "8".into(), content: "签到。".into() });
        for unrecognised in ["", "<Recognition></Recognition>"] {
            let kind = Inbound::from_fields(&parse_fields(&voice(unrecognised)).unwrap()).unwrap().kind;
            assert_eq!(kind, InboundKind::Other { msg_id: Some("8".into()), msg_type: "voice".into() });
        }
    }

    #[test]
    fn resolves_predefined_and_character_references_only() {
        let f = parse_fields("<xml><Content>a &lt;b&gt; &amp; &#31614;&#x5230;</Content></xml>").unwrap();
        assert_eq!(f.get("Content"), Some("a <b> & 签到"));
        assert_eq!(parse_fields("<xml><Content>&lol;</Content></xml>").unwrap_err(), XmlError::UnknownEntity("lol".into()));
    }

    #[test]
    fn refuses_a_doctype_and_entity_bombs() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
                    <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\
                    <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\
                    <xml><Content>&lol3;</Content></xml>";
        assert_eq!(parse_fields(bomb).unwrap_err(), XmlError::DocType);
        let xxe = "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Content>&xxe;</Content></xml>";
        assert_eq!(parse_fields(xxe).unwrap_err(), XmlError::DocType);
        let external = "<!DOCTYPE xml SYSTEM \"http://127.0.0.1:1/x.dtd\"><xml/>";
        assert_eq!(parse_fields(external).unwrap_err(), XmlError::DocType);
    }

    #[test]
    fn refuses_what_is_not_a_wechat_message() {
        for bad in ["", "hello", "<html></html>", "<xml><a></xml>", "<xml></xml><xml></xml>", "<xml><a>1</a>", "<xml/>"] {
            assert!(parse_fields(bad).is_err() || Inbound::from_fields(&parse_fields(bad).unwrap()).is_err(), "{bad}");
        }
        let no_id = TEXT.replace("<MsgId>24000000000000001</MsgId>", "");
        assert_eq!(Inbound::from_fields(&parse_fields(&no_id).unwrap()).unwrap_err(), XmlError::Missing("MsgId"));
        let bad_time = TEXT.replace("1764057600", "soon");
        assert_eq!(Inbound::from_fields(&parse_fields(&bad_time).unwrap()).unwrap_err(), XmlError::Invalid("CreateTime"));
    }

    #[test]
    fn replies_read_back_including_awkward_text() {
        let content = "答：一年。]]> <b>&amp;</b>";
        let reply = text_reply("gh_1", "o_a", 5, content);
        let f = parse_fields(&reply).unwrap();
        assert_eq!((f.get("ToUserName"), f.get("FromUserName"), f.get("MsgType")), (Some("o_a"), Some("gh_1"), Some("text")));
        assert_eq!(f.get("Content"), Some(content));
        let env = parse_fields(&encrypted_reply("abc+/=", "sig", "123", "n1")).unwrap();
        assert_eq!(
            (env.get("Encrypt"), env.get("MsgSignature"), env.get("TimeStamp"), env.get("Nonce")),
            (Some("abc+/="), Some("sig"), Some("123"), Some("n1"))
        );
    }
}
