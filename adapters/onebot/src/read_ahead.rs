//! A socket that reads everything waiting in one system call, and keeps its wake mark.
//!
//! tungstenite reads into whatever room is left in its frame buffer. When a frame straddles the
//! end of that room, it reads twice, and when a read fills the room exactly, tokio cannot tell
//! that the socket is empty and the next read is a wasted `EAGAIN`. At 200 OneBot messages a
//! second that came to 2.4 reads per message where 2 suffice (an event in, the response to our
//! reply in). [`ReadAhead`] reads up to [`READ_AHEAD_BYTES`] at a time into a buffer of its own,
//! so one read drains the socket, and serves tungstenite's reads from it.
//!
//! Since every byte read passes here, it also keeps the socket's receive low-water mark (see
//! `wake`): the mark the connection wants, except while the bytes read end inside a frame, when
//! it is 1 so that the rest of the frame wakes the bot however small it is.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::wake::{Mark, SocketMark, WakeMark};

/// The most read from the socket at a time: many OneBot frames (events are a few hundred
/// bytes), and more than a socket usually holds between two turns of the connection's loop.
pub const READ_AHEAD_BYTES: usize = 8 * 1024;

/// `inner` with reads served from a buffer filled by one read of the socket at a time; writes
/// pass straight through.
#[derive(Debug)]
pub struct ReadAhead<S> {
    inner: S,
    buf: Box<[u8]>,
    /// What of `buf` is read from the socket and not yet handed on.
    start: usize,
    end: usize,
    /// The socket's wake mark, which follows what is read.
    mark: Mark,
}

impl<S> ReadAhead<S> {
    /// Reads `inner`, with its mark left at 1 until [`ReadAhead::frames_start`].
    pub fn new(inner: S) -> Self {
        ReadAhead { inner, buf: vec![0; READ_AHEAD_BYTES].into_boxed_slice(), start: 0, end: 0, mark: Mark::new() }
    }

    /// From the next byte read, the stream is WebSocket frames from a client (masked): a server
    /// calls this after the handshake, where the client may not send a frame before our answer,
    /// so the next byte starts one. The mark may be raised from now on, where `wake` found it
    /// works. (A client's handshake may read the start of the server's first frame with the
    /// answer, so a client's edges are never known and its mark stays at 1.)
    pub fn frames_start(&mut self) {
        self.mark.frames_start();
    }
}

impl<S: SocketMark> WakeMark for ReadAhead<S> {
    fn want_wake_mark(&mut self, bytes: usize) {
        self.mark.want(&self.inner, bytes);
    }
}

impl<S: AsyncRead + SocketMark + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.start == this.end {
            // A read at least as large as ours goes straight to the caller.
            if out.remaining() >= this.buf.len() {
                let before = out.filled().len();
                ready!(Pin::new(&mut this.inner).poll_read(cx, out))?;
                this.mark.follow(&this.inner, &out.filled()[before..]);
                return Poll::Ready(Ok(()));
            }
            let mut fill = ReadBuf::new(&mut this.buf);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut fill))?;
            this.start = 0;
            this.end = fill.filled().len();
            this.mark.follow(&this.inner, &this.buf[..this.end]);
        }
        let n = out.remaining().min(this.end - this.start);
        out.put_slice(&this.buf[this.start..this.start + n]);
        this.start += n;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Everything written arrives in order, whatever the sizes of the reads that take it, and
    /// the end of the stream is seen once the buffer is handed on.
    #[tokio::test]
    async fn reads_of_any_size_get_every_byte_in_order_then_the_end() {
        let (mut peer, ours) = tokio::io::duplex(64 * 1024);
        let sent: Vec<u8> = (0..3 * READ_AHEAD_BYTES + 77).map(|i| (i % 251) as u8).collect();
        peer.write_all(&sent).await.unwrap();
        drop(peer);
        let mut ours = ReadAhead::new(ours);
        let mut got = Vec::new();
        // Small reads (served from the buffer), one larger than the buffer (straight through),
        // then small again.
        for size in [1, 300, 5, READ_AHEAD_BYTES + 10, 1000, 1].into_iter().cycle() {
            let mut chunk = vec![0; size];
            let n = ours.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, sent);
    }

    #[tokio::test]
    async fn writes_pass_through() {
        let (mut peer, ours) = tokio::io::duplex(1024);
        let mut ours = ReadAhead::new(ours);
        ours.write_all(b"{\"action\":\"send_group_msg\"}").await.unwrap();
        ours.flush().await.unwrap();
        let mut got = [0; 27];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"{\"action\":\"send_group_msg\"}");
    }
}
