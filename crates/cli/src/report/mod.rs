//! `bulwark report`: coverage for people (text tables in text.rs, one self-contained HTML page
//! in html.rs) and for programs (JSON and CSV, here), and what the renderings share.

mod html;
mod text;

use anyhow::Result;
use bulwark_core::backup_cost::{CostLine, StorageCost, UnneededPoint};
use bulwark_core::coverage::human;
use bulwark_core::failover::readiness::{Readiness, Ready};
use bulwark_core::legal_hold::HoldReport;
use bulwark_core::{AssetCoverage, Control, CoverageReport, Duration, GroupSummary, Status};
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Csv,
    Html,
}

/// Renders the report and the per-asset coverage it sums up, with the last failover readiness
/// recorded (None: never computed), what keeping the recovery points costs, and the legal
/// holds.
pub fn render(
    report: &CoverageReport,
    assets: &[AssetCoverage],
    readiness: Option<&Readiness>,
    storage: &StorageCost,
    holds: &HoldReport,
    format: ReportFormat,
) -> Result<String> {
    Ok(match format {
        ReportFormat::Table => text::table(report, assets, readiness, storage, holds),
        ReportFormat::Json => {
            let document = Document {
                summary: report,
                assets,
                readiness,
                storage,
                legal_holds: holds,
            };
            serde_json::to_string_pretty(&document)? + "\n"
        }
        ReportFormat::Csv => csv(assets)?,
        ReportFormat::Html => html::page(report, assets, readiness, storage, holds),
    })
}

#[derive(Serialize)]
struct Document<'a> {
    summary: &'a CoverageReport,
    assets: &'a [AssetCoverage],
    /// The last failover readiness recorded; null when never computed.
    readiness: Option<&'a Readiness>,
    /// What keeping the recovery points costs, and the points nobody needs.
    storage: &'a StorageCost,
    legal_holds: &'a HoldReport,
}

/// A store's replication in one cell: "not read" for the kinds and stores it was not read for.
fn replication(a: &AssetCoverage) -> String {
    a.replication
        .as_ref()
        .map_or_else(|| "not read".to_string(), |r| r.summary())
}

/// The stores the replication section lists: the backed-up ones, by tier then ARN.
fn replicated_rows(assets: &[AssetCoverage]) -> Vec<&AssetCoverage> {
    let mut rows: Vec<&AssetCoverage> = assets.iter().filter(|a| a.backup_required).collect();
    rows.sort_by(|a, b| (&a.tier, &a.arn).cmp(&(&b.tier, &b.arn)));
    rows
}

/// The most unneeded recovery points a report lists (the dearest first); JSON has them all.
const UNNEEDED_LISTED: usize = 20;

/// One line on backup storage for both renderings.
fn storage_line(storage: &StorageCost) -> String {
    let total = &storage.total;
    format!(
        "{} recovery points, {:.1} GB warm and {:.1} GB cold: {} a month at the configured prices",
        total.points, total.warm_gb, total.cold_gb, total.usd_month
    )
}

/// A cost line's cells: name, points, warm GB, cold GB, a month.
fn cost_cells(line: &CostLine) -> [String; 5] {
    [
        line.name.clone(),
        line.points.to_string(),
        format!("{:.2}", line.warm_gb),
        format!("{:.2}", line.cold_gb),
        line.usd_month.to_string(),
    ]
}

/// The unneeded points a report lists, and one line on them all.
fn unneeded(storage: &StorageCost) -> (&[UnneededPoint], String) {
    let all = &storage.unneeded;
    let cost = all.iter().fold(bulwark_core::restore::Usd::ZERO, |sum, p| {
        sum.saturating_add(p.usd_month)
    });
    let listed = &all[..all.len().min(UNNEEDED_LISTED)];
    let line = format!(
        "{} nobody needs, {cost} a month{}",
        plural(all.len(), "recovery point", "recovery points"),
        if listed.len() < all.len() {
            format!("; the {} dearest listed (JSON has them all)", listed.len())
        } else {
            String::new()
        }
    );
    (listed, line)
}

/// A hold's cells: name, state, points, where, reason, review date.
pub(crate) fn hold_cells(hold: &bulwark_core::legal_hold::HoldSummary) -> [String; 6] {
    [
        hold.name.clone(),
        hold.state().to_string(),
        hold.points.to_string(),
        hold.places.join(", "),
        hold.reason.clone(),
        hold.until.map(|d| d.to_string()).unwrap_or_default(),
    ]
}

/// The readiness rows a report shows: every application, then every store that is not ready.
fn readiness_rows(readiness: &Readiness) -> Vec<&Ready> {
    readiness
        .applications
        .iter()
        .chain(readiness.stores.iter().filter(|s| !s.ready))
        .collect()
}

/// One line on readiness for both renderings.
fn readiness_line(readiness: &Readiness) -> String {
    let ready = readiness.stores.iter().filter(|s| s.ready).count();
    format!(
        "{} of {} applications and {} of {} stores with a cross-region copy ready to fail over; \
         {} critical not ready (computed {})",
        readiness.applications.iter().filter(|a| a.ready).count(),
        readiness.applications.len(),
        ready,
        readiness.stores.len(),
        readiness.critical_not_ready().len(),
        timestamp(readiness.computed_at)
    )
}

