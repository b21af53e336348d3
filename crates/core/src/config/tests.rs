//! The loader's tests: what loads, and what is refused with which line and reason.

use std::path::Path;

use super::*;
use crate::duration::Duration;

#[test]
fn the_builtin_default_loads_with_the_taxonomy_of_design_md() {
    let config = Config::builtin();
    let names: Vec<&str> = config.tiers().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["critical", "important", "standard", "archival"]);
    let d = |s: &str| Duration::parse(s).expect("duration");
    for (name, rpo, rto, frequency, retention, copy) in [
        ("critical", "1h", "1h", "4h", "7y", true),
        ("important", "4h", "4h", "12h", "3y", true),
        ("standard", "24h", "24h", "24h", "1y", false),
        ("archival", "168h", "72h", "168h", "10y", false),
    ] {
        let tier = config.tier(name).expect("tier");
        assert_eq!(tier.rpo, d(rpo), "{name}");
        assert_eq!(tier.rto, d(rto), "{name}");
        assert_eq!(tier.frequency, d(frequency), "{name}");
        assert_eq!(tier.retention, d(retention), "{name}");
        assert_eq!(tier.cross_region_copy, copy, "{name}");
    }
    let critical = config.tier("critical").expect("critical");
    assert!(critical.continuous_backup);
    assert_eq!(critical.frequency_without_continuous, Some(d("1h")));
    assert_eq!(config.catch_all().then, Outcome::Tier("standard".into()));
}

#[test]
fn the_builtin_rules_follow_the_default_precedence() {
    let config = Config::builtin();
    let names: Vec<&str> = config.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "reproducible",
            "backup-not-required",
            "explicit-tier",
            "explicit-tier-number",
            "data-class",
            "environment",
            "name-critical",
            "name-important",
            "name-archival",
            "name-reproducible",
            "name-log",
        ]
    );
}

pub(super) const TIER: &str =
    "[tiers.gold]\nrpo = \"4h\"\nrto = \"4h\"\nfrequency = \"4h\"\nretention = \"1y\"\n";
pub(super) const RULE: &str = "[[rules]]\nname = \"default\"\nthen = \"gold\"\n";

pub(super) fn refused(text: &str) -> ConfigError {
    Config::from_toml_str("bad.toml", text).expect_err("refused")
}

#[track_caller]
pub(super) fn assert_refused(text: &str, line: usize, reason: &str) {
    let err = refused(text);
    assert_eq!(err.line, line, "{err}\n---\n{text}");
    assert!(err.message.contains(reason), "{err}\n---\n{text}");
    assert!(
        err.to_string().starts_with(&format!("bad.toml:{line}: ")),
        "{err}"
    );
}

#[test]
fn a_minimal_file_loads_with_the_documented_defaults() {
    let config = Config::from_toml_str("ok.toml", &format!("{TIER}{RULE}")).expect("valid");
    let gold = config.tier("gold").expect("gold");
    assert_eq!(gold.start_window, Duration::from_hours(1));
    assert_eq!(gold.completion_window, Duration::from_days(1));
    assert!(!gold.continuous_backup && !gold.cross_region_copy);
    assert_eq!(
        (gold.lock, gold.cold_storage_after, gold.cron.as_deref()),
        (None, None, None)
    );
    assert!(config.rules().is_empty());
}

#[test]
fn a_toml_syntax_error_names_its_line() {
    assert_refused(&format!("{TIER}{RULE}[tiers.silver\n"), 9, "unclosed table");
}

#[test]
fn unknown_keys_are_refused_where_they_stand() {
    let text = format!("{TIER}schedule = \"4h\"\n{RULE}");
    assert_refused(&text, 6, "unknown field `schedule`");
    let text = format!("{TIER}{RULE}when = \"always\"\n");
    assert_refused(&text, 9, "unknown field `when`");
    let text = format!("taxonomy = 1\n{TIER}{RULE}");
    assert_refused(&text, 1, "unknown field `taxonomy`");
    let text = format!("{TIER}lock = {{ min_retention = \"1d\", mode_ = \"governance\" }}\n{RULE}");
    assert_refused(&text, 6, "unknown field `mode_`");
}

