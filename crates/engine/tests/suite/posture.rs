//! Posture: scoring from enforced facts, on synthetic inputs and on real homes.

use super::common::{home_with, tamper_audit};
use aegisclaw_core::audit::VerifyReport;
use aegisclaw_core::config::{Config, PolicyTemplate, RuntimeKind};
use aegisclaw_core::policy::Outcome;
use aegisclaw_core::scope::Risk;
use aegisclaw_engine::posture::{
    self, Category, GridDecision, Posture, PostureInput, RecentRuns, SecretsFacts,
};
use aegisclaw_sandbox::probe::{self, Layer, Probes};

/// Every native layer available, cgroup limits writable, no optional runtime.
fn good_probes() -> Probes {
    let yes = || Layer::yes("probed");
    let mut probes = Probes::unsupported();
    for layer in [
        &mut probes.user_namespaces,
        &mut probes.mount_namespace,
        &mut probes.pid_namespace,
        &mut probes.net_namespace,
        &mut probes.ipc_namespace,
        &mut probes.uts_namespace,
        &mut probes.cgroup_namespace,
        &mut probes.landlock,
        &mut probes.seccomp,
        &mut probes.no_new_privs,
    ] {
        *layer = yes();
    }
    probes.landlock_abi = Some(7);
    probes.cgroups.memory = true;
    probes.cgroups.pids = true;
    probes
}

fn strict_grid() -> Vec<GridDecision> {
    let mut grid = Vec::new();
    for risk in [Risk::Low, Risk::Medium, Risk::High, Risk::Critical] {
        for signed in [false, true] {
            let outcome = match (risk, signed) {
                (Risk::Critical, false) => Outcome::Deny,
                (Risk::Low, _) => Outcome::Allow,
                _ => Outcome::NeedsApproval,
            };
            grid.push(GridDecision {
                risk,
                signed,
                outcome,
            });
        }
    }
    grid
}

fn intact_audit(records: u64, checkpoint: Option<u64>) -> VerifyReport {
    VerifyReport {
        records,
        last_seq: records,
        last_hash: String::new(),
        checkpoints: u64::from(checkpoint.is_some()),
        last_checkpoint_seq: checkpoint,
        problem: None,
    }
}

fn input() -> PostureInput {
    PostureInput {
        runtime: RuntimeKind::Native,
        probes: good_probes(),
        runtimes: probe::detect_runtimes(),
        secrets: Ok(SecretsFacts {
            initialised: false,
            passphrase_protected: false,
        }),
        policy: Ok(strict_grid()),
        audit: Ok(intact_audit(3, Some(3))),
        skills: Ok(Vec::new()),
        runs: Ok(RecentRuns {
            count: 0,
            without_cgroup: 0,
        }),
    }
}

fn points(posture: &Posture) -> Vec<(&'static str, u32, u32)> {
    posture
        .categories
        .iter()
        .map(|c| (c.name, c.points, c.max))
        .collect()
}

fn category<'a>(posture: &'a Posture, name: &str) -> &'a Category {
    posture.categories.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn a_native_machine_with_a_strict_policy_scores_every_enforced_point() {
    let posture = posture::score(&input());
    assert_eq!(
        points(&posture),
        vec![
            ("Sandbox isolation", 26, 30),
            ("Secrets", 0, 20),
            ("Policy", 20, 20),
            ("Audit", 15, 15),
            ("Skills", 10, 10),
            ("Network", 5, 5),
        ]
    );
    assert_eq!(
        (posture.total, posture.max, posture.percent, posture.grade),
        (76, 100, 76, 'B')
    );
    let secrets = category(&posture, "Secrets");
    assert!(
        secrets
            .raise
            .as_deref()
            .unwrap()
            .contains("rotation is not scored")
    );
    assert!(
        category(&posture, "Sandbox isolation")
            .raise
            .as_deref()
            .unwrap()
            .contains("microVM")
    );
}

#[test]
fn missing_layers_zero_the_sandbox_and_the_network() {
    let mut input = input();
    input.probes.landlock = Layer::no("ENOSYS");
    input.probes.net_namespace = Layer::no("EPERM");
    let posture = posture::score(&input);
    let sandbox = category(&posture, "Sandbox isolation");
    assert_eq!(sandbox.points, 0);
    assert!(
        sandbox
            .detail
            .contains("missing layers: network namespace, landlock"),
        "{}",
        sandbox.detail
    );
    assert!(sandbox.raise.is_some());
    assert_eq!(category(&posture, "Network").points, 0);
}

#[test]
fn a_configured_runtime_without_an_adapter_scores_zero_even_when_installed() {
    // Firecracker and /dev/kvm being present does not make runs use them: no adapter exists,
    // so every run is refused and the host's isolation is not what the config names.
    for installed in [false, true] {
        let mut input = input();
        input.runtime = RuntimeKind::Firecracker;
        input.runtimes.firecracker.available = installed;
        input.runtimes.kvm.openable = installed;
        let sandbox = posture::score(&input).categories.remove(0);
        assert_eq!(sandbox.points, 0);
        assert_eq!(
            sandbox.detail,
            "configured runtime `firecracker` has no adapter yet: every run is refused"
        );
    }
    // `auto` is scored as what it runs here: native.
    let mut input = input();
    input.runtime = RuntimeKind::Auto;
    input.runtimes.firecracker.available = true;
    input.runtimes.kvm.openable = true;
    let sandbox = posture::score(&input).categories.remove(0);
    assert!(sandbox.detail.starts_with("native: "), "{}", sandbox.detail);
}

