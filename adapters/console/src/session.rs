//! The console session's state: who is speaking and in which chat, and what each line means.

use chrono::Utc;
use zhibu_chat::{sanitize_text, ChatId, ChatKind, Event, IdError, Incoming, MessageId, Platform, RejectReason, Sender, UserId};

use crate::line_reader::Line;

/// The console's platform name: ids look like `console:alice`, `console:group`.
pub fn platform() -> Platform {
    // A constant, valid platform name: cannot fail.
    Platform::new("console").unwrap_or_else(|_| unreachable!("`console` is a valid platform name"))
}

/// The direct chat between the bot and the console speaker `name`.
pub fn direct_chat(name: &str) -> Option<ChatId> {
    ChatId::new(&platform(), &format!("dm/{name}")).ok()
}

/// Texts the console shows itself, taken from the bot's catalog by whoever builds the adapter.
#[derive(Debug, Clone)]
pub struct ConsoleLabels {
    /// Prompt label of the group chat, e.g. `群聊`.
    pub group: String,
    /// Prompt label of the direct chat, e.g. `私聊`.
    pub direct: String,
    /// Shown when `:as` gets an unusable name.
    pub invalid_name: String,
    /// Shown for a `:` line that is not a console directive.
    pub unknown_directive: String,
}

/// What the adapter should do with one line.
#[derive(Debug)]
pub enum Directive {
    Deliver(Box<Event>),
    Notice(String),
    Nothing,
    Quit,
}

const MAX_NAME_CHARS: usize = 32;

pub struct Session {
    speaker: UserId,
    speaker_name: String,
    kind: ChatKind,
    labels: ConsoleLabels,
    max_line_bytes: usize,
    /// Message ids must stay unique across runs (the runtime may remember ids it has seen), so
    /// they start from the start time in microseconds and count up.
    next_id: u64,
}

