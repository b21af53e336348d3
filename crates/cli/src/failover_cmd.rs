//! `bulwark failover`: the plan; a run executed, shown, resumed or aborted; readiness. The
//! drill (everything but the switches) is `drill_cmd`'s.

use anyhow::{bail, Context, Result};
use bulwark_aws::failover::execute::{self, Advanced, Reporting};
use bulwark_aws::failover::lock::{Driving, LEASE_SECONDS};
use bulwark_aws::failover::record;
use bulwark_aws::{Aws, AwsError, Inventory};
use bulwark_core::application::Application;
use bulwark_core::failover::{next, Ending, Event, Next, Plan, Run, RunId};
use bulwark_core::{Config, Duration};

use crate::output;
use crate::progress::waiting;
use clap::Subcommand;

use crate::SummaryFormat;

#[derive(Debug, Subcommand)]
pub enum FailoverCommand {
    /// What a failover of the application would do now: each store's newest copy in the DR
    /// region, the data it would lose, its expected RTO, every blocker, each switch's current
    /// and new value, and the plan's hash. Changes nothing.
    Plan {
        #[arg(long)]
        app: String,
        /// The way home once the primary region is back: the stores the last succeeded
        /// failover restored, failed over to the primary region from their copies there.
        #[arg(long)]
        failback: bool,
        /// Plan as if this much data loss ("6h", "2d") were accepted beyond the application's
        /// or tier's limit: the hash to quote to `execute --accept-data-loss` the same.
        #[arg(long)]
        accept_data_loss: Option<Duration>,
        /// Which copy of each store: the newest a restore test verified, if within the data
        /// the failover may lose (the default), or the newest.
        #[arg(long, value_enum, default_value_t = PointChoice::Verified)]
        point: PointChoice,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Fail the application over: only with the hash of the plan as it is now (`failover
    /// plan` shows it) and --confirm. Restores every store in the DR region, validates each,
    /// switches the records and parameters and verifies them; prints each step, the RTO and
    /// the data lost.
    Execute {
        #[arg(long)]
        app: String,
        /// The plan's hash (its 16 first digits will do), as `failover plan` printed it.
        #[arg(long)]
        plan_hash: String,
        /// Without it nothing is done.
        #[arg(long)]
        confirm: bool,
        /// Why: recorded with the run, in its evidence and in its notifications.
        #[arg(long)]
        reason: String,
        /// Who asks (default: the caller's AWS identity).
        #[arg(long)]
        requested_by: Option<String>,
        /// Take copies up to this old ("6h", "2d") even past the application's or tier's
        /// limit: recorded with the run, and covered by the plan's hash (read the plan with the
        /// same option).
        #[arg(long)]
        accept_data_loss: Option<Duration>,
        /// Which copy of each store, as `failover plan --point` read it: recorded with the run.
        #[arg(long, value_enum, default_value_t = PointChoice::Verified)]
        point: PointChoice,
        /// Declare the primary region down: a restored store whose source cannot be read is
        /// judged alone, recorded so. Without it such a store is "not compared", and the run
        /// stops before any switch.
        #[arg(long)]
        primary_down: bool,
        /// Run it through the deployed failover state machine (the template's
        /// FailoverStateMachineArn output) instead of here.
        #[arg(long, env = "BULWARK_FAILOVER_STATE_MACHINE")]
        state_machine: Option<String>,
        /// With --state-machine: wait for the run to end and show it.
        #[arg(long, requires = "state_machine")]
        wait: bool,
        /// The way home: fail back the stores the application's last succeeded failover
        /// restored, under the hash `failover plan --failback` printed. Run from the primary
        /// region (the failback's DR region), where its lock and record are written.
        #[arg(long, conflicts_with = "state_machine")]
        failback: bool,
        #[command(flatten)]
        drive: DriveArgs,
    },
    /// Each step of a run: what was done, when, and how it went.
    Status {
        run: String,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Go on with a run that stopped half-way (its process died), from its last completed step:
    /// nothing it did is done twice.
    Resume {
        run: String,
        #[command(flatten)]
        drive: DriveArgs,
    },
    /// Stop a run and put back every switch it made. The stores it restored stay, tagged
    /// bulwark:failover=<run>, for inspection; they are listed.
    Abort {
        run: String,
        #[command(flatten)]
        drive: DriveArgs,
    },
    /// Whether a failover could run now, for every application and every store of a tier with
    /// a cross-region copy: ready or blocked (why), the data it would lose, the expected RTO.
    /// Recorded for the reports (the failover function does this on a schedule).
    Readiness {
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
    /// Everything but the switches: restore each store of a ready plan from its DR copy,
    /// validate it, measure the RTO and the data loss, and delete what was restored.
    Drill {
        #[arg(long)]
        app: String,
        /// How many stores are restored at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Run the drill as if the primary region were gone: through a role session whose
        /// policy denies every call to it (global control planes signed there included), from
        /// the DR region. A hidden dependency on the primary region fails the drill.
        #[arg(long)]
        isolate_primary: bool,
        /// With --isolate-primary: the role the drill assumes (default: the caller's own role,
        /// when the caller is an assumed role without a path).
        #[arg(long, env = "BULWARK_ISOLATION_ROLE", requires = "isolate_primary")]
        isolation_role: Option<String>,
        #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
        format: SummaryFormat,
    },
}

/// How a failover run is driven from here.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DriveArgs {
    /// How many stores are restored and validated at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds between asks after restores and record changes.
    #[arg(long, default_value_t = 2.0)]
    pub poll_seconds: f64,
    /// The alert topic told of the run's start, failure and end.
    #[arg(long, env = "BULWARK_ALERT_TOPIC_ARN")]
    pub topic_arn: Option<String>,
    /// The bucket the run's evidence document goes to.
    #[arg(long, env = "BULWARK_EVIDENCE_BUCKET")]
    pub evidence_bucket: Option<String>,
    /// How long this process's hold on the run lasts if it stops renewing it (3 to 3600 s):
    /// another host may take the run over once it lapses.
    #[arg(long, env = "BULWARK_FAILOVER_LEASE_SECONDS", default_value_t = LEASE_SECONDS)]
    pub lease_seconds: u64,
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

/// The application named `app`, or an error naming those the configuration has.
pub(crate) fn application<'c>(config: &'c Config, app: &str) -> Result<&'c Application> {
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

/// The facts of the application's plan, read once.
pub(crate) async fn facts_of(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    application: &Application,
) -> Result<bulwark_core::failover::FailoverFacts> {
    let account = aws.home_account().await?;
    Ok(waiting(
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
    .await?)
}

/// Which copies a plan takes: up to how old beyond the limit, and whether the newest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CopyChoice {
    pub accepted: Option<Duration>,
    pub point: PointChoice,
}

/// The application's plan, from facts read once, accepting `accepted` of data loss, taking
/// each store's newest copy when `point` says so.
pub(crate) async fn plan_of(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    application: &Application,
    CopyChoice { accepted, point }: CopyChoice,
) -> Result<Plan> {
    let facts = facts_of(aws, config, inventory, application).await?;
    let prerequisites = config.restore_prerequisites(application.dr_region.as_str());
    Ok(bulwark_core::failover::plan_choosing(
        application,
        prerequisites,
        &facts,
        accepted,
        point == PointChoice::Newest,
    ))
}

/// Print the failover plan of `app` (or of its failback), changing nothing.
pub async fn plan(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    app: &str,
    failback: bool,
    choice: CopyChoice,
    format: SummaryFormat,
) -> Result<()> {
    let application = application(config, app)?;
    let mut failed_back_from = None;
    let turned;
    let application = if failback {
        let (run, _) = record::last_succeeded(inventory, app)
            .await?
            .with_context(|| format!("{app} has no succeeded failover to fail back"))?;
        turned = bulwark_core::failover::failback_application(application, &run)
            .map_err(anyhow::Error::msg)?;
        failed_back_from = Some(run.id.to_string());
        &turned
    } else {
        application
    };
    let plan = plan_of(aws, config, inventory, application, choice).await?;
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
                "failback_of": failed_back_from,
                "calls": calls,
                "mutating_calls": mutating,
            }))?
        ),
        SummaryFormat::Text => {
            if let Some(run) = &failed_back_from {
                println!(
                    "failback after failover run {run}: the stores it restored, back to {}; \
                     each needs a copy there first (back it up in {} with a copy rule to {})",
                    plan.dr_region, plan.primary_region, plan.dr_region
                );
            }
            output::print_failover_plan(&plan)
        }
    }
    Ok(())
}

