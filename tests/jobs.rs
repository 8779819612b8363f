//! End-to-end: scheduled jobs from the command line.

mod common;

use common::{path_str, Zhibu};

#[test]
fn job_list_and_run_from_the_example_config() {
    let z = Zhibu::new();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/zhibu.example.toml");
    let list = z.run(&["--config", config, "job", "list"]);
    list.assert_clean();
    assert!(list.stdout.contains("daily-study\tstudy\t0 8 * * * (Asia/Shanghai)\tnext "), "{}", list.stdout);
    assert!(list.stdout.contains("last not fired yet"), "{}", list.stdout);

    let run = z.run(&["--config", config, "job", "run", "daily-study"]);
    run.assert_clean();
    assert!(run.stdout.starts_with("bot> 📖 每日学习 · "), "{}", run.stdout);
    assert!(run.stderr.contains("job daily-study: 1 message(s) planned; sent 1 message(s)"), "{}", run.stderr);
    let list = z.run(&["--config", config, "job", "list"]);
    assert!(list.stdout.contains(": sent 1 message(s)"), "{}", list.stdout);

    // The member then reads the item that was pushed.
    let pushed = run.stdout.lines().next().unwrap().trim_start_matches("bot> 📖 每日学习 · ").to_owned();
    let read = z.run_with_input(&["--config", config, "run"], ":as alice\n/学习\n".as_bytes());
    assert!(read.stdout.starts_with(&format!("bot> 📖 {pushed}")), "{}", read.stdout);

    let unknown = z.run(&["--config", config, "job", "run", "nope"]);
    assert_eq!(unknown.code, Some(2));
    assert!(unknown.stderr.contains("no job `nope`"), "{}", unknown.stderr);
}

#[test]
fn check_config_names_the_job_with_a_bad_cron_or_timezone() {
    let z = Zhibu::new();
    let bad = z.write(
        "jobs.toml",
        "[[job]]\nname = \"morning-study\"\ncron = \"0 8 * *\"\nkind = \"study\"\n\n[[job]]\nname = \"digest\"\ncron = \"0 9 * * Mon\"\ntimezone = \"Europe/Beijing\"\nkind = \"digest\"\n".as_bytes(),
    );
    let run = z.run(&["check-config", "--config", path_str(&bad)]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("job[0] `morning-study`.cron: invalid cron expression `0 8 * *`"), "{}", run.stderr);
    assert!(run.stderr.contains("job[1] `digest`.timezone: unknown timezone `Europe/Beijing`"), "{}", run.stderr);
}
