//! Launches `/bin/true` under the full native profile N times (default 50) and prints the
//! median and p90 in ms. `cargo run --release -p aegisclaw-sandbox --example launch_true -- 100`
//! With `once`, launches a single time and prints nothing, so an outside timer (hyperfine) can
//! compare whole processes with `bwrap`: `bench/sandbox-start.sh`.
#![expect(clippy::print_stdout, reason = "a benchmark prints its result")]

use aegisclaw_sandbox::plan::{Limits, Mount, Network, RunSpec, plan};
use aegisclaw_sandbox::runtime::{Launcher, Stdin, StdioSetup, host_facts};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let argument = std::env::args().nth(1);
    let once = argument.as_deref() == Some("once");
    let runs: usize = if once {
        1
    } else {
        argument.map_or(Ok(50), |n| n.parse())?
    };
    let workdir = std::env::temp_dir();
    let spec = RunSpec {
        argv: vec!["/bin/true".into()],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        workdir: workdir.clone(),
        mounts: vec![Mount {
            host: workdir,
            read_only: true,
        }],
        network: Network::None,
        limits: Limits::default(),
        hostname: "aegisclaw".into(),
    };
    let plan = plan(&spec, &host_facts(&spec))?;
    let launcher = Launcher::new(&plan)?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let outcome = launcher.spawn(StdioSetup { stdin: Stdin::Null })?.wait()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if !outcome.exit.success() {
            return Err(format!("`/bin/true` ended with {:?}", outcome.exit).into());
        }
    }
    if once {
        return Ok(());
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "launch_true: {} runs, median {:.2} ms, p90 {:.2} ms (cgroup: {:?})",
        times.len(),
        at(0.5),
        at(0.9),
        plan.cgroup.is_some()
    );
    Ok(())
}
