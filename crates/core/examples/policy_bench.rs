//! Policy decision latency: `policy_bench [runs] [decisions_per_run]` compiles the standard
//! template once, warms up, then times `runs` runs of decisions over the grid and prints one
//! line `template=… engine=… median_us=… p90_us=… decisions_per_second=…`. Pure CPU.

use aegisclaw_core::policy::{Policy, PolicyTemplate, grid};
use std::error::Error;
use std::hint::black_box;
use std::io::Write as _;
use std::time::Instant;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map_or(Ok(31), |a| a.parse())?;
    let per_run: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let policy = Policy::template(PolicyTemplate::Standard)?;
    let inputs = grid();
    // Warm up: the worker pool, caches and branch predictors.
    for input in inputs.iter().cycle().take(per_run) {
        black_box(policy.decide(input)?);
    }
    let mut per_decision_us = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        for input in inputs.iter().cycle().take(per_run) {
            black_box(policy.decide(black_box(input))?);
        }
        per_decision_us.push(start.elapsed().as_secs_f64() * 1e6 / per_run as f64);
    }
    per_decision_us.sort_by(f64::total_cmp);
    let pick = |q: f64| per_decision_us[((per_decision_us.len() - 1) as f64 * q).round() as usize];
    let (median, p90) = (pick(0.5), pick(0.9));
    writeln!(
        std::io::stdout().lock(),
        "template=standard engine={} runs={runs} decisions_per_run={per_run} median_us={median:.2} p90_us={p90:.2} decisions_per_second={:.0}",
        policy.engine_kind(),
        1e6 / median
    )?;
    Ok(())
}
