//! IAM on the local AWS holds the product to what AWS would allow: a role that lacks an action,
//! or whose statement names other resources, is denied, and nothing is written. Each role here
//! is the template's own role with one statement changed, the way a policy goes wrong.

use bulwark_aws::{ops, Aws, Reach};
use chrono::Utc;
use serde_json::Value;

use crate::harness::{function_role, region, TestAccount, HOME_REGION, OTHER_REGION};
use crate::seed;

fn both_regions() -> Reach {
    Reach {
        regions: vec![region(HOME_REGION), region(OTHER_REGION)],
        org_role: None,
    }
}

/// A role with `function`'s template policies, after `edit` changed them, and credentials
/// that act as it.
async fn edited_role(
    t: &TestAccount,
    function: &str,
    name: &str,
    edit: impl Fn(&mut Value),
) -> Aws {
    let deployed = t.deploy_template(&[]);
    let role = function_role(&deployed, function);
    let iam = aws_sdk_iam::Client::new(&t.config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let created = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("role");
    let arn = created.role().expect("role").arn().to_string();
    for policy in deployed["policies"][&role].as_array().expect("policies") {
        let mut document = policy["PolicyDocument"].clone();
        edit(&mut document);
        iam.put_role_policy()
            .role_name(name)
            .policy_name(policy["PolicyName"].as_str().expect("name"))
            .policy_document(document.to_string())
            .send()
            .await
            .expect("policy");
    }
    t.assume(&arn, name).await
}

/// The statement with this Sid.
fn statement<'a>(document: &'a mut Value, sid: &str) -> &'a mut Value {
    document["Statement"]
        .as_array_mut()
        .expect("statements")
        .iter_mut()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid}"))
}

#[tokio::test]
async fn a_role_granted_transact_write_items_instead_of_put_item_cannot_write_the_inventory() {
    // Given the discover role as it was first written: "dynamodb:TransactWriteItems", which is
    // not an IAM action, where DynamoDB authorizes each item of a transaction by PutItem
    let t = TestAccount::new().await;
    seed::table(&t, HOME_REGION, "orders", &[]).await;
    let aws = edited_role(&t, "discover", "discover-without-put-item", |doc| {
        let inventory = statement(doc, "Inventory");
        let actions: Vec<Value> = inventory["Action"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|a| {
                if a == "dynamodb:PutItem" {
                    Value::from("dynamodb:TransactWriteItems")
                } else {
                    a.clone()
                }
            })
            .collect();
        inventory["Action"] = Value::from(actions);
    })
    .await;
    let inventory = t.inventory(&aws).await;

    // When it sweeps
    let summary = ops::discover_all(&aws, &inventory, &both_regions(), 4, Utc::now())
        .await
        .expect("a sweep whose writes fail is a report of failures");

    // Then the transaction is denied for want of PutItem, and nothing was written
    assert!(!summary.failures.is_empty());
    assert!(summary.failures.iter().all(|f| !f.retryable));
    let text = format!("{:?}", summary.failures);
    assert!(
        text.contains("AccessDenied") && text.contains("dynamodb:PutItem"),
        "{text}"
    );
    assert!(t.stored().await.is_empty());

    // While the template's own role writes it
    let discover = t.function("discover").await;
    let summary = ops::discover_all(
        &discover,
        &t.inventory(&discover).await,
        &both_regions(),
        4,
        Utc::now(),
    )
    .await
    .expect("the template's role sweeps");
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert!(t.stored().await.iter().any(|a| a.name == "orders"));
}

/// A critical table, discovered and classified by the template's roles.
async fn classified_estate(t: &TestAccount) {
    seed::table(
        t,
        HOME_REGION,
        "payments",
        &[("DataClassification", "critical")],
    )
    .await;
    t.discover_and_classify(&[HOME_REGION, OTHER_REGION]).await;
}

async fn vaults(t: &TestAccount) -> usize {
    t.backup(HOME_REGION)
        .list_backup_vaults()
        .send()
        .await
        .expect("vaults")
        .backup_vault_list()
        .len()
}

