//! `aegisclaw posture` (seed §6.3): a score out of 100 from what is *enforced* — measured
//! sandbox layers, the active policy's decisions on the scope grid, a verified audit chain —
//! never from what the config merely declares. [`score`] is pure; [`PostureInput::gather`]
//! collects the facts. Writes nothing.

use crate::doctor::error_chain;
use crate::runtime;
use aegisclaw_core::audit::{self, AuditError, Filter, VerifyReport};
use aegisclaw_core::config::{Config, RuntimeKind};
use aegisclaw_core::home::Home;
use aegisclaw_core::policy::{self, Outcome, Policy};
use aegisclaw_core::scope::Risk;
use aegisclaw_core::secrets::AgeStore;
use aegisclaw_core::skill::registry::{self, InstalledSkill, SkillStatus};
use aegisclaw_core::trust::TrustStore;
use aegisclaw_sandbox::probe::{Probes, Runtimes};
use serde::Serialize;

/// One policy decision on the grid, reduced to what scoring needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridDecision {
    /// The scope's risk.
    pub risk: Risk,
    /// Whether the skill was signed by a trusted key.
    pub signed: bool,
    /// What the policy decided.
    pub outcome: Outcome,
}

/// The secret store as found on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretsFacts {
    /// `secrets/identity` exists.
    pub initialised: bool,
    /// The identity is itself age-encrypted (needs a passphrase to open).
    pub passphrase_protected: bool,
}

/// The facts the score is computed from.
#[derive(Clone, Debug)]
pub struct PostureInput {
    /// The configured runtime.
    pub runtime: RuntimeKind,
    /// Measured native layers.
    pub probes: Probes,
    /// Optional runtimes found.
    pub runtimes: Runtimes,
    /// The secret store, or why its status could not be read.
    pub secrets: Result<SecretsFacts, String>,
    /// The active policy's decision on every input of `policy::grid()`, or why it could not
    /// be evaluated.
    pub policy: Result<Vec<GridDecision>, String>,
    /// `audit::verify` of the home's log, or why it could not run.
    pub audit: Result<VerifyReport, String>,
    /// Installed skills and their verification, or why they could not be listed.
    pub skills: Result<Vec<InstalledSkill>, String>,
    /// What the home's most recent runs really had in force (their `run.finished` records),
    /// or why the log could not be read.
    pub runs: Result<RecentRuns, String>,
}

/// How many runs [`RecentRuns`] looks back over.
pub const RECENT_RUNS: usize = 100;

/// The enforcement of the last [`RECENT_RUNS`] runs, from their `run.finished` records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecentRuns {
    /// Runs looked at.
    pub count: usize,
    /// Of those, the ones that ran without cgroup limits (rlimits only).
    pub without_cgroup: usize,
}

impl RecentRuns {
    /// Reads the `run.finished` records of the log at `log_path`.
    pub fn read(log_path: &std::path::Path) -> Result<Self, AuditError> {
        let filter = Filter {
            kind: Some("run.finished".to_string()),
            ..Filter::default()
        };
        let mut last: std::collections::VecDeque<bool> = std::collections::VecDeque::new();
        for record in audit::read_records(log_path, &filter)? {
            let record = record?;
            if last.len() == RECENT_RUNS {
                last.pop_front();
            }
            last.push_back(record.data["enforcement"]["cgroup"].is_string());
        }
        Ok(Self {
            count: last.len(),
            without_cgroup: last.iter().filter(|cgroup| !**cgroup).count(),
        })
    }
}

