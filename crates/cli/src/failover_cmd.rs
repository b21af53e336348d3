//! `bulwark failover`: the plan, and the drill (everything but the switches).

use anyhow::{bail, Context, Result};
use bulwark_aws::restore::Origin;
use bulwark_aws::{Aws, Inventory};
use bulwark_core::application::Application;
use bulwark_core::failover::Plan;
use bulwark_core::Config;

use crate::output;
use crate::progress::waiting;
use crate::restore_cmd::run_tests;
use crate::SummaryFormat;

/// The application named `app`, or an error naming those the configuration has.
fn application<'c>(config: &'c Config, app: &str) -> Result<&'c Application> {
    config.application(app).with_context(|| {
        let known: Vec<&str> = config
            .applications()
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        format!(
            "{app:?} is not an application of the configuration (it has: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )
    })
}

/// The application's plan, from facts read once.
async fn plan_of(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    application: &Application,
) -> Result<Plan> {
    let account = aws.home_account().await?;
    let facts = waiting(
        "reading the DR region",
        bulwark_aws::failover::facts::read(
            aws,
            inventory,
            config,
            application,
            &account,
            chrono::Utc::now(),
        ),
    )
    .await?;
    let prerequisites = config.restore_prerequisites(application.dr_region.as_str());
    Ok(bulwark_core::failover::plan(
        application,
        prerequisites,
        &facts,
    ))
}

/// Print the failover plan of `app`, changing nothing.
pub async fn plan(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    app: &str,
    format: SummaryFormat,
) -> Result<()> {
    let application = application(config, app)?;
    let plan = plan_of(aws, config, inventory, application).await?;
    let calls = aws.counter().snapshot();
    let mutating: u64 = calls
        .iter()
        .filter(|(op, _)| bulwark_aws::calls::is_mutating(op))
        .map(|(_, n)| n)
        .sum();
    match format {
        SummaryFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "plan": plan,
                "calls": calls,
                "mutating_calls": mutating,
            }))?
        ),
        SummaryFormat::Text => output::print_failover_plan(&plan),
    }
    Ok(())
}

/// A drill: every store of a ready plan restored from its copy in the DR region, validated
/// (the restore tests' validators and hooks), measured and deleted, each recorded as a restore
/// test; nothing is switched. The RTO is the drill's, from its start to the last store
/// validated; the data loss, each copy's age.
pub async fn drill(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    app: &str,
    concurrency: usize,
    format: SummaryFormat,
) -> Result<()> {
    let application = application(config, app)?;
    // The restore tests restore the copies assign-policy makes, in the protection's DR region.
    let copies_in = config
        .protection()
        .dr_region_for(application.primary_region.as_str())
        .map_err(anyhow::Error::msg)?;
    if copies_in != application.dr_region.as_str() {
        bail!(
            "{app}'s DR region is {}, but its stores' copies go to {copies_in} (the \
             configuration's [protection]): a drill restores those copies",
            application.dr_region
        );
    }
    let started = std::time::Instant::now();
    let plan = plan_of(aws, config, inventory, application).await?;
    if !plan.ready {
        output::print_failover_plan(&plan);
        bail!(
            "the plan is blocked by {} blocker(s) (above): nothing was restored",
            plan.blockers_count
        );
    }
    let mut assets = Vec::new();
    for store in &plan.stores {
        assets.push(
            inventory
                .get(&store.arn)
                .await?
                .with_context(|| format!("{} left the inventory", store.arn))?,
        );
    }
    let runs = assets.iter().map(|a| (a, Origin::Dr)).collect();
    let tests = run_tests(aws, config, inventory, runs, concurrency).await?;
    let rto_seconds = started.elapsed().as_secs();
    let data_loss: Vec<_> = plan
        .stores
        .iter()
        .map(|s| (s.arn.to_string(), s.data_loss.map(|d| d.to_string())))
        .collect();
    let failed = tests.iter().filter(|t| !t.passed).count();
    match format {
        SummaryFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "application": plan.application,
                "dr_region": plan.dr_region,
                "plan_hash": plan.hash.as_str(),
                "rto_seconds": rto_seconds,
                "data_loss": data_loss.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                "tests": tests,
            }))?
        ),
        SummaryFormat::Text => {
            output::print_restore_history(&tests);
            for (arn, loss) in &data_loss {
                println!("data loss {}: {arn}", loss.as_deref().unwrap_or("unknown"));
            }
            println!(
                "drill of {}: {} stores restored in {} and validated in {rto_seconds} s (RTO); \
                 {} failed; every restored copy deleted: {}",
                plan.application,
                tests.len(),
                plan.dr_region,
                failed,
                tests.iter().all(|t| t.cleaned_up)
            );
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} stores failed the drill (see above)",
            tests.len()
        );
    }
    Ok(())
}