#[tokio::test]
async fn an_assign_policy_role_whose_key_statement_names_another_key_is_denied() {
    let t = TestAccount::new().await;
    classified_estate(&t).await;
    let other_key = format!(
        "arn:aws:kms:{HOME_REGION}:{}:key/00000000-0000-4000-8000-000000000000",
        t.account
    );
    let aws = edited_role(&t, "assign-policy", "assign-other-key", |doc| {
        statement(doc, "VaultKey")["Resource"] = Value::from(other_key.clone());
    })
    .await;
    let report = t.apply(&aws).await;

    // Then its one scope failed, for want of that permission
    assert!(report.partial());
    let text = format!("{:?}", report.failures);
    assert!(
        text.contains("AccessDenied") && text.contains("kms:"),
        "{text}"
    );
    assert_eq!(vaults(&t).await, 0, "no vault without its key");
}

#[tokio::test]
async fn an_assign_policy_role_whose_backup_statement_names_other_vaults_is_denied() {
    let t = TestAccount::new().await;
    classified_estate(&t).await;
    let aws = edited_role(&t, "assign-policy", "assign-other-vaults", |doc| {
        statement(doc, "BulwarkVaults")["Resource"] =
            Value::from("arn:aws:backup:*:*:backup-vault:someone-elses-*");
    })
    .await;
    let report = t.apply(&aws).await;

    // Then its one scope failed, for want of that permission
    assert!(report.partial());
    let text = format!("{:?}", report.failures);
    assert!(
        text.contains("AccessDenied") && text.contains("backup:CreateBackupVault"),
        "{text}"
    );
    assert_eq!(vaults(&t).await, 0);

    // While the template's own role creates them
    let report = t.apply(&t.function("assign-policy").await).await;
    assert!(!report.partial(), "{:?}", report.failures);
    assert!(vaults(&t).await > 0);
}

/// The error code of a call that must be refused.
fn denied<T, E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, E>,
) -> String {
    let err = result.err().expect("the call is denied");
    err.code().unwrap_or_default().to_string()
}

#[tokio::test]
async fn each_function_role_is_denied_what_its_function_must_not_do() {
    let t = TestAccount::new().await;
    let home = bulwark_core::Scope {
        account: t.account.clone(),
        region: region(HOME_REGION),
    };

    // discover writes the inventory but may not delete from it
    let discover = t.function("discover").await;
    t.inventory(&discover).await;
    let code = denied(
        discover
            .dynamodb()
            .delete_item()
            .table_name(crate::harness::TABLE)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("y".into()))
            .send()
            .await,
    );
    assert_eq!(code, "AccessDeniedException");

    // classify reads and writes the inventory, and lists no stores
    let classify = t.function("classify").await;
    let code = denied(
        classify
            .home_scope(home.clone())
            .ec2
            .describe_volumes()
            .send()
            .await,
    );
    assert_eq!(code, "UnauthorizedOperation");

    // assign-policy creates Bulwark's vault, not another
    let assign = t.function("assign-policy").await;
    let code = denied(
        assign
            .home_scope(home)
            .backup
            .create_backup_vault()
            .backup_vault_name("someone-elses")
            .send()
            .await,
    );
    assert_eq!(code, "AccessDeniedException");
}

