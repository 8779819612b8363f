//! The chat model every zhibu adapter speaks: who wrote what, where, and what the bot says back.
//!
//! An adapter turns protocol traffic into [`Event`]s and sends [`Outgoing`] messages; it knows
//! nothing of check-ins or FAQs. The model itself does no I/O: it is plain data plus the
//! [`Adapter`] trait that the runtime drives.

mod adapter;
mod id;
mod message;
mod text;

pub use adapter::{Adapter, AdapterError, Closed, Envelope, EventSink, Handled, Router, SendError};
pub use id::{ChatId, IdError, MessageId, Platform, UserId};
pub use message::{ChatKind, Event, Incoming, Mention, Outgoing, RejectReason, Sender};
pub use text::{sanitize_text, split_lines, MAX_MESSAGE_BYTES};
