//! Reads a CA store's text as PEM certificates only: every `-----BEGIN CERTIFICATE-----` block
//! must hold one DER certificate, any other PEM block (a private key, a CRL, an encrypted
//! block) refuses the whole store, and what lies between blocks (titles, comments) is dropped,
//! so what a run is given is the certificates and nothing else. Pure: bytes in, bytes out.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

/// The one label a CA store's blocks may have.
const CERTIFICATE: &str = "CERTIFICATE";
const BEGIN: &[u8] = b"-----BEGIN";
const END: &[u8] = b"-----END";
/// Base64 characters per line of the store a run is given (as OpenSSL writes them).
const LINE: usize = 64;
/// The longest block label an error quotes.
const MAX_LABEL: usize = 40;

/// A CA store read as certificates only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificates {
    /// Each certificate as a PEM block (64-column base64, `\n` line ends), in the input's
    /// order, and nothing else of the input: a store that is already just that is unchanged.
    pub pem: String,
    /// How many certificates it holds (at least one).
    pub count: usize,
    /// Hex sha256 of [`Certificates::pem`], what a run is given.
    pub sha256: String,
    /// Hex sha256 of the input, the file as read.
    pub input_sha256: String,
}

/// Why a text is not a CA store of certificates only. Lines count from 1; no error quotes the
/// input beyond a block's label.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// Not one certificate block.
    #[error("it holds no certificate (no `-----BEGIN CERTIFICATE-----` block)")]
    NoCertificate,
    /// A block of another kind (a key, a CRL, parameters).
    #[error(
        "line {line} begins {}, and a CA store may hold only `CERTIFICATE` blocks",
        describe_label(label)
    )]
    OtherBlock {
        /// Where the block begins.
        line: usize,
        /// Its label (`OPENSSH PRIVATE KEY`), when it is short printable text.
        label: Option<String>,
    },
    /// A `-----BEGIN`/`-----END` marker that starts or ends no certificate block: inside a
    /// line, or an END with no BEGIN, or a BEGIN inside a block.
    #[error("line {line} holds a PEM marker that does not begin or end a certificate block")]
    StrayMarker {
        /// The line.
        line: usize,
    },
    /// A certificate block with no END line.
    #[error("the certificate block at line {line} has no `-----END CERTIFICATE-----` line")]
    Unterminated {
        /// Where the block begins.
        line: usize,
    },
    /// A line of a certificate block that is not base64 (a header such as `Proc-Type:`, a
    /// blank line).
    #[error("line {line}, in the certificate block at line {block}, is not base64")]
    NotBase64 {
        /// The line.
        line: usize,
        /// Where the block begins.
        block: usize,
    },
    /// A certificate block whose base64 does not decode to one DER `SEQUENCE` holding a
    /// `SEQUENCE` (the shape of every X.509 certificate).
    #[error("the certificate block at line {line} does not hold a DER-encoded certificate")]
    NotDer {
        /// Where the block begins.
        line: usize,
    },
}

fn describe_label(label: &Option<String>) -> String {
    match label {
        Some(label) => format!("a `{label}` block"),
        None => "a PEM block of another kind".to_string(),
    }
}

