//! The `bulwark` command, run as a user runs it, against the local AWS.

use std::process::{Command, Output};

use serde_json::Value;

use crate::harness::{TestAccount, HOME_REGION, OTHER_REGION};
use crate::seed;

/// The state table the CLI tests use.
pub(crate) const CLI_TABLE: &str = "bulwark-cli-test";

fn bulwark(t: &TestAccount, args: &[&str]) -> Output {
    bulwark_on(t, CLI_TABLE, args)
}

/// The CLI run in `t`'s account on the state table `table`: the tests that set their estate
/// up through the library share the harness's table with it. A `failover` command runs where an
/// engineer runs it, in the applications' DR region (its lock and record are written in the
/// state table's replica there); every other command in the home region.
pub(crate) fn bulwark_on(t: &TestAccount, table: &str, args: &[&str]) -> Output {
    let region = region_of(args);
    if region != HOME_REGION {
        crate::harness::replicated();
    }
    Command::new(crate::harness::bulwark_bin())
        .args(args)
        .env_remove("BULWARK_CONFIG")
        .env_remove("BULWARK_ORG_ROLE")
        .envs(t.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("BULWARK_TABLE", table)
        .env("AWS_REGION", region)
        .output()
        .expect("bulwark runs")
}

/// Where the CLI runs `args`: a failover command in the DR region (but a failback's execute,
/// driven from the primary region, its DR region), the rest at home.
pub(crate) fn region_of(args: &[&str]) -> &'static str {
    if args.contains(&"failover") && args.contains(&"execute") && args.contains(&"--failback") {
        HOME_REGION
    } else if args.contains(&"failover") {
        crate::failover::DR_REGION
    } else {
        HOME_REGION
    }
}

pub(crate) fn ok(t: &TestAccount, args: &[&str]) -> String {
    ok_on(t, CLI_TABLE, args)
}

