//! Launches `/bin/true` under the full native profile and times it.
//!
//! - `launch_true [N]`: N launches (default 50); prints the median and p90 in ms.
//! - `launch_true once`: one launch, printing nothing, so an outside timer (hyperfine) can
//!   compare whole processes with `bwrap` (`bench/sandbox-start.sh`).
//! - `launch_true compare N NAME=COMMAND...`: from this one warm process, N interleaved rounds
//!   of `/bin/true` spawned plainly (`plain`), each named command spawned as a process (split
//!   on spaces), and the sandbox crate launching `/bin/true` in-process (`sandbox`); prints one
//!   line per contender (`name median p90`, in ms). Interleaving keeps drift in the machine's
//!   load out of the ratios; each round's order is shuffled, so no contender always inherits
//!   the same predecessor's deferred kernel work.
#![expect(clippy::print_stdout, reason = "a benchmark prints its result")]

use aegisclaw_sandbox::path::open_scope_path;
use aegisclaw_sandbox::plan::{
    ExecGrant, Limits, Mount, MountAccess, NetNamespace, Network, RunSpec, plan,
};
use aegisclaw_sandbox::runtime::{Launcher, Stdin, StdioSetup, host_facts};
use std::process::{Command, Stdio};
use std::time::Instant;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let workdir = std::env::temp_dir();
    let spec = RunSpec {
        argv: vec!["/bin/true".into()],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        workdir: Some(workdir.clone()),
        mounts: vec![Mount {
            opened: open_scope_path(&workdir)?,
            access: MountAccess::Read,
        }],
        network: Network::None,
        // A namespace made per run: figure (a) is the sandbox without the slot shortcut.
        net_namespace: NetNamespace::Fresh,
        limits: Limits::default(),
        hostname: "aegisclaw".into(),
        // As the envelope runs it: no `shell.exec`, so only `/bin/true` and its loader.
        exec: ExecGrant::program_only(),
        ca_store: None,
    };
    let plan = plan(&spec, &host_facts(&spec))?;
    let launcher = Launcher::new(&plan)?;
    let sandboxed = || -> Result<f64, Error> {
        let started = Instant::now();
        let outcome = launcher.spawn(StdioSetup { stdin: Stdin::Null })?.wait()?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if !outcome.exit.success() {
            return Err(format!("`/bin/true` ended with {:?}", outcome.exit).into());
        }
        Ok(elapsed)
    };
    match args.first().map(String::as_str) {
        Some("once") => {
            sandboxed()?;
        }
        Some("compare") => {
            let rounds: usize = args.get(1).ok_or("compare needs N")?.parse()?;
            let mut contenders: Vec<(String, Vec<String>)> =
                vec![("plain".into(), vec!["/bin/true".into()])];
            for named in &args[2..] {
                let (name, command) = named
                    .split_once('=')
                    .ok_or_else(|| format!("`{named}` is not NAME=COMMAND"))?;
                contenders.push((
                    name.to_string(),
                    command.split_whitespace().map(str::to_string).collect(),
                ));
            }
            let spawned = |argv: &[String]| -> Result<f64, Error> {
                let started = Instant::now();
                let status = Command::new(&argv[0])
                    .args(&argv[1..])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()?;
                let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                if !status.success() {
                    return Err(format!("`{}` ended with {status}", argv.join(" ")).into());
                }
                Ok(elapsed)
            };
            let count = contenders.len() + 1;
            let mut times = vec![Vec::new(); count];
            // Work a run leaves to the kernel after it ends (a network namespace is torn down
            // asynchronously, for one) is charged to whoever runs next. A fixed cyclic order
            // would always give each contender the same predecessor, so every round is
            // shuffled (xorshift, seeded from the clock).
            let mut state = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9e37_79b9, |since| since.as_nanos() as u64)
                | 1;
            let mut order: Vec<usize> = (0..count).collect();
            for round in 0..rounds + 3 {
                for slot in (1..count).rev() {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    order.swap(slot, (state % (slot as u64 + 1)) as usize);
                }
                for &which in &order {
                    let time = match contenders.get(which) {
                        Some((_, argv)) => spawned(argv)?,
                        None => sandboxed()?,
                    };
                    // The first rounds warm the caches and are not counted.
                    if round >= 3 {
                        times[which].push(time);
                    }
                }
            }
            let names = contenders
                .iter()
                .map(|(name, _)| name.as_str())
                .chain(["sandbox"]);
            for (name, list) in names.zip(&mut times) {
                let (median, p90) = quantiles(list);
                println!("{name} {median:.4} {p90:.4}");
            }
        }
        other => {
            let runs: usize = other.map_or(Ok(50), str::parse)?;
            let mut times = (0..runs.max(1))
                .map(|_| sandboxed())
                .collect::<Result<Vec<_>, _>>()?;
            let (median, p90) = quantiles(&mut times);
            println!(
                "launch_true: {} runs, median {median:.2} ms, p90 {p90:.2} ms (cgroup: {:?})",
                times.len(),
                plan.cgroup.is_some()
            );
        }
    }
    Ok(())
}

/// Median and p90 of `times` (sorted in place).
fn quantiles(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((times.len() - 1) as f64 * q).round() as usize;
        times[index]
    };
    (at(0.5), at(0.9))
}
