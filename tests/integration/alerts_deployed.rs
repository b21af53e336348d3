//! AWS Backup's own events paged, as deployed: a call that weakens what keeps a recovery point
//! (delivered by CloudTrail, only while a trail logs) and a failed backup job reach the bus,
//! the template's rules give them to assign-policy, and the on-call's queue on the alert topic
//! gets a message naming the store, its tier and what happened.

use crate::deployed::deployed_with_protected_table;
use crate::harness::{next_notice, subscribed_queue, TestAccount, HOME_REGION};

/// A multi-region trail that logs, made with boto3 (the tests' SDK set has no CloudTrail client).
fn trail_logging(t: &TestAccount) {
    const SCRIPT: &str = r#"
import sys, boto3
s3 = boto3.client("s3", region_name="us-east-1")
s3.create_bucket(Bucket=sys.argv[1])
cloudtrail = boto3.client("cloudtrail", region_name="us-east-1")
cloudtrail.create_trail(Name="organization", S3BucketName=sys.argv[1], IsMultiRegionTrail=True)
cloudtrail.start_logging(Name="organization")
"#;
    crate::harness::boto3(t, SCRIPT, &[&format!("trail-{}", t.account)]);
}

fn lifecycle(days: i64) -> aws_sdk_backup::types::Lifecycle {
    aws_sdk_backup::types::Lifecycle::builder()
        .delete_after_days(days)
        .build()
}

