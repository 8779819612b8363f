//! The adapter against a local robot (the documented format, answers and failures) and, on
//! tokio's paused clock, its pacing.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use serde_json::{json, Value};
use tokio::time::Instant;
use zhibu_chat::{ChatId, Mention, UserId};

use super::*;
use crate::testing::{Answer, FakeRobot};
use crate::webhook::HttpReply;

fn robot_config(name: &str, webhook: &str, format: Format) -> RobotConfig {
    RobotConfig { name: name.into(), webhook: Webhook::parse(webhook).unwrap(), format }
}

fn adapter(robots: Vec<RobotConfig>) -> WeComAdapter {
    WeComAdapter::new(WeComConfig { robots, ..WeComConfig::default() })
}

fn to(robot: &str, text: &str) -> Outgoing {
    let mut m = Outgoing::text(ChatId::parse(&format!("wecom:{robot}")).unwrap(), text);
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    m.idempotency_key = Some(format!("job@fire#{}", SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    m
}

fn wait(fake: &FakeRobot, n: usize) -> Vec<Value> {
    fake.wait_for(n, Duration::from_secs(5))
}

#[tokio::test]
async fn text_goes_to_the_webhook_in_the_documented_format() {
    let fake = FakeRobot::start("693a91f6");
    let wecom = adapter(vec![robot_config("cs", &fake.webhook(), Format::Text)]);
    let id = wecom.send(&to("cs", "📖 每日学习 · 党的性质\n发送 /学习 阅读全文。")).await.unwrap();
    assert_eq!(id, None, "WeCom gives no message id");
    assert_eq!(fake.problems(), Vec::<String>::new());
    assert_eq!(wait(&fake, 1), vec![json!({"msgtype": "text", "text": {"content": "📖 每日学习 · 党的性质\n发送 /学习 阅读全文。"}})]);
}

#[tokio::test]
async fn a_markdown_robot_gets_markdown() {
    let fake = FakeRobot::start("k");
    let wecom = adapter(vec![robot_config("cs", &fake.webhook(), Format::Markdown)]);
    wecom.send(&to("cs", "**本周统计**\n签到率 80%")).await.unwrap();
    assert_eq!(fake.problems(), Vec::<String>::new());
    assert_eq!(wait(&fake, 1), vec![json!({"msgtype": "markdown", "markdown": {"content": "**本周统计**\n签到率 80%"}})]);
}

#[tokio::test]
async fn mentions_of_wecom_users_notify_them() {
    let fake = FakeRobot::start("k");
    let wecom = adapter(vec![robot_config("cs", &fake.webhook(), Format::Text)]);
    let mut m = to("cs", "请以下同志本周提交思想汇报：张三、李四、王五");
    m.mentions = ["wecom:zhangsan", "wecom:tel:13800000000", "matrix:@wangwu:example.org"]
        .iter()
        .map(|id| Mention { user: UserId::parse(id).unwrap(), display_name: String::new() })
        .collect();
    wecom.send(&m).await.unwrap();
    assert_eq!(fake.problems(), Vec::<String>::new());
    assert_eq!(
        wait(&fake, 1),
        vec![json!({"msgtype": "text", "text": {
            "content": "请以下同志本周提交思想汇报：张三、李四、王五",
            "mentioned_list": ["zhangsan"],
            "mentioned_mobile_list": ["13800000000"],
        }})]
    );
}

#[tokio::test]
async fn an_image_follows_its_text_with_base64_and_md5() {
    let fake = FakeRobot::start("k");
    let wecom = adapter(vec![robot_config("cs", &fake.webhook(), Format::Text)]);
    let dir = std::env::temp_dir().join(format!("zhibu-wecom-image-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stats.jpg");
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend((0..5000u32).map(|i| (i % 251) as u8));
    std::fs::write(&path, &jpeg).unwrap();
    let mut m = to("cs", "本周统计见图");
    m.image = Some(path);
    wecom.send(&m).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // The fake robot checked the base64 and the md5 against the decoded bytes.
    assert_eq!(fake.problems(), Vec::<String>::new());
    let got = wait(&fake, 2);
    assert_eq!(got[0]["msgtype"], "text");
    assert_eq!(got[1]["msgtype"], "image");
    assert_eq!(got[1]["image"]["md5"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn long_text_arrives_in_parts_in_order() {
    let fake = FakeRobot::start("k");
    let wecom = adapter(vec![robot_config("cs", &fake.webhook(), Format::Text)]);
    let lines: Vec<String> = (1..=200).map(|i| format!("{i:03}. 学习党章第{i}条")).collect();
    let text = lines.join("\n");
    wecom.send(&to("cs", &text)).await.unwrap();
    assert_eq!(fake.problems(), Vec::<String>::new());
    let got = fake.received();
    assert!(got.len() >= 3, "{} parts", got.len());
    let joined: Vec<&str> = got.iter().map(|m| m["text"]["content"].as_str().unwrap()).collect();
    assert_eq!(joined.join("\n"), text);
}

#[tokio::test]
async fn failures_say_whether_to_retry() {
    let fake = FakeRobot::start("k");
    let wecom = adapter(vec![robot_config("cs", &fake.webhook(), Format::Text)]);

    fake.answer_next(Answer::Errcode(93000, "invalid webhook url, hint: [1733]".into()));
    assert_eq!(wecom.send(&to("cs", "a")).await, Err(SendError::Permanent("WeCom errcode 93000: invalid webhook url, hint: [1733]".into())));

    fake.answer_next(Answer::Status(502));
    assert!(matches!(wecom.send(&to("cs", "b")).await, Err(SendError::Transient(_))));

    fake.answer_next(Answer::Errcode(45009, "api freq out of limit".into()));
    assert_eq!(wecom.send(&to("cs", "c")).await, Err(SendError::RateLimited { retry_after: Duration::from_secs(60) }));

    assert!(matches!(wecom.send(&to("nope", "d")).await, Err(SendError::Permanent(m)) if m.contains("no WeCom robot `nope`")));

    // Nothing listens on a port that was just freed: a network error, worth retrying.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let gone = adapter(vec![robot_config("cs", &format!("http://127.0.0.1:{port}/cgi-bin/webhook/send?key=k"), Format::Text)]);
    let Err(SendError::Transient(message)) = gone.send(&to("cs", "e")).await else { panic!("not transient") };
    assert!(!message.contains("key=k"), "the key stays out of logs: {message}");

    let wrong_key = adapter(vec![robot_config("cs", &fake.webhook().replace("key=k", "key=other"), Format::Text)]);
    assert!(matches!(wrong_key.send(&to("cs", "f")).await, Err(SendError::Permanent(m)) if m.contains("93000")));
}

#[tokio::test]
async fn a_retry_after_a_part_failed_sends_only_the_rest() {
    let fake = FakeRobot::start("k");
    let wecom = adapter(vec![robot_config("cs", &fake.webhook(), Format::Text)]);
    let text = (0..150).map(|i| format!("第{i}行，不重复也不遗漏")).collect::<Vec<_>>().join("\n");
    let m = to("cs", &text);
    fake.answer_next(Answer::Ok);
    fake.answer_next(Answer::Errcode(-1, "system busy".into()));
    assert!(matches!(wecom.send(&m).await, Err(SendError::Transient(_))));
    wecom.send(&m).await.unwrap();
    let got: Vec<String> = fake.received().iter().map(|m| m["text"]["content"].as_str().unwrap().to_owned()).collect();
    // Part 1 delivered, part 2 refused (busy), then the retry: part 2 again and the rest.
    assert_eq!(got[1], got[2]);
    let mut delivered = got.clone();
    delivered.remove(1);
    assert_eq!(delivered.join("\n"), text);
}

/// Records when each message was posted and answers as told, without sockets.
struct Recorder {
    start: Instant,
    posts: Mutex<Vec<(Duration, Value)>>,
    answers: Mutex<Vec<&'static str>>,
}

#[async_trait]
impl Transport for Recorder {
    async fn post_json(&self, _webhook: &Webhook, body: Vec<u8>) -> Result<HttpReply, SendError> {
        self.posts.lock().unwrap().push((self.start.elapsed(), serde_json::from_slice(&body).unwrap()));
        let answer = self.answers.lock().unwrap().pop().unwrap_or(r#"{"errcode":0,"errmsg":"ok"}"#);
        Ok(HttpReply { status: 200, body: answer.as_bytes().to_vec() })
    }
}

fn recorded(answers: Vec<&'static str>) -> (Arc<WeComAdapter>, Arc<Recorder>) {
    let recorder = Arc::new(Recorder { start: Instant::now(), posts: Mutex::default(), answers: Mutex::new(answers) });
    let robots = vec![robot_config("cs", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", Format::Text)];
    let wecom = WeComAdapter::with_transport(WeComConfig { robots, per_minute: DEFAULT_PER_MINUTE }, Ok(recorder.clone() as Arc<dyn Transport>));
    (Arc::new(wecom), recorder)
}

#[tokio::test(start_paused = true)]
async fn twenty_five_messages_the_twenty_first_waits_a_minute_in_order_none_lost() {
    let (wecom, recorder) = recorded(Vec::new());
    let sends: Vec<_> = (1..=25)
        .map(|i| {
            let wecom = wecom.clone();
            tokio::spawn(async move { wecom.send(&to("cs", &format!("消息 {i}"))).await })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap(), Ok(None));
    }
    let posts = recorder.posts.lock().unwrap();
    let texts: Vec<&str> = posts.iter().map(|(_, m)| m["text"]["content"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=25).map(|i| format!("消息 {i}")).collect();
    assert_eq!(texts, expected);
    assert!(posts[..20].iter().all(|(t, _)| t.as_secs() == 0), "{posts:?}");
    assert!(posts[20..].iter().all(|(t, _)| t.as_secs() == 60), "{posts:?}");
}

#[tokio::test(start_paused = true)]
async fn after_a_45009_the_robot_waits_a_minute() {
    let (wecom, recorder) = recorded(vec![r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#]);
    assert_eq!(wecom.send(&to("cs", "一")).await, Err(SendError::RateLimited { retry_after: Duration::from_secs(60) }));
    wecom.send(&to("cs", "二")).await.unwrap();
    let times: Vec<u64> = recorder.posts.lock().unwrap().iter().map(|(t, _)| t.as_secs()).collect();
    assert_eq!(times, vec![0, 60]);
}

#[tokio::test(start_paused = true)]
async fn run_waits_for_the_shutdown() {
    let (wecom, _) = recorded(Vec::new());
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let token = CancellationToken::new();
    let task = tokio::spawn({
        let (wecom, token) = (wecom.clone(), token.clone());
        async move { wecom.run(EventSink::new(tx), token).await }
    });
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(!task.is_finished());
    token.cancel();
    assert!(task.await.unwrap().is_ok());
    assert_eq!(wecom.direct_chat(&UserId::parse("wecom:zhangsan").unwrap()), None);
}

#[test]
fn the_fake_robot_refuses_what_the_documentation_does_not_allow() {
    use std::io::{Read, Write};
    let fake = FakeRobot::start("k");
    let addr = fake.webhook().trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let post = |content_type: &str, body: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let request = format!(
            "POST /cgi-bin/webhook/send?key=k HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        answer
    };
    assert!(post("text/plain", r#"{"msgtype":"text","text":{"content":"x"}}"#).contains("40035"));
    assert!(post("application/json", r#"{"msgtype":"text","text":{"content":"x","extra":1}}"#).contains("40035"));
    assert!(post("application/json", r#"{"msgtype":"image","image":{"base64":"iVBORw0KGgo=","md5":"00"}}"#).contains("40035"));
    assert!(post("application/json", r#"{"msgtype":"text","text":{"content":"ok"}}"#).contains(r#""errcode":0"#));
    assert_eq!(fake.problems().len(), 3, "{:?}", fake.problems());
    assert_eq!(fake.received().len(), 1);
}
