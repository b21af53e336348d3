//! docs/configuration.md and the built-in default stay true: the documented example loads
//! and classifies as the document says, and a user file replaces the default.

use std::collections::BTreeMap;

use bulwark_core::{
    classify, rpo_feasibility, AccountId, Asset, Attributes, Config, Duration, Kind, PointChoice,
    Region, ResourceArn,
};
use chrono::Utc;

const DOC: &str = include_str!("../../../docs/configuration.md");

/// The TOML block under the document's "A complete example" heading.
fn documented_example() -> &'static str {
    let section = DOC
        .split("## A complete example")
        .nth(1)
        .expect("the document has a complete example");
    let block = section
        .split("```toml\n")
        .nth(1)
        .expect("the example is a toml block");
    block.split("```").next().expect("the block is closed")
}

fn asset(kind: Kind, name: &str, tags: &[(&str, &str)]) -> Asset {
    let region = Region::parse("us-east-1").expect("region");
    let account = AccountId::parse("123456789012").expect("account");
    let arn = ResourceArn::new(kind, "aws", &region, &account, name);
    let tags: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Asset::observed(
        arn,
        account,
        region,
        tags,
        Attributes::default(),
        Utc::now(),
    )
}

#[test]
fn the_documented_example_loads_and_classifies_as_documented() {
    let config = Config::from_toml_str("example.toml", documented_example()).expect("loads");
    let names: Vec<&str> = config.tiers().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["gold", "bronze"]);

    let tier = |kind, name, tags| classify(&config, &asset(kind, name, tags)).tier;
    assert_eq!(tier(Kind::S3, "x", &[("Scratch", "YES")]), None);
    assert_eq!(
        tier(Kind::S3, "x", &[("Scratch", "no"), ("Tier", "Gold")]),
        Some("gold".into())
    );
    assert_eq!(tier(Kind::Ebs, "vol-1", &[("Env", "dev")]), None);
    assert_eq!(
        tier(Kind::S3, "dev-bucket", &[("Env", "dev")]),
        Some("bronze".into())
    );
    assert_eq!(tier(Kind::Rds, "payments-db", &[]), Some("gold".into()));
    assert_eq!(tier(Kind::Dynamodb, "sessions", &[]), Some("bronze".into()));

    let unmet: Vec<String> = rpo_feasibility(&config)
        .iter()
        .filter(|f| !f.met)
        .map(ToString::to_string)
        .collect();
    assert!(unmet.is_empty(), "{unmet:#?}");
}

#[test]
fn a_user_file_replaces_the_default_entirely() {
    let path = std::env::temp_dir().join(format!("bulwark-config-{}.toml", std::process::id()));
    std::fs::write(&path, documented_example()).expect("write");
    let loaded = Config::load(&path);
    std::fs::remove_file(&path).expect("remove");
    let config = loaded.expect("loads");
    assert!(config.tier("critical").is_none());
    let c = classify(
        &config,
        &asset(Kind::S3, "orders-prod", &[("Environment", "prod")]),
    );
    assert_eq!(c.tier.as_deref(), Some("bronze"));
    assert_eq!(c.rule, "default");
}

#[test]
fn a_bad_file_is_refused_with_its_name_and_line() {
    let bad = documented_example().replace("retention = \"35d\"", "retention = \"35 days\"");
    let line = 1 + bad
        .lines()
        .position(|l| l.contains("35 days"))
        .expect("the edited line");
    let err = Config::from_toml_str("bulwark.toml", &bad).expect_err("refused");
    assert_eq!(err.line, line);
    let expected = format!("bulwark.toml:{line}: invalid duration \"35 days\"");
    assert!(err.to_string().starts_with(&expected), "{err}");
}

#[test]
fn the_builtin_default_is_the_documented_default() {
    let text = bulwark_core::config::BUILTIN_TOML;
    assert_eq!(
        Config::from_toml_str("default-config.toml", text).expect("loads"),
        Config::builtin()
    );
    for rule in Config::builtin().rules() {
        assert!(
            DOC.contains(&format!("`{}`", rule.name)),
            "{} undocumented",
            rule.name
        );
    }
}

