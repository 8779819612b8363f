//! End-to-end: scheduled pushes to a WeCom group robot, played by a local HTTP server that
//! checks each request against the documented webhook format.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{path_str, Zhibu};
use zhibu_wecom::testing::{Answer, FakeRobot};

/// A branch whose only group is the robot `wecom:cs`, and a daily study job. The webhook comes
/// from the environment, as the README advises.
fn config(z: &Zhibu) -> std::path::PathBuf {
    z.write(
        "zhibu.toml",
        r#"
[wecom]
[[wecom.robot]]
name = "cs"
webhook = "env:ZHIBU_TEST_WECOM_CS"

[[branch]]
id = "cs"
name = "计算机支部"
groups = ["wecom:cs"]

[[job]]
name = "daily-study"
cron = "0 8 * * *"
kind = "study"
"#
        .as_bytes(),
    )
}

fn zhibu(z: &Zhibu, robot: &FakeRobot, args: &[&str]) -> common::Run {
    z.command(args).env("ZHIBU_TEST_WECOM_CS", robot.webhook()).stdin(std::process::Stdio::null()).output().unwrap().into()
}

/// The titles of the shipped study items.
fn study_titles() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/study");
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).ok()?;
            let line = text.lines().find(|l| l.starts_with("title = "))?;
            Some(line.trim_start_matches("title = ").trim_matches('"').to_owned())
        })
        .collect()
}

#[test]
fn the_robot_receives_the_scheduled_study_push_in_the_documented_format() {
    let z = Zhibu::new();
    let robot = FakeRobot::start("693a91f6-e2e");
    let config = config(&z);
    let run = zhibu(&z, &robot, &["--config", path_str(&config), "job", "run", "daily-study"]);
    run.assert_clean();
    assert!(run.stderr.contains("job daily-study: 1 message(s) planned; sent 1 message(s)"), "{}", run.stderr);

    assert_eq!(robot.problems(), Vec::<String>::new(), "requests not in the documented format");
    let received = robot.wait_for(1, Duration::from_secs(5));
    assert_eq!(received.len(), 1, "{received:?}");
    let push = &received[0];
    assert_eq!(push["msgtype"], "text");
    let content = push["text"]["content"].as_str().unwrap();
    let title = content.lines().next().unwrap().strip_prefix("📖 每日学习 · ").unwrap_or_else(|| panic!("{content}"));
    assert!(study_titles().iter().any(|t| t == title), "`{title}` is not a shipped study item");
    assert!(content.contains("/学习"), "{content}");

    let list = zhibu(&z, &robot, &["--config", path_str(&config), "job", "list"]);
    list.assert_clean();
    assert!(list.stdout.contains(": sent 1 message(s)"), "{}", list.stdout);

    let check = zhibu(&z, &robot, &["check-config", "--config", path_str(&config)]);
    check.assert_clean();
    assert!(check.stdout.contains("wecom:cs → http://127.0.0.1:"), "{}", check.stdout);
    assert!(!check.stdout.contains("693a91f6"), "the webhook key is a secret: {}", check.stdout);
}

#[test]
fn a_refused_push_shows_as_failed_with_wecoms_reason() {
    let z = Zhibu::new();
    let robot = FakeRobot::start("k");
    robot.answer_always(Answer::Errcode(93000, "invalid webhook url, hint: [1733]".into()));
    let config = config(&z);
    let run = zhibu(&z, &robot, &["--config", path_str(&config), "job", "run", "daily-study"]);
    run.assert_clean();
    assert!(run.stderr.contains("FAILED: 1 of 1 message(s) not delivered"), "{}", run.stderr);
    assert_eq!(robot.received().len(), 1, "a permanent failure is not retried");

    let list = zhibu(&z, &robot, &["--config", path_str(&config), "job", "list"]);
    list.assert_clean();
    assert!(list.stdout.contains("FAILED: 1 of 1 message(s) not delivered"), "{}", list.stdout);
    assert!(list.stdout.contains("WeCom errcode 93000: invalid webhook url"), "{}", list.stdout);
}
