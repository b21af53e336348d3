//! `bulwark`: the operator's command line. It calls the same library code as the Lambda
//! functions, against AWS or, with AWS_ENDPOINT_URL, the local AWS.

mod drill_cmd;
mod failover_cmd;
mod legal_hold_cmd;
mod org_policy_cmd;
mod outage;
mod output;
mod progress;
mod recover_cmd;
mod report;
mod restore_cmd;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use bulwark_aws::{assign, ops};
use bulwark_aws::{Aws, Inventory, Reach};
use bulwark_core::{classify, rpo_feasibility, Config, Kind, Region, ResourceArn, Scope};
use clap::{Parser, Subcommand, ValueEnum};

use crate::output::{AssetRow, Format};
use crate::progress::waiting;

#[derive(Debug, Parser)]
#[command(
    name = "bulwark",
    version,
    about = "Find every data store, classify it, and prove it is protected."
)]
struct Cli {
    /// Regions to cover, comma-separated; default: every region enabled in the account.
    #[arg(long, env = "BULWARK_REGIONS", global = true, value_parser = regions)]
    regions: Option<RegionList>,
    /// The DynamoDB state table.
    #[arg(long, env = "BULWARK_TABLE", default_value = bulwark_aws::store::DEFAULT_TABLE, global = true)]
    table: String,
    /// The configuration file (taxonomy and rules); default: the built-in one.
    #[arg(long, env = "BULWARK_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Cover every account of the organization through this IAM role name.
    #[arg(long, env = "BULWARK_ORG_ROLE", global = true)]
    org_role: Option<String>,
    /// Regions swept at once.
    #[arg(long, env = "BULWARK_CONCURRENCY", default_value_t = 8, global = true)]
    concurrency: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the state table if it is missing (idempotent).
    Init,
    /// Sweep every data store in reach, or look up one store by ARN.
    Discover {
        /// One store's ARN (an S3 bucket's needs --region).
        #[arg(long)]
        arn: Option<String>,
        /// The store's region, when the ARN does not say it (S3).
        #[arg(long)]
        region: Option<String>,
        /// Where a sweep reads the estate: the listings, or AWS Config's configuration items
        /// where a region's recorder records a kind (the listings for the rest).
        #[arg(long, value_enum, default_value_t = SourceArg::Api, env = "BULWARK_DISCOVERY_SOURCE")]
        source: SourceArg,
        /// With `--source config`: the configuration aggregator (in this account and the home
        /// region) to read each covered account and region from.
        #[arg(long, env = "BULWARK_CONFIG_AGGREGATOR")]
        aggregator: Option<String>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Classify every present asset in the inventory, or one by ARN.
    Classify {
        #[arg(long)]
        arn: Option<String>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// List the inventory.
    Inventory {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Only this tier ("none" for stores not backed up).
        #[arg(long)]
        tier: Option<String>,
        /// Only this kind: s3, rds, aurora, dynamodb, efs, ebs.
        #[arg(long)]
        kind: Option<String>,
        /// Include stores that are gone.
        #[arg(long)]
        all: bool,
    },
    /// Restore a store's newest recovery point now (one store, or every present store of a
    /// tier), validate the copy, measure RTO and RPO, record the test and delete the copy.
    RestoreTest {
        /// The store's ARN.
        #[arg(long, conflicts_with = "tier", required_unless_present = "tier")]
        arn: Option<String>,
        /// Every present store of this tier.
        #[arg(long)]
        tier: Option<String>,
        /// Test the newest copy in the store's DR region too.
        #[arg(long)]
        dr: bool,
        /// How many tests run at once (run here).
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Run through the deployed restore-test state machine (its ARN: the stack's
        /// RestoreTestStateMachineArn output) instead of here.
        #[arg(long, env = "BULWARK_RESTORE_STATE_MACHINE")]
        state_machine: Option<String>,
        /// With --state-machine: wait for the run to end and show its tests.
        #[arg(long, requires = "state_machine")]
        wait: bool,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Fail an application over to its DR region: plan, execute, status, resume, abort, drill.
    Failover {
        #[command(subcommand)]
        action: failover_cmd::FailoverCommand,
    },
    /// Recover an application in place from before a time (data corruption, ransomware):
    /// each store restored in its own region from its newest point before then, validated,
    /// and the switches pointed at it. Plans without --plan-hash; executes with it and
    /// --confirm. Follow it with `bulwark failover status`, resume and abort alike.
    Recover(recover_cmd::RecoverArgs),
    /// AWS Backup legal holds on a tier's or a store's recovery points: create, list, release.
    LegalHold {
        #[command(subcommand)]
        action: legal_hold_cmd::LegalHoldCommand,
    },
    /// Restore-test history, newest first (of one store, with --arn).
    RestoreTests {
        #[arg(long)]
        arn: Option<String>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Delete every restored copy a restore test left past its expiry, in each region
    /// (`--regions`) of this account; fails when one could not be deleted.
    RestoreSweep,
    /// Show how one asset is classified, and why.
    Explain {
        arn: String,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Show what assign-policy would change (AWS Backup vaults, plans, selections, tier tags,
    /// native protections); changes nothing.
    Plan {
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
        /// The organization's backup policies instead ([organization_policies]).
        #[arg(long)]
        org: bool,
    },
    /// Make AWS Backup and native protections match every asset's tier.
    Apply {
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
        /// The organization's backup policies instead ([organization_policies]).
        #[arg(long)]
        org: bool,
    },
    /// Coverage: every asset against its tier and the AWS Backup Audit Manager controls.
    Report {
        #[arg(long, value_enum, default_value_t = report::ReportFormat::Table)]
        format: report::ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the configuration file and report, per tier and kind, whether the RPO can be met.
    Feasibility {
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
}

/// `discover --source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SourceArg {
    Api,
    Config,
}

impl SourceArg {
    fn name(self) -> &'static str {
        match self {
            SourceArg::Api => "api",
            SourceArg::Config => "config",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SummaryFormat {
    Text,
    Json,
}

/// A comma-separated region list, parsed as one argument.
#[derive(Debug, Clone)]
struct RegionList(Vec<Region>);

fn regions(list: &str) -> Result<RegionList, String> {
    Region::parse_list(list)
        .map(RegionList)
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> Result<()> {
    bulwark_aws::telemetry::init(bulwark_aws::telemetry::Output::Cli);
    let cli = Cli::parse();
    let config = Config::load_or_builtin(cli.config.as_deref())?;
    if let Command::Feasibility { format } = &cli.command {
        return feasibility(&config, *format);
    }
    let aws = Aws::load().await.with_org_role(cli.org_role.clone());
    let dr_region = outage::dr_region_of(&cli.command, &config, aws.base_region().as_ref());
    match run(cli, &config, &aws).await {
        Err(error) if outage::region_down(&error) => {
            // One line an engineer can act on, not a stack of SDK errors.
            eprintln!(
                "{}",
                outage::hint(
                    &error,
                    aws.base_region().as_ref(),
                    dr_region.as_ref(),
                    std::env::args().skip(1)
                )
            );
            std::process::exit(1);
        }
        other => other,
    }
}

async fn run(cli: Cli, config: &Config, aws: &Aws) -> Result<()> {
    let inventory = Inventory::new(aws.dynamodb(), cli.table.clone());
    let reach = Reach {
        regions: cli.regions.clone().map(|r| r.0).unwrap_or_default(),
        org_role: cli.org_role.clone(),
    };
    match cli.command {
        Command::Init => {
            let created = waiting("creating the state table", inventory.ensure_table())
                .await
                .context("creating the state table")?;
            println!(
                "{} {}",
                if created {
                    "created table"
                } else {
                    "table exists:"
                },
                inventory.table()
            );
            let dr_regions = replica_regions(config, &reach.regions, aws.base_region().as_ref());
            let added = waiting(
                "adding the state table's replicas in the DR regions",
                inventory.ensure_replicas(&dr_regions),
            )
            .await
            .context("adding the state table's replicas")?;
            let names = |regions: &[Region]| {
                regions
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !added.is_empty() {
                println!("added replicas in {}", names(&added));
            }
            if !dr_regions.is_empty() {
                println!("replicated to {}", names(&dr_regions));
            }
        }
        Command::Discover {
            arn,
            region,
            source,
            aggregator,
            format,
        } => {
            let now = chrono::Utc::now();
            let source =
                bulwark_aws::discovery::Source::parse(source.name(), aggregator.as_deref())?;
            let summary = match arn {
                None => {
                    let sweep = ops::discover_all_from(
                        aws,
                        &inventory,
                        &reach,
                        cli.concurrency,
                        &source,
                        now,
                    );
                    waiting("discovering data stores", sweep).await?
                }
                Some(arn) => {
                    let arn = ResourceArn::parse(&arn)?;
                    let scope = scope_of(aws, &arn, region.as_deref()).await?;
                    let lookup = ops::discover_one(
                        aws,
                        &inventory,
                        &arn,
                        scope,
                        reach.org_role.as_deref(),
                        now,
                    );
                    waiting(&format!("discovering {arn}"), lookup).await?
                }
            };
            match format {
                SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
                SummaryFormat::Text => output::print_discover(&summary),
            }
            if !summary.failures.is_empty() {
                bail!("{} listing(s) failed; see above", summary.failures.len());
            }
        }
        Command::Classify { arn, format } => {
            let arn = arn.as_deref().map(ResourceArn::parse).transpose()?;
            let summary = waiting("classifying the inventory", async {
                match arn {
                    Some(arn) => ops::classify_one(&inventory, config, &arn).await,
                    None => {
                        let scopes: BTreeSet<Scope> =
                            inventory.all().await?.iter().map(|a| a.scope()).collect();
                        let scopes: Vec<Scope> = scopes.into_iter().collect();
                        ops::classify_scopes(&inventory, config, &scopes).await
                    }
                }
            })
            .await?;
            match format {
                SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
                SummaryFormat::Text => output::print_classify(&summary),
            }
        }
        Command::Inventory {
            format,
            tier,
            kind,
            all,
        } => {
            let kind = kind.map(|k| k.parse::<Kind>()).transpose()?;
            if let Some(tier) = &tier {
                if tier != "none" && config.tier(tier).is_none() {
                    bail!(
                        "unknown tier {tier:?}: the configuration defines {}",
                        tier_names(config)
                    );
                }
            }
            let mut assets = waiting("reading the inventory", inventory.all()).await?;
            // A store an unchanged sweep saw has its record's time; its scope's sweep says when.
            let sweeps = inventory.sweeps().await?;
            for asset in &mut assets {
                for sweep in &sweeps {
                    asset.last_seen = sweep.last_seen(asset);
                }
            }
            let rows: Vec<AssetRow> = assets
                .iter()
                .filter(|a| all || a.state == bulwark_core::AssetState::Present)
                .filter(|a| kind.is_none_or(|k| a.kind == k))
                .map(AssetRow::from)
                .filter(|r| match tier.as_deref() {
                    None => true,
                    Some("none") => r.classified && r.tier.is_none(),
                    Some(t) => r.tier.as_deref() == Some(t),
                })
                .collect();
            output::print_inventory(&rows, format)?;
        }
        Command::RestoreTest {
            arn,
            tier,
            dr,
            concurrency,
            state_machine,
            wait,
            format,
        } => {
            let request = restore_cmd::Request {
                arn,
                tier,
                dr,
                format,
            };
            match state_machine {
                Some(state_machine) => {
                    restore_cmd::through_state_machine(
                        aws,
                        &inventory,
                        &state_machine,
                        request,
                        wait,
                    )
                    .await?
                }
                None => restore_cmd::here(aws, config, &inventory, request, concurrency).await?,
            }
        }
        Command::Failover { action } => {
            failover_cmd::dispatch(aws, config, &inventory, action).await?
        }
        Command::Recover(args) => recover_cmd::recover(aws, config, &inventory, args).await?,
        Command::LegalHold { action } => {
            legal_hold_cmd::dispatch(aws, config, &inventory, reach.org_role.as_deref(), action)
                .await?
        }
        Command::RestoreTests { arn, format } => {
            let tests = bulwark_aws::restore::history::tests(&inventory, arn.as_deref()).await?;
            match format {
                SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&tests)?),
                SummaryFormat::Text => output::print_restore_history(&tests),
            }
        }
        Command::RestoreSweep => {
            let scopes: Vec<bulwark_core::Scope> = if reach.org_role.is_some() {
                // Every account of the organization, each through the role.
                aws.scopes(&reach)
                    .await?
                    .iter()
                    .flat_map(|account| account.scopes())
                    .collect()
            } else {
                let account = aws.home_account().await?;
                reach
                    .regions
                    .iter()
                    .map(|region| bulwark_core::Scope {
                        account: account.clone(),
                        region: region.clone(),
                    })
                    .collect()
            };
            let now = chrono::Utc::now();
            let mut report = bulwark_aws::restore::sweep::sweep(aws, &scopes, now).await?;
            let forgotten = bulwark_aws::restore::pending::sweep(aws, &inventory, now).await?;
            report.deleted.extend(forgotten.deleted);
            report.failed.extend(forgotten.failed);
            for deleted in &report.deleted {
                println!("deleted {deleted}");
            }
            for (what, why) in &report.failed {
                eprintln!("could not delete {what}: {why}");
            }
            println!(
                "{} restored copies deleted, {} left",
                report.deleted.len(),
                report.failed.len()
            );
            if !report.failed.is_empty() {
                bail!(
                    "{} restored copies could not be deleted",
                    report.failed.len()
                );
            }
        }
        Command::Explain { arn, format } => {
            let arn = ResourceArn::parse(&arn)?;
            let asset = inventory.get(&arn).await?.with_context(|| {
                format!("{arn} is not in the inventory: run `bulwark discover` first")
            })?;
            let classification = classify(config, &asset);
            match format {
                SummaryFormat::Json => {
                    let mut row = AssetRow::from(&asset);
                    row.apply(&classification);
                    println!("{}", serde_json::to_string_pretty(&row)?);
                }
                SummaryFormat::Text => output::print_explain(&asset, &classification),
            }
        }
        Command::Plan { format, org: true } | Command::Apply { format, org: true } => {
            let apply = matches!(cli.command, Command::Apply { .. });
            org_policy_cmd::run(aws, config, apply, format).await?;
        }
        Command::Plan { format, .. } | Command::Apply { format, .. } => {
            let apply = matches!(cli.command, Command::Apply { .. });
            for warning in config.warnings() {
                eprintln!("warning: {warning}");
            }
            let assignment = assign::assign(
                aws,
                &inventory,
                config,
                reach.org_role.as_deref(),
                assign::Targets::Everything,
                apply,
                chrono::Utc::now(),
            );
            let doing = if apply {
                "applying the tiers' protection"
            } else {
                "planning the tiers' protection"
            };
            let report = waiting(doing, assignment).await?;
            match format {
                SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                SummaryFormat::Text => output::print_policy(&report),
            }
            if report.partial() {
                bail!(
                    "{} account/region scope(s) failed; the others completed (see above)",
                    report.failures.len()
                );
            }
        }
        Command::Report { format, out } => {
            let now = chrono::Utc::now();
            let coverage =
                assign::coverage_and_cost(aws, &inventory, config, reach.org_role.as_deref(), now);
            let facts = waiting("measuring coverage", coverage).await?;
            let summary = bulwark_core::summarize(&facts.judged, now);
            let readiness = bulwark_aws::failover::readiness::last(&inventory).await?;
            let holds = bulwark_core::legal_hold::HoldReport {
                holds: bulwark_core::legal_hold::summarize(&facts.legal_holds, now.date_naive()),
                unread: facts.legal_holds_unread,
            };
            let text = report::render(
                &summary,
                &facts.judged,
                readiness.as_ref(),
                &facts.storage,
                &holds,
                format,
            )?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{text}"),
            }
        }
        Command::Feasibility { .. } => {}
    }
    Ok(())
}

/// The regions the state table needs a replica in, so that a failover finds its state there
/// with the home region down: every application's DR region, and the DR region of each region
/// covered (of the base region when every enabled region is).
fn replica_regions(config: &Config, covered: &[Region], base: Option<&Region>) -> Vec<Region> {
    let sources: Vec<&Region> = if covered.is_empty() {
        base.into_iter().collect()
    } else {
        covered.iter().collect()
    };
    let mut regions: BTreeSet<Region> = config
        .applications()
        .iter()
        .map(|app| app.dr_region.clone())
        .collect();
    for source in sources {
        if let Ok(dr) = config.protection().dr_region_for(source.as_str()) {
            regions.extend(Region::parse(&dr).ok());
        }
    }
    regions.into_iter().filter(|r| Some(r) != base).collect()
}

/// Where one store lives: its ARN says so, except an S3 bucket's, which needs --region (the
/// account is the caller's).
async fn scope_of(aws: &Aws, arn: &ResourceArn, region: Option<&str>) -> Result<Scope> {
    let account = match &arn.account {
        Some(account) => account.clone(),
        None => aws.home_account().await?,
    };
    let region = match (&arn.region, region) {
        (Some(region), _) => region.clone(),
        (None, Some(region)) => Region::parse(region)?,
        (None, None) => bail!("{arn} does not say its region: pass --region"),
    };
    Ok(Scope { account, region })
}

fn tier_names(config: &Config) -> String {
    let mut names: Vec<&str> = config.tiers().iter().map(|t| t.name.as_str()).collect();
    names.push("none");
    names.join(", ")
}

fn feasibility(config: &Config, format: SummaryFormat) -> Result<()> {
    let findings = rpo_feasibility(config);
    match format {
        SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        SummaryFormat::Text => {
            for finding in &findings {
                println!("{finding}");
            }
            let unmet = findings.iter().filter(|f| !f.met).count();
            println!(
                "{unmet} of {} tier/kind pairs cannot meet their RPO",
                findings.len()
            );
        }
    }
    Ok(())
}
