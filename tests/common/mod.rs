//! Running the real `zhibu` binary in a temporary directory.
#![allow(dead_code)]

pub mod onebot;
pub mod synapse;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub struct Zhibu {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Run {
    /// The bot's reply lines, without the `bot> ` prefix.
    pub fn replies(&self) -> Vec<&str> {
        self.stdout.lines().map(|l| l.strip_prefix("bot> ").unwrap_or_else(|| panic!("not a reply line: {l:?}"))).collect()
    }

    pub fn assert_clean(&self) {
        assert_eq!(self.code, Some(0), "exit code; stderr: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run { stdout: String::from_utf8_lossy(&o.stdout).into_owned(), stderr: String::from_utf8_lossy(&o.stderr).into_owned(), code: o.status.code() }
    }
}

impl Zhibu {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("zhibu-data")
    }

    /// A `zhibu` command run in the temp dir (so the default ./zhibu-data is inside it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhibu"));
        cmd.args(args).current_dir(self.dir.path()).env_remove("ZHIBU_LOG");
        cmd
    }

    /// Runs `zhibu ARGS` with `input` on stdin.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn zhibu");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait");
        let _ = writer.join();
        out.into()
    }

    /// `zhibu run` on the console with these lines.
    pub fn console(&self, lines: &[&str]) -> Run {
        let mut input = lines.join("\n");
        input.push('\n');
        self.run_with_input(&["run"], input.as_bytes())
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).stdin(Stdio::null()).output().expect("run zhibu").into()
    }

    pub fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write");
        path
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A child process killed on drop, so that a failing test leaves nothing behind.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// SIGTERM, then the exit code.
    pub fn stop(mut self) -> Option<i32> {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        self.0.wait().expect("wait for the bot").code()
    }
}

impl Zhibu {
    /// Starts `zhibu --config CONFIG run` in the background with `envs`, logging at info to
    /// `bot.log`.
    pub fn spawn_logged(&self, config: &Path, envs: &[(&str, &str)]) -> Running {
        let log = std::fs::File::create(self.path("bot.log")).expect("bot.log");
        let child = self
            .command(&["--config", path_str(config), "run"])
            .env("ZHIBU_LOG", "info")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn zhibu");
        Running(child)
    }
}
