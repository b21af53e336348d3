//! `bulwark report`: coverage for people (a table, one self-contained HTML page) and for
//! programs (JSON, CSV).

use std::fmt::{self, Write as _};

use anyhow::Result;
use bulwark_core::coverage::NOT_BACKED_UP;
use bulwark_core::{AgeHistogram, AssetCoverage, Control, CoverageReport, GroupSummary, Kind};
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

/// Renders the report and the per-asset coverage it sums up.
pub fn render(
    report: &CoverageReport,
    assets: &[AssetCoverage],
    format: ReportFormat,
) -> Result<String> {
    Ok(match format {
        ReportFormat::Table => table(report, assets)?,
        ReportFormat::Json => {
            let document = Document {
                summary: report,
                assets,
            };
            serde_json::to_string_pretty(&document)? + "\n"
        }
        ReportFormat::Csv => csv(assets)?,
        ReportFormat::Html => html(report, assets)?,
    })
}

#[derive(Serialize)]
struct Document<'a> {
    summary: &'a CoverageReport,
    assets: &'a [AssetCoverage],
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

/// The tiers in report order, each with its summary.
fn tiers(report: &CoverageReport) -> impl Iterator<Item = (&str, &GroupSummary)> {
    report
        .tier_order
        .iter()
        .filter_map(|t| report.by_tier.get(t).map(|g| (t.as_str(), g)))
}

fn table(report: &CoverageReport, assets: &[AssetCoverage]) -> Result<String, fmt::Error> {
    let mut out = String::new();
    writeln!(out, "Coverage: {}", headline(report))?;
    writeln!(out, "Generated {}", timestamp(report.generated_at))?;
    let header = |out: &mut String, first: &str| {
        writeln!(
            out,
            "\n{first:<16} {:>7} {:>9} {:>10} {:>9} {:>13} {:>14}",
            "assets", "required", "protected", "coverage", "RPO breaches", "non-compliant"
        )
    };
    let row = |out: &mut String, name: &str, g: &GroupSummary| {
        writeln!(
            out,
            "{name:<16} {:>7} {:>9} {:>10} {:>9} {:>13} {:>14}",
            g.assets,
            g.backup_required,
            g.protected,
            // Nothing to protect: a percentage would only suggest there was.
            if g.backup_required == 0 {
                "-".to_string()
            } else {
                percent(g.coverage_percent)
            },
            g.rpo_breaches,
            g.non_compliant
        )
    };
    header(&mut out, "By tier")?;
    for (tier, g) in tiers(report) {
        row(&mut out, tier, g)?;
    }
    header(&mut out, "By kind")?;
    for (kind, g) in &report.by_kind {
        row(&mut out, kind.as_str(), g)?;
    }

    writeln!(out, "\nNon-compliant assets ({})", report.exceptions.len())?;
    for e in &report.exceptions {
        let tier = e.tier.as_deref().unwrap_or(NOT_BACKED_UP);
        writeln!(
            out,
            "  {tier:<12} {:<9} {}  {}",
            e.kind.as_str(),
            e.name,
            e.arn
        )?;
        for reason in &e.reasons {
            writeln!(out, "      - {reason}")?;
        }
    }
    let unknown: Vec<&AssetCoverage> = assets
        .iter()
        .filter(|a| !a.unknown_values.is_empty())
        .collect();
    if !unknown.is_empty() {
        writeln!(
            out,
            "\nUnknown tag values ({})",
            plural(unknown.len(), "asset", "assets")
        )?;
        for a in unknown {
            writeln!(out, "  {}  {}", a.arn, unknown_values(a))?;
        }
    }
    Ok(out)
}

