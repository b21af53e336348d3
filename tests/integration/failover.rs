//! Failover's plan and drill: `bulwark failover plan` over an application whose stores are
//! backed up and copied to the DR region, with a Route 53 record and an SSM parameter to switch.

use serde_json::{json, Value};

use crate::cli::{fails, ok, ok_on, CLI_TABLE};
use crate::harness::{TestAccount, HOME_REGION};
use crate::restore::{leftovers_in, run_plans, wait_for_point_of};
use crate::seed;

/// The DR region of the home region, in the built-in configuration.
pub(crate) const DR_REGION: &str = "us-west-2";

/// The built-in configuration with the application `payments`: its stores by tag, a CNAME in
/// `zone` and a parameter in the DR region, both pointing at its table.
pub(crate) fn config_file(t: &TestAccount, zone: &str) -> std::path::PathBuf {
    let text = format!(
        "{}\n[[applications]]\nname = \"payments\"\nprimary_region = \"{HOME_REGION}\"\n\
         stores = {{ tag = {{ key = \"Application\", value = \"payments\" }} }}\n\
         [[applications.switches]]\nkind = \"route53\"\nzone_id = \"{zone}\"\n\
         name = \"orders.payments.example.com\"\ntype = \"CNAME\"\n\
         value = \"{{orders.name}}.tables.example.net\"\n\
         [[applications.switches]]\nkind = \"ssm\"\nparameter = \"/payments/orders-table\"\n\
         value = \"{{orders.name}}\"\n",
        bulwark_core::config::BUILTIN_TOML
    );
    let path = std::env::temp_dir().join(format!("bulwark-failover-{}.toml", t.account));
    std::fs::write(&path, text).expect("the configuration file");
    path
}

/// A hosted zone with the application's record, and its parameter in the DR region, as they
/// are before any failover.
pub(crate) async fn switches_as_they_are(t: &TestAccount) -> String {
    let route53 = aws_sdk_route53::Client::new(&t.config);
    let zone = route53
        .create_hosted_zone()
        .name("payments.example.com")
        .caller_reference(format!("failover-{}", t.account))
        .send()
        .await
        .expect("a hosted zone");
    let zone_id = zone
        .hosted_zone()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .expect("its id");
    let record = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name("orders.payments.example.com.")
        .r#type(aws_sdk_route53::types::RrType::Cname)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder()
                .value("orders.primary.example.net")
                .build()
                .expect("a record"),
        )
        .build()
        .expect("a record set");
    create_record(t, &zone_id, record).await;
    let ssm = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&t.config)
            .region(aws_sdk_ssm::config::Region::new(DR_REGION))
            .build(),
    );
    ssm.put_parameter()
        .name("/payments/orders-table")
        .value("orders")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("the parameter");
    zone_id
}

/// A record set created in `zone`.
pub(crate) async fn create_record(
    t: &TestAccount,
    zone: &str,
    set: aws_sdk_route53::types::ResourceRecordSet,
) {
    aws_sdk_route53::Client::new(&t.config)
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Create)
                        .resource_record_set(set)
                        .build()
                        .expect("a change"),
                )
                .build()
                .expect("a batch"),
        )
        .send()
        .await
        .expect("the record");
}

/// The application's critical table `orders` and bucket, discovered, classified and protected
/// with the CLI, backed up, and copied to the DR region; their ARNs.
pub(crate) async fn backed_up_application(t: &TestAccount) -> (String, String) {
    backed_up_application_on(t, CLI_TABLE).await
}

/// The same, with the CLI on the state table `table`.
pub(crate) async fn backed_up_application_on(t: &TestAccount, table: &str) -> (String, String) {
    let app = [
        ("Application", "payments"),
        ("DataClassification", "Critical"),
    ];
    seed::table(t, HOME_REGION, "orders", &app).await;
    let bucket = format!("receipts-{}", t.account);
    seed::bucket(t, HOME_REGION, &bucket, &app).await;
    data(t, &bucket).await;
    for step in ["init", "discover", "classify", "apply"] {
        ok_on(t, table, &[step]);
    }
    run_plans(t);
    let table_arn = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/orders", t.account);
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    for arn in [&table_arn, &bucket_arn] {
        wait_for_point_of(t, DR_REGION, arn).await;
    }
    (table_arn, bucket_arn)
}

/// Three items in the application's table and two objects in its bucket, written before the
/// backups, so that restored copies have data to check.
async fn data(t: &TestAccount, bucket: &str) {
    let dynamodb = t.dynamodb(HOME_REGION);
    for id in ["a", "b", "c"] {
        dynamodb
            .put_item()
            .table_name("orders")
            .item("id", aws_sdk_dynamodb::types::AttributeValue::S(id.into()))
            .send()
            .await
            .expect("an item");
    }
    let s3 = aws_sdk_s3::Client::new(&t.config);
    for key in ["2026/receipt-1.pdf", "2026/receipt-2.pdf"] {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(key.as_bytes().to_vec().into())
            .send()
            .await
            .expect("an object");
    }
}

