//! Failover's text output: a plan, a run step by step, readiness.

use super::table;

/// A failover plan: each store's restore, each switch, the blockers and the hash to execute it.
pub fn print_failover_plan(plan: &bulwark_core::failover::Plan) {
    use bulwark_core::failover::ExpectedRto;
    println!(
        "failover of {}: {} -> {}, planned {}",
        plan.application,
        plan.primary_region,
        plan.dr_region,
        plan.planned_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let mut stores = table(&[
        "store",
        "tier",
        "copy taken",
        "data loss",
        "expected RTO",
        "restored as",
        "blockers",
    ]);
    for s in &plan.stores {
        stores.add_row(vec![
            s.arn.to_string(),
            s.tier.clone().unwrap_or_else(|| "-".into()),
            s.copy.as_ref().map_or("-".into(), |c| {
                format!(
                    "{} ({})",
                    c.created.format("%Y-%m-%d %H:%M UTC"),
                    if s.copy_verified {
                        "verified"
                    } else {
                        "not verified"
                    }
                )
            }),
            s.data_loss.map_or("-".into(), |d| d.to_string()),
            match s.expected_rto {
                ExpectedRto::Measured(d) => d.to_string(),
                ExpectedRto::Unknown => "unknown (never tested)".into(),
            },
            match &s.serving {
                Some(serving) => format!("{}, serving from {serving}", s.restored_name),
                None => s.restored_name.clone(),
            },
            blockers(&s.blockers),
        ]);
    }
    println!("{stores}");
    if !plan.switches.is_empty() {
        let mut switches = table(&["switch", "now", "after the failover", "blockers"]);
        for w in &plan.switches {
            switches.add_row(vec![
                w.target.to_string(),
                w.current.clone().unwrap_or_else(|| "(none)".into()),
                w.new.clone(),
                blockers(&w.blockers),
            ]);
        }
        println!("{switches}");
    }
    for b in &plan.blockers {
        println!("blocked: {b}");
    }
    for w in &plan.warnings {
        println!("warning: {w}");
    }
    if plan.newest_point {
        println!("each store's newest copy, verified or not (--point newest, in the hash)");
    }
    if let Some(accepted) = plan.accepted_data_loss {
        println!("data loss accepted: up to {accepted} (--accept-data-loss, in the hash)");
    }
    if plan.ready {
        println!("READY; plan hash {}", plan.hash);
    } else {
        println!(
            "BLOCKED by {} blocker(s); plan hash {}",
            plan.blockers_count, plan.hash
        );
    }
}

/// A failover run: who asked and why, each step, each store and switch, and how it ended.
pub fn print_failover_run(
    run: &bulwark_core::failover::Run,
    events: &[bulwark_core::failover::Event],
) {
    use bulwark_core::failover::Ending;
    println!(
        "failover run {} of {}: {} -> {}, plan {}, asked by {} at {}: {}",
        run.id,
        run.plan.application,
        run.plan.primary_region,
        run.plan.dr_region,
        run.plan.hash,
        run.requested_by,
        run.requested_at.format("%Y-%m-%d %H:%M:%S UTC"),
        run.reason
    );
    if !events.is_empty() {
        let mut steps = table(&["when", "step", "on", "outcome"]);
        for e in events {
            steps.add_row(vec![
                e.at.format("%H:%M:%S%.3f").to_string(),
                e.step.clone(),
                e.subject.clone(),
                e.outcome.clone(),
            ]);
        }
        println!("{steps}");
        let chained = events.iter().filter(|e| e.seq.is_some()).count();
        match bulwark_core::failover::chain::chain_break(events) {
            None if chained > 0 => {
                println!("steps chained: {chained}, each holding the SHA-256 of the one before")
            }
            None => {}
            Some(at) => {
                println!("STEPS CHAIN BROKEN at step {at}: a record was changed, removed or added")
            }
        }
    }
    let losses = run.data_loss_seconds();
    let mut stores = table(&["store", "restored as", "validated", "data loss"]);
    for (plan, store) in run.plan.stores.iter().zip(&run.stores) {
        let arn = plan.arn.to_string();
        stores.add_row(vec![
            arn.clone(),
            store
                .restored
                .as_ref()
                .map_or_else(|| "-".into(), |r| r.arn.clone()),
            match (&store.failure, store.validated) {
                (Some(why), _) => format!("FAILED: {why}"),
                (None, Some(_)) if store.findings.iter().all(|f| f.passed) => {
                    format!("passed ({} checks)", store.findings.len())
                }
                (None, Some(_)) => "FAILED".into(),
                (None, None) => "-".into(),
            },
            losses
                .get(&arn)
                .copied()
                .flatten()
                .map_or_else(|| "unknown".into(), |s| format!("{s} s")),
        ]);
    }
    println!("{stores}");
    if !run.switches.is_empty() {
        let mut switches = table(&["switch", "before", "now", "state"]);
        for (plan, switch) in run.plan.switches.iter().zip(&run.switches) {
            let state = if let Some(why) = &switch.failure {
                format!("FAILED: {why}")
            } else if switch.reverted.is_some() {
                "put back".into()
            } else if switch.verified.is_some() {
                "switched, verified".into()
            } else if switch.written.is_some() {
                "switched".into()
            } else {
                "-".into()
            };
            switches.add_row(vec![
                plan.target.to_string(),
                switch
                    .previous
                    .clone()
                    .map_or_else(|| "-".into(), |p| p.unwrap_or_else(|| "(none)".into())),
                switch.value.clone().unwrap_or_else(|| "-".into()),
                state,
            ]);
        }
        println!("{switches}");
    }
    match &run.ending {
        None if run.abort_requested.is_some() => println!("ABORTING"),
        None => println!(
            "RUNNING (or stopped half-way: `bulwark failover resume {}`)",
            run.id
        ),
        Some(Ending::Succeeded { rto_seconds, .. }) => {
            println!("SUCCEEDED: RTO {rto_seconds} s (request to the last switch verified)")
        }
        Some(Ending::Failed { reason, .. }) => println!("FAILED: {reason}"),
        Some(Ending::Aborted { .. }) => {
            println!(
                "ABORTED: every switch put back; restored stores kept, tagged bulwark:failover={}:",
                run.id
            );
            for restored in run.restored() {
                println!("  {}", restored.arn);
            }
        }
    }
}

/// Readiness: the applications, then the stores not ready, then a count of those ready.
pub fn print_readiness(readiness: &bulwark_core::failover::readiness::Readiness) {
    use bulwark_core::failover::readiness::Ready;
    let row = |r: &Ready| {
        vec![
            r.subject.clone(),
            r.tier.clone().unwrap_or_else(|| "-".into()),
            r.dr_region.to_string(),
            if r.ready { "ready" } else { "BLOCKED" }.to_string(),
            r.data_loss.map_or("-".into(), |d| d.to_string()),
            r.expected_rto.map_or("unknown".into(), |d| d.to_string()),
            r.blockers
                .iter()
                .chain(&r.warnings)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        ]
    };
    let header = [
        "",
        "tier",
        "DR region",
        "failover",
        "data loss",
        "expected RTO",
        "blockers; warnings",
    ];
    println!(
        "failover readiness, {}",
        readiness.computed_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if !readiness.applications.is_empty() {
        let mut apps = table(&header);
        for a in &readiness.applications {
            apps.add_row(row(a));
        }
        println!("{apps}");
    }
    let blocked: Vec<&Ready> = readiness.stores.iter().filter(|s| !s.ready).collect();
    if !blocked.is_empty() {
        let mut stores = table(&header);
        for s in &blocked {
            stores.add_row(row(s));
        }
        println!("{stores}");
    }
    println!(
        "{} of {} applications ready; {} of {} stores with a cross-region copy ready; {} \
         critical not ready",
        readiness.applications.iter().filter(|a| a.ready).count(),
        readiness.applications.len(),
        readiness.stores.len() - blocked.len(),
        readiness.stores.len(),
        readiness.critical_not_ready().len()
    );
}

fn blockers(list: &[bulwark_core::failover::Blocker]) -> String {
    if list.is_empty() {
        "-".into()
    } else {
        list.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}
