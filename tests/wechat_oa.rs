//! End-to-end tests of the WeChat Official Account adapter: the real binary, with WeChat's
//! servers played by wechatpy (tests/peers/wechat_oa_peer.py, run from the venv that
//! `scripts/wechatpy` installs): it signs and encrypts callbacks as WeChat does, parses and
//! decrypts the replies, and serves the customer-service API for late replies.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Once;
use std::time::{Duration, Instant};

use common::{path_str, Running, Zhibu};
use serde_json::Value;

const TOKEN: &str = "zhibuToken1";
const APP_ID: &str = "wx1234567890abcdef";
const SECRET: &str = "s3cret";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const ACCOUNT: &str = "gh_zhibu_test";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wechatpy() -> Command {
    static INSTALL: Once = Once::new();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/wechatpy");
    INSTALL.call_once(|| {
        let status = Command::new(script).arg("install").status().unwrap();
        assert!(status.success(), "scripts/wechatpy install failed (needs python3-venv and PyPI)");
    });
    let mut cmd = Command::new(script);
    cmd.args(["python", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/wechat_oa_peer.py")]);
    cmd
}

struct Bot {
    process: Running,
    url: String,
    config: std::path::PathBuf,
}

/// Starts `zhibu run` with the adapter on a free port (`extra` lines go into `[wechat_oa]`) and
/// one branch that takes the account's followers.
fn start(z: &Zhibu, extra: &str) -> Bot {
    let port = free_port();
    let config = z.write(
        "wxoa.toml",
        format!(
            "[wechat_oa]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"{TOKEN}\"\napp_id = \"{APP_ID}\"\napp_secret = \"env:TEST_WXOA_SECRET\"\n\
             encoding_aes_key = \"{AES_KEY}\"\n{extra}\n\
             [[branch]]\nid = \"cs\"\nname = \"计算机支部\"\nauto_enroll = true\ndirect_enroll = [\"wxoa\"]\n"
        )
        .as_bytes(),
    );
    let process = z.spawn_logged(&config, &[("TEST_WXOA_SECRET", SECRET)]);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the bot never listened: {}", std::fs::read_to_string(z.path("bot.log")).unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    Bot { process, url: format!("http://127.0.0.1:{port}/wechat"), config }
}

/// Runs the peer and returns what it printed (one JSON value).
fn peer(args: &[&str]) -> Value {
    let out = wechatpy().args(args).output().unwrap();
    assert!(out.status.success(), "peer {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("peer printed {}", String::from_utf8_lossy(&out.stdout)))
}

/// A follower's message (plaintext unless `--aes-key` is among `args`).
fn post(bot: &Bot, args: &[&str]) -> Value {
    let mut all = vec!["post", bot.url.as_str(), TOKEN, "--account", ACCOUNT, "--app-id", APP_ID];
    all.extend_from_slice(args);
    peer(&all)
}

fn content(reply: &Value) -> &str {
    reply["content"].as_str().unwrap_or_else(|| panic!("no text reply: {reply}"))
}

#[test]
fn verification_keywords_and_questions_in_plaintext_and_safe_mode() {
    let z = Zhibu::new();
    let bot = start(&z, "");
    let ok = peer(&["verify", &bot.url, TOKEN]);
    assert_eq!((ok["status"].as_u64(), ok["echoed"].as_bool()), (Some(200), Some(true)), "{ok}");
    let forged = peer(&["verify", &bot.url, TOKEN, "--bad-signature"]);
    assert_eq!(forged["status"].as_u64(), Some(403), "{forged}");

    // Plaintext: a keyword is the command, anything else a question.
    let r = post(&bot, &["--openid", "o_plain", "--text", "签到", "--msg-id", "1001"]);
    assert!(content(&r).starts_with("签到成功"), "{r}");
    assert_eq!((r["to"].as_str(), r["from"].as_str(), r["type"].as_str()), (Some("o_plain"), Some(ACCOUNT), Some("text")));
    assert!(r.get("encrypted").is_none());
    let r = post(&bot, &["--openid", "o_plain", "--text", "预备期多久", "--msg-id", "1002"]);
    assert!(content(&r).contains("一年"), "{r}");

    // Safe mode: encrypted both ways; wechatpy checks the reply's signature and AppID.
    let r = post(&bot, &["--openid", "o_safe", "--text", "签到", "--msg-id", "2001", "--aes-key", AES_KEY]);
    assert_eq!(r["encrypted"].as_bool(), Some(true), "{r}");
    assert!(content(&r).starts_with("签到成功"), "{r}");
    assert_eq!(r["to"].as_str(), Some("o_safe"));
    let r = post(&bot, &["--openid", "o_safe", "--text", "预备期多久", "--msg-id", "2002", "--aes-key", AES_KEY]);
    assert!(content(&r).contains("一年"), "{r}");
    // A second check-in the same day is recognised: the first was stored for this follower.
    let r = post(&bot, &["--openid", "o_safe", "--text", "签到", "--msg-id", "2003", "--aes-key", AES_KEY]);
    assert!(content(&r).contains("已经签到"), "{r}");

    // A new follower is greeted with the keywords they can send.
    let r = post(&bot, &["--openid", "o_new", "--event", "subscribe"]);
    let welcome = content(&r);
    assert!(welcome.starts_with("感谢关注！"), "{welcome}");
    for keyword in ["签到", "学习", "积分", "思想汇报", "帮助"] {
        assert!(welcome.contains(keyword), "{keyword}: {welcome}");
    }
    assert!(!welcome.contains("/统计"), "only what a member may use: {welcome}");
    // Other events need no answer.
    let r = post(&bot, &["--openid", "o_new", "--event", "unsubscribe"]);
    assert_eq!((r["status"].as_u64(), r["body"].as_str()), (Some(200), Some("success")), "{r}");
    assert_eq!(bot.process.stop(), Some(0));
}

#[test]
fn forged_stale_and_malformed_callbacks_are_refused_without_processing() {
    let z = Zhibu::new();
    let bot = start(&z, "");
    let status = |r: Value| r["status"].as_u64().unwrap();
    // Each of these is a 签到 from o_victim; none may reach the bot.
    assert_eq!(status(post(&bot, &["--openid", "o_victim", "--bad-signature"])), 403);
    assert_eq!(status(post(&bot, &["--openid", "o_victim", "--no-signature"])), 401);
    assert_eq!(status(post(&bot, &["--openid", "o_victim", "--bad-signature", "--aes-key", AES_KEY])), 403);
    assert_eq!(status(post(&bot, &["--openid", "o_victim", "--timestamp-offset", "-600"])), 403);
    // Signed correctly, but not acceptable content.
    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">]>\
                <xml><ToUserName>gh_zhibu_test</ToUserName><FromUserName>o_victim</FromUserName><CreateTime>1</CreateTime>\
                <MsgType>text</MsgType><Content>&lol2;</Content><MsgId>66</MsgId></xml>";
    assert_eq!(status(post(&bot, &["--raw", bomb])), 400);
    assert_eq!(status(post(&bot, &["--raw", "<xml><Content>签到</Content></xml>"])), 400);
    let huge = format!("<xml><Content>{}</Content></xml>", "签".repeat(30_000));
    assert_eq!(status(post(&bot, &["--raw", &huge])), 413);
    // The victim's first real check-in is the first one: nothing above was processed.
    let r = post(&bot, &["--openid", "o_victim", "--text", "签到", "--msg-id", "3001"]);
    assert!(content(&r).starts_with("签到成功"), "{r}");
    assert_eq!(bot.process.stop(), Some(0));
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_retried_message_is_handled_once_and_answered_the_same() {
    let z = Zhibu::new();
    let bot = start(&z, "");
    // WeChat's retries of one message, overlapping.
    let all = post(&bot, &["--openid", "o_retry", "--text", "签到", "--msg-id", "4001", "--copies", "3", "--gap", "0"]);
    let replies: Vec<&str> = all.as_array().unwrap().iter().map(content).collect();
    assert!(replies[0].starts_with("签到成功"), "{all}");
    assert!(replies.iter().all(|r| *r == replies[0]), "{all}");
    // And once more, after the reply was made: the same reply, not a second check-in.
    let again = post(&bot, &["--openid", "o_retry", "--text", "签到", "--msg-id", "4001", "--aes-key", AES_KEY]);
    assert_eq!(content(&again), replies[0]);
    // A new message is a new check-in attempt.
    let r = post(&bot, &["--openid", "o_retry", "--text", "签到", "--msg-id", "4002"]);
    assert!(content(&r).contains("已经签到"), "{r}");
    assert_eq!(bot.process.stop(), Some(0));
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert_eq!(log.matches("WeChat retried a message").count(), 3, "{log}");
}

#[test]
fn recognised_speech_is_read_as_text_and_other_media_get_a_hint_to_write() {
    let z = Zhibu::new();
    let bot = start(&z, "");
    // With speech recognition on, WeChat sends what was said, ending in a full stop.
    let r = post(&bot, &["--openid", "o_voice", "--voice", "签到。", "--msg-id", "5001", "--aes-key", AES_KEY]);
    assert!(content(&r).starts_with("签到成功"), "{r}");
    let r = post(&bot, &["--openid", "o_voice", "--voice", "预备期多久？", "--msg-id", "5002"]);
    assert!(content(&r).contains("一年"), "{r}");
    // Without recognition, or a picture: the follower is told to write, and nothing is recorded.
    let hint = "我暂时只能读懂文字消息，请把想说的用文字发给我。";
    let r = post(&bot, &["--openid", "o_media", "--voice", "", "--msg-id", "5003"]);
    assert_eq!(content(&r), hint, "{r}");
    let all = post(&bot, &["--openid", "o_media", "--image", "--msg-id", "5004", "--aes-key", AES_KEY, "--copies", "2", "--gap", "0"]);
    for reply in all.as_array().unwrap() {
        assert_eq!(content(reply), hint, "{all}");
    }
    assert_eq!(bot.process.stop(), Some(0));
    let log = std::fs::read_to_string(z.path("bot.log")).unwrap();
    assert_eq!(log.matches("WeChat retried a message").count(), 1, "{log}");
    let list = z.command(&["--config", path_str(&bot.config), "member", "list", "--branch", "cs"]).env("TEST_WXOA_SECRET", SECRET).output().unwrap();
    let members = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    assert!(members.contains(":o_voice") && !members.contains("o_media"), "{members}");
}

/// The customer-service API, played by the peer; its received messages in order.
struct ApiServer {
    _process: Running,
    lines: mpsc::Receiver<Value>,
    base: String,
}

impl ApiServer {
    fn start(args: &[&str]) -> Self {
        let port = free_port().to_string();
        let mut child = wechatpy().args(["api", &port, APP_ID, SECRET]).args(args).stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(serde_json::from_str::<Value>(&line).unwrap()).is_err() {
                    break;
                }
            }
        });
        let server = Self { _process: Running(child), lines, base: format!("http://127.0.0.1:{port}") };
        let first = server.next(Duration::from_secs(60)).expect("the API peer did not start");
        assert_eq!(first["kind"], "listening");
        server
    }

    fn next(&self, wait: Duration) -> Option<Value> {
        self.lines.recv_timeout(wait).ok()
    }

    /// The next message delivered, with the API calls before it.
    fn next_message(&self) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let line = self.next(Duration::from_secs(20)).expect("no message reached the API");
            if line["kind"] == "message" {
                return (line, before);
            }
            before.push(line);
        }
    }
}

