//! OneBot v11 messages: the segment array and the CQ-code string, in and out.
//!
//! Both directions go through typed serde, not `serde_json::Value`: a message event is read
//! and a reply written once per message, and building and dropping `Value` trees was a fifth
//! of the bot's instructions per OneBot message.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A `message` value as an implementation sends it: a CQ string, a segment array, or (rarely)
/// a single segment.
#[derive(Debug, Clone)]
pub enum RawMessage {
    Text(String),
    Segments(Vec<RawSegment>),
    One(RawSegment),
}

impl<'de> Deserialize<'de> for RawMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MessageVisitor;
        impl<'de> Visitor<'de> for MessageVisitor {
            type Value = RawMessage;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a CQ string, a segment array or a segment")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawMessage, E> {
                Ok(RawMessage::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawMessage, E> {
                Ok(RawMessage::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawMessage, A::Error> {
                let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(64));
                while let Some(segment) = seq.next_element()? {
                    list.push(segment);
                }
                Ok(RawMessage::Segments(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawMessage, A::Error> {
                RawSegment::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawMessage::One)
            }
        }
        deserializer.deserialize_any(MessageVisitor)
    }
}

/// One segment as sent: `{"type": "...", "data": {...}}`. Only the data fields the bot reads
/// are kept; the rest are skipped unread.
#[derive(Debug, Clone, Deserialize)]
pub struct RawSegment {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data: Option<SegmentData>,
}

/// The data fields of a segment the bot reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SegmentData {
    #[serde(default)]
    text: Scalar,
    #[serde(default)]
    qq: Scalar,
    #[serde(default)]
    name: Scalar,
    #[serde(default)]
    id: Scalar,
}

/// A JSON value read as text when it is a string or a number, and as nothing when it is
/// anything else: ids (numbers from QQ, strings from some WeChat bridges), `echo`, `status`,
/// and segment data, which some implementations send as numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scalar(pub Option<String>);

impl Scalar {
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(Some(v)))
            }
            // Ids are numbers in most frames: itoa, not the formatting machinery.
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(itoa::Buffer::new().format(v).to_owned())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(itoa::Buffer::new().format(v).to_owned())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(serde_json::Number::from_f64(v).map(|n| n.to_string())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// The parts of a message the bot cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    /// `@qq` (`qq` may be `all`), with the name the implementation gave, if any.
    At { qq: String, name: Option<String> },
    Reply { id: String },
    Image,
    /// Faces, records, files, …: not text, not for the bot.
    Other,
}

impl RawSegment {
    fn parse(&self) -> Segment {
        let data = self.data.as_ref();
        let field = |pick: fn(&SegmentData) -> &Scalar| data.and_then(|d| pick(d).0.clone());
        match self.kind.as_str() {
            "text" => Segment::Text(field(|d| &d.text).unwrap_or_default()),
            "at" => match field(|d| &d.qq) {
                Some(qq) => Segment::At { qq, name: field(|d| &d.name).filter(|n| !n.is_empty()) },
                None => Segment::Other,
            },
            "reply" => field(|d| &d.id).map_or(Segment::Other, |id| Segment::Reply { id }),
            "image" => Segment::Image,
            _ => Segment::Other,
        }
    }
}

impl RawMessage {
    pub fn segments(&self) -> Vec<Segment> {
        match self {
            RawMessage::Text(s) => parse_cq(s),
            RawMessage::Segments(list) => list.iter().map(RawSegment::parse).collect(),
            RawMessage::One(seg) => vec![seg.parse()],
        }
    }
}

/// Undoes CQ escaping: `&amp;` `&#91;` `&#93;` `&#44;`.
pub fn cq_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&")
}

/// Escapes plain text for a CQ string.
#[cfg(test)]
pub fn cq_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('[', "&#91;").replace(']', "&#93;")
}

