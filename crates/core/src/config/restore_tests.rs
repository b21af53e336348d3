//! The loader's tests of what restore tests read: each tier's `restore_test` table and the
//! `[restore_prerequisites]` tables, what loads and what is refused with which line.

use super::tests::{assert_refused, refused, RULE, TIER};
use super::*;
use crate::duration::Duration;
use crate::restore::{Prices, Usd};
use crate::taxonomy::{PointChoice, RestoreTestPolicy};

fn d(s: &str) -> Duration {
    Duration::parse(s).expect("duration")
}

#[test]
fn the_builtin_default_tests_each_tier_at_its_documented_cadence() {
    let config = Config::builtin();
    for (name, cadence, dr_copy) in [
        ("critical", "1w", true),
        ("important", "30d", true),
        ("standard", "90d", false),
        ("archival", "1y", false),
    ] {
        let policy = config.tier(name).expect("tier").restore_test.clone();
        assert_eq!(
            policy,
            RestoreTestPolicy {
                enabled: true,
                cadence: d(cadence),
                within_runs: 1,
                recovery_point: PointChoice::Latest,
                dr_copy,
                validation_window: d("2h"),
                restore_deadline: d("1h"),
                monthly_budget: None,
                hook: None,
                instance_class: None,
            },
            "{name}"
        );
        // What the file writes out is what a file without the table gets.
        assert_eq!(policy, RestoreTestPolicy::defaults(name, dr_copy), "{name}");
    }
    assert_eq!(config.restore_prerequisites("us-east-1"), None);
    assert!(config.warnings().is_empty());
}

#[test]
fn a_tier_without_a_restore_test_table_gets_the_defaults_of_its_name() {
    let config = Config::from_toml_str("ok.toml", &format!("{TIER}{RULE}")).expect("valid");
    let policy = config.tier("gold").expect("gold").restore_test.clone();
    assert_eq!(policy.cadence, d("90d"), "a name the default does not know");
    assert!(policy.enabled && !policy.dr_copy);
    let critical =
        format!("{}{RULE}", TIER.replace("gold", "critical")).replace("\"gold\"", "\"critical\"");
    let config = Config::from_toml_str("ok.toml", &critical).expect("valid");
    let policy = config
        .tier("critical")
        .expect("critical")
        .restore_test
        .clone();
    assert_eq!(policy.cadence, d("1w"));
    assert!(
        !policy.dr_copy,
        "this critical tier has no cross_region_copy"
    );
}

#[test]
fn a_restore_test_table_is_read_in_either_form() {
    let table = "[tiers.gold.restore_test]\nenabled = false\ncadence = \"2w\"\n\
                 within_runs = 4\nrecovery_point = \"random\"\nrandom_within = \"3d\"\n\
                 validation_window = \"6h\"\ndr_copy = true\nrestore_deadline = \"3h\"\nmonthly_budget = 125.5\n";
    let text = format!(
        "[protection]\ndr_region = \"us-west-2\"\n{TIER}cross_region_copy = true\n{table}{RULE}"
    );
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    assert_eq!(
        config.tier("gold").expect("gold").restore_test,
        RestoreTestPolicy {
            enabled: false,
            cadence: d("2w"),
            within_runs: 4,
            recovery_point: PointChoice::Random { within: d("3d") },
            dr_copy: true,
            validation_window: d("6h"),
            restore_deadline: d("3h"),
            monthly_budget: Some(Usd::from_micros(125_500_000)),
            hook: None,
            instance_class: None,
        }
    );
    let small = format!("{TIER}restore_test = {{ instance_class = \"db.t4g.small\" }}\n{RULE}");
    let config = Config::from_toml_str("ok.toml", &small).expect("valid");
    assert_eq!(
        config
            .tier("gold")
            .expect("gold")
            .restore_test
            .instance_class,
        Some("db.t4g.small".to_string())
    );
    let inline = format!("{TIER}restore_test = {{ recovery_point = \"random\" }}\n{RULE}");
    let config = Config::from_toml_str("ok.toml", &inline).expect("valid");
    let policy = config.tier("gold").expect("gold").restore_test.clone();
    assert_eq!(
        policy.recovery_point,
        PointChoice::Random { within: d("7d") }
    );
    // A tier that copies may still leave its DR copy untested.
    let text = format!(
        "[protection]\ndr_region = \"us-west-2\"\n{TIER}cross_region_copy = true\n\
         restore_test = {{ dr_copy = false }}\n{RULE}"
    );
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    assert!(!config.tier("gold").expect("gold").restore_test.dr_copy);
}

