//! Selection matching: wildcards and tag conditions.

use std::collections::BTreeMap;

use super::super::selection::wildcard_match;
use super::super::*;

#[test]
fn wildcards_match_any_run_of_characters() {
    for (pattern, text, matches) in [
        (
            "arn:aws:rds:*:*:db:*",
            "arn:aws:rds:eu-west-1:123456789012:db:orders",
            true,
        ),
        (
            "arn:aws:rds:*:*:db:*",
            "arn:aws:rds:eu-west-1:123456789012:cluster:orders",
            false,
        ),
        ("arn:aws:s3:::*", "arn:aws:s3:::bucket", true),
        ("arn:aws:s3:::*", "arn:aws:s3:::", true),
        ("a*b*c", "aXbYbZc", true),
        ("a*b*c", "aXbYbZ", false),
        ("*", "", true),
        ("abc", "abcd", false),
    ] {
        assert_eq!(wildcard_match(pattern, text), matches, "{pattern} ~ {text}");
    }
}

#[test]
fn tag_conditions_are_exact_and_all_must_hold() {
    let selection = Selection {
        name: "s".into(),
        plan_name: "p".into(),
        iam_role_arn: "r".into(),
        resources: vec!["arn:aws:s3:::*".into()],
        conditions: vec![
            TagCondition {
                key: TIER_TAG.into(),
                value: "gold".into(),
            },
            TagCondition {
                key: "team".into(),
                value: "a".into(),
            },
        ],
    };
    let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let arn = "arn:aws:s3:::b";
    assert!(selection_matches(
        &selection,
        arn,
        &tags(&[(TIER_TAG, "gold"), ("team", "a")])
    ));
    assert!(!selection_matches(
        &selection,
        arn,
        &tags(&[(TIER_TAG, "gold")])
    ));
    assert!(!selection_matches(
        &selection,
        arn,
        &tags(&[(TIER_TAG, "Gold"), ("team", "a")])
    ));
    assert!(!selection_matches(
        &selection,
        arn,
        &tags(&[("Bulwark:Tier", "gold"), ("team", "a")])
    ));
    assert!(!selection_matches(
        &selection,
        "arn:aws:rds:us-east-1:123456789012:db:x",
        &tags(&[(TIER_TAG, "gold"), ("team", "a")])
    ));
}