#[tokio::test]
async fn assign_policy_modifies_and_tags_only_what_bulwark_put_under_a_tier() {
    // Given a database nobody put under a tier, and one that carries Bulwark's tier tag
    let t = TestAccount::new().await;
    seed::rds_instance(&t, HOME_REGION, "someone-elses", &[]).await;
    seed::rds_instance(&t, HOME_REGION, "tiered", &[("bulwark:tier", "gold")]).await;
    seed::bucket(&t, HOME_REGION, &format!("untiered-{}", t.account), &[]).await;
    let arn = |id: &str| format!("arn:aws:rds:{HOME_REGION}:{}:db:{id}", t.account);
    let assign = t.function("assign-policy").await;
    let clients = assign.home_scope(bulwark_core::Scope {
        account: t.account.clone(),
        region: region(HOME_REGION),
    });

    // When assign-policy's role changes their retention, tags them, or versions the bucket
    let modify = |id: &'static str| {
        clients
            .rds
            .modify_db_instance()
            .db_instance_identifier(id)
            .backup_retention_period(7)
            .apply_immediately(true)
            .send()
    };
    let untiered = modify("someone-elses").await;
    let tiered = modify("tiered").await;
    let other_key = clients
        .tagging
        .tag_resources()
        .resource_arn_list(arn("tiered"))
        .tags("owner", "bulwark")
        .send()
        .await;
    let versioning = clients
        .s3
        .put_bucket_versioning()
        .bucket(format!("untiered-{}", t.account))
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await;

    // Then only the tiered database changes; no other tag key and no untiered bucket
    assert_eq!(denied(untiered), "AccessDenied");
    assert!(tiered.is_ok(), "{tiered:?}");
    assert_eq!(denied(other_key), "AccessDeniedException");
    assert_eq!(denied(versioning), "AccessDenied");
    clients
        .tagging
        .tag_resources()
        .resource_arn_list(arn("someone-elses"))
        .tags("bulwark:tier", "silver")
        .send()
        .await
        .expect("the tier tag itself may be written");
    let retention = t
        .rds(HOME_REGION)
        .describe_db_instances()
        .db_instance_identifier("someone-elses")
        .send()
        .await
        .expect("describe");
    assert_eq!(
        retention.db_instances()[0].backup_retention_period(),
        Some(3),
        "the untiered database kept its retention"
    );
}

/// A critical table protected by Bulwark, and its completed recovery point in Bulwark's vault.
async fn a_point_in_bulwarks_vault(t: &TestAccount) -> String {
    classified_estate(t).await;
    let report = t.apply(&t.function("assign-policy").await).await;
    assert!(!report.partial(), "{:?}", report.failures);
    completed_point_after_the_plans_run(t).await
}