#[test]
fn a_bad_restore_test_policy_is_refused_at_its_line() {
    for (body, line, reason) in [
        (
            "cadence = \"30m\"",
            7,
            "restore_test cadence 30m is shorter than 1h",
        ),
        (
            "within_runs = 0",
            7,
            "restore_test within_runs 0 must be from 1",
        ),
        ("within_runs = -2", 7, "within_runs -2 must be from 1"),
        (
            "within_runs = 1001",
            7,
            "within_runs 1001 must be from 1 (every due store, every run) to 1000",
        ),
        (
            "random_within = \"3d\"",
            7,
            "restore_test random_within applies only with recovery_point = \"random\"",
        ),
        (
            "recovery_point = \"latest\"\nrandom_within = \"3d\"",
            8,
            "random_within applies only with recovery_point = \"random\"",
        ),
        (
            "recovery_point = \"random\"\nrandom_within = \"30m\"",
            8,
            "restore_test random_within 30m is shorter than 1h",
        ),
        (
            "dr_copy = true",
            7,
            "restore_test dr_copy = true, but the tier has no cross_region_copy",
        ),
        (
            "validation_window = \"10m\"",
            7,
            "restore_test validation_window 10m must be from 15m to 1d",
        ),
        (
            "cadence = \"1w\"\nvalidation_window = \"25h\"",
            8,
            "validation_window 25h must be from 15m to 1d",
        ),
        (
            "monthly_budget = -5.0",
            7,
            "restore_test monthly_budget: -5 is not an amount of dollars, 0 or more",
        ),
        (
            "restore_deadline = \"2d\"",
            7,
            "restore_test restore_deadline 2d must be from 1m to 1d",
        ),
        (
            "instance_class = \"t4g.micro\"",
            7,
            "restore_test instance_class \"t4g.micro\": not a DB instance class",
        ),
    ] {
        let text = format!("{TIER}[tiers.gold.restore_test]\n{body}\n{RULE}");
        let err = refused(&text);
        assert_eq!(err.line, line, "{body}: {err}");
        assert!(err.message.contains(reason), "{body}: {err}");
        assert!(err.message.starts_with("tier \"gold\": "), "{body}: {err}");
    }
    assert_refused(
        &format!("{TIER}restore_test = {{ cadence = \"1w\", within_runs = 0 }}\n{RULE}"),
        6,
        "tier \"gold\": restore_test within_runs 0",
    );
}

#[test]
fn a_restore_test_table_of_the_wrong_shape_is_refused_at_its_line() {
    for (body, line, reason) in [
        ("cadence = \"a week\"", 7, "invalid duration \"a week\""),
        ("within_runs = \"3\"", 7, "invalid type: string \"3\""),
        ("recovery_point = \"oldest\"", 7, "unknown variant `oldest`"),
        ("enabled = \"no\"", 7, "invalid type: string \"no\""),
        ("cadance = \"1w\"", 7, "unknown field `cadance`"),
    ] {
        let text = format!("{TIER}[tiers.gold.restore_test]\n{body}\n{RULE}");
        assert_refused(&text, line, reason);
    }
}

const PREREQUISITES: &str = "[restore_prerequisites.\"eu-west-1\"]\n\
    db_subnet_group = \"Restore tests_1.a\"\n\
    security_groups = [\"sg-0123456789abcdef0\", \"sg-12345678\"]\n\
    kms_key = \"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"\n\
    instance_class = \"db.r6g.large\"\n\
    availability_zone = \"eu-west-1b\"\n\
    option_group = \"restores-mysql8\"\n\
    parameter_group = \"default.mysql8.0\"\n\
    cluster_parameter_group = \"restores-aurora\"\n\
    [restore_prerequisites.\"us-east-1\"]\n\
    kms_key = \"alias/team/restores\"\n\
    instance_class = \"db.serverless\"\n\
    [restore_prerequisites.\"cn-north-1\"]\n\
    kms_key = \"arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef\"\n";

