//! Reading a frame's JSON by hand, in one pass over its text.
//!
//! At 200 messages a second every message finds the bot's code evicted from the caches since
//! the last one, so what a message costs follows how many distinct lines of code it runs
//! through. serde's derive for [`Frame`] and its parts, monomorphised over serde_json's
//! reader, was about 350 of the 1,600 code lines a OneBot message touched (callgrind). This
//! reader is one small piece of code that every field shares: an object is walked key by
//! key, the keys the bot reads are read and every other value is checked and skipped.
//!
//! It reads what serde read, to the same values: strings borrowed from the frame unless they
//! hold escapes, numbers as their text (serde's text of the number), `null` as nothing; the
//! tests check it against serde's derive on the same frames. The differences are all lenient: a
//! field of an unexpected type (`"time": "soon"`) or a number too large for a double reads as
//! absent instead of failing the whole frame, and a repeated key keeps its last value instead
//! of failing it.

use std::borrow::Cow;

use crate::frame::{Frame, RawSender, ResponseData};
use crate::message::{IntText, RawMessage, RawSegment, Scalar, SegmentData};

/// Why a frame is not JSON (or not a JSON object).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct ReadError {
    pub what: &'static str,
    pub at: usize,
}

type Result<T> = std::result::Result<T, ReadError>;

/// How deep arrays and objects may nest, as in serde_json.
const MAX_DEPTH: u32 = 128;

impl<'a> Frame<'a> {
    /// Reads a frame: a JSON object, with whitespace around it and nothing else.
    pub fn parse(text: &'a str) -> Result<Frame<'a>> {
        let mut r = Reader { text, pos: 0, depth: 0 };
        let mut frame = Frame::default();
        r.object(&mut |r, key| {
            match key {
                "post_type" => frame.post_type = r.scalar()?,
                "message_type" => frame.message_type = r.scalar()?,
                "meta_event_type" => frame.meta_event_type = r.scalar()?,
                "sub_type" => frame.sub_type = r.scalar()?,
                "time" => frame.time = r.int()?,
                "self_id" => frame.self_id = r.scalar()?,
                "message_id" => frame.message_id = r.scalar()?,
                "group_id" => frame.group_id = r.scalar()?,
                "user_id" => frame.user_id = r.scalar()?,
                "message" => frame.message = r.message()?,
                "sender" => frame.sender = r.sender()?,
                "interval" => frame.interval = r.int()?,
                "echo" => frame.echo = if r.null()? { None } else { Some(r.scalar()?) },
                "status" => frame.status = r.scalar()?,
                "retcode" => frame.retcode = r.int()?,
                "data" => frame.data = r.response_data()?,
                "wording" => frame.wording = r.scalar()?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        match r.peek() {
            None => Ok(frame),
            Some(_) => r.fail("trailing characters"),
        }
    }
}

/// A position in a frame's text.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

/// Called with each key of an object; reads (or skips) the key's value.
type Field<'r, 'a> = dyn FnMut(&mut Reader<'a>, &str) -> Result<()> + 'r;

impl<'a> Reader<'a> {
    fn fail<T>(&self, what: &'static str) -> Result<T> {
        Err(ReadError { what, at: self.pos })
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    fn eat(&mut self, b: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(what)
        }
    }

    fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("nested too deep");
        }
        Ok(())
    }

    /// An object: `field` is called with each key and reads its value.
    fn object(&mut self, field: &mut Field<'_, 'a>) -> Result<()> {
        self.eat(b'{', "expected an object")?;
        self.nest()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return self.fail("expected a key");
            }
            let key = self.string()?;
            self.eat(b':', "expected `:`")?;
            field(self, &key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return self.fail("expected `,` or `}`"),
            }
        }
    }

    /// An array: `item` reads each element.
    fn array(&mut self, item: &mut dyn FnMut(&mut Reader<'a>) -> Result<()>) -> Result<()> {
        self.eat(b'[', "expected an array")?;
        self.nest()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return self.fail("expected `,` or `]`"),
            }
        }
    }