/// The CLI on the state table `table`, which must succeed; its standard output.
pub(crate) fn ok_on(t: &TestAccount, table: &str, args: &[&str]) -> String {
    let out = bulwark_on(t, table, args);
    assert!(
        out.status.success(),
        "bulwark {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

pub(crate) fn fails(t: &TestAccount, args: &[&str]) -> String {
    let out = bulwark(t, args);
    assert!(!out.status.success(), "bulwark {args:?} should fail");
    String::from_utf8(out.stderr).expect("utf-8")
}

#[tokio::test]
async fn init_discover_classify_inventory_and_explain() {
    let t = TestAccount::new().await;
    seed::table(&t, HOME_REGION, "customer-profiles", &[]).await;
    seed::table(&t, OTHER_REGION, "session-cache", &[]).await;
    seed::rds_instance(
        &t,
        OTHER_REGION,
        "ledger",
        &[("DataClassification", " Restricted ")],
    )
    .await;
    seed::bucket(
        &t,
        HOME_REGION,
        &format!("exports-{}", t.account),
        &[("dataclassification", "supersecret")],
    )
    .await;

    assert!(ok(&t, &["init"]).contains("created table bulwark-cli-test"));
    assert!(ok(&t, &["init"]).contains("table exists"));
    let discovered: Value =
        serde_json::from_str(&ok(&t, &["discover", "--format", "json"])).expect("json");
    assert_eq!(discovered["seen"], 5, "{discovered}");
    ok(&t, &["classify"]);

    let inventory: Value =
        serde_json::from_str(&ok(&t, &["inventory", "--format", "json"])).expect("json");
    let rows = inventory.as_array().expect("one JSON array");
    assert_eq!(rows.len(), 5);
    for row in rows {
        for field in [
            "arn",
            "kind",
            "account",
            "region",
            "name",
            "tags",
            "tier",
            "backup_required",
            "reproducible",
            "rule",
            "reasons",
            "unknown_values",
            "state",
        ] {
            assert!(row.get(field).is_some(), "{field} missing in {row}");
        }
    }
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(row("ledger")["tier"], "critical");
    assert_eq!(row("customer-profiles")["tier"], "important");
    assert_eq!(row("session-cache")["tier"], Value::Null);
    assert_eq!(row("session-cache")["reproducible"], true);
    let exports = row(&format!("exports-{}", t.account));
    assert_eq!(exports["unknown_values"][0]["value"], "supersecret");
    assert_eq!(exports["tier"], "standard");

    let critical: Value = serde_json::from_str(&ok(
        &t,
        &["inventory", "--format", "json", "--tier", "critical"],
    ))
    .expect("json");
    assert_eq!(critical.as_array().map(Vec::len), Some(1));
    let dynamo: Value = serde_json::from_str(&ok(
        &t,
        &["inventory", "--format", "json", "--kind", "dynamodb"],
    ))
    .expect("json");
    assert_eq!(dynamo.as_array().map(Vec::len), Some(3));
    let csv = ok(&t, &["inventory", "--format", "csv"]);
    assert!(csv.starts_with("arn,kind,account,region,name,tier,"));
    assert_eq!(csv.lines().count(), 6);
    let table = ok(&t, &["inventory"]);
    assert!(
        table.contains("== critical (1 stores)") && table.contains("unknown value"),
        "{table}"
    );

    let ledger_arn = format!("arn:aws:rds:{OTHER_REGION}:{}:db:ledger", t.account);
    let explained = ok(&t, &["explain", &ledger_arn]);
    assert!(explained.contains("tier:    critical"), "{explained}");
    assert!(explained.contains("DataClassification"), "{explained}");

    // Bad input: a clear error, a non-zero exit.
    assert!(
        fails(&t, &["explain", "arn:aws:sqs:us-east-1:123456789012:q"]).contains("invalid ARN")
    );
    assert!(fails(
        &t,
        &[
            "explain",
            &format!("arn:aws:rds:{OTHER_REGION}:{}:db:nope", t.account)
        ]
    )
    .contains("not in the inventory"));
    assert!(fails(&t, &["inventory", "--tier", "platinum"]).contains("unknown tier"));
    assert!(fails(&t, &["inventory", "--kind", "redshift"]).contains("redshift"));
}

#[tokio::test]
async fn a_bad_configuration_file_is_refused_with_its_line() {
    let t = TestAccount::new().await;
    let dir = std::env::temp_dir().join(format!("bulwark-cli-{}", t.account));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bulwark.toml");
    std::fs::write(&file, "[tiers.gold]\nrpo = \"1h\"\nrto = \"2h\"\nfrequency = \"every so often\"\nretention = \"1y\"\n")
        .expect("write");
    let err = fails(
        &t,
        &["--config", file.to_str().expect("path"), "feasibility"],
    );
    assert!(err.contains("bulwark.toml:4"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn feasibility_reports_every_tier_and_kind() {
    let t = TestAccount::new().await;
    let out = ok(&t, &["feasibility", "--format", "json"]);
    let findings: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(findings.as_array().map(Vec::len), Some(4 * 6));
}

#[tokio::test]
async fn a_configuration_aws_would_reject_is_refused_before_any_call() {
    let t = TestAccount::new().await;
    let dir = std::env::temp_dir().join(format!("bulwark-cli-lock-{}", t.account));
    std::fs::create_dir_all(&dir).expect("dir");
    let builtin = bulwark_core::config::BUILTIN_TOML;
    // A compliance lock the file does not explicitly allow: it could never be undone.
    let file = dir.join("bulwark.toml");
    std::fs::write(
        &file,
        builtin.replacen("mode = \"governance\"", "mode = \"compliance\"", 1),
    )
    .expect("write");
    let err = fails(&t, &["--config", file.to_str().expect("path"), "plan"]);
    assert!(
        err.contains("bulwark.toml:") && err.contains("compliance"),
        "{err}"
    );
    // A lifecycle that moves to cold storage too close to deletion.
    std::fs::write(
        &file,
        builtin.replacen(
            "cold_storage_after = \"90d\"",
            "cold_storage_after = \"7y\"",
            1,
        ),
    )
    .expect("write");
    let err = fails(&t, &["--config", file.to_str().expect("path"), "apply"]);
    assert!(err.contains("bulwark.toml:"), "{err}");
    // Nothing reached AWS: no table, no vault.
    let vaults = t
        .backup(HOME_REGION)
        .list_backup_vaults()
        .send()
        .await
        .expect("vaults");
    assert!(vaults.backup_vault_list().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_tiers_noncurrent_rule_joins_the_owners_lifecycle_rules_and_converges() {
    // Given critical stating that noncurrent versions go to GLACIER after 30 days and expire
    // after a year, and a critical bucket whose owner keeps a lifecycle rule of their own
    let t = TestAccount::new().await;
    let bucket = format!("ledger-exports-{}", t.account);
    seed::bucket(
        &t,
        HOME_REGION,
        &bucket,
        &[("DataClassification", "Critical")],
    )
    .await;
    let s3 = t.s3(HOME_REGION);
    let owners = aws_sdk_s3::types::LifecycleRule::builder()
        .id("owner-tmp")
        .status(aws_sdk_s3::types::ExpirationStatus::Enabled)
        .filter(
            aws_sdk_s3::types::LifecycleRuleFilter::builder()
                .prefix("tmp/")
                .build(),
        )
        .expiration(
            aws_sdk_s3::types::LifecycleExpiration::builder()
                .days(3)
                .build(),
        )
        .build()
        .expect("a rule");
    let put_rules = |rules: Vec<aws_sdk_s3::types::LifecycleRule>| {
        s3.put_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .lifecycle_configuration(
                aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .expect("a configuration"),
            )
            .send()
    };
    put_rules(vec![owners.clone()])
        .await
        .expect("the owner's rule");
    let dir = std::env::temp_dir().join(format!("bulwark-cli-noncurrent-{}", t.account));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bulwark.toml");
    std::fs::write(
        &file,
        bulwark_core::config::BUILTIN_TOML.replacen(
            "[tiers.critical]\n",
            "[tiers.critical]\nnoncurrent_versions = { transition_after = \"30d\", expire_after = \"365d\" }\n",
            1,
        ),
    )
    .expect("write");
    let config = file.to_str().expect("path");
    ok(&t, &["init"]);
    ok(&t, &["discover"]);
    ok(&t, &["--config", config, "classify"]);
    let rules = || async {
        s3.get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .expect("the lifecycle")
            .rules()
            .to_vec()
    };

    // When the plan is shown, then applied
    let plan = ok(&t, &["--config", config, "plan"]);
    // (the table wraps the line: its two halves)
    assert!(
        plan.contains(&format!(
            "put the lifecycle rule bulwark-noncurrent-versions on bucket {bucket}:"
        )),
        "{plan}"
    );
    assert!(
        plan.contains("noncurrent versions to GLACIER after 30 days, then expired after 365 days"),
        "{plan}"
    );
    assert!(
        plan.contains("deleted 365 days after it stops being current"),
        "{plan}"
    );
    // (and what protecting the new bucket adds: a listing does not give a bucket's size)
    assert!(
        plan.contains(
            "Backup storage this adds: at least $0.00 a month; stores newly under a tier:"
        ),
        "{plan}"
    );
    assert!(plan.contains("of unknown size not counted"), "{plan}");
    ok(&t, &["--config", config, "apply"]);

    // Then the bucket has the owner's rule as it was, and Bulwark's
    let after = rules().await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.contains(&owners), "{after:?}");
    let ours = after
        .iter()
        .find(|r| r.id() == Some("bulwark-noncurrent-versions"))
        .expect("Bulwark's rule");
    let transition = &ours.noncurrent_version_transitions()[0];
    assert_eq!(transition.noncurrent_days(), Some(30));
    assert_eq!(
        transition.storage_class().map(|c| c.as_str()),
        Some("GLACIER")
    );
    assert_eq!(
        ours.noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days()),
        Some(365)
    );

    // And a second plan has nothing to do for it
    let again = ok(&t, &["--config", config, "plan"]);
    assert!(!again.contains("bulwark-noncurrent-versions"), "{again}");

    // When the owner shortens Bulwark's rule by hand, the next apply puts it back, theirs kept
    let shortened = aws_sdk_s3::types::LifecycleRule::builder()
        .id("bulwark-noncurrent-versions")
        .status(aws_sdk_s3::types::ExpirationStatus::Enabled)
        .filter(
            aws_sdk_s3::types::LifecycleRuleFilter::builder()
                .prefix("")
                .build(),
        )
        .noncurrent_version_expiration(
            aws_sdk_s3::types::NoncurrentVersionExpiration::builder()
                .noncurrent_days(1)
                .build(),
        )
        .build()
        .expect("a rule");
    put_rules(vec![owners.clone(), shortened])
        .await
        .expect("edited");
    ok(&t, &["--config", config, "apply"]);
    let restored = rules().await;
    assert!(restored.contains(&owners), "{restored:?}");
    assert!(restored.contains(ours), "{restored:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_report_shows_each_backed_up_stores_replication() {
    // Given critical stores: a global table with a replica in us-west-2, a bucket replicating
    // to another bucket with Replication Time Control, a Multi-AZ database, and a bucket that
    // does not replicate
    let t = TestAccount::new().await;
    let critical = [("DataClassification", "Critical")];
    seed::table(&t, HOME_REGION, "orders", &critical).await;
    t.dynamodb(HOME_REGION)
        .update_table()
        .table_name("orders")
        .replica_updates(
            aws_sdk_dynamodb::types::ReplicationGroupUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateReplicationGroupMemberAction::builder()
                        .region_name("us-west-2")
                        .build()
                        .expect("a replica"),
                )
                .build(),
        )
        .send()
        .await
        .expect("a replica");
    let replicated = format!("ledger-{}", t.account);
    let destination = format!("ledger-dr-{}", t.account);
    let single = format!("scratch-{}", t.account);
    seed::bucket(&t, HOME_REGION, &replicated, &critical).await;
    seed::bucket(&t, HOME_REGION, &destination, &[]).await;
    seed::bucket(&t, HOME_REGION, &single, &critical).await;
    let s3 = t.s3(HOME_REGION);
    for bucket in [&replicated, &destination] {
        seed::versioning(&t, HOME_REGION, bucket).await;
    }
    let rule = aws_sdk_s3::types::ReplicationRule::builder()
        .id("to-dr")
        .priority(1)
        .status(aws_sdk_s3::types::ReplicationRuleStatus::Enabled)
        .filter(
            aws_sdk_s3::types::ReplicationRuleFilter::builder()
                .prefix("")
                .build(),
        )
        .delete_marker_replication(
            aws_sdk_s3::types::DeleteMarkerReplication::builder()
                .status(aws_sdk_s3::types::DeleteMarkerReplicationStatus::Disabled)
                .build(),
        )
        .destination(
            aws_sdk_s3::types::Destination::builder()
                .bucket(format!("arn:aws:s3:::{destination}"))
                .replication_time(
                    aws_sdk_s3::types::ReplicationTime::builder()
                        .status(aws_sdk_s3::types::ReplicationTimeStatus::Enabled)
                        .time(
                            aws_sdk_s3::types::ReplicationTimeValue::builder()
                                .minutes(15)
                                .build(),
                        )
                        .build()
                        .expect("a time"),
                )
                .metrics(
                    aws_sdk_s3::types::Metrics::builder()
                        .status(aws_sdk_s3::types::MetricsStatus::Enabled)
                        .build()
                        .expect("metrics"),
                )
                .build()
                .expect("a destination"),
        )
        .build()
        .expect("a rule");
    s3.put_bucket_replication()
        .bucket(&replicated)
        .replication_configuration(
            aws_sdk_s3::types::ReplicationConfiguration::builder()
                .role(format!("arn:aws:iam::{}:role/replication", t.account))
                .rules(rule)
                .build()
                .expect("a configuration"),
        )
        .send()
        .await
        .expect("replicating");
    seed::rds_instance(&t, HOME_REGION, "ledger-db", &[("BackupTier", "Tier1")]).await;
    t.rds(HOME_REGION)
        .modify_db_instance()
        .db_instance_identifier("ledger-db")
        .multi_az(true)
        .apply_immediately(true)
        .send()
        .await
        .expect("Multi-AZ");
    ok(&t, &["init"]);
    ok(&t, &["discover"]);
    ok(&t, &["classify"]);

    // When the report is made as JSON
    let report: Value =
        serde_json::from_str(&ok(&t, &["report", "--format", "json"])).expect("json");

    // Then each store's replication is as it is in AWS
    let replication = |name: &str| {
        report["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in the report"))["replication"]
            .clone()
    };
    assert_eq!(
        replication("orders"),
        serde_json::json!({"replica_regions": ["us-west-2"]})
    );
    assert_eq!(
        replication(&replicated),
        serde_json::json!({"s3_rules": [{
            "destination": format!("arn:aws:s3:::{destination}"),
            "time_control": true,
            "metrics": true,
        }]})
    );
    assert_eq!(replication(&single), serde_json::json!({}));
    assert_eq!(replication("ledger-db")["multi_az"], true);
    let table = ok(&t, &["report"]);
    assert!(
        table.contains("global table replicas in us-west-2"),
        "{table}"
    );
}

#[tokio::test]
async fn readiness_names_a_read_replica_live_in_the_dr_region_as_the_faster_way() {
    // Given a critical database with a read replica in its DR region, and one without
    let t = TestAccount::new().await;
    let tier1 = [("BackupTier", "Tier1")];
    seed::rds_instance(&t, HOME_REGION, "ledger-db", &tier1).await;
    seed::rds_instance(&t, HOME_REGION, "lonely-db", &tier1).await;
    let dr = crate::restore::dr_region();
    let source = format!("arn:aws:rds:{HOME_REGION}:{}:db:ledger-db", t.account);
    let replica = t
        .rds(&dr)
        .create_db_instance_read_replica()
        .db_instance_identifier("ledger-db-dr")
        .source_db_instance_identifier(&source)
        .db_instance_class("db.t3.micro")
        .send()
        .await
        .expect("a read replica")
        .db_instance()
        .and_then(|db| db.db_instance_arn())
        .expect("its ARN")
        .to_string();
    ok(&t, &["init"]);
    ok(&t, &["discover"]);
    ok(&t, &["classify"]);

    // When readiness is computed
    let readiness: Value =
        serde_json::from_str(&ok(&t, &["failover", "readiness", "--format", "json"]))
            .expect("json");

    // Then the database's readiness names the replica as the faster way, and the other's
    // names nothing
    let warnings = |name: &str| {
        readiness["stores"]
            .as_array()
            .expect("stores")
            .iter()
            .find(|s| s["subject"].as_str().is_some_and(|a| a.ends_with(name)))
            .unwrap_or_else(|| panic!("{name} not in {readiness:#}"))["warnings"]
            .clone()
    };
    let named = warnings(":db:ledger-db").to_string();
    assert!(
        named.contains(&replica) && named.contains("faster"),
        "{named}"
    );
    assert_eq!(warnings(":db:lonely-db"), serde_json::json!([]));
}
