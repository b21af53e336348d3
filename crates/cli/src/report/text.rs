//! The coverage report as text: the headline, coverage by tier and by kind, the non-compliant
//! assets with their reasons, and the unknown tag values.

use std::collections::BTreeMap;

use bulwark_core::coverage::NOT_BACKED_UP;
use bulwark_core::{AssetCoverage, CoverageReport, GroupSummary};
use comfy_table::presets;

use bulwark_core::failover::readiness::Readiness;

use bulwark_core::backup_cost::StorageCost;
use bulwark_core::legal_hold::HoldReport;

use super::{
    cost_cells, hold_cells, last_test, percent, plural, readiness_line, readiness_rows,
    replicated_rows, replication, storage_line, tiers, timestamp, unknown_values, unneeded,
    with_unknown_values,
};
use crate::output::{align_numbers, table as new_table};

pub(super) fn table(
    report: &CoverageReport,
    assets: &[AssetCoverage],
    readiness: Option<&Readiness>,
    storage: &StorageCost,
    holds: &HoldReport,
) -> String {
    let mut sections = vec![
        format!(
            "Coverage: {}\nGenerated {}",
            headline(report),
            timestamp(report.generated_at)
        ),
        format!("By tier\n{}", groups("tier", tiers(report))),
        format!(
            "By kind\n{}",
            groups(
                "kind",
                report.by_kind.iter().map(|(kind, g)| (kind.as_str(), g))
            )
        ),
        exceptions(report, assets),
    ];
    let unknown = with_unknown_values(assets);
    if !unknown.is_empty() {
        let mut table = new_table(&["asset", "unknown values"]);
        for a in &unknown {
            table.add_row([a.arn.as_str(), &unknown_values(a)]);
        }
        sections.push(format!(
            "Unknown tag values ({})\n{table}",
            plural(unknown.len(), "asset", "assets")
        ));
    }
    sections.push(failover(readiness));
    sections.push(replication_section(assets));
    sections.push(backup_storage(storage));
    sections.push(legal_holds(holds));
    sections.join("\n\n") + "\n"
}

/// Each backed-up store's replication outside AWS Backup.
fn replication_section(assets: &[AssetCoverage]) -> String {
    let rows = replicated_rows(assets);
    if rows.is_empty() {
        return "Replication: no backed-up store".to_string();
    }
    let mut table = new_table(&["store", "tier", "replication"]);
    for a in &rows {
        table.add_row([
            a.arn.clone(),
            a.tier.clone().unwrap_or_default(),
            replication(a),
        ]);
    }
    let replicated = rows
        .iter()
        .filter(|a| a.replication.as_ref().is_some_and(|r| r.replicated()))
        .count();
    format!(
        "Replication: {replicated} of {} backed-up stores replicated outside AWS Backup\n{table}",
        rows.len()
    )
}

/// Backup storage: its cost by tier, application and account, and the points nobody needs.
fn backup_storage(storage: &StorageCost) -> String {
    let mut out = vec![format!("Backup storage: {}", storage_line(storage))];
    for (by, lines) in [
        ("tier", &storage.by_tier),
        ("application", &storage.by_application),
        ("account", &storage.by_account),
    ] {
        if lines.is_empty() {
            continue;
        }
        let mut table = new_table(&[by, "points", "warm GB", "cold GB", "a month"]);
        for line in lines {
            table.add_row(cost_cells(line));
        }
        align_numbers(&mut table, 1);
        out.push(format!("By {by}\n{table}"));
    }
    let (listed, line) = unneeded(storage);
    if listed.is_empty() {
        out.push("Recovery points nobody needs: none".to_string());
    } else {
        let mut table = new_table(&["recovery point", "store", "why", "a month"]);
        for p in listed {
            table.add_row([
                p.arn.clone(),
                p.resource_arn.clone(),
                p.why.why().to_string(),
                p.usd_month.to_string(),
            ]);
        }
        out.push(format!("Recovery points nobody needs: {line}\n{table}"));
    }
    out.join("\n\n")
}

