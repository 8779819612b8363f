//! The config file (TOML): reading it, checking every key, and turning it into the domain's
//! [`Settings`] and the adapters' settings. Every problem names the key it is about.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zhibu_chat::{ChatId, UserId};
use zhibu_commands::domain::{BranchId, Role};
use zhibu_commands::i18n::Lang;
use zhibu_commands::settings::{self, BranchSettings, Settings};

use crate::scheduler::{JobSpec, DEFAULT_CATCH_UP};

/// The file as written. Every field is optional; defaults are documented in
/// `zhibu.example.toml` and applied in [`Config::resolve`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Message language: `zh-CN` (default) or `en`.
    language: Option<String>,
    /// IANA timezone for "today" and "this week" (default `Asia/Shanghai`).
    timezone: Option<String>,
    /// Where the store lives (default `./zhibu-data`); `--data-dir` overrides it.
    data_dir: Option<PathBuf>,
    #[serde(default)]
    reports: RawReports,
    #[serde(default)]
    faq: RawFaq,
    #[serde(default)]
    branch: Vec<RawBranch>,
    #[serde(default)]
    console: RawConsole,
    #[serde(default)]
    points: RawPoints,
    #[serde(default)]
    limits: RawLimits,
    matrix: Option<RawMatrix>,
    onebot: Option<RawOneBot>,
    wechat_oa: Option<RawWechatOa>,
    wecom: Option<RawWeCom>,
    #[serde(default)]
    job: Vec<RawJob>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix {
    /// The homeserver's URL.
    homeserver: String,
    /// The bot's user id (`@zhibu:example.org`).
    user: String,
    /// The password, or `env:NAME` to read it from an environment variable.
    password: Option<String>,
    /// An access token instead of a password, or `env:NAME`.
    access_token: Option<String>,
    /// Default `ZHIBU`.
    device_id: Option<String>,
    #[serde(default)]
    allowed_inviters: Vec<String>,
    #[serde(default)]
    allowed_rooms: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOneBot {
    /// Serve reverse WebSocket here (`127.0.0.1:8080`): NapCat, Lagrange, go-cqhttp connect.
    listen: Option<String>,
    /// The endpoint path (default `/onebot/v11/ws`).
    path: Option<String>,
    /// Required of connecting implementations, and sent when dialling; or `env:NAME`.
    access_token: Option<String>,
    /// Implementations to dial (forward WebSocket).
    #[serde(default)]
    connect: Vec<RawOneBotConnect>,
    default_account: Option<String>,
    action_timeout_secs: Option<u64>,
    /// Messages a second to one chat once its burst is used (default 1; 0 turns pacing off).
    chat_rate: Option<f64>,
    chat_burst: Option<u32>,
    ping_after_secs: Option<u64>,
    ping_timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOneBotConnect {
    url: String,
    access_token: Option<String>,
}

impl RawOneBot {
    fn resolve(self, problems: &mut Vec<String>) -> zhibu_onebot::OneBotConfig {
        let mut c = zhibu_onebot::OneBotConfig::default();
        if let Some(listen) = &self.listen {
            match listen.parse() {
                Ok(addr) => c.listen = Some(addr),
                Err(_) => problems.push(format!("onebot.listen: `{listen}` is not an address like 127.0.0.1:8080")),
            }
        }
        if let Some(path) = self.path {
            if !path.starts_with('/') {
                problems.push(format!("onebot.path: `{path}` must start with /"));
            }
            c.server.path = path;
        }
        let token = secret("onebot.access_token", self.access_token, problems);
        c.server.access_token = token.clone();
        for (i, target) in self.connect.into_iter().enumerate() {
            if target.url.starts_with("wss://") {
                problems.push(format!("onebot.connect[{i}].url: `{}`: wss:// is not supported (no TLS in this build); use ws://, with a TLS proxy in front if the link leaves the machine", target.url));
            } else if !target.url.starts_with("ws://") {
                problems.push(format!("onebot.connect[{i}].url: `{}` is not a ws:// URL", target.url));
            }
            let access_token = secret(&format!("onebot.connect[{i}].access_token"), target.access_token, problems).or_else(|| token.clone());
            c.connect.push(zhibu_onebot::ForwardSettings { url: target.url, access_token });
        }
        if c.listen.is_none() && c.connect.is_empty() {
            problems.push("onebot: give `listen` (reverse WebSocket) or `[[onebot.connect]]` (forward WebSocket)".into());
        }
        c.default_account = self.default_account;
        let secs = |v: Option<u64>, key: &str, default: std::time::Duration, problems: &mut Vec<String>| match v {
            None => default,
            Some(0) => {
                problems.push(format!("onebot.{key}: must be at least 1"));
                default
            }
            Some(s) => std::time::Duration::from_secs(s),
        };
        c.action_timeout = secs(self.action_timeout_secs, "action_timeout_secs", c.action_timeout, problems);
        c.liveness.ping_after = secs(self.ping_after_secs, "ping_after_secs", c.liveness.ping_after, problems);
        c.liveness.ping_timeout = secs(self.ping_timeout_secs, "ping_timeout_secs", c.liveness.ping_timeout, problems);
        if let Some(rate) = self.chat_rate {
            if !(0.0..=1000.0).contains(&rate) {
                problems.push("onebot.chat_rate: messages a second, between 0 (no pacing) and 1000".into());
            }
            c.chat_rate = rate;
        }
        if let Some(burst) = self.chat_burst {
            c.chat_burst = burst;
        }
        c
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWechatOa {
    /// Serve the callback here (`127.0.0.1:8081`, behind the HTTPS reverse proxy).
    listen: String,
    /// The callback path (default `/wechat`).
    path: Option<String>,
    /// The Token of the OA backend's server settings (令牌), or `env:NAME`.
    token: String,
    app_id: String,
    /// The AppSecret, or `env:NAME`: for the customer-service API.
    app_secret: String,
    /// The EncodingAESKey (消息加解密密钥), or `env:NAME`; with it, safe mode is accepted.
    encoding_aes_key: Option<String>,
    /// `compatible` (default: plaintext and, with a key, safe mode) or `safe` (safe mode only).
    mode: Option<String>,
    /// Default `https://api.weixin.qq.com`.
    api_base: Option<String>,
    /// How long a callback waits for the reply before answering `success` (default "4500ms").
    reply_deadline: Option<String>,
}

/// `4500ms`, `4.5s`, `3s`.
fn parse_short_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.trim().parse().ok().map(std::time::Duration::from_millis);
    }
    let secs: f64 = s.strip_suffix('s')?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| std::time::Duration::from_secs_f64(secs))
}

impl RawWechatOa {
    fn resolve(self, problems: &mut Vec<String>) -> zhibu_wechat_oa::WechatOaConfig {
        let listen = self.listen.parse().unwrap_or_else(|_| {
            problems.push(format!("wechat_oa.listen: `{}` is not an address like 127.0.0.1:8081", self.listen));
            std::net::SocketAddr::from(([127, 0, 0, 1], 0))
        });
        let token = secret("wechat_oa.token", Some(self.token), problems).unwrap_or_default();
        if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric()) || token.len() > 32 {
            problems.push("wechat_oa.token: 1 to 32 letters and digits, as on the OA backend".into());
        }
        let app_secret = secret("wechat_oa.app_secret", Some(self.app_secret), problems).unwrap_or_default();
        let mut c = zhibu_wechat_oa::WechatOaConfig::new(listen, &token, &self.app_id, &app_secret);
        if self.app_id.trim().is_empty() {
            problems.push("wechat_oa.app_id: give the account's AppID".into());
        }
        if let Some(path) = self.path {
            if !path.starts_with('/') {
                problems.push(format!("wechat_oa.path: `{path}` must start with /"));
            }
            c.path = path;
        }
        c.encoding_aes_key = secret("wechat_oa.encoding_aes_key", self.encoding_aes_key, problems);
        if let Some(key) = &c.encoding_aes_key {
            if let Err(e) = zhibu_wechat_oa::crypto::MessageCrypto::new(key, &c.app_id) {
                problems.push(format!("wechat_oa.encoding_aes_key: {e}"));
            }
        }
        match self.mode.as_deref() {
            None | Some("compatible") => {}
            Some("safe") if c.encoding_aes_key.is_some() => c.mode = zhibu_wechat_oa::Mode::Safe,
            Some("safe") => problems.push("wechat_oa.mode: \"safe\" needs encoding_aes_key".into()),
            Some(other) => problems.push(format!("wechat_oa.mode: `{other}` is not \"compatible\" or \"safe\"")),
        }
        if let Some(base) = self.api_base {
            if !base.starts_with("http://") && !base.starts_with("https://") {
                problems.push(format!("wechat_oa.api_base: `{base}` is not an http(s) URL"));
            }
            c.api_base = base;
        }
        if let Some(deadline) = self.reply_deadline {
            match parse_short_duration(&deadline) {
                Some(d) if d <= std::time::Duration::from_secs(10) => c.reply_deadline = d,
                _ => problems.push(format!("wechat_oa.reply_deadline: `{deadline}` is not a duration up to 10s (e.g. \"4500ms\")")),
            }
        }
        c
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeCom {
    /// Messages per rolling minute per robot (default 20, WeCom's limit).
    messages_per_minute: Option<u32>,
    /// The group robots, each the chat `wecom:<name>`.
    #[serde(default)]
    robot: Vec<RawWeComRobot>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeComRobot {
    name: String,
    /// The robot's whole webhook address (with `key=`), or `env:NAME`.
    webhook: String,
    /// `text` (default) or `markdown`.
    format: Option<String>,
}

impl RawWeCom {
    fn resolve(self, problems: &mut Vec<String>) -> zhibu_wecom::WeComConfig {
        let mut c = zhibu_wecom::WeComConfig::default();
        match self.messages_per_minute {
            Some(n @ 1..=20) => c.per_minute = n,
            Some(_) => problems.push("wecom.messages_per_minute: between 1 and 20 (WeCom allows 20 a minute per robot)".into()),
            None => {}
        }
        if self.robot.is_empty() {
            problems.push("wecom: add a robot ([[wecom.robot]] with name and webhook)".into());
        }
        for (i, r) in self.robot.into_iter().enumerate() {
            let key = format!("wecom.robot[{i}]");
            let chat = format!("{}:{}", zhibu_wecom::PLATFORM, r.name);
            if ChatId::parse(&chat).is_err() || r.name.contains(char::is_whitespace) {
                problems.push(format!("{key}.name: `{}` must be a short name without spaces", r.name));
            } else if c.robots.iter().any(|o| o.name == r.name) {
                problems.push(format!("{key}.name: `{}` is used by two robots", r.name));
            }
            let format = match r.format.as_deref() {
                None | Some("text") => zhibu_wecom::Format::Text,
                Some("markdown") => zhibu_wecom::Format::Markdown,
                Some(other) => {
                    problems.push(format!("{key}.format: `{other}` is not \"text\" or \"markdown\""));
                    zhibu_wecom::Format::Text
                }
            };
            // The address is not repeated in problems: its key is the robot's secret.
            let Some(webhook) = secret(&format!("{key}.webhook"), Some(r.webhook), problems) else { continue };
            match zhibu_wecom::Webhook::parse(&webhook) {
                Ok(webhook) => c.robots.push(zhibu_wecom::RobotConfig { name: r.name, webhook, format }),
                Err(e) => problems.push(format!("{key}.webhook: {e}")),
            }
        }
        c
    }
}

/// Settings of the Matrix adapter, before the data dir is known.
#[derive(Debug, Clone)]
pub struct MatrixSettings {
    pub homeserver: String,
    pub user: String,
    pub password: Option<String>,
    pub access_token: Option<String>,
    pub device_id: String,
    pub allowed_inviters: Vec<String>,
    pub allowed_rooms: Vec<String>,
}

/// A secret as written, or `env:NAME` read from the environment (so it stays out of the file).
fn secret(key: &str, value: Option<String>, problems: &mut Vec<String>) -> Option<String> {
    let value = value?;
    match value.strip_prefix("env:") {
        Some(name) => std::env::var(name).map_err(|_| problems.push(format!("{key}: environment variable {name} is not set"))).ok(),
        None => Some(value),
    }
}

/// How much the bot takes from one member and one chat (the console is not limited).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    /// Commands a member may send at once (default 3)...
    member_burst: Option<u32>,
    /// ...then this many a minute (default 12; 0: no limit).
    member_per_minute: Option<u32>,
    /// Commands one chat may send at once, all members together (default 20)...
    chat_burst: Option<u32>,
    /// ...then this many a minute (default 60; 0: no limit).
    chat_per_minute: Option<u32>,
    /// Events waiting to be handled in one chat before more are shed (default 50).
    backlog: Option<usize>,
}

impl RawLimits {
    fn resolve(self, problems: &mut Vec<String>) -> crate::runtime::Limits {
        let default = crate::runtime::Limits::default();
        let mut rate = |burst: Option<u32>, per_minute: Option<u32>, default: crate::runtime::Rate, key: &str| {
            let rate = crate::runtime::Rate { burst: burst.unwrap_or(default.burst), per_minute: per_minute.unwrap_or(default.per_minute) };
            if !(1..=10_000).contains(&rate.burst) {
                problems.push(format!("limits.{key}_burst: between 1 and 10000"));
            }
            if rate.per_minute > 60_000 {
                problems.push(format!("limits.{key}_per_minute: at most 60000 (0: no limit)"));
            }
            rate
        };
        let member = rate(self.member_burst, self.member_per_minute, default.member, "member");
        let chat = rate(self.chat_burst, self.chat_per_minute, default.chat, "chat");
        let backlog = self.backlog.unwrap_or(default.backlog);
        if !(1..=100_000).contains(&backlog) {
            problems.push("limits.backlog: between 1 and 100000".into());
        }
        crate::runtime::Limits { member, chat, backlog }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoints {
    checkin: Option<RawActivity>,
    study: Option<RawActivity>,
    quiz: Option<RawActivity>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActivity {
    value: u32,
    daily_cap: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    name: String,
    /// `[second] minute hour day-of-month month day-of-week [year]`.
    cron: String,
    /// Default: the top-level timezone.
    timezone: Option<String>,
    /// study | quiz | report_reminder | digest
    kind: String,
    /// Branch ids; default all.
    #[serde(default)]
    branches: Vec<String>,
    /// How long after a missed fire it is still run on start (default "6h").
    catch_up: Option<String>,
    /// Quiz only: when the answer is posted (default "2h").
    close_after: Option<String>,
}

/// `90s`, `30m`, `6h`, `1d`.
fn parse_duration(s: &str) -> Option<chrono::Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = s[..split].parse().ok()?;
    match &s[split..] {
        "s" => Some(chrono::Duration::seconds(n)),
        "m" | "min" => Some(chrono::Duration::minutes(n)),
        "h" => Some(chrono::Duration::hours(n)),
        "d" => Some(chrono::Duration::days(n)),
        _ => None,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReports {
    /// Longest report accepted, in characters (default 20000).
    max_chars: Option<usize>,
    /// Role → how often its thought report is due (monthly, quarterly, half-yearly, yearly);
    /// default probationary and activist quarterly.
    cadence: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaq {
    /// Lowest match score the bot answers with, 0 to 1 (default 0.5).
    threshold: Option<f64>,
    /// Lowest score answered as "did you mean …?", up to `threshold` (default 0.4; equal to
    /// `threshold`: no grey zone).
    suggest_threshold: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBranch {
    id: String,
    name: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    auto_enroll: Option<bool>,
    /// Platforms whose direct chats belong to this branch (`["wxoa"]` for an Official Account).
    #[serde(default)]
    direct_enroll: Vec<String>,
    default_role: Option<String>,
    #[serde(default)]
    secretaries: Vec<String>,
    #[serde(default)]
    committee: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    /// Whether `zhibu run` reads the terminal (default true).
    enabled: Option<bool>,
    /// The speaker before any `:as` (default `guest`).
    initial_speaker: Option<String>,
    /// Longest input line in bytes (default 262144).
    max_line_bytes: Option<usize>,
}

/// Settings of the console adapter.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    pub enabled: bool,
    pub initial_speaker: String,
    pub max_line_bytes: usize,
}

/// The whole config, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub matrix: Option<MatrixSettings>,
    pub onebot: Option<zhibu_onebot::OneBotConfig>,
    pub wechat_oa: Option<zhibu_wechat_oa::WechatOaConfig>,
    pub wecom: Option<zhibu_wecom::WeComConfig>,
    pub jobs: Vec<crate::scheduler::JobSpec>,
    pub data_dir: Option<PathBuf>,
    pub console: ConsoleSettings,
    pub limits: crate::runtime::Limits,
}

/// A config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {}", .problems.join("\n  "))]
    Invalid { path: PathBuf, problems: Vec<String> },
}

impl Config {
    /// The built-in demo: one branch in the console group.
    pub fn demo() -> Self {
        Config {
            settings: Settings::demo(),
            matrix: None,
            onebot: None,
            wechat_oa: None,
            wecom: None,
            jobs: Vec::new(),
            data_dir: None,
            limits: crate::runtime::Limits::default(),
            console: ConsoleSettings { enabled: true, initial_speaker: "guest".into(), max_line_bytes: zhibu_chat::MAX_MESSAGE_BYTES },
        }
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax { path: path.to_owned(), message: syntax_message(&e) })?;
        raw.resolve().map_err(|problems| ConfigError::Invalid { path: path.to_owned(), problems })
    }
}

/// toml's message on one line, with its "at line L, column C" first.
fn syntax_message(e: &toml::de::Error) -> String {
    let first = e.to_string().lines().next().unwrap_or_default().trim_start_matches("TOML parse error ").to_owned();
    format!("{first}: {}", e.message().trim())
}

impl RawConfig {
    fn resolve(self) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, message: String| {
            if !ok {
                problems.push(message);
            }
        };
        let language = match self.language.as_deref().map(str::parse::<Lang>) {
            None => Lang::default(),
            Some(Ok(lang)) => lang,
            Some(Err(e)) => {
                check(false, format!("language: {e}"));
                Lang::default()
            }
        };
        let timezone = match self.timezone.as_deref().map(str::parse::<chrono_tz::Tz>) {
            None => settings::DEFAULT_TIMEZONE,
            Some(Ok(tz)) => tz,
            Some(Err(_)) => {
                check(false, format!("timezone: unknown timezone `{}` (use an IANA name such as Asia/Shanghai)", self.timezone.unwrap_or_default()));
                settings::DEFAULT_TIMEZONE
            }
        };
        let report_max_chars = self.reports.max_chars.unwrap_or(settings::DEFAULT_REPORT_MAX_CHARS);
        check((1..=1_000_000).contains(&report_max_chars), "reports.max_chars: must be between 1 and 1000000".into());
        let default = zhibu_commands::faq::Thresholds::DEFAULT;
        let answer = self.faq.threshold.unwrap_or(default.answer);
        check((0.0..=1.0).contains(&answer), "faq.threshold: must be between 0 and 1".into());
        let suggest = self.faq.suggest_threshold.unwrap_or(default.suggest.min(answer));
        check((0.0..=answer).contains(&suggest), "faq.suggest_threshold: must be between 0 and faq.threshold".into());
        let faq_thresholds = zhibu_commands::faq::Thresholds { answer, suggest };

        let mut branches = Vec::new();
        for (i, b) in self.branch.into_iter().enumerate() {
            let key = format!("branch[{i}]");
            match resolve_branch(b, &key) {
                Ok(branch) => branches.push(branch),
                Err(mut p) => problems.append(&mut p),
            }
        }
        for (i, b) in branches.iter().enumerate() {
            if branches[..i].iter().any(|o| o.id == b.id) {
                problems.push(format!("branch[{i}].id: `{}` is used by two branches", b.id));
            }
            for g in &b.groups {
                if branches[..i].iter().any(|o| o.groups.contains(g)) {
                    problems.push(format!("branch[{i}].groups: `{g}` belongs to two branches"));
                }
            }
        }
        let demo = Config::demo();
        if branches.is_empty() {
            branches = demo.settings.branches;
        }
        let console = ConsoleSettings {
            // The console is the default adapter: on unless another one is configured.
            enabled: self.console.enabled.unwrap_or(self.matrix.is_none() && self.onebot.is_none() && self.wechat_oa.is_none() && self.wecom.is_none()),
            initial_speaker: self.console.initial_speaker.unwrap_or(demo.console.initial_speaker),
            max_line_bytes: self.console.max_line_bytes.unwrap_or(demo.console.max_line_bytes),
        };
        if console.max_line_bytes < 1024 || console.max_line_bytes > zhibu_chat::MAX_MESSAGE_BYTES {
            problems.push(format!("console.max_line_bytes: must be between 1024 and {}", zhibu_chat::MAX_MESSAGE_BYTES));
        }
        if UserId::parse(&format!("console:{}", console.initial_speaker)).is_err() || console.initial_speaker.contains(char::is_whitespace) {
            problems.push("console.initial_speaker: must be a short name without spaces".into());
        }
        let mut points = settings::PointsSettings::default();
        for (slot, raw, key) in [
            (&mut points.checkin, self.points.checkin, "checkin"),
            (&mut points.study, self.points.study, "study"),
            (&mut points.quiz, self.points.quiz, "quiz"),
        ] {
            if let Some(raw) = raw {
                if raw.value > raw.daily_cap.max(1) * 1000 {
                    problems.push(format!("points.{key}: value is larger than plausible"));
                }
                *slot = settings::ActivityPoints { value: raw.value, daily_cap: raw.daily_cap };
            }
        }
        let mut report_cadence = settings::default_report_cadence();
        if let Some(raw) = &self.reports.cadence {
            report_cadence.clear();
            for (role, cadence) in raw {
                match (role.parse::<Role>(), settings::Cadence::parse(cadence)) {
                    (Ok(role), Some(cadence)) => report_cadence.push((role, cadence)),
                    (Err(e), _) => problems.push(format!("reports.cadence.{role}: {e}")),
                    (_, None) => problems.push(format!("reports.cadence.{role}: `{cadence}` is not monthly, quarterly, half-yearly or yearly")),
                }
            }
        }
        let jobs = resolve_jobs(self.job, timezone, &branches, &mut problems);
        let matrix = self.matrix.map(|m| {
            if m.password.is_none() && m.access_token.is_none() {
                problems.push("matrix: give password or access_token".into());
            }
            if !m.homeserver.starts_with("http://") && !m.homeserver.starts_with("https://") {
                problems.push(format!("matrix.homeserver: `{}` is not an http(s) URL", m.homeserver));
            }
            MatrixSettings {
                password: secret("matrix.password", m.password, &mut problems),
                access_token: secret("matrix.access_token", m.access_token, &mut problems),
                homeserver: m.homeserver,
                user: m.user,
                device_id: m.device_id.unwrap_or_else(|| "ZHIBU".into()),
                allowed_inviters: m.allowed_inviters,
                allowed_rooms: m.allowed_rooms,
            }
        });
        let limits = self.limits.resolve(&mut problems);
        let onebot = self.onebot.map(|o| o.resolve(&mut problems));
        let wechat_oa = self.wechat_oa.map(|w| w.resolve(&mut problems));
        let wecom = self.wecom.map(|w| w.resolve(&mut problems));
        check_wecom_groups(&branches, wecom.as_ref(), &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            matrix,
            onebot,
            wechat_oa,
            wecom,
            jobs,
            settings: Settings { language, timezone, report_max_chars, faq_thresholds, branches, points, report_cadence },
            data_dir: self.data_dir,
            console,
            limits,
        })
    }
}

/// A WeCom group is a configured robot: a typo in `wecom:<name>` would otherwise fail only when
/// the first push is due.
fn check_wecom_groups(branches: &[BranchSettings], wecom: Option<&zhibu_wecom::WeComConfig>, problems: &mut Vec<String>) {
    for (i, b) in branches.iter().enumerate() {
        for g in b.groups.iter().filter(|g| g.platform().as_str() == zhibu_wecom::PLATFORM) {
            if !wecom.is_some_and(|w| w.robots.iter().any(|r| r.name == g.local())) {
                problems.push(format!("branch[{i}].groups: `{g}` is not a robot in [[wecom.robot]]"));
            }
        }
    }
}

fn resolve_branch(b: RawBranch, key: &str) -> Result<BranchSettings, Vec<String>> {
    let mut problems = Vec::new();
    let id = BranchId::new(&b.id).map_err(|e| problems.push(format!("{key}.id: {e}"))).ok();
    let mut ids = |field: &str, values: &[String]| -> Vec<UserId> {
        values
            .iter()
            .enumerate()
            .filter_map(|(j, v)| {
                UserId::parse(v).map_err(|e| problems.push(format!("{key}.{field}[{j}]: `{v}`: {e} (write platform:id, e.g. console:secretary)"))).ok()
            })
            .collect()
    };
    let secretaries = ids("secretaries", &b.secretaries);
    let committee = ids("committee", &b.committee);
    let groups: Vec<ChatId> = b
        .groups
        .iter()
        .enumerate()
        .filter_map(|(j, g)| {
            ChatId::parse(g).map_err(|e| problems.push(format!("{key}.groups[{j}]: `{g}`: {e} (write platform:chat, e.g. console:group)"))).ok()
        })
        .collect();
    let direct_enroll: Vec<zhibu_chat::Platform> = b
        .direct_enroll
        .iter()
        .enumerate()
        .filter_map(|(j, p)| zhibu_chat::Platform::new(p).map_err(|e| problems.push(format!("{key}.direct_enroll[{j}]: `{p}`: {e}"))).ok())
        .collect();
    let default_role = match b.default_role.as_deref().map(str::parse::<Role>) {
        None => Role::Member,
        Some(Ok(role)) => role,
        Some(Err(e)) => {
            let all: Vec<&str> = Role::ALL.iter().map(|r| r.key()).collect();
            problems.push(format!("{key}.default_role: {e} (one of: {})", all.join(", ")));
            Role::Member
        }
    };
    match (id, problems.is_empty()) {
        (Some(id), true) => Ok(BranchSettings {
            name: b.name.unwrap_or_else(|| id.to_string()),
            id,
            groups,
            auto_enroll: b.auto_enroll.unwrap_or(false),
            direct_enroll,
            default_role,
            secretaries,
            committee,
        }),
        _ => Err(problems),
    }
}

fn resolve_jobs(raw: Vec<RawJob>, default_tz: chrono_tz::Tz, branches: &[BranchSettings], problems: &mut Vec<String>) -> Vec<JobSpec> {
    use zhibu_commands::jobs::JobKind;
    let mut jobs: Vec<JobSpec> = Vec::new();
    for (i, j) in raw.into_iter().enumerate() {
        let key = if j.name.trim().is_empty() { format!("job[{i}]") } else { format!("job[{i}] `{}`", j.name) };
        let before = problems.len();
        if j.name.trim().is_empty() || j.name.contains(['/', '@', '\0']) {
            problems.push(format!("{key}.name: give the job a name without `/` or `@`"));
        }
        if jobs.iter().any(|o| o.name == j.name) {
            problems.push(format!("{key}.name: `{}` is used by two jobs", j.name));
        }
        let timezone = match j.timezone.as_deref().map(str::parse::<chrono_tz::Tz>) {
            None => default_tz,
            Some(Ok(tz)) => tz,
            Some(Err(_)) => {
                problems.push(format!("{key}.timezone: unknown timezone `{}`", j.timezone.unwrap_or_default()));
                default_tz
            }
        };
        let duration = |field: &str, value: Option<&str>, default: chrono::Duration, problems: &mut Vec<String>| match value {
            None => default,
            Some(v) => parse_duration(v).unwrap_or_else(|| {
                problems.push(format!("{key}.{field}: `{v}` is not a duration (e.g. \"30m\", \"6h\", \"1d\")"));
                default
            }),
        };
        let catch_up = duration("catch_up", j.catch_up.as_deref(), DEFAULT_CATCH_UP, problems);
        let close_after = duration("close_after", j.close_after.as_deref(), chrono::Duration::hours(2), problems);
        let kind = match j.kind.as_str() {
            "study" => JobKind::StudyPush,
            "quiz" => {
                if close_after <= chrono::Duration::zero() || close_after > chrono::Duration::days(1) {
                    problems.push(format!("{key}.close_after: must be more than 0 and at most 1d"));
                }
                JobKind::Quiz { close_after }
            }
            "report_reminder" => JobKind::ReportReminder,
            "digest" => JobKind::WeeklyDigest,
            other => {
                problems.push(format!("{key}.kind: unknown kind `{other}` (study, quiz, report_reminder or digest)"));
                JobKind::StudyPush
            }
        };
        let mut ids = Vec::new();
        for b in &j.branches {
            match branches.iter().find(|s| s.id.as_str() == b) {
                Some(s) => ids.push(s.id.clone()),
                None => problems.push(format!("{key}.branches: no branch `{b}`")),
            }
        }
        match JobSpec::new(&j.name, &j.cron, timezone, kind, ids, catch_up) {
            Ok(job) if problems.len() == before => jobs.push(job),
            Ok(_) => {}
            Err(e) => problems.push(format!("{key}.cron: {e}")),
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("zhibu.toml"))
    }

    #[test]
    fn the_example_config_is_valid_and_documents_every_key() {
        let text = include_str!("../zhibu.example.toml");
        let config = parse(text).unwrap();
        assert_eq!(config.settings.branches.len(), 1);
        assert_eq!(config.jobs.len(), 4);
        for key in [
            "language",
            "timezone",
            "data_dir",
            "max_chars",
            "threshold",
            "groups",
            "auto_enroll",
            "direct_enroll",
            "default_role",
            "secretaries",
            "committee",
            "enabled",
            "initial_speaker",
            "max_line_bytes",
            "cron",
            "kind",
            "branches",
            "catch_up",
            "close_after",
            "value",
            "daily_cap",
            "member_burst",
            "member_per_minute",
            "chat_burst",
            "chat_per_minute",
            "backlog",
            "cadence",
            "messages_per_minute",
            "webhook",
            "format",
        ] {
            assert!(text.contains(&format!("{key} =")), "example does not show `{key}`");
        }
    }

    /// A commented-out section of the example config, uncommented (its comments dropped).
    fn commented_example(header: &str) -> String {
        let example = include_str!("../zhibu.example.toml");
        let start = example.find(header).unwrap();
        example[start..]
            .lines()
            .take_while(|l| l.starts_with('#'))
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn the_wechat_oa_section_is_read_and_checked() {
        let section = commented_example("# [wechat_oa]")
            .replace("env:WECHAT_OA_TOKEN", "zhibuToken1")
            .replace("env:WECHAT_OA_SECRET", "s3cret")
            .replace("env:WECHAT_OA_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG");
        let config = parse(&section).unwrap();
        let w = config.wechat_oa.unwrap();
        assert_eq!((w.listen.to_string().as_str(), w.path.as_str(), w.token.as_str()), ("127.0.0.1:8081", "/wechat", "zhibuToken1"));
        assert_eq!(w.reply_deadline, std::time::Duration::from_millis(4500));
        assert!(w.encoding_aes_key.is_some());
        assert!(!config.console.enabled, "a network adapter turns the console off");
        let bad = parse("[wechat_oa]\nlisten = \"nowhere\"\ntoken = \"a b\"\napp_id = \"wx1\"\napp_secret = \"x\"\nencoding_aes_key = \"short\"\nmode = \"paranoid\"\nreply_deadline = \"1h\"\n")
            .unwrap_err()
            .to_string();
        for key in ["wechat_oa.listen", "wechat_oa.token", "wechat_oa.encoding_aes_key", "wechat_oa.mode", "wechat_oa.reply_deadline"] {
            assert!(bad.contains(key), "{key}: {bad}");
        }
        let text =
            parse("[wechat_oa]\nlisten = \"127.0.0.1:1\"\ntoken = \"t\"\napp_id = \"wx1\"\napp_secret = \"x\"\nmode = \"safe\"\n").unwrap_err().to_string();
        assert!(text.contains("wechat_oa.mode: \"safe\" needs encoding_aes_key"), "{text}");
    }

    #[test]
    fn the_wecom_section_is_read_and_checked() {
        let section = commented_example("# [wecom]").replace("env:ZHIBU_WECOM_CS", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6");
        let config = parse(&format!("{section}[[branch]]\nid = \"cs\"\ngroups = [\"wecom:cs\"]\n")).unwrap();
        let w = config.wecom.unwrap();
        assert_eq!((w.per_minute, w.robots.len(), w.robots[0].name.as_str(), w.robots[0].format), (20, 1, "cs", zhibu_wecom::Format::Text));
        assert!(!config.console.enabled, "a robot turns the console off");

        let bad = parse(
            "[wecom]\nmessages_per_minute = 60\n[[wecom.robot]]\nname = \"a b\"\nwebhook = \"ftp://x/?key=secret1\"\nformat = \"html\"\n\
             [[wecom.robot]]\nname = \"b\"\nwebhook = \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send\"\n\
             [[wecom.robot]]\nname = \"c\"\nwebhook = \"env:ZHIBU_TEST_UNSET_WECOM_HOOK\"\n\
             [[branch]]\nid = \"x\"\ngroups = [\"wecom:typo\"]\n",
        )
        .unwrap_err()
        .to_string();
        for expected in [
            "wecom.messages_per_minute: between 1 and 20",
            "wecom.robot[0].name: `a b`",
            "wecom.robot[0].webhook: not an http:// or https:// URL",
            "wecom.robot[0].format: `html`",
            "wecom.robot[1].webhook: has no `key=`",
            "wecom.robot[2].webhook: environment variable ZHIBU_TEST_UNSET_WECOM_HOOK is not set",
            "branch[0].groups: `wecom:typo` is not a robot in [[wecom.robot]]",
        ] {
            assert!(bad.contains(expected), "{expected}: {bad}");
        }
        assert!(!bad.contains("secret1"), "webhook keys stay out of messages: {bad}");
        let text = parse("[[branch]]\nid = \"x\"\ngroups = [\"wecom:cs\"]\n").unwrap_err().to_string();
        assert!(text.contains("`wecom:cs` is not a robot"), "{text}");
    }

    #[test]
    fn limits_have_defaults_and_are_checked() {
        let config = parse("").unwrap();
        assert_eq!(config.limits, crate::runtime::Limits::default());
        let config = parse("[limits]\nmember_per_minute = 0\nchat_burst = 40\nbacklog = 10\n").unwrap();
        assert_eq!((config.limits.member.per_minute, config.limits.chat.burst, config.limits.backlog), (0, 40, 10));
        let text = parse("[limits]\nmember_burst = 0\nchat_per_minute = 100000\nbacklog = 0\nburst = 3\n").unwrap_err().to_string();
        assert!(text.contains("unknown field `burst`"), "{text}");
        let text = parse("[limits]\nmember_burst = 0\nchat_per_minute = 100000\nbacklog = 0\n").unwrap_err().to_string();
        for key in ["limits.member_burst", "limits.chat_per_minute", "limits.backlog"] {
            assert!(text.contains(key), "{key}: {text}");
        }
    }

    #[test]
    fn an_empty_config_is_the_demo() {
        let config = parse("").unwrap();
        assert_eq!(config.settings.branches[0].id.as_str(), "demo");
        assert!(config.console.enabled);
    }

    #[test]
    fn problems_name_their_keys() {
        let err = parse("timezone = \"Mars/Olympus\"\n[[branch]]\nid = \"a\"\ndefault_role = \"boss\"\nsecretaries = [\"nobody\"]\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("timezone: unknown timezone `Mars/Olympus`"), "{text}");
        assert!(text.contains("branch[0].default_role: unknown role `boss`"), "{text}");
        assert!(text.contains("branch[0].secretaries[0]"), "{text}");
        let text = parse("[reports]\ncadence = { candidate = \"weekly\", boss = \"monthly\" }\n").unwrap_err().to_string();
        assert!(text.contains("reports.cadence.candidate: `weekly` is not monthly"), "{text}");
        assert!(text.contains("reports.cadence.boss: unknown role `boss`"), "{text}");
        let ok = parse("[reports]\ncadence = { candidate = \"monthly\" }\n").unwrap();
        assert_eq!(ok.settings.report_cadence, vec![(Role::Candidate, settings::Cadence::Monthly)]);
    }

    #[test]
    fn onebot_forward_urls_must_be_plain_websocket() {
        let text = parse("[onebot]\n[[onebot.connect]]\nurl = \"wss://qq.example.org/ws\"\n[[onebot.connect]]\nurl = \"http://127.0.0.1:3001\"\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("onebot.connect[0].url: `wss://qq.example.org/ws`: wss:// is not supported"), "{text}");
        assert!(text.contains("onebot.connect[1].url: `http://127.0.0.1:3001` is not a ws:// URL"), "{text}");
        let ok = parse("[onebot]\n[[onebot.connect]]\nurl = \"ws://127.0.0.1:3001\"\n").unwrap();
        assert_eq!(ok.onebot.unwrap().connect[0].url, "ws://127.0.0.1:3001");
    }

    #[test]
    fn bad_jobs_are_reported_with_their_names() {
        let text = parse(
            "[[job]]\nname = \"morning\"\ncron = \"0 25 * * *\"\nkind = \"study\"\n\
             [[job]]\nname = \"quiz\"\ncron = \"0 12 * * Tue\"\nkind = \"quiz\"\ntimezone = \"Asia/Peking\"\nclose_after = \"soon\"\n\
             [[job]]\nname = \"x\"\ncron = \"0 9 * * Mon\"\nkind = \"party\"\nbranches = [\"nope\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(text.contains("job[0] `morning`.cron: invalid cron expression `0 25 * * *`"), "{text}");
        assert!(text.contains("job[1] `quiz`.timezone: unknown timezone `Asia/Peking`"), "{text}");
        assert!(text.contains("job[1] `quiz`.close_after: `soon` is not a duration"), "{text}");
        assert!(text.contains("job[2] `x`.kind: unknown kind `party`"), "{text}");
        assert!(text.contains("job[2] `x`.branches: no branch `nope`"), "{text}");
    }

    #[test]
    fn unknown_keys_and_bad_syntax_are_reported() {
        let text = parse("langauge = \"en\"").unwrap_err().to_string();
        assert!(text.contains("unknown field `langauge`"), "{text}");
        let text = parse("[[branch]\nid=").unwrap_err().to_string();
        assert!(text.starts_with("zhibu.toml: "), "{text}");
    }
}