#[test]
fn late_replies_and_greetings_go_through_the_customer_service_api() {
    let api = ApiServer::start(&["--expire-first-token"]);
    let z = Zhibu::new();
    // No reply is ever ready in time: every one goes through the API.
    let bot = start(&z, &format!("api_base = \"{}\"\nreply_deadline = \"0ms\"", api.base));
    let r = post(&bot, &["--openid", "o_slow", "--text", "签到", "--msg-id", "5001", "--aes-key", AES_KEY]);
    assert_eq!((r["status"].as_u64(), r["body"].as_str()), (Some(200), Some("success")), "{r}");
    let (message, before) = api.next_message();
    assert_eq!(message["touser"], "o_slow");
    assert!(message["content"].as_str().unwrap().starts_with("签到成功"), "{message}");
    // The first token was refused as expired: fetched again, and the send tried once more.
    let kinds: Vec<&str> = before.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["token", "refused", "token"], "{before:?}");
    assert_eq!(message["token"], "TOKEN-2");

    // WeChat's retry after `success` is answered `success` and sends nothing again.
    let r = post(&bot, &["--openid", "o_slow", "--text", "签到", "--msg-id", "5001"]);
    assert_eq!(r["body"].as_str(), Some("success"), "{r}");
    // A follower's welcome: greeting and keyword list in one message. It needs no write, so it
    // can be ready before the request even starts waiting (then it is the passive reply, even
    // with a zero deadline); otherwise it goes through the API with the cached token.
    let r = post(&bot, &["--openid", "o_late_new", "--event", "subscribe"]);
    let text = if r["body"].as_str() == Some("success") {
        let (message, before) = api.next_message();
        assert!(before.is_empty(), "the token is cached: {before:?}");
        assert_eq!(message["touser"], "o_late_new");
        message["content"].as_str().unwrap().to_owned()
    } else {
        assert_eq!(r["to"], "o_late_new", "{r}");
        r["content"].as_str().unwrap().to_owned()
    };
    assert!(text.starts_with("感谢关注！") && text.contains("\n\n你可以使用的命令：\n/签到"), "{text}");
    assert!(api.next(Duration::from_millis(500)).is_none(), "the retried 签到 was sent twice");
    assert_eq!(bot.process.stop(), Some(0));

    // A push the bot starts (no message to answer) uses the API too: `zhibu job run` sends the
    // weekly digest to the secretary, an OA follower, by direct message.
    let config = std::fs::read_to_string(&bot.config).unwrap().replace(
        "direct_enroll = [\"wxoa\"]\n",
        "direct_enroll = [\"wxoa\"]\nsecretaries = [\"wxoa:o_secretary\"]\n[[job]]\nname = \"digest\"\ncron = \"0 9 * * Mon\"\nkind = \"digest\"\n",
    );
    std::fs::write(&bot.config, config).unwrap();
    let run = z.command(&["--config", path_str(&bot.config), "job", "run", "digest"]).env("TEST_WXOA_SECRET", SECRET).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (message, _) = api.next_message();
    assert_eq!(message["touser"], "o_secretary");
    assert!(message["content"].as_str().unwrap().contains("计算机支部"), "{message}");
}