#[test]
fn bad_values_are_refused_where_they_stand() {
    let text = TIER.replace("frequency = \"4h\"", "frequency = \"4 hours\"");
    assert_refused(&format!("{text}{RULE}"), 4, "invalid duration \"4 hours\"");
    let text = TIER.replace("rto = \"4h\"", "rto = 4");
    assert_refused(&format!("{text}{RULE}"), 3, "invalid type: integer `4`");
    let text = format!("{TIER}{RULE}")
        .replace("then = \"gold\"", "then = \"gold\"\nkinds = [\"redshift\"]");
    assert_refused(&text, 9, "unknown variant `redshift`");
    let text = format!("{TIER}lock = {{ mode = \"strict\", min_retention = \"1d\" }}\n{RULE}");
    assert_refused(&text, 6, "unknown variant `strict`");
    let text = TIER.replace("rpo = \"4h\"\n", "");
    assert_refused(&format!("{text}{RULE}"), 1, "missing field `rpo`");
}

#[test]
fn an_empty_tier_list_or_rule_list_is_refused() {
    assert_refused(RULE, 1, "no tiers");
    assert_refused("tiers = {}\n", 1, "no tiers");
    assert_refused(TIER, 1, "no rules");
}

#[test]
fn a_rule_naming_an_unknown_tier_is_refused() {
    let text = format!("{TIER}{}", RULE.replace("\"gold\"", "\"platinum\""));
    assert_refused(&text, 8, "\"platinum\" is not a tier (gold)");
    let text = format!(
        "{TIER}[[rules]]\nname = \"env\"\ntag_keys = [\"Env\"]\n\
         tag_values = {{ prod = \"gold\", dev = \"silver\" }}\n{RULE}"
    );
    assert_refused(&text, 9, "rule \"env\": \"silver\" is not a tier");
}

#[test]
fn duplicate_rule_names_are_refused() {
    let text = format!(
        "{TIER}[[rules]]\nname = \"default\"\nname_words = [\"prod\"]\nthen = \"gold\"\n{RULE}"
    );
    assert_refused(
        &text,
        11,
        "duplicate rule name \"default\" (first at line 7)",
    );
}

#[test]
fn the_rules_must_end_in_exactly_one_catch_all() {
    let text =
        format!("{TIER}[[rules]]\nname = \"prod\"\nname_words = [\"prod\"]\nthen = \"gold\"\n");
    assert_refused(&text, 7, "the last rule \"prod\" must match every asset");
    let text = format!(
        "{TIER}{RULE}[[rules]]\nname = \"later\"\nname_words = [\"prod\"]\nthen = \"gold\"\n"
    );
    assert_refused(
        &text,
        10,
        "rule \"later\" can never match: rule \"default\"",
    );
    let text = format!("{TIER}[[rules]]\nname = \"ebs\"\nkinds = [\"ebs\"]\nthen = \"gold\"\n");
    assert_refused(&text, 7, "the last rule \"ebs\" must match every asset");
}