impl PostureInput {
    /// Collects the facts of an initialised home: evaluates the policy grid, verifies the
    /// audit log and every installed skill.
    pub fn gather(home: &Home, config: &Config, probes: Probes, runtimes: Runtimes) -> Self {
        let secrets = AgeStore::status(home)
            .map(|status| SecretsFacts {
                initialised: status.initialised,
                passphrase_protected: status.protected,
            })
            .map_err(|error| error_chain(&error));
        let policy = Policy::load_active(home, config)
            .map_err(|error| error_chain(&error))
            .and_then(|policy| {
                policy::grid()
                    .iter()
                    .map(|input| {
                        let decision = policy.decide(input).map_err(|error| error_chain(&error))?;
                        Ok(GridDecision {
                            risk: input.scope_risk,
                            signed: input.skill_signed,
                            outcome: decision.outcome,
                        })
                    })
                    .collect()
            });
        let audit = crate::audit_keys(home)
            .map_err(|error| error_chain(&error))
            .and_then(|keys| {
                audit::verify(&home.audit_log(), &home.audit_checkpoints(), &keys)
                    .map_err(|error| error_chain(&error))
            });
        let skills = TrustStore::load(&home.trust_dir())
            .map(TrustStore::with_project_keys)
            .map_err(|error| error_chain(&error))
            .and_then(|trust| registry::list(home, &trust).map_err(|error| error_chain(&error)));
        let runs = RecentRuns::read(&home.audit_log()).map_err(|error| error_chain(&error));
        Self {
            runtime: config.runtime,
            probes,
            runtimes,
            secrets,
            policy,
            audit,
            skills,
            runs,
        }
    }
}

/// One scored category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Category {
    /// Its name.
    pub name: &'static str,
    /// Points earned.
    pub points: u32,
    /// Points possible.
    pub max: u32,
    /// Why it scored what it did.
    pub detail: String,
    /// How to earn the missing points, when any are missing.
    pub raise: Option<String>,
}

/// The whole score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Posture {
    /// Categories in report order.
    pub categories: Vec<Category>,
    /// Points earned.
    pub total: u32,
    /// Points possible (100).
    pub max: u32,
    /// `total * 100 / max`, rounded down.
    pub percent: u32,
    /// A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, else F.
    pub grade: char,
}

/// Scores `input`.
pub fn score(input: &PostureInput) -> Posture {
    let categories = vec![
        sandbox(input),
        secrets(input),
        policy_category(input),
        audit_category(input),
        skills(input),
        network(input),
    ];
    let total: u32 = categories.iter().map(|c| c.points).sum();
    let max: u32 = categories.iter().map(|c| c.max).sum();
    let percent = (total * 100).checked_div(max).unwrap_or(0);
    Posture {
        categories,
        total,
        max,
        percent,
        grade: grade(percent),
    }
}

/// The letter for a percentage.
pub fn grade(percent: u32) -> char {
    match percent {
        90.. => 'A',
        75.. => 'B',
        60.. => 'C',
        40.. => 'D',
        _ => 'F',
    }
}

fn category(
    name: &'static str,
    points: u32,
    max: u32,
    detail: String,
    raise: Vec<String>,
) -> Category {
    Category {
        name,
        points,
        max,
        detail,
        raise: (!raise.is_empty()).then(|| raise.join("; ")),
    }
}

