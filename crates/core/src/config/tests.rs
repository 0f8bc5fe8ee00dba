use super::*;
use pretty_assertions::assert_eq;

fn parse(text: &str) -> Result<Config, ConfigError> {
    let path = Path::new("/h/config.yaml");
    ConfigFile::parse(text, path)?.resolve(path)
}

#[test]
fn a_file_that_sets_nothing_is_an_error_naming_it() {
    for text in [
        "",
        " \n\t\n",
        "# a comment\n   # another\n",
        "---\n",
        "--- # x\n...\n",
        // A byte order mark alone, or before blanks and comments (attack pass 5).
        "\u{feff}",
        "\u{feff}\n",
        "\u{feff}# note\n",
        // After a blank line or a comment, or twice (attack pass 7).
        "\n\u{feff}\n",
        "# x\n\u{feff}\n",
        "\u{feff}\u{feff}\n",
    ] {
        let error = parse(text).unwrap_err();
        assert!(
            matches!(error, ConfigError::Empty { .. }),
            "{text:?}: {error}"
        );
        assert!(
            error
                .to_string()
                .starts_with("config `/h/config.yaml` is empty"),
            "{error}"
        );
    }
    // An explicit empty mapping says "every default" on purpose.
    assert_eq!(parse("{}\n").unwrap(), Config::default());
    assert_eq!(parse("version: 1 # defaults\n").unwrap(), Config::default());
    assert!(!sets_nothing("---x: 1\n"));
    assert_eq!(parse("\u{feff}version: 1\n").unwrap(), Config::default());
}

#[test]
fn written_config_reads_back_identically() {
    let bundle = tempfile::NamedTempFile::new().unwrap();
    let config = Config {
        runtime: RuntimeKind::Docker,
        limits: Limits {
            memory_mb: 1024,
            pids: 64,
            cpus: 0.5,
            timeout_s: 60,
            file_size_mb: 16,
        },
        network_namespace: NetworkNamespace::Fresh,
        ca_bundle: Some(bundle.path().to_path_buf()),
        policy_template: PolicyTemplate::Strict,
        rego_version: RegoVersion::V0,
        secrets_backend: SecretsBackend::Age,
        checkpoint_every: 10,
        max_run_records: 50,
    };
    assert_eq!(parse(&config.to_file().to_yaml()).unwrap(), config);
}

#[test]
fn a_recorded_parse_serves_only_its_own_text() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::resolve(Some(dir.path())).unwrap();
    home.ensure_layout().unwrap();
    let text = "sandbox:\n  limits:\n    pids: 64\n    cpus: 0.5\n";
    fs_err::write(home.config_file(), text).unwrap();
    let parsed = Config::load(&home).unwrap();
    assert_eq!((parsed.limits.pids, parsed.limits.cpus), (64, 0.5));
    // The record is keyed by the text and holds the parse, which round-trips exactly.
    let cached = fs_err::read_to_string(home.config_cache()).unwrap();
    assert!(
        cached.starts_with(&format!("{}\n", parse_key(text))),
        "{cached}"
    );
    assert_eq!(
        cached_parse(&home, text),
        Some(ConfigFile::parse(text, &home.config_file()).unwrap())
    );
    // The record is what the next load uses (it is as trusted as config.yaml itself).
    fs_err::write(home.config_cache(), cached.replace("64", "65")).unwrap();
    assert_eq!(Config::load(&home).unwrap().limits.pids, 65);
    // Another text misses and is parsed (and validated) afresh.
    fs_err::write(home.config_file(), "sandbox:\n  limits:\n    pids: 66\n").unwrap();
    assert_eq!(Config::load(&home).unwrap().limits.pids, 66);
    // So is any text when the record is unreadable, and a bad value is still refused.
    fs_err::write(home.config_cache(), "garbage").unwrap();
    fs_err::write(home.config_file(), "sandbox:\n  limits:\n    pids: 0\n").unwrap();
    let error = Config::load(&home).unwrap_err().to_string();
    assert!(error.contains("pids"), "{error}");
}

