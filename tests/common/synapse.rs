//! A local Synapse for tests and benchmarks, through `scripts/synapse` (which installs it from
//! PyPI into a cached venv): started on a free port with the users bot, alice, secretary and
//! mallory registered, stopped on drop.
#![allow(clippy::unwrap_used)]

use std::path::Path;

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

pub struct Synapse {
    dir: tempfile::TempDir,
    port: u16,
}

fn script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/synapse").to_owned()
}

impl Synapse {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a homeserver with extra environment for `scripts/synapse start`.
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let status = std::process::Command::new(script()).args(["start", path_str(dir.path()), &port.to_string()]).envs(env.iter().copied()).status().unwrap();
        assert!(status.success(), "scripts/synapse start failed");
        let server = Self { dir, port };
        for (user, password) in [("bot", "botpass"), ("alice", "alicepass"), ("secretary", "secretarypass"), ("mallory", "mallorypass")] {
            server.register(user, password);
        }
        server
    }

    /// Stops the homeserver (its data stays), as an outage.
    pub fn stop(&self) {
        let status = std::process::Command::new(script()).args(["stop", path_str(self.dir.path())]).status().unwrap();
        assert!(status.success(), "scripts/synapse stop failed");
    }

    /// Starts it again on the same port with the same data, after [`stop`](Self::stop).
    pub fn restart(&self) {
        let status = std::process::Command::new(script()).args(["start", path_str(self.dir.path()), &self.port.to_string()]).status().unwrap();
        assert!(status.success(), "scripts/synapse start failed");
    }

    /// Registers a user (not an admin) by the shared secret.
    pub fn register(&self, user: &str, password: &str) {
        let status = std::process::Command::new(script()).args(["register", path_str(self.dir.path()), user, password]).status().unwrap();
        assert!(status.success(), "registering {user}");
    }

    /// The homeserver's process id (for measuring it).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("homeserver.pid")).ok()?.trim().parse().ok()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script()).args(["stop", path_str(self.dir.path())]).status();
    }
}