#[test]
fn malformed_rules_are_refused_with_the_reason() {
    let rule = |body: &str| format!("{TIER}[[rules]]\nname = \"r\"\n{body}\n{RULE}");
    for (body, line, reason) in [
        ("name_words = [\"prod\"]", 7, "needs `then`"),
        (
            "tag_keys = [\"Env\"]\nthen = \"gold\"",
            9,
            "`then` is for name and catch-all rules",
        ),
        ("tag_keys = [\"Env\"]", 8, "tag_keys needs tag_values"),
        (
            "tag_values = { prod = \"gold\" }\nthen = \"gold\"",
            8,
            "tag_values needs tag_keys",
        ),
        (
            "tag_keys = []\ntag_values = { prod = \"gold\" }",
            8,
            "tag_keys is empty",
        ),
        (
            "tag_keys = [\"Env\"]\ntag_values = {}",
            9,
            "tag_values is empty",
        ),
        (
            "tag_keys = [\"Env\", \" env\"]\ntag_values = { a = \"gold\" }",
            8,
            "\" env\" is listed twice",
        ),
        (
            "tag_keys = [\"Env\"]\ntag_values = { Prod = \"gold\", prod = \"gold\" }",
            9,
            "listed twice",
        ),
        (
            "name_words = [\"orders-db\"]\nthen = \"gold\"",
            8,
            "is not a single word",
        ),
        (
            "name_contains = [\" \"]\nthen = \"gold\"",
            8,
            "entry \" \" is empty",
        ),
        (
            "name_words = [\"prod\"]\nname_contains = [\"x\"]\nthen = \"gold\"",
            7,
            "one matcher per rule",
        ),
        (
            "name_words = [\"prod\"]\nthen = \"next\"",
            9,
            "\"next\" decides nothing",
        ),
        (
            "kinds = []\nthen = \"gold\"",
            8,
            "kinds = [] matches nothing",
        ),
    ] {
        let text = rule(body);
        let err = refused(&text);
        assert_eq!(err.line, line, "{body}: {err}");
        assert!(err.message.contains(reason), "{body}: {err}");
        assert!(err.message.starts_with("rule \"r\": "), "{body}: {err}");
    }
    assert_refused(
        &format!("{TIER}[[rules]]\nname = \" \"\nthen = \"gold\"\n"),
        7,
        "non-empty name",
    );
}

#[test]
fn tiers_aws_backup_would_reject_are_refused_with_the_reason() {
    let tier = |extra: &str| format!("{TIER}{extra}\n{RULE}");
    for (extra, reason) in [
        ("cold_storage_after = \"300d\"", "leaves 65d in cold storage before the retention of 1y deletes it; AWS Backup requires at least 90d"),
        ("cold_storage_after = \"2y\"", "leaves 0m in cold storage"),
        ("cold_storage_after = \"36h\"", "cold_storage_after 36h must be a whole number of days"),
        ("lock = { min_retention = \"2y\" }", "lock min_retention 2y exceeds the tier's retention 1y"),
        ("lock = { min_retention = \"1d\", max_retention = \"30d\" }", "lock max_retention 30d is shorter than the tier's retention 1y"),
        ("lock = { min_retention = \"12h\" }", "must be a whole number of days from 1d to 100y"),
        ("continuous_backup = true\nlock = { min_retention = \"90d\" }", "longest AWS Backup keeps continuous backups"),
        ("frequency_without_continuous = \"1h\"", "applies only with continuous_backup = true"),
        ("start_window = \"30m\"", "start_window 30m is shorter than 1h"),
        ("start_window = \"8h\"\ncompletion_window = \"8h\"", "completion_window 8h must be longer than start_window 8h"),
        ("start_window = \"2d\"", "completion_window 1d must be longer than start_window 2d"),
        ("cron = \"0 5 * * ? *\"", "write it as AWS does"),
        ("cron = \"cron(0 5 * * *)\"", "six fields"),
        ("cron = \"cron(0 5 * * * *)\"", "'?' in day-of-month or day-of-week"),
        ("cron = \"cron(0 5 ? * * $)\"", "does not allow"),
        ("noncurrent_versions = { transition_after = \"10d\", storage_class = \"STANDARD_IA\" }", "only once it has been noncurrent for 30 days"),
        ("noncurrent_versions = { transition_after = \"30d\", storage_class = \"COLD\" }", "is not one S3 moves noncurrent versions to"),
        ("noncurrent_versions = { transition_after = \"90d\", expire_after = \"90d\" }", "expire_after 90d must be later than transition_after 90d"),
        ("noncurrent_versions = { storage_class = \"GLACIER\" }", "storage_class needs transition_after"),
        ("noncurrent_versions = { expire_after = \"36h\" }", "expire_after 36h must be a whole number of days"),
        ("noncurrent_versions = {}", "needs transition_after, expire_after or both"),
    ] {
        let text = tier(extra);
        let err = refused(&text);
        let line = 6 + extra.lines().count() - 1;
        assert_eq!(err.line, line, "{extra}: {err}");
        assert!(err.message.contains(reason), "{extra}: {err}");
        assert!(err.message.starts_with("tier \"gold\": "), "{extra}: {err}");
    }
    for (field, value, line, reason) in [
        (
            "frequency",
            "30m",
            4,
            "frequency 30m is shorter than 1h, the most frequent schedule AWS Backup accepts",
        ),
        (
            "retention",
            "36h",
            5,
            "retention 36h must be a whole number of days",
        ),
        ("rpo", "0m", 2, "rpo must be longer than 0m"),
    ] {
        let text = TIER
            .replace(
                &format!("{field} = \"4h\""),
                &format!("{field} = \"{value}\""),
            )
            .replace(
                "retention = \"1y\"",
                if field == "retention" {
                    "retention = \"36h\""
                } else {
                    "retention = \"1y\""
                },
            );
        assert_refused(&format!("{text}{RULE}"), line, reason);
    }
}