/// Which copy of each store a failover restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PointChoice {
    /// The newest copy a restore test restored and passed, if it loses no more than allowed;
    /// else the newest.
    Verified,
    /// The newest copy, verified or not.
    Newest,
}

/// `failover execute`'s request.
pub struct ExecuteRequest {
    pub app: String,
    pub plan_hash: String,
    pub confirm: bool,
    pub reason: String,
    pub requested_by: Option<String>,
    pub accept_data_loss: Option<Duration>,
    pub point: PointChoice,
    pub primary_down: bool,
    pub state_machine: Option<String>,
    pub wait: bool,
    pub failback: bool,
}

/// The environment variable that kills the CLI right after a step of a run (`restore`,
/// `poll`, `validate`, `switch`, `verify`, `revert`): how the tests prove that a run killed
/// between any two steps resumes or aborts cleanly.
const FAULT_EXIT_AFTER: &str = "BULWARK_FAULT_EXIT_AFTER";

fn step_name(step: &Next) -> &'static str {
    match step {
        Next::Restore(_) => "restore",
        Next::Poll(_) => "poll",
        Next::Validate(_) => "validate",
        Next::Switch { .. } => "switch",
        Next::Verify(_) => "verify",
        Next::Revert(_) => "revert",
        Next::Succeed | Next::Fail(_) | Next::Aborted => "end",
        Next::Ended => "ended",
    }
}

