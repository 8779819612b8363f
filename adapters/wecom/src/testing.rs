//! A WeCom group robot played by tests: a local HTTP/1.1 server (plain threads, so it serves
//! sync and async tests alike) that checks every request against the documented webhook
//! format — method, path, `key`, Content-Type, the JSON of each msgtype, sizes, and an image's
//! base64 and md5 — and answers as the test says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde_json::{json, Value};

use crate::compose::{is_jpeg_or_png, IMAGE_MAX_BYTES, MARKDOWN_MAX_BYTES, TEXT_MAX_BYTES};

const PATH: &str = "/cgi-bin/webhook/send";

/// How the fake robot answers a well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `{"errcode":0,"errmsg":"ok"}`
    Ok,
    /// `{"errcode":N,"errmsg":"…"}` with HTTP 200, as WeCom reports its errors.
    Errcode(i64, String),
    /// A bare HTTP status (a proxy's 502, say).
    Status(u16),
}

#[derive(Default)]
struct Shared {
    received: Vec<Value>,
    problems: Vec<String>,
    next: VecDeque<Answer>,
    always: Option<Answer>,
}

/// The fake robot. Its webhook is `http://127.0.0.1:<port>/cgi-bin/webhook/send?key=<key>`.
pub struct FakeRobot {
    addr: SocketAddr,
    key: String,
    shared: Arc<Mutex<Shared>>,
}

impl FakeRobot {
    /// Starts a robot whose key is `key`; it serves until the process exits.
    pub fn start(key: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let robot = Self { addr, key: key.to_owned(), shared: shared.clone() };
        let key = key.to_owned();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (shared, key) = (shared.clone(), key.clone());
                std::thread::spawn(move || serve(stream, &key, &shared));
            }
        });
        robot
    }

    pub fn webhook(&self) -> String {
        format!("http://{}{PATH}?key={}", self.addr, self.key)
    }

    /// The answer to the next well-formed request (queued answers are used in order).
    pub fn answer_next(&self, answer: Answer) {
        self.shared.lock().unwrap().next.push_back(answer);
    }

    /// The answer once the queued ones are used up (default [`Answer::Ok`]).
    pub fn answer_always(&self, answer: Answer) {
        self.shared.lock().unwrap().always = Some(answer);
    }

    /// Every well-formed message received, in order, whatever the answer was.
    pub fn received(&self) -> Vec<Value> {
        self.shared.lock().unwrap().received.clone()
    }

    /// What was wrong with malformed requests (each was answered with an error).
    pub fn problems(&self) -> Vec<String> {
        self.shared.lock().unwrap().problems.clone()
    }

    /// Waits (really: the server runs on its own threads) until `n` messages have arrived.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let until = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n || Instant::now() > until {
                return received;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn serve(stream: TcpStream, key: &str, shared: &Mutex<Shared>) {
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    loop {
        let Some((request_line, headers)) = read_head(&mut reader) else { return };
        let length = header(&headers, "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, answer) = respond(&request_line, &headers, &body, key, shared);
        let text = answer.to_string();
        let reply = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}", text.len());
        if writer.write_all(reply.as_bytes()).and_then(|()| writer.flush()).is_err() {
            return;
        }
        if header(&headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            return;
        }
    }
}

fn read_head(reader: &mut impl BufRead) -> Option<(String, Vec<(String, String)>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let request_line = line.trim_end().to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            return Some((request_line, headers));
        }
        let (name, value) = l.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Checks one request and decides the answer: (HTTP status, JSON body).
fn respond(request_line: &str, headers: &[(String, String)], body: &[u8], key: &str, shared: &Mutex<Shared>) -> (u16, Value) {
    let mut shared = shared.lock().unwrap();
    let mut fail = |problem: String, errcode: i64, errmsg: &str| {
        shared.problems.push(problem);
        (200, json!({"errcode": errcode, "errmsg": errmsg}))
    };
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if method != "POST" {
        return fail(format!("method {method}, not POST"), 40035, "invalid method");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != PATH {
        return fail(format!("path {path}, not {PATH}"), 40035, "invalid path");
    }
    if !query.split('&').any(|pair| pair == format!("key={key}")) {
        return fail(format!("query `{query}` lacks key={key}"), 93000, "invalid webhook url");
    }
    let content_type = header(headers, "content-type").unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some("application/json") {
        return fail(format!("Content-Type `{content_type}`, not application/json"), 40035, "invalid content type");
    }
    let message: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return fail(format!("body is not JSON: {e}"), 40035, "invalid json"),
    };
    if let Err(problem) = check_message(&message) {
        return fail(format!("{problem}: {message}"), 40035, "invalid parameter");
    }
    shared.received.push(message);
    let answer = shared.next.pop_front().or_else(|| shared.always.clone()).unwrap_or(Answer::Ok);
    match answer {
        Answer::Ok => (200, json!({"errcode": 0, "errmsg": "ok"})),
        Answer::Errcode(errcode, errmsg) => (200, json!({"errcode": errcode, "errmsg": errmsg})),
        Answer::Status(status) => (status, json!({})),
    }
}

/// The documented shapes, exactly: no missing and no extra keys.
fn check_message(message: &Value) -> Result<(), String> {
    let object = message.as_object().ok_or("not an object")?;
    let msgtype = object.get("msgtype").and_then(Value::as_str).ok_or("no msgtype")?;
    if object.len() != 2 {
        return Err(format!("keys {:?}, expected msgtype and {msgtype}", object.keys().collect::<Vec<_>>()));
    }
    let inner = object.get(msgtype).and_then(Value::as_object).ok_or_else(|| format!("no `{msgtype}` object"))?;
    let keys: Vec<&str> = inner.keys().map(String::as_str).collect();
    let content = |max: usize| -> Result<(), String> {
        let content = inner.get("content").and_then(Value::as_str).ok_or("no content string")?;
        if content.trim().is_empty() {
            return Err("empty content".into());
        }
        if content.len() > max {
            return Err(format!("content is {} bytes, more than {max}", content.len()));
        }
        Ok(())
    };
    match msgtype {
        "text" => {
            if let Some(k) = keys.iter().find(|k| !["content", "mentioned_list", "mentioned_mobile_list"].contains(k)) {
                return Err(format!("unknown key text.{k}"));
            }
            for list in ["mentioned_list", "mentioned_mobile_list"] {
                if let Some(v) = inner.get(list) {
                    if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                        return Err(format!("text.{list} is not a list of strings"));
                    }
                }
            }
            content(TEXT_MAX_BYTES)
        }
        "markdown" => {
            if keys != ["content"] {
                return Err(format!("markdown keys {keys:?}, expected content"));
            }
            content(MARKDOWN_MAX_BYTES)
        }
        "image" => {
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            if sorted != ["base64", "md5"] {
                return Err(format!("image keys {keys:?}, expected base64 and md5"));
            }
            let encoded = inner.get("base64").and_then(Value::as_str).ok_or("base64 is not a string")?;
            let md5 = inner.get("md5").and_then(Value::as_str).ok_or("md5 is not a string")?;
            let data = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| format!("bad base64: {e}"))?;
            if data.len() as u64 > IMAGE_MAX_BYTES {
                return Err("image over 2 MB".into());
            }
            if !is_jpeg_or_png(&data) {
                return Err("image is not JPEG or PNG".into());
            }
            if md5 != format!("{:x}", Md5::digest(&data)) {
                return Err("md5 is not the lowercase hex md5 of the image bytes".into());
            }
            Ok(())
        }
        other => Err(format!("unknown msgtype {other}")),
    }
}