#[tokio::test]
async fn tampering_and_a_failed_backup_are_paged_with_the_store_and_its_tier() {
    // Given the system deployed, the critical table `orders` protected and backed up, and the
    // on-call's queue subscribed to the alert topic
    let t = TestAccount::new().await;
    let answer = deployed_with_protected_table(&t).await;
    let table = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/orders", t.account);
    let topic = answer["outputs"]["AlertTopicArn"]
        .as_str()
        .expect("the alert topic");
    let queue = subscribed_queue(&t, HOME_REGION, topic).await;
    let point = crate::iam::completed_point_after_the_plans_run(&t).await;
    let home = bulwark_core::Scope {
        account: t.account.clone(),
        region: bulwark_core::Region::parse(HOME_REGION).expect("a region"),
    };
    let admin = crate::iam::all_powerful_role(&t, "BulwarkBackupAdmin")
        .await
        .home_scope(home.clone())
        .backup;
    let kept = t
        .backup(HOME_REGION)
        .describe_recovery_point()
        .backup_vault_name("bulwark")
        .recovery_point_arn(&point)
        .send()
        .await
        .expect("the point")
        .lifecycle()
        .and_then(|l| l.delete_after_days())
        .expect("a retention");

    // When Bulwark's backup admin changes the point's lifecycle with no trail logging (nothing
    // records it), then a trail logs, and a role IAM allows everything but that is no admin
    // tries to shorten it
    admin
        .update_recovery_point_lifecycle()
        .backup_vault_name("bulwark")
        .recovery_point_arn(&point)
        .lifecycle(lifecycle(kept + 1))
        .send()
        .await
        .expect("the admin may");
    trail_logging(&t);
    let operator = crate::iam::all_powerful_role(&t, "operator")
        .await
        .home_scope(home)
        .backup;
    let refused = operator
        .update_recovery_point_lifecycle()
        .backup_vault_name("bulwark")
        .recovery_point_arn(&point)
        .lifecycle(lifecycle(1))
        .send()
        .await;
    assert!(refused.is_err(), "the vault guard refuses: {refused:?}");

    // Then the first page is the refused attempt, naming the store, its tier and the caller
    let (subject, message) = next_notice(&t, HOME_REGION, &queue).await;
    assert_eq!(
        subject,
        "Bulwark: attempt refused: recovery point lifecycle changed (orders, tier critical)"
    );
    for line in [
        format!("Store: {table}"),
        "Tier: critical".to_string(),
        "Vault: bulwark (Bulwark's)".to_string(),
        format!("Recovery point: {point}"),
    ] {
        assert!(message.lines().any(|l| l == line), "{line}\n{message}");
    }
    assert!(
        message.contains(&format!(
            "by arn:aws:sts::{}:assumed-role/operator/",
            t.account
        )),
        "{message}"
    );
    assert!(message.contains("Refused with: "), "{message}");
    assert!(
        message.contains(r#"lifecycle {"DeleteAfterDays":1}"#),
        "{message}"
    );

    // When the admin, with the trail logging, changes it again
    admin
        .update_recovery_point_lifecycle()
        .backup_vault_name("bulwark")
        .recovery_point_arn(&point)
        .lifecycle(lifecycle(kept))
        .send()
        .await
        .expect("the admin may");

    // Then that is paged too, done this time
    let (subject, message) = next_notice(&t, HOME_REGION, &queue).await;
    assert_eq!(
        subject,
        "Bulwark: recovery point lifecycle changed (orders, tier critical)"
    );
    assert!(!message.contains("Refused"), "{message}");

    // When the table is deleted and a backup of it is started into Bulwark's vault
    t.dynamodb(HOME_REGION)
        .delete_table()
        .table_name("orders")
        .send()
        .await
        .expect("deleted");
    let role = format!(
        "arn:aws:iam::{}:role/service-role/AWSBackupDefaultServiceRole",
        t.account
    );
    let job = t
        .backup(HOME_REGION)
        .start_backup_job()
        .backup_vault_name("bulwark")
        .resource_arn(&table)
        .iam_role_arn(role)
        .send()
        .await
        .expect("a job")
        .backup_job_id()
        .expect("its id")
        .to_string();

    // Then its failure is paged, with its reason, the store and its tier
    let (subject, message) = next_notice(&t, HOME_REGION, &queue).await;
    assert_eq!(
        subject,
        "Bulwark: backup job FAILED (orders, tier critical)"
    );
    assert!(message.contains(&format!("Job: {job}")), "{message}");
    assert!(message.contains("Reason: "), "{message}");
    assert!(
        message.lines().any(|l| l == format!("Store: {table}")),
        "{message}"
    );
}

#[tokio::test]
async fn tampering_with_a_copy_in_the_dr_region_is_paged_at_home() {
    // Given the home stack and a recovery stack in the DR region sending AWS Backup's events
    // home, the critical table protected and copied to the DR region's vault, a trail logging,
    // and the on-call's queue on the home alert topic
    let t = TestAccount::new().await;
    let dr = crate::restore::dr_region();
    let home = crate::deployed::deployed_with_protected_table_and(
        &t,
        serde_json::json!({"Regions": HOME_REGION, "StateReplicaRegions": dr}),
    )
    .await;
    let table = home["outputs"]["InventoryTableName"]
        .as_str()
        .expect("the state table");
    crate::deployed::deploy_template_in(
        &t,
        &dr,
        serde_json::json!({
            "Deployment": "recovery", "StateTableName": table, "EvidenceLockDays": "1",
            "HomeRegion": HOME_REGION,
        }),
    );
    let topic = home["outputs"]["AlertTopicArn"]
        .as_str()
        .expect("the alert topic");
    let queue = subscribed_queue(&t, HOME_REGION, topic).await;
    crate::iam::completed_point_after_the_plans_run(&t).await;
    let orders = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/orders", t.account);
    let copy = loop {
        let points = t
            .backup(&dr)
            .list_recovery_points_by_backup_vault()
            .backup_vault_name("bulwark")
            .send()
            .await
            .expect("the DR vault's points");
        let done = points
            .recovery_points()
            .iter()
            .find(|p| {
                p.resource_arn() == Some(orders.as_str())
                    && p.status().is_some_and(|s| s.as_str() == "COMPLETED")
            })
            .and_then(|p| p.recovery_point_arn().map(str::to_string));
        if let Some(copy) = done {
            break copy;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    trail_logging(&t);

    // When someone tries to shorten the copy's retention in the DR region
    let operator = crate::iam::all_powerful_role(&t, "operator")
        .await
        .home_scope(bulwark_core::Scope {
            account: t.account.clone(),
            region: bulwark_core::Region::parse(&dr).expect("a region"),
        })
        .backup;
    let _ = operator
        .update_recovery_point_lifecycle()
        .backup_vault_name("bulwark")
        .recovery_point_arn(&copy)
        .lifecycle(lifecycle(1))
        .send()
        .await;

    // Then the home topic has the page, naming the copy's store, its tier and the DR region
    let (subject, message) = next_notice(&t, HOME_REGION, &queue).await;
    assert!(
        subject.contains("recovery point lifecycle changed (orders, tier critical)"),
        "{subject}"
    );
    assert!(message.contains(&format!("region {dr}")), "{message}");
    assert!(
        message.lines().any(|l| l == format!("Store: {orders}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("Recovery point: {copy}")),
        "{message}"
    );
}
