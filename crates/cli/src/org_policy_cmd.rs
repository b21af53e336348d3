//! `bulwark plan --org` and `apply --org` (central mode): the taxonomy as AWS Organizations
//! backup policies, one a tier, attached to `[organization_policies]`' targets. The policies
//! and the changes are `bulwark_core::org_policy`'s decision; a policy AWS would refuse is
//! refused before any call.

use anyhow::{anyhow, Result};
use bulwark_aws::Aws;
use bulwark_core::org_policy::{changes, render, OrgChange};
use bulwark_core::Config;

use crate::progress::waiting;
use crate::SummaryFormat;

#[derive(serde::Serialize)]
struct OrgPlan<'a> {
    applied: bool,
    changes: &'a [OrgChange],
}

pub(crate) async fn run(
    aws: &Aws,
    config: &Config,
    apply: bool,
    format: SummaryFormat,
) -> Result<()> {
    let settings = config.organization_policies().ok_or_else(|| {
        anyhow!(
            "--org needs an [organization_policies] section in the configuration: the targets \
             (roots, OUs, accounts) the backup policies attach to, and their regions"
        )
    })?;
    let desired = render(config).map_err(|why| anyhow!("{why}"))?;
    let org = aws.organizations();
    let facts = waiting(
        "reading the organization's backup policies",
        bulwark_aws::org_policy::read(&org),
    )
    .await?;
    let planned = changes(&desired, &settings.targets, &facts);
    if apply && !planned.is_empty() {
        waiting(
            "changing the organization's backup policies",
            bulwark_aws::org_policy::apply(&org, &facts, &planned),
        )
        .await?;
    }
    match format {
        SummaryFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&OrgPlan {
                applied: apply,
                changes: &planned,
            })?
        ),
        SummaryFormat::Text => {
            let verb = if apply { "made" } else { "to make" };
            if planned.is_empty() {
                println!(
                    "Organization backup policies: no changes (the policies match the taxonomy)"
                );
            } else {
                println!(
                    "Organization backup policies: {} change(s) {verb}",
                    planned.len()
                );
                for change in &planned {
                    println!("  + {}", change.describe());
                }
            }
        }
    }
    Ok(())
}
