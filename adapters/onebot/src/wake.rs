//! How much unread data it takes to wake a connection: the socket's receive low-water mark
//! (`SO_RCVLOWAT`).
//!
//! A reply costs the bot two wakeups: one for the event, one for the implementation's response
//! to the reply's `send_group_msg`. The second is rarely needed at once: the runtime's sender
//! waits for it only to send the next reply, and says so when it has one ([`zhibu_chat::Hurry`]).
//! While every call waiting on a connection is unhurried, the connection raises the mark to one
//! byte more than their responses are expected to take: the kernel then wakes the bot for
//! anything else (an event, a response someone hurries for), and the responses are read along
//! with it. Linux's TCP honours the mark in `epoll` (since 4.19) and checks it again whenever it
//! is set, so lowering it wakes the reader at once if enough is waiting. Elsewhere, and for
//! sockets that refuse it, the mark stays at 1 and every frame wakes the bot as before.

use std::io;

/// A stream whose reader can be told how many unread bytes are worth waking for.
pub trait WakeMark {
    fn set_wake_mark(&self, bytes: usize) -> io::Result<()>;
}

impl<S: WakeMark> WakeMark for crate::read_ahead::ReadAhead<S> {
    fn set_wake_mark(&self, bytes: usize) -> io::Result<()> {
        self.get_ref().set_wake_mark(bytes)
    }
}

impl WakeMark for tokio::net::TcpStream {
    #[cfg(target_os = "linux")]
    fn set_wake_mark(&self, bytes: usize) -> io::Result<()> {
        set_rcvlowat(std::os::fd::AsFd::as_fd(self), bytes)
    }

    #[cfg(not(target_os = "linux"))]
    fn set_wake_mark(&self, _bytes: usize) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// `setsockopt(SOL_SOCKET, SO_RCVLOWAT)`, which no safe wrapper we depend on offers.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_rcvlowat(socket: std::os::fd::BorrowedFd<'_>, bytes: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: the descriptor is open for the borrow's lifetime, and the option value is a live
    // c_int whose size is passed with it; the kernel only reads it.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::from_ref(&value).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The mark a connection has set, so that it is only set again when it changes.
#[derive(Debug)]
pub struct Mark {
    /// What the socket holds now (1, the kernel's default, until set).
    now: usize,
    /// False once the socket refused: the mark is then left alone.
    usable: bool,
}

impl Default for Mark {
    fn default() -> Self {
        Self { now: 1, usable: true }
    }
}

impl Mark {
    /// Makes `wanted` the socket's mark.
    pub fn set(&mut self, socket: &impl WakeMark, wanted: usize) {
        let wanted = wanted.max(1);
        if !self.usable || wanted == self.now {
            return;
        }
        match socket.set_wake_mark(wanted) {
            Ok(()) => self.now = wanted,
            Err(e) => {
                tracing::debug!(error = %e, "the socket takes no receive low-water mark; every frame wakes the bot");
                self.usable = false;
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dial = TcpStream::connect(listener.local_addr().unwrap());
        let (accepted, dialled) = tokio::join!(listener.accept(), dial);
        (accepted.unwrap().0, dialled.unwrap())
    }

    async fn wakes(reader: &TcpStream) -> bool {
        tokio::time::timeout(Duration::from_millis(150), reader.readable()).await.is_ok()
    }

    /// Reads everything waiting; the next read finds nothing, as the connection leaves it.
    fn drain(reader: &TcpStream) -> usize {
        let mut buf = [0u8; 256];
        let mut total = 0;
        loop {
            match reader.try_read(&mut buf) {
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[tokio::test]
    async fn the_reader_wakes_only_for_the_mark_and_at_once_when_it_is_lowered_below_what_waits() {
        let (reader, mut writer) = pair().await;
        assert_eq!(drain(&reader), 0);
        let mut mark = Mark::default();
        mark.set(&reader, 100);
        writer.write_all(&[b'r'; 99]).await.unwrap();
        assert!(!wakes(&reader).await, "woken below the mark");
        writer.write_all(b"e").await.unwrap();
        assert!(wakes(&reader).await, "not woken at the mark");
        assert_eq!(drain(&reader), 100);

        writer.write_all(&[b'r'; 40]).await.unwrap();
        assert!(!wakes(&reader).await, "woken below the mark");
        mark.set(&reader, 1);
        assert!(wakes(&reader).await, "lowering the mark under what waits did not wake the reader");
        assert_eq!(drain(&reader), 40);
    }
}