/// Reads `input` as a CA store: its certificate blocks, checked and re-encoded, or why it is
/// not certificates only.
pub fn certificates_only(input: &[u8]) -> Result<Certificates, PemError> {
    let mut pem = String::new();
    let mut count = 0;
    // The line the open block began at, and its base64 so far.
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (index, raw) in input.split(|&byte| byte == b'\n').enumerate() {
        let line = index + 1;
        let text = raw.trim_ascii();
        let marker = memchr::memmem::find(text, BEGIN).is_some()
            || memchr::memmem::find(text, END).is_some();
        match &mut open {
            None if !marker => {} // Between blocks: dropped.
            None => match begin_label(text) {
                Some(label) if label == CERTIFICATE.as_bytes() => open = Some((line, Vec::new())),
                Some(label) => {
                    return Err(PemError::OtherBlock {
                        line,
                        label: printable(label),
                    });
                }
                // A marker inside a line (`<key>-----BEGIN PRIVATE KEY-----`) names the block
                // it begins when it can.
                None => {
                    return Err(match embedded_label(text) {
                        Some(label) if label != CERTIFICATE.as_bytes() => PemError::OtherBlock {
                            line,
                            label: printable(label),
                        },
                        _ => PemError::StrayMarker { line },
                    });
                }
            },
            Some((block, body)) => {
                if text == format!("-----END {CERTIFICATE}-----").as_bytes() {
                    let der = STANDARD
                        .decode(&*body)
                        .map_err(|_| PemError::NotDer { line: *block })?;
                    if !is_certificate_shaped(&der) {
                        return Err(PemError::NotDer { line: *block });
                    }
                    push_block(&mut pem, &der);
                    count += 1;
                    open = None;
                } else if marker {
                    return Err(PemError::StrayMarker { line });
                } else if !text.is_empty()
                    && text
                        .iter()
                        .all(|&byte| byte.is_ascii_alphanumeric() || b"+/=".contains(&byte))
                {
                    body.extend_from_slice(text);
                } else {
                    return Err(PemError::NotBase64 {
                        line,
                        block: *block,
                    });
                }
            }
        }
    }
    if let Some((line, _)) = open {
        return Err(PemError::Unterminated { line });
    }
    if count == 0 {
        return Err(PemError::NoCertificate);
    }
    let input_sha256 = hex::encode(Sha256::digest(input));
    // A store of certificates only, as distributions ship it, comes out unchanged.
    let sha256 = if pem.as_bytes() == input {
        input_sha256.clone()
    } else {
        hex::encode(Sha256::digest(pem.as_bytes()))
    };
    Ok(Certificates {
        sha256,
        input_sha256,
        pem,
        count,
    })
}

/// The label of a line that is exactly `-----BEGIN <label>-----`.
fn begin_label(text: &[u8]) -> Option<&[u8]> {
    text.strip_prefix(b"-----BEGIN ")?.strip_suffix(b"-----")
}

/// The label after the first `-----BEGIN ` in a line, up to the next `-----`.
fn embedded_label(text: &[u8]) -> Option<&[u8]> {
    let start = memchr::memmem::find(text, b"-----BEGIN ")? + b"-----BEGIN ".len();
    let rest = &text[start..];
    Some(&rest[..memchr::memmem::find(rest, b"-----")?])
}

/// A label fit to quote: short, upper-case letters, digits, spaces and `-`.
fn printable(label: &[u8]) -> Option<String> {
    (label.len() <= MAX_LABEL
        && label.iter().all(|&byte| {
            byte.is_ascii_uppercase() || byte.is_ascii_digit() || b" -".contains(&byte)
        }))
    .then(|| String::from_utf8_lossy(label).into_owned())
}

/// Whether `der` is one DER `SEQUENCE` spanning all of it whose contents begin with another
/// `SEQUENCE` (`Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, ... }`).
fn is_certificate_shaped(der: &[u8]) -> bool {
    let Some((header, length)) = sequence_header(der) else {
        return false;
    };
    let contents = &der[header.min(der.len())..];
    header.checked_add(length) == Some(der.len())
        && sequence_header(contents)
            .is_some_and(|(inner, inner_length)| inner.saturating_add(inner_length) <= length)
}

/// The header size and content length of a DER `SEQUENCE` at the start of `der`.
fn sequence_header(der: &[u8]) -> Option<(usize, usize)> {
    if *der.first()? != 0x30 {
        return None;
    }
    let first = *der.get(1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let octets = usize::from(first & 0x7f);
    if octets == 0 || octets > 4 {
        return None;
    }
    let length = der
        .get(2..2 + octets)?
        .iter()
        .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
    Some((2 + octets, length))
}

/// Appends `der` as a PEM certificate block.
fn push_block(pem: &mut String, der: &[u8]) {
    let encoded = STANDARD.encode(der);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    for chunk in encoded.as_bytes().chunks(LINE) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
}

#[cfg(test)]
mod tests;
