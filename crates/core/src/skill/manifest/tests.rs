//! Unit tests of `skill::manifest`: parsing, validation, error locations, signing payload.

use super::*;
use pretty_assertions::assert_eq;

const FULL: &str = "\
name: file-organiser
version: 1.0.0
description: Sorts files by type and date
platform: native
entrypoint: [python3, organise.py]
scopes: [files.read:/tmp/input, files.write:/tmp/output]
resources: {memory_mb: 256, cpus: 1.5, pids: 64, timeout_s: 60}
files: {organise.py: sha256:0000000000000000000000000000000000000000000000000000000000000000}
publisher: 0123456789abcdef
";

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, Path::new("skills/x/manifest.yaml"))
}

#[test]
fn full_manifest_parses_and_round_trips_through_yaml() {
    let manifest = parse(FULL).unwrap();
    assert_eq!(manifest.platform, Platform::Native);
    assert_eq!(manifest.entrypoint, ["python3", "organise.py"]);
    assert_eq!(
        manifest.resources,
        Some(Resources {
            memory_mb: Some(256),
            cpus: Some(1.5),
            pids: Some(64),
            timeout_s: Some(60),
            file_size_mb: None,
        })
    );
    let again = parse(&manifest.to_yaml().unwrap()).unwrap();
    assert_eq!(again, manifest);
    assert_eq!(
        again.signing_payload().unwrap(),
        manifest.signing_payload().unwrap()
    );
}

#[test]
fn signing_payload_is_canonical_and_excludes_the_signature() {
    let mut manifest =
        parse("name: a\nversion: 0.1.0\nentrypoint: [run]\nscopes: [shell.exec]\n").unwrap();
    let unsigned = manifest.signing_payload().unwrap();
    assert_eq!(
        String::from_utf8(unsigned.clone()).unwrap(),
        r#"{"entrypoint":["run"],"name":"a","platform":"native","scopes":["shell.exec"],"version":"0.1.0"}"#
    );
    manifest.signature = Some("ed25519:AAAA".into());
    assert_eq!(manifest.signing_payload().unwrap(), unsigned);
}

