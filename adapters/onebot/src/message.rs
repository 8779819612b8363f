//! OneBot v11 messages: the segment array and the CQ-code string, in and out.
//!
//! Both directions go through serde without `serde_json::Value` trees: what is read borrows
//! from the frame's text where it can (a string without escapes, a number held in place), and a
//! reply's segments are written straight from [`OutSegment`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A `message` value as an implementation sends it: a CQ string, a segment array, or (rarely)
/// a single segment.
#[derive(Debug, Clone)]
pub enum RawMessage<'a> {
    Text(Cow<'a, str>),
    Segments(Vec<RawSegment<'a>>),
    One(RawSegment<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for RawMessage<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MessageVisitor;
        impl<'de> Visitor<'de> for MessageVisitor {
            type Value = RawMessage<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a CQ string, a segment array or a segment")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(RawMessage::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawMessage::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(RawMessage::Text(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(64));
                while let Some(segment) = seq.next_element()? {
                    list.push(segment);
                }
                Ok(RawMessage::Segments(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawSegment::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawMessage::One)
            }
        }
        deserializer.deserialize_any(MessageVisitor)
    }
}

/// One segment as sent: `{"type": "...", "data": {...}}`. Only the data fields the bot reads
/// are kept; the rest are skipped unread.
#[derive(Debug, Clone, Deserialize)]
pub struct RawSegment<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Scalar<'a>,
    #[serde(default, borrow)]
    pub data: Option<SegmentData<'a>>,
}

/// The data fields of a segment the bot reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SegmentData<'a> {
    #[serde(default, borrow)]
    pub(crate) text: Scalar<'a>,
    #[serde(default, borrow)]
    pub(crate) qq: Scalar<'a>,
    #[serde(default, borrow)]
    pub(crate) name: Scalar<'a>,
    #[serde(default, borrow)]
    pub(crate) id: Scalar<'a>,
}

/// A JSON value read as text when it is a string or a number, and as nothing when it is
/// anything else: ids (numbers from QQ, strings from some WeChat bridges), `echo`, `status`,
/// and segment data, which some implementations send as numbers. A string without escapes is
/// borrowed from the frame and an integer is held in place: reading one allocates nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scalar<'a> {
    #[default]
    Absent,
    Text(Cow<'a, str>),
    Int(IntText),
}

/// An integer as its decimal text, held in place (the longest, `i64::MIN`, has 20 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IntText {
    digits: [u8; 20],
    len: u8,
}

impl IntText {
    pub(crate) fn new(text: &str) -> Self {
        let mut digits = [0u8; 20];
        let len = text.len().min(digits.len());
        digits[..len].copy_from_slice(&text.as_bytes()[..len]);
        Self { digits, len: len as u8 }
    }

    fn as_str(&self) -> &str {
        // Only ever itoa's ASCII output.
        std::str::from_utf8(&self.digits[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for IntText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Scalar<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Absent => None,
            Scalar::Text(t) => Some(t),
            Scalar::Int(i) => Some(i.as_str()),
        }
    }

    /// The text, borrowed from the frame where it is.
    pub fn as_cow(&self) -> Option<Cow<'_, str>> {
        self.as_str().map(Cow::Borrowed)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
            // Ids are numbers in most frames: itoa, not the formatting machinery.
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(IntText::new(itoa::Buffer::new().format(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(IntText::new(itoa::Buffer::new().format(v))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Scalar::Absent, |n| Scalar::Text(Cow::Owned(n.to_string()))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Absent)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Absent)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Absent)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Absent)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Absent)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// The parts of a message the bot cares about, borrowed from the frame where they can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(Cow<'a, str>),
    /// `@qq` (`qq` may be `all`), with the name the implementation gave, if any.
    At {
        qq: Cow<'a, str>,
        name: Option<Cow<'a, str>>,
    },
    Reply {
        id: Cow<'a, str>,
    },
    Image,
    /// Faces, records, files, …: not text, not for the bot.
    Other,
}

impl<'a> RawSegment<'a> {
    fn parse(&self) -> Segment<'_> {
        let data = self.data.as_ref();
        let field = |pick: for<'s> fn(&'s SegmentData<'a>) -> &'s Scalar<'a>| data.and_then(|d| pick(d).as_cow());
        match self.kind.as_str().unwrap_or("") {
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

impl RawMessage<'_> {
    pub fn segments(&self) -> Vec<Segment<'_>> {
        match self {
            RawMessage::Text(s) => parse_cq(s),
            RawMessage::Segments(list) => list.iter().map(RawSegment::parse).collect(),
            RawMessage::One(seg) => vec![seg.parse()],
        }
    }
}

/// Undoes CQ escaping: `&amp;` `&#91;` `&#93;` `&#44;`.
pub fn cq_unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&"))
}

/// Escapes plain text for a CQ string.
#[cfg(test)]
pub fn cq_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('[', "&#91;").replace(']', "&#93;")
}

/// Parses a CQ-code string: `看看[CQ:at,qq=123]和[CQ:image,file=a.jpg]`. A `[CQ:` without its
/// closing `]` is kept as text.
pub fn parse_cq(s: &str) -> Vec<Segment<'_>> {
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
        let (mut text, mut qq, mut name, mut id) = (None, None, None, None);
        for kv in parts {
            if let Some((k, v)) = kv.split_once('=') {
                let slot = match k {
                    "text" => &mut text,
                    "qq" => &mut qq,
                    "name" => &mut name,
                    "id" => &mut id,
                    _ => continue,
                };
                *slot = Some(cq_unescape(v));
            }
        }
        out.push(match kind {
            "text" => Segment::Text(text.unwrap_or_default()),
            "at" => qq.map_or(Segment::Other, |qq| Segment::At { qq, name: name.filter(|n| !n.is_empty()) }),
            "reply" => id.map_or(Segment::Other, |id| Segment::Reply { id }),
            "image" => Segment::Image,
            _ => Segment::Other,
        });
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(cq_unescape(rest)));
    }
    out
}

/// A segment the bot sends: `{"type": "text", "data": {"text": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
        assert_eq!(v, serde_json::json!([{"type":"reply","data":{"id":"7"}},{"type":"at","data":{"qq":"300001"}},{"type":"text","data":{"text":" 签到成功"}}]));
        let image = OutSegment::Image { file: "file:///tmp/a \"b\".png".into() };
        assert_eq!(serde_json::to_string(&image).unwrap(), r#"{"type":"image","data":{"file":"file:///tmp/a \"b\".png"}}"#);
    }
}
