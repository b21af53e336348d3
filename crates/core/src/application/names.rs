//! The names an application's configuration gives: its own, its Route 53 records' and its SSM
//! parameters', each parsed as the API that takes it allows (the Route 53 and Systems Manager
//! API references), so that a name that cannot exist is refused when the file loads rather
//! than in the middle of a failover.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string newtype that only `parse` builds: serde goes through it too.
macro_rules! parsed_string {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

parsed_string!(
    /// An application's name: 1 to 64 lowercase letters, digits or `-`, starting with a
    /// letter. It names the application on the command line (`--app payments`) and goes into
    /// the names of what a failover restores.
    AppName
);

parsed_string!(
    /// A Route 53 hosted zone id, as ChangeResourceRecordSets takes it: `Z` and up to 31
    /// uppercase letters or digits, without the `/hostedzone/` some responses put before it.
    HostedZoneId
);

parsed_string!(
    /// A DNS record's name, lower-cased and ending with a dot (Route 53 answers names that
    /// way, so a name compares with what ListResourceRecordSets returns).
    RecordName
);

parsed_string!(
    /// An SSM parameter's name (PutParameter's `Name`).
    ParameterName
);

impl AppName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(name: &str) -> Result<Self, String> {
        let well_formed = (1..=Self::MAX_LEN).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if well_formed {
            Ok(Self(name.to_string()))
        } else {
            Err(format!(
                "use 1 to {} lowercase letters, digits or '-', starting with a letter",
                Self::MAX_LEN
            ))
        }
    }
}

parsed_string!(
    /// A Route 53 ARC routing control's ARN, as the cluster's data plane takes it (at most
    /// 255 of `[A-Za-z0-9:./_-]`):
    /// `arn:<partition>:route53-recovery-control::<account>:controlpanel/<id>/routingcontrol/<id>`.
    RoutingControlArn
);

impl RoutingControlArn {
    pub fn parse(arn: &str) -> Result<Self, String> {
        let shape = || {
            let mut parts = arn.splitn(6, ':');
            let (
                Some("arn"),
                Some(partition),
                Some("route53-recovery-control"),
                Some(""),
                Some(account),
                Some(resource),
            ) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            )
            else {
                return false;
            };
            let ids: Vec<&str> = resource.split('/').collect();
            let id = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            !partition.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && matches!(ids[..], ["controlpanel", panel, "routingcontrol", control] if id(panel) && id(control))
        };
        let allowed = arn.len() <= 255
            && arn
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":./_-".contains(&b));
        if allowed && shape() {
            Ok(Self(arn.to_string()))
        } else {
            Err(format!(
                "{arn:?} is not a routing control's ARN \
                 (arn:aws:route53-recovery-control::<account>:controlpanel/<id>/routingcontrol/<id>)"
            ))
        }
    }
}

parsed_string!(
    /// A CloudWatch alarm's ARN, as its state-change events name it in `resources`:
    /// `arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>`, the name 1 to 255
    /// characters without control characters (PutMetricAlarm's `AlarmName`).
    AlarmArn
);

impl AlarmArn {
    pub fn parse(arn: &str) -> Result<Self, String> {
        let refused = || {
            format!(
                "{arn:?} is not a CloudWatch alarm's ARN \
                 (arn:aws:cloudwatch:<region>:<account>:alarm:<name>)"
            )
        };
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        let ["arn", partition, "cloudwatch", region, account, "alarm", name] = parts[..] else {
            return Err(refused());
        };
        let name_ok =
            (1..=255).contains(&name.chars().count()) && !name.chars().any(char::is_control);
        if partition.is_empty()
            || crate::arn::Region::parse(region).is_err()
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
            || !name_ok
        {
            return Err(refused());
        }
        Ok(Self(arn.to_string()))
    }

    /// The region the alarm is in: where its state changes reach EventBridge.
    pub fn region(&self) -> &str {
        self.0.split(':').nth(3).unwrap_or_default()
    }

    /// The alarm's name.
    pub fn name(&self) -> &str {
        self.0.splitn(7, ':').nth(6).unwrap_or_default()
    }
}

parsed_string!(
    /// One of an ARC cluster's endpoints, as DescribeCluster lists them
    /// (`https://host.route53-recovery-cluster.us-west-2.amazonaws.com/v1`): an http or https
    /// URL with a host.
    EndpointUrl
);

impl EndpointUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        match host {
            Some(host) if !host.is_empty() && !url.contains(char::is_whitespace) => {
                Ok(Self(url.to_string()))
            }
            _ => Err(format!(
                "{url:?} is not a cluster endpoint: an https:// URL, as DescribeCluster lists it"
            )),
        }
    }
}

