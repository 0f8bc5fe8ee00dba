use super::*;

/// A self-signed P-256 certificate (`openssl req -x509`, valid until 2126).
const CERTIFICATE_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUcKPFd4y+B7RZoAsRlQrHdqu/zrMwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSQWVnaXNDbGF3IHBlbSB0ZXN0MCAXDTI2MTIwMjE0NTQzNFoY
DzIxMjYxMTA4MTQ1NDM0WjAdMRswGQYDVQQDDBJBZWdpc0NsYXcgcGVtIHRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQOvn2V0VxVgrgJKWeT8Kq7ULWhdCQ3
1y5cLdLYyY/OFMHyAuou/50zf6q7+j02KSlSPEARvC2juI4AKXkqM3k/o1MwUTAd
BgNVHQ4EFgQUWt1jMYtB1aXNM3YiwlCpsrwhDVwwHwYDVR0jBBgwFoAUWt1jMYtB
1aXNM3YiwlCpsrwhDVwwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEAia2FAVNa0ovqmLs3ajKVeffV2M5SdhYujqppqD39YqoCIQDBrA/Wc8lShIt8
ePK83nvU1IFGTnPA2ichIqA+CU03JA==
-----END CERTIFICATE-----
";

const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc2VjcmV0LWtleS1i
-----END PRIVATE KEY-----
";

#[test]
fn a_store_of_certificates_only_is_given_unchanged() {
    let two = format!("{CERTIFICATE_PEM}{CERTIFICATE_PEM}");
    let read = certificates_only(two.as_bytes()).unwrap();
    assert_eq!(read.pem, two);
    assert_eq!(read.count, 2);
    assert_eq!(read.sha256, read.input_sha256);
    assert_eq!(read.sha256, hex::encode(Sha256::digest(two.as_bytes())));
}

#[test]
fn text_between_blocks_crlf_and_odd_line_widths_are_dropped_or_normalised() {
    // curl's `cacert.pem` style titles, Fedora's `#` comments, CRLF, one long base64 line.
    let body: String = CERTIFICATE_PEM
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let input = format!(
        "##\n## Bundle\n##\n\nGlobalSign Root CA\n==================\n# comment\r\n-----BEGIN CERTIFICATE-----\r\n{body}\r\n-----END CERTIFICATE-----\r\n\ntrailing words\n"
    );
    let read = certificates_only(input.as_bytes()).unwrap();
    assert_eq!(read.pem, CERTIFICATE_PEM);
    assert_eq!(read.count, 1);
    assert_ne!(read.sha256, read.input_sha256);
}

#[test]
fn a_private_key_or_any_other_block_refuses_the_whole_store() {
    for (input, expected) in [
        (
            format!("{CERTIFICATE_PEM}{KEY_PEM}"),
            PemError::OtherBlock {
                line: 12,
                label: Some("PRIVATE KEY".into()),
            },
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n".into(),
            PemError::OtherBlock {
                line: 1,
                label: Some("OPENSSH PRIVATE KEY".into()),
            },
        ),
        (
            format!("-----BEGIN X509 CRL-----\nAA==\n-----END X509 CRL-----\n{CERTIFICATE_PEM}"),
            PemError::OtherBlock {
                line: 1,
                label: Some("X509 CRL".into()),
            },
        ),
        // OpenVPN's inline form, a marker inside a line.
        (
            format!("{CERTIFICATE_PEM}<key>-----BEGIN PRIVATE KEY-----\n"),
            PemError::OtherBlock {
                line: 12,
                label: Some("PRIVATE KEY".into()),
            },
        ),
        // A label that is no plain name is not quoted.
        (
            "-----BEGIN secret: hunter2-----\n".into(),
            PemError::OtherBlock {
                line: 1,
                label: None,
            },
        ),
    ] {
        assert_eq!(certificates_only(input.as_bytes()), Err(expected), "{input}");
    }
}

#[test]
fn nothing_no_pem_and_broken_blocks_are_refused() {
    let cert_lines: Vec<&str> = CERTIFICATE_PEM.lines().collect();
    let without_end = cert_lines[..cert_lines.len() - 1].join("\n");
    let with_header = format!(
        "{}\nProc-Type: 4,ENCRYPTED\n{}\n",
        cert_lines[0],
        cert_lines[1..].join("\n")
    );
    let with_blank = format!("{}\n\n{}\n", cert_lines[0], cert_lines[1..].join("\n"));
    let nested = format!("{}\n{CERTIFICATE_PEM}", cert_lines[0]);
    for (input, expected) in [
        (String::new(), PemError::NoCertificate),
        ("\n\n# only comments\n".into(), PemError::NoCertificate),
        (
            "api_token = tok_live_0123\n".into(),
            PemError::NoCertificate,
        ),
        (
            "-----END CERTIFICATE-----\n".into(),
            PemError::StrayMarker { line: 1 },
        ),
        (without_end, PemError::Unterminated { line: 1 }),
        (with_header, PemError::NotBase64 { line: 2, block: 1 }),
        (with_blank, PemError::NotBase64 { line: 2, block: 1 }),
        (nested, PemError::StrayMarker { line: 2 }),
        (
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".into(),
            PemError::NotDer { line: 1 },
        ),
        (
            "-----BEGIN CERTIFICATE-----\nnot=base64\n-----END CERTIFICATE-----\n".into(),
            PemError::NotDer { line: 1 },
        ),
    ] {
        assert_eq!(
            certificates_only(input.as_bytes()),
            Err(expected),
            "{input}"
        );
    }
    // Binary input (a DER file) holds no block.
    assert_eq!(
        certificates_only(&[0x30, 0x82, 0x01, 0x92, 0xff, 0x00]),
        Err(PemError::NoCertificate)
    );
}

#[test]
fn the_hosts_distribution_store_reads_as_certificates_only_unchanged() {
    let path = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    let Ok(bytes) = fs_err::read(path) else {
        eprintln!("skipped: this host has no {}", path.display());
        return;
    };
    let read = certificates_only(&bytes).unwrap();
    assert!(read.count > 10, "{}", read.count);
    assert_eq!(read.pem.as_bytes(), bytes.as_slice());
}
