//! Where WebSocket frames end in the bytes read from a socket.
//!
//! A connection that has raised its wake mark (see `wake`) must lower it while a frame is only
//! partly read: the rest of a frame split across TCP segments (an event larger than a segment,
//! or one an implementation writes in pieces) may be smaller than the mark, and would wait for
//! the next tick. [`FrameEdges`] follows the frame headers in the byte stream, skipping payloads
//! by their length, so it knows after every read whether the bytes end inside a frame.
//!
//! It must start at a frame's first byte. A header that breaks the rules for frames from the
//! other side (reserved bits, an unknown opcode, the wrong mask bit, a control frame too long or
//! fragmented) means it did not, or the stream is not what it seems: it then reports
//! [`FrameEdges::lost`] for good, and the connection leaves its mark at 1.

/// The most a frame header takes: 2 bytes, 8 of extended length, 4 of mask key.
const MAX_HEADER: usize = 14;

/// The bytes of a frame header for a payload of `payload` bytes.
pub fn header_bytes(payload: usize, masked: bool) -> usize {
    let extended = match payload {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    2 + extended + if masked { 4 } else { 0 }
}

/// Follows frame boundaries in a stream of WebSocket frames.
#[derive(Debug)]
pub struct FrameEdges {
    /// Whether the frames read are masked: a server reads masked frames, a client unmasked.
    masked: bool,
    /// The current frame's header while it is incomplete.
    header: [u8; MAX_HEADER],
    header_len: usize,
    /// Payload bytes of the current frame still to come.
    payload_left: u64,
    lost: bool,
}

impl FrameEdges {
    /// Edges of the frames a server reads (`masked`) or a client reads, from a frame's first byte.
    pub fn new(masked: bool) -> Self {
        Self { masked, header: [0; MAX_HEADER], header_len: 0, payload_left: 0, lost: false }
    }

    /// Follows `bytes`, the next read from the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.lost {
            if self.payload_left > 0 {
                let n = usize::try_from(self.payload_left).unwrap_or(usize::MAX).min(bytes.len());
                self.payload_left -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            self.header[self.header_len] = bytes[0];
            self.header_len += 1;
            bytes = &bytes[1..];
            match self.header() {
                Header::Incomplete => {}
                Header::Broken => self.lost = true,
                Header::Complete { payload } => {
                    self.payload_left = payload;
                    self.header_len = 0;
                }
            }
        }
    }

    /// Whether the bytes so far end inside a frame (or the edges are lost).
    pub fn mid_frame(&self) -> bool {
        self.lost || self.header_len > 0 || self.payload_left > 0
    }

    /// Whether the edges can no longer be told.
    #[cfg(test)]
    pub fn lost(&self) -> bool {
        self.lost
    }

    fn header(&self) -> Header {
        let h = &self.header[..self.header_len];
        let [b0, rest @ ..] = h else { return Header::Incomplete };
        let (fin, reserved, opcode) = (b0 & 0x80 != 0, b0 & 0x70, b0 & 0x0f);
        let control = opcode >= 8;
        if reserved != 0 || !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10) || (control && !fin) {
            return Header::Broken;
        }
        let [b1, rest @ ..] = rest else { return Header::Incomplete };
        if (b1 & 0x80 != 0) != self.masked || (control && b1 & 0x7f > 125) {
            return Header::Broken;
        }
        let extended = match b1 & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.masked { 4 } else { 0 };
        if rest.len() < extended + mask {
            return Header::Incomplete;
        }
        let payload = match extended {
            0 => u64::from(b1 & 0x7f),
            2 => u64::from(u16::from_be_bytes([rest[0], rest[1]])),
            _ => u64::from_be_bytes([rest[0], rest[1], rest[2], rest[3], rest[4], rest[5], rest[6], rest[7]]),
        };
        Header::Complete { payload }
    }
}

enum Header {
    Incomplete,
    Broken,
    Complete { payload: u64 },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A frame as tungstenite would put it on the wire.
    fn frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => out.push(mask_bit | n as u8),
            n @ 126..=65535 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            let key = [0x12, 0x34, 0x56, 0x78];
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            out.extend_from_slice(payload);
        }
        out
    }

    /// Frames of every header size and kind, and where each ends in their concatenation.
    fn stream(masked: bool) -> (Vec<u8>, Vec<usize>) {
        let event = r#"{"post_type":"message","message":"/问 预备期多久"}"#.as_bytes();
        let frames = [
            frame(1, event, masked),
            frame(9, b"", masked),
            frame(1, &event.repeat(20), masked),
            frame(10, b"pong", masked),
            frame(2, &vec![0x81; 70_000], masked),
            frame(1, b"{}", masked),
        ];
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for f in frames {
            bytes.extend_from_slice(&f);
            ends.push(bytes.len());
        }
        (bytes, ends)
    }

    #[test]
    fn a_stream_cut_anywhere_is_mid_frame_exactly_when_the_cut_is_not_a_frame_end() {
        for masked in [true, false] {
            let (bytes, ends) = stream(masked);
            // Every cut near a frame's start or end, where headers are, and a stride elsewhere.
            let near_edges = ends.iter().flat_map(|&e| e.saturating_sub(20)..(e + 20).min(bytes.len()));
            for cut in (1..bytes.len()).step_by(97).chain(1..30).chain(near_edges) {
                let mut edges = FrameEdges::new(masked);
                edges.feed(&bytes[..cut]);
                assert_eq!(edges.mid_frame(), !ends.contains(&cut), "cut at {cut} (masked: {masked})");
                edges.feed(&bytes[cut..]);
                assert!(!edges.mid_frame(), "the whole stream ends a frame");
            }
        }
    }

    #[test]
    fn a_stream_fed_a_byte_at_a_time_ends_frames_where_they_end() {
        let (bytes, ends) = stream(true);
        let mut edges = FrameEdges::new(true);
        for (i, b) in bytes.iter().enumerate() {
            edges.feed(std::slice::from_ref(b));
            assert_eq!(edges.mid_frame(), !ends.contains(&(i + 1)), "after byte {i}");
        }
    }

    #[test]
    fn bytes_that_are_not_frames_from_the_other_side_lose_the_edges_for_good() {
        let event = frame(1, b"{}", true);
        for (what, bytes) in [
            ("unmasked frame read by a server", frame(1, b"{}", false)),
            ("reserved bits", vec![0xc1, 0x82, 0, 0, 0, 0, b'{', b'}']),
            ("unknown opcode", vec![0x83, 0x80, 0, 0, 0, 0]),
            ("fragmented control frame", vec![0x09, 0x80, 0, 0, 0, 0]),
            ("control frame over 125 bytes", vec![0x89, 0xfe, 0, 200]),
            ("an HTTP request", b"GET / HTTP/1.1\r\n".to_vec()),
            ("JSON text, not at a frame's start", br#"{"post_type":"meta_event"}"#.to_vec()),
        ] {
            let mut edges = FrameEdges::new(true);
            edges.feed(&bytes);
            assert!(edges.lost() && edges.mid_frame(), "{what}");
            edges.feed(&event);
            assert!(edges.mid_frame(), "{what}: found again");
        }
    }
}