impl HostedZoneId {
    /// The Route 53 API reference gives a hosted zone's id at most 32 characters and no
    /// pattern; AWS's ids are uppercase letters and digits (`Z0123456789ABCDEFGHIJ`).
    pub fn parse(id: &str) -> Result<Self, String> {
        let well_formed = (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if well_formed {
            Ok(Self(id.to_string()))
        } else {
            Err(
                "not a hosted zone id: 1 to 32 uppercase letters or digits, as in \
                 Z0123456789ABCDEFGHIJ (without /hostedzone/)"
                    .into(),
            )
        }
    }
}

impl RecordName {
    /// With its trailing dot, the most a DNS name can have.
    pub const MAX_LEN: usize = 255;
    const MAX_LABEL: usize = 63;

    /// A name of labels of letters, digits, `-` and `_` (as in `_dmarc`), each 1 to 63
    /// characters, the first label possibly `*` (a wildcard record); the trailing dot optional.
    pub fn parse(name: &str) -> Result<Self, String> {
        let bare = name.strip_suffix('.').unwrap_or(name);
        if bare.is_empty() || bare.len() + 1 > Self::MAX_LEN {
            return Err(format!(
                "a record name has 1 to {} characters with its trailing dot",
                Self::MAX_LEN
            ));
        }
        for (index, label) in bare.split('.').enumerate() {
            let well_formed = (index == 0 && label == "*")
                || ((1..=Self::MAX_LABEL).contains(&label.len())
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            if !well_formed {
                return Err(format!(
                    "label {label:?}: each label has 1 to {} letters, digits, '-' or '_' \
                     (the first may be *)",
                    Self::MAX_LABEL
                ));
            }
        }
        Ok(Self(format!("{}.", bare.to_ascii_lowercase())))
    }
}

impl ParameterName {
    pub const MAX_LEN: usize = 2048;
    pub const MAX_LEVELS: usize = 15;

    /// Letters, digits, `_`, `.`, `-` and `/`; a name with a hierarchy starts with `/` and has
    /// at most 15 levels; no name starts with `aws` or `ssm` (AWS reserves them) after its
    /// leading slash.
    pub fn parse(name: &str) -> Result<Self, String> {
        if !(1..=Self::MAX_LEN).contains(&name.len()) {
            return Err(format!(
                "a parameter name has 1 to {} characters",
                Self::MAX_LEN
            ));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
        {
            return Err("a parameter name has letters, digits, '_', '.', '-' and '/'".into());
        }
        if name.contains('/') && !name.starts_with('/') {
            return Err("a parameter name with a hierarchy starts with '/'".into());
        }
        let relative = name.strip_prefix('/').unwrap_or(name);
        if relative.split('/').count() > Self::MAX_LEVELS {
            return Err(format!(
                "a parameter hierarchy has at most {} levels",
                Self::MAX_LEVELS
            ));
        }
        let reserved = ["aws", "ssm"].into_iter().find(|prefix| {
            relative
                .get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        });
        if let Some(prefix) = reserved {
            return Err(format!(
                "a parameter name cannot begin with {prefix:?} (in any case): AWS reserves it"
            ));
        }
        Ok(Self(name.to_string()))
    }
}

/// The record types a switch may set. A restored store's attributes are host names and
/// names: the types that hold them, and A and AAAA for a literal address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Txt,
}

impl RecordType {
    pub const ALL: [RecordType; 4] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Txt,
    ];

    /// As Route 53 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Txt => "TXT",
        }
    }

    /// Whether the record holds an address: its value is a literal, never a store's attribute.
    pub fn holds_address(self) -> bool {
        matches!(self, RecordType::A | RecordType::Aaaa)
    }
}

impl FromStr for RecordType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "record type {s:?}: a switch sets an A, AAAA, CNAME or TXT record (a \
                     restored store's attributes are host names and names)"
                )
            })
    }
}

