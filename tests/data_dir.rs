//! End-to-end: damaged, newer, locked data directories and malformed configs give clear errors.

mod common;

use std::process::Stdio;

use common::{path_str, Zhibu};

#[test]
fn a_damaged_data_dir_is_reported_not_panicked_on() {
    let z = Zhibu::new();
    let data = z.data_dir();
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("conf"), b"\xff\x00 not a sled config").unwrap();
    let mut x: u32 = 7;
    let noise: Vec<u8> = (0..65536)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    std::fs::write(data.join("db"), noise).unwrap();
    let run = z.console(&["/签到"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("zhibu-data"), "{}", run.stderr);
    assert!(run.stderr.contains("damaged") || run.stderr.contains("cannot open"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn a_data_dir_from_a_newer_version_is_refused() {
    let z = Zhibu::new();
    zhibu_commands::store::Store::open(&z.data_dir()).unwrap().force_schema_version(99).unwrap();
    let run = z.console(&["/签到"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("newer zhibu (schema 99"), "{}", run.stderr);
}

#[test]
fn a_data_dir_in_use_is_reported() {
    use std::io::{BufRead, BufReader, Write};
    let z = Zhibu::new();
    let mut first = z.command(&["run"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    // Wait until the first bot answers, so it surely holds the store before the second process
    // starts (otherwise the second one could win the lock and the first one would be refused).
    let mut stdin = first.stdin.take().unwrap();
    stdin.write_all("/帮助\n".as_bytes()).unwrap();
    stdin.flush().unwrap();
    let mut stdout = BufReader::new(first.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("bot> "), "the first bot did not start: {line:?}");
    let run = z.run(&["member", "list"]);
    drop(stdin);
    first.wait().unwrap();
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("is in use by another zhibu process"), "{}", run.stderr);
}

#[test]
fn a_data_path_that_is_a_file_is_refused() {
    let z = Zhibu::new();
    let file = z.write("not-a-dir", b"x");
    let run = z.run(&["--data-dir", path_str(&file), "member", "list"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("it is a file, not a directory"), "{}", run.stderr);
}

#[test]
fn malformed_configs_point_at_the_key() {
    let z = Zhibu::new();
    let bad = z.write("bad.toml", "timezone = \"Asia/Beijing\"\n[[branch]]\nid = \"cs 1\"\ngroups = [\"nogroup\"]\n".as_bytes());
    for args in [vec!["check-config", "--config", path_str(&bad)], vec!["--config", path_str(&bad), "run"]] {
        let run = z.run(&args);
        assert_eq!(run.code, Some(2), "{args:?}");
        assert!(run.stderr.contains("timezone: unknown timezone `Asia/Beijing`"), "{}", run.stderr);
        assert!(run.stderr.contains("branch[0].id"), "{}", run.stderr);
        assert!(run.stderr.contains("branch[0].groups[0]: `nogroup`"), "{}", run.stderr);
    }
    let syntax = z.write("syntax.toml", b"[branch\nid = 1\n");
    let run = z.run(&["check-config", "--config", path_str(&syntax)]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("syntax.toml: at line 1"), "{}", run.stderr);
    let unknown = z.write("unknown.toml", b"[reports]\nmax_char = 5\n");
    let run = z.run(&["check-config", "--config", path_str(&unknown)]);
    assert!(run.stderr.contains("unknown field `max_char`"), "{}", run.stderr);
    let missing = z.run(&["check-config", "--config", "nowhere.toml"]);
    assert_eq!(missing.code, Some(2));
    assert!(missing.stderr.contains("cannot read nowhere.toml"), "{}", missing.stderr);
}

#[test]
fn the_example_config_checks_out() {
    let z = Zhibu::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/zhibu.example.toml");
    let run = z.run(&["check-config", "--config", example]);
    run.assert_clean();
    assert!(run.stdout.contains("zhibu.example.toml: OK"), "{}", run.stdout);
}