#[test]
fn runs_that_had_no_cgroup_limits_cost_four_points_and_are_named() {
    let mut input = input();
    input.runs = Ok(RecentRuns {
        count: 40,
        without_cgroup: 3,
    });
    let posture = posture::score(&input);
    let sandbox = category(&posture, "Sandbox isolation");
    assert_eq!(sandbox.points, 22);
    assert!(
        sandbox
            .detail
            .ends_with("; 3 of the last 40 runs had no cgroup limits (rlimits only)"),
        "{}",
        sandbox.detail
    );
    input.runs = Ok(RecentRuns {
        count: 40,
        without_cgroup: 0,
    });
    let sandbox = posture::score(&input).categories.remove(0);
    assert_eq!(sandbox.points, 26);
    assert!(sandbox.detail.ends_with("; the last 40 runs all had them"));
}

#[test]
fn recent_runs_are_read_from_the_run_finished_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut writer =
        aegisclaw_core::audit::AuditLog::open(&log, &dir.path().join("cp.jsonl"), None).unwrap();
    let finished = |cgroup: serde_json::Value| {
        aegisclaw_core::audit::Event::new("run.finished", "t")
            .data(serde_json::json!({"enforcement": {"cgroup": cgroup}}))
    };
    let mut events = vec![aegisclaw_core::audit::Event::new("run.launch", "t")];
    events.extend((0..5).map(|_| finished(serde_json::json!("v1"))));
    events.extend((0..2).map(|_| finished(serde_json::Value::Null)));
    writer.append_batch(events).unwrap();
    assert_eq!(
        RecentRuns::read(&log).unwrap(),
        RecentRuns {
            count: 7,
            without_cgroup: 2,
        }
    );
    assert_eq!(
        RecentRuns::read(&dir.path().join("none.jsonl")).unwrap(),
        RecentRuns::default()
    );
}

#[test]
fn unwritable_cgroups_cost_four_points() {
    let mut input = input();
    input.probes.cgroups.memory = false;
    assert_eq!(
        category(&posture::score(&input), "Sandbox isolation").points,
        22
    );
}

#[test]
fn a_policy_that_allows_everything_scores_nothing() {
    let mut input = input();
    input.policy = Ok(strict_grid()
        .into_iter()
        .map(|d| GridDecision {
            outcome: Outcome::Allow,
            ..d
        })
        .collect());
    let policy = category(&posture::score(&input), "Policy").clone();
    assert_eq!(policy.points, 0);
    assert_eq!(
        policy.detail,
        "8 grid decisions: unsigned critical denied 0/1, high risk needs approval 0/2, nothing critical without approval 0/2"
    );
}

#[test]
fn a_broken_chain_scores_no_audit_points_and_an_unsigned_tail_ten() {
    let mut input = input();
    input.audit = Ok(intact_audit(5, Some(3)));
    assert_eq!(category(&posture::score(&input), "Audit").points, 10);
    let mut broken = intact_audit(0, None);
    broken.problem = Some(aegisclaw_core::audit::Problem {
        seq: 1,
        kind: aegisclaw_core::audit::ProblemKind::Edited,
        detail: "hash mismatch".to_string(),
    });
    input.audit = Ok(broken);
    assert_eq!(category(&posture::score(&input), "Audit").points, 0);
}

#[test]
fn grades_follow_the_seed_boundaries() {
    let grades: String = [100, 90, 89, 75, 74, 60, 59, 40, 39, 0]
        .map(posture::grade)
        .iter()
        .collect();
    assert_eq!(grades, "AABBCCDDFF");
}

#[test]
fn real_templates_are_scored_by_their_decisions_not_their_names() {
    let score_of = |template| {
        let (_dir, home) = home_with(template);
        let config = Config {
            policy_template: template,
            ..Config::default()
        };
        let input = PostureInput::gather(&home, &config, good_probes(), probe::detect_runtimes());
        category(&posture::score(&input), "Policy").points
    };
    // Strict asks a human about everything but refuses nothing: an unsigned skill can still
    // get a critical scope approved, which standard refuses outright.
    let scores = [
        PolicyTemplate::Strict,
        PolicyTemplate::Standard,
        PolicyTemplate::Permissive,
    ]
    .map(score_of);
    assert_eq!(scores, [12, 20, 6]);
}

#[test]
fn tampering_with_the_audit_log_lowers_a_real_homes_score() {
    let (_dir, home) = home_with(PolicyTemplate::Standard);
    let config = Config::default();
    let score = || {
        posture::score(&PostureInput::gather(
            &home,
            &config,
            good_probes(),
            probe::detect_runtimes(),
        ))
    };
    let before = score();
    assert_eq!(category(&before, "Audit").points, 15);
    tamper_audit(&home);
    let after = score();
    assert_eq!(category(&after, "Audit").points, 0);
    assert_eq!(after.total, before.total - 15);
}

#[test]
fn an_initialised_secret_store_earns_fifteen_points() {
    let (_dir, home) = home_with(PolicyTemplate::Standard);
    let config = Config::default();
    let score = || {
        let input = PostureInput::gather(&home, &config, good_probes(), probe::detect_runtimes());
        category(&posture::score(&input), "Secrets").clone()
    };
    assert_eq!(score().points, 0);
    aegisclaw_core::secrets::AgeStore::init(&home, None).unwrap();
    let secrets = score();
    assert_eq!(secrets.points, 15);
    assert_eq!(
        secrets.detail,
        "age store initialised, identity not passphrase-protected"
    );
}
