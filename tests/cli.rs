//! End-to-end: the management subcommands (faq, member, stats, export/import).

mod common;

use common::{path_str, Zhibu};

#[test]
fn faq_ask_json_answers_and_declines() {
    let z = Zhibu::new();
    let run = z.run_with_input(&["faq", "ask", "--json"], "入党要几个介绍人\n\n明天天气怎么样\n\u{ff}\n".as_bytes());
    run.assert_clean();
    let lines: Vec<serde_json::Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "blank lines are skipped: {}", run.stdout);
    assert_eq!(lines[0]["q"], "入党要几个介绍人");
    assert_eq!(lines[0]["id"], "introducer-count");
    assert!(lines[0]["answer"].as_str().unwrap().contains("两名"));
    assert!(lines[0]["score"].as_f64().unwrap() > 0.5);
    assert_eq!(lines[1]["q"], "明天天气怎么样");
    assert!(lines[1]["answer"].is_null());
    let one = z.run(&["faq", "ask", "预备期", "多久"]);
    assert!(one.stdout.starts_with("问：预备党员的预备期是多长时间？"), "{}", one.stdout);
}

#[test]
fn faq_import_reports_broken_rows_keeps_the_rest_and_export_round_trips() {
    let z = Zhibu::new();
    let broken = z.write(
        "broken.toml",
        "[[entry]]\nid = \"good-one\"\nquestion = \"好问题\"\nanswer = \"好答案\"\n\n[[entry]]\nid = \"Bad Id\"\nquestion = \"\"\nanswer = \"x\"\n".as_bytes(),
    );
    // A dry run writes nothing and says what would happen.
    let dry = z.run(&["faq", "import", "--dry-run", path_str(&broken)]);
    assert!(dry.stdout.contains("dry run, nothing written; would be 1 added"), "{}", dry.stdout);
    assert!(!z.run(&["faq", "list"]).stdout.contains("good-one"));
    let run = z.run(&["faq", "import", path_str(&broken)]);
    assert_eq!(run.code, Some(1), "a rejected row makes the exit status 1");
    assert!(run.stdout.contains("1 added, 0 changed, 0 unchanged, 1 rejected"), "{}", run.stdout);
    assert!(run.stdout.contains("rejected: row 2 (Bad Id): id `Bad Id` must be"), "{}", run.stdout);
    assert!(run.stdout.contains("empty question"), "{}", run.stdout);
    assert!(z.run(&["faq", "list"]).stdout.contains("good-one"));
    // A file that is not TOML at all: nothing imported, a usage error.
    let garbage = z.write("garbage.toml", b"[[entry]\nid=");
    let run = z.run(&["faq", "import", path_str(&garbage)]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("nothing imported; not valid TOML"), "{}", run.stderr);

    let good = z.write(
        "good.toml",
        "[[entry]]\nid = \"library-hours\"\ntopic = \"支部事务\"\nquestion = \"支部活动室几点开门？\"\nalternatives = [\"活动室开放时间\"]\nanswer = \"支部活动室工作日 8:00 至 22:00 开放。\"\n".as_bytes(),
    );
    let run = z.run(&["faq", "import", path_str(&good)]);
    run.assert_clean();
    assert!(run.stdout.contains("1 added, 0 changed"), "{}", run.stdout);
    let asked = z.run(&["faq", "ask", "活动室几点开门"]);
    assert!(asked.stdout.contains("8:00 至 22:00"), "{}", asked.stdout);

    let exported = z.run(&["faq", "export"]);
    exported.assert_clean();
    let file = z.write("exported.toml", exported.stdout.as_bytes());
    let again = z.run(&["faq", "import", path_str(&file)]);
    again.assert_clean();
    assert!(again.stdout.contains("0 added, 0 changed"), "{}", again.stdout);
}

#[test]
fn faq_import_reads_a_spreadsheet_saved_by_chinese_excel() {
    let z = Zhibu::new();
    // Excel on a Chinese Windows saves CSV in GBK; a quoted answer spans two lines.
    let sheet = "编号,问题,其他问法,答案,来源\n\
                 dues-collector,党费交给谁？,党费找谁交；党费交给哪个人,\"交给所在党小组的组长，\n或支部指定的同志。\",支部通知\n\
                 ,只有问题没有答案,,,\n\
                 ,校园网怎么报修,,拨打 12345 或在企业微信提交工单。,\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(sheet);
    let file = z.write("题库.csv", &gbk);
    let run = z.run(&["faq", "import", path_str(&file)]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("2 added, 0 changed, 0 unchanged, 1 rejected"), "{}", run.stdout);
    assert!(run.stdout.contains("rejected: row 4"), "{}", run.stdout);
    let asked = z.run(&["faq", "ask", "党费找谁交"]);
    assert!(asked.stdout.contains("交给所在党小组的组长，\n或支部指定的同志。"), "{}", asked.stdout);
    // The same sheet again: ids derived from the questions, so nothing is added twice.
    let again = z.run(&["faq", "import", path_str(&file)]);
    assert!(again.stdout.contains("0 added, 0 changed, 2 unchanged, 1 rejected"), "{}", again.stdout);
    // Exported as CSV and imported back: unchanged.
    let csv = z.run(&["faq", "export", "--format", "csv"]);
    csv.assert_clean();
    assert!(csv.stdout.starts_with("\u{feff}编号,分类,问题"), "{}", &csv.stdout[..40]);
    let back = z.write("back.csv", csv.stdout.as_bytes());
    let run = z.run(&["faq", "import", path_str(&back)]);
    run.assert_clean();
    assert!(run.stdout.contains(" 0 added, 0 changed, "), "{}", run.stdout);
}