#[test]
fn tier_names_must_suit_aws_and_not_shadow_outcomes() {
    let text = format!(
        "{}{RULE}",
        TIER.replace("[tiers.gold]", "[tiers.\"gold tier\"]")
    );
    assert_refused(&text, 1, "tier name \"gold tier\"");
    let text = format!(
        "{}{RULE}",
        TIER.replace("[tiers.gold]", "[tiers.reproducible]")
    );
    assert_refused(&text, 1, "tier name \"reproducible\" is reserved");
}

#[test]
fn tiers_keep_the_order_of_the_file() {
    let text = format!("{}{TIER}{RULE}", TIER.replace("gold", "zinc"));
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    let names: Vec<&str> = config.tiers().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["zinc", "gold"]);
}

#[test]
fn protection_settings_default_when_the_section_is_left_out() {
    let config = Config::from_toml_str("ok.toml", &format!("{TIER}{RULE}")).expect("valid");
    assert_eq!(config.protection(), &ProtectionSettings::default());
    assert_eq!(
        Config::builtin().protection(),
        &ProtectionSettings::default()
    );
    assert!(Config::builtin().warnings().is_empty());
}

#[test]
fn protection_settings_are_read_from_their_section() {
    let text = format!(
        "[protection]\nvault_name = \"vault_1\"\ndr_region = \"eu-central-1\"\n\
         kms_key_alias = \"alias/team/backup\"\nbackup_role_name = \"Backup\"\n\
         admin_role_names = [\"ops/Admin\", \"Breakglass\"]\n{TIER}{RULE}"
    );
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    let p = config.protection();
    assert_eq!(
        (
            p.vault_name.as_str(),
            p.dr_region.as_str(),
            p.kms_key_alias.as_str()
        ),
        ("vault_1", "eu-central-1", "alias/team/backup")
    );
    assert_eq!(p.backup_role_arn("aws", "1"), "arn:aws:iam::1:role/Backup");
    assert_eq!(
        p.admin_role_arns("aws", "1"),
        [
            "arn:aws:iam::1:role/ops/Admin",
            "arn:aws:iam::1:role/Breakglass"
        ]
    );
    assert!(!p.allow_compliance_lock);
}

