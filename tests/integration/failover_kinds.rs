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

/// A configuration of an application of one Aurora cluster, its DR region's restores in
/// `network`, its instances of `class` when one is given.
fn aurora_application(t: &TestAccount, network: &(String, String), class: Option<&str>) -> String {
    let (group, security_group) = network;
    let class = class.map_or(String::new(), |c| format!("instance_class = \"{c}\"\n"));
    let text = format!(
        "{}\n[restore_prerequisites.\"{DR_REGION}\"]\ndb_subnet_group = \"{group}\"\n\
         security_groups = [\"{security_group}\"]\n{class}\
         [[applications]]\nname = \"payments\"\nprimary_region = \"{HOME_REGION}\"\n\
         stores = {{ tag = {{ key = \"Application\", value = \"ledger\" }} }}\n",
        bulwark_core::config::BUILTIN_TOML
    );
    let path = std::env::temp_dir().join(format!(
        "bulwark-failover-aurora-{}-{}.toml",
        t.account,
        class.len()
    ));
    std::fs::write(&path, text).expect("the configuration file");
    path.to_str().expect("a path").to_string()
}

#[tokio::test]
async fn an_aurora_plan_shows_the_topology_it_serves_from_its_hash_follows_it_and_the_failover_keeps_it(
) {
    // Given an Aurora cluster of two instances, critical, backed up and copied to the DR
    // region, and a network there
    let t = TestAccount::new().await;
    let app = [
        ("Application", "ledger"),
        ("DataClassification", "Critical"),
    ];
    crate::seed::aurora_cluster(&t, HOME_REGION, "ledger", 2, &app).await;
    let network = crate::seed::restore_network(&t, DR_REGION).await;
    for step in ["init", "discover", "classify", "apply"] {
        ok(&t, &[step]);
    }
    crate::restore::run_plans(&t);
    backup_role(&t).await;

    // When its failover is planned with the engine's default class, then with a class the
    // DR region's configuration names
    // (its copy reaches the DR region in a while)
    let planned = |class: Option<&str>| {
        let config = aurora_application(&t, &network, class);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let plan = plan_of(&t, std::path::Path::new(&config));
            if plan["plan"]["ready"] == true {
                return (config, plan["plan"].clone());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never ready: {plan:#}"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    };
    let (_, default) = planned(None);
    let (config, configured) = planned(Some("db.r6g.xlarge"));

    // Then each plan shows what the restored cluster serves from: as many instances as its
    // source, of the class; and the hash follows the class
    assert_eq!(
        default["stores"][0]["serving"],
        serde_json::json!({"instance_class": "db.r6g.large", "instances": 2}),
        "{default:#}"
    );
    assert_eq!(
        configured["stores"][0]["serving"],
        serde_json::json!({"instance_class": "db.r6g.xlarge", "instances": 2})
    );
    assert_ne!(default["hash"], configured["hash"]);

    // When it is failed over under the configured plan
    let hash = configured["hash"].as_str().expect("hash");
    let answer = json_of(&bulwark_with(
        &t,
        &[],
        &[execute(&config, hash), vec!["--confirm"]].concat(),
    ));

    // Then the restored cluster serves from two instances of that class
    let run = &answer["run"];
    assert_eq!(run["ending"]["outcome"], "succeeded", "{answer:#}");
    let cluster = run["stores"][0]["restored"]["id"]
        .as_str()
        .expect("the restored cluster");
    let rds = t.rds(DR_REGION);
    let members = rds
        .describe_db_clusters()
        .db_cluster_identifier(cluster)
        .send()
        .await
        .expect("the restored cluster")
        .db_clusters()
        .first()
        .map(|c| c.db_cluster_members().to_vec())
        .unwrap_or_default();
    assert_eq!(members.len(), 2, "{members:?}");
    for member in members {
        let id = member.db_instance_identifier().expect("an instance");
        let class = rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .expect("the instance")
            .db_instances()
            .first()
            .and_then(|db| db.db_instance_class())
            .map(str::to_string);
        assert_eq!(class.as_deref(), Some("db.r6g.xlarge"), "{id}");
    }
}