#[test]
fn restore_prerequisites_are_read_per_region() {
    let config =
        Config::from_toml_str("ok.toml", &format!("{TIER}{RULE}{PREREQUISITES}")).expect("valid");
    assert_eq!(
        config.restore_prerequisites("eu-west-1"),
        Some(&RestorePrerequisites {
            db_subnet_group: Some("Restore tests_1.a".into()),
            security_groups: vec!["sg-0123456789abcdef0".into(), "sg-12345678".into()],
            kms_key: Some(
                "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                    .into()
            ),
            instance_class: Some("db.r6g.large".into()),
            availability_zone: Some("eu-west-1b".into()),
            option_group: Some("restores-mysql8".into()),
            parameter_group: Some("default.mysql8.0".into()),
            cluster_parameter_group: Some("restores-aurora".into()),
        })
    );
    assert_eq!(
        config.restore_prerequisites("us-east-1"),
        Some(&RestorePrerequisites {
            kms_key: Some("alias/team/restores".into()),
            instance_class: Some("db.serverless".into()),
            ..RestorePrerequisites::default()
        })
    );
    assert!(config.restore_prerequisites("cn-north-1").is_some());
    assert_eq!(config.restore_prerequisites("us-west-2"), None);
}

#[test]
fn bad_restore_prerequisites_are_refused_at_their_line() {
    let key = "123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for (setting, reason) in [
        (
            "db_subnet_group = \"\"",
            "db_subnet_group \"\": use 1 to 255 letters",
        ),
        ("db_subnet_group = \"1st\"", "starting with a letter"),
        ("db_subnet_group = \"a/b\"", "use 1 to 255 letters"),
        (
            &format!("db_subnet_group = \"{}\"", "a".repeat(256)),
            "use 1 to 255 letters",
        ),
        ("security_groups = []", "security_groups is empty"),
        (
            "availability_zone = \"us-west-2a\"",
            "availability_zone \"us-west-2a\": not an availability zone of",
        ),
        (
            "availability_zone = \"eu-west-1\"",
            "not an availability zone",
        ),
        (
            "option_group = \"opt--1\"",
            "option_group \"opt--1\": use 1 to 255",
        ),
        (
            "parameter_group = \"params-\"",
            "parameter_group \"params-\": use",
        ),
        (
            "cluster_parameter_group = \"1cluster\"",
            "cluster_parameter_group \"1cluster\": use",
        ),
        (
            "security_groups = [\"sg-123\"]",
            "entry \"sg-123\": not a security group id",
        ),
        (
            "security_groups = [\"sg-0123456789ABCDEF0\"]",
            "not a security group id",
        ),
        (
            "security_groups = [\"sg-12345678\", \"sg-12345678\"]",
            "entry \"sg-12345678\": is listed twice",
        ),
        (
            &format!("kms_key = \"arn:aws:kms:us-east-1:{key}\""),
            "the key is in \"us-east-1\": a restore in eu-west-1 needs a key of eu-west-1",
        ),
        (
            &format!("kms_key = \"arn:aws-cn:kms:eu-west-1:{key}\""),
            "partition \"aws-cn\": eu-west-1 is in \"aws\"",
        ),
        ("kms_key = \"alias/aws/rds\"", "an AWS managed key"),
        ("kms_key = \"alias/\"", "an alias name has letters"),
        (
            "kms_key = \"1234abcd-12ab-34cd-56ef-1234567890ab\"",
            "write a key ARN",
        ),
        (
            "kms_key = \"arn:aws:kms:eu-west-1:123456789012:alias/restores\"",
            "write a key ARN",
        ),
        (
            "kms_key = \"arn:aws:kms:eu-west-1:1234:key/mrk-0123456789abcdef0123456789abcdef\"",
            "write a key ARN",
        ),
        (
            "kms_key = \"arn:aws:kms:eu-west-1:123456789012:key/not-a-key\"",
            "key id \"not-a-key\"",
        ),
        ("instance_class = \"r6g.large\"", "not a DB instance class"),
        ("instance_class = \"db.r6g\"", "not a DB instance class"),
        (
            "instance_class = \"db.R6G.large\"",
            "not a DB instance class",
        ),
        (
            "instance_class = \"db.r6g.large.x\"",
            "not a DB instance class",
        ),
        ("subnet_group = \"x\"", "unknown field `subnet_group`"),
        ("security_groups = \"sg-12345678\"", "invalid type: string"),
    ] {
        let text = format!("{TIER}{RULE}[restore_prerequisites.\"eu-west-1\"]\n{setting}\n");
        let err = refused(&text);
        assert_eq!(err.line, 10, "{setting}: {err}");
        assert!(err.message.contains(reason), "{setting}: {err}");
    }
    let text = format!(
        "{TIER}{RULE}[restore_prerequisites.\"eu-west-1\"]\nsecurity_groups = [\n  \
         \"sg-12345678\",\n  \"sg-bad\",\n]\n"
    );
    assert_refused(
        &text,
        12,
        "[restore_prerequisites.\"eu-west-1\"] security_groups entry \"sg-bad\"",
    );
    let text = format!("{TIER}{RULE}[restore_prerequisites.west]\nkms_key = \"alias/x\"\n");
    assert_refused(
        &text,
        9,
        "[restore_prerequisites.\"west\"] invalid region \"west\"",
    );
    // The first problem in the file is the one reported, whatever the regions' names.
    let text = format!(
        "{TIER}{RULE}[restore_prerequisites.\"us-east-1\"]\nkms_key = \"bad\"\n\
         [restore_prerequisites.\"eu-west-1\"]\nkms_key = \"bad\"\n"
    );
    assert_refused(
        &text,
        10,
        "[restore_prerequisites.\"us-east-1\"] kms_key \"bad\"",
    );
}