#[test]
fn bad_protection_settings_are_refused_where_they_stand() {
    for (setting, reason) in [
        (
            "vault_name = \"a\"",
            "vault_name \"a\": use 2 to 50 letters",
        ),
        ("vault_name = \"my vault\"", "use 2 to 50 letters"),
        ("dr_region = \"west\"", "dr_region \"west\""),
        ("kms_key_alias = \"bulwark\"", "write a KMS key alias"),
        (
            "kms_key_alias = \"alias/aws/backup\"",
            "customer-managed key",
        ),
        ("backup_role_name = \"/x\"", "not an IAM role name"),
        ("admin_role_names = []", "admin_role_names is empty"),
        (
            "admin_role_names = [\"A\", \"A\"]",
            "entry \"A\": is listed twice",
        ),
        ("admin_role_names = [\"a b\"]", "not an IAM role name"),
        ("vault = \"x\"", "unknown field `vault`"),
    ] {
        let text = format!("{TIER}{RULE}[protection]\n{setting}\n");
        let err = refused(&text);
        assert_eq!(err.line, 10, "{setting}: {err}");
        assert!(err.message.contains(reason), "{setting}: {err}");
    }
}

#[test]
fn a_cross_region_copy_needs_a_dr_region() {
    let text = format!("{TIER}cross_region_copy = true\n{RULE}");
    assert_refused(
        &text,
        6,
        "tier \"gold\" copies to the DR region, but [protection] names no dr_region",
    );
    let text = format!("[protection]\ndr_region = \"eu-west-1\"\n{text}");
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    assert_eq!(config.protection().dr_region, "eu-west-1");
}

#[test]
fn alerting_is_a_tier_setting() {
    let text = format!(
        "{TIER}alert = true\n[tiers.silver]\nrpo = \"1d\"\nrto = \"1d\"\n\
                        frequency = \"1d\"\nretention = \"30d\"\n{RULE}"
    );
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    assert_eq!(config.alerting_tiers(), vec!["gold"]);
    assert!(Config::builtin()
        .tiers()
        .iter()
        .all(|t| t.alert == (t.name == "critical")));
}

#[test]
fn dr_region_pairs_are_read_and_a_region_is_never_its_own() {
    let text = format!(
        "[protection]\ndr_region = \"us-west-2\"\n[protection.dr_regions]\n\
         \"eu-west-1\" = \"eu-central-1\"\n{TIER}cross_region_copy = true\n{RULE}"
    );
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    let p = config.protection();
    assert_eq!(p.dr_region_for("eu-west-1").as_deref(), Ok("eu-central-1"));
    assert_eq!(p.dr_region_for("us-east-1").as_deref(), Ok("us-west-2"));
    // dr_region's own region falls back to its default pair
    assert_eq!(p.dr_region_for("us-west-2").as_deref(), Ok("us-east-1"));
    // Pairs alone say where copies go
    let pairs = format!(
        "[protection.dr_regions]\n\"us-east-1\" = \"us-east-2\"\n\
         {TIER}cross_region_copy = true\n{RULE}"
    );
    assert!(Config::from_toml_str("ok.toml", &pairs).is_ok());
    assert_refused(
        &format!("[protection.dr_regions]\n\"eu-west-1\" = \"eu-west-1\"\n{TIER}{RULE}"),
        2,
        "[protection.dr_regions] \"eu-west-1\" is its own DR region",
    );
    assert_refused(
        &format!("[protection.dr_regions]\n\"eu-west-1\" = \"west\"\n{TIER}{RULE}"),
        2,
        "[protection.dr_regions] \"west\"",
    );
}

#[test]
fn a_compliance_lock_must_be_allowed_and_is_then_warned_about() {
    let lock = "lock = {\n  mode = \"compliance\",\n  min_retention = \"7d\" }\n";
    let text = format!("{TIER}{lock}{RULE}");
    assert_refused(
        &text,
        7,
        "tier \"gold\": a compliance lock cannot be undone",
    );
    assert!(refused(&text)
        .message
        .contains("allow_compliance_lock = true"));
    let text = format!("[protection]\nallow_compliance_lock = true\n{TIER}{lock}{RULE}");
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "ok.toml:9: warning: tier \"gold\": a compliance lock cannot be undone, by \
          anyone, AWS included, once its 3-day grace period passes"
        ]
    );
    let governance = format!("{TIER}{}{RULE}", lock.replace("compliance", "governance"));
    let config = Config::from_toml_str("ok.toml", &governance).expect("valid");
    assert!(config.warnings().is_empty());
}

