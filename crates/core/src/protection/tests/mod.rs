//! protection's unit tests, by the concern of the code they test, and the fixtures they share.

mod assets;
mod policy;
mod reconcile;
mod render;
mod selection;

use super::BackupState;
use crate::config::Config;

pub(super) const ACCOUNT: &str = "123456789012";
pub(super) const PRIMARY: &str = "us-east-1";

pub(super) fn builtin() -> BackupState {
    super::render(&Config::builtin(), ACCOUNT, PRIMARY).expect("renders")
}
