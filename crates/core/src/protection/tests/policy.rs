//! Policies read back from AWS compare with the rendered ones.

use serde_json::Value;

use super::super::*;
use super::ACCOUNT;

#[test]
fn policies_read_back_in_another_layout_normalize_to_the_rendered_text() {
    let rendered = access_policy(&ProtectionSettings::default(), "aws", ACCOUNT);
    let value: Value = serde_json::from_str(&rendered).expect("json");
    let pretty = serde_json::to_string_pretty(&value).expect("pretty");
    assert_eq!(normalize_policy(&pretty).expect("normalize"), rendered);
    assert!(normalize_policy("{not json").is_err());
}
