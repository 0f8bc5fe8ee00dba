//! A bounded capture of one of a run's output streams, for front doors that return output
//! instead of streaming it (`--json`, the REST API's `"wait": true`): the first and the last
//! [`KEEP`] bytes are kept and every byte is counted, so AegisClaw holds at most `2 × KEEP`
//! bytes per stream however much a run prints. Does not redact: the run's redactor stream
//! sits in front of it (`run::execute` writes only redacted bytes to its sinks).

use std::io::{self, Write};

/// Bytes kept at each end of a captured stream: 1 MiB. A result an agent reads whole is far
/// smaller; a run that prints more is usually a log or a runaway, whose start (what it was
/// doing) and end (how it failed) are what matter. Two streams, two ends: at most 4 MiB per
/// run, plus the JSON text made of them (up to six bytes per control byte), against the
/// run's own default memory limit of 512 MB.
pub const KEEP: usize = 1 << 20;

/// A stream being captured (see the module doc). Writing never fails.
#[derive(Debug)]
pub struct Capture {
    keep: usize,
    head: Vec<u8>,
    /// The last bytes after the head: a ring of up to `keep` bytes.
    ring: Vec<u8>,
    /// Where the oldest byte of a full ring is (0 while it is filling).
    ring_start: usize,
    total: u64,
}

/// What a [`Capture`] kept of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// The whole stream, or (truncated) its first [`KEEP`] bytes.
    pub head: Vec<u8>,
    /// `None` when nothing was left out; otherwise the stream's last [`KEEP`] bytes, the
    /// bytes between `head` and these having been counted and dropped.
    pub tail: Option<Vec<u8>>,
    /// Every byte the stream carried.
    pub bytes: u64,
}

impl Captured {
    /// Whether bytes were left out between `head` and `tail`.
    pub fn truncated(&self) -> bool {
        self.tail.is_some()
    }
}

impl Default for Capture {
    fn default() -> Self {
        Self::new()
    }
}

impl Capture {
    /// A capture keeping [`KEEP`] bytes at each end.
    pub fn new() -> Self {
        Self::keeping(KEEP)
    }

    /// A capture keeping `keep` bytes at each end (at least 1).
    pub fn keeping(keep: usize) -> Self {
        Self {
            keep: keep.max(1),
            head: Vec::new(),
            ring: Vec::new(),
            ring_start: 0,
            total: 0,
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.total
    }

    /// What was kept, in stream order.
    pub fn finish(self) -> Captured {
        let Self {
            keep,
            mut head,
            mut ring,
            ring_start,
            total,
        } = self;
        ring.rotate_left(ring_start);
        let kept = (head.len() + ring.len()) as u64;
        if kept == total {
            head.append(&mut ring);
            return Captured {
                head,
                tail: None,
                bytes: total,
            };
        }
        debug_assert_eq!(ring.len(), keep);
        Captured {
            head,
            tail: Some(ring),
            bytes: total,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let keep = self.keep;
        // 1. The head, until it holds `keep` bytes.
        if self.head.len() < keep {
            let take = (keep - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if bytes.is_empty() {
            return;
        }
        // 2. A chunk as long as the ring replaces all of it.
        if bytes.len() >= keep {
            self.ring.clear();
            self.ring.extend_from_slice(&bytes[bytes.len() - keep..]);
            self.ring_start = 0;
            return;
        }
        // 3. The ring, filling, then overwriting its oldest bytes.
        if self.ring.len() < keep {
            let take = (keep - self.ring.len()).min(bytes.len());
            self.ring.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        while !bytes.is_empty() {
            let take = (keep - self.ring_start).min(bytes.len());
            self.ring[self.ring_start..self.ring_start + take].copy_from_slice(&bytes[..take]);
            self.ring_start = (self.ring_start + take) % keep;
            bytes = &bytes[take..];
        }
    }
}

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.push(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `chunks` to a capture keeping `keep` bytes at each end.
    fn capture(keep: usize, chunks: &[&[u8]]) -> Captured {
        let mut capture = Capture::keeping(keep);
        for chunk in chunks {
            capture.write_all(chunk).unwrap();
        }
        capture.finish()
    }

    #[test]
    fn a_stream_that_fits_is_kept_whole() {
        let cases: [&[&[u8]]; 4] = [&[], &[b"ab"], &[b"abc", b"def"], &[b"abcdef"]];
        for chunks in cases {
            let all = chunks.concat();
            assert_eq!(
                capture(3, chunks),
                Captured {
                    head: all.clone(),
                    tail: None,
                    bytes: all.len() as u64
                }
            );
        }
    }

    #[test]
    fn a_longer_stream_keeps_its_first_and_last_bytes_and_counts_all() {
        let expected = Captured {
            head: b"abc".to_vec(),
            tail: Some(b"xyz".to_vec()),
            bytes: 26,
        };
        let alphabet = b"abcdefghijklmnopqrstuvwxyz";
        // Whatever the chunking: one write, one byte at a time, chunks across both ends.
        assert_eq!(capture(3, &[alphabet]), expected);
        let bytes: Vec<&[u8]> = alphabet.chunks(1).collect();
        assert_eq!(capture(3, &bytes), expected);
        for size in 2..8 {
            let chunks: Vec<&[u8]> = alphabet.chunks(size).collect();
            assert_eq!(capture(3, &chunks), expected, "chunks of {size}");
        }
        assert!(expected.truncated());
        // One byte past what fits is left out and counted.
        let seven = capture(3, &[b"abcdefg"]);
        assert_eq!(
            (seven.head, seven.tail, seven.bytes),
            (b"abc".to_vec(), Some(b"efg".to_vec()), 7)
        );
    }

    #[test]
    fn memory_stays_bounded_however_much_is_written() {
        let mut capture = Capture::keeping(1024);
        let chunk = vec![7u8; 16 * 1024];
        for _ in 0..1000 {
            capture.write_all(&chunk).unwrap();
        }
        assert!(capture.head.capacity() <= 2048 && capture.ring.capacity() <= 2048);
        let captured = capture.finish();
        assert_eq!(captured.bytes, 16 * 1024 * 1000);
        assert_eq!(captured.tail.map(|tail| tail.len()), Some(1024));
    }
}