#[test]
fn file_size_mb_is_signed_when_given_and_absent_from_older_manifests_bytes() {
    // A manifest written before `file_size_mb` existed signs the same bytes as it did then.
    let older = parse(
        "name: a\nversion: 0.1.0\nentrypoint: [run]\nresources: {memory_mb: 64, timeout_s: 30}\n",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(older.signing_payload().unwrap()).unwrap(),
        r#"{"entrypoint":["run"],"name":"a","platform":"native","resources":{"memory_mb":64,"timeout_s":30},"version":"0.1.0"}"#
    );
    let newer = parse("name: a\nversion: 0.1.0\nentrypoint: [run]\nresources: {file_size_mb: 8}\n")
        .unwrap();
    assert_eq!(
        newer.resources.as_ref().and_then(|r| r.file_size_mb),
        Some(8)
    );
    assert!(
        String::from_utf8(newer.signing_payload().unwrap())
            .unwrap()
            .contains(r#""resources":{"file_size_mb":8}"#)
    );
    let error = parse("name: a\nversion: 0.1.0\nentrypoint: [run]\nresources: {file_size_mb: 0}\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("file_size_mb"), "{error}");
}

#[test]
fn unknown_key_names_the_key_and_line() {
    let error = parse("name: a\nversion: 1.0.0\nentrypoint: [x]\ncolour: red\n").unwrap_err();
    let ManifestError::Yaml { field, line, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!((field.as_deref(), *line), (Some("colour"), Some(4)));
    let text = error.to_string();
    assert!(text.contains("colour") && text.contains("line 4"), "{text}");
}

#[test]
fn wrong_type_names_the_nested_field_and_line() {
    let text =
        "name: a\nversion: 1.0.0\nentrypoint: [x]\nresources:\n  pids: 3\n  memory_mb: lots\n";
    let error = parse(text).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("line 6") && message.contains("`resources.memory_mb`"),
        "{message}"
    );
    let flow = "name: a\nversion: 1.0.0\nentrypoint: [x]\nresources: {pids: 1, cpus: many}\n";
    let message = parse(flow).unwrap_err().to_string();
    assert!(
        message.contains("line 4") && message.contains("`resources.cpus`"),
        "{message}"
    );
}

#[test]
fn validation_errors_name_field_and_line() {
    let cases = [
        ("name: Bad\nversion: 1.0.0\nentrypoint: [x]\n", "name", 1),
        ("name: a\nversion: one\nentrypoint: [x]\n", "version", 2),
        ("name: a\nversion: 1.0.0\n", "entrypoint", 0),
        ("name: a\nversion: 1.0.0\nplatform: docker\n", "image", 0),
        (
            "name: a\nversion: 1.0.0\nplatform: docker-compose\n",
            "compose_file",
            0,
        ),
        (
            "name: a\nversion: 1.0.0\nentrypoint: [x]\nresources:\n  memory_mb: 1\n",
            "resources.memory_mb",
            5,
        ),
        (
            "name: a\nversion: 1.0.0\nentrypoint: [x]\nfiles:\n  ../etc/passwd: sha256:00\n",
            "files.../etc/passwd",
            5,
        ),
        (
            "name: a\nversion: 1.0.0\nentrypoint: [x]\nfiles: {a.sh: md5:00}\n",
            "files.a.sh",
            4,
        ),
    ];
    for (text, expected_field, expected_line) in cases {
        let error = parse(text).unwrap_err();
        let ManifestError::Invalid { field, line, .. } = &error else {
            panic!("{error}")
        };
        assert_eq!(field, expected_field, "{error}");
        assert_eq!(line.unwrap_or(0), expected_line, "{error}");
        assert!(error.to_string().contains("skills/x/manifest.yaml"));
    }
}

#[test]
fn duplicate_keys_and_oversize_are_rejected() {
    let error = parse("name: a\nname: b\nversion: 1.0.0\nentrypoint: [x]\n").unwrap_err();
    assert!(matches!(error, ManifestError::Yaml { .. }), "{error}");
    let huge = format!("description: \"{}\"\n", "x".repeat(MAX_MANIFEST_BYTES));
    assert!(matches!(
        parse(&huge).unwrap_err(),
        ManifestError::TooLarge { .. }
    ));
}

#[test]
fn names_follow_the_grammar() {
    assert!(is_valid_name("a") && is_valid_name("file-organiser-2"));
    assert!(is_valid_name(&"a".repeat(64)) && !is_valid_name(&"a".repeat(65)));
    for bad in ["", "-a", "A", "a_b", "a.b", "a/b"] {
        assert!(!is_valid_name(bad), "{bad}");
    }
}

#[test]
fn yaml_lookalike_strings_survive_the_round_trip() {
    let manifest = Manifest {
        name: "123".into(),
        version: "1.0.0".into(),
        description: "true: null # not a comment".into(),
        platform: Platform::Docker,
        image: Some("0x10".into()),
        entrypoint: vec!["~".into(), "- a".into(), "yes".into(), "1e3".into()],
        scopes: vec!["files.read:/tmp/a b".into(), "'quoted'".into()],
        resources: Some(Resources {
            cpus: Some(2.0),
            ..Resources::default()
        }),
        compose_file: None,
        services: BTreeMap::new(),
        files: BTreeMap::from([(
            "dir/file name.txt".into(),
            format!("sha256:{}", "ab".repeat(32)),
        )]),
        signature: Some("ed25519:AAAA+/==".into()),
        publisher: Some("0123456789abcdef".into()),
    };
    let yaml = manifest.to_yaml().unwrap();
    assert_eq!(parse(&yaml).unwrap(), manifest, "{yaml}");
}
