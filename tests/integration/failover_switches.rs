//! Switches put back exactly what they replaced: an alias record and a SecureString parameter
//! through a failover and its abort, and a weighted record, which the plan blocks.

use aws_sdk_route53::types::{AliasTarget, ResourceRecord, ResourceRecordSet, RrType};
use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;

use crate::failover::{backed_up_application, backup_role, create_record, DR_REGION};
use crate::failover_run::{bulwark_with, execute_app, json_of, run_id_of};
use crate::harness::{TestAccount, HOME_REGION};

const ZONE_NAME: &str = "shop.example.com";
const SECRET: &str = "/payments/orders-dsn";

fn route53(t: &TestAccount) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&t.config)
}

fn ssm(t: &TestAccount) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&t.in_region(DR_REGION))
}

fn set(name: &str, kind: RrType) -> aws_sdk_route53::types::builders::ResourceRecordSetBuilder {
    ResourceRecordSet::builder()
        .name(format!("{name}.{ZONE_NAME}."))
        .r#type(kind)
}

fn value(v: &str) -> ResourceRecord {
    ResourceRecord::builder().value(v).build().expect("a value")
}

/// A zone with `api` an alias of `origin`, and `canary` two weighted sets; a SecureString
/// parameter in the DR region with a key of its own and a description. The zone's id and the
/// key's.
async fn switches_of_every_shape(t: &TestAccount) -> (String, String) {
    let zone = route53(t)
        .create_hosted_zone()
        .name(ZONE_NAME)
        .caller_reference(format!("shapes-{}", t.account))
        .send()
        .await
        .expect("a zone")
        .hosted_zone()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .expect("its id");
    create_record(
        t,
        &zone,
        set("origin", RrType::A)
            .ttl(300)
            .resource_records(value("198.51.100.7"))
            .build()
            .expect("a set"),
    )
    .await;
    create_record(
        t,
        &zone,
        set("api", RrType::A)
            .alias_target(
                AliasTarget::builder()
                    .hosted_zone_id(&zone)
                    .dns_name(format!("origin.{ZONE_NAME}."))
                    .evaluate_target_health(false)
                    .build()
                    .expect("an alias"),
            )
            .build()
            .expect("a set"),
    )
    .await;
    for (id, weight) in [("blue", 90), ("green", 10)] {
        create_record(
            t,
            &zone,
            set("canary", RrType::Cname)
                .set_identifier(id)
                .weight(weight)
                .ttl(60)
                .resource_records(value(&format!("{id}.{ZONE_NAME}")))
                .build()
                .expect("a set"),
        )
        .await;
    }
    let key = aws_sdk_kms::Client::new(&t.in_region(DR_REGION))
        .create_key()
        .description("the payments secrets")
        .send()
        .await
        .expect("a key")
        .key_metadata()
        .map(|k| k.key_id().to_string())
        .expect("its id");
    ssm(t)
        .put_parameter()
        .name(SECRET)
        .value("postgres://orders.primary.example.net/orders")
        .r#type(ParameterType::SecureString)
        .key_id(&key)
        .description("the orders database")
        .send()
        .await
        .expect("the parameter");
    (zone, key)
}

/// The built-in configuration with `payments`, switching the alias and the SecureString, and
/// `canary`, switching the weighted record.
fn config(t: &TestAccount, zone: &str) -> std::path::PathBuf {
    let app = |name: &str, switches: &str| {
        format!(
            "[[applications]]\nname = \"{name}\"\nprimary_region = \"{HOME_REGION}\"\n\
             stores = {{ tag = {{ key = \"Application\", value = \"payments\" }} }}\n{switches}"
        )
    };
    let text = format!(
        "{}\n{}\n{}",
        bulwark_core::config::BUILTIN_TOML,
        app(
            "payments",
            &format!(
                "[[applications.switches]]\nkind = \"ssm\"\nparameter = \"{SECRET}\"\n\
                 value = \"postgres://{{orders.name}}/orders\"\n\
                 [[applications.switches]]\nkind = \"route53\"\nzone_id = \"{zone}\"\n\
                 name = \"api.{ZONE_NAME}\"\ntype = \"A\"\nvalue = \"192.0.2.10\"\n"
            )
        ),
        app(
            "canary",
            &format!(
                "[[applications.switches]]\nkind = \"route53\"\nzone_id = \"{zone}\"\n\
                 name = \"canary.{ZONE_NAME}\"\ntype = \"CNAME\"\nvalue = \"{{orders.name}}.example.net\"\n"
            )
        ),
    );
    let path = std::env::temp_dir().join(format!("bulwark-switches-{}.toml", t.account));
    std::fs::write(&path, text).expect("the configuration file");
    path
}

