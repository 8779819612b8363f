//! OneBot v11 messages: the segment array and the CQ-code string, in and out.

use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A `message` value as an implementation sends it: a CQ string, a segment array, or (rarely)
/// a single segment.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawMessage {
    Text(String),
    Segments(Vec<RawSegment>),
    One(RawSegment),
}

/// One segment as sent: `{"type": "...", "data": {...}}`. Data values are usually strings but
/// some implementations send numbers.
#[derive(Debug, Clone, Deserialize)]
pub struct RawSegment {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data: Option<Map<String, Value>>,
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

fn data_str(data: &Option<Map<String, Value>>, key: &str) -> Option<String> {
    match data.as_ref()?.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl RawSegment {
    fn parse(&self) -> Segment {
        match self.kind.as_str() {
            "text" => Segment::Text(data_str(&self.data, "text").unwrap_or_default()),
            "at" => match data_str(&self.data, "qq") {
                Some(qq) => Segment::At { qq, name: data_str(&self.data, "name").filter(|n| !n.is_empty()) },
                None => Segment::Other,
            },
            "reply" => data_str(&self.data, "id").map_or(Segment::Other, |id| Segment::Reply { id }),
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
        let mut data = Map::new();
        for kv in parts {
            if let Some((k, v)) = kv.split_once('=') {
                data.insert(k.to_owned(), Value::String(cq_unescape(v)));
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

/// A reply as a segment array: the quoted message, `@`s, then the text.
pub fn build(text: &str, reply_to: Option<&str>, at: &[&str]) -> Value {
    let mut segments = Vec::with_capacity(2 + at.len());
    if let Some(id) = reply_to {
        segments.push(json!({"type": "reply", "data": {"id": id}}));
    }
    for qq in at {
        segments.push(json!({"type": "at", "data": {"qq": qq}}));
    }
    let text = if at.is_empty() { text.to_owned() } else { format!(" {text}") };
    segments.push(json!({"type": "text", "data": {"text": text}}));
    Value::Array(segments)
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
        let v = build("签到成功", Some("7"), &["300001"]);
        assert_eq!(
            v,
            json!([{"type":"reply","data":{"id":"7"}},{"type":"at","data":{"qq":"300001"}},{"type":"text","data":{"text":" 签到成功"}}])
        );
    }
}