const SILVER: &str = "[tiers.silver]\nrpo = \"1d\"\nrto = \"1d\"\nfrequency = \"1d\"\n";

#[test]
fn a_vault_lock_must_admit_every_tier_that_shares_the_vault() {
    let gold_locked =
        format!("{TIER}lock = {{ min_retention = \"60d\", max_retention = \"2y\" }}\n");
    for (silver, line, reason) in [
        (
            "retention = \"30d\"\n",
            11,
            "tier \"silver\": its recovery points are kept 30d, less than the min_retention \
             60d of the primary vault's lock (asked by tier \"gold\")",
        ),
        (
            "retention = \"5y\"\n",
            11,
            "tier \"silver\": its recovery points are kept 5y, more than the max_retention \
             2y of the primary vault's lock (asked by tier \"gold\")",
        ),
        (
            "continuous_backup = true\nretention = \"1y\"\n",
            12,
            "tier \"silver\": its continuous backups are kept 5w, less than the \
             min_retention 60d",
        ),
    ] {
        assert_refused(
            &format!("{gold_locked}{SILVER}{silver}{RULE}"),
            line,
            reason,
        );
    }
    // Only the tiers that copy share the DR vault.
    let text = format!(
        "[protection]\ndr_region = \"us-west-2\"\n{gold_locked}cross_region_copy = true\n\
         {SILVER}retention = \"1y\"\ncross_region_copy = true\n{RULE}"
    );
    assert!(Config::from_toml_str("ok.toml", &text).is_ok());
}

#[test]
fn a_tier_lock_the_shared_vault_loosens_is_warned_about() {
    let text = format!(
        "{TIER}lock = {{ min_retention = \"60d\" }}\n{SILVER}retention = \"1y\"\n\
         lock = {{ min_retention = \"7d\" }}\n{RULE}"
    );
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].starts_with(
            "ok.toml:5: warning: tier \"gold\" asks a lock min_retention of 60d, but the \
             primary vault"
        ),
        "{warnings:#?}"
    );
}

#[test]
fn an_unreadable_file_names_the_file() {
    let err = Config::load(Path::new("/nonexistent/bulwark.toml")).expect_err("missing");
    assert_eq!(err.line, 0);
    assert!(
        err.to_string()
            .starts_with("/nonexistent/bulwark.toml: cannot read"),
        "{err}"
    );
}

#[test]
fn a_region_without_a_dr_region_is_an_error_not_a_copy_into_itself() {
    let settings = ProtectionSettings {
        dr_region: "me-central-1".into(),
        ..ProtectionSettings::default()
    };
    assert!(settings
        .dr_region_for("me-central-1")
        .is_err_and(|e| e.contains("no DR region for me-central-1")));
    assert_eq!(
        settings.dr_region_for("us-east-1").as_deref(),
        Ok("me-central-1")
    );
}

#[test]
fn a_dr_rpo_needs_a_copy_and_room_for_an_hourly_copy() {
    let protection = "[protection]\ndr_region = \"us-west-2\"\n";
    // Lines 1-2 the protection, 3-7 the tier; line 8 the setting under test.
    assert_refused(
        &format!("{protection}{TIER}dr_rpo = \"6h\"\n{RULE}"),
        8,
        "dr_rpo needs cross_region_copy = true",
    );
    assert_refused(
        &format!("{protection}{TIER}dr_rpo = \"90m\"\ncross_region_copy = true\n{RULE}"),
        8,
        "dr_rpo 90m is less than 2h",
    );
    let config = Config::from_toml_str(
        "good.toml",
        &format!("{protection}{TIER}dr_rpo = \"6h\"\ncross_region_copy = true\n{RULE}"),
    )
    .expect("loads");
    let gold = config.tier("gold").expect("gold");
    assert_eq!(gold.dr_rpo, Some(Duration::from_hours(6)));
    // Snapshots every 4h reach the DR region within 6h: no copy beyond theirs
    assert_eq!(gold.dr_copy_frequency(Kind::Rds), None);
}

