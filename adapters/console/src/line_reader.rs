//! Reads one line at a time with a size cap, so a 1 GB line costs no more memory than the cap.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line, without its `\n` or `\r\n`; may be invalid UTF-8.
    Bytes(Vec<u8>),
    /// A line longer than the cap; its bytes were read and dropped.
    TooLong,
    Eof,
}

pub async fn read_line_capped<R: AsyncBufRead + Unpin>(reader: &mut R, cap: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            break;
        }
        read_any = true;
        let (chunk, found_newline) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        if !too_long {
            if line.len() + chunk.len() > cap {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(found_newline);
        reader.consume(used);
        if found_newline {
            break;
        }
    }
    if !read_any {
        return Ok(Line::Eof);
    }
    if too_long {
        return Ok(Line::TooLong);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Line::Bytes(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn lines(input: &[u8], cap: usize) -> Vec<Line> {
        let mut reader = BufReader::with_capacity(8, input);
        let mut out = Vec::new();
        loop {
            let line = read_line_capped(&mut reader, cap).await.unwrap();
            let eof = line == Line::Eof;
            out.push(line);
            if eof {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn splits_lines_and_caps_long_ones() {
        let got = lines(b"ab\r\n0123456789abcdef\n\ncd", 10).await;
        assert_eq!(got, vec![Line::Bytes(b"ab".to_vec()), Line::TooLong, Line::Bytes(Vec::new()), Line::Bytes(b"cd".to_vec()), Line::Eof]);
    }

    #[tokio::test]
    async fn invalid_utf8_is_kept_as_bytes() {
        let got = lines(b"\xff\xfe\n", 10).await;
        assert_eq!(got[0], Line::Bytes(vec![0xff, 0xfe]));
    }
}
