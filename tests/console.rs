//! End-to-end: `zhibu run` on the console, as a newcomer would pipe it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::Zhibu;

#[test]
fn the_walking_skeleton_transcript() {
    let z = Zhibu::new();
    let run = z.console(&[":as alice", "/签到", "/签到", "/问 预备期多长时间", ":as secretary", "/统计"]);
    run.assert_clean();
    let replies = run.replies();
    assert!(replies[0].starts_with("签到成功！本周已签到 1 天"), "{replies:?}");
    assert!(replies[1].starts_with("你今天已经签到过了"), "{replies:?}");
    let answer = replies.iter().find(|l| l.starts_with("答：")).expect("an answer");
    assert!(answer.contains("一年"), "{answer}");
    let table_header = replies.iter().position(|l| l.starts_with("成员")).expect("a stats table");
    assert!(replies[table_header..].iter().any(|l| l.starts_with("alice ") && l.contains("1/")), "{replies:?}");
    // The prompt is not printed when stdin is a pipe.
    assert!(run.stdout.lines().all(|l| l.starts_with("bot> ")));
}

#[test]
fn a_restart_keeps_everything() {
    let z = Zhibu::new();
    z.console(&[":as alice", "/签到 第一次", ":dm", "/思想汇报 我的第一份思想汇报", ":quit"]).assert_clean();
    let run = z.console(&[":as alice", "/签到", ":dm", "/我的汇报", ":as secretary", ":group", "/统计"]);
    run.assert_clean();
    let replies = run.replies();
    assert!(replies[0].starts_with("你今天已经签到过了"), "{replies:?}");
    assert!(replies.iter().any(|l| l.starts_with("#1 思想汇报") && l.contains("我的第一份思想汇报")), "{replies:?}");
    assert!(replies.iter().any(|l| l.starts_with("alice ") && l.contains("  1")), "{replies:?}");
}

#[test]
fn an_acknowledged_write_survives_sigkill() {
    let z = Zhibu::new();
    let mut child = z.command(&["run"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Stdin stays open: the bot is still running when it is killed. Bob's first words enroll
    // him without an fsync of their own; alice's check-in, confirmed after, makes them durable.
    stdin.write_all(":as bob\n大家好\n:as alice\n/签到\n:dm\n/思想汇报 杀不掉的汇报\n".as_bytes()).unwrap();
    stdin.flush().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("已收到你的思想汇报")) {
        seen.push(rx.recv_timeout(Duration::from_secs(30)).expect("the acknowledgement"));
    }
    assert!(seen[0].contains("签到成功"), "{seen:?}");
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush at exit.
    child.wait().unwrap();
    drop(stdin);

    let run = z.console(&[":as alice", "/签到", ":dm", "/查看汇报 1", ":as secretary", ":group", "/统计"]);
    run.assert_clean();
    let replies = run.replies();
    assert!(replies[0].starts_with("你今天已经签到过了"), "{replies:?}");
    assert!(replies.contains(&"杀不掉的汇报"), "{replies:?}");
    assert!(replies.iter().any(|l| l.starts_with("bob ")), "bob is still on the roster: {replies:?}");
}

#[test]
fn bad_input_gets_clear_replies_and_never_a_panic() {
    let z = Zhibu::new();
    let mut input: Vec<u8> = Vec::new();
    let mut line = |bytes: &[u8]| {
        input.extend_from_slice(bytes);
        input.push(b'\n');
    };
    line(b":as alice");
    line(b"");
    line(b"   \t  ");
    line(b"\xff\xfe/\xe7\xad"); // invalid UTF-8
    line(&vec![b'x'; 1 << 20]); // a 1 MB line
    line(b"/\xe6\x80\x9d\xe6\x83\xb3\xe6\xb1\x87\xe6\x8a\xa5"); // /思想汇报 with no text
    line("/签\u{7}到\u{1b}[0m".as_bytes()); // control characters
    line("/签道".as_bytes()); // unknown command
    line(b"/");
    line(b":bogus");
    line(b":as two words");
    line(format!("/思想汇报 {}", "长".repeat(30_000)).as_bytes()); // over the report limit
    line("/问".as_bytes());
    let run = z.run_with_input(&["run"], &input);
    run.assert_clean();
    let replies = run.replies();
    assert_eq!(
        replies,
        [
            "这条消息无法识别（不是有效的 UTF-8 文本），请重新输入。",
            "这条消息太长了（超过 262144 字节），没有处理。",
            "用法：/思想汇报 <内容>",
            "签到成功！本周已签到 1 天，已连续签到 1 天。",
            "没有 /签道 这个命令，你是不是想用 /签到？",
            "请在 / 后面写上命令名，例如 /签到。发送 /帮助 查看全部命令。",
            "内容太长了：30000 字，上限是 20000 字。",
            "用法：/问 <问题>",
        ]
    );
    // Console directives that are wrong are explained on stderr, not sent to the chat.
    assert!(run.stderr.contains("控制命令有"), "{}", run.stderr);
    assert!(run.stderr.contains("名字需为 1 到 32 个字符"), "{}", run.stderr);
}

#[test]
fn sigterm_shuts_down_cleanly_and_keeps_the_data() {
    let z = Zhibu::new();
    let mut child = z.command(&["run"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(":as alice\n/签到\n".as_bytes()).unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("签到成功"), "{first}");
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "a clean exit on SIGTERM");
    drop(stdin);
    let run = z.console(&[":as alice", "/签到"]);
    assert!(run.replies()[0].starts_with("你今天已经签到过了"));
}