#[test]
fn export_then_import_into_an_empty_dir_is_exact() {
    let z = Zhibu::new();
    z.console(&[":as alice", "/签到 早", ":dm", "/思想汇报 第一行\n", ":as bob", "/学习心得 \"引号\" 与 \\ 反斜杠"]).assert_clean();
    let first = z.run(&["export"]);
    first.assert_clean();
    assert!(first.stdout.starts_with("{\"record\":\"header\""), "{}", &first.stdout[..80]);
    let file = z.write("all.jsonl", first.stdout.as_bytes());
    let other = z.path("other-data");
    let imported = z.run(&["--data-dir", path_str(&other), "import", path_str(&file)]);
    imported.assert_clean();
    assert!(imported.stdout.contains("imported 3 member(s), 1 check-in(s), 2 report(s)"), "{}", imported.stdout);
    let second = z.run(&["--data-dir", path_str(&other), "export"]);
    assert_eq!(first.stdout, second.stdout);

    let bad = z.write("bad.jsonl", b"{\"record\":\"header\",\"format\":\"zhibu-export\",\"schema\":1}\n{\"record\":\"member\"}\n");
    let run = z.run(&["--data-dir", path_str(&z.path("third")), "import", path_str(&bad)]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("line 2") && run.stderr.contains("nothing was imported"), "{}", run.stderr);
}

#[test]
fn members_roles_and_stats_from_the_command_line() {
    let z = Zhibu::new();
    z.console(&[":as alice", "/签到", ":as bob", "hello"]).assert_clean();
    let list = z.run(&["member", "list"]);
    list.assert_clean();
    assert!(list.stdout.contains("console:alice\tmember\talice"), "{}", list.stdout);
    assert!(list.stdout.contains("console:secretary\tsecretary\tsecretary"), "{}", list.stdout);
    let set = z.run(&["member", "set-role", "bob", "预备党员"]);
    set.assert_clean();
    assert_eq!(set.stdout, "console:bob\tprobationary\tbob\n");
    let bad = z.run(&["member", "set-role", "bob", "boss"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("unknown role `boss`"), "{}", bad.stderr);
    let last = z.run(&["member", "set-role", "secretary", "member"]);
    assert_eq!(last.code, Some(2));
    assert!(last.stderr.contains("only secretary"), "{}", last.stderr);

    let text = z.run(&["stats"]);
    text.assert_clean();
    assert!(text.stdout.contains("alice ") && text.stdout.contains("签到率"), "{}", text.stdout);
    let csv = z.run(&["stats", "--format", "csv"]);
    assert!(csv.stdout.starts_with("week,member,user,role,checkin_days"), "{}", csv.stdout);
    assert!(csv.stdout.contains(",alice,console:alice,member,1,"), "{}", csv.stdout);
    let json = z.run(&["stats", "--format", "json", "--week", "上周"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["days_counted"], 7);
    assert_eq!(v["checkin_days"], 0);
    let bad_week = z.run(&["stats", "--week", "2026-W99"]);
    assert_eq!(bad_week.code, Some(2));
    assert!(bad_week.stderr.contains("not a week: `2026-W99`"), "{}", bad_week.stderr);
    let no_branch = z.run(&["stats", "--branch", "nope"]);
    assert_eq!(no_branch.code, Some(2));
    assert!(no_branch.stderr.contains("no branch `nope`"), "{}", no_branch.stderr);
}

#[test]
fn the_shipped_content_is_found_from_any_directory() {
    // The temp dir holds no data/ folder: the FAQ and catalogs are embedded.
    let z = Zhibu::new();
    let run = z.run(&["faq", "list"]);
    run.assert_clean();
    assert!(run.stdout.lines().count() >= 60, "{}", run.stdout);
}

#[test]
fn the_english_catalog_is_chosen_by_config() {
    let z = Zhibu::new();
    let config = z.write("en.toml", b"language = \"en\"\n");
    let mut input = String::from(":as alice\n/checkin\n/stats\n");
    input.push_str("/help\n");
    let run = z.run_with_input(&["--config", path_str(&config), "run"], input.as_bytes());
    run.assert_clean();
    let replies = run.replies();
    assert_eq!(replies[0], "Checked in! 1 day(s) this week, a streak of 1 day(s).");
    assert_eq!(replies[1], "Only secretary, committee member can use /stats.");
    assert_eq!(replies[2], "Commands you can use:");
}