fn unknown_values(a: &AssetCoverage) -> String {
    a.unknown_values
        .iter()
        .map(|u| format!("{}={:?}", u.key, u.value))
        .collect::<Vec<_>>()
        .join(" ")
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
        "rpo_breached",
        "protected",
        "dr_copy",
        "pitr_or_versioning",
        "locked",
        "encrypted",
        "compliant",
    ];
    header.extend(Control::ALL.map(Control::as_str));
    header.extend(["exceptions", "unknown_values"]);
    out.write_record(&header)?;
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    for a in assets {
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
            a.latest_age.map(|d| d.to_string()).unwrap_or_default(),
            a.rpo.map(|d| d.to_string()).unwrap_or_default(),
            a.rpo_breached.to_string(),
            a.protected.to_string(),
            a.dr_copy.to_string(),
            flag(a.pitr_or_versioning),
            a.locked.to_string(),
            flag(a.encrypted),
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
        out.write_record(&record)?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

/// Text made safe for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

fn html(report: &CoverageReport, assets: &[AssetCoverage]) -> Result<String, fmt::Error> {
    let mut out = String::new();
    let generated = escape(&timestamp(report.generated_at));
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Bulwark coverage report, {generated}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body>\n<main>\n<header>\n<h1>Data protection coverage</h1>\n\
         <p class=\"muted\">Generated {generated} by Bulwark</p>\n</header>\n"
    )?;
    html_headline(&mut out, report)?;
    html_tiers(&mut out, report)?;
    html_ages(&mut out, report)?;
    html_matrix(&mut out, report)?;
    html_exceptions(&mut out, report)?;
    html_unknown(&mut out, assets)?;
    write!(
        out,
        "<footer>Bulwark coverage report, generated {generated}. Protected means selected by a \
         backup plan with a recovery point within the tier's RPO.</footer>\n</main>\n</body>\n</html>\n"
    )?;
    Ok(out)
}

fn card(out: &mut String, class: &str, value: &str, label: &str) -> fmt::Result {
    let class = format!("card {class}");
    writeln!(
        out,
        "<div class=\"{}\"><span class=\"value\">{}</span><span class=\"muted\">{}</span></div>",
        class.trim_end(),
        escape(value),
        escape(label)
    )
}

fn html_headline(out: &mut String, report: &CoverageReport) -> fmt::Result {
    let t = &report.totals;
    let alarm = |n: usize| if n == 0 { "ok" } else { "bad" };
    out.push_str("<section class=\"headline\">\n");
    card(
        out,
        &format!("big {}", grade(t.coverage_percent)),
        &percent(t.coverage_percent),
        "of backup-required assets protected",
    )?;
    card(
        out,
        "",
        &format!("{} / {}", t.protected, t.backup_required),
        "protected / backup-required",
    )?;
    card(out, "", &t.assets.to_string(), "assets in the inventory")?;
    card(
        out,
        alarm(t.rpo_breaches),
        &t.rpo_breaches.to_string(),
        "RPO breaches",
    )?;
    card(
        out,
        alarm(t.non_compliant),
        &t.non_compliant.to_string(),
        "non-compliant assets",
    )?;
    out.push_str("</section>\n");
    Ok(())
}

/// A horizontal bar of `p` percent.
fn bar(p: f64) -> String {
    let width = p.clamp(0.0, 100.0);
    format!(
        "<svg viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{label}\">\
         <rect class=\"track\" width=\"100\" height=\"10\"/><rect class=\"{}\" width=\"{width:.2}\" height=\"10\"/></svg>",
        grade(p),
        label = escape(&format!("{} covered", percent(p)))
    )
}

fn html_tiers(out: &mut String, report: &CoverageReport) -> fmt::Result {
    out.push_str(
        "<section>\n<h2>Coverage by tier</h2>\n<table>\n<tr><th>Tier</th><th>Coverage</th>\
         <th class=\"num\"></th><th class=\"num\">Protected</th><th class=\"num\">RPO breaches</th>\
         <th class=\"num\">Non-compliant</th></tr>\n",
    );
    for (tier, g) in tiers(report).filter(|(_, g)| g.backup_required > 0) {
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"bar\">{}</td><td class=\"num {}\">{}</td>\
             <td class=\"num\">{} / {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(tier),
            bar(g.coverage_percent),
            grade(g.coverage_percent),
            percent(g.coverage_percent),
            g.protected,
            g.backup_required,
            g.rpo_breaches,
            g.non_compliant
        )?;
    }
    out.push_str("</table>\n");
    if let Some(g) = report.by_tier.get(NOT_BACKED_UP) {
        writeln!(
            out,
            "<p class=\"muted small\">{} not backed up by classification (reproducible, or \
             excluded by a rule), so not counted.</p>",
            plural(g.assets, "asset is", "assets are")
        )?;
    }
    out.push_str("</section>\n");
    Ok(())
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
fn stacked(h: &AgeHistogram) -> String {
    let total = h.total().max(1) as f64;
    let mut x = 0.0;
    let mut svg = String::from(
        "<svg viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"recovery-point age against RPO\"><rect class=\"track\" width=\"100\" height=\"10\"/>",
    );
    for ((class, label), n) in AGE_BUCKETS.iter().zip(buckets(h)) {
        if n == 0 {
            continue;
        }
        let width = n as f64 * 100.0 / total;
        svg.push_str(&format!(
            "<rect class=\"{class}\" x=\"{x:.2}\" width=\"{width:.2}\" height=\"10\"><title>{}</title></rect>",
            escape(&format!("{n}: {label}"))
        ));
        x += width;
    }
    svg.push_str("</svg>");
    svg
}

