//! A failover of an application of all six kinds: every store restored into the DR region's
//! own network, and the switches pointed at the restored databases' endpoints.

use crate::cli::ok;
use crate::failover::{backup_role, plan_of, switches_as_they_are, DR_REGION};
use crate::failover_run::{
    bulwark_with, execute, json_of, planned_name, restore_jobs, switch_values,
};
use crate::harness::{TestAccount, HOME_REGION};

/// An application of all six kinds, critical, in the home region: a table, a bucket, an RDS
/// instance, an Aurora cluster, an EBS volume and an EFS file system; backed up and copied to
/// the DR region, where databases restore into a network of their own. Its configuration: a
/// record pointing at the instance's endpoint, a parameter at the cluster's endpoint and port.
async fn six_kinds(t: &TestAccount, zone: &str) -> std::path::PathBuf {
    let (group, security_group) = six_kinds_protected(t).await;
    let text = format!(
        "{}\n[restore_prerequisites.\"{DR_REGION}\"]\ndb_subnet_group = \"{group}\"\n\
         security_groups = [\"{security_group}\"]\n\
         [[applications]]\nname = \"payments\"\nprimary_region = \"{HOME_REGION}\"\n\
         stores = {{ tag = {{ key = \"Application\", value = \"payments\" }} }}\n\
         [[applications.switches]]\nkind = \"route53\"\nzone_id = \"{zone}\"\n\
         name = \"orders.payments.example.com\"\ntype = \"CNAME\"\n\
         value = \"{{orders-db.endpoint}}\"\n\
         [[applications.switches]]\nkind = \"ssm\"\nparameter = \"/payments/orders-table\"\n\
         value = \"{{ledger.endpoint}}:{{ledger.port}}\"\n",
        bulwark_core::config::BUILTIN_TOML
    );
    let path = std::env::temp_dir().join(format!("bulwark-failover-six-{}.toml", t.account));
    std::fs::write(&path, text).expect("the configuration file");
    path
}

/// The stores of an application of all six kinds, critical, tagged `Application=payments` in
/// the home region, protected with the CLI, backed up and copied to the DR region, with AWS
/// Backup's role; the DR region's DB subnet group and security group.
pub(crate) async fn six_kinds_protected(t: &TestAccount) -> (String, String) {
    let app = [
        ("Application", "payments"),
        ("DataClassification", "Critical"),
    ];
    crate::seed::table(t, HOME_REGION, "orders", &app).await;
    crate::seed::bucket(t, HOME_REGION, &format!("receipts-{}", t.account), &app).await;
    crate::seed::rds_instance(t, HOME_REGION, "orders-db", &app).await;
    crate::seed::aurora_cluster(t, HOME_REGION, "ledger", 1, &app).await;
    crate::seed::volume(t, HOME_REGION, &app).await;
    crate::seed::file_system(t, HOME_REGION, "payments-files", &app).await;
    let network = crate::seed::restore_network(t, DR_REGION).await;
    for step in ["init", "discover", "classify", "apply"] {
        ok(t, &[step]);
    }
    crate::restore::run_plans(t);
    backup_role(t).await;
    network
}

#[tokio::test]
async fn an_application_of_all_six_kinds_fails_over_and_its_endpoints_are_switched() {
    // Given an application of every kind, backed up and copied to the DR region
    let t = TestAccount::new().await;
    let zone = switches_as_they_are(&t).await;
    let config = six_kinds(&t, &zone).await;
    let cfg = config.to_str().expect("a path");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let plan = loop {
        let plan = plan_of(&t, &config);
        if plan["plan"]["ready"] == true {
            break plan;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never ready: {plan:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(plan["plan"]["stores"].as_array().map(Vec::len), Some(6));
    let hash = plan["plan"]["hash"].as_str().expect("hash").to_string();

    // When it is failed over
    let answer = json_of(&bulwark_with(
        &t,
        &[],
        &[execute(cfg, &hash), vec!["--confirm"]].concat(),
    ));

    // Then every store was restored in the DR region and passed its validation
    let run = &answer["run"];
    assert_eq!(run["ending"]["outcome"], "succeeded", "{answer:#}");
    assert_eq!(restore_jobs(&t).await, 6);
    let kinds: Vec<&str> = run["plan"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .filter_map(|s| s["arn"].as_str())
        .filter_map(|a| a.split(':').nth(2))
        .collect();
    for kind in ["s3", "dynamodb", "rds", "ec2", "elasticfilesystem"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    for store in run["stores"].as_array().expect("stores") {
        assert!(store["restored"]["id"].is_string(), "{store}");
        assert!(
            store["findings"]
                .as_array()
                .is_some_and(|f| !f.is_empty() && f.iter().all(|f| f["passed"] == true)),
            "{store}"
        );
    }
    // And the switches answer the restored databases' endpoints in the DR region
    let instance = planned_name(run, ":db:");
    let described = t
        .rds(DR_REGION)
        .describe_db_instances()
        .db_instance_identifier(&instance)
        .send()
        .await
        .expect("the restored instance");
    let endpoint = described
        .db_instances()
        .first()
        .and_then(|db| db.endpoint())
        .and_then(|e| e.address())
        .expect("its endpoint")
        .to_string();
    let (record, parameter) = switch_values(&t, &zone).await;
    assert_eq!(record, endpoint);
    assert!(parameter.contains(DR_REGION), "{parameter}");
    assert!(parameter.ends_with(":5432"), "{parameter}");
    // And the restored Aurora cluster serves from an instance of its own
    let cluster = run["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .filter_map(|s| s["restored"]["id"].as_str())
        .find(|id| id.starts_with("bulwark-fo-ledger-"))
        .expect("the restored cluster")
        .to_string();
    let members = t
        .rds(DR_REGION)
        .describe_db_clusters()
        .db_cluster_identifier(&cluster)
        .send()
        .await
        .expect("the restored cluster")
        .db_clusters()
        .first()
        .map(|c| c.db_cluster_members().len())
        .unwrap_or_default();
    assert_eq!(members, 1);
}