impl TryFrom<String> for RecordType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<RecordType> for String {
    fn from(t: RecordType) -> String {
        t.as_str().to_string()
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource tag's key as AWS allows it: 1 to 128 Unicode letters, digits, spaces and
/// `_ . : / = + - @`.
pub fn check_tag_key(key: &str) -> Result<(), String> {
    if (1..=128).contains(&key.chars().count()) && tag_characters(key) {
        Ok(())
    } else {
        Err(format!(
            "tag key {key:?}: 1 to 128 letters, digits, spaces or _ . : / = + - @"
        ))
    }
}

/// A resource tag's value: at most 256 of the characters of a key (empty is a value).
pub fn check_tag_value(value: &str) -> Result<(), String> {
    if value.chars().count() <= 256 && tag_characters(value) {
        Ok(())
    } else {
        Err(format!(
            "tag value {value:?}: at most 256 letters, digits, spaces or _ . : / = + - @"
        ))
    }
}

fn tag_characters(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alarm_arn_names_its_region_and_name() {
        let arn = AlarmArn::parse("arn:aws:cloudwatch:us-west-2:123456789012:alarm:orders: down")
            .expect("an alarm");
        assert_eq!(arn.region(), "us-west-2");
        assert_eq!(arn.name(), "orders: down");
        for bad in [
            "",
            "arn:aws:cloudwatch:us-west-2:123456789012:alarm:",
            "arn:aws:cloudwatch:us-west-2:12345:alarm:x",
            "arn:aws:cloudwatch:nowhere:123456789012:alarm:x",
            "arn:aws:sns:us-west-2:123456789012:alarm:x",
            "arn:aws:cloudwatch:us-west-2:123456789012:dashboard:x",
            "arn:aws:cloudwatch:us-west-2:123456789012:alarm:a\nb",
        ] {
            assert!(AlarmArn::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!(
            "arn:aws:cloudwatch:us-west-2:123456789012:alarm:{}",
            "x".repeat(256)
        );
        assert!(AlarmArn::parse(&long).is_err());
    }

    #[test]
    fn application_names_are_lowercase_and_start_with_a_letter() {
        for good in ["payments", "a", "orders-eu-2", &"a".repeat(64)] {
            assert_eq!(AppName::parse(good).map(String::from), Ok(good.to_string()));
        }
        for bad in [
            "",
            "Payments",
            "1payments",
            "-payments",
            "pay_ments",
            &"a".repeat(65),
        ] {
            assert!(AppName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosted_zone_ids_are_up_to_32_uppercase_letters_or_digits() {
        assert!(HostedZoneId::parse("Z0123456789ABCDEFGHIJ").is_ok());
        assert!(HostedZoneId::parse("Z").is_ok());
        assert!(HostedZoneId::parse(&"A".repeat(32)).is_ok());
        for bad in ["", "z123", "Z12ab", "/hostedzone/Z123", &"A".repeat(33)] {
            assert!(HostedZoneId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn record_names_end_with_a_dot_in_lower_case() {
        for (input, expected) in [
            ("db.payments.example.com", "db.payments.example.com."),
            ("DB.Payments.Example.COM.", "db.payments.example.com."),
            ("_dmarc.example.com.", "_dmarc.example.com."),
            ("*.example.com", "*.example.com."),
            ("localhost", "localhost."),
        ] {
            assert_eq!(
                RecordName::parse(input).map(String::from),
                Ok(expected.to_string()),
                "{input}"
            );
        }
        // 63-character labels: four of them with their dots make 256, one too many.
        let label = "a".repeat(63);
        let longest = format!("{label}.{label}.{label}.{}", "a".repeat(61));
        assert_eq!(longest.len(), 253);
        assert!(RecordName::parse(&longest).is_ok(), "254 with its dot");
        assert!(RecordName::parse(&format!("{longest}a")).is_ok(), "255");
        assert!(RecordName::parse(&format!("{longest}aa")).is_err(), "256");
        for bad in [
            "",
            ".",
            "a..b",
            ".example.com",
            "example.com..",
            "a b.example.com",
            "db.*.example.com",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(RecordName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parameter_names_follow_systems_manager() {
        for good in [
            "db-host",
            "/payments/db-host",
            "/payments/prod/db_host.v2",
            &format!("/{}", ["l"; 15].join("/")),
            "/aw/x",
            "/payments/aws",
        ] {
            assert!(ParameterName::parse(good).is_ok(), "{good:?}");
        }
        for (bad, why) in [
            ("", "1 to 2048"),
            (&"a".repeat(2049) as &str, "1 to 2048"),
            ("payments/db-host", "starts with '/'"),
            ("/payments/db host", "letters, digits"),
            (&format!("/{}", ["l"; 16].join("/")), "15 levels"),
            ("/aws/reserved", "\"aws\""),
            ("AWSsecret", "\"aws\""),
            ("/SSM/x", "\"ssm\""),
            ("/awsome", "\"aws\""),
        ] {
            let err = ParameterName::parse(bad).expect_err(bad);
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn record_types_are_the_four_that_hold_names_or_addresses() {
        assert_eq!("CNAME".parse::<RecordType>(), Ok(RecordType::Cname));
        assert_eq!("AAAA".parse::<RecordType>(), Ok(RecordType::Aaaa));
        for bad in ["MX", "cname", "ALIAS", "SRV", ""] {
            assert!(bad.parse::<RecordType>().is_err(), "{bad:?}");
        }
        assert!(RecordType::A.holds_address() && !RecordType::Txt.holds_address());
    }

    #[test]
    fn tags_are_checked_as_aws_limits_them() {
        assert_eq!(check_tag_key("Application"), Ok(()));
        assert_eq!(check_tag_key("aws:cloudformation:stack-name"), Ok(()));
        assert_eq!(
            check_tag_key(&"é".repeat(128)),
            Ok(()),
            "characters, not bytes"
        );
        assert_eq!(check_tag_value("pay ments/2"), Ok(()));
        assert_eq!(check_tag_value(""), Ok(()), "an empty value is a value");
        assert!(check_tag_key("").is_err());
        assert!(check_tag_key(&"k".repeat(129)).is_err());
        assert!(check_tag_value(&"v".repeat(257)).is_err());
        assert!(check_tag_key("App#").is_err());
    }
}
