//! A switch's value template: text with `{<store>.<attribute>}` placeholders, parsed once when
//! the file loads. Small enough that a template engine would be more than it needs: no
//! expressions, no filters, and `{{` / `}}` for a literal brace (a JSON value, say).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::kind::Kind;

/// What a placeholder can ask of a restored store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// The bucket's, table's, DB instance's or cluster's name; a file system's or volume's id.
    Name,
    Arn,
    /// An RDS instance's endpoint address, an Aurora cluster's writer endpoint, an EFS file
    /// system's mount DNS name.
    Endpoint,
    /// An Aurora cluster's reader endpoint.
    ReaderEndpoint,
    /// An RDS instance's or Aurora cluster's port.
    Port,
    /// The region the copy is restored in.
    Region,
}

impl Attribute {
    pub const ALL: [Attribute; 6] = [
        Attribute::Name,
        Attribute::Arn,
        Attribute::Endpoint,
        Attribute::ReaderEndpoint,
        Attribute::Port,
        Attribute::Region,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attribute::Name => "name",
            Attribute::Arn => "arn",
            Attribute::Endpoint => "endpoint",
            Attribute::ReaderEndpoint => "reader_endpoint",
            Attribute::Port => "port",
            Attribute::Region => "region",
        }
    }

    /// Whether a store of `kind` has this attribute.
    pub fn applies_to(self, kind: Kind) -> bool {
        match self {
            Attribute::Name | Attribute::Arn | Attribute::Region => true,
            Attribute::Endpoint => matches!(kind, Kind::Rds | Kind::Aurora | Kind::Efs),
            Attribute::ReaderEndpoint => kind == Kind::Aurora,
            Attribute::Port => matches!(kind, Kind::Rds | Kind::Aurora),
        }
    }
}

