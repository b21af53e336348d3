//! `bulwark recover`: recovery in place, the data-corruption and ransomware path. The
//! application's stores restored in their own region from their newest points taken before a
//! chosen time, validated alone (their sources are what is being recovered from), and the
//! application's switches pointed at them: the failover's machinery (plan and hash, lock, one
//! driver, record, evidence, resume, abort), with the application turned in place
//! (`failover::in_place`); with `--arn`, narrowed to one of its stores (`failover::one_store`).
//! Without `--plan-hash` it plans and changes nothing.

use anyhow::{bail, Result};
use bulwark_aws::failover::execute::{self, Request};
use bulwark_aws::failover::lock::Driving;
use bulwark_aws::{Aws, Inventory};
use bulwark_core::application::StoreSelector;
use bulwark_core::failover::{in_place, one_store, plan_recovering};
use bulwark_core::Config;
use bulwark_core::ResourceArn;
use chrono::{DateTime, Utc};

use crate::failover_cmd::{application, drive_run, facts_of, reporting, DriveArgs};
use crate::{output, SummaryFormat};

/// What `bulwark recover` is asked.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RecoverArgs {
    #[arg(long)]
    pub app: String,
    /// Recover to before this time (RFC 3339, "2026-12-07T03:00:00Z"): each store from its
    /// newest point taken before it.
    #[arg(long)]
    pub before: DateTime<Utc>,
    /// Recover this one store of the application (and only the switches that name it alone).
    #[arg(long)]
    pub arn: Option<String>,
    /// The plan's hash, as `bulwark recover` without it printed: with --confirm, execute.
    #[arg(long)]
    pub plan_hash: Option<String>,
    #[arg(long, requires = "plan_hash")]
    pub confirm: bool,
    /// Why: recorded with the run, in its evidence and in its notifications.
    #[arg(long, requires = "plan_hash")]
    pub reason: Option<String>,
    /// Who asks (default: the caller's AWS identity).
    #[arg(long)]
    pub requested_by: Option<String>,
    #[command(flatten)]
    pub drive: DriveArgs,
}

pub(crate) async fn recover(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    args: RecoverArgs,
) -> Result<()> {
    let mut app = in_place(application(config, &args.app)?);
    if let Some(arn) = &args.arn {
        let arn = ResourceArn::parse(arn).map_err(|e| anyhow::anyhow!("--arn {arn}: {e}"))?;
        let asset = inventory.get(&arn).await?.ok_or_else(|| {
            anyhow::anyhow!("{arn} is not in the inventory: run `bulwark discover` first")
        })?;
        app = one_store(&app, &arn, &asset.tags);
        if app.stores == StoreSelector::Arns(Vec::new()) {
            bail!("{arn} is not a store of {}: nothing to recover", args.app);
        }
    }
    if args.before > Utc::now() {
        bail!(
            "--before {} is in the future: recover to a time that has passed",
            args.before.to_rfc3339()
        );
    }
    let Some(plan_hash) = args.plan_hash else {
        let facts = facts_of(aws, config, inventory, &app).await?;
        let prerequisites = config.restore_prerequisites(app.dr_region.as_str());
        let plan = plan_recovering(&app, prerequisites, &facts, args.before);
        match args.drive.format {
            SummaryFormat::Json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "plan": plan }))?
                )
            }
            SummaryFormat::Text => {
                println!(
                    "recovery in place of {} to before {}: each store from its newest point \
                     before then, in {}",
                    app.name,
                    args.before.to_rfc3339(),
                    app.primary_region
                );
                output::print_failover_plan(&plan);
            }
        }
        return Ok(());
    };
    if !args.confirm {
        bail!("a recovery needs --confirm: nothing was done");
    }
    let reason = args.reason.unwrap_or_default();
    if reason.trim().is_empty() {
        bail!("--reason is empty: say why, it is recorded with the run");
    }
    let caller = aws.caller_arn().await?;
    let driving = Driving::this_process(args.drive.lease_seconds)?;
    let run = execute::begin(
        aws,
        inventory,
        config,
        &app,
        &Request {
            application: args.app,
            plan_hash,
            requested_by: args.requested_by.unwrap_or_else(|| caller.clone()),
            reason,
            accept_data_loss: None,
            newest_point: false,
            primary_down: false,
            caller,
            failback_of: None,
            recover_before: Some(args.before),
        },
        &reporting(&args.drive),
        Utc::now(),
        &driving,
    )
    .await?;
    eprintln!(
        "recovery run {} of {} in {} to before {} (plan {}); `bulwark failover status {}` \
         shows it",
        run.id,
        run.plan.application,
        run.plan.dr_region,
        args.before.to_rfc3339(),
        run.plan.hash,
        run.id
    );
    drive_run(aws, config, inventory, &run.id, &args.drive, &driving).await
}
