//! Classification's unit tests: each rule kind, unknown values and the catch-all.

use super::*;
use crate::arn::{AccountId, Region, ResourceArn};
use crate::asset::Attributes;
use crate::kind::Kind;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn asset(kind: Kind, name: &str, tags: &[(&str, &str)]) -> Asset {
    let region = Region::parse("eu-west-1").expect("region");
    let account = AccountId::parse("123456789012").expect("account");
    let arn = ResourceArn::new(kind, "aws", &region, &account, "store");
    let mut asset = Asset::observed(
        arn,
        account,
        region,
        tags.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Attributes::default(),
        Utc.timestamp_opt(0, 0).single().expect("epoch"),
    );
    asset.name = name.to_string();
    asset
}

fn builtin(name: &str, tags: &[(&str, &str)]) -> Classification {
    classify(&Config::builtin(), &asset(Kind::S3, name, tags))
}

fn unknown(key: &str, value: &str) -> UnknownValue {
    UnknownValue {
        key: key.into(),
        value: value.into(),
    }
}

#[test]
fn reproducible_stores_are_classified_but_not_backed_up() {
    let c = builtin("orders-prod", &[("Reproducible", "true")]);
    assert_eq!(c.tier, None);
    assert!(!c.backup_required);
    assert!(c.reproducible);
    assert_eq!(c.rule, "reproducible");
    assert_eq!(
        c.reasons,
        vec![r#"tag Reproducible="true" -> reproducible, not backed up (reproducible)"#]
    );
    assert!(builtin("x", &[(" reproducible ", " TRUE ")]).reproducible);
}

#[test]
fn backup_required_false_is_not_backed_up_and_not_called_reproducible() {
    let c = builtin("x", &[("BackupRequired", "False")]);
    assert_eq!(
        (c.tier, c.backup_required, c.reproducible),
        (None, false, false)
    );
    assert_eq!(c.rule, "backup-not-required");
}

#[test]
fn reproducible_beats_an_explicit_tier() {
    let c = builtin(
        "x",
        &[("Reproducible", "true"), ("DataClassification", "critical")],
    );
    assert_eq!(c.tier, None);
    assert!(c.reproducible);
    let c = builtin("x", &[("BackupRequired", "false"), ("BackupTier", "Tier1")]);
    assert_eq!(c.tier, None);
}

#[test]
fn reproducible_false_and_backup_required_true_decide_nothing() {
    let c = builtin(
        "x",
        &[
            ("Reproducible", "false"),
            ("BackupRequired", "true"),
            ("DataClassification", "critical"),
        ],
    );
    assert_eq!(c.tier.as_deref(), Some("critical"));
    assert!(c.unknown_values.is_empty());
    assert_eq!(
        c.reasons,
        vec![
            r#"tag Reproducible="false" -> no decision, next rule (reproducible)"#,
            r#"tag BackupRequired="true" -> no decision, next rule (backup-not-required)"#,
            r#"tag DataClassification="critical" -> critical (explicit-tier)"#,
        ]
    );
}

#[test]
fn an_explicit_tier_names_the_tier() {
    for (key, value, tier) in [
        ("DataClassification", "critical", "critical"),
        ("dataclassification", " Important", "important"),
        ("DATACLASSIFICATION ", "STANDARD", "standard"),
        ("DataClassification", "Archival ", "archival"),
        ("BackupTier", "Tier1", "critical"),
        ("backuptier", "tier2", "important"),
        ("Tier", " TIER3 ", "standard"),
        (" tier", "Tier4", "archival"),
    ] {
        let c = builtin("orders-prod", &[(key, value), ("Environment", "dev")]);
        assert_eq!(c.tier.as_deref(), Some(tier), "{key}={value}");
        assert!(
            c.rule.starts_with("explicit-tier"),
            "{key}={value}: {}",
            c.rule
        );
    }
}

#[test]
fn a_data_class_maps_to_its_tier() {
    for (value, tier) in [
        ("Restricted", "critical"),
        ("Confidential", "important"),
        ("internal", "standard"),
        (" PUBLIC ", "standard"),
    ] {
        let c = builtin(
            "orders-prod",
            &[("DataClassification", value), ("Env", "prod")],
        );
        assert_eq!(c.tier.as_deref(), Some(tier), "{value}");
        assert_eq!(c.rule, "data-class");
        assert!(
            c.unknown_values.is_empty(),
            "{value}: {:?}",
            c.unknown_values
        );
    }
}

/// Seed 000 turned this into a silent default.
#[test]
fn confidential_is_important_and_says_why() {
    let c = builtin("ledger", &[("DataClassification", "Confidential")]);
    assert_eq!(c.tier.as_deref(), Some("important"));
    assert_eq!(
        c.reasons,
        vec![r#"tag DataClassification="Confidential" -> important (data-class)"#]
    );
}

#[test]
fn the_environment_decides_after_tags_of_tier_and_class() {
    for (key, value, tier) in [
        ("Environment", "prod", Some("critical")),
        ("environment", "Production", Some("critical")),
        ("Env", "staging", Some("important")),
        ("ENV", " Test", Some("important")),
        ("Environment", "dev", Some("standard")),
        ("env", "DEVELOPMENT", Some("standard")),
        ("Environment", "sandbox", None),
    ] {
        let c = builtin("customer-archive", &[(key, value)]);
        assert_eq!(c.tier.as_deref(), tier, "{key}={value}");
        assert_eq!(c.rule, "environment");
        assert!(!c.reproducible);
    }
    let sandbox = builtin("x", &[("Environment", "Sandbox")]);
    assert!(!sandbox.backup_required);
    assert_eq!(
        sandbox.reasons,
        vec![r#"tag Environment="Sandbox" -> not backed up (environment)"#]
    );
}

#[test]
fn name_words_decide_after_tags() {
    for (name, tier, rule) in [
        ("orders-prod", Some("critical"), "name-critical"),
        ("ProdOrders", Some("critical"), "name-critical"),
        ("payments_production_01", Some("critical"), "name-critical"),
        ("critical-ledger", Some("critical"), "name-critical"),
        ("customers", Some("important"), "name-important"),
        ("order-history", Some("important"), "name-important"),
        ("user-profiles", Some("important"), "name-important"),
        ("nightly-backup", Some("archival"), "name-archival"),
        ("Archive2019", Some("archival"), "name-archival"),
        ("temp-files", None, "name-reproducible"),
        ("render-cache", None, "name-reproducible"),
        ("app-logs", Some("standard"), "name-log"),
        // Several groups: the earlier rule wins.
        ("prod-user-cache", Some("critical"), "name-critical"),
        ("superuser-cache", None, "name-reproducible"),
    ] {
        let c = builtin(name, &[]);
        assert_eq!(c.tier.as_deref(), tier, "{name}");
        assert_eq!(c.rule, rule, "{name}");
        assert_eq!(c.reproducible, rule == "name-reproducible", "{name}");
    }
    assert_eq!(
        builtin("orders-prod", &[]).reasons,
        vec![r#"name "orders-prod" has the word "prod" -> critical (name-critical)"#]
    );
    assert_eq!(
        builtin("customers", &[]).reasons,
        vec![
            r#"name "customers" has the word "customers" (plural of "customer") -> important (name-important)"#
        ]
    );
}

/// Word matching keeps "template" from being thrown away as temp data, and "product"
/// from being promoted as prod.
#[test]
fn a_pattern_inside_a_longer_word_does_not_match() {
    for name in [
        "product-catalog",
        "template-store",
        "catalogue",
        "border-control",
    ] {
        let c = builtin(name, &[]);
        assert_eq!(c.rule, "default", "{name}");
        assert_eq!(c.tier.as_deref(), Some("standard"), "{name}");
    }
}

#[test]
fn volumes_are_named_by_their_name_tag() {
    let c = classify(
        &Config::builtin(),
        &asset(Kind::Ebs, "vol-0abc", &[("Name", "prod-db-data")]),
    );
    assert_eq!(c.tier.as_deref(), Some("critical"));
    assert_eq!(
        c.reasons,
        vec![r#"tag Name "prod-db-data" has the word "prod" -> critical (name-critical)"#]
    );
}

#[test]
fn otherwise_standard() {
    let c = builtin("ledger", &[("Owner", "team-a")]);
    assert_eq!(c.tier.as_deref(), Some("standard"));
    assert!(c.backup_required);
    assert_eq!(c.rule, "default");
    assert_eq!(
        c.reasons,
        vec!["no other rule decided -> standard (default)"]
    );
    assert!(c.unknown_values.is_empty());
}

#[test]
fn an_unknown_value_is_reported_and_falls_through() {
    let c = builtin(
        "ledger",
        &[("DataClassification", "supersecret"), ("Env", "prod")],
    );
    assert_eq!(c.tier.as_deref(), Some("critical"));
    assert_eq!(c.rule, "environment");
    assert_eq!(
        c.unknown_values,
        vec![unknown("DataClassification", "supersecret")]
    );
    assert_eq!(
        c.reasons,
        vec![
            r#"tag DataClassification="supersecret": no rule knows this value; ignored"#,
            r#"tag Env="prod" -> critical (environment)"#,
        ]
    );

    let c = builtin("order-db", &[("Environment", "qa"), ("Tier", "gold")]);
    assert_eq!(c.tier.as_deref(), Some("important"));
    assert_eq!(c.rule, "name-important");
    assert_eq!(
        c.unknown_values,
        vec![unknown("Environment", "qa"), unknown("Tier", "gold")]
    );
}

#[test]
fn unknown_values_are_reported_even_when_an_earlier_rule_decides() {
    let c = builtin("x", &[("Reproducible", "true"), ("Env", "")]);
    assert!(c.reproducible);
    assert_eq!(c.unknown_values, vec![unknown("Env", "")]);
}

#[test]
fn the_first_listed_key_with_a_known_value_decides() {
    let c = builtin("x", &[("Environment", "prod"), ("Env", "dev")]);
    assert_eq!(c.tier.as_deref(), Some("critical"));
    let c = builtin("x", &[("Environment", "nonsense"), ("Env", "dev")]);
    assert_eq!(c.tier.as_deref(), Some("standard"));
    assert_eq!(c.unknown_values, vec![unknown("Environment", "nonsense")]);
}

fn custom(rules: &str) -> Config {
    let text = format!(
        "[tiers.gold]\nrpo = \"4h\"\nrto = \"4h\"\nfrequency = \"4h\"\nretention = \"1y\"\n\
         [tiers.bronze]\nrpo = \"1d\"\nrto = \"1d\"\nfrequency = \"1d\"\nretention = \"30d\"\n{rules}"
    );
    Config::from_toml_str("custom.toml", &text).expect("valid configuration")
}

#[test]
fn a_rule_can_be_limited_to_kinds() {
    let config = custom(
        "[[rules]]\nname = \"scratch-volumes\"\nkinds = [\"ebs\", \"efs\"]\nthen = \"not-backed-up\"\n\
         [[rules]]\nname = \"default\"\nthen = \"bronze\"\n",
    );
    let ebs = classify(&config, &asset(Kind::Ebs, "vol-1", &[]));
    assert_eq!(ebs.tier, None);
    assert_eq!(
        ebs.reasons,
        vec!["kind ebs -> not backed up (scratch-volumes)"]
    );
    let s3 = classify(&config, &asset(Kind::S3, "bucket", &[]));
    assert_eq!(s3.tier.as_deref(), Some("bronze"));
}

#[test]
fn a_kind_limited_tag_rule_neither_decides_nor_reports_for_other_kinds() {
    let config = custom(
        "[[rules]]\nname = \"tables\"\nkinds = [\"dynamodb\"]\ntag_keys = [\"Level\"]\n\
         tag_values = { high = \"gold\" }\n[[rules]]\nname = \"default\"\nthen = \"bronze\"\n",
    );
    let table = classify(&config, &asset(Kind::Dynamodb, "t", &[("Level", "HIGH")]));
    assert_eq!(table.tier.as_deref(), Some("gold"));
    assert_eq!(
        table.reasons,
        vec![r#"kind dynamodb: tag Level="HIGH" -> gold (tables)"#]
    );
    let bucket = classify(&config, &asset(Kind::S3, "b", &[("Level", "weird")]));
    assert_eq!(bucket.tier.as_deref(), Some("bronze"));
    assert!(bucket.unknown_values.is_empty());
}

#[test]
fn name_contains_matches_anywhere_in_the_name() {
    let config = custom(
        "[[rules]]\nname = \"users\"\nname_contains = [\"User\"]\nthen = \"gold\"\n\
         [[rules]]\nname = \"default\"\nthen = \"bronze\"\n",
    );
    let c = classify(&config, &asset(Kind::S3, "SuperUser-cache", &[]));
    assert_eq!(c.tier.as_deref(), Some("gold"));
    assert_eq!(
        c.reasons,
        vec![r#"name "SuperUser-cache" contains "user" -> gold (users)"#]
    );
}

#[test]
fn words_split_at_separators_digits_and_humps() {
    assert_eq!(words("ordersProd-01"), vec!["orders", "prod", "01"]);
    assert_eq!(words("HTTPCache"), vec!["http", "cache"]);
    assert_eq!(words("s3.logs__v2"), vec!["s", "3", "logs", "v", "2"]);
    assert_eq!(words("--"), Vec::<String>::new());
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

/// A known key and value of the built-in rules, and the tier they give.
fn known_tag() -> impl Strategy<Value = (&'static str, &'static str, Option<&'static str>)> {
    prop::sample::select(vec![
        ("DataClassification", "Restricted", Some("critical")),
        ("DataClassification", "Confidential", Some("important")),
        ("DataClassification", "archival", Some("archival")),
        ("BackupTier", "Tier2", Some("important")),
        ("Tier", "Tier4", Some("archival")),
        ("Environment", "production", Some("critical")),
        ("Env", "staging", Some("important")),
        ("Environment", "sandbox", None),
        ("Reproducible", "true", None),
        ("BackupRequired", "false", None),
    ])
}

fn vary(text: &str, flips: &[bool], left: &str, right: &str) -> String {
    let body: String = text
        .chars()
        .zip(flips.iter().cycle())
        .map(|(c, &up)| {
            if up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    format!("{left}{body}{right}")
}

proptest! {
    #[test]
    fn classification_never_panics_and_is_consistent(
        kind in kind_strategy(),
        name in "\\PC{0,40}",
        tags in prop::collection::btree_map("\\PC{0,20}", "\\PC{0,20}", 0..8),
    ) {
        let config = Config::builtin();
        let mut a = asset(kind, &name, &[]);
        a.tags = tags;
        let c = classify(&config, &a);
        prop_assert_eq!(c.backup_required, c.tier.is_some());
        prop_assert!(!(c.reproducible && c.backup_required));
        if let Some(tier) = &c.tier {
            prop_assert!(config.tier(tier).is_some());
        }
        let rule_known = config.rules().iter().any(|r| r.name == c.rule)
            || config.catch_all().name == c.rule;
        prop_assert!(rule_known);
        prop_assert!(!c.reasons.is_empty());
        for u in &c.unknown_values {
            prop_assert_eq!(a.tags.get(&u.key), Some(&u.value));
        }
    }

    #[test]
    fn case_and_whitespace_do_not_change_the_tier(
        (key, value, tier) in known_tag(),
        key_flips in prop::collection::vec(any::<bool>(), 1..8),
        value_flips in prop::collection::vec(any::<bool>(), 1..8),
        pads in prop::collection::vec(prop::sample::select(vec!["", " ", "  ", "\t"]), 4),
    ) {
        let key = vary(key, &key_flips, pads[0], pads[1]);
        let value = vary(value, &value_flips, pads[2], pads[3]);
        let c = builtin("plain", &[(&key, &value)]);
        prop_assert_eq!(c.tier.as_deref(), tier);
        prop_assert!(c.unknown_values.is_empty());
    }

    #[test]
    fn garbage_values_of_known_keys_are_reported_and_never_decide(
        key in prop::sample::select(vec!["DataClassification", "Tier", "BackupTier", "Environment", "Env"]),
        value in "[a-z]{12,20}",
    ) {
        let c = builtin("plain", &[(key, &value)]);
        prop_assert_eq!(c.tier.as_deref(), Some("standard"));
        prop_assert_eq!(c.rule.as_str(), "default");
        prop_assert_eq!(c.unknown_values, vec![unknown(key, &value)]);
    }
}