pub(crate) fn reporting(drive: &DriveArgs) -> Reporting {
    Reporting {
        topic_arn: drive.topic_arn.clone(),
        evidence_bucket: drive.evidence_bucket.clone(),
    }
}

/// Drive run `id` to its end from here, as `driving` says, printing each step as it is taken, then
/// the run.
pub(crate) async fn drive_run(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    id: &RunId,
    drive: &DriveArgs,
    driving: &Driving,
) -> Result<()> {
    let die_after = std::env::var(FAULT_EXIT_AFTER).ok();
    let text = drive.format == SummaryFormat::Text;
    let after_step = |run: &Run, _advanced: Advanced| {
        let step = step_name(&next(run));
        if text && step != "poll" && step != "ended" {
            eprintln!("  {} {step}", chrono::Utc::now().format("%H:%M:%S"));
        }
        if die_after.as_deref() == Some(step) {
            eprintln!("{FAULT_EXIT_AFTER}={step}: the process dies here");
            std::process::exit(137);
        }
    };
    let poll = std::time::Duration::from_secs_f64(drive.poll_seconds.max(0.05));
    let (run, events) = execute::drive(
        aws,
        inventory,
        config,
        id,
        drive.concurrency.max(1),
        poll,
        &reporting(drive),
        &after_step,
        driving,
    )
    .await?;
    print_run(&run, &events, drive.format)?;
    match &run.ending {
        Some(Ending::Failed { reason, .. }) => bail!(
            "failover run {} stopped: {reason}. `bulwark failover abort {}` puts back the \
             switches it made",
            run.id,
            run.id
        ),
        _ => Ok(()),
    }
}