fn sandbox(input: &PostureInput) -> Category {
    const NAME: &str = "Sandbox isolation";
    // The runtime that really runs skills (`runtime::select`, as every run does): one without
    // an adapter runs nothing, whatever the host has installed.
    let runtime = match runtime::select(input.runtime, runtime::ADAPTERS) {
        Ok(choice) => choice.selected,
        Err(_) => {
            return category(
                NAME,
                0,
                30,
                format!(
                    "configured runtime `{}` has no adapter yet: every run is refused",
                    input.runtime
                ),
                vec!["set `sandbox.runtime` to `native` or `auto`".to_string()],
            );
        }
    };
    let runtimes = &input.runtimes;
    let microvm_raise =
        "use a microVM runtime (firecracker or kata with /dev/kvm) for +4".to_string();
    let (available, why) = match runtime {
        RuntimeKind::Native | RuntimeKind::Auto => {
            let missing = input.probes.native_missing();
            (
                missing.is_empty(),
                format!("missing layers: {}", missing.join(", ")),
            )
        }
        RuntimeKind::Docker => (runtimes.docker.available, runtimes.docker.detail.clone()),
        RuntimeKind::Gvisor => (runtimes.gvisor.available, runtimes.gvisor.detail.clone()),
        RuntimeKind::Kata => (
            runtimes.kata.available && runtimes.kvm.openable,
            format!("{}; {}", runtimes.kata.detail, runtimes.kvm.detail),
        ),
        RuntimeKind::Firecracker => (
            runtimes.firecracker.available && runtimes.kvm.openable,
            format!("{}; {}", runtimes.firecracker.detail, runtimes.kvm.detail),
        ),
    };
    if !available {
        return category(
            NAME,
            0,
            30,
            format!("configured runtime `{runtime}` does not work here: {why}"),
            vec![format!(
                "fix the `{runtime}` runtime, or switch `sandbox.runtime` to one `aegisclaw doctor` passes"
            )],
        );
    }
    let mut raise = Vec::new();
    let (points, detail) = match runtime {
        RuntimeKind::Native | RuntimeKind::Auto => {
            let cgroups = &input.probes.cgroups;
            let probed = cgroups.memory && cgroups.pids;
            // The probes say what this process can do; the runs' own records say what runs
            // really had (a run by a user who cannot write cgroups has rlimits only).
            let recent = input.runs.as_ref().ok().filter(|runs| runs.count > 0);
            let unlimited_runs = recent.map_or(0, |runs| runs.without_cgroup);
            let limits = probed && unlimited_runs == 0;
            if !limits {
                raise.push(
                    "make cgroup memory and pids limits writable for every user who runs \
                     skills for +4"
                        .to_string(),
                );
            }
            raise.push(microvm_raise);
            let abi = input.probes.landlock_abi.unwrap_or(0);
            let runs = match recent {
                Some(runs) if runs.without_cgroup > 0 => format!(
                    "; {} of the last {} runs had no cgroup limits (rlimits only)",
                    runs.without_cgroup, runs.count
                ),
                Some(runs) => format!("; the last {} runs all had them", runs.count),
                None => String::new(),
            };
            (
                22 + if limits { 4 } else { 0 },
                format!(
                    "native: 6 namespaces, landlock ABI {abi}, seccomp, no_new_privs{}{runs}",
                    if probed {
                        ", cgroup memory+pids limits"
                    } else {
                        ", no cgroup limits (rlimits only)"
                    }
                ),
            )
        }
        RuntimeKind::Docker | RuntimeKind::Gvisor => {
            raise.push(microvm_raise);
            (
                26,
                format!("{runtime}: container namespaces, seccomp and engine-enforced limits"),
            )
        }
        RuntimeKind::Kata | RuntimeKind::Firecracker => (
            30,
            format!("{runtime}: hardware-virtualised microVM per run"),
        ),
    };
    category(NAME, points, 30, detail, raise)
}

fn secrets(input: &PostureInput) -> Category {
    const NAME: &str = "Secrets";
    let rotation =
        "when each secret was last rotated is not recorded yet, so rotation is not scored (+2 once it is)"
            .to_string();
    let facts = match &input.secrets {
        Ok(facts) => facts,
        Err(error) => {
            return category(
                NAME,
                0,
                20,
                format!("secret store unreadable: {error}"),
                vec![
                    "fix secrets/ (see `aegisclaw doctor`)".to_string(),
                    rotation,
                ],
            );
        }
    };
    let mut raise = Vec::new();
    let mut points = 0;
    let detail = if facts.initialised {
        points += 15;
        if facts.passphrase_protected {
            points += 3;
            "age store initialised, identity passphrase-protected".to_string()
        } else {
            raise.push("protect the identity with a passphrase for +3".to_string());
            "age store initialised, identity not passphrase-protected".to_string()
        }
    } else {
        raise.push("run `aegisclaw secrets init` for +15".to_string());
        "no secret store: secrets.read scopes cannot be served".to_string()
    };
    raise.push(rotation);
    category(NAME, points, 20, detail, raise)
}