/// AWS Backup's roles, for backups and for restores, as the template creates them.
/// The table's newest point at home copied to a vault of another backup tool in the DR
/// region: the copy's ARN, once completed.
async fn copied_to_another_vault(t: &TestAccount, table_arn: &str) -> String {
    let dr = t.backup(DR_REGION);
    let vault = dr
        .create_backup_vault()
        .backup_vault_name("another-tool")
        .send()
        .await
        .expect("another tool's vault")
        .backup_vault_arn()
        .expect("its ARN")
        .to_string();
    let home = t.backup(HOME_REGION);
    let points = home
        .list_recovery_points_by_resource()
        .resource_arn(table_arn)
        .send()
        .await
        .expect("the table's points");
    let point = points
        .recovery_points()
        .iter()
        .filter(|p| {
            p.backup_vault_name() == Some("bulwark")
                && p.status() == Some(&aws_sdk_backup::types::RecoveryPointStatus::Completed)
                && !p
                    .recovery_point_arn()
                    .is_some_and(bulwark_core::facts::is_continuous)
        })
        .max_by_key(|p| p.creation_date().map(|d| d.secs()))
        .and_then(|p| p.recovery_point_arn())
        .expect("a point at home");
    let job = home
        .start_copy_job()
        .recovery_point_arn(point)
        .source_backup_vault_name("bulwark")
        .destination_backup_vault_arn(&vault)
        .iam_role_arn(format!(
            "arn:aws:iam::{}:role/service-role/AWSBackupDefaultServiceRole",
            t.account
        ))
        .send()
        .await
        .expect("the copy starts")
        .copy_job_id()
        .expect("its id")
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let described = home
            .describe_copy_job()
            .copy_job_id(&job)
            .send()
            .await
            .expect("the copy job");
        let copy = described.copy_job().expect("the job");
        if copy.state() == Some(&aws_sdk_backup::types::CopyJobState::Completed) {
            return copy
                .destination_recovery_point_arn()
                .expect("the copy")
                .to_string();
        }
        assert!(std::time::Instant::now() < deadline, "{copy:?}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

pub(crate) async fn backup_role(t: &TestAccount) {
    t.deploy_template(&[]);
}

pub(crate) fn plan_of(t: &TestAccount, config: &std::path::Path) -> Value {
    plan_of_on(t, CLI_TABLE, config)
}

/// The same, on the state table `table`.
pub(crate) fn plan_of_on(t: &TestAccount, table: &str, config: &std::path::Path) -> Value {
    let out = ok_on(
        t,
        table,
        &[
            "--config",
            config.to_str().expect("a path"),
            "failover",
            "plan",
            "--app",
            "payments",
            "--format",
            "json",
        ],
    );
    serde_json::from_str(&out).expect("json")
}

#[tokio::test]
async fn a_plan_reads_the_dr_copies_and_switches_changes_nothing_and_hashes_what_decides() {
    // Given an application's critical table and bucket, protected, backed up and copied to the
    // DR region, and its record and parameter as they are
    let t = TestAccount::new().await;
    let (table_arn, bucket_arn) = backed_up_application(&t).await;
    let zone = switches_as_they_are(&t).await;
    let config = config_file(&t, &zone);

    // When the on-call engineer asks for the plan before AWS Backup's role exists
    let without_role = plan_of(&t, &config);

    // Then each store is blocked by it
    assert_eq!(without_role["plan"]["ready"], false);
    for store in without_role["plan"]["stores"].as_array().expect("stores") {
        assert_eq!(
            store["blockers"],
            json!([{"blocker": "role_missing"}]),
            "{store}"
        );
    }

    // When the role exists (the template creates it) and the plan is asked for again
    backup_role(&t).await;
    let answer = plan_of(&t, &config);

    // Then it changed nothing
    assert_eq!(answer["mutating_calls"], 0, "{}", answer["calls"]);
    assert_eq!(without_role["mutating_calls"], 0);
    // (every call it made is an IAM action the CLI declares)
    let declared = bulwark_aws::permissions::for_cli();
    for operation in answer["calls"].as_object().expect("calls").keys() {
        let action = bulwark_aws::permissions::action_for_operation(operation)
            .unwrap_or_else(|| panic!("no IAM mapping for {operation}"));
        assert!(declared.contains(&action.as_str()), "{action} not declared");
    }
    assert_ne!(without_role["plan"]["hash"], answer["plan"]["hash"]);
    // And each store would be restored from its copy in the DR region, losing minutes at most
    let plan = &answer["plan"];
    assert_eq!(plan["ready"], true, "{plan:#}");
    let stores = plan["stores"].as_array().expect("stores");
    let mut planned: Vec<&str> = stores.iter().filter_map(|s| s["arn"].as_str()).collect();
    planned.sort_unstable();
    let mut expected = vec![table_arn.as_str(), bucket_arn.as_str()];
    expected.sort_unstable();
    assert_eq!(planned, expected);
    for store in stores {
        let copy = store["copy"]["recovery_point_arn"]
            .as_str()
            .expect("a copy");
        assert!(copy.contains(DR_REGION), "{copy}");
        assert!(
            store["restored_name"]
                .as_str()
                .is_some_and(|n| n.starts_with("bulwark-fo-")),
            "{store}"
        );
    }
    // And each switch shows where it points now and where the failover points it
    let switches = plan["switches"].as_array().expect("switches");
    let orders = stores
        .iter()
        .find(|s| s["arn"] == table_arn.as_str())
        .and_then(|s| s["restored_name"].as_str())
        .expect("the table's restored name");
    let record = switches
        .iter()
        .find(|s| s["target"]["kind"] == "route53")
        .expect("the record");
    assert_eq!(record["current"], "orders.primary.example.net");
    assert_eq!(record["new"], format!("{orders}.tables.example.net"));
    let parameter = switches
        .iter()
        .find(|s| s["target"]["kind"] == "ssm")
        .expect("the parameter");
    assert_eq!(parameter["current"], "orders");
    assert_eq!(parameter["new"], orders);
    let hash = plan["hash"].as_str().expect("a hash");
    assert_eq!(hash.len(), 64, "{hash}");

    // When nothing changed, the plan's hash is the same a minute later
    assert_eq!(plan_of(&t, &config)["plan"]["hash"], hash);

    // When the application gains a critical store with no copy yet
    let app = [
        ("Application", "payments"),
        ("DataClassification", "Critical"),
    ];
    seed::table(&t, HOME_REGION, "ledger", &app).await;
    for step in ["discover", "classify"] {
        ok(&t, &[step]);
    }
    let blocked = plan_of(&t, &config);

    // Then the plan is blocked, saying why, and its hash changed
    assert_eq!(blocked["plan"]["ready"], false);
    let ledger = blocked["plan"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .find(|s| {
            s["arn"]
                .as_str()
                .is_some_and(|a| a.ends_with("table/ledger"))
        })
        .expect("the new store");
    assert_eq!(
        ledger["blockers"],
        json!([{"blocker": "no_copy"}]),
        "{ledger}"
    );
    assert_ne!(blocked["plan"]["hash"], hash);

    // And an application the configuration does not have is refused
    let refused = fails(
        &t,
        &[
            "--config",
            config.to_str().expect("a path"),
            "failover",
            "plan",
            "--app",
            "nope",
        ],
    );
    assert!(
        refused.contains("\"nope\" is not an application of the configuration (it has: payments)"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_drill_restores_every_store_in_the_dr_region_switches_nothing_and_leaves_nothing() {
    // Given the application backed up and copied to the DR region, its switches as they are,
    // and no AWS Backup role yet
    let t = TestAccount::new().await;
    let (table_arn, bucket_arn) = backed_up_application(&t).await;
    let zone = switches_as_they_are(&t).await;
    let config = config_file(&t, &zone);
    let cfg = config.to_str().expect("a path");
    let drill = [
        "--config", cfg, "failover", "drill", "--app", "payments", "--format", "json",
    ];

    // When a drill is asked for while the plan is blocked
    let refused = fails(&t, &drill);

    // Then it is refused, restoring nothing
    assert!(
        refused.contains("the plan's restores are blocked"),
        "{refused}"
    );
    assert_eq!(leftovers_in(&t, DR_REGION).await, 0);

    // When the role exists, another backup tool has copied the table to a vault of its own in
    // the DR region since (the newest copy there), and the drill runs
    backup_role(&t).await;
    let planned = plan_of(&t, &config);
    let elsewhere = copied_to_another_vault(&t, &table_arn).await;
    let answer: Value = serde_json::from_str(&ok(&t, &drill)).expect("json");

    // Then each store was restored from its copy in the DR region, validated and measured
    let tests = answer["tests"].as_array().expect("tests");
    let mut tested: Vec<&str> = tests.iter().filter_map(|t| t["arn"].as_str()).collect();
    tested.sort_unstable();
    let mut expected = vec![table_arn.as_str(), bucket_arn.as_str()];
    expected.sort_unstable();
    assert_eq!(tested, expected);
    for test in tests {
        assert_eq!(test["passed"], true, "{test}");
        assert_eq!(test["origin"], "dr");
        assert_eq!(test["region"], DR_REGION);
    }
    assert!(answer["rto_seconds"].is_u64(), "{answer}");
    assert!(answer["data_loss"][&table_arn].is_string(), "{answer}");
    // And the table was restored from the copy a failover's plan restores, in Bulwark's vault,
    // not from the other tool's newer one
    let table_test = tests
        .iter()
        .find(|t| t["arn"] == table_arn.as_str())
        .expect("the table's test");
    let planned_copy = planned["plan"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .find(|s| s["arn"] == table_arn.as_str())
        .and_then(|s| s["copy"]["recovery_point_arn"].as_str())
        .expect("the plan's copy of the table");
    assert_eq!(
        table_test["recovery_point_arn"], planned_copy,
        "{table_test}"
    );
    assert_ne!(table_test["recovery_point_arn"], elsewhere.as_str());

    // And nothing restored is left, and no switch was touched
    assert_eq!(leftovers_in(&t, DR_REGION).await, 0);
    let after = plan_of(&t, &config);
    let switched: Vec<&Value> = after["plan"]["switches"]
        .as_array()
        .expect("switches")
        .iter()
        .map(|s| &s["current"])
        .collect();
    assert_eq!(
        switched,
        vec![&json!("orders.primary.example.net"), &json!("orders")]
    );
}

/// The completed copies of `arn` in Bulwark's vault of the DR region.
async fn dr_copies_of(t: &TestAccount, arn: &str) -> usize {
    t.backup(DR_REGION)
        .list_recovery_points_by_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("the store's copies")
        .recovery_points()
        .iter()
        .filter(|p| {
            p.backup_vault_name() == Some("bulwark")
                && p.status() == Some(&aws_sdk_backup::types::RecoveryPointStatus::Completed)
        })
        .count()
}

/// The copy the plan's store `arn` restores, and whether the plan says it was verified.
fn planned_copy(plan: &Value, arn: &str) -> (String, bool) {
    let store = plan["plan"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .find(|s| s["arn"] == arn)
        .expect("the store");
    (
        store["copy"]["recovery_point_arn"]
            .as_str()
            .expect("a copy")
            .to_string(),
        store["copy_verified"] == true,
    )
}

#[tokio::test]
async fn a_plan_prefers_the_copy_a_drill_verified_and_point_newest_takes_the_newest_on_the_record()
{
    // Given the application backed up and copied, and a drill that restored and passed its
    // copies
    let t = TestAccount::new().await;
    let (table_arn, _) = backed_up_application(&t).await;
    let zone = switches_as_they_are(&t).await;
    let config = config_file(&t, &zone);
    let cfg = config.to_str().expect("a path");
    backup_role(&t).await;
    let drilled = plan_of(&t, &config);
    let (drilled_copy, verified) = planned_copy(&drilled, &table_arn);
    assert!(!verified, "no test yet: {drilled:#}");
    ok(
        &t,
        &["--config", cfg, "failover", "drill", "--app", "payments"],
    );

    // When the plans run again and newer copies reach the DR region, not drilled
    let copies = dr_copies_of(&t, &table_arn).await;
    run_plans(&t);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while dr_copies_of(&t, &table_arn).await <= copies {
        assert!(std::time::Instant::now() < deadline, "no newer copy");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }

    // Then the plan takes the drilled copy, said verified
    let plan = plan_of(&t, &config);
    assert_eq!(
        planned_copy(&plan, &table_arn),
        (drilled_copy.clone(), true)
    );
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    let text = ok(
        &t,
        &["--config", cfg, "failover", "plan", "--app", "payments"],
    );
    assert!(text.contains("(verified)"), "{text}");

    // And --point newest takes the newer copy, not verified, under another hash
    let newest: Value = serde_json::from_str(&ok(
        &t,
        &[
            "--config", cfg, "failover", "plan", "--app", "payments", "--point", "newest",
            "--format", "json",
        ],
    ))
    .expect("json");
    let (newest_copy, verified) = planned_copy(&newest, &table_arn);
    assert_ne!(newest_copy, drilled_copy);
    assert!(!verified);
    assert_eq!(newest["plan"]["newest_point"], true);
    assert_ne!(newest["plan"]["hash"], plan["plan"]["hash"]);

    // And executing under the default plan's hash with --point newest is refused: the choice
    // is in the hash
    let refused = fails(
        &t,
        &[
            "--config",
            cfg,
            "failover",
            "execute",
            "--app",
            "payments",
            "--plan-hash",
            plan["plan"]["hash"].as_str().expect("hash"),
            "--confirm",
            "--reason",
            "drill of the record",
            "--point",
            "newest",
        ],
    );
    assert!(refused.contains("hash"), "{refused}");
}
