//! Durability tickets: a write that someone will be told of hands back a [`Ticket`], its place
//! in the order of the store's writes. The ticket is durable once a flush that started after the
//! write has finished. Writes return at once, without an fsync of their own; the runtime's one
//! flusher makes many writes durable with one fsync (group commit), and a reply that confirms a
//! write is sent only once the write's ticket is durable.

use std::sync::atomic::{AtomicU64, Ordering};

/// A write's place in the store's order (see the module documentation).
#[must_use = "a write's ticket says when it is durable: hand it to the reply that confirms the write"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(u64);

impl Ticket {
    /// The ticket durable once both are: the later one.
    pub fn and(self, other: Ticket) -> Ticket {
        self.max(other)
    }
}

/// A write's result with its ticket.
#[must_use = "a write's ticket says when it is durable: hand it to the reply that confirms the write"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<T> {
    pub value: T,
    pub ticket: Ticket,
}

/// What an insert that keeps the first record found: the new record's ticket, or the record
/// that was there (nothing written).
#[must_use = "a write's ticket says when it is durable: hand it to the reply that confirms the write"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insert<T> {
    Written(Ticket),
    Existing(T),
}

/// The store's counts of writes made and made durable.
#[derive(Debug, Default)]
pub(super) struct Durability {
    written: AtomicU64,
    durable: AtomicU64,
}

impl Durability {
    /// A ticket for a write that has completed: any flush that starts from now on covers it.
    pub(super) fn wrote(&self) -> Ticket {
        Ticket(self.written.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// How many writes have completed: a flush that starts now covers them all.
    pub(super) fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// A flush that started once `upto` writes had completed has finished.
    pub(super) fn flushed(&self, upto: u64) {
        self.durable.fetch_max(upto, Ordering::SeqCst);
    }

    pub(super) fn is_durable(&self, ticket: Ticket) -> bool {
        self.durable.load(Ordering::SeqCst) >= ticket.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_durable_once_a_flush_that_started_after_it_finished() {
        let d = Durability::default();
        let first = d.wrote();
        let upto = d.written();
        let second = d.wrote();
        assert!(!d.is_durable(first));
        d.flushed(upto);
        assert!(d.is_durable(first), "the flush began after the first write");
        assert!(!d.is_durable(second), "the second write came after the flush began");
        assert_eq!(first.and(second), second);
        d.flushed(d.written());
        assert!(d.is_durable(second));
        // A slow flush that finishes last does not move the mark back.
        d.flushed(upto);
        assert!(d.is_durable(second));
    }
}
