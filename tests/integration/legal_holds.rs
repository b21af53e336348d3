//! Legal holds (`bulwark legal-hold`): a tier's recovery points held at home and, for a tier
//! that copies, in the DR region (a copy does not carry its source's hold); nothing placed
//! twice; a held point cannot be deleted until the hold is released; the report lists holds;
//! a hold on a store Bulwark does not know is refused before any call.

use bulwark_core::legal_hold::{HoldRequest, HoldSelection};
use bulwark_core::Config;
use chrono::NaiveDate;
use serde_json::Value;

use crate::cli::bulwark_on;
use crate::harness::{TestAccount, HOME_REGION, TABLE};
use crate::restore::{assert_declared_for_cli, backed_up_estate, dr_region, wait_for_points_in};

/// The ARNs of `resource`'s recovery points in Bulwark's vault of `region`.
async fn points_of(t: &TestAccount, region: &str, resource: &str) -> Vec<String> {
    t.backup(region)
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("bulwark")
        .send()
        .await
        .expect("points")
        .recovery_points()
        .iter()
        .filter(|p| p.resource_arn() == Some(resource))
        .filter_map(|p| p.recovery_point_arn().map(str::to_string))
        .collect()
}

/// Delete `point` as the backup admin: the only role the vault's guard lets delete points.
async fn delete(
    admin: &bulwark_aws::Aws,
    t: &TestAccount,
    region: &str,
    point: &str,
) -> Result<(), String> {
    let scope = bulwark_core::Scope {
        account: t.account.clone(),
        region: bulwark_core::Region::parse(region).expect("a region"),
    };
    admin
        .home_scope(scope)
        .backup
        .delete_recovery_point()
        .backup_vault_name("bulwark")
        .recovery_point_arn(point)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{:?}", e.into_service_error()))
}

async fn holds_in(t: &TestAccount, region: &str) -> usize {
    t.backup(region)
        .list_legal_holds()
        .send()
        .await
        .expect("holds")
        .legal_holds()
        .len()
}

