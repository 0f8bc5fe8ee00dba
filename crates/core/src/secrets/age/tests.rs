//! Tests of the age store: round trips, passphrases, locking, corruption, modes and redaction.

use super::*;
use std::os::unix::fs::PermissionsExt as _;

const VALUE: &str = "hunter2-very-secret-value";

fn home() -> (tempfile::TempDir, Home) {
    let temp = tempfile::tempdir().unwrap();
    let home = Home::at(temp.path().join("home"));
    home.ensure_layout().unwrap();
    (temp, home)
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

fn no_passphrase() -> Result<SecretString, SecretsError> {
    panic!("an unprotected store must not ask for a passphrase")
}

/// A protected store with a low scrypt work factor, so the test is fast.
fn protected(home: &Home, passphrase: &str) -> InitOutcome {
    AgeStore::init_with_work_factor(home, Some(secret(passphrase)), Some(10)).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_open_set_get_list_delete_round_trip() {
    let (_temp, home) = home();
    assert_eq!(
        AgeStore::status(&home).unwrap(),
        StoreStatus {
            initialised: false,
            protected: false,
            secrets: None
        }
    );
    let outcome = AgeStore::init(&home, None).unwrap();
    assert!(outcome.recipient.starts_with("age1"));
    assert!(!outcome.protected);
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    assert_eq!(store.recipient(), outcome.recipient);
    assert_eq!(store.backend(), "age");
    assert_eq!(store.list().unwrap(), Vec::<String>::new());

    store.set("ZETA", secret("z")).unwrap();
    store.set("API_KEY", secret(VALUE)).unwrap();
    assert_eq!(store.list().unwrap(), ["API_KEY", "ZETA"]);
    assert_eq!(
        store.get("API_KEY").unwrap().unwrap().expose_secret(),
        VALUE
    );
    assert!(store.get("MISSING").unwrap().is_none());
    let info = store.list_info().unwrap();
    assert_eq!(info.len(), 2);
    assert!(info.iter().all(|info| info.updated.is_some()));

    // A second handle sees the same data; replacing keeps one entry.
    let again = AgeStore::open(&home, no_passphrase).unwrap();
    again.set("ZETA", secret("z2")).unwrap();
    assert_eq!(store.get("ZETA").unwrap().unwrap().expose_secret(), "z2");
    assert_eq!(
        AgeStore::status(&home).unwrap(),
        StoreStatus {
            initialised: true,
            protected: false,
            secrets: Some(2)
        }
    );

    assert!(store.delete("ZETA").unwrap());
    assert!(!store.delete("ZETA").unwrap());
    assert_eq!(store.list().unwrap(), ["API_KEY"]);
}

#[test]
fn rotate_replaces_only_existing_secrets() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    let error = store.rotate("TOKEN", secret("new")).unwrap_err();
    assert!(matches!(error, SecretsError::NotFound { ref name } if name == "TOKEN"));
    store.set("TOKEN", secret("old")).unwrap();
    let before = store.list_info().unwrap()[0].updated.unwrap();
    store.rotate("TOKEN", secret("new")).unwrap();
    assert_eq!(store.get("TOKEN").unwrap().unwrap().expose_secret(), "new");
    assert!(store.list_info().unwrap()[0].updated.unwrap() >= before);
}

#[test]
fn names_and_values_are_checked() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    let error = store.set("1BAD", secret("x")).unwrap_err();
    assert!(error.to_string().contains("`1BAD`"), "{error}");
    assert!(store.get("a-b").is_err());
    assert_eq!(
        store.set("EMPTY", secret("")).unwrap_err().to_string(),
        "the value of secret `EMPTY` is empty"
    );
    let big = "x".repeat(super::super::MAX_VALUE_BYTES + 1);
    assert_eq!(
        store.set("BIG", secret(&big)).unwrap_err().to_string(),
        "the value of secret `BIG` is larger than 65536 bytes"
    );
    store
        .set("FITS", secret(&big[..super::super::MAX_VALUE_BYTES]))
        .unwrap();
}

#[test]
fn init_refuses_to_replace_an_identity() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let error = AgeStore::init(&home, None).unwrap_err();
    assert!(matches!(error, SecretsError::AlreadyInitialised { .. }));
    assert!(error.to_string().contains("secrets/identity"), "{error}");
}

#[test]
fn open_without_init_names_the_identity_file() {
    let (_temp, home) = home();
    let error = AgeStore::open(&home, no_passphrase).unwrap_err();
    assert!(matches!(error, SecretsError::NotInitialised { .. }));
    assert!(error.to_string().contains("secrets/identity"), "{error}");
}

