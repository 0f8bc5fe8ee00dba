//! Where a `Transfer-Encoding: chunked` request body ends, so the proxy forwards exactly one
//! request and nothing after it: bytes past the last chunk's trailer (a second, pipelined
//! request naming another `Host`) are never relayed. Strict framing: hex sizes of at most 16
//! digits, CRLF only, bounded extensions and trailers. Does no I/O; the chunks pass unchanged.

use super::HttpError;

/// Longest chunk extension accepted (after the size, up to its CRLF).
const MAX_EXTENSION: usize = 4096;
/// Longest trailer section accepted.
const MAX_TRAILERS: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the hex size; `digits` so far.
    Size {
        value: u64,
        digits: u8,
    },
    /// After `;`: an extension up to CR.
    Extension {
        value: u64,
        length: usize,
    },
    /// After the size line's CR.
    SizeLf {
        value: u64,
    },
    /// Inside chunk data: bytes left.
    Data {
        left: u64,
    },
    /// After chunk data: its CR, then its LF.
    DataCr,
    DataLf,
    /// In the trailer section: bytes of the current line, and of the whole section.
    Trailer {
        line: usize,
        total: usize,
    },
    /// After a trailer line's CR (`empty`: it was the blank line that ends the body).
    TrailerLf {
        empty: bool,
        total: usize,
    },
    /// The body is complete.
    Done,
}

/// Follows a chunked body through the bytes that carry it.
#[derive(Clone, Debug)]
pub(crate) struct ChunkedBody {
    state: State,
}

impl Default for ChunkedBody {
    fn default() -> Self {
        Self {
            state: State::Size {
                value: 0,
                digits: 0,
            },
        }
    }
}

const FRAMING: HttpError = HttpError::Framing("malformed chunked request body");

impl ChunkedBody {
    /// Whether the whole body has been seen.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Takes the next `bytes` of the stream; returns how many of them belong to the body (all
    /// of them until it ends). An error means the body is malformed: stop relaying.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<usize, HttpError> {
        let mut at = 0;
        while at < bytes.len() {
            if let State::Data { left } = self.state {
                let take = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len() - at);
                at += take;
                let left = left - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data { left }
                };
                continue;
            }
            if self.state == State::Done {
                break;
            }
            self.state = step(self.state, bytes[at])?;
            at += 1;
        }
        Ok(at)
    }
}

/// One byte of framing (never inside chunk data).
fn step(state: State, byte: u8) -> Result<State, HttpError> {
    Ok(match state {
        State::Size { value, digits } => match byte {
            b'\r' if digits > 0 => State::SizeLf { value },
            b';' if digits > 0 => State::Extension { value, length: 0 },
            _ => {
                let digit = (byte as char).to_digit(16).ok_or(FRAMING)?;
                if digits == 16 {
                    return Err(FRAMING);
                }
                State::Size {
                    value: (value << 4) | u64::from(digit),
                    digits: digits + 1,
                }
            }
        },
        State::Extension { value, length } => match byte {
            b'\r' => State::SizeLf { value },
            b'\n' | 0..=0x08 | 0x0a..=0x1f | 0x7f => return Err(FRAMING),
            _ if length >= MAX_EXTENSION => return Err(FRAMING),
            _ => State::Extension {
                value,
                length: length + 1,
            },
        },
        State::SizeLf { value } => match byte {
            b'\n' if value == 0 => State::Trailer { line: 0, total: 0 },
            b'\n' => State::Data { left: value },
            _ => return Err(FRAMING),
        },
        State::DataCr if byte == b'\r' => State::DataLf,
        State::DataLf if byte == b'\n' => State::Size {
            value: 0,
            digits: 0,
        },
        State::Trailer { line, total } => match byte {
            b'\r' => State::TrailerLf {
                empty: line == 0,
                total,
            },
            b'\n' => return Err(FRAMING),
            _ if total >= MAX_TRAILERS => return Err(FRAMING),
            _ => State::Trailer {
                line: line + 1,
                total: total + 1,
            },
        },
        State::TrailerLf { empty, total } if byte == b'\n' => {
            if empty {
                State::Done
            } else {
                State::Trailer { line: 0, total }
            }
        }
        State::DataCr | State::DataLf | State::TrailerLf { .. } | State::Data { .. } => {
            return Err(FRAMING);
        }
        State::Done => State::Done,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    /// Feeds `stream` in pieces of `size`; returns the body's length and whether it ended.
    fn body_length(stream: &[u8], size: usize) -> Result<(usize, bool), HttpError> {
        let mut body = ChunkedBody::default();
        let mut length = 0;
        for piece in stream.chunks(size) {
            let taken = body.feed(piece)?;
            length += taken;
            if taken < piece.len() {
                break;
            }
        }
        Ok((length, body.is_done()))
    }

    #[test]
    fn the_body_ends_after_the_last_chunk_and_its_trailers_in_any_split() {
        let body =
            "5\r\nhello\r\n1a;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 1\r\n\r\n";
        let pipelined =
            format!("{body}GET http://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n");
        for size in 1..=pipelined.len() {
            assert_eq!(
                body_length(pipelined.as_bytes(), size),
                Ok((body.len(), true)),
                "pieces of {size}"
            );
        }
        assert_eq!(body_length(b"0\r\n\r\n", 3), Ok((5, true)));
        // Not complete yet: everything so far is body.
        assert_eq!(body_length(b"5\r\nhel", 2), Ok((6, false)));
    }

    #[test]
    fn malformed_framing_is_refused() {
        for bad in [
            "\r\n",
            "g\r\n",
            " 5\r\nhello\r\n0\r\n\r\n",
            "5\nhello\r\n0\r\n\r\n",
            "5\r\nhelloX\r\n0\r\n\r\n",
            "5\r\nhello\n0\r\n\r\n",
            "11111111111111111\r\n",
            "5;a\nb\r\n",
            "0\r\nX: 1\n\r\n",
            "0\r\n\r\r",
        ] {
            assert_eq!(
                body_length(bad.as_bytes(), 1).map(|(_, done)| done),
                Err(FRAMING),
                "{bad:?}"
            );
        }
        let long = format!("1;{}\r\n", "e".repeat(MAX_EXTENSION + 1));
        assert_eq!(body_length(long.as_bytes(), 64), Err(FRAMING));
    }
}
