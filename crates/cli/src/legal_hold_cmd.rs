//! `bulwark legal-hold`: place AWS Backup legal holds on a tier's or one store's recovery
//! points (in the stores' regions and, for a tier that copies, the DR region), list them, and
//! release them. Where and under what name is `bulwark_core::legal_hold`'s decision.

use anyhow::{bail, Result};
use bulwark_aws::legal_hold;
use bulwark_aws::{Aws, Inventory};
use bulwark_core::legal_hold::{summarize, HoldRequest, HoldSelection};
use bulwark_core::{Config, ResourceArn};
use chrono::NaiveDate;

use crate::output::table;
use crate::progress::waiting;
use crate::report::hold_cells;
use crate::SummaryFormat;

#[derive(Debug, Clone, clap::Subcommand)]
pub(crate) enum LegalHoldCommand {
    /// Hold the recovery points of every store of a tier, or of one store, that exist now:
    /// they cannot be deleted until the hold is released. Running it again places nothing
    /// twice.
    Create {
        /// Every store of this tier (present, and gone ones whose points remain).
        #[arg(long, conflicts_with = "arn", required_unless_present = "arn")]
        tier: Option<String>,
        /// One store's ARN.
        #[arg(long)]
        arn: Option<String>,
        /// Why (the matter): the hold's description in AWS Backup.
        #[arg(long)]
        reason: String,
        /// When to review the hold (YYYY-MM-DD). AWS Backup's holds never expire: the report
        /// flags the hold once this date has passed; releasing it stays a person's call.
        #[arg(long)]
        until: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Every legal hold in reach, Bulwark's and other tools', holding first.
    List {
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Release a hold everywhere it was placed: its name (lh-…) or an AWS Backup hold id.
    Release {
        name: String,
        /// Why: the cancellation's description in AWS Backup.
        #[arg(long)]
        reason: String,
    },
}

pub(crate) async fn dispatch(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    org_role: Option<&str>,
    command: LegalHoldCommand,
) -> Result<()> {
    match command {
        LegalHoldCommand::Create {
            tier,
            arn,
            reason,
            until,
            format,
        } => {
            let selection = match (tier, arn) {
                (Some(tier), _) => HoldSelection::Tier(tier),
                (None, Some(arn)) => HoldSelection::Store(
                    ResourceArn::parse(&arn).map_err(|e| anyhow::anyhow!("--arn {arn}: {e}"))?,
                ),
                (None, None) => bail!("name a --tier or an --arn"),
            };
            let request = HoldRequest {
                selection,
                reason,
                until,
            };
            let outcome = waiting(
                "placing legal holds",
                legal_hold::place(aws, inventory, config, org_role, &request),
            )
            .await?;
            match format {
                SummaryFormat::Json => {
                    let placed: Vec<serde_json::Value> = outcome
                        .placed
                        .iter()
                        .map(|p| {
                            serde_json::json!({
                                "account": p.placement.account,
                                "region": p.placement.region,
                                "id": p.id,
                                "stores": p.placement.stores,
                                "points": p.points,
                                "already_placed": p.already,
                            })
                        })
                        .collect();
                    let failures: Vec<serde_json::Value> = outcome
                        .failures
                        .iter()
                        .map(|f| {
                            serde_json::json!({
                                "account": f.account,
                                "region": f.region,
                                "error": f.error.to_string(),
                            })
                        })
                        .collect();
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({
                            "name": outcome.key,
                            "placed": placed,
                            "failures": failures,
                        }))?
                    );
                }
                SummaryFormat::Text => {
                    println!("legal hold {}", outcome.key);
                    let mut rows = table(&["account", "region", "stores", "points held", "aws id"]);
                    for p in &outcome.placed {
                        rows.add_row([
                            p.placement.account.to_string(),
                            p.placement.region.to_string(),
                            p.placement.stores.len().to_string(),
                            if p.already {
                                format!("{} (placed before)", p.points)
                            } else {
                                p.points.to_string()
                            },
                            p.id.clone(),
                        ]);
                    }
                    println!("{rows}");
                    for f in &outcome.failures {
                        eprintln!("not placed in {}/{}: {}", f.account, f.region, f.error);
                    }
                }
            }
            if !outcome.failures.is_empty() {
                bail!(
                    "the hold was not placed in {} place(s); see above, then run the same command again",
                    outcome.failures.len()
                );
            }
        }
        LegalHoldCommand::List { format } => {
            let assets = inventory.all().await?;
            let (holds, failures) = waiting(
                "reading legal holds",
                legal_hold::read_all(aws, &assets, config, org_role),
            )
            .await?;
            let summaries = summarize(&holds, chrono::Utc::now().date_naive());
            match format {
                SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&summaries)?),
                SummaryFormat::Text => {
                    if summaries.is_empty() {
                        println!("no legal hold");
                    } else {
                        let mut rows =
                            table(&["hold", "state", "points", "where", "reason", "review by"]);
                        for hold in &summaries {
                            rows.add_row(hold_cells(hold));
                        }
                        println!("{rows}");
                    }
                }
            }
            for f in &failures {
                eprintln!("not read in {}/{}: {}", f.account, f.region, f.error);
            }
            if !failures.is_empty() {
                bail!(
                    "the legal holds of {} place(s) could not be read",
                    failures.len()
                );
            }
        }
        LegalHoldCommand::Release { name, reason } => {
            let released = waiting(
                "releasing legal holds",
                legal_hold::release(aws, inventory, config, org_role, &name, &reason),
            )
            .await?;
            for hold in &released {
                println!(
                    "released {} in {}/{} ({} recovery points no longer held by it)",
                    hold.id,
                    hold.account,
                    hold.region,
                    hold.points.len()
                );
            }
        }
    }
    Ok(())
}