fn html_ages(out: &mut String, report: &CoverageReport) -> fmt::Result {
    out.push_str(
        "<section>\n<h2>Recovery-point age against RPO</h2>\n<p class=\"muted small\">Each \
         backup-required asset by the age of its latest recovery point, as a share of its \
         tier's RPO.</p>\n<table>\n<tr><th>Tier</th><th>Distribution</th>",
    );
    for (class, label) in AGE_BUCKETS {
        write!(
            out,
            "<th class=\"num\"><span class=\"sw {class}\"></span>{}</th>",
            escape(label)
        )?;
    }
    out.push_str("</tr>\n");
    for tier in &report.tier_order {
        let Some(h) = report.age_histogram.get(tier) else {
            continue;
        };
        write!(
            out,
            "<tr><td>{}</td><td class=\"bar\">{}</td>",
            escape(tier),
            stacked(h)
        )?;
        for n in buckets(h) {
            write!(out, "<td class=\"num\">{n}</td>")?;
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</section>\n");
    Ok(())
}

fn html_matrix(out: &mut String, report: &CoverageReport) -> fmt::Result {
    out.push_str(
        "<section>\n<h2>Tier × kind</h2>\n<p class=\"muted small\">Protected of \
         backup-required assets.</p>\n<table>\n<tr><th>Tier</th>",
    );
    for kind in Kind::ALL {
        write!(out, "<th class=\"num\">{kind}</th>")?;
    }
    out.push_str("</tr>\n");
    for (tier, _) in tiers(report).filter(|(_, g)| g.backup_required > 0) {
        write!(out, "<tr><td>{}</td>", escape(tier))?;
        let kinds = report.by_tier_and_kind.get(tier);
        for kind in Kind::ALL {
            match kinds
                .and_then(|k| k.get(&kind))
                .filter(|g| g.backup_required > 0)
            {
                None => out.push_str("<td class=\"none\">–</td>"),
                Some(g) => write!(
                    out,
                    "<td class=\"cell {}\" title=\"{}\">{} / {}</td>",
                    grade(g.coverage_percent),
                    escape(&percent(g.coverage_percent)),
                    g.protected,
                    g.backup_required
                )?,
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</section>\n");
    Ok(())
}

fn html_exceptions(out: &mut String, report: &CoverageReport) -> fmt::Result {
    writeln!(
        out,
        "<section>\n<h2>Exceptions ({})</h2>",
        report.exceptions.len()
    )?;
    if report.exceptions.is_empty() {
        out.push_str("<p>Every asset meets every control that applies to it.</p>\n</section>\n");
        return Ok(());
    }
    out.push_str("<table>\n<tr><th>Asset</th><th>Tier</th><th>Reasons</th></tr>\n");
    for e in &report.exceptions {
        write!(
            out,
            "<tr><td>{} <span class=\"muted\">{}</span><div class=\"arn\">{}</div></td><td>{}</td>\
             <td><ul class=\"reasons\">",
            escape(&e.name),
            e.kind,
            escape(&e.arn),
            escape(e.tier.as_deref().unwrap_or(NOT_BACKED_UP))
        )?;
        for reason in &e.reasons {
            write!(out, "<li>{}</li>", escape(reason))?;
        }
        out.push_str("</ul></td></tr>\n");
    }
    out.push_str("</table>\n</section>\n");
    Ok(())
}

fn html_unknown(out: &mut String, assets: &[AssetCoverage]) -> fmt::Result {
    let unknown: Vec<&AssetCoverage> = assets
        .iter()
        .filter(|a| !a.unknown_values.is_empty())
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section>\n<h2>Unknown tag values ({})</h2>\n<p class=\"muted small\">Values no \
         classification rule knows: ignored, and classification fell through to the next \
         rule.</p>\n<table>\n<tr><th>Asset</th><th>Tier</th><th>Tags</th></tr>",
        unknown.len()
    )?;
    for a in unknown {
        writeln!(
            out,
            "<tr><td>{}<div class=\"arn\">{}</div></td><td>{}</td><td>{}</td></tr>",
            escape(&a.name),
            escape(&a.arn),
            escape(a.tier.as_deref().unwrap_or(NOT_BACKED_UP)),
            escape(&unknown_values(a))
        )?;
    }
    out.push_str("</table>\n</section>\n");
    Ok(())
}

#[cfg(test)]
mod tests;