#[test]
fn a_tiers_hook_is_a_lambda_function_and_a_bad_one_is_refused_with_its_line() {
    let ok = format!("{TIER}restore_test = {{ hook = \"bulwark-restore-hook-gold\" }}\n{RULE}");
    let config = Config::from_toml_str("ok.toml", &ok).expect("valid");
    assert_eq!(
        config
            .tier("gold")
            .expect("gold")
            .restore_test
            .hook
            .as_ref()
            .map(|h| h.as_str()),
        Some("bulwark-restore-hook-gold")
    );
    let bad = format!("{TIER}restore_test = {{ hook = \"not a function\" }}\n{RULE}");
    let line = TIER.lines().count() + 1;
    assert_refused(
        &bad,
        line,
        "restore_test hook: \"not a function\" is neither a Lambda function name",
    );
}

#[test]
fn restore_test_prices_replace_the_built_in_ones_they_name() {
    let text = format!(
        "{TIER}{RULE}[restore_test_prices]\ninstance_hour = {{ \"db.t4g.micro\" = 0.02, \"db.x2g.large\" = 0.5 }}\n\
         storage_gb_month = {{ dynamodb = 0.3 }}\n"
    );
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    let prices = config.restore_test_prices();
    assert_eq!(
        prices.instance_hour["db.t4g.micro"],
        Usd::from_micros(20_000)
    );
    assert_eq!(
        prices.instance_hour["db.x2g.large"],
        Usd::from_micros(500_000)
    );
    assert_eq!(
        prices.instance_hour["db.r6g.large"],
        Prices::builtin().instance_hour["db.r6g.large"]
    );
    assert_eq!(
        prices.storage_gb_month[&bulwark_kind("dynamodb")],
        Usd::from_micros(300_000)
    );
    for (table, line, message) in [
        (
            "instance_hour = { \"t4g.micro\" = 0.02 }",
            2,
            "not a DB instance class",
        ),
        ("restore_gb = { redshift = 0.1 }", 2, "not a kind"),
        (
            "storage_gb_month = { s3 = -1.0 }",
            2,
            "not an amount of dollars",
        ),
    ] {
        let text = format!("{TIER}{RULE}[restore_test_prices]\n{table}\n");
        let err = Config::from_toml_str("bad.toml", &text).expect_err(table);
        let first = text
            .lines()
            .position(|l| l.starts_with("[restore_test_prices]"))
            .expect("table")
            + line;
        assert_eq!(err.line, first, "{table}: {err}");
        assert!(err.to_string().contains(message), "{table}: {err}");
    }
}

fn bulwark_kind(name: &str) -> crate::kind::Kind {
    name.parse().expect("a kind")
}
