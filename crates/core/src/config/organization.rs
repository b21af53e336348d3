//! The `[organization_policies]` section: the taxonomy deployed as AWS Organizations backup
//! policies (central mode), attached to the roots, OUs and accounts it names, and the regions
//! their plans run in (docs/configuration.md).

use serde::Serialize;

use super::checks::check_region;
use super::load::Loader;
use super::raw::RawOrganizationPolicies;
use super::ConfigError;

/// Where Bulwark's backup policies are attached, and the regions their plans run in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganizationPolicies {
    /// Roots (`r-…`), organizational units (`ou-…`) and accounts (12 digits).
    pub targets: Vec<String>,
    pub regions: Vec<String>,
}

/// A root, an OU or an account id, as AWS Organizations' AttachPolicy takes them.
fn check_target(target: &str) -> Result<(), String> {
    let lower_alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let root = target
        .strip_prefix("r-")
        .is_some_and(|rest| (4..=32).contains(&rest.len()) && lower_alnum(rest));
    let ou = target.strip_prefix("ou-").is_some_and(|rest| {
        rest.split_once('-').is_some_and(|(root, ou)| {
            (4..=32).contains(&root.len())
                && (8..=32).contains(&ou.len())
                && lower_alnum(root)
                && lower_alnum(ou)
        })
    });
    let account = target.len() == 12 && target.bytes().all(|b| b.is_ascii_digit());
    if root || ou || account {
        Ok(())
    } else {
        Err("not a root (r-…), an organizational unit (ou-…-…) or an account id (12 digits)".into())
    }
}

impl Loader<'_> {
    pub(super) fn organization_policies(
        &self,
        raw: Option<RawOrganizationPolicies>,
    ) -> Result<Option<OrganizationPolicies>, ConfigError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let mut lists = Vec::new();
        for (field, list, check) in [
            (
                "targets",
                raw.targets,
                check_target as fn(&str) -> Result<(), String>,
            ),
            ("regions", raw.regions, check_region),
        ] {
            if list.get_ref().is_empty() {
                return Err(self.error(
                    list.span(),
                    format!("[organization_policies] {field} is empty: name at least one"),
                ));
            }
            let mut values: Vec<String> = Vec::new();
            for value in list.into_inner() {
                check(value.get_ref()).map_err(|why| {
                    self.error(
                        value.span(),
                        format!(
                            "[organization_policies] {field} {:?}: {why}",
                            value.get_ref()
                        ),
                    )
                })?;
                if values.contains(value.get_ref()) {
                    return Err(self.error(
                        value.span(),
                        format!(
                            "[organization_policies] {field} lists {:?} twice",
                            value.get_ref()
                        ),
                    ));
                }
                values.push(value.into_inner());
            }
            lists.push(values);
        }
        let regions = lists.pop().unwrap_or_default();
        let targets = lists.pop().unwrap_or_default();
        Ok(Some(OrganizationPolicies { targets, regions }))
    }
}