impl Session {
    pub fn new(initial_speaker: &str, labels: ConsoleLabels, max_line_bytes: usize) -> Result<Self, IdError> {
        let start = u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0);
        Ok(Self {
            speaker: UserId::new(&platform(), initial_speaker)?,
            speaker_name: initial_speaker.to_owned(),
            kind: ChatKind::Group,
            labels,
            max_line_bytes,
            next_id: start,
        })
    }

    /// The chat the current speaker is in: the branch group, or their own direct chat.
    pub fn chat(&self) -> ChatId {
        let chat = match self.kind {
            ChatKind::Group => ChatId::new(&platform(), "group").ok(),
            ChatKind::Direct => direct_chat(&self.speaker_name),
        };
        // Names are validated when set; a valid name always makes a valid chat id.
        chat.unwrap_or_else(|| unreachable!("validated speaker name"))
    }

    pub fn prompt(&self) -> String {
        let label = match self.kind {
            ChatKind::Group => &self.labels.group,
            ChatKind::Direct => &self.labels.direct,
        };
        format!("[{label} · {}]> ", self.speaker_name)
    }

    pub fn handle(&mut self, line: Line) -> Directive {
        let bytes = match line {
            Line::Eof => return Directive::Quit,
            Line::TooLong => return self.reject(RejectReason::TooLong { limit_bytes: self.max_line_bytes }),
            Line::Bytes(bytes) => bytes,
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return self.reject(RejectReason::InvalidEncoding);
        };
        let text = sanitize_text(&text);
        let trimmed = text.trim();
        if let Some(directive) = trimmed.strip_prefix(':') {
            return self.directive(directive);
        }
        self.message(text)
    }

    fn directive(&mut self, directive: &str) -> Directive {
        let (word, arg) = directive.split_once(char::is_whitespace).unwrap_or((directive, ""));
        match word {
            "as" => self.switch_speaker(arg.trim()),
            "group" => {
                self.kind = ChatKind::Group;
                Directive::Nothing
            }
            "dm" => {
                self.kind = ChatKind::Direct;
                Directive::Nothing
            }
            "quit" | "q" | "exit" => Directive::Quit,
            _ => Directive::Notice(self.labels.unknown_directive.clone()),
        }
    }

    fn switch_speaker(&mut self, name: &str) -> Directive {
        let valid = !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS && !name.chars().any(|c| c.is_whitespace() || c == '/');
        match (valid, UserId::new(&platform(), name)) {
            (true, Ok(id)) => {
                self.speaker = id;
                self.speaker_name = name.to_owned();
                Directive::Nothing
            }
            _ => Directive::Notice(self.labels.invalid_name.clone()),
        }
    }

    fn sender(&self) -> Sender {
        Sender { id: self.speaker.clone(), display_name: self.speaker_name.clone() }
    }

    fn message(&mut self, text: String) -> Directive {
        self.next_id += 1;
        let Ok(id) = MessageId::new(&platform(), &self.next_id.to_string()) else {
            return Directive::Nothing;
        };
        Directive::Deliver(Box::new(Event::Message(Incoming {
            chat: self.chat(),
            chat_kind: self.kind,
            sender: self.sender(),
            text,
            mentions: Vec::new(),
            reply_to: None,
            id,
            timestamp: Utc::now(),
            bare_commands: false,
        })))
    }

    fn reject(&self, reason: RejectReason) -> Directive {
        Directive::Deliver(Box::new(Event::Rejected { chat: self.chat(), chat_kind: self.kind, sender: self.sender(), reason, id: None }))
    }

    #[cfg(test)]
    pub fn speaker(&self) -> &str {
        &self.speaker_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> ConsoleLabels {
        ConsoleLabels { group: "group".into(), direct: "dm".into(), invalid_name: "bad name".into(), unknown_directive: "unknown".into() }
    }

    fn text_of(d: Directive) -> (String, ChatKind, String) {
        match d {
            Directive::Deliver(event) => match *event {
                Event::Message(m) => (m.text, m.chat_kind, m.chat.to_string()),
                other => panic!("not a message: {other:?}"),
            },
            other => panic!("not delivered: {other:?}"),
        }
    }

    #[test]
    fn directives_switch_speaker_and_chat() {
        let mut s = Session::new("guest", labels(), 1024).unwrap();
        assert!(matches!(s.handle(Line::Bytes(b":as alice".to_vec())), Directive::Nothing));
        assert_eq!(s.speaker(), "alice");
        let (text, kind, chat) = text_of(s.handle(Line::Bytes("/签到".as_bytes().to_vec())));
        assert_eq!((text.as_str(), kind, chat.as_str()), ("/签到", ChatKind::Group, "console:group"));
        s.handle(Line::Bytes(b":dm".to_vec()));
        let (_, kind, chat) = text_of(s.handle(Line::Bytes(b"hi".to_vec())));
        assert_eq!((kind, chat.as_str()), (ChatKind::Direct, "console:dm/alice"));
        assert_eq!(s.prompt(), "[dm · alice]> ");
        assert!(matches!(s.handle(Line::Bytes(b":quit".to_vec())), Directive::Quit));
    }

    #[test]
    fn bad_names_and_directives_get_notices() {
        let mut s = Session::new("guest", labels(), 1024).unwrap();
        for bad in [":as", ":as a b", ":as \u{7}", &format!(":as {}", "名".repeat(33))] {
            assert!(matches!(s.handle(Line::Bytes(bad.as_bytes().to_vec())), Directive::Notice(t) if t == "bad name"), "{bad}");
        }
        assert_eq!(s.speaker(), "guest");
        assert!(matches!(s.handle(Line::Bytes(b":nope".to_vec())), Directive::Notice(t) if t == "unknown"));
    }

    #[test]
    fn undecodable_and_oversized_lines_are_rejected_not_dropped() {
        let mut s = Session::new("guest", labels(), 1024).unwrap();
        let d = s.handle(Line::Bytes(vec![0xff, 0x2f]));
        assert!(matches!(d, Directive::Deliver(e) if matches!(*e, Event::Rejected { reason: RejectReason::InvalidEncoding, .. })));
        let d = s.handle(Line::TooLong);
        assert!(matches!(d, Directive::Deliver(e) if matches!(*e, Event::Rejected { reason: RejectReason::TooLong { .. }, .. })));
    }

    #[test]
    fn message_ids_are_unique() {
        let mut s = Session::new("guest", labels(), 1024).unwrap();
        let id = |d: Directive| match d {
            Directive::Deliver(e) => match *e {
                Event::Message(m) => m.id,
                _ => panic!(),
            },
            _ => panic!(),
        };
        let a = id(s.handle(Line::Bytes(b"x".to_vec())));
        let b = id(s.handle(Line::Bytes(b"x".to_vec())));
        assert_ne!(a, b);
    }
}