#[test]
fn the_documented_rendering_is_the_default_rendering() {
    let state =
        bulwark_core::render(&Config::builtin(), "123456789012", "us-east-1").expect("renders");
    for plan in state.plans.keys() {
        assert!(
            DOC.contains(&format!("`{plan}`")),
            "plan {plan} undocumented"
        );
    }
    for key in [
        "vault_name",
        "dr_region",
        "kms_key_alias",
        "backup_role_name",
        "admin_role_names",
        "maintainer_role_names",
        "allow_compliance_lock",
        "rds_apply_immediately",
    ] {
        assert!(DOC.contains(&format!("| `{key}` |")), "{key} undocumented");
        assert!(
            bulwark_core::config::BUILTIN_TOML.contains(&format!("\n{key} = ")),
            "{key} not spelt out in the default"
        );
    }
}

#[test]
fn the_documented_restore_tests_load_as_documented() {
    let config = Config::from_toml_str("example.toml", documented_example()).expect("loads");
    let gold = config.tier("gold").expect("gold").restore_test.clone();
    assert_eq!(
        (gold.cadence, gold.within_runs, gold.dr_copy),
        (Duration::from_days(14), 2, true),
        "gold copies to the DR region, so its DR copy is tested by default"
    );
    let bronze = config.tier("bronze").expect("bronze").restore_test.clone();
    assert_eq!(bronze.cadence, Duration::from_days(90));
    assert_eq!(
        bronze.recovery_point,
        PointChoice::Random {
            within: Duration::from_days(30)
        }
    );
    let prerequisites = config
        .restore_prerequisites("eu-west-1")
        .expect("eu-west-1's table");
    assert_eq!(
        prerequisites.db_subnet_group.as_deref(),
        Some("restore-tests")
    );

    // Each example of the section loads in a file of its own.
    let section = DOC
        .split("## Restore tests")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the document has a Restore tests section");
    let tier = "[protection]\ndr_region = \"us-west-2\"\n[tiers.critical]\nrpo = \"1h\"\n\
                rto = \"1h\"\nfrequency = \"1h\"\nretention = \"30d\"\ncross_region_copy = true\n";
    let rule = "[[rules]]\nname = \"default\"\nthen = \"critical\"\n";
    let blocks: Vec<&str> = section
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(blocks.len(), 5, "{blocks:#?}");
    for block in blocks {
        let text = format!("{tier}{block}{rule}");
        let loaded = Config::from_toml_str("section.toml", &text);
        assert!(loaded.is_ok(), "{loaded:?}\n---\n{text}");
        // The prices the document shows are the built-in ones.
        let documented = loaded.expect("loaded");
        if block.starts_with("[restore_test_prices]") {
            assert_eq!(
                documented.restore_test_prices(),
                &bulwark_core::restore::Prices::builtin(),
                "{block}"
            );
        }
        if block.starts_with("[backup_storage_prices]") {
            assert_eq!(
                documented.backup_storage_prices(),
                &bulwark_core::backup_cost::StoragePrices::builtin(),
                "{block}"
            );
        }
    }
}

#[test]
fn the_documented_applications_load_as_documented() {
    use bulwark_core::application::{StoreSelector, SwitchTarget};

    let config = Config::from_toml_str("example.toml", documented_example()).expect("loads");
    let payments = config.application("payments").expect("payments");
    assert_eq!(
        payments.dr_region.as_str(),
        "eu-west-1",
        "[protection]'s dr_region"
    );
    assert_eq!(payments.max_data_loss, Some(Duration::from_hours(1)));
    assert_eq!(
        payments.stores,
        StoreSelector::Tag {
            key: "Application".into(),
            value: "payments".into()
        }
    );
    let targets: Vec<String> = payments
        .switches
        .iter()
        .map(|s| s.target.to_string())
        .collect();
    assert_eq!(
        targets,
        [
            "route53 Z0123456789ABCDEFGHIJ db.payments.example.com. CNAME",
            "ssm eu-west-1 /payments/ledger-table",
        ]
    );
    assert_eq!(payments.switches[0].ttl, Some(60), "the documented default");

    // The section's example loads in a file of its own.
    let section = DOC
        .split("## Applications (failover)")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the document has an Applications section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a toml block");
    let text = format!(
        "[tiers.gold]\nrpo = \"1h\"\nrto = \"1h\"\nfrequency = \"1h\"\nretention = \"30d\"\n\
         [[rules]]\nname = \"default\"\nthen = \"gold\"\n{block}"
    );
    let config = Config::from_toml_str("section.toml", &text).expect("loads");
    let payments = config.application("payments").expect("payments");
    assert!(matches!(
        &payments.switches[1].target,
        SwitchTarget::Ssm { region, .. } if region.as_str() == "us-west-2"
    ));
}
