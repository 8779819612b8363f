//! The console adapter: stdin plays a branch group and each speaker's direct chat with the bot;
//! the bot's replies are printed on stdout, each line prefixed `bot> `.
//!
//! Lines starting with `:` steer the session: `:as NAME` switches speaker, `:group` and `:dm`
//! switch chat, `:quit` ends. A prompt is shown only when stdin is a terminal, so a script that
//! pipes lines in reads nothing but replies.

mod line_reader;
mod session;

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::io::{AsyncRead, BufReader};
use tokio_util::sync::CancellationToken;
use zhibu_chat::{Adapter, AdapterError, ChatId, EventSink, MessageId, Outgoing, Platform, SendError};

use crate::line_reader::{read_line_capped, Line};
use crate::session::Session;
pub use crate::session::{ConsoleLabels, Directive};

/// Settings of the console adapter.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// The speaker before any `:as`.
    pub initial_speaker: String,
    /// Longest line accepted, in bytes; longer lines are answered with a "too long" notice.
    pub max_line_bytes: usize,
    /// Texts the adapter shows itself (prompt, notices), from the bot's message catalog.
    pub labels: ConsoleLabels,
}

/// The console adapter. Reads `input` (stdin by default) and writes to stdout.
pub struct ConsoleAdapter {
    platform: Platform,
    config: ConsoleConfig,
    /// The chat shown in the prompt; replies to other chats are marked with their chat.
    current_chat: Mutex<Option<ChatId>>,
    input: Mutex<Option<Box<dyn AsyncRead + Send + Unpin>>>,
    interactive: bool,
}

impl ConsoleAdapter {
    /// An adapter over the process's stdin and stdout.
    pub fn stdio(config: ConsoleConfig) -> Self {
        let interactive = std::io::stdin().is_terminal();
        Self::with_input(config, Box::new(tokio::io::stdin()), interactive)
    }

    /// An adapter over any input (tests feed it a byte slice).
    pub fn with_input(config: ConsoleConfig, input: Box<dyn AsyncRead + Send + Unpin>, interactive: bool) -> Self {
        Self { platform: session::platform(), config, current_chat: Mutex::new(None), input: Mutex::new(Some(input)), interactive }
    }

    fn set_current_chat(&self, chat: ChatId) {
        if let Ok(mut current) = self.current_chat.lock() {
            *current = Some(chat);
        }
    }

    fn print(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (the reader went away) is not worth crashing the bot over.
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    fn notice(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }
}

#[async_trait]
impl Adapter for ConsoleAdapter {
    fn platform(&self) -> &Platform {
        &self.platform
    }

    async fn run(&self, sink: EventSink, shutdown: CancellationToken) -> Result<(), AdapterError> {
        let input = self.input.lock().ok().and_then(|mut slot| slot.take()).ok_or_else(|| AdapterError::Protocol("console input already taken".into()))?;
        let mut reader = BufReader::new(input);
        let mut session = Session::new(&self.config.initial_speaker, self.config.labels.clone(), self.config.max_line_bytes)
            .map_err(|e| AdapterError::Protocol(e.to_string()))?;
        loop {
            self.set_current_chat(session.chat());
            if self.interactive {
                self.print(&session.prompt());
            }
            let line = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                line = read_line_capped(&mut reader, self.config.max_line_bytes) => line?,
            };
            let line = match line {
                Line::Eof => return Ok(()),
                other => other,
            };
            match session.handle(line) {
                Directive::Deliver(event) => sink.deliver_and_wait(*event).await?,
                Directive::Notice(text) => self.notice(&text),
                Directive::Nothing => {}
                Directive::Quit => return Ok(()),
            }
        }
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<MessageId>, SendError> {
        let current = self.current_chat.lock().ok().and_then(|c| c.clone());
        let marker = match current {
            Some(chat) if chat != message.chat => format!("[→ {}] ", message.chat.local()),
            _ => String::new(),
        };
        let mut out = String::new();
        for line in zhibu_chat::sanitize_text(&message.text).lines() {
            out.push_str("bot> ");
            out.push_str(&marker);
            out.push_str(line);
            out.push('\n');
        }
        if let Some(image) = &message.image {
            out.push_str(&format!("bot> {marker}[image: {}]\n", image.display()));
        }
        self.print(&out);
        Ok(None)
    }

    fn direct_chat(&self, user: &zhibu_chat::UserId) -> Option<ChatId> {
        session::direct_chat(user.local())
    }

    fn ends_session(&self) -> bool {
        true
    }
}
