//! The `[central_backup]` section: a central backup account, in the organization, whose vaults
//! keep copies of the tiers that state a `central_retention` (docs/configuration.md).

use serde::Serialize;
use toml::Spanned;

use super::checks::{check_region, check_vault_name};
use super::load::Loader;
use super::raw::RawCentralBackup;
use super::ConfigError;
use crate::arn::{partition_of, AccountId};

/// Where the central copies go: the account, its primary region and optionally a secondary
/// one, the vault (the same name in both), and the organization whose accounts may copy in.
/// The vaults are encrypted with the central account's own key, under `[protection]`'s
/// `kms_key_alias` there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CentralBackup {
    pub account: String,
    pub organization_id: String,
    pub region: String,
    pub secondary_region: Option<String>,
    pub vault_name: String,
}

impl CentralBackup {
    /// The primary region, then the secondary one.
    pub fn regions(&self) -> Vec<&str> {
        std::iter::once(self.region.as_str())
            .chain(self.secondary_region.as_deref())
            .collect()
    }

    pub fn vault_arn(&self, region: &str) -> String {
        format!(
            "arn:{}:backup:{region}:{}:backup-vault:{}",
            partition_of(region),
            self.account,
            self.vault_name
        )
    }
}

const DEFAULT_VAULT: &str = "bulwark-central";

/// AWS Organizations' organization id: `o-` and 10 to 32 lower-case letters or digits.
fn check_organization_id(id: &str) -> Result<(), String> {
    let well_formed = id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if well_formed {
        Ok(())
    } else {
        Err("an organization id is o- and 10 to 32 lower-case letters or digits".into())
    }
}

impl Loader<'_> {
    /// `protection_vault`: `[protection]`'s vault name, which the central vaults may not share
    /// (the central account keeps its own stores' points in that one, under another policy).
    pub(super) fn central_backup(
        &self,
        raw: Option<RawCentralBackup>,
        protection_vault: &str,
    ) -> Result<Option<CentralBackup>, ConfigError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let checked =
            |value: Spanned<String>, check: fn(&str) -> Result<(), String>, field: &str| {
                check(value.get_ref())
                    .map(|()| value.get_ref().clone())
                    .map_err(|why| {
                        self.error(
                            value.span(),
                            format!("[central_backup] {field} {:?}: {why}", value.get_ref()),
                        )
                    })
            };
        let account = checked(
            raw.account,
            |a| AccountId::parse(a).map(|_| ()).map_err(|e| e.to_string()),
            "account",
        )?;
        let organization_id = checked(
            raw.organization_id,
            check_organization_id,
            "organization_id",
        )?;
        let region = checked(raw.region, check_region, "region")?;
        let secondary_region = match raw.secondary_region {
            None => None,
            Some(secondary) if secondary.get_ref() == &region => {
                return Err(self.error(
                    secondary.span(),
                    format!(
                        "[central_backup] secondary_region {region:?} is the primary region: \
                         name another region, or none"
                    ),
                ))
            }
            Some(secondary) => Some(checked(secondary, check_region, "secondary_region")?),
        };
        let vault_name = match raw.vault_name {
            None => DEFAULT_VAULT.to_string(),
            Some(name) if name.get_ref() == protection_vault => {
                return Err(self.error(
                    name.span(),
                    format!(
                        "[central_backup] vault_name {protection_vault:?} is [protection]'s \
                         vault: the central account keeps its own stores' points there, under \
                         another access policy; name the central vaults apart"
                    ),
                ))
            }
            Some(name) => checked(name, check_vault_name, "vault_name")?,
        };
        Ok(Some(CentralBackup {
            account,
            organization_id,
            region,
            secondary_region,
            vault_name,
        }))
    }
}
