//! The coverage report as one self-contained HTML page: headline, tiers, recovery-point ages,
//! tier × kind, each store's last restore test, exceptions, unknown tag values. maud escapes
//! every spliced value.

use bulwark_core::coverage::NOT_BACKED_UP;
use bulwark_core::{AgeHistogram, AssetCoverage, CoverageReport, Kind, Status};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use bulwark_core::backup_cost::StorageCost;
use bulwark_core::failover::readiness::Readiness;
use bulwark_core::legal_hold::HoldReport;

use super::{
    cost_cells, hold_cells, last_test, percent, plural, readiness_line, readiness_rows,
    replicated_rows, replication, restore_control, storage_line, tiers, timestamp, unknown_values,
    unneeded, with_unknown_values,
};

/// The colour class of a coverage figure: full, short of full, or far short (below 90%).
fn grade(p: f64) -> &'static str {
    if p >= 100.0 {
        "ok"
    } else if p >= 90.0 {
        "warn"
    } else {
        "bad"
    }
}

/// Everything inline, nothing fetched: the page is mailed, archived and opened offline.
const STYLE: &str = "
body{margin:0;background:#f5f6f8;color:#1d2330;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:28px 20px 40px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}
section{background:#fff;border:1px solid #dfe3ea;border-radius:8px;padding:18px 20px;margin:18px 0}
.muted{color:#667085}.small{font-size:12px}
.headline{display:flex;flex-wrap:wrap;gap:14px;background:none;border:0;padding:0}
.card{flex:1 1 150px;background:#fff;border:1px solid #dfe3ea;border-radius:8px;padding:14px 16px}
.card .value{display:block;font-size:26px;font-weight:650}
.card.big .value{font-size:40px}
.card.ok .value,td.ok{color:#1b7f3b}.card.warn .value,td.warn{color:#a15c00}.card.bad .value,td.bad{color:#b42318}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f4;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#667085}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.bar{width:40%}svg{display:block;width:100%;height:14px}
rect.track{fill:#eef0f4}rect.ok{fill:#2e9d55}rect.warn{fill:#e6a23c}rect.bad{fill:#d9473b}
rect.q1,.sw.q1{fill:#1b7f3b;background:#1b7f3b}rect.q2,.sw.q2{fill:#6cbf7f;background:#6cbf7f}
rect.q3,.sw.q3{fill:#e6c23c;background:#e6c23c}rect.q4,.sw.q4{fill:#d9473b;background:#d9473b}
rect.q5,.sw.q5{fill:#98a2b3;background:#98a2b3}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
td.cell{text-align:center}td.cell.ok{background:#e8f5ec}td.cell.warn{background:#fdf3e1}td.cell.bad{background:#fdecea}
td.none{color:#98a2b3;text-align:center}
ul.reasons{margin:0;padding-left:18px}
.arn{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:#667085;word-break:break-all}
footer{margin-top:24px;font-size:12px;color:#667085}
";

pub(super) fn page(
    report: &CoverageReport,
    assets: &[AssetCoverage],
    readiness: Option<&Readiness>,
    storage: &StorageCost,
    holds: &HoldReport,
) -> String {
    let generated = timestamp(report.generated_at);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Bulwark coverage report, " (generated) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    header {
                        h1 { "Data protection coverage" }
                        p.muted { "Generated " (generated) " by Bulwark" }
                    }
                    (headline(report))
                    (by_tier(report))
                    (ages(report))
                    (matrix(report))
                    (restore_tests(report, assets))
                    (failover(readiness))
                    (replication_section(assets))
                    (backup_storage(storage))
                    (legal_holds(holds))
                    (exceptions(report))
                    (unknown(assets))
                    footer {
                        "Bulwark coverage report, generated " (generated) ". Protected means \
                         selected by a backup plan with a recovery point within the tier's RPO."
                    }
                }
            }
        }
    };
    page.into_string() + "\n"
}

/// Each backed-up store's replication outside AWS Backup.
fn replication_section(assets: &[AssetCoverage]) -> Markup {
    let rows = replicated_rows(assets);
    html! {
        section #replication {
            h2 { "Replication" }
            p.muted { "What each backed-up store copies outside AWS Backup: S3 replication rules, DynamoDB global-table replicas, RDS and Aurora Multi-AZ and read replicas." }
            table {
                thead { tr { th { "Store" } th { "Tier" } th { "Replication" } } }
                tbody {
                    @for a in rows {
                        tr { td.small { (a.arn) } td { (a.tier.clone().unwrap_or_default()) } td { (replication(a)) } }
                    }
                }
            }
        }
    }
}

/// The legal holds: Bulwark's and other tools', holding first.
fn legal_holds(holds: &HoldReport) -> Markup {
    html! {
        section #legal-holds {
            h2 { "Legal holds" }
            p { (holds.line()) }
            @if !holds.holds.is_empty() {
                table {
                    thead { tr { th { "Hold" } th { "State" } th.num { "Points" } th { "Where" } th { "Reason" } th { "Review by" } } }
                    tbody {
                        @for hold in &holds.holds {
                            @let [name, state, points, places, reason, until] = hold_cells(hold);
                            tr { td { (name) } td { (state) } td.num { (points) } td.small { (places) } td { (reason) } td { (until) } }
                        }
                    }
                }
            }
            @for unread in &holds.unread {
                p.muted { "Not read: " (unread) }
            }
        }
    }
}

/// Backup storage: its cost by tier, application and account, and the points nobody needs.
fn backup_storage(storage: &StorageCost) -> Markup {
    let (listed, line) = unneeded(storage);
    html! {
        section #storage {
            h2 { "Backup storage" }
            p { (storage_line(storage)) }
            @for (by, lines) in [("Tier", &storage.by_tier), ("Application", &storage.by_application), ("Account", &storage.by_account)] {
                @if !lines.is_empty() {
                    table {
                        thead { tr { th { (by) } th.num { "Points" } th.num { "Warm GB" } th.num { "Cold GB" } th.num { "A month" } } }
                        tbody {
                            @for line in lines {
                                @let [name, points, warm, cold, month] = cost_cells(line);
                                tr { td { (name) } td.num { (points) } td.num { (warm) } td.num { (cold) } td.num { (month) } }
                            }
                        }
                    }
                }
            }
            h3 { "Recovery points nobody needs" }
            p { (line) }
            @if !listed.is_empty() {
                table {
                    thead { tr { th { "Recovery point" } th { "Store" } th { "Why" } th.num { "A month" } } }
                    tbody {
                        @for p in listed {
                            tr { td.small { (p.arn) } td.small { (p.resource_arn) } td { (p.why.why()) } td.num { (p.usd_month) } }
                        }
                    }
                }
            }
        }
    }
}

/// Failover readiness: each application, each store not ready, with its blockers.
fn failover(readiness: Option<&Readiness>) -> Markup {
    html! {
        section #failover {
            h2 { "Failover readiness" }
            @match readiness {
                None => p.muted { "Not computed yet: bulwark failover readiness, or the failover function's schedule." },
                Some(readiness) => {
                    p { (readiness_line(readiness)) }
                    table {
                        thead { tr { th { "Application or store" } th { "Failover" } th.num { "Data loss" } th.num { "Expected RTO" } th { "Blockers" } } }
                        tbody {
                            @for r in readiness_rows(readiness) {
                                tr {
                                    td { (r.subject) }
                                    @if r.ready { td.ok { "ready" } } @else { td.bad { "blocked" } }
                                    td.num { (r.data_loss.map_or("-".into(), |d| d.to_string())) }
                                    td.num { (r.expected_rto.map_or("unknown".into(), |d| d.to_string())) }
                                    td.small { (r.blockers.join("; ")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn card(class: &str, value: &str, label: &str) -> Markup {
    html! {
        div class=(format!("card {class}").trim_end()) {
            span.value { (value) }
            span.muted { (label) }
        }
    }
}

fn headline(report: &CoverageReport) -> Markup {
    let t = &report.totals;
    let alarm = |n: usize| if n == 0 { "ok" } else { "bad" };
    html! {
        section.headline {
            (card(
                &format!("big {}", grade(t.coverage_percent)),
                &percent(t.coverage_percent),
                "of backup-required assets protected",
            ))
            (card(
                "",
                &format!("{} / {}", t.protected, t.backup_required),
                "protected / backup-required",
            ))
            (card("", &t.assets.to_string(), "assets in the inventory"))
            (card(alarm(t.rpo_breaches), &t.rpo_breaches.to_string(), "RPO breaches"))
            (card(alarm(t.non_compliant), &t.non_compliant.to_string(), "non-compliant assets"))
        }
    }
}

/// A horizontal bar of `p` percent.
fn bar(p: f64) -> Markup {
    let width = p.clamp(0.0, 100.0);
    html! {
        svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img"
            aria-label={ (percent(p)) " covered" } {
            rect.track width="100" height="10" {}
            rect class=(grade(p)) width=(format!("{width:.2}")) height="10" {}
        }
    }
}

fn by_tier(report: &CoverageReport) -> Markup {
    html! {
        section {
            h2 { "Coverage by tier" }
            table {
                tr {
                    th { "Tier" }
                    th { "Coverage" }
                    th.num {}
                    th.num { "Protected" }
                    th.num { "RPO breaches" }
                    th.num { "Non-compliant" }
                }
                @for (tier, g) in tiers(report).filter(|(_, g)| g.backup_required > 0) {
                    tr {
                        td { (tier) }
                        td.bar { (bar(g.coverage_percent)) }
                        td.num.(grade(g.coverage_percent)) { (percent(g.coverage_percent)) }
                        td.num { (g.protected) " / " (g.backup_required) }
                        td.num { (g.rpo_breaches) }
                        td.num { (g.non_compliant) }
                    }
                }
            }
            @if let Some(g) = report.by_tier.get(NOT_BACKED_UP) {
                p.muted.small {
                    (plural(g.assets, "asset is", "assets are"))
                    " not backed up by classification (reproducible, or excluded by a rule), so \
                     not counted."
                }
            }
        }
    }
}

const AGE_BUCKETS: [(&str, &str); 5] = [
    ("q1", "≤ 25% of RPO"),
    ("q2", "≤ 50%"),
    ("q3", "≤ 100%"),
    ("q4", "over RPO"),
    ("q5", "no recovery point"),
];

fn buckets(h: &AgeHistogram) -> [usize; 5] {
    [
        h.within_25_percent,
        h.within_50_percent,
        h.within_100_percent,
        h.over_rpo,
        h.no_recovery_point,
    ]
}

/// One stacked bar: each bucket's share of the tier's backup-required assets.
fn stacked(h: &AgeHistogram) -> Markup {
    let total = h.total().max(1) as f64;
    let mut x = 0.0;
    let mut segments = Vec::new();
    for ((class, label), n) in AGE_BUCKETS.iter().zip(buckets(h)) {
        if n == 0 {
            continue;
        }
        let width = n as f64 * 100.0 / total;
        segments.push((*class, *label, n, x, width));
        x += width;
    }
    html! {
        svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img"
            aria-label="recovery-point age against RPO" {
            rect.track width="100" height="10" {}
            @for (class, label, n, x, width) in segments {
                rect class=(class) x=(format!("{x:.2}")) width=(format!("{width:.2}")) height="10" {
                    title { (n) ": " (label) }
                }
            }
        }
    }
}

fn ages(report: &CoverageReport) -> Markup {
    html! {
        section {
            h2 { "Recovery-point age against RPO" }
            p.muted.small {
                "Each backup-required asset by the age of its latest recovery point, as a share \
                 of its tier's RPO."
            }
            table {
                tr {
                    th { "Tier" }
                    th { "Distribution" }
                    @for (class, label) in AGE_BUCKETS {
                        th.num { span.sw.(class) {} (label) }
                    }
                }
                @for tier in &report.tier_order {
                    @if let Some(h) = report.age_histogram.get(tier) {
                        tr {
                            td { (tier) }
                            td.bar { (stacked(h)) }
                            @for n in buckets(h) {
                                td.num { (n) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn matrix(report: &CoverageReport) -> Markup {
    html! {
        section {
            h2 { "Tier × kind" }
            p.muted.small { "Protected of backup-required assets." }
            table {
                tr {
                    th { "Tier" }
                    @for kind in Kind::ALL {
                        th.num { (kind) }
                    }
                }
                @for (tier, _) in tiers(report).filter(|(_, g)| g.backup_required > 0) {
                    @let kinds = report.by_tier_and_kind.get(tier);
                    tr {
                        td { (tier) }
                        @for kind in Kind::ALL {
                            @match kinds.and_then(|k| k.get(&kind)).filter(|g| g.backup_required > 0) {
                                None => td.none { "–" },
                                Some(g) => td.cell.(grade(g.coverage_percent))
                                    title=(percent(g.coverage_percent)) {
                                    (g.protected) " / " (g.backup_required)
                                },
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Every backed-up store's last restore test, in tier order: the proof behind
/// RESTORE_TIME_FOR_RESOURCES_MEET_TARGET, whose verdict closes the row.
fn restore_tests(report: &CoverageReport, assets: &[AssetCoverage]) -> Markup {
    let rank = |a: &AssetCoverage| {
        report
            .tier_order
            .iter()
            .position(|t| Some(t.as_str()) == a.tier.as_deref())
    };
    let mut stores: Vec<&AssetCoverage> = assets.iter().filter(|a| a.backup_required).collect();
    stores.sort_by(|a, b| (rank(a), &a.name, &a.arn).cmp(&(rank(b), &b.name, &b.arn)));
    let tested = stores
        .iter()
        .filter(|a| a.last_restore_test.is_some())
        .count();
    let failed = stores
        .iter()
        .filter(|a| a.last_restore_test.as_ref().is_some_and(|t| !t.succeeded))
        .count();
    html! {
        section {
            h2 { "Restore tests" }
            p.muted.small {
                (tested) " of " (plural(stores.len(), "backed-up store", "backed-up stores"))
                " tested, " (failed) " failing. Each store's last test of its own region's \
                 recovery points; RTO and RPO measured / the tier's, rounded up to the minute."
            }
            @if !stores.is_empty() {
                table {
                    tr {
                        th { "Asset" }
                        th { "Tier" }
                        th { "Last test" }
                        th { "RTO" }
                        th { "RPO" }
                        th { "Verdict" }
                    }
                    @for a in stores {
                        @let test = last_test(a);
                        tr {
                            td {
                                (a.name) " " span.muted { (a.kind) }
                                div.arn { (a.arn) }
                            }
                            td { (a.tier.as_deref().unwrap_or(NOT_BACKED_UP)) }
                            @match test.passed {
                                Some(true) => td.ok { (test.verdict) },
                                Some(false) => td.bad { (test.verdict) },
                                None => td.muted { (test.verdict) },
                            }
                            td { (test.rto.as_deref().unwrap_or("–")) }
                            td { (test.rpo.as_deref().unwrap_or("–")) }
                            (verdict(restore_control(a)))
                        }
                    }
                }
            }
        }
    }
}

/// A control's verdict as a cell: its label, and its reason on hover.
fn verdict(status: Option<&Status>) -> Markup {
    html! {
        @match status {
            Some(Status::Compliant) => td.ok { "compliant" },
            Some(Status::NonCompliant { reason }) => td.bad title=(reason) { "non-compliant" },
            Some(Status::NotApplicable { why }) => td.muted title=(why) { "not applicable" },
            None => td.muted { "–" },
        }
    }
}

fn exceptions(report: &CoverageReport) -> Markup {
    html! {
        section {
            h2 { "Exceptions (" (report.exceptions.len()) ")" }
            @if report.exceptions.is_empty() {
                p { "Every asset meets every control that applies to it." }
            } @else {
                table {
                    tr {
                        th { "Asset" }
                        th { "Tier" }
                        th { "Reasons" }
                    }
                    @for e in &report.exceptions {
                        tr {
                            td {
                                (e.name) " " span.muted { (e.kind) }
                                div.arn { (e.arn) }
                            }
                            td { (e.tier.as_deref().unwrap_or(NOT_BACKED_UP)) }
                            td {
                                ul.reasons {
                                    @for reason in &e.reasons {
                                        li { (reason) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn unknown(assets: &[AssetCoverage]) -> Markup {
    let unknown = with_unknown_values(assets);
    html! {
        @if !unknown.is_empty() {
            section {
                h2 { "Unknown tag values (" (unknown.len()) ")" }
                p.muted.small {
                    "Values no classification rule knows: ignored, and classification fell \
                     through to the next rule."
                }
                table {
                    tr {
                        th { "Asset" }
                        th { "Tier" }
                        th { "Tags" }
                    }
                    @for a in unknown {
                        tr {
                            td {
                                (a.name)
                                div.arn { (a.arn) }
                            }
                            td { (a.tier.as_deref().unwrap_or(NOT_BACKED_UP)) }
                            td { (unknown_values(a)) }
                        }
                    }
                }
            }
        }
    }
}
