use super::*;
use aegisclaw_core::pem::PemError;
use aegisclaw_sandbox::plan::CaStoreSpec;

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

/// A scratch directory with a user home (`user`) and an AegisClaw home (`aegis`), and the
/// scope context runs would rate in.
struct Scratch {
    dir: tempfile::TempDir,
    context: ScopeContext,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["user", "aegis", "certs"] {
            fs_err::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let context = crate::authorise::scope_context(
            Some(dir.path().join("user")),
            &dir.path().join("aegis"),
        );
        Self { dir, context }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(&path, text).unwrap();
        path
    }

    fn load(&self, path: &Path) -> Result<Option<CaStore>, CaStoreError> {
        load(Some(path), &self.context)
    }
}

#[test]
fn a_store_of_certificates_is_given_as_read_and_named_as_resolved() {
    let scratch = Scratch::new();
    let file = scratch.write("certs/ca.pem", &CERTIFICATE_PEM.repeat(2));
    let link = scratch.path("ca-link.pem");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let store = scratch.load(&link).unwrap().unwrap();
    assert_eq!(store.from, Whose::Configured);
    assert_eq!(store.path, link);
    assert_eq!(store.resolved, fs_err::canonicalize(&file).unwrap());
    let Given::Certificates {
        certificates,
        sha256,
        file_sha256,
        pem,
    } = &store.given
    else {
        panic!("a configured store is checked: {store:?}");
    };
    assert_eq!(*certificates, 2);
    assert_eq!(*pem, CERTIFICATE_PEM.repeat(2));
    assert_eq!(sha256, file_sha256);
    assert_eq!(store.spec(), CaStoreSpec::Certificates(pem.clone()));
    // The record names it, and never holds the certificates themselves.
    let record = serde_json::to_value(&store).unwrap();
    assert_eq!(record["from"], "sandbox.ca_bundle");
    assert!(record.get("pem").is_none(), "{record}");
}

#[test]
fn anything_but_a_regular_file_is_refused_without_being_read() {
    let scratch = Scratch::new();
    let fifo = scratch.path("certs/fifo.pem");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let socket = scratch.path("certs/socket.pem");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    for (path, expected) in [
        (scratch.path("certs"), "directory"),
        (fifo, "device or FIFO"),
        (PathBuf::from("/dev/null"), "device or FIFO"),
        (socket, "unix socket"),
    ] {
        match scratch.load(&path) {
            Err(CaStoreError::NotRegular { found, .. }) => assert_eq!(found, expected),
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    assert!(matches!(
        scratch.load(&scratch.path("certs/missing.pem")),
        Err(CaStoreError::Open {
            source: PathError::Missing { .. },
            ..
        })
    ));
}

#[test]
fn a_store_larger_than_the_limit_is_refused() {
    let scratch = Scratch::new();
    let path = scratch.write("certs/huge.pem", CERTIFICATE_PEM);
    let file = fs_err::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(CA_STORE_MAX_BYTES + 1).unwrap();
    assert!(matches!(
        scratch.load(&path),
        Err(CaStoreError::TooLarge { .. })
    ));
}

#[test]
fn a_key_or_a_certificate_with_a_key_is_refused_for_what_it_holds() {
    let scratch = Scratch::new();
    let key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH\n-----END PRIVATE KEY-----\n";
    for text in [
        key.to_string(),
        format!("{CERTIFICATE_PEM}{key}"),
        String::new(),
    ] {
        let path = scratch.write("certs/bundle.pem", &text);
        let error = scratch.load(&path).unwrap_err();
        let message = crate::doctor::error_chain(&error);
        assert!(matches!(error, CaStoreError::Content { .. }), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(!message.contains("MIGHAgEA"), "{message}");
        assert_eq!(error.from(), Whose::Configured);
    }
    let path = scratch.write("certs/bundle.pem", key);
    assert!(matches!(
        scratch.load(&path),
        Err(CaStoreError::Content {
            source: PemError::OtherBlock { line: 1, .. },
            ..
        })
    ));
}

#[test]
fn certificates_among_a_homes_keys_or_in_the_aegisclaw_home_are_refused() {
    let scratch = Scratch::new();
    for relative in ["user/.ssh/ca.pem", "aegis/ca.pem", "certs/.gnupg/ca.pem"] {
        let path = scratch.write(relative, CERTIFICATE_PEM);
        match scratch.load(&path) {
            Err(CaStoreError::Sensitive { reason, .. }) => assert!(!reason.is_empty()),
            other => panic!("{relative}: {other:?}"),
        }
    }
    // Reached through a symlink from an unremarkable place: rated as what it is.
    let link = scratch.path("certs/innocent.pem");
    std::os::unix::fs::symlink(scratch.path("user/.ssh/ca.pem"), &link).unwrap();
    let error = scratch.load(&link).unwrap_err();
    assert!(
        error.to_string().contains("(resolved: `"),
        "{}",
        crate::doctor::error_chain(&error)
    );
}

#[test]
fn the_distribution_store_only_root_can_change_is_bound_unread_and_counted_by_doctor() {
    let scratch = Scratch::new();
    let Some(own) = DISTRIBUTION_CA_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
    else {
        eprintln!("skipped: this host has no distribution CA store");
        assert!(load(None, &scratch.context).unwrap().is_none());
        return;
    };
    let store = load(None, &scratch.context).unwrap().unwrap();
    assert_eq!((store.from, &store.path), (Whose::Distribution, &own));
    let Given::RootOwned { bytes } = store.given else {
        eprintln!(
            "skipped: {} is not root's alone on this host",
            own.display()
        );
        return;
    };
    assert_eq!(bytes, fs_err::metadata(&store.resolved).unwrap().len());
    assert_eq!(store.spec(), CaStoreSpec::RootOwned(store.resolved.clone()));
    // `doctor` reads and checks it as a configured one; the same file configured by name is
    // checked for every run.
    let configured = scratch.load(&own).unwrap().unwrap();
    let Given::Certificates { certificates, .. } = configured.given else {
        panic!("a configured store is checked: {configured:?}");
    };
    assert_eq!(store.count_certificates().unwrap(), certificates);
    assert!(certificates > 0);
}
