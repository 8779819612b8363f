//! How much unread data it takes to wake a connection: the socket's receive low-water mark
//! (`SO_RCVLOWAT`).
//!
//! A reply costs the bot two wakeups: one for the event, one for the implementation's response
//! to the reply's `send_group_msg`. The second is rarely needed at once: the runtime's sender
//! waits for it only to send the next reply, and says so when it has one ([`zhibu_chat::Hurry`]).
//! While every call waiting on a connection is unhurried, the connection raises the mark to one
//! byte more than their responses are expected to take: the kernel then wakes the bot for
//! anything else (an event, a response someone hurries for), and the responses are read along
//! with it. While a frame is partly read the mark is 1 (`ReadAhead`), so the rest of a frame
//! never waits, however small.
//!
//! Linux's TCP honours the mark in `epoll`, and recent kernels check it again whenever it is set,
//! so lowering it wakes the reader at once if enough is waiting. Older kernels do not, and a
//! response below the mark would wait for the next segment: [`probe`] tries it once per process
//! and the mark is only raised where it works. Elsewhere than Linux, on sockets that refuse it,
//! on forward connections (see `ReadAhead::frames_start`) and without the liveness tick, the mark
//! stays at 1 and every frame wakes the bot.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use crate::frame_edges::FrameEdges;

/// A socket whose reader can be told how many unread bytes are worth waking for.
pub trait SocketMark {
    fn set_socket_mark(&self, bytes: usize) -> io::Result<()>;
}

/// A connection's stream that keeps its socket's mark: `bytes` while nothing else needs
/// reading at once (see `ReadAhead`, which lowers it while a frame is partly read).
pub trait WakeMark {
    fn want_wake_mark(&mut self, bytes: usize);
}

impl SocketMark for tokio::net::TcpStream {
    #[cfg(target_os = "linux")]
    fn set_socket_mark(&self, bytes: usize) -> io::Result<()> {
        set_rcvlowat(std::os::fd::AsFd::as_fd(self), bytes)
    }

    #[cfg(not(target_os = "linux"))]
    fn set_socket_mark(&self, _bytes: usize) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// In-memory streams (tests) have no mark.
impl SocketMark for tokio::io::DuplexStream {
    fn set_socket_mark(&self, _bytes: usize) -> io::Result<()> {
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

/// What [`probe`] found: whether lowering the mark wakes a reader with enough waiting.
static LOWERING_WAKES: OnceLock<bool> = OnceLock::new();

/// Finds out, once per process, whether this kernel wakes a waiting reader when its mark is
/// lowered below what waits (recent Linux kernels do; older ones honour the mark in `epoll` but
/// say nothing when it changes, so a response below the mark would wait for the next segment,
/// however long that takes). Until it has run, and if it fails, marks stay at 1.
pub async fn probe() -> bool {
    if let Some(&found) = LOWERING_WAKES.get() {
        return found;
    }
    let found = match lowering_wakes().await {
        Ok(found) => found,
        Err(e) => {
            tracing::debug!(error = %e, "cannot try the receive low-water mark");
            false
        }
    };
    if !found {
        tracing::info!("this system does not wake a reader when its receive low-water mark is lowered; OneBot responses are read as they come");
    }
    *LOWERING_WAKES.get_or_init(|| found)
}

/// Whether connections may raise their mark: [`probe`] said yes, and the liveness tick that
/// lowers it again is running.
pub fn usable() -> bool {
    LOWERING_WAKES.get().copied().unwrap_or(false) && crate::ticker::ticks().has_changed().is_ok()
}

/// The trial behind [`probe`], on a loopback connection and the runtime's own `epoll`.
async fn lowering_wakes() -> io::Result<bool> {
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let (accepted, dialled) = tokio::join!(listener.accept(), TcpStream::connect(listener.local_addr()?));
    let (reader, mut writer) = (accepted?.0, dialled?);
    // A fresh socket may start out reported readable; a read that finds nothing clears that.
    let mut nothing = [0u8; 1];
    match reader.try_read(&mut nothing) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        _ => return Ok(false),
    }
    reader.set_socket_mark(64)?;
    writer.write_all(&[0; 16]).await?;
    // Below the mark nothing wakes the reader (waiting here also lets the runtime take any
    // wakeup the data's arrival queued, which would pass the test below on a kernel that fails it).
    if tokio::time::timeout(Duration::from_millis(20), reader.readable()).await.is_ok() {
        return Ok(false);
    }
    reader.set_socket_mark(1)?;
    Ok(tokio::time::timeout(Duration::from_millis(200), reader.readable()).await.is_ok())
}

/// The mark a connection's socket holds, and the one its connection wants between frames.
/// Only set again when it changes.
#[derive(Debug)]
pub struct Mark {
    /// What the socket holds now (1, the kernel's default, until set).
    now: usize,
    /// False where marks are not to be raised: the mark then stays at 1.
    usable: bool,
    /// What the connection wants while no frame is partly read.
    wanted: usize,
    /// Frame boundaries in what is read, once known (see [`Mark::frames_start`]). While they are
    /// unknown, or a frame is partly read, the mark is 1.
    edges: Option<FrameEdges>,
}

impl Mark {
    /// A mark left at 1 until [`Mark::frames_start`].
    pub fn new() -> Self {
        Self { now: 1, usable: false, wanted: 1, edges: None }
    }

    /// From the next byte read, the socket carries WebSocket frames from a client (masked). The
    /// mark may be raised from now on, where [`usable`] says it works.
    pub fn frames_start(&mut self) {
        self.edges = Some(FrameEdges::new(true));
        self.usable = usable();
    }

    /// The connection wants `bytes` between frames.
    pub fn want(&mut self, socket: &impl SocketMark, bytes: usize) {
        self.wanted = bytes.max(1);
        self.apply(socket);
    }

    /// Follows `read`, just read from the socket.
    pub fn follow(&mut self, socket: &impl SocketMark, read: &[u8]) {
        if let Some(edges) = &mut self.edges {
            edges.feed(read);
            self.apply(socket);
        }
    }

    fn apply(&mut self, socket: &impl SocketMark) {
        let between_frames = self.edges.as_ref().is_some_and(|e| !e.mid_frame());
        self.set(socket, if between_frames { self.wanted } else { 1 });
    }

    /// Makes `wanted` the socket's mark.
    fn set(&mut self, socket: &impl SocketMark, wanted: usize) {
        let wanted = wanted.max(1);
        if !self.usable || wanted == self.now {
            return;
        }
        match socket.set_socket_mark(wanted) {
            Ok(()) => self.now = wanted,
            Err(e) => {
                tracing::debug!(error = %e, "the socket takes no receive low-water mark; every frame wakes the bot");
                self.usable = false;
                if self.now > 1 && socket.set_socket_mark(1).is_ok() {
                    self.now = 1;
                }
            }
        }
    }
}

impl Default for Mark {
    fn default() -> Self {
        Self::new()
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
        let mut mark = Mark { usable: true, ..Mark::new() };
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

    /// The trial that decides whether connections raise their mark passes on the kernels this
    /// project supports (CI's included); on one where it fails, the bot still works, with a
    /// wakeup more per message.
    #[tokio::test]
    async fn the_probe_finds_that_lowering_the_mark_wakes_a_waiting_reader() {
        assert!(probe().await, "this kernel does not wake a reader when its mark is lowered");
        assert!(usable());
    }
}