impl FromStr for Attribute {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Attribute::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown attribute {s:?}: use name, arn, endpoint, reader_endpoint, port or \
                     region"
                )
            })
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{orders.endpoint}`: an attribute of the application's store named `orders` (its ARN's
/// resource name: a table's name, a DB identifier, a bucket's name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Placeholder {
    pub store: String,
    pub attribute: Attribute,
}

impl Placeholder {
    /// The text between the braces. A bucket's name may hold dots, an attribute never does: the
    /// last dot separates them.
    fn parse(inner: &str) -> Result<Self, String> {
        let Some((store, attribute)) = inner.rsplit_once('.') else {
            return Err(format!(
                "{{{inner}}}: write {{<store>.<attribute>}}, as in {{orders.endpoint}}"
            ));
        };
        if store.is_empty() {
            return Err(format!("{{{inner}}}: the store's name is empty"));
        }
        // The characters of every kind's store names: bucket, table, DB identifier, ids.
        if !store
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(format!(
                "{{{inner}}}: {store:?} is not a store's name (letters, digits, '-', '_' or '.')"
            ));
        }
        let attribute = attribute
            .parse()
            .map_err(|why: String| format!("{{{inner}}}: {why}"))?;
        Ok(Self {
            store: store.to_string(),
            attribute,
        })
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}.{}}}", self.store, self.attribute)
    }
}

/// A piece of a template. Parsing never gives two literals in a row, nor an empty one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Literal(String),
    Placeholder(Placeholder),
}

/// A parsed value template. Its text form (Display, serde) is canonical: parsing it gives the
/// same template back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ValueTemplate {
    parts: Vec<Part>,
}

impl ValueTemplate {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the value is empty".into());
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(['{', '}']) {
            literal.push_str(&rest[..at]);
            let brace = &rest[at..=at];
            let after = &rest[at + 1..];
            if let Some(unescaped) = after.strip_prefix(brace) {
                literal.push_str(brace);
                rest = unescaped;
                continue;
            }
            if brace == "}" {
                return Err(format!(
                    "a '}}' at character {} closes nothing: write }}}} for a literal brace",
                    offset(text, &rest[at..]) + 1
                ));
            }
            let Some(close) = after.find('}') else {
                return Err(format!(
                    "the '{{' at character {} is never closed: write {{{{ for a literal brace",
                    offset(text, &rest[at..]) + 1
                ));
            };
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Placeholder(Placeholder::parse(&after[..close])?));
            rest = &after[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self { parts })
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|part| match part {
            Part::Placeholder(p) => Some(p),
            Part::Literal(_) => None,
        })
    }

    /// The same template with each placeholder's store named as `rename` says (unchanged where
    /// it says None).
    pub fn renaming(&self, rename: impl Fn(&str) -> Option<String>) -> Self {
        let parts = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Placeholder(p) => Part::Placeholder(Placeholder {
                    store: rename(&p.store).unwrap_or_else(|| p.store.clone()),
                    attribute: p.attribute,
                }),
                literal => literal.clone(),
            })
            .collect();
        Self { parts }
    }

    /// The value with each placeholder replaced by what `resolve` says of it.
    pub fn render(&self, mut resolve: impl FnMut(&Placeholder) -> String) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Literal(text) => text.clone(),
                Part::Placeholder(p) => resolve(p),
            })
            .collect()
    }
}

/// Where `rest` starts within `text`, in characters (for messages): `rest` is a suffix of it.
fn offset(text: &str, rest: &str) -> usize {
    text[..text.len() - rest.len()].chars().count()
}

impl fmt::Display for ValueTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(text) => f.write_str(&text.replace('{', "{{").replace('}', "}}"))?,
                Part::Placeholder(p) => write!(f, "{p}")?,
            }
        }
        Ok(())
    }
}

impl TryFrom<String> for ValueTemplate {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<ValueTemplate> for String {
    fn from(template: ValueTemplate) -> String {
        template.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn literal(s: &str) -> Part {
        Part::Literal(s.to_string())
    }

    fn placeholder(store: &str, attribute: Attribute) -> Part {
        Part::Placeholder(Placeholder {
            store: store.to_string(),
            attribute,
        })
    }

    #[test]
    fn a_template_is_literals_and_placeholders() {
        let template = ValueTemplate::parse("{orders.endpoint}").expect("template");
        assert_eq!(
            template.parts(),
            [placeholder("orders", Attribute::Endpoint)]
        );
        let template =
            ValueTemplate::parse("jdbc:postgresql://{ledger.endpoint}:{ledger.port}/app")
                .expect("template");
        assert_eq!(
            template.parts(),
            [
                literal("jdbc:postgresql://"),
                placeholder("ledger", Attribute::Endpoint),
                literal(":"),
                placeholder("ledger", Attribute::Port),
                literal("/app"),
            ]
        );
        let template = ValueTemplate::parse("s3://{my.bucket.v2.name}/x").expect("template");
        assert_eq!(
            template.parts()[1],
            placeholder("my.bucket.v2", Attribute::Name),
            "the last dot separates the attribute"
        );
        assert_eq!(
            ValueTemplate::parse("plain").expect("template").parts(),
            [literal("plain")]
        );
    }

    #[test]
    fn doubled_braces_are_literal_braces() {
        let template =
            ValueTemplate::parse(r#"{{"host": "{orders.endpoint}"}}"#).expect("template");
        assert_eq!(
            template.parts(),
            [
                literal("{\"host\": \""),
                placeholder("orders", Attribute::Endpoint),
                literal("\"}"),
            ]
        );
        assert_eq!(template.to_string(), r#"{{"host": "{orders.endpoint}"}}"#);
        let rendered = template.render(|p| format!("<{}>", p.store));
        assert_eq!(rendered, r#"{"host": "<orders>"}"#);
    }

    #[test]
    fn malformed_templates_are_refused_with_the_reason() {
        for (text, why) in [
            ("", "empty"),
            ("{orders.endpoint", "character 1 is never closed"),
            ("db: {orders.endpoint", "character 5 is never closed"),
            ("é{x", "character 2 is never closed"),
            ("a}b", "character 2 closes nothing"),
            ("{.endpoint}", "the store's name is empty"),
            ("{orders}", "write {<store>.<attribute>}"),
            ("{}", "write {<store>.<attribute>}"),
            ("{orders.hostname}", "unknown attribute \"hostname\""),
            ("{orders.}", "unknown attribute \"\""),
            ("{ord ers.name}", "is not a store's name"),
            ("{a{b.name}", "is not a store's name"),
        ] {
            let err = ValueTemplate::parse(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn attributes_apply_to_the_kinds_that_have_them() {
        let kinds = |a: Attribute| -> Vec<Kind> {
            Kind::ALL.into_iter().filter(|k| a.applies_to(*k)).collect()
        };
        assert_eq!(kinds(Attribute::Name), Kind::ALL);
        assert_eq!(
            kinds(Attribute::Endpoint),
            [Kind::Rds, Kind::Aurora, Kind::Efs]
        );
        assert_eq!(kinds(Attribute::ReaderEndpoint), [Kind::Aurora]);
        assert_eq!(kinds(Attribute::Port), [Kind::Rds, Kind::Aurora]);
    }

    #[test]
    fn serde_uses_the_text() {
        let template = ValueTemplate::parse("{orders.name}-x").expect("template");
        let json = serde_json::to_string(&template).expect("json");
        assert_eq!(json, r#""{orders.name}-x""#);
        assert_eq!(
            serde_json::from_str::<ValueTemplate>(&json).expect("back"),
            template
        );
        assert!(serde_json::from_str::<ValueTemplate>(r#""{orders""#).is_err());
    }

    proptest! {
        #[test]
        fn display_then_parse_gives_the_template_back(
            text in r"([a-z:/. -]|\{\{|\}\}|\{[a-z][a-z.-]{0,6}\.(name|arn|endpoint|port|region)\}){1,8}",
        ) {
            let template = ValueTemplate::parse(&text).expect("the pattern writes templates");
            prop_assert_eq!(ValueTemplate::parse(&template.to_string()), Ok(template.clone()));
            let adjacent_literals = template.parts().windows(2).any(|w| {
                matches!(w, [Part::Literal(_), Part::Literal(_)])
            });
            prop_assert!(!adjacent_literals);
            prop_assert!(!template.parts().contains(&Part::Literal(String::new())));
        }

        #[test]
        fn parse_never_panics(text in r"\PC{0,40}") {
            let _ = ValueTemplate::parse(&text);
        }
    }
}
