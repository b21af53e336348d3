//! The DR region of each source region.

use super::super::*;

#[test]
fn a_region_without_a_dr_region_is_an_error_not_a_copy_into_itself() {
    let settings = ProtectionSettings {
        dr_region: "me-central-1".into(),
        ..ProtectionSettings::default()
    };
    assert!(settings
        .dr_region_for("me-central-1")
        .is_err_and(|e| e.contains("no DR region for me-central-1")));
    assert_eq!(
        settings.dr_region_for("us-east-1").as_deref(),
        Ok("me-central-1")
    );
}
