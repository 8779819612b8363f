//! An acknowledged write survives a SIGKILL: 1,000 members check in over OneBot, 64 at a time,
//! and the bot is killed in the middle, between writes and their flush. Every check-in the bot
//! confirmed is in the store when it comes back; a reply never goes out before its write is on
//! disk (the group commit), whatever is in flight when the process dies.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::onebot::{check_in_all, member, Peer};
use common::{path_str, Zhibu};

const TOKEN: &str = "t0ken";
const GROUPS: [u64; 8] = [200_001, 200_002, 200_003, 200_004, 200_005, 200_006, 200_007, 200_008];

fn config(z: &Zhibu, port: u16) -> std::path::PathBuf {
    let groups: Vec<String> = GROUPS.iter().map(|g| format!("\"onebot:10001000/group/{g}\"")).collect();
    z.write(
        "durability.toml",
        format!(
            "[onebot]\nlisten = \"127.0.0.1:{port}\"\naccess_token = \"{TOKEN}\"\nchat_rate = 0\n\
             [limits]\nmember_per_minute = 0\nchat_per_minute = 0\nbacklog = 1000\n\
             [[branch]]\nid = \"cs\"\ngroups = [{}]\nauto_enroll = true\n",
            groups.join(", ")
        )
        .as_bytes(),
    )
}

/// The members with a check-in in the store, by `zhibu export`.
fn checked_in(z: &Zhibu, config: &std::path::Path) -> BTreeSet<u64> {
    let export = z.run(&["--config", path_str(config), "export"]);
    export.assert_clean();
    export
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["record"] == "checkin")
        .filter_map(|r| r["user"].as_str()?.strip_prefix("onebot:")?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_confirmed_check_in_is_lost_when_the_bot_is_killed_mid_write() {
    let z = Zhibu::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = config(&z, port);
    let mut bot = z.spawn_logged(&config, &[]);
    let mut peer = Peer::connect(port, TOKEN).await;
    // Killed once 400 are confirmed, with up to 64 more written or being written.
    let run = check_in_all(&mut peer, 2_000_000, 1000, 64, &GROUPS, Some(400)).await;
    bot.0.kill().unwrap();
    bot.0.wait().unwrap();
    let confirmed: BTreeSet<u64> = run.acknowledged.iter().copied().collect();
    assert_eq!(confirmed.len(), 400);
    let stored = checked_in(&z, &config);
    let lost: Vec<&u64> = confirmed.difference(&stored).collect();
    println!("confirmed {}, stored {} (of 1000 sent), lost {}", confirmed.len(), stored.len(), lost.len());
    assert!(lost.is_empty(), "{} confirmed check-ins lost in the crash, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);

    // Back up: the members not yet confirmed check in again; nobody is confirmed twice, and
    // those whose check-in was stored but not confirmed are told they already have one.
    let bot = z.spawn_logged(&config, &[]);
    let mut peer = Peer::connect(port, TOKEN).await;
    let again = check_in_all(&mut peer, 3_000_000, 1000, 64, &GROUPS, None).await;
    let confirmed_again: BTreeSet<u64> = again.acknowledged.iter().copied().collect();
    assert!(confirmed_again.is_disjoint(&confirmed), "confirmed twice");
    assert!(confirmed_again.is_disjoint(&stored), "a stored check-in was made again");
    assert_eq!(confirmed.len() + confirmed_again.len() + stored.difference(&confirmed).count(), 1000);
    drop(peer);
    assert_eq!(bot.stop(), Some(0));
    assert_eq!(checked_in(&z, &config), (0..1000).map(member).collect());
}
