//! What a switch target holds, whole: recorded before a run writes it, so that an abort puts
//! back exactly that, and read again at the abort, to tell whether the write happened.

use serde::{Deserialize, Serialize};

/// A switch target's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SwitchSnapshot {
    /// A simple Route 53 record set: its values and TTL, or its alias target.
    Record {
        ttl: Option<i64>,
        values: Vec<String>,
        alias: Option<AliasTarget>,
    },
    /// An SSM parameter, by its version: its value is read back from that version when it is
    /// put back, so that a SecureString's value is never copied into Bulwark's records.
    Parameter {
        version: i64,
        /// `String`, `StringList` or `SecureString`.
        parameter_type: String,
        /// A SecureString's key (None: the account's `aws/ssm` key).
        key_id: Option<String>,
        tier: Option<String>,
        description: Option<String>,
        data_type: Option<String>,
        /// Its value, but for a SecureString.
        value: Option<String>,
    },
    /// A routing control's state, `On` or `Off`.
    RoutingControl { state: String },
}

/// A Route 53 alias record's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub evaluate_target_health: bool,
}

pub const SECURE_STRING: &str = "SecureString";

impl SwitchSnapshot {
    /// The value shown in plans and records: a record's values joined by `,` (an alias as
    /// `ALIAS <target>`), a parameter's value (a SecureString's as its version only), a routing
    /// control's state.
    pub fn shown(&self) -> String {
        match self {
            SwitchSnapshot::Record {
                alias: Some(alias), ..
            } => format!("ALIAS {}", alias.dns_name),
            SwitchSnapshot::Record { values, .. } => values.join(","),
            SwitchSnapshot::Parameter {
                value: Some(value), ..
            } => value.clone(),
            SwitchSnapshot::Parameter { version, .. } => {
                format!("({SECURE_STRING}, version {version})")
            }
            SwitchSnapshot::RoutingControl { state } => state.clone(),
        }
    }

    /// Whether the target is as this snapshot recorded it: a parameter by its version (a
    /// write makes a new one), a record and a routing control by what they hold.
    pub fn unchanged_in(&self, now: &SwitchSnapshot) -> bool {
        match (self, now) {
            (
                SwitchSnapshot::Parameter {
                    version: before, ..
                },
                SwitchSnapshot::Parameter { version: now, .. },
            ) => before == now,
            (before, now) => before == now,
        }
    }

    /// Whether it is a SecureString parameter: a switch of it writes a SecureString.
    pub fn is_secure(&self) -> bool {
        matches!(self, SwitchSnapshot::Parameter { parameter_type, .. } if parameter_type == SECURE_STRING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(version: i64, value: Option<&str>) -> SwitchSnapshot {
        SwitchSnapshot::Parameter {
            version,
            parameter_type: if value.is_some() {
                "String"
            } else {
                SECURE_STRING
            }
            .into(),
            key_id: None,
            tier: Some("Standard".into()),
            description: None,
            data_type: Some("text".into()),
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn a_secure_string_is_shown_by_its_version_never_its_value() {
        assert_eq!(parameter(3, None).shown(), "(SecureString, version 3)");
        assert!(parameter(3, None).is_secure());
        assert_eq!(parameter(3, Some("orders")).shown(), "orders");
    }

    #[test]
    fn a_parameter_is_unchanged_while_its_version_is() {
        assert!(parameter(3, None).unchanged_in(&parameter(3, None)));
        assert!(!parameter(3, None).unchanged_in(&parameter(4, None)));
    }

    #[test]
    fn an_alias_is_shown_by_its_target() {
        let alias = SwitchSnapshot::Record {
            ttl: None,
            values: vec![],
            alias: Some(AliasTarget {
                dns_name: "lb-1.us-east-1.elb.amazonaws.com.".into(),
                hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                evaluate_target_health: true,
            }),
        };
        assert_eq!(alias.shown(), "ALIAS lb-1.us-east-1.elb.amazonaws.com.");
        let simple = SwitchSnapshot::Record {
            ttl: Some(60),
            values: vec!["a".into(), "b".into()],
            alias: None,
        };
        assert_eq!(simple.shown(), "a,b");
        assert!(!alias.unchanged_in(&simple));
    }
}