fn cli(t: &TestAccount, args: &[&str]) -> (bool, String, String) {
    let out = bulwark_on(t, TABLE, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_tiers_points_are_held_at_home_and_in_the_dr_region_until_released() {
    // Given critical stores backed up at home and copied to the DR region
    let t = TestAccount::new().await;
    let (table, bucket) = backed_up_estate(&t, 3, 1).await;
    let dr = dr_region();
    wait_for_points_in(&t, &dr, &[&table, &bucket]).await;
    let critical: Vec<String> = t
        .stored()
        .await
        .iter()
        .filter(|a| a.classification.as_ref().and_then(|c| c.tier.as_deref()) == Some("critical"))
        .map(|a| a.arn.to_string())
        .collect();
    assert!(critical.contains(&table.arn.to_string()));
    let (mut home_points, mut dr_points) = (Vec::new(), Vec::new());
    for store in &critical {
        home_points.extend(points_of(&t, HOME_REGION, store).await);
        dr_points.extend(points_of(&t, &dr, store).await);
    }
    assert!(!home_points.is_empty() && !dr_points.is_empty());

    // When the critical tier is held, with a review date already passed
    let request = HoldRequest {
        selection: HoldSelection::Tier("critical".into()),
        reason: "matter 2026-114".into(),
        until: NaiveDate::from_ymd_opt(2026, 1, 31),
    };
    let aws = t.aws();
    let placed = bulwark_aws::legal_hold::place(
        &aws,
        &t.inventory(&aws).await,
        &Config::builtin(),
        None,
        &request,
    )
    .await
    .expect("placed");
    assert_declared_for_cli(&aws);

    // Then one hold is placed in each region, on the table's points there
    assert!(placed.failures.is_empty(), "{:?}", placed.failures);
    let mut regions: Vec<(String, usize, bool)> = placed
        .placed
        .iter()
        .map(|p| (p.placement.region.to_string(), p.points, p.already))
        .collect();
    regions.sort();
    let mut expected = vec![
        (HOME_REGION.to_string(), home_points.len(), false),
        (dr.clone(), dr_points.len(), false),
    ];
    expected.sort();
    assert_eq!(regions, expected);
    // And a copy cannot be deleted, not even by the backup admin after removing the DR
    // vault's governance lock
    let admin = crate::iam::all_powerful_role(&t, "BulwarkBackupAdmin").await;
    let dr_scope = bulwark_core::Scope {
        account: t.account.clone(),
        region: bulwark_core::Region::parse(&dr).expect("a region"),
    };
    admin
        .home_scope(dr_scope)
        .backup
        .delete_backup_vault_lock_configuration()
        .backup_vault_name("bulwark")
        .send()
        .await
        .expect("the governance lock removed");
    let refused = delete(&admin, &t, &dr, &dr_points[0])
        .await
        .expect_err("held");
    assert!(refused.contains("legal hold"), "{refused}");

    // When the same hold is asked for again, from the CLI
    let (ok, out, err) = cli(
        &t,
        &[
            "legal-hold",
            "create",
            "--tier",
            "critical",
            "--reason",
            "matter 2026-114",
            "--until",
            "2026-01-31",
            "--format",
            "json",
        ],
    );
    assert!(ok, "{out}{err}");
    let again: Value = serde_json::from_str(&out).expect("json");

    // Then nothing more is placed
    assert_eq!(again["name"], placed.key.to_string());
    assert!(again["placed"]
        .as_array()
        .expect("placed")
        .iter()
        .all(|p| p["already_placed"] == true));
    assert_eq!(holds_in(&t, HOME_REGION).await, 1);
    assert_eq!(holds_in(&t, &dr).await, 1);

    // And the report lists the hold, its points, and that its review is due
    let (ok, out, err) = cli(&t, &["report", "--format", "json"]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).expect("json");
    let hold = &report["legal_holds"]["holds"][0];
    assert_eq!(hold["name"], placed.key.to_string());
    assert_eq!(hold["holding"], true);
    assert_eq!(hold["review_due"], true);
    assert_eq!(hold["points"], home_points.len() + dr_points.len());
    assert_eq!(hold["places"].as_array().map(Vec::len), Some(2));

    // When it is released
    let key = placed.key.to_string();
    let (ok, out, err) = cli(&t, &["legal-hold", "release", &key, "--reason", "settled"]);
    assert!(ok, "{out}{err}");

    // Then the points can be deleted again, and the list shows the hold released
    delete(&admin, &t, &dr, &dr_points[0])
        .await
        .expect("deleted");
    let (ok, out, err) = cli(&t, &["legal-hold", "list"]);
    assert!(ok, "{err}");
    assert!(out.contains(&key) && out.contains("released"), "{out}");
    // And releasing it again finds nothing to release
    let (ok, _, err) = cli(&t, &["legal-hold", "release", &key, "--reason", "settled"]);
    assert!(!ok);
    assert!(err.contains("no active legal hold"), "{err}");
}

#[tokio::test]
async fn a_hold_on_a_store_bulwark_does_not_know_is_refused_and_places_nothing() {
    // Given an account whose inventory has a backed-up table
    let t = TestAccount::new().await;
    backed_up_estate(&t, 1, 1).await;
    let unknown = format!(
        "arn:aws:dynamodb:{HOME_REGION}:{}:table/not-inventoried",
        t.account
    );

    // When a hold names a table the inventory does not have, a malformed ARN, or an
    // unknown tier
    let cases: [(&[&str], &str); 3] = [
        (&["--arn", &unknown], "not in the inventory"),
        (&["--arn", "arn:aws:dynamodb:nowhere"], "--arn"),
        (&["--tier", "gold"], "unknown tier"),
    ];
    for (selection, expected) in cases {
        let mut args = vec!["legal-hold", "create", "--reason", "matter"];
        args.extend_from_slice(selection);
        let (ok, _, err) = cli(&t, &args);

        // Then each is refused with a clear error
        assert!(!ok, "{selection:?}");
        assert!(err.contains(expected), "{selection:?}: {err}");
    }
    // And no hold exists anywhere
    assert_eq!(holds_in(&t, HOME_REGION).await, 0);
    assert_eq!(holds_in(&t, &dr_region()).await, 0);
}