/// Parses a CQ-code string: `看看[CQ:at,qq=123]和[CQ:image,file=a.jpg]`. A `[CQ:` without its
/// closing `]` is kept as text.
pub fn parse_cq(s: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("[CQ:") {
        let Some(len) = rest[start..].find(']') else { break };
        if start > 0 {
            out.push(Segment::Text(cq_unescape(&rest[..start])));
        }
        let body = &rest[start + 4..start + len];
        let mut parts = body.split(',');
        let kind = parts.next().unwrap_or("");
        let mut data = SegmentData::default();
        for kv in parts {
            if let Some((k, v)) = kv.split_once('=') {
                let slot = match k {
                    "text" => &mut data.text,
                    "qq" => &mut data.qq,
                    "name" => &mut data.name,
                    "id" => &mut data.id,
                    _ => continue,
                };
                *slot = Scalar(Some(cq_unescape(v)));
            }
        }
        out.push(RawSegment { kind: kind.to_owned(), data: Some(data) }.parse());
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(cq_unescape(rest)));
    }
    out
}

/// A segment the bot sends: `{"type": "text", "data": {"text": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "lowercase")]
pub enum OutSegment<'a> {
    Reply { id: &'a str },
    At { qq: &'a str },
    Text { text: Cow<'a, str> },
    Image { file: String },
}

/// A reply as a segment array: the quoted message, `@`s, then the text.
pub fn build<'a>(text: &'a str, reply_to: Option<&'a str>, at: &[&'a str]) -> Vec<OutSegment<'a>> {
    let mut segments = Vec::with_capacity(3 + at.len());
    if let Some(id) = reply_to {
        segments.push(OutSegment::Reply { id });
    }
    for qq in at {
        segments.push(OutSegment::At { qq });
    }
    let text = if at.is_empty() { Cow::Borrowed(text) } else { Cow::Owned(format!(" {text}")) };
    segments.push(OutSegment::Text { text });
    segments
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cq_strings_parse_with_their_escapes() {
        let segs = parse_cq("[CQ:reply,id=42][CQ:at,qq=10001000] /问 a&#91;1&#93;&amp;b[CQ:image,file=x&#44;y.jpg]尾");
        assert_eq!(
            segs,
            vec![
                Segment::Reply { id: "42".into() },
                Segment::At { qq: "10001000".into(), name: None },
                Segment::Text(" /问 a[1]&b".into()),
                Segment::Image,
                Segment::Text("尾".into()),
            ]
        );
        // An unclosed code is text.
        assert_eq!(parse_cq("a[CQ:at,qq=1"), vec![Segment::Text("a[CQ:at,qq=1".into())]);
        assert_eq!(cq_unescape(&cq_escape("[a]&,")), "[a]&,");
    }

    #[test]
    fn segment_arrays_parse_including_numbers_and_unknown_types() {
        let raw: RawMessage = serde_json::from_str(
            r#"[{"type":"at","data":{"qq":300001,"name":"小王"}},{"type":"text","data":{"text":" 你好"}},{"type":"face","data":{"id":"178"}},{"type":"reply"}]"#,
        )
        .unwrap();
        assert_eq!(
            raw.segments(),
            vec![Segment::At { qq: "300001".into(), name: Some("小王".into()) }, Segment::Text(" 你好".into()), Segment::Other, Segment::Other]
        );
        let one: RawMessage = serde_json::from_str(r#"{"type":"text","data":{"text":"x"}}"#).unwrap();
        assert_eq!(one.segments(), vec![Segment::Text("x".into())]);
    }

    #[test]
    fn replies_quote_mention_then_speak() {
        let v = serde_json::to_value(build("签到成功", Some("7"), &["300001"])).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"type":"reply","data":{"id":"7"}},{"type":"at","data":{"qq":"300001"}},{"type":"text","data":{"text":" 签到成功"}}])
        );
        let image = OutSegment::Image { file: "file:///tmp/a \"b\".png".into() };
        assert_eq!(serde_json::to_string(&image).unwrap(), r#"{"type":"image","data":{"file":"file:///tmp/a \"b\".png"}}"#);
    }
}
