//! `bulwark failover`: so far the plan.

use anyhow::{bail, Result};
use bulwark_aws::{Aws, Inventory};
use bulwark_core::Config;

use crate::output;
use crate::progress::waiting;
use crate::SummaryFormat;

/// Print the failover plan of `app`, changing nothing.
pub async fn plan(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    app: &str,
    format: SummaryFormat,
) -> Result<()> {
    let Some(application) = config.application(app) else {
        let known: Vec<&str> = config
            .applications()
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        bail!(
            "{app:?} is not an application of the configuration (it has: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
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
    let plan = bulwark_core::failover::plan(application, prerequisites, &facts);
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
