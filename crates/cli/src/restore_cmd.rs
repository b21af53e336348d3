//! `bulwark restore-test`: run here, a bounded number at once, or through the deployed
//! restore-test state machine.

use anyhow::{bail, Context, Result};
use bulwark_aws::restore::{Origin, RestoreTest};
use bulwark_aws::{Aws, Inventory};
use bulwark_core::{Config, ResourceArn};
use futures::StreamExt;

use crate::output;
use crate::progress::waiting;
use crate::SummaryFormat;

/// What to test: one store, or a tier's present stores; their DR copies too with `dr`.
pub struct Request {
    pub arn: Option<String>,
    pub tier: Option<String>,
    pub dr: bool,
    pub format: SummaryFormat,
}

/// Start a run of the deployed state machine with the request; with `wait`, follow it and
/// show its tests.
pub async fn through_state_machine(
    aws: &Aws,
    inventory: &Inventory,
    state_machine: &str,
    request: Request,
    wait: bool,
) -> Result<()> {
    let Request {
        arn,
        tier,
        dr,
        format,
    } = request;
    let mut request = serde_json::Map::new();
    if let Some(arn) = &arn {
        request.insert("arn".into(), ResourceArn::parse(arn)?.to_string().into());
    }
    if let Some(tier) = &tier {
        request.insert("tier".into(), tier.clone().into());
    }
    if dr {
        request.insert("dr".into(), true.into());
    }
    let since = chrono::Utc::now();
    let execution =
        bulwark_aws::restore::run::start(aws, state_machine, &serde_json::Value::Object(request))
            .await?;
    eprintln!("started {execution}");
    if !wait {
        println!("{execution}");
        return Ok(());
    }
    let end = waiting(
        "waiting for the run",
        bulwark_aws::restore::run::follow(aws, &execution),
    )
    .await?;
    let tests: Vec<_> = bulwark_aws::restore::history::tests(inventory, None)
        .await?
        .into_iter()
        .filter(|t| t.started >= since - chrono::Duration::seconds(5))
        .filter(|t| arn.as_deref().is_none_or(|a| t.arn == a))
        .filter(|t| tier.is_none() || t.tier == tier)
        .collect();
    match format {
        SummaryFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "execution": execution,
                "status": end.status,
                "tests": tests,
            }))?
        ),
        SummaryFormat::Text => {
            println!("run {execution}: {}", end.status);
            output::print_restore_history(&tests);
        }
    }
    if end.status != "SUCCEEDED" {
        bail!(
            "the run ended {}: {} {}",
            end.status,
            end.error.unwrap_or_default(),
            end.cause.unwrap_or_default()
        );
    }
    if let Some(earlier) = yielded_to(end.output.as_deref()) {
        bail!("an earlier run, {earlier}, is still running: this one tested nothing");
    }
    all_passed(&tests)
}

/// The earlier run a run yielded to, from its output (`selected.yielded_to`).
fn yielded_to(output: Option<&str>) -> Option<String> {
    let output: serde_json::Value = serde_json::from_str(output?).ok()?;
    output["selected"]["yielded_to"]
        .as_str()
        .map(str::to_string)
}

/// Test here, `concurrency` at once, recording each test.
pub async fn here(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    request: Request,
    concurrency: usize,
) -> Result<()> {
    let Request {
        arn,
        tier,
        dr,
        format,
    } = request;
    let assets = match (&arn, &tier) {
        (Some(arn), _) => {
            let arn = ResourceArn::parse(arn)?;
            vec![inventory.get(&arn).await?.with_context(|| {
                format!("{arn} is not in the inventory: run `bulwark discover` first")
            })?]
        }
        (None, Some(tier)) => {
            if config.tier(tier).is_none() {
                bail!("{tier:?} is not a tier of the configuration");
            }
            inventory
                .all()
                .await?
                .into_iter()
                .filter(|a| a.state == bulwark_core::AssetState::Present)
                .filter(|a| {
                    a.classification.as_ref().and_then(|c| c.tier.as_deref()) == Some(tier.as_str())
                })
                .collect()
        }
        (None, None) => bail!("name a store (--arn) or a tier (--tier)"),
    };
    let origins: &[Origin] = if dr {
        &[Origin::Home, Origin::Dr]
    } else {
        &[Origin::Home]
    };
    let runs: Vec<(&bulwark_core::Asset, Origin)> = assets
        .iter()
        .flat_map(|a| origins.iter().map(move |o| (a, *o)))
        .collect();
    let started = std::time::Instant::now();
    let tests = run_tests(aws, config, inventory, runs, concurrency).await?;
    match format {
        SummaryFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "tests": tests,
                "calls": aws.counter().snapshot(),
                "seconds": started.elapsed().as_secs_f64(),
            }))?
        ),
        SummaryFormat::Text if tests.len() == 1 => output::print_restore_test(&tests[0]),
        SummaryFormat::Text => output::print_restore_history(&tests),
    }
    all_passed(&tests)
}

/// Run `runs` here, `concurrency` at once, recording each test; the tests in store order.
pub async fn run_tests(
    aws: &Aws,
    config: &Config,
    inventory: &Inventory,
    runs: Vec<(&bulwark_core::Asset, Origin)>,
    concurrency: usize,
) -> Result<Vec<RestoreTest>> {
    let message = format!(
        "restoring and validating {} copies, {} at once",
        runs.len(),
        concurrency.max(1)
    );
    let work = futures::stream::iter(runs)
        .map(|(asset, origin)| async move {
            // One test's failure, a record it could not write included, is that test's: the
            // run goes on, and reports it.
            let mut test = match bulwark_aws::restore::run_test(
                aws,
                inventory,
                config,
                asset,
                origin,
                chrono::Utc::now(),
            )
            .await
            {
                Ok(test) => test,
                Err(e) => bulwark_aws::restore::not_started(asset, origin, &e, chrono::Utc::now())?,
            };
            if let Err(e) = bulwark_aws::restore::history::record(inventory, &test).await {
                test.passed = false;
                let unrecorded = format!("the test could not be recorded: {e}");
                test.error = Some(match test.error.take() {
                    Some(error) => format!("{error}; {unrecorded}"),
                    None => unrecorded,
                });
            }
            Ok::<_, anyhow::Error>(test)
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>();
    let mut tests = waiting(&message, work)
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    tests.sort_by(|a, b| (&a.arn, a.origin == Origin::Dr).cmp(&(&b.arn, b.origin == Origin::Dr)));
    Ok(tests)
}

/// An error counting the failed tests, if any failed.
fn all_passed(tests: &[RestoreTest]) -> Result<()> {
    let failed = tests.iter().filter(|t| !t.passed).count();
    if failed > 0 {
        bail!(
            "{failed} of {} restore tests failed (see above)",
            tests.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::yielded_to;

    #[test]
    fn a_run_that_yielded_names_the_run_it_yielded_to() {
        let yielded = r#"{"selected": {"tests": [], "yielded_to": "arn:aws:states:us-east-1:123456789012:execution:bulwark-restore-tests:a"}}"#;
        assert_eq!(
            yielded_to(Some(yielded)).as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:execution:bulwark-restore-tests:a")
        );
        let ran = r#"{"selected": {"tests": [], "yielded_to": null}, "swept": {}}"#;
        assert_eq!(yielded_to(Some(ran)), None);
        assert_eq!(yielded_to(None), None);
    }
}
