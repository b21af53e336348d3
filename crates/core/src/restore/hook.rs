//! Customer validation hooks: a Lambda function, named by a tier's `restore_test.hook` or by a
//! store's `bulwark:restore-hook` tag, that gets a restored copy's identifiers and answers
//! whether the copy holds what its owner expects (checks only the owner can write: SQL
//! queries, file checksums). Its answer is one more finding of the test.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Finding;
pub use crate::hook_function::HookFunction;

/// The tag that names a store's own hook, over its tier's.
pub const HOOK_TAG: &str = "bulwark:restore-hook";

/// The hook a store's test calls: its tag's, else its tier's. A tag that names no function is
/// an error with the reason: the test fails with it rather than skip the owner's check.
pub fn hook_for(
    tier_hook: Option<&HookFunction>,
    tags: &BTreeMap<String, String>,
) -> Result<Option<HookFunction>, String> {
    match tags.get(HOOK_TAG) {
        Some(value) => HookFunction::parse(value.trim())
            .map(Some)
            .map_err(|why| format!("tag {HOOK_TAG}: {why}")),
        None => Ok(tier_hook.cloned()),
    }
}

/// What a hook is sent: the store, and the restored copy to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRequest {
    pub test_id: String,
    pub store: HookStore,
    pub restored: HookStore,
    pub recovery_point_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookStore {
    pub arn: String,
    pub kind: String,
    /// A table's, bucket's or DB identifier's name; a volume's or file system's id.
    pub id: String,
    pub region: String,
}

/// A hook's answer: `{"passed": true|false, "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct HookAnswer {
    passed: bool,
    #[serde(default)]
    message: String,
}

/// The finding of a hook's invocation: its answer's verdict and message; a function error or
/// an answer of another shape fails the test, saying so.
pub fn hook_finding(hook: &HookFunction, payload: &[u8], function_error: Option<&str>) -> Finding {
    let check = format!("customer hook {hook}");
    let text = String::from_utf8_lossy(payload);
    if let Some(kind) = function_error {
        return Finding::new(
            &check,
            false,
            format!("the function failed ({kind}): {text}"),
        );
    }
    match serde_json::from_slice::<HookAnswer>(payload) {
        Ok(answer) => Finding::new(&check, answer.passed, answer.message),
        Err(e) => Finding::new(
            &check,
            false,
            format!("answered {text}, not {{\"passed\": bool, \"message\": string}}: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stores_tag_names_its_hook_over_its_tiers() {
        let tier = HookFunction::parse("tier-hook").expect("hook");
        let none = BTreeMap::new();
        assert_eq!(hook_for(Some(&tier), &none), Ok(Some(tier.clone())));
        assert_eq!(hook_for(None, &none), Ok(None));
        let tagged = BTreeMap::from([(HOOK_TAG.to_string(), " store-hook ".to_string())]);
        assert_eq!(
            hook_for(Some(&tier), &tagged),
            Ok(Some(HookFunction::parse("store-hook").expect("hook")))
        );
        let bad = BTreeMap::from([(HOOK_TAG.to_string(), "not a function".to_string())]);
        let err = hook_for(Some(&tier), &bad).expect_err("refused");
        assert!(err.starts_with("tag bulwark:restore-hook: "), "{err}");
    }

    #[test]
    fn a_hooks_answer_becomes_a_finding() {
        let hook = HookFunction::parse("h").expect("hook");
        let passed = hook_finding(&hook, br#"{"passed": true, "message": "42 rows"}"#, None);
        assert_eq!(passed, Finding::new("customer hook h", true, "42 rows"));
        let failed = hook_finding(&hook, br#"{"passed": false, "message": "no rows"}"#, None);
        assert_eq!(failed, Finding::new("customer hook h", false, "no rows"));
        let errored = hook_finding(&hook, br#"{"errorMessage": "boom"}"#, Some("Unhandled"));
        assert!(!errored.passed);
        assert_eq!(
            errored.detail,
            r#"the function failed (Unhandled): {"errorMessage": "boom"}"#
        );
        let odd = hook_finding(&hook, br#"{"ok": true}"#, None);
        assert!(!odd.passed);
        assert!(
            odd.detail.starts_with(r#"answered {"ok": true}, not"#),
            "{}",
            odd.detail
        );
    }
}