/// The legal holds: Bulwark's and other tools', holding first.
pub(crate) fn legal_holds(holds: &HoldReport) -> String {
    let mut out = format!("Legal holds: {}", holds.line());
    if !holds.holds.is_empty() {
        let mut table = new_table(&["hold", "state", "points", "where", "reason", "review by"]);
        for hold in &holds.holds {
            table.add_row(hold_cells(hold));
        }
        align_numbers(&mut table, 2);
        out += &format!("\n{table}");
    }
    for unread in &holds.unread {
        out += &format!("\nnot read: {unread}");
    }
    out
}

/// Failover readiness: each application, each store not ready.
fn failover(readiness: Option<&Readiness>) -> String {
    let Some(readiness) = readiness else {
        return "Failover readiness: not computed yet (bulwark failover readiness)".to_string();
    };
    let mut table = new_table(&[
        "application or store",
        "failover",
        "data loss",
        "expected RTO",
        "blockers",
    ]);
    for r in readiness_rows(readiness) {
        table.add_row([
            r.subject.clone(),
            if r.ready { "ready" } else { "BLOCKED" }.to_string(),
            r.data_loss.map_or("-".into(), |d| d.to_string()),
            r.expected_rto.map_or("unknown".into(), |d| d.to_string()),
            r.blockers.join("; "),
        ]);
    }
    format!("Failover readiness\n{}\n{table}", readiness_line(readiness))
}

fn headline(report: &CoverageReport) -> String {
    let t = &report.totals;
    format!(
        "{} of backup-required assets protected ({} of {}); {}, {}, {}",
        percent(t.coverage_percent),
        t.protected,
        t.backup_required,
        plural(t.assets, "asset", "assets"),
        plural(t.rpo_breaches, "RPO breach", "RPO breaches"),
        plural(
            t.non_compliant,
            "non-compliant asset",
            "non-compliant assets"
        ),
    )
}

/// One row a group (a tier, a kind), its name under `first`.
fn groups<'a>(first: &str, groups: impl Iterator<Item = (&'a str, &'a GroupSummary)>) -> String {
    let mut table = new_table(&[
        first,
        "assets",
        "required",
        "protected",
        "coverage",
        "RPO breaches",
        "non-compliant",
    ]);
    for (name, g) in groups {
        table.add_row([
            name.to_string(),
            g.assets.to_string(),
            g.backup_required.to_string(),
            g.protected.to_string(),
            // Nothing to protect: a percentage would only suggest there was.
            if g.backup_required == 0 {
                "-".to_string()
            } else {
                percent(g.coverage_percent)
            },
            g.rpo_breaches.to_string(),
            g.non_compliant.to_string(),
        ]);
    }
    align_numbers(&mut table, 1);
    table.to_string()
}

/// Each asset's name, ARN and reasons in one column, so that the table stays about as wide as
/// its longest ARN or reason rather than both side by side; its last restore test in a narrow
/// one beside it, since a restore exception reads better next to the test it is about.
fn exceptions(report: &CoverageReport, assets: &[AssetCoverage]) -> String {
    let heading = format!("Non-compliant assets ({})", report.exceptions.len());
    if report.exceptions.is_empty() {
        return heading;
    }
    let by_arn: BTreeMap<&str, &AssetCoverage> =
        assets.iter().map(|a| (a.arn.as_str(), a)).collect();
    let mut table = new_table(&[
        "tier",
        "kind",
        "asset, and why it is not compliant",
        "last restore test",
    ]);
    // Rules between rows: each row is several lines.
    table.load_preset(presets::ASCII_FULL);
    for e in &report.exceptions {
        let mut asset = vec![e.name.clone(), e.arn.clone()];
        asset.extend(e.reasons.iter().map(|reason| format!("- {reason}")));
        let test = match by_arn.get(e.arn.as_str()) {
            Some(a) if a.backup_required => {
                let test = last_test(a);
                [Some(test.verdict), test.rto, test.rpo]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            _ => "-".to_string(),
        };
        table.add_row([
            e.tier.as_deref().unwrap_or(NOT_BACKED_UP),
            e.kind.as_str(),
            &asset.join("\n"),
            &test,
        ]);
    }
    format!("{heading}\n{table}")
}
