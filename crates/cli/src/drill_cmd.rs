//! `bulwark failover drill`: everything a failover does but the switches, optionally isolated
//! from the primary region as an outage would isolate it.

use anyhow::{bail, Context, Result};
use bulwark_aws::restore::Origin;
use bulwark_aws::{Aws, Inventory};
use bulwark_core::Config;

use crate::failover_cmd::{application, plan_of, CopyChoice, PointChoice};
use crate::output;
use crate::restore_cmd::run_tests;
use crate::SummaryFormat;

/// How a drill isolates itself from the primary region.
pub struct Isolation {
    pub role: Option<String>,
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
    isolation: Option<Isolation>,
    format: SummaryFormat,
) -> Result<()> {
    let application = application(config, app)?;
    let isolated;
    let (aws, inventory) = match isolation {
        None => (aws, inventory),
        Some(isolation) => {
            let primary = &application.primary_region;
            if aws.base_region().as_ref() == Some(primary) {
                bail!(
                    "an isolated drill runs from the DR region, as a failover does: \
                     AWS_REGION={} bulwark failover drill --app {app} --isolate-primary",
                    application.dr_region
                );
            }
            let role = match isolation.role {
                Some(role) => role,
                None => own_role(&aws.caller_arn().await?)?,
            };
            let isolated_aws = aws.isolated_from(primary, &role).await;
            let isolated_inventory = Inventory::new(isolated_aws.dynamodb(), inventory.table());
            eprintln!("isolated from {primary}: every call to it is denied (role {role})");
            isolated = (isolated_aws, isolated_inventory);
            (&isolated.0, &isolated.1)
        }
    };
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
    // A drill rehearses each store's newest copy (its test is what verifies it).
    let plan = plan_of(
        aws,
        config,
        inventory,
        application,
        CopyChoice {
            accepted: None,
            point: PointChoice::Newest,
        },
    )
    .await?;
    // A drill switches nothing: only what blocks a restore stops it.
    let restore_blockers =
        plan.blockers.len() + plan.stores.iter().map(|s| s.blockers.len()).sum::<usize>();
    if restore_blockers > 0 {
        output::print_failover_plan(&plan);
        bail!("the plan's restores are blocked by {restore_blockers} blocker(s) (above): nothing was restored");
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

/// The role behind an assumed-role session's ARN
/// (`arn:aws:sts::123456789012:assumed-role/<name>/<session>`), which an isolated drill assumes
/// again with its session policy. A role with a path cannot be told from its session's ARN:
/// name it with --isolation-role.
fn own_role(caller: &str) -> Result<String> {
    let mut parts = caller.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("sts"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        bail!("{caller} is not an assumed role's session: name the role with --isolation-role");
    };
    match resource.split('/').collect::<Vec<_>>()[..] {
        ["assumed-role", name, _session] => {
            Ok(format!("arn:{partition}:iam::{account}:role/{name}"))
        }
        _ => {
            bail!("{caller} is not an assumed role's session: name the role with --isolation-role")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::own_role;

    #[test]
    fn an_isolated_drill_assumes_the_callers_own_role_or_asks_for_one() {
        assert_eq!(
            own_role("arn:aws:sts::123456789012:assumed-role/OnCall/alice").expect("a role"),
            "arn:aws:iam::123456789012:role/OnCall"
        );
        for caller in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:root",
            "not an arn",
        ] {
            let err = own_role(caller).expect_err("refused").to_string();
            assert!(err.contains("--isolation-role"), "{err}");
        }
    }
}
