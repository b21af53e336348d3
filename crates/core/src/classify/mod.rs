//! Classification: which tier a store belongs to, and why.
//!
//! The configuration's rules are tried in order and the first that decides wins; the
//! catch-all decides when none does. Tag keys, tag values and names compare trimmed and
//! lower-cased. A tag value that no rule reading its key knows is reported as unknown and
//! decides nothing, so classification falls through to the next rule.

use crate::asset::Asset;
// The types live with the asset record that carries them; their paths stay here.
pub use crate::asset::{Classification, UnknownValue};
use crate::config::{normalize, Config, Matcher, Outcome, Rule};

/// One tag of the asset, as written and normalized.
struct Tag<'a> {
    key: &'a str,
    value: &'a str,
    normalized_key: String,
    normalized_value: String,
}

/// Classify one asset by the configuration's ordered rules; the first match wins.
pub fn classify(config: &Config, asset: &Asset) -> Classification {
    let tags: Vec<Tag<'_>> = asset
        .tags
        .iter()
        .map(|(key, value)| Tag {
            key,
            value,
            normalized_key: normalize(key),
            normalized_value: normalize(value),
        })
        .collect();
    let rules: Vec<&Rule> = config
        .rules()
        .iter()
        .filter(|rule| rule.kinds.is_empty() || rule.kinds.contains(&asset.kind))
        .collect();

    let unknown_values = unknown_values(&rules, &tags);
    let mut reasons: Vec<String> = unknown_values
        .iter()
        .map(|u| {
            format!(
                "tag {}={:?}: no rule knows this value; ignored",
                u.key, u.value
            )
        })
        .collect();

    for rule in rules {
        for (outcome, seen) in evaluate(rule, asset, &tags) {
            let seen = match (rule.kinds.is_empty(), seen) {
                (true, Some(seen)) => seen,
                (false, Some(seen)) => format!("kind {}: {seen}", asset.kind),
                (false, None) => format!("kind {}", asset.kind),
                (true, None) => "every asset".to_string(),
            };
            reasons.push(format!("{seen} -> {outcome} ({})", rule.name));
            if outcome != &Outcome::Next {
                return decided(outcome, &rule.name, reasons, unknown_values);
            }
        }
    }
    let catch_all = config.catch_all();
    reasons.push(format!(
        "no other rule decided -> {} ({})",
        catch_all.then, catch_all.name
    ));
    decided(&catch_all.then, &catch_all.name, reasons, unknown_values)
}

fn decided(
    outcome: &Outcome,
    rule: &str,
    reasons: Vec<String>,
    unknown_values: Vec<UnknownValue>,
) -> Classification {
    let (tier, reproducible) = match outcome {
        Outcome::Tier(tier) => (Some(tier.clone()), false),
        Outcome::Reproducible => (None, true),
        Outcome::NotBackedUp | Outcome::Next => (None, false),
    };
    Classification {
        backup_required: tier.is_some(),
        tier,
        reproducible,
        rule: rule.to_string(),
        reasons,
        unknown_values,
    }
}

/// What a rule says about the asset, in order: any number of `Next` steps (known values
/// that decide nothing), then at most one decision; each with what the rule saw (None when
/// it looks at nothing but the kind).
fn evaluate<'r>(
    rule: &'r Rule,
    asset: &Asset,
    tags: &[Tag<'_>],
) -> Vec<(&'r Outcome, Option<String>)> {
    match &rule.matcher {
        Matcher::Tag { keys, values } => {
            let mut steps = Vec::new();
            for tag in keys
                .iter()
                .flat_map(|key| tags.iter().filter(move |t| &t.normalized_key == key))
            {
                if let Some(outcome) = values.get(&tag.normalized_value) {
                    steps.push((outcome, Some(format!("tag {}={:?}", tag.key, tag.value))));
                    if outcome != &Outcome::Next {
                        break;
                    }
                }
            }
            steps
        }
        Matcher::NameContains { patterns, then } => names(asset, tags)
            .find_map(|(source, name)| {
                let lower = normalize(name);
                patterns
                    .iter()
                    .find(|p| lower.contains(p.as_str()))
                    .map(|p| (then, Some(format!("{source} {name:?} contains {p:?}"))))
            })
            .into_iter()
            .collect(),
        Matcher::NameWords { patterns, then } => names(asset, tags)
            .find_map(|(source, name)| {
                let words = words(name);
                patterns.iter().find_map(|p| {
                    words.iter().find_map(|w| {
                        if w == p {
                            Some(format!("{source} {name:?} has the word {p:?}"))
                        } else if w.strip_suffix('s') == Some(p.as_str()) {
                            Some(format!(
                                "{source} {name:?} has the word {w:?} (plural of {p:?})"
                            ))
                        } else {
                            None
                        }
                    })
                })
            })
            .map(|reason| (then, Some(reason)))
            .into_iter()
            .collect(),
        Matcher::Always { then } => vec![(then, None)],
    }
}

/// The names a name rule reads: the asset's own (for EBS and EFS, the volume or file system
/// id) and its `Name` tag, which is where those kinds carry a human name.
fn names<'a>(
    asset: &'a Asset,
    tags: &'a [Tag<'a>],
) -> impl Iterator<Item = (&'static str, &'a str)> {
    std::iter::once(("name", asset.name.as_str())).chain(
        tags.iter()
            .filter(|t| t.normalized_key == "name")
            .map(|t| ("tag Name", t.value)),
    )
}

/// Splits a name into lower-cased words at anything not a letter or digit, between letters
/// and digits, and at camelCase humps: "ordersProd-01" -> ["orders", "prod", "01"],
/// "HTTPCache" -> ["http", "cache"].
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(&prev) = i.checked_sub(1).and_then(|p| chars.get(p)) {
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = prev.is_alphanumeric()
                && (prev.is_alphabetic() != c.is_alphabetic()
                    || (prev.is_lowercase() && c.is_uppercase())
                    || (prev.is_uppercase() && c.is_uppercase() && next_is_lower));
            if boundary && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The asset's tag values that no applicable rule reading their key knows. A key several
/// rules read (DataClassification: explicit tier and data class) is unknown only if none
/// of them knows the value.
fn unknown_values(rules: &[&Rule], tags: &[Tag<'_>]) -> Vec<UnknownValue> {
    tags.iter()
        .filter(|tag| {
            let readers: Vec<_> = rules
                .iter()
                .filter_map(|rule| match &rule.matcher {
                    Matcher::Tag { keys, values } if keys.contains(&tag.normalized_key) => {
                        Some(values)
                    }
                    _ => None,
                })
                .collect();
            !readers.is_empty()
                && readers
                    .iter()
                    .all(|values| !values.contains_key(&tag.normalized_value))
        })
        .map(|tag| UnknownValue {
            key: tag.key.to_string(),
            value: tag.value.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