#[test]
fn a_reply_longer_than_one_message_continues_through_the_customer_service_api() {
    let api = ApiServer::start(&[]);
    let z = Zhibu::new();
    // A secretary's own entry with an answer of about 3 KB: more than the 2,048 bytes a WeChat
    // text message carries.
    let answer: String = (1..=60).map(|i| format!("第{i}条：支部工作细则的一项规定。\n")).collect();
    let library = z.write("long.toml", format!("[[entry]]\nid = \"rules\"\nquestion = \"支部工作细则有哪些规定？\"\nanswer = '''\n{answer}'''\n").as_bytes());
    let import = z.run(&["faq", "import", path_str(&library)]);
    assert_eq!(import.code, Some(0), "{}", import.stderr);
    let bot = start(&z, &format!("api_base = \"{}\"", api.base));
    let r = post(&bot, &["--openid", "o_long", "--text", "支部工作细则有哪些规定？", "--msg-id", "7001"]);
    let first = content(&r).to_owned();
    assert!(first.len() <= 2048 && first.contains("第1条："), "{} bytes: {first}", first.len());
    let (message, _) = api.next_message();
    assert_eq!(message["touser"], "o_long");
    let rest = message["content"].as_str().unwrap();
    assert!(rest.len() <= 2048, "{} bytes", rest.len());
    assert!(!first.contains("第60条：") && rest.contains("第60条："), "the end of the answer comes second: {rest}");
    let both = format!("{first}\n{rest}");
    assert!((1..=60).all(|i| both.matches(&format!("第{i}条：")).count() == 1), "every line once: {both}");
    assert!(api.next(Duration::from_millis(500)).is_none(), "sent once");
    // WeChat's retry gets the same first part and sends nothing again.
    let r = post(&bot, &["--openid", "o_long", "--text", "支部工作细则有哪些规定？", "--msg-id", "7001"]);
    assert_eq!(content(&r), first);
    assert!(api.next(Duration::from_millis(500)).is_none(), "the retry sent the rest again");
    assert_eq!(bot.process.stop(), Some(0));
}
