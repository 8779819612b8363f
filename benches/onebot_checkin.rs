//! Acknowledged check-ins a second over OneBot: 1,000 members check in, 64 waiting for their
//! answer at a time, against the release binary (a fresh data dir each run, median of 3). With
//! `ZHIBU_BASELINE=/path/to/zhibu` the same load also runs against that binary, in the same run
//! (the figure before group commit in docs/benchmarks.md is 1f1fd84's, where each check-in
//! fsynced before its reply).
//!
//! Run: `cargo bench --bench onebot_checkin` (or `ZHIBU_BASELINE=... cargo bench --bench onebot_checkin`).

#![allow(clippy::unwrap_used)]

#[path = "../tests/common/onebot.rs"]
mod peer;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "t0ken";
const GROUPS: [u64; 8] = [200_001, 200_002, 200_003, 200_004, 200_005, 200_006, 200_007, 200_008];
const MEMBERS: u64 = 1000;
const WINDOW: usize = 64;
const RUNS: usize = 3;

/// One run against `bin`: acknowledged check-ins a second.
fn run(bin: &Path, limits: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let groups: Vec<String> = GROUPS.iter().map(|g| format!("\"onebot:10001000/group/{g}\"")).collect();
    // The load generator is not a person: no rate limits (a build from before them has no such key).
    let limits = if limits { "[limits]\nmember_per_minute = 0\nchat_per_minute = 0\nbacklog = 1000\n" } else { "" };
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[onebot]\nlisten = \"127.0.0.1:{port}\"\naccess_token = \"{TOKEN}\"\nchat_rate = 0\n{limits}\
             [[branch]]\nid = \"cs\"\ngroups = [{}]\nauto_enroll = true\n",
            groups.join(", ")
        ),
    )
    .unwrap();
    let mut child = Command::new(bin)
        .args(["--config", config.to_str().unwrap(), "--data-dir", dir.path().join("data").to_str().unwrap(), "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let result = runtime.block_on(async {
        let mut peer = peer::Peer::connect(port, TOKEN).await;
        peer::check_in_all(&mut peer, 2_000_000, MEMBERS, WINDOW, &GROUPS, None).await
    });
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert_eq!(result.acknowledged.len(), MEMBERS as usize, "every check-in confirmed");
    result.acknowledged.len() as f64 / result.elapsed.as_secs_f64().max(1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read.
    let zhibu = Path::new(env!("CARGO_BIN_EXE_zhibu"));
    let baseline = std::env::var_os("ZHIBU_BASELINE").map(std::path::PathBuf::from);
    let mut rows = Vec::new();
    for _ in 0..RUNS {
        rows.push(("zhibu", run(zhibu, true)));
        if let Some(b) = &baseline {
            rows.push(("baseline", run(b, false)));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let of = |name: &str| rows.iter().filter(|(n, _)| *n == name).map(|(_, r)| *r).collect::<Vec<_>>();
    let ours = of("zhibu");
    println!("{MEMBERS} members check in over OneBot, {WINDOW} at a time; acknowledged check-ins a second (runs, median):");
    println!("  zhibu     {:?} median {:.0}/s", ours.iter().map(|r| r.round()).collect::<Vec<_>>(), median(ours.clone()));
    if baseline.is_some() {
        let theirs = of("baseline");
        println!("  baseline  {:?} median {:.0}/s", theirs.iter().map(|r| r.round()).collect::<Vec<_>>(), median(theirs.clone()));
        println!("  ratio     {:.1}x", median(ours) / median(theirs));
    }
}