    /// Checks any value and skips it.
    fn skip(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'{') => self.object(&mut |r, _| r.skip()),
            Some(b'[') => self.array(&mut Reader::skip),
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b't') => self.word("true"),
            Some(b'f') => self.word("false"),
            Some(b'n') => self.word("null"),
            _ => self.fail("expected a value"),
        }
    }

    fn word(&mut self, word: &'static str) -> Result<()> {
        if self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            self.fail("expected a value")
        }
    }

    /// `null` (consumed), or not (nothing consumed).
    fn null(&mut self) -> Result<bool> {
        if self.peek() == Some(b'n') {
            self.word("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A string, borrowed from the text unless it holds escapes.
    fn string(&mut self) -> Result<Cow<'a, str>> {
        self.eat(b'"', "expected a string")?;
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&self.text[start..i]));
                }
                b'\\' => break,
                0..=0x1f => return Err(ReadError { what: "control character in a string", at: i }),
                _ => i += 1,
            }
        }
        // Escapes: the runs between them are copied as they are.
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(&self.text[start..i]);
        loop {
            let run = i;
            while let Some(&b) = bytes.get(i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                i += 1;
            }
            out.push_str(&self.text[run..i]);
            self.pos = i;
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos = i + 1;
                    out.push(self.escape()?);
                    i = self.pos;
                }
                Some(_) => return self.fail("control character in a string"),
                None => return self.fail("unterminated string"),
            }
        }
    }

    /// The character of an escape, after its backslash.
    fn escape(&mut self) -> Result<char> {
        let Some(&b) = self.text.as_bytes().get(self.pos) else { return self.fail("unterminated string") };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = match first {
                    0xd800..=0xdbff => {
                        if !self.text.as_bytes()[self.pos..].starts_with(b"\\u") {
                            return self.fail("lone leading surrogate in a \\u escape");
                        }
                        self.pos += 2;
                        let second = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&second) {
                            return self.fail("lone leading surrogate in a \\u escape");
                        }
                        0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
                    }
                    0xdc00..=0xdfff => return self.fail("lone trailing surrogate in a \\u escape"),
                    code => code,
                };
                match char::from_u32(code) {
                    Some(c) => c,
                    None => return self.fail("invalid \\u escape"),
                }
            }
            _ => return self.fail("invalid escape"),
        })
    }

    fn hex4(&mut self) -> Result<u32> {
        let Some(digits) = self.text.get(self.pos..self.pos + 4) else { return self.fail("invalid \\u escape") };
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.fail("invalid \\u escape");
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).or_else(|_| self.fail("invalid \\u escape"))
    }

    /// A number's text, checked against JSON's grammar.
    fn number(&mut self) -> Result<&'a str> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        match bytes.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return Err(ReadError { what: "invalid number", at: i }),
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return Err(ReadError { what: "invalid number", at: i });
            }
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return Err(ReadError { what: "invalid number", at: i });
            }
        }
        self.pos = i;
        Ok(&self.text[start..i])
    }

    /// A string or a number as text; anything else (checked and skipped) as absent.
    fn scalar(&mut self) -> Result<Scalar<'a>> {
        match self.peek() {
            Some(b'"') => Ok(Scalar::Text(self.string()?)),
            Some(b'-' | b'0'..=b'9') => Ok(number_text(self.number()?)),
            _ => self.skip().map(|()| Scalar::Absent),
        }
    }

    /// An integer that fits `T`; anything else (checked and skipped) as absent.
    fn int<T: std::str::FromStr>(&mut self) -> Result<Option<T>> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {
                let text = self.number()?;
                Ok(if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) { None } else { text.parse().ok() })
            }
            _ => self.skip().map(|()| None),
        }
    }

    /// `message`: a CQ string, a segment array or one segment.
    fn message(&mut self) -> Result<Option<RawMessage<'a>>> {
        match self.peek() {
            Some(b'"') => Ok(Some(RawMessage::Text(self.string()?))),
            Some(b'[') => {
                let mut list = Vec::with_capacity(4);
                self.array(&mut |r| {
                    if let Some(segment) = r.segment()? {
                        list.push(segment);
                    }
                    Ok(())
                })?;
                Ok(Some(RawMessage::Segments(list)))
            }
            Some(b'{') => Ok(self.segment()?.map(RawMessage::One)),
            _ => self.skip().map(|()| None),
        }
    }

    /// `{"type": …, "data": {…}}`; anything else (checked and skipped) as nothing.
    fn segment(&mut self) -> Result<Option<RawSegment<'a>>> {
        if self.peek() != Some(b'{') {
            return self.skip().map(|()| None);
        }
        let mut segment = RawSegment { kind: Scalar::Absent, data: None };
        self.object(&mut |r, key| {
            match key {
                "type" => segment.kind = r.scalar()?,
                "data" => {
                    segment.data = if r.peek() == Some(b'{') {
                        let mut data = SegmentData::default();
                        r.object(&mut |r, key| {
                            match key {
                                "text" => data.text = r.scalar()?,
                                "qq" => data.qq = r.scalar()?,
                                "name" => data.name = r.scalar()?,
                                "id" => data.id = r.scalar()?,
                                _ => r.skip()?,
                            }
                            Ok(())
                        })?;
                        Some(data)
                    } else {
                        r.skip()?;
                        None
                    }
                }
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(Some(segment))
    }

    /// `sender`: the names the bot shows.
    fn sender(&mut self) -> Result<Option<RawSender<'a>>> {
        if self.peek() != Some(b'{') {
            return self.skip().map(|()| None);
        }
        let mut sender = RawSender::default();
        self.object(&mut |r, key| {
            match key {
                "nickname" => sender.nickname = r.scalar()?,
                "card" => sender.card = r.scalar()?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(Some(sender))
    }

    /// A response's `data`: the ids the bot reads, when it is an object.
    fn response_data(&mut self) -> Result<ResponseData<'a>> {
        let mut data = ResponseData::default();
        if self.peek() != Some(b'{') {
            return self.skip().map(|()| data);
        }
        self.object(&mut |r, key| {
            match key {
                "message_id" => data.message_id = r.scalar()?,
                "user_id" => data.user_id = r.scalar()?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(data)
    }
}

/// A number as serde reads it into text: an integer that fits 64 bits as it is written, any
/// other number as the text of the nearest double (`-0` is `-0.0`, `1e2` is `100.0`).
fn number_text(text: &str) -> Scalar<'_> {
    let integer = !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if integer && text != "-0" && text.len() <= 20 {
        let fits = if text.starts_with('-') { text.parse::<i64>().is_ok() } else { text.parse::<u64>().is_ok() };
        if fits {
            return Scalar::Int(IntText::new(text));
        }
    }
    match text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        Some(n) => Scalar::Text(Cow::Owned(n.to_string())),
        None => Scalar::Absent,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Frames from the implementations' documentation and the tests, with escapes, odd types and
    /// every field the bot reads.
    const FRAMES: &[&str] = &[
        r#"{"time":1764036000,"self_id":10001000,"post_type":"message","message_type":"group","sub_type":"normal","message_id":1000001,"group_id":200001,"user_id":300001,"anonymous":null,"message":[{"type":"reply","data":{"id":"99"}},{"type":"at","data":{"qq":"10001000"}},{"type":"text","data":{"text":" /角色 "}},{"type":"at","data":{"qq":"300002","name":"小李"}}],"raw_message":"","font":0,"sender":{"user_id":300001,"nickname":"王同学","card":"王五"}}"#,
        r#"{"time":1764036000,"self_id":"wxid_bot","post_type":"message","message_type":"private","sub_type":"friend","message_id":"m-1","user_id":"wxid_alice","message":"/问 预备期&#91;多久&#93;","sender":{"nickname":"alice"}}"#,
        r#"{"post_type":"mess\u0061ge","message_type":"group","message_id":-9223372036854775808,"group_id":18446744073709551615,"user_id":"u\/1","message":[{"type":"text","data":{"text":"\/问 \"引号\"\n\ud83d\ude00\t\b\f\r\\"}}],"sender":{"card":" ","nickname":"\u5c0f\u738b"}}"#,
        r#"{"status":"ok","retcode":0,"data":{"message_id":"m\/7","extra":[1,{"a":2}]},"echo":12}"#,
        r#"{"status":"async","retcode":1,"data":{"user_id":10001000,"nickname":"bot"},"echo":"13"}"#,
        r#"{"status":"failed","retcode":100,"data":null,"echo":14,"wording":"群已解散"}"#,
        r#"{"status":"failed","retcode":100,"data":[1,2],"echo":14}"#,
        r#"{"status":"failed","retcode":100,"data":"text","echo":null}"#,
        r#"{"status":"failed","retcode":1404,"data":3.5,"message":"API不存在","echo":15}"#,
        r#"{"post_type":"meta_event","meta_event_type":"heartbeat","interval":5000,"status":{"online":true,"good":true},"time":1}"#,
        r#"{"post_type":"notice","notice_type":"group_increase","sub_type":"approve","user_id":-0,"group_id":1.5e3,"self_id":1e300}"#,
        r#" { "post_type" : "message" , "message_type":"group","message_id":7,"group_id":2,"user_id":3,
            "message":{"type":"image","data":{"file":"a.jpg","url":"http://x/a.jpg"}}, "sender": null } "#,
        r#"{"post_type":"message","message":[{"type":"reply"},{"type":"at","data":null},{"type":"text","data":{"text":12}}],"echo":{"x":[true,false,null]},"status":[],"sub_type":{}}"#,
        r#"{"post_type":"message","user_id":0.25,"group_id":-12.5E-1,"message_id":100000000000000000000,"self_id":-9223372036854775809}"#,
        r#"{}"#,
    ];

    fn serde_reference(text: &str) -> String {
        format!("{:?}", serde_json::from_str::<Frame>(text).unwrap())
    }

    #[test]
    fn frames_read_as_serde_reads_them() {
        for text in FRAMES {
            assert_eq!(format!("{:?}", Frame::parse(text).unwrap()), serde_reference(text), "{text}");
        }
    }

    #[test]
    fn strings_are_borrowed_unless_they_hold_escapes() {
        let frame = Frame::parse(r#"{"post_type":"message","sub_type":"a\nb","message":"[CQ:at,qq=1] 你好"}"#).unwrap();
        assert!(matches!(frame.post_type, Scalar::Text(Cow::Borrowed("message"))));
        assert!(matches!(frame.sub_type, Scalar::Text(Cow::Owned(ref s)) if s == "a\nb"));
        assert!(matches!(frame.message, Some(RawMessage::Text(Cow::Borrowed("[CQ:at,qq=1] 你好")))));
    }

    #[test]
    fn a_field_of_an_unexpected_type_reads_as_absent_where_serde_refused_the_frame() {
        let text = r#"{"post_type":"message","time":"soon","interval":-5,"retcode":1.0,"message":7,"sender":"x","message_type":"group"}"#;
        assert!(serde_json::from_str::<Frame>(text).is_err());
        let frame = Frame::parse(text).unwrap();
        assert_eq!((frame.time, frame.interval, frame.retcode), (None, None, None));
        assert!(frame.message.is_none() && frame.sender.is_none());
        assert_eq!(frame.message_type.as_str(), Some("group"));
    }

    #[test]
    fn what_is_not_one_json_object_is_refused_never_a_panic() {
        let bad = [
            "", " ", "[]", "null", "\"x\"", "{", "{\"sub_type\"}", "{\"sub_type\":}", "{\"sub_type\":1,}", "{\"sub_type\":1}x", "{\"sub_type\":01}", "{\"sub_type\":1.}",
            "{\"sub_type\":-}", "{\"sub_type\":1e}", "{\"sub_type\":tru}", "{\"sub_type\":\"\\x\"}", "{\"sub_type\":\"\\ud800\"}", "{\"sub_type\":\"\\udc00\"}",
            "{\"sub_type\":\"\\ud800\\u0041\"}", "{\"sub_type\":\"\\u12G4\"}", "{\"sub_type\":\"tab\there\"}", "{\"sub_type\":\"\\u00e9\t\"}", "{1:2}",
            "{\"sub_type\":[1 2]}", "{\"sub_type\":{\"b\":1 \"c\":2}}", "{\"sub_type\":\"\\u",
        ];
        for text in bad {
            assert!(Frame::parse(text).is_err(), "{text:?} was read");
            assert!(serde_json::from_str::<Frame>(text).is_err(), "serde reads {text:?}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(Frame::parse(&deep).unwrap_err().what, "nested too deep");
        let fine = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(Frame::parse(&fine).is_ok());
        // Every cut of a valid frame is refused, at every byte.
        for text in FRAMES {
            let text = text.trim_end();
            for cut in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
                assert!(Frame::parse(&text[..cut]).is_err(), "{:?}", &text[..cut]);
            }
        }
    }

    /// A deterministic generator of frames: the keys the bot reads and others, with values of
    /// every JSON type, escapes, Chinese text and emoji, and whitespace in between.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }

        fn ws(&mut self, out: &mut String) {
            out.push_str([" ", "", "", "\n\t", ""][self.next(5)]);
        }

        fn string(&mut self, out: &mut String) {
            const PARTS: &[&str] = &["签到", "abc", "\\\"", "\\\\", "\\/", "\\n", "\\u0041", "\\u5c0f", "\\ud83d\\ude00", "😀", " ", "&#91;", "[CQ:at,qq=1]", "\\t"];
            out.push('"');
            for _ in 0..self.next(4) {
                out.push_str(PARTS[self.next(PARTS.len())]);
            }
            out.push('"');
        }

        fn value(&mut self, out: &mut String, depth: u32) {
            const NUMBERS: &[&str] = &["0", "7", "-3", "300001", "18446744073709551615", "18446744073709551616", "-9223372036854775808", "1.5", "-0", "2e3", "0.1E-2"];
            match self.next(if depth > 2 { 5 } else { 8 }) {
                0 | 1 => self.string(out),
                2 => out.push_str(NUMBERS[self.next(NUMBERS.len())]),
                3 => out.push_str(["null", "true", "false"][self.next(3)]),
                4 => self.string(out),
                5 => {
                    out.push('[');
                    for i in 0..self.next(3) {
                        if i > 0 {
                            out.push(',');
                        }
                        self.ws(out);
                        self.value(out, depth + 1);
                    }
                    out.push(']');
                }
                6 => self.segment(out, depth + 1),
                _ => self.object(out, &["text", "qq", "name", "id", "nickname", "card", "message_id", "user_id", "type", "data", "x"], depth + 1),
            }
        }

        fn segment(&mut self, out: &mut String, depth: u32) {
            out.push_str("{\"type\":");
            self.value(out, depth);
            if self.next(4) > 0 {
                out.push_str(",\"data\":");
                self.object(out, &["text", "qq", "name", "id", "url"], depth);
            }
            out.push('}');
        }

        fn object(&mut self, out: &mut String, keys: &[&str], depth: u32) {
            out.push('{');
            for i in 0..self.next(5) {
                if i > 0 {
                    out.push(',');
                }
                self.ws(out);
                out.push('"');
                out.push_str(keys[self.next(keys.len())]);
                out.push_str("\":");
                self.ws(out);
                self.value(out, depth);
            }
            out.push('}');
        }
    }

    #[test]
    fn generated_frames_read_as_serde_reads_them() {
        const KEYS: &[&str] = &[
            "post_type", "message_type", "meta_event_type", "sub_type", "self_id", "message_id", "group_id", "user_id", "echo",
            "status", "wording", "font", "raw_message",
        ];
        let mut gen = Gen(7);
        let (mut compared, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut text = String::from("{");
            let mut keys: Vec<&str> = KEYS.iter().copied().filter(|_| gen.next(3) == 0).collect();
            if gen.next(2) == 0 {
                keys.push("message");
            }
            if gen.next(3) == 0 {
                keys.push("sender");
            }
            if gen.next(3) == 0 {
                keys.push("data");
            }
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                gen.ws(&mut text);
                text.push('"');
                text.push_str(key);
                text.push_str("\":");
                // A segment array, a CQ string or one segment. (serde also reads a segment or a
                // sender from an array of its fields in order, which no implementation sends.)
                match *key {
                    "message" if gen.next(3) == 0 => {
                        text.push('[');
                        for j in 0..gen.next(4) {
                            if j > 0 {
                                text.push(',');
                            }
                            gen.segment(&mut text, 1);
                        }
                        text.push(']');
                    }
                    "message" if gen.next(2) == 0 => gen.string(&mut text),
                    "message" => gen.segment(&mut text, 1),
                    "sender" => gen.object(&mut text, &["nickname", "card", "user_id"], 1),
                    _ => gen.value(&mut text, 1),
                }
            }
            text.push('}');
            let ours = Frame::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            // serde refuses a segment or sender of the wrong type, which this reader reads as absent.
            match serde_json::from_str::<Frame>(&text) {
                Ok(reference) => {
                    assert_eq!(format!("{ours:?}"), format!("{reference:?}"), "{text}");
                    compared += 1;
                }
                Err(_) => refused += 1,
            }
        }
        assert!(compared > 10_000, "only {compared} frames compared ({refused} refused by serde)");
    }
}
