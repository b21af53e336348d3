//! The report's renderings of one small, hostile estate.

use super::*;
use bulwark_core::Kind;
use bulwark_core::{
    evaluate, summarize, AccountId, Asset, Attributes, Config, Evidence, RecoveryPoint, Region,
    ResourceArn,
};
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn asset(kind: Kind, name: &str, tags: &[(&str, &str)]) -> Asset {
    let region = Region::parse("eu-west-1").expect("region");
    let account = AccountId::parse("123456789012").expect("account");
    let arn = ResourceArn::new(kind, "aws", &region, &account, name);
    let tags = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Asset::observed(arn, account, region, tags, Attributes::default(), now())
}

/// A small estate: a hostile name, an unknown tag value, a store not backed up, and
/// stores with and without backups.
fn estate() -> (CoverageReport, Vec<AssetCoverage>) {
    let config = Config::builtin();
    let selected = Evidence {
        selected_by: vec!["bulwark-standard".into()],
        ..Evidence::default()
    };
    let backed_up = Evidence {
        recovery_points: vec![RecoveryPoint {
            arn: "arn:aws:backup:eu-west-1:123456789012:recovery-point:1".into(),
            resource_arn: "arn:aws:dynamodb:eu-west-1:123456789012:table/orders".into(),
            vault_name: "bulwark".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            created: now() - chrono::Duration::hours(2),
            status: "COMPLETED".into(),
            encrypted: true,
            kms_key_arn: None,
            delete_after_days: Some(365),
            move_to_cold_after_days: None,
            continuous: false,
            vault_locked: false,
            vault_lock_min_retention_days: None,
            vault_denies_manual_deletion: true,
            logically_air_gapped: false,
        }],
        ..selected.clone()
    };
    let assets = [
        (
            asset(Kind::Rds, "<script>alert('x')</script>", &[("Env", "prod")]),
            Evidence::default(),
        ),
        (
            asset(
                Kind::S3,
                "ledger",
                &[("DataClassification", "\"><b>secret")],
            ),
            selected,
        ),
        (
            asset(Kind::Ebs, "vol-1", &[("Environment", "sandbox")]),
            Evidence::default(),
        ),
        (asset(Kind::Dynamodb, "orders", &[]), backed_up),
    ];
    let coverage: Vec<AssetCoverage> = assets
        .iter()
        .map(|(a, e)| evaluate(&config, a, e, now()))
        .collect();
    (summarize(&coverage, now()), coverage)
}

fn rendered(format: ReportFormat) -> String {
    let (report, assets) = estate();
    render(&report, &assets, format).expect("renders")
}

#[test]
fn html_is_one_self_contained_file() {
    let html = rendered(ReportFormat::Html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for reference in [
        "http", "src=", "href=", "url(", "@import", "<script", "<link",
    ] {
        assert!(!html.contains(reference), "{reference} in the page");
    }
}

#[test]
fn html_tags_are_balanced() {
    let html = rendered(ReportFormat::Html);
    for tag in [
        "html", "head", "body", "main", "header", "footer", "section", "table", "tr", "td", "th",
        "svg", "ul", "li", "style", "title",
    ] {
        let open =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        let close = html.matches(&format!("</{tag}>")).count();
        assert!(open > 0, "no <{tag}>");
        assert_eq!(open, close, "<{tag}> opened {open} times, closed {close}");
    }
}

#[test]
fn html_escapes_every_text() {
    let html = rendered(ReportFormat::Html);
    // maud leaves ' as it is: it quotes every attribute value with ", which it escapes.
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;b&gt;secret"));
    assert!(!html.contains("<b>"));
    assert_eq!(
        maud::html! { span title=(r#"a & b < c > d "e" 'f'"#) { (r#"a & b < c > d "e" 'f'"#) } }
            .into_string(),
        r#"<span title="a &amp; b &lt; c &gt; d &quot;e&quot; 'f'">a &amp; b &lt; c &gt; d &quot;e&quot; 'f'</span>"#
    );
}

#[test]
fn html_shows_the_headline_tiers_ages_matrix_and_exceptions() {
    let (report, assets) = estate();
    let html = render(&report, &assets, ReportFormat::Html).expect("renders");
    assert!(html.contains(&percent(report.totals.coverage_percent)));
    for heading in [
        "Coverage by tier",
        "Recovery-point age against RPO",
        "Tier × kind",
        &format!("Exceptions ({})", report.exceptions.len()),
        "Unknown tag values (1)",
        "Generated 2025-06-01 12:00:00 UTC",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    assert!(html.contains("not selected by any backup plan"));
}

#[test]
fn csv_has_a_header_and_a_row_per_asset() {
    let (_, assets) = estate();
    let text = rendered(ReportFormat::Csv);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("header").clone();
    assert_eq!(&header[0], "arn");
    assert!(header
        .iter()
        .any(|h| h == "BACKUP_LAST_RECOVERY_POINT_CREATED"));
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), assets.len());
    let at = |name: &str| header.iter().position(|h| h == name).expect("column");
    assert_eq!(&rows[0][at("name")], "<script>alert('x')</script>");
    assert_eq!(
        &rows[0][at("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN")],
        "non-compliant"
    );
    assert_eq!(
        &rows[2][at("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN")],
        "not-applicable"
    );
}

#[test]
fn json_holds_the_summary_and_every_asset() {
    let (report, assets) = estate();
    let text = render(&report, &assets, ReportFormat::Json).expect("renders");
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(value["assets"].as_array().map(Vec::len), Some(assets.len()));
    assert_eq!(value["summary"]["totals"]["assets"], assets.len());
    assert!(value["summary"]["by_kind"]["rds"].is_object());
}

#[test]
fn the_table_lists_tiers_kinds_and_every_exception_with_its_reasons() {
    let (report, _) = estate();
    let table = rendered(ReportFormat::Table);
    assert!(table.starts_with("Coverage: "));
    assert!(table.contains("\nBy tier"));
    assert!(table.contains("\nBy kind"));
    assert!(table.contains(&format!(
        "Non-compliant assets ({})",
        report.exceptions.len()
    )));
    for e in &report.exceptions {
        assert!(table.contains(&e.arn));
        for reason in &e.reasons {
            assert!(table.contains(reason), "{reason}");
        }
    }
    assert!(table.contains("Unknown tag values (1 asset)"));
}

#[test]
fn percentages_round_down() {
    assert_eq!(percent(99.96), "99.9%");
    assert_eq!(percent(100.0), "100.0%");
    assert_eq!(percent(0.0), "0.0%");
}