/// Execute a failover of `request.app` under the plan hash given.
pub async fn execute(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    request: ExecuteRequest,
    drive: &DriveArgs,
) -> Result<()> {
    let application = application(config, &request.app)?;
    if !request.confirm {
        bail!(
            "a failover needs --confirm: nothing was done. Read the plan first: bulwark \
             failover plan --app {}",
            request.app
        );
    }
    if request.reason.trim().is_empty() {
        bail!("--reason is empty: say why, it is recorded with the run");
    }
    let caller = aws.caller_arn().await?;
    let requested_by = request.requested_by.unwrap_or_else(|| caller.clone());
    if let Some(state_machine) = &request.state_machine {
        if request.accept_data_loss.is_some() || request.point == PointChoice::Newest {
            bail!(
                "--accept-data-loss and --point newest are not passed through the state \
                 machine: run the failover from here (without --state-machine)"
            );
        }
        let input = serde_json::json!({
            "application": request.app,
            "plan_hash": request.plan_hash,
            "requested_by": requested_by,
            "reason": request.reason,
            "primary_down": request.primary_down,
        });
        return through_state_machine(inventory, aws, state_machine, &input, request.wait, drive)
            .await;
    }
    // A failback fails over the application turned around, after its last succeeded failover.
    let turned;
    let (application, failback_of) = if request.failback {
        let (last, _) = record::last_succeeded(inventory, &request.app)
            .await?
            .with_context(|| format!("{} has no succeeded failover to fail back", request.app))?;
        turned = bulwark_core::failover::failback_application(application, &last)
            .map_err(anyhow::Error::msg)?;
        (&turned, Some(last.id))
    } else {
        (application, None)
    };
    let driving = Driving::this_process(drive.lease_seconds)?;
    let run = execute::begin(
        aws,
        inventory,
        config,
        application,
        &execute::Request {
            application: request.app,
            plan_hash: request.plan_hash,
            requested_by,
            reason: request.reason,
            accept_data_loss: request.accept_data_loss,
            newest_point: request.point == PointChoice::Newest,
            primary_down: request.primary_down,
            caller,
            failback_of,
            recover_before: None,
        },
        &reporting(drive),
        chrono::Utc::now(),
        &driving,
    )
    .await?;
    // On standard error in every format: whoever must resume or abort the run needs its id.
    eprintln!(
        "failover run {} of {} into {} (plan {}); `bulwark failover status {}` shows it",
        run.id, run.plan.application, run.plan.dr_region, run.plan.hash, run.id
    );
    drive_run(aws, config, inventory, &run.id, drive, &driving).await
}

/// Start the failover state machine with `input`; with `wait`, follow it and show the run.
async fn through_state_machine(
    inventory: &Inventory,
    aws: &Aws,
    state_machine: &str,
    input: &serde_json::Value,
    wait: bool,
    drive: &DriveArgs,
) -> Result<()> {
    let execution = bulwark_aws::restore::run::start(aws, state_machine, input).await?;
    eprintln!("started {execution}");
    if !wait {
        return Ok(());
    }
    let end = waiting(
        "waiting for the failover",
        bulwark_aws::restore::run::follow(aws, &execution),
    )
    .await?;
    if end.status != "SUCCEEDED" {
        bail!(
            "the failover execution {}: {} {}",
            end.status,
            end.error.unwrap_or_default(),
            end.cause.unwrap_or_default()
        );
    }
    let output: serde_json::Value =
        serde_json::from_str(end.output.as_deref().unwrap_or("{}")).unwrap_or_default();
    let run = output["begun"]["run"]
        .as_str()
        .context("the execution's output names no run")?;
    let (run, events) = record::load_existing(inventory, run).await?;
    print_run(&run, &events, drive.format)?;
    match &run.ending {
        Some(Ending::Succeeded { .. }) => Ok(()),
        _ => bail!("failover run {} did not succeed (above)", run.id),
    }
}

/// Show run `id`, step by step.
pub async fn status(inventory: &Inventory, id: &str, format: SummaryFormat) -> Result<()> {
    let (run, events) = record::load_existing(inventory, id).await?;
    print_run(&run, &events, format)
}

/// Go on with run `id` from its last completed step.
pub async fn resume(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    id: &str,
    drive: &DriveArgs,
) -> Result<()> {
    let (run, _) = record::load_existing(inventory, id).await?;
    if !run.running() {
        print_run(&run, &[], drive.format)?;
        bail!("failover run {} has ended: nothing to resume", run.id);
    }
    // Held first: a resume refused (another driver still drives the run) records nothing.
    let driving = Driving::this_process(drive.lease_seconds)?;
    execute::hold(aws, inventory, &run, &driving).await?;
    record::log(
        inventory,
        &run.id,
        "resume",
        &run.plan.application,
        format!("resumed by {}", driving.driver),
    )
    .await?;
    drive_run(aws, config, inventory, &run.id, drive, &driving).await
}

