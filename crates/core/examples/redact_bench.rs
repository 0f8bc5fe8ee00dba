//! Redactor cost: `redact_bench stream <input> <mebibytes> <chunk>` streams a generated input
//! through a redactor for three typical secrets and prints one line `input=… mebibytes=…
//! chunk=… seconds=… mb_per_second=…`; `redact_bench build <count>` builds that redactor
//! `count` times and prints `build_us=…`. Pure CPU; the inputs hold no secret, so this measures
//! the scan, not the replacement.

use aegisclaw_core::redact::Redactor;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::error::Error;
use std::hint::black_box;
use std::io::Write as _;
use std::time::Instant;

/// A run's secrets in the common case: a short API key, a 64-byte token (its base64 wraps at
/// 76 columns) and a password with quotes and spaces.
fn secrets() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "API_KEY",
            b"sk-live-0123456789abcdefghijklmnopqrstuv".to_vec(),
        ),
        (
            "TOKEN",
            b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXN0dWZm-0123".to_vec(),
        ),
        ("PASSWORD", b"it's a \"pass\" $word\\".to_vec()),
    ]
}

/// A small deterministic generator (xorshift64), so every run scans the same bytes.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// `len` bytes of the named input.
fn input(name: &str, len: usize) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let base64 = |noise: &mut Noise| STANDARD.encode(noise.bytes(len * 3 / 4 + 3)).into_bytes();
    let wrapped = |text: Vec<u8>, width: usize| -> Vec<u8> {
        text.chunks(width)
            .flat_map(|line| line.iter().copied().chain([b'\n']))
            .collect()
    };
    let mut bytes = match name {
        // Log-like text: words of letters and digits, lines of about 60 bytes.
        "text" => {
            let mut text = Vec::with_capacity(len + 80);
            while text.len() < len {
                for _ in 0..10 {
                    let word = 2 + noise.next() % 8;
                    text.extend((0..word).map(|_| b'a' + (noise.next() % 26) as u8));
                    text.push(b' ');
                }
                text.push(b'\n');
            }
            text
        }
        "random" => noise.bytes(len),
        // A megabyte of base64 without a secret on one line, wrapped as `base64` does, and
        // wrapped after every character (many short lines).
        "base64-line" => base64(&mut noise),
        "base64-76" => wrapped(base64(&mut noise), 76),
        "base64-crlf-64" => base64(&mut noise)
            .chunks(64)
            .flat_map(|line| line.iter().copied().chain(*b"\r\n"))
            .collect(),
        "base64-1" => wrapped(base64(&mut noise), 1),
        // Every byte escaped.
        "percent" => noise
            .bytes(len / 3 + 1)
            .iter()
            .flat_map(|byte| format!("%{byte:02X}").into_bytes())
            .collect(),
        "json-u" => noise
            .bytes(len / 6 + 1)
            .iter()
            .flat_map(|byte| format!("\\u00{byte:02x}").into_bytes())
            .collect(),
        "backslashes" => vec![b'\\'; len],
        other => return Err(format!("unknown input `{other}`").into()),
    };
    bytes.truncate(len);
    Ok(bytes)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secrets = secrets();
    let mut stdout = std::io::stdout().lock();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["build", count] => {
            let count: u32 = count.parse()?;
            let start = Instant::now();
            for _ in 0..count {
                black_box(Redactor::named(black_box(&secrets))?);
            }
            let micros = start.elapsed().as_secs_f64() * 1e6 / f64::from(count);
            writeln!(stdout, "secrets={} build_us={micros:.1}", secrets.len())?;
        }
        ["stream", name, mebibytes, chunk] => {
            let mebibytes: usize = mebibytes.parse()?;
            let chunk: usize = chunk.parse()?;
            let bytes = input(name, mebibytes << 20)?;
            let redactor = Redactor::named(&secrets)?;
            let mut out = Vec::with_capacity(chunk + 4096);
            let start = Instant::now();
            let mut stream = redactor.stream();
            let mut total = 0;
            for piece in bytes.chunks(chunk.max(1)) {
                out.clear();
                stream.push_into(piece, &mut out);
                total += black_box(&out).len();
            }
            total += stream.finish().len();
            let seconds = start.elapsed().as_secs_f64();
            if total != bytes.len() {
                return Err(format!("`{name}` changed length: {} -> {total}", bytes.len()).into());
            }
            writeln!(
                stdout,
                "input={name} mebibytes={mebibytes} chunk={chunk} seconds={seconds:.4} mb_per_second={:.1}",
                bytes.len() as f64 / seconds / 1e6
            )?;
        }
        _ => {
            return Err(
                "usage: redact_bench build <count> | stream <input> <mebibytes> <chunk>".into(),
            );
        }
    }
    Ok(())
}