#[test]
fn a_central_retention_needs_a_central_backup_account_and_whole_days() {
    let central = "[central_backup]\naccount = \"999988887777\"\n\
                   organization_id = \"o-abcdefghij\"\nregion = \"eu-central-1\"\n";
    assert_refused(
        &format!("{TIER}central_retention = \"7y\"\n{RULE}"),
        6,
        "no [central_backup] section",
    );
    assert_refused(
        &format!("{TIER}central_retention = \"36h\"\n{RULE}{central}"),
        6,
        "not a whole number of days",
    );
    assert_refused(
        &format!("{TIER}{RULE}[central_backup]\naccount = \"12\"\norganization_id = \"o-abcdefghij\"\nregion = \"eu-central-1\"\n"),
        10,
        "account",
    );
    assert_refused(
        &format!("{TIER}{RULE}{central}secondary_region = \"eu-central-1\"\n"),
        13,
        "is the primary region",
    );
    assert_refused(
        &format!("{TIER}{RULE}{central}vault_name = \"bulwark\"\n"),
        13,
        "is [protection]'s vault",
    );
    let loaded = Config::from_toml_str(
        "good.toml",
        &format!("{TIER}central_retention = \"2555d\"\n{RULE}{central}"),
    )
    .expect("loads");
    assert_eq!(
        loaded.central_backup().map(|c| c.vault_name.as_str()),
        Some("bulwark-central")
    );
}

#[test]
fn s3_replication_needs_the_tiers_dr_region() {
    assert_refused(
        &format!("{TIER}s3_replication = true\n{RULE}"),
        6,
        "needs cross_region_copy = true",
    );
    let loaded = Config::from_toml_str(
        "good.toml",
        &format!(
            "{TIER}cross_region_copy = true\ns3_replication = true\n{RULE}[protection]\n\
             dr_region = \"us-west-2\"\nreplication_role_name = \"service-role/replicator\"\n"
        ),
    )
    .expect("loads");
    assert!(loaded.tier("gold").is_some_and(|t| t.s3_replication));
    assert_eq!(
        loaded
            .protection()
            .replication_role_arn("aws", "123456789012"),
        "arn:aws:iam::123456789012:role/service-role/replicator"
    );
    assert_refused(
        &format!("{TIER}{RULE}[protection]\nreplication_role_name = \"not a role\"\n"),
        10,
        "replication_role_name",
    );
}

#[test]
fn organization_policies_name_roots_ous_or_accounts_and_regions() {
    let section = |targets: &str, regions: &str| {
        format!("{TIER}{RULE}[organization_policies]\ntargets = {targets}\nregions = {regions}\n")
    };
    assert_refused(
        &section("[\"ou-ab12\"]", "[\"us-east-1\"]"),
        10,
        "not a root (r-…), an organizational unit",
    );
    assert_refused(&section("[]", "[\"us-east-1\"]"), 10, "targets is empty");
    assert_refused(
        &section("[\"r-ab12\"]", "[\"us-east-1\", \"us-east-1\"]"),
        11,
        "lists \"us-east-1\" twice",
    );
    let loaded = Config::from_toml_str(
        "good.toml",
        &section(
            "[\"r-ab12\", \"ou-ab12-cdef3456\", \"111122223333\"]",
            "[\"eu-west-1\"]",
        ),
    )
    .expect("loads");
    assert_eq!(
        loaded.organization_policies().map(|o| o.targets.len()),
        Some(3)
    );
}
