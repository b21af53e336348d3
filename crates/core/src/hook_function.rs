//! A Lambda function a customer names for Bulwark to call (a restore test's validation hook),
//! parsed as Lambda's Invoke takes it.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A Lambda function, by name or ARN, as Invoke's FunctionName takes it (Lambda API reference:
/// a name of 1 to 64 letters, digits, `-` or `_`; or the function's ARN, unqualified or with a
/// version or alias).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HookFunction(String);

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_-]{1,64}$").expect("pattern"));
static ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):\d{12}:function:[a-zA-Z0-9_-]{1,64}(?::(?:\$LATEST|[a-zA-Z0-9_-]{1,128}))?$",
    )
    .expect("pattern")
});

impl HookFunction {
    pub fn parse(value: &str) -> Result<Self, String> {
        if NAME.is_match(value) || ARN.is_match(value) {
            Ok(Self(value.to_string()))
        } else {
            Err(format!(
                "{value:?} is neither a Lambda function name (1 to 64 letters, digits, - or _) \
                 nor a function ARN"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The function's region when it is named by ARN; a bare name is the caller's region's.
    pub fn region(&self) -> Option<&str> {
        ARN.captures(&self.0)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str())
    }
}

impl TryFrom<String> for HookFunction {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<HookFunction> for String {
    fn from(hook: HookFunction) -> Self {
        hook.0
    }
}

impl fmt::Display for HookFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_is_a_function_name_or_arn() {
        assert!(HookFunction::parse("bulwark-restore-hook-orders").is_ok());
        let arn = HookFunction::parse(
            "arn:aws:lambda:eu-west-1:123456789012:function:bulwark-restore-hook-orders:live",
        )
        .expect("an ARN with an alias");
        assert_eq!(arn.region(), Some("eu-west-1"));
        assert_eq!(
            HookFunction::parse("bulwark-restore-hook")
                .expect("a name")
                .region(),
            None
        );
        for bad in [
            "",
            "has space",
            &"x".repeat(65),
            "arn:aws:lambda:eu-west-1:1234:function:f",
            "arn:aws:s3:::bucket",
        ] {
            assert!(HookFunction::parse(bad).is_err(), "{bad:?}");
        }
    }
}