fn policy_category(input: &PostureInput) -> Category {
    const NAME: &str = "Policy";
    let decisions = match &input.policy {
        Ok(decisions) => decisions,
        Err(error) => {
            return category(
                NAME,
                0,
                20,
                format!("active policy does not load: {error}"),
                vec![
                    "fix policies/default.rego (`aegisclaw doctor` names the problem)".to_string(),
                ],
            );
        }
    };
    // Each rule: points, what it checks, which grid inputs it covers, what counts as enforced.
    type Rule = (
        u32,
        &'static str,
        fn(&GridDecision) -> bool,
        fn(Outcome) -> bool,
    );
    let rules: [Rule; 3] = [
        (
            8,
            "unsigned critical denied",
            |d| d.risk == Risk::Critical && !d.signed,
            |o| o == Outcome::Deny,
        ),
        (
            6,
            "high risk needs approval",
            |d| d.risk == Risk::High,
            |o| o != Outcome::Allow,
        ),
        (
            6,
            "nothing critical without approval",
            |d| d.risk == Risk::Critical,
            |o| o != Outcome::Allow,
        ),
    ];
    let mut points = 0;
    let mut parts = Vec::new();
    let mut raise = Vec::new();
    for (max, what, covers, enforced) in rules {
        let covered: Vec<&GridDecision> = decisions.iter().filter(|d| covers(d)).collect();
        let good = covered.iter().filter(|d| enforced(d.outcome)).count();
        let earned = match covered.len() {
            0 => 0,
            total => max * u32::try_from(good).unwrap_or(0) / u32::try_from(total).unwrap_or(1),
        };
        points += earned;
        parts.push(format!("{what} {good}/{}", covered.len()));
        if earned < max {
            raise.push(format!(
                "make the policy enforce \"{what}\" on every scope kind (+{})",
                max - earned
            ));
        }
    }
    category(
        NAME,
        points,
        20,
        format!("{} grid decisions: {}", decisions.len(), parts.join(", ")),
        raise,
    )
}

fn audit_category(input: &PostureInput) -> Category {
    const NAME: &str = "Audit";
    let report = match &input.audit {
        Ok(report) => report,
        Err(error) => {
            return category(
                NAME,
                0,
                15,
                format!("cannot verify: {error}"),
                vec!["run `aegisclaw logs verify`".to_string()],
            );
        }
    };
    if let Some(problem) = &report.problem {
        return category(
            NAME,
            0,
            15,
            format!("chain broken: {problem}"),
            vec![
                "investigate with `aegisclaw logs verify`; a tampered log scores nothing"
                    .to_string(),
            ],
        );
    }
    let covered = report.records == 0 || report.last_checkpoint_seq == Some(report.last_seq);
    let detail = format!(
        "{} records, chain intact{}",
        report.records,
        match report.last_checkpoint_seq {
            Some(seq) if covered => format!(", signed checkpoint at seq {seq}"),
            Some(seq) => format!(
                ", last signed checkpoint at seq {seq} of {}",
                report.last_seq
            ),
            None if report.records == 0 => String::new(),
            None => ", no signed checkpoints".to_string(),
        }
    );
    let raise = match covered {
        true => Vec::new(),
        false => vec![
            "sign a checkpoint covering the tail (every writer does on close) for +5".to_string(),
        ],
    };
    category(NAME, if covered { 15 } else { 10 }, 15, detail, raise)
}

fn skills(input: &PostureInput) -> Category {
    const NAME: &str = "Skills";
    let skills = match &input.skills {
        Ok(skills) => skills,
        Err(error) => {
            return category(
                NAME,
                0,
                10,
                format!("cannot list: {error}"),
                vec!["fix the trust store or skills/ (see `aegisclaw doctor`)".to_string()],
            );
        }
    };
    let failed: Vec<&str> = skills
        .iter()
        .filter(|skill| skill.status != SkillStatus::Verified)
        .map(|skill| skill.name.as_str())
        .collect();
    match (skills.len(), failed.is_empty()) {
        (0, _) => category(NAME, 10, 10, "no skills installed".to_string(), Vec::new()),
        (total, true) => category(
            NAME,
            10,
            10,
            format!("{total} installed, all verify with trusted keys"),
            Vec::new(),
        ),
        (total, false) => category(
            NAME,
            0,
            10,
            format!(
                "{} of {total} fail verification: {}",
                failed.len(),
                failed.join(", ")
            ),
            vec!["reinstall or remove the skills that fail verification".to_string()],
        ),
    }
}

fn network(input: &PostureInput) -> Category {
    let net = &input.probes.net_namespace;
    if net.available {
        category(
            "Network",
            5,
            5,
            "every run has a network namespace no other running run shares: default-deny enforced"
                .to_string(),
            Vec::new(),
        )
    } else {
        category(
            "Network",
            0,
            5,
            format!("no network namespace: {}", net.detail),
            vec!["enable network namespaces so runs are default-deny".to_string()],
        )
    }
}