fn plan(t: &TestAccount, config: &str, app: &str) -> Value {
    json_of(&bulwark_with(
        t,
        &[],
        &[
            "--config", config, "failover", "plan", "--app", app, "--format", "json",
        ],
    ))
}

/// The api record's set as Route 53 answers it.
async fn api_record(t: &TestAccount, zone: &str) -> ResourceRecordSet {
    route53(t)
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(format!("api.{ZONE_NAME}."))
        .start_record_type(RrType::A)
        .max_items(1)
        .send()
        .await
        .expect("the records")
        .resource_record_sets()
        .first()
        .cloned()
        .expect("the api record")
}

/// The secret's value (decrypted), type, key and description.
async fn secret(t: &TestAccount) -> (String, String, Option<String>, Option<String>) {
    let value = ssm(t)
        .get_parameter()
        .name(SECRET)
        .with_decryption(true)
        .send()
        .await
        .expect("the parameter");
    let parameter = value.parameter().expect("a parameter");
    let described = ssm(t)
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .values(SECRET)
                .build()
                .expect("a filter"),
        )
        .send()
        .await
        .expect("described");
    let metadata = described.parameters().first().expect("its metadata");
    (
        parameter.value().unwrap_or_default().to_string(),
        parameter
            .r#type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        metadata.key_id().map(str::to_string),
        metadata.description().map(str::to_string),
    )
}

#[tokio::test]
async fn an_alias_and_a_secure_string_are_put_back_exactly_and_a_weighted_record_blocks_its_plan() {
    // Given an application's stores copied to the DR region, an alias record, a SecureString
    // with its own key, and a weighted record
    let t = TestAccount::new().await;
    let _ = backed_up_application(&t).await;
    backup_role(&t).await;
    let (zone, key) = switches_of_every_shape(&t).await;
    let config = config(&t, &zone);
    let config = config.to_str().expect("a path");
    let alias_before = api_record(&t, &zone).await;
    let secret_before = secret(&t).await;

    // When the plans are read
    let canary = plan(&t, config, "canary");
    let payments = plan(&t, config, "payments");

    // Then the weighted record blocks its plan, saying an abort could not put it back
    assert_eq!(canary["plan"]["ready"], false, "{canary:#}");
    let blocker = &canary["plan"]["switches"][0]["blockers"][0];
    assert_eq!(blocker["blocker"], "switch_not_restorable", "{canary:#}");
    assert!(
        blocker["reason"]
            .as_str()
            .is_some_and(|r| r.contains("weighted")),
        "{blocker}"
    );
    // and the other plan is ready, showing the SecureString by its version, never its value
    assert_eq!(payments["plan"]["ready"], true, "{payments:#}");
    let shown = payments["plan"]["switches"][0]["current"]
        .as_str()
        .expect("shown");
    assert!(shown.starts_with("(SecureString, version"), "{shown}");
    assert!(!payments.to_string().contains("orders.primary.example.net"));

    // When the failover is executed, and its process dies after its second switch
    let hash = payments["plan"]["hash"].as_str().expect("hash").to_string();
    let confirmed = [execute_app(config, "payments", &hash), vec!["--confirm"]].concat();
    let first = bulwark_with(&t, &[("BULWARK_FAULT_EXIT_AFTER", "switch")], &confirmed);
    let run_id = run_id_of(&first);
    let _ = bulwark_with(
        &t,
        &[("BULWARK_FAULT_EXIT_AFTER", "switch")],
        &[
            "--config",
            config,
            "failover",
            "resume",
            &run_id,
            "--poll-seconds",
            "0.2",
        ],
    );

    // Then the SecureString holds the restored table's address, still a SecureString with its
    // key, and the alias is a plain record of the new address
    let (value, kind, with_key, _) = secret(&t).await;
    assert!(value.contains("bulwark-fo-orders-"), "{value}");
    assert_eq!(kind, "SecureString");
    assert_eq!(with_key.as_deref(), Some(key.as_str()));
    let switched = api_record(&t, &zone).await;
    assert!(switched.alias_target().is_none(), "{switched:?}");
    assert_eq!(switched.resource_records()[0].value(), "192.0.2.10");

    // When the run is aborted
    let aborted = json_of(&bulwark_with(
        &t,
        &[],
        &[
            "--config", config, "failover", "abort", &run_id, "--format", "json",
        ],
    ));

    // Then both are exactly as they were: the alias with its target, the SecureString with
    // its value, key and description; and no record of the run holds the secret
    assert_eq!(
        aborted["run"]["ending"]["outcome"], "aborted",
        "{aborted:#}"
    );
    assert_eq!(api_record(&t, &zone).await, alias_before);
    assert_eq!(secret(&t).await, secret_before);
    assert!(
        !aborted.to_string().contains("orders.primary.example.net"),
        "{aborted:#}"
    );
}