/// Abort run `id`: every switch it made put back; what it restored stays.
pub async fn abort(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    id: &str,
    drive: &DriveArgs,
) -> Result<()> {
    let id = RunId::parse(id).map_err(anyhow::Error::msg)?;
    let driving = Driving::this_process(drive.lease_seconds)?;
    let run = execute::request_abort(aws, inventory, &id, Some(&driving)).await?;
    // A run another driver still drives is aborted by it, at its next step.
    match execute::hold(aws, inventory, &run, &driving).await {
        Err(e @ AwsError::Refused(_)) => {
            eprintln!(
                "the abort of failover run {id} is recorded; {e}. Its driver puts back the \
             switches at its next step: `bulwark failover status {id}` follows it"
            );
            return Ok(());
        }
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    drive_run(aws, config, inventory, &run.id, drive, &driving).await
}

pub(crate) fn print_run(run: &Run, events: &[Event], format: SummaryFormat) -> Result<()> {
    match format {
        SummaryFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "run": run,
                "data_loss_seconds": run.data_loss_seconds(),
                "events": events,
                "chain": chain_state(events),
            }))?
        ),
        SummaryFormat::Text => output::print_failover_run(run, events),
    }
    Ok(())
}

/// Whether the run's chained steps hold: how many, and the first that breaks the chain.
fn chain_state(events: &[Event]) -> serde_json::Value {
    let chained = events.iter().filter(|e| e.seq.is_some()).count();
    match bulwark_core::failover::chain::chain_break(events) {
        None => serde_json::json!({"steps": chained, "intact": true}),
        Some(at) => serde_json::json!({"steps": chained, "intact": false, "broken_at": at}),
    }
}

/// Compute, record and print every application's and copied store's readiness.
pub async fn readiness(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    format: SummaryFormat,
) -> Result<()> {
    let account = aws.home_account().await?;
    let computed = waiting(
        "reading the DR regions",
        bulwark_aws::failover::readiness::compute(
            aws,
            inventory,
            config,
            &account,
            chrono::Utc::now(),
        ),
    )
    .await?;
    bulwark_aws::failover::readiness::record(inventory, &computed).await?;
    match format {
        SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&computed)?),
        SummaryFormat::Text => output::print_readiness(&computed),
    }
    Ok(())
}

/// Run one `bulwark failover` subcommand.
pub async fn dispatch(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    action: FailoverCommand,
) -> Result<()> {
    match action {
        FailoverCommand::Plan {
            app,
            failback,
            accept_data_loss,
            point,
            format,
        } => {
            plan(
                aws,
                config,
                inventory,
                &app,
                failback,
                CopyChoice {
                    accepted: accept_data_loss,
                    point,
                },
                format,
            )
            .await
        }
        FailoverCommand::Execute {
            app,
            plan_hash,
            confirm,
            reason,
            requested_by,
            accept_data_loss,
            point,
            primary_down,
            state_machine,
            wait,
            failback,
            drive,
        } => {
            let request = ExecuteRequest {
                app,
                plan_hash,
                confirm,
                reason,
                requested_by,
                accept_data_loss,
                point,
                primary_down,
                state_machine,
                wait,
                failback,
            };
            execute(aws, config, inventory, request, &drive).await
        }
        FailoverCommand::Status { run, format } => status(inventory, &run, format).await,
        FailoverCommand::Resume { run, drive } => {
            resume(aws, config, inventory, &run, &drive).await
        }
        FailoverCommand::Abort { run, drive } => abort(aws, config, inventory, &run, &drive).await,
        FailoverCommand::Readiness { format } => readiness(aws, config, inventory, format).await,
        FailoverCommand::Drill {
            app,
            concurrency,
            isolate_primary,
            isolation_role,
            format,
        } => {
            let isolation = isolate_primary.then_some(crate::drill_cmd::Isolation {
                role: isolation_role,
            });
            crate::drill_cmd::drill(aws, config, inventory, &app, concurrency, isolation, format)
                .await
        }
    }
}