/// Every backup plan of the home region run now (the local AWS's stand-in for schedules), then
/// a completed recovery point in Bulwark's vault.
pub(crate) async fn completed_point_after_the_plans_run(t: &TestAccount) -> String {
    crate::harness::control(
        "/moto-api/bulwark/backup/run-plans",
        &serde_json::json!({ "account": t.account.as_str(), "region": HOME_REGION }),
    );
    let admin_client = t.backup(HOME_REGION);
    loop {
        let points = admin_client
            .list_recovery_points_by_backup_vault()
            .backup_vault_name("bulwark")
            .send()
            .await
            .expect("points");
        let completed = points
            .recovery_points()
            .iter()
            .find(|p| p.status().is_some_and(|s| s.as_str() == "COMPLETED"))
            .and_then(|p| p.recovery_point_arn().map(str::to_string));
        if let Some(arn) = completed {
            break arn;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A role in the test's account allowed everything by its own policy, with credentials.
pub(crate) async fn all_powerful_role(t: &TestAccount, name: &str) -> Aws {
    let iam = aws_sdk_iam::Client::new(&t.config);
    let trust = r#"{"Version":"2012-10-17","Statement":[]}"#;
    let arn = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("role")
        .role()
        .expect("role")
        .arn()
        .to_string();
    iam.put_role_policy()
        .role_name(name)
        .policy_name("everything")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("policy");
    t.assume(&arn, name).await
}

#[tokio::test]
async fn the_vault_guard_holds_against_everyone_but_the_admins() {
    // Given Bulwark's vault with a recovery point in it
    let t = TestAccount::new().await;
    let point = a_point_in_bulwarks_vault(&t).await;
    let admin_client = t.backup(HOME_REGION);
    let home = bulwark_core::Scope {
        account: t.account.clone(),
        region: region(HOME_REGION),
    };
    let policy = admin_client
        .get_backup_vault_access_policy()
        .backup_vault_name("bulwark")
        .send()
        .await
        .expect("the vault's policy")
        .policy()
        .expect("policy")
        .to_string();

    // When a role that IAM allows everything, but that is no admin, tries each guarded action
    let operator = all_powerful_role(&t, "operator")
        .await
        .home_scope(home.clone())
        .backup;
    let lifecycle = aws_sdk_backup::types::Lifecycle::builder()
        .delete_after_days(1)
        .build();
    let codes = [
        denied(
            operator
                .delete_recovery_point()
                .backup_vault_name("bulwark")
                .recovery_point_arn(&point)
                .send()
                .await,
        ),
        denied(
            operator
                .update_recovery_point_lifecycle()
                .backup_vault_name("bulwark")
                .recovery_point_arn(&point)
                .lifecycle(lifecycle.clone())
                .send()
                .await,
        ),
        denied(
            operator
                .delete_backup_vault()
                .backup_vault_name("bulwark")
                .send()
                .await,
        ),
        denied(
            operator
                .delete_backup_vault_lock_configuration()
                .backup_vault_name("bulwark")
                .send()
                .await,
        ),
        denied(
            operator
                .put_backup_vault_lock_configuration()
                .backup_vault_name("bulwark")
                .min_retention_days(1)
                .send()
                .await,
        ),
        denied(
            operator
                .delete_backup_vault_access_policy()
                .backup_vault_name("bulwark")
                .send()
                .await,
        ),
        denied(
            operator
                .put_backup_vault_access_policy()
                .backup_vault_name("bulwark")
                .policy(r#"{"Version":"2012-10-17","Statement":[]}"#)
                .send()
                .await,
        ),
    ];
    // Then each is denied
    assert!(
        codes.iter().all(|c| c == "AccessDeniedException"),
        "{codes:?}"
    );

    // Bulwark's own role maintains the policy but cannot delete a recovery point
    let bulwark = t
        .function("assign-policy")
        .await
        .home_scope(home.clone())
        .backup;
    bulwark
        .put_backup_vault_access_policy()
        .backup_vault_name("bulwark")
        .policy(&policy)
        .send()
        .await
        .expect("Bulwark maintains its policy");
    assert_eq!(
        denied(
            bulwark
                .delete_recovery_point()
                .backup_vault_name("bulwark")
                .recovery_point_arn(&point)
                .send()
                .await
        ),
        "AccessDeniedException"
    );

    // While the admin role may change a lifecycle within the lock
    let admin = all_powerful_role(&t, "BulwarkBackupAdmin")
        .await
        .home_scope(home)
        .backup;
    admin
        .update_recovery_point_lifecycle()
        .backup_vault_name("bulwark")
        .recovery_point_arn(&point)
        .lifecycle(
            aws_sdk_backup::types::Lifecycle::builder()
                .delete_after_days(400)
                .build(),
        )
        .send()
        .await
        .expect("the admin is not denied by the guard");
}

#[tokio::test]
async fn a_recovery_stacks_failover_role_writes_the_replica_in_its_region_and_not_the_table_at_home(
) {
    // Given the state table at home with its replica in the DR region, and the failover
    // function's role of a recovery stack there
    let t = TestAccount::new().await;
    let dr = crate::failover::DR_REGION;
    let admin = bulwark_aws::Inventory::new(t.aws().dynamodb(), crate::harness::TABLE);
    admin.ensure_table().await.expect("the table at home");
    admin
        .ensure_replicas(&[region(dr)])
        .await
        .expect("its replica");
    let deployed = crate::template::recovery_roles(&t);
    let role = function_role(&deployed, "failover");
    let failover = t
        .assume(
            deployed["roles"][&role].as_str().expect("role ARN"),
            "failover",
        )
        .await;
    let item = |name: &str| {
        failover
            .home_scope(bulwark_core::Scope {
                account: t.account.clone(),
                region: region(name),
            })
            .dynamodb
            .put_item()
            .table_name(crate::harness::TABLE)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("lease".into()),
            )
            .item(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("failover#{name}")),
            )
            .send()
    };

    // When it writes the lock in the DR region's replica, and in the table at home
    let here = item(dr).await;
    let home = item(HOME_REGION).await;

    // Then the replica takes it, and the table at home is denied
    assert!(here.is_ok(), "{here:?}");
    let denied = format!(
        "{:?}",
        home.expect_err("the table at home is not the role's")
    );
    assert!(
        denied.contains("AccessDenied") && denied.contains("dynamodb:PutItem"),
        "{denied}"
    );
}

#[tokio::test]
async fn validate_restore_deletes_only_a_named_test_copy_and_never_a_store_under_a_tier() {
    // Given a volume tagged and named as a test's copy, one that also carries a tier tag, and
    // one tagged as a test's without the name
    let t = TestAccount::new().await;
    let copy = seed::volume(
        &t,
        HOME_REGION,
        &[("bulwark:restore-test", "t1"), ("Name", "bulwark-rt-t1")],
    )
    .await;
    let store = seed::volume(
        &t,
        HOME_REGION,
        &[
            ("bulwark:restore-test", "t2"),
            ("Name", "bulwark-rt-t2"),
            ("bulwark:tier", "critical"),
        ],
    )
    .await;
    let unnamed = seed::volume(&t, HOME_REGION, &[("bulwark:restore-test", "t3")]).await;
    let ec2 = t
        .function("validate-restore")
        .await
        .home_scope(bulwark_core::Scope {
            account: t.account.clone(),
            region: region(HOME_REGION),
        })
        .ec2;

    // When validate-restore's role tags and deletes them
    // Then the store under a tier is neither tagged nor deleted, the unnamed volume is not
    // deleted, and the test's copy is
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key("bulwark:restore-test")
        .value("t9")
        .build();
    let code = denied(ec2.create_tags().resources(&store).tags(tag).send().await);
    assert_eq!(code, "UnauthorizedOperation");
    for volume in [&store, &unnamed] {
        let code = denied(ec2.delete_volume().volume_id(volume).send().await);
        assert_eq!(code, "UnauthorizedOperation", "{volume}");
    }
    ec2.delete_volume()
        .volume_id(&copy)
        .send()
        .await
        .expect("the test's copy deleted");
}

#[tokio::test]
async fn the_restore_role_restores_under_bulwarks_names_only() {
    // Given a critical table's recovery point, and the template's restore role
    let t = TestAccount::new().await;
    let point = a_point_in_bulwarks_vault(&t).await;
    let backup = t.backup(HOME_REGION);
    let role = format!(
        "arn:aws:iam::{}:role/service-role/bulwark-restore",
        t.account
    );
    let restore = |name: &'static str| {
        backup
            .start_restore_job()
            .recovery_point_arn(&point)
            .metadata("targetTableName", name)
            .iam_role_arn(&role)
            .send()
    };

    // When AWS Backup restores it as that role under a test's name, and under another name
    let allowed = restore("bulwark-rt-iam").await.expect("started");
    let denied = restore("payments-copy").await.expect("started");

    // Then the first restores, and the second fails without making a table, naming the
    // action the role may not take
    let ended = |id: String| {
        let backup = backup.clone();
        async move {
            loop {
                let job = backup
                    .describe_restore_job()
                    .restore_job_id(id.clone())
                    .send()
                    .await
                    .expect("job");
                match job.status().map(|s| s.as_str()) {
                    Some("COMPLETED" | "FAILED" | "ABORTED") => return job,
                    _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                }
            }
        }
    };
    let allowed = ended(allowed.restore_job_id().expect("id").to_string()).await;
    assert_eq!(
        allowed.status().map(|s| s.as_str()),
        Some("COMPLETED"),
        "{allowed:?}"
    );
    let denied = ended(denied.restore_job_id().expect("id").to_string()).await;
    assert_eq!(denied.status().map(|s| s.as_str()), Some("FAILED"));
    let message = denied.status_message().unwrap_or_default();
    assert!(
        message.contains("bulwark-restore")
            && message.contains("dynamodb:RestoreTableFromAwsBackup")
            && message.contains("table/payments-copy"),
        "{message}"
    );
    let tables = t
        .dynamodb(HOME_REGION)
        .list_tables()
        .send()
        .await
        .expect("tables");
    assert!(!tables.table_names().iter().any(|n| n == "payments-copy"));
}