#[test]
fn unknown_key_names_key_and_line() {
    let error = parse("version: 1\nsandbox:\n  runtime: native\n  runtim: docker\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("runtim"), "{error}");
    assert!(error.contains("line 4"), "{error}");
    assert!(error.contains("/h/config.yaml"), "{error}");
}

#[test]
fn bad_values_name_the_field() {
    let error = parse("sandbox:\n  runtime: vm\n").unwrap_err().to_string();
    assert_eq!(
        error,
        "invalid config `/h/config.yaml`: field `sandbox.runtime`: `vm` is not one of `native`, `docker`, `gvisor`, `kata`, `firecracker`, `auto`"
    );
    let error = parse("sandbox:\n  limits:\n    pids: 0\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("sandbox.limits.pids"), "{error}");
    // Below the kernel's CFS floor a share would be recorded but not enforced (attack pass 5).
    let error = parse("sandbox:\n  limits:\n    cpus: 0.0001\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid config `/h/config.yaml`: field `sandbox.limits.cpus`: `0.0001` must be at least 0.01 and at most 1024"
    );
    assert_eq!(
        parse("sandbox:\n  limits:\n    cpus: 0.01\n")
            .unwrap()
            .limits
            .cpus,
        0.01
    );
    let error = parse("sandbox:\n  network_namespace: shared\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid config `/h/config.yaml`: field `sandbox.network_namespace`: `shared` is not one of `reuse`, `fresh`"
    );
    assert_eq!(
        parse("sandbox:\n  network_namespace: fresh\n")
            .unwrap()
            .network_namespace,
        NetworkNamespace::Fresh
    );
    let error = parse("version: 2\n").unwrap_err().to_string();
    assert!(error.contains("`version`"), "{error}");
    let error = parse("audit:\n  max_run_records: 5\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid config `/h/config.yaml`: field `audit.max_run_records`: `5` must be between 10 and 100000"
    );
    assert_eq!(
        parse("audit:\n  max_run_records: 10\n")
            .unwrap()
            .max_run_records,
        10
    );
}

#[test]
fn the_ca_bundle_must_be_an_existing_file_and_the_file_size_limit_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    fs_err::write(&bundle, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let config = parse(&format!("sandbox:\n  ca_bundle: {}\n", bundle.display())).unwrap();
    assert_eq!(config.ca_bundle, Some(bundle.clone()));
    assert_eq!(parse("{}\n").unwrap().ca_bundle, None);
    let missing = dir.path().join("missing.pem");
    let error = parse(&format!("sandbox:\n  ca_bundle: {}\n", missing.display()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        format!(
            "invalid config `/h/config.yaml`: field `sandbox.ca_bundle`: `{}` is not a file",
            missing.display()
        )
    );
    let error = parse("sandbox:\n  ca_bundle: ca.pem\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid config `/h/config.yaml`: field `sandbox.ca_bundle`: `ca.pem` is not an absolute path"
    );
    assert_eq!(
        parse("{}\n").unwrap().limits.file_size_mb,
        DEFAULT_FILE_SIZE_MB
    );
    assert_eq!(
        parse("sandbox:\n  limits:\n    file_size_mb: 4\n")
            .unwrap()
            .limits
            .file_size_mb,
        4
    );
    let error = parse("sandbox:\n  limits:\n    file_size_mb: 0\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid config `/h/config.yaml`: field `sandbox.limits.file_size_mb`: `0` must be between 1 and 1048576"
    );
}

#[test]
fn wrong_type_and_bad_yaml_are_errors_with_location() {
    let error = parse("sandbox:\n  limits:\n    pids: many\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("line 3"), "{error}");
    let error = parse("sandbox: [unclosed\n").unwrap_err().to_string();
    assert!(error.contains("/h/config.yaml"), "{error}");
}

#[test]
fn a_null_or_empty_value_is_an_error_naming_field_and_line_not_a_default() {
    for (text, field, line) in [
        ("sandbox: null\n", "sandbox", 1),
        ("version: 1\nsandbox: ~\n", "sandbox", 2),
        (
            "sandbox:\n  limits:\n    timeout_s: ~\n",
            "sandbox.limits.timeout_s",
            3,
        ),
        ("sandbox:\n  runtime:\n", "sandbox.runtime", 2),
        ("sandbox:\n  limits:\n", "sandbox.limits", 2),
        ("sandbox:\n  ca_bundle: null\n", "sandbox.ca_bundle", 2),
        ("policy:\n  template: ~\n", "policy.template", 2),
        ("audit:\n  max_run_records:\n", "audit.max_run_records", 2),
        ("secrets: {backend: null}\n", "secrets.backend", 1),
    ] {
        let error = parse(text).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, ConfigError::Parse { .. }),
            "{text:?}: {message}"
        );
        assert!(
            message.starts_with("invalid config `/h/config.yaml`: "),
            "{message}"
        );
        assert!(
            message.contains(&format!(
                "field `{field}` is null or empty; give it a value, or remove the key for its default"
            )),
            "{text:?}: {message}"
        );
        assert!(
            message.contains(&format!("line {line}")),
            "{text:?}: {message}"
        );
    }
    // A key left out still takes its default.
    assert_eq!(
        parse("sandbox:\n  runtime: native\n").unwrap(),
        Config::default()
    );
}