#[test]
fn protected_identity_needs_the_right_passphrase() {
    let (_temp, home) = home();
    let outcome = protected(&home, "correct horse");
    assert!(outcome.protected);
    let identity = fs::read(AgeStore::identity_file(&home)).unwrap();
    assert!(identity.starts_with(AGE_HEADER));
    assert!(!String::from_utf8_lossy(&identity).contains("AGE-SECRET-KEY"));
    assert_eq!(
        AgeStore::status(&home).unwrap(),
        StoreStatus {
            initialised: true,
            protected: true,
            secrets: None
        }
    );

    let store = AgeStore::open(&home, || Ok(secret("correct horse"))).unwrap();
    assert!(store.is_protected());
    assert_eq!(store.recipient(), outcome.recipient);
    store.set("TOKEN", secret(VALUE)).unwrap();

    let error = AgeStore::open(&home, || Ok(secret("wrong horse"))).unwrap_err();
    assert!(
        matches!(error, SecretsError::WrongPassphrase { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("secrets/identity"), "{error}");

    let error = AgeStore::open(&home, || {
        Err(SecretsError::Locked {
            path: AgeStore::identity_file(&home),
        })
    })
    .unwrap_err();
    assert!(error.to_string().contains("AEGISCLAW_SECRETS_PASSPHRASE"));

    let error = AgeStore::open(&home, || Ok(secret(""))).unwrap_err();
    assert!(matches!(error, SecretsError::EmptyPassphrase { .. }));
}

#[test]
fn a_new_passphrase_must_not_be_short() {
    let (_temp, home) = home();
    let error = AgeStore::init(&home, Some(secret("short"))).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the passphrase for `{}` must have at least 8 characters",
            AgeStore::identity_file(&home).display()
        )
    );
    assert!(!AgeStore::identity_file(&home).exists());
    AgeStore::init(&home, None).unwrap();
}

#[test]
fn concurrent_writers_lose_nothing() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let home = home.clone();
            std::thread::spawn(move || {
                for index in 0..6 {
                    let store = AgeStore::open(&home, no_passphrase).unwrap();
                    store
                        .set(&format!("T{thread}_{index}"), secret("v"))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    assert_eq!(store.list().unwrap().len(), 24);
}

#[test]
fn a_corrupt_store_is_an_error_naming_it() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    store.set("KEEP", secret(VALUE)).unwrap();
    let path = AgeStore::store_file(&home);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    for error in [
        store.list().unwrap_err(),
        store.set("NEW", secret("x")).unwrap_err(),
    ] {
        assert!(matches!(error, SecretsError::Decrypt { .. }), "{error:?}");
        assert!(error.to_string().contains("secrets/store.age"), "{error}");
    }
    // Nothing was reset: the damaged file is still there, byte for byte.
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn unparsable_plaintext_names_the_file_but_never_the_value() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    let path = AgeStore::store_file(&home);
    let write_plain = |text: &str| {
        let ciphertext = age::encrypt(&store.recipient, text.as_bytes()).unwrap();
        fs::write(&path, ciphertext).unwrap();
    };
    // An entry in an older shape: serde_json would quote the value in its message.
    write_plain(&format!(r#"{{"version":1,"secrets":{{"OLD":"{VALUE}"}}}}"#));
    let error = store.list().unwrap_err();
    assert!(matches!(error, SecretsError::Parse { .. }), "{error:?}");
    assert!(error.to_string().contains("secrets/store.age"), "{error}");
    assert!(!format!("{error} {error:?}").contains(VALUE));

    write_plain(r#"{"version":2,"secrets":{}}"#);
    assert_eq!(
        store.list().unwrap_err().to_string(),
        format!(
            "`{}` has store version 2; this aegisclaw reads version 1",
            path.display()
        )
    );
    write_plain(r#"{"version":1,"secrets":{"A":{"updated":"yesterday","value":"x"}}}"#);
    assert!(matches!(
        store.list().unwrap_err(),
        SecretsError::InvalidEntry { .. }
    ));
}

#[test]
fn files_are_private() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    store.set("A", secret("x")).unwrap();
    assert_eq!(mode(&home.secrets_dir()), 0o700);
    for name in ["identity", "store.age", ".lock"] {
        assert_eq!(mode(&home.secrets_dir().join(name)), 0o600, "{name}");
    }
    assert!(home.loose_permissions().unwrap().is_empty());
}

#[test]
fn values_never_appear_in_debug_or_errors() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    store.set("TOKEN", secret(VALUE)).unwrap();
    let got = store.get("TOKEN").unwrap().unwrap();
    let identity = fs::read_to_string(AgeStore::identity_file(&home)).unwrap();
    let key = identity.trim();
    assert!(key.starts_with("AGE-SECRET-KEY-1"));
    let debug = format!("{store:?} {got:?}");
    assert!(!debug.contains(VALUE), "{debug}");
    assert!(!debug.contains(key), "{debug}");
    let errors = [
        store.rotate("OTHER", secret(VALUE)).unwrap_err(),
        store.set("1X", secret(VALUE)).unwrap_err(),
        store.set("BIG", secret(&VALUE.repeat(5000))).unwrap_err(),
    ];
    for error in errors {
        let text = format!("{error} {error:?}");
        assert!(!text.contains(VALUE), "{text}");
    }
    // The store file holds no plaintext.
    let ciphertext = fs::read(AgeStore::store_file(&home)).unwrap();
    assert!(!String::from_utf8_lossy(&ciphertext).contains(VALUE));
}

#[test]
fn plaintext_is_canonical_json_with_update_times() {
    let (_temp, home) = home();
    AgeStore::init(&home, None).unwrap();
    let store = AgeStore::open(&home, no_passphrase).unwrap();
    store.set("B", secret("2")).unwrap();
    store.set("A", secret("1")).unwrap();
    let plain = age::decrypt(
        &store.identity,
        &fs::read(AgeStore::store_file(&home)).unwrap(),
    )
    .unwrap();
    let text = String::from_utf8(plain).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(crate::canonical::to_canonical_string(&value).unwrap(), text);
    assert_eq!(value["version"], 1);
    assert_eq!(value["secrets"]["A"]["value"], "1");
    let updated = value["secrets"]["B"]["updated"].as_str().unwrap();
    Timestamp::parse(updated).unwrap();
}
