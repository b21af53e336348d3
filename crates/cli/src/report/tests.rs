//! The report's renderings of one small, hostile estate.

use super::*;
use bulwark_core::backup_cost::StorageCost;
use bulwark_core::legal_hold::HoldReport;
use bulwark_core::Kind;
use bulwark_core::{
    evaluate, summarize, AccountId, Asset, Attributes, Config, Evidence, RecoveryPoint, Region,
    ResourceArn, RestoreTest,
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

/// A small estate: a hostile name, an unknown tag value, a store not backed up, stores with
/// and without backups, and restore tests: the critical store's last one failed before it
/// measured anything, the important one's passed, the standard one was never tested.
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
            size_bytes: None,
            cold: false,
        }],
        last_restore_test: Some(RestoreTest {
            completed: now() - chrono::Duration::hours(3),
            duration: Duration::from_minutes(4),
            succeeded: true,
            rpo: Some(Duration::from_minutes(125)),
            reason: None,
        }),
        ..selected.clone()
    };
    let failed = Evidence {
        last_restore_test: Some(RestoreTest {
            completed: now() - chrono::Duration::minutes(30),
            duration: Duration::ZERO,
            succeeded: false,
            rpo: None,
            reason: Some("no completed recovery point <in eu-west-1>".into()),
        }),
        ..Evidence::default()
    };
    let assets = [
        (
            asset(Kind::Rds, "<script>alert('x')</script>", &[("Env", "prod")]),
            failed,
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
    render(
        &report,
        &assets,
        None,
        &StorageCost::default(),
        &HoldReport::default(),
        format,
    )
    .expect("renders")
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
    let html = render(
        &report,
        &assets,
        None,
        &StorageCost::default(),
        &HoldReport::default(),
        ReportFormat::Html,
    )
    .expect("renders");
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
fn a_last_test_reads_as_its_verdict_and_rto_and_rpo_against_the_tiers() {
    let (_, assets) = estate();
    let words: Vec<LastTest> = assets.iter().map(last_test).collect();
    let expected = |verdict: &str, passed, rto: Option<&str>, rpo: Option<&str>| LastTest {
        verdict: verdict.into(),
        passed,
        rto: rto.map(str::to_string),
        rpo: rpo.map(str::to_string),
    };
    assert_eq!(
        words,
        [
            // Failed before it restored anything: no RTO, no RPO.
            expected("failed 2025-06-01 11:30 UTC", Some(false), None, None),
            expected("no test yet", None, None, None),
            expected("no test yet", None, None, None),
            expected(
                "passed 2025-06-01 09:00 UTC",
                Some(true),
                Some("RTO 4m / 4h"),
                Some("RPO 2h 5m / 4h")
            ),
        ]
    );
}

#[test]
fn html_shows_each_backed_up_stores_last_restore_test_in_tier_order() {
    let html = rendered(ReportFormat::Html);
    let section = &html[html.find("<h2>Restore tests</h2>").expect("the section")..];
    let section = &section[..section.find("</table>").expect("its table's end")];
    assert!(section.contains("2 of 3 backed-up stores tested, 1 failing."));
    // The store not backed up has no row.
    assert!(!section.contains("vol-1"));
    let rows: Vec<&str> = section.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 3, "{section}");
    assert!(rows[0].contains("&lt;script&gt;"));
    assert!(
        rows[0].ends_with(
            "<td>critical</td><td class=\"bad\">failed 2025-06-01 11:30 UTC</td><td>–</td>\
         <td>–</td><td class=\"bad\" title=\"the last restore test, completed 2025-06-01 11:30 \
         UTC, failed: no completed recovery point &lt;in eu-west-1&gt;\">non-compliant</td></tr>"
        ),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains("orders"));
    assert!(
        rows[1].ends_with(
            "<td>important</td><td class=\"ok\">passed 2025-06-01 09:00 UTC</td>\
         <td>RTO 4m / 4h</td><td>RPO 2h 5m / 4h</td><td class=\"ok\">compliant</td></tr>"
        ),
        "{}",
        rows[1]
    );
    assert!(rows[2].contains("ledger"));
    assert!(
        rows[2].ends_with(
            "<td>standard</td><td class=\"muted\">no test yet</td><td>–</td><td>–</td>\
         <td class=\"muted\" title=\"no restore test yet; tier standard's RTO of 1d leaves \
         room for an untimed restore\">not applicable</td></tr>"
        ),
        "{}",
        rows[2]
    );
}

#[test]
fn the_tables_exceptions_show_each_stores_last_restore_test() {
    let table = rendered(ReportFormat::Table);
    assert!(table.contains("last restore test"));
    assert!(table.contains("failed 2025-06-01 11:30 UTC"));
    assert!(table.contains("no test yet"));
    assert!(table.contains("RTO 4m / 4h") && table.contains("RPO 2h 5m / 4h"));
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
    let test = |row: usize| {
        [
            "rto",
            "last_restore_test",
            "last_restore_test_passed",
            "measured_rto",
            "measured_rpo",
        ]
        .map(|column| rows[row][at(column)].to_string())
    };
    assert_eq!(
        test(0),
        ["1h", "2025-06-01T11:30:00+00:00", "false", "", ""]
    );
    assert_eq!(test(1), ["1d", "", "", "", ""]);
    assert_eq!(test(2), ["", "", "", "", ""]);
    assert_eq!(
        test(3),
        ["4h", "2025-06-01T09:00:00+00:00", "true", "4m", "125m"]
    );
}

#[test]
fn json_holds_the_summary_and_every_asset() {
    let (report, assets) = estate();
    let text = render(
        &report,
        &assets,
        None,
        &StorageCost::default(),
        &HoldReport::default(),
        ReportFormat::Json,
    )
    .expect("renders");
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

/// One application ready, one critical store blocked by a blocker naming a hostile key, one
/// store ready.
fn readiness() -> Readiness {
    let dr = Region::parse("eu-central-1").expect("region");
    let ready = |subject: &str, tier: Option<&str>, ok: bool, blockers: Vec<String>| Ready {
        subject: subject.to_string(),
        tier: tier.map(str::to_string),
        dr_region: dr.clone(),
        ready: ok,
        blockers,
        warnings: Vec::new(),
        data_loss: Some(Duration::from_minutes(50)),
        expected_rto: ok.then(|| Duration::from_minutes(12)),
    };
    Readiness {
        computed_at: now(),
        applications: vec![ready("payments", None, true, Vec::new())],
        stores: vec![
            ready(
                "arn:aws:dynamodb:eu-west-1:123456789012:table/ready",
                Some("critical"),
                true,
                Vec::new(),
            ),
            ready(
                "arn:aws:dynamodb:eu-west-1:123456789012:table/blocked",
                Some("critical"),
                false,
                vec!["the copy's key <script>k</script> cannot be used in the DR region".into()],
            ),
        ],
    }
}

#[test]
fn both_renderings_show_each_application_and_each_store_not_ready() {
    let (report, assets) = estate();
    let readiness = readiness();
    let text = render(
        &report,
        &assets,
        Some(&readiness),
        &StorageCost::default(),
        &HoldReport::default(),
        ReportFormat::Table,
    )
    .expect("renders");
    assert!(text.contains("Failover readiness"), "{text}");
    assert!(text.contains("1 of 1 applications and 1 of 2 stores with a cross-region copy ready"));
    assert!(text.contains("1 critical not ready"));
    assert!(text.contains("table/blocked"));
    assert!(
        !text.contains("table/ready "),
        "only stores not ready are listed"
    );
    let html = render(
        &report,
        &assets,
        Some(&readiness),
        &StorageCost::default(),
        &HoldReport::default(),
        ReportFormat::Html,
    )
    .expect("renders");
    assert!(html.contains("Failover readiness"));
    assert!(html.contains("&lt;script&gt;k&lt;/script&gt;"));
    assert!(!html.contains("<script>k"));
    let json: serde_json::Value = serde_json::from_str(
        &render(
            &report,
            &assets,
            Some(&readiness),
            &StorageCost::default(),
            &HoldReport::default(),
            ReportFormat::Json,
        )
        .expect("renders"),
    )
    .expect("json");
    assert_eq!(
        json["readiness"]["stores"].as_array().map(Vec::len),
        Some(2)
    );
    let never = rendered(ReportFormat::Table);
    assert!(never.contains("Failover readiness: not computed yet"));
}