/// A percentage rounded down, so that 99.96% never reads as a complete 100.0%.
fn percent(p: f64) -> String {
    format!("{:.1}%", (p * 10.0).floor() / 10.0)
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The tiers in report order, each with its summary.
fn tiers(report: &CoverageReport) -> impl Iterator<Item = (&str, &GroupSummary)> {
    report
        .tier_order
        .iter()
        .filter_map(|t| report.by_tier.get(t).map(|g| (t.as_str(), g)))
}

/// The assets with tag values no rule knows.
fn with_unknown_values(assets: &[AssetCoverage]) -> Vec<&AssetCoverage> {
    assets
        .iter()
        .filter(|a| !a.unknown_values.is_empty())
        .collect()
}

fn unknown_values(a: &AssetCoverage) -> String {
    a.unknown_values
        .iter()
        .map(|u| format!("{}={:?}", u.key, u.value))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A store's last restore test in the words both renderings show.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LastTest {
    /// "passed 2025-06-01 07:00 UTC", "failed 2025-06-01 07:00 UTC", or "no test yet".
    verdict: String,
    /// None without a test.
    passed: Option<bool>,
    /// The measured RTO and RPO against the tier's, "RTO 4m / 1h" and "RPO 12m / 1h"; either
    /// is missing when the test did not measure it.
    rto: Option<String>,
    rpo: Option<String>,
}

/// Measured values read as coverage's reasons read them (rounded up to the minute), the
/// tier's as its configuration writes them.
fn last_test(a: &AssetCoverage) -> LastTest {
    let Some(test) = &a.last_restore_test else {
        return LastTest {
            verdict: "no test yet".into(),
            passed: None,
            rto: None,
            rpo: None,
        };
    };
    let against = |what: &str, measured: Duration, target: Option<Duration>| {
        let target = target.map_or("-".to_string(), |t| t.to_string());
        format!("{what} {} / {target}", human(measured))
    };
    LastTest {
        verdict: format!(
            "{} {}",
            if test.succeeded { "passed" } else { "failed" },
            test.completed.format("%Y-%m-%d %H:%M UTC")
        ),
        passed: Some(test.succeeded),
        rto: test
            .measured()
            .then(|| against("RTO", test.duration, a.rto)),
        rpo: test.rpo.map(|rpo| against("RPO", rpo, a.rpo)),
    }
}

/// The verdict of RESTORE_TIME_FOR_RESOURCES_MEET_TARGET on an asset.
fn restore_control(a: &AssetCoverage) -> Option<&Status> {
    a.controls
        .iter()
        .find(|c| c.control == Control::RestoreTimeForResourcesMeetTarget)
        .map(|c| &c.status)
}

fn csv(assets: &[AssetCoverage]) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = vec![
        "arn",
        "name",
        "kind",
        "account",
        "region",
        "tier",
        "backup_required",
        "selected",
        "selected_by",
        "latest_recovery_point",
        "latest_age",
        "rpo",
        "rto",
        "rpo_breached",
        "protected",
        "dr_copy",
        "pitr_or_versioning",
        "locked",
        "encrypted",
        "last_restore_test",
        "last_restore_test_passed",
        "measured_rto",
        "measured_rpo",
        "compliant",
    ];
    header.extend(Control::ALL.map(Control::as_str));
    header.extend(["exceptions", "unknown_values", "replication"]);
    out.write_record(&header)?;
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    let duration = |d: Option<Duration>| d.map(|d| d.to_string()).unwrap_or_default();
    for a in assets {
        let test = a.last_restore_test.as_ref();
        let mut record: Vec<String> = vec![
            a.arn.clone(),
            a.name.clone(),
            a.kind.to_string(),
            a.account.clone(),
            a.region.clone(),
            a.tier.clone().unwrap_or_default(),
            a.backup_required.to_string(),
            a.selected.to_string(),
            a.selected_by.join(" "),
            a.latest_recovery_point
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            duration(a.latest_age),
            duration(a.rpo),
            duration(a.rto),
            a.rpo_breached.to_string(),
            a.protected.to_string(),
            a.dr_copy.to_string(),
            flag(a.pitr_or_versioning),
            a.locked.to_string(),
            flag(a.encrypted),
            test.map(|t| t.completed.to_rfc3339()).unwrap_or_default(),
            flag(test.map(|t| t.succeeded)),
            duration(test.filter(|t| t.measured()).map(|t| t.duration)),
            duration(test.and_then(|t| t.rpo)),
            a.compliant.to_string(),
        ];
        record.extend(Control::ALL.map(|control| {
            a.controls
                .iter()
                .find(|c| c.control == control)
                .map(|c| c.status.label().to_string())
                .unwrap_or_default()
        }));
        record.push(a.exceptions.join("; "));
        record.push(unknown_values(a));
        record.push(replication(a));
        out.write_record(&record)?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

#[cfg(test)]
mod tests;
