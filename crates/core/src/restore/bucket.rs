//! A restored bucket against the objects its source held at the recovery point, compared as
//! both listings stream by in key order, so that memory holds a page of each, not a bucket.
//!
//! The source's objects at the point come from its version history: each key's newest
//! version no later than the point, unless that is a delete marker. An object's content is
//! compared by ETag only where the ETag is its content's MD5: not for a multipart upload (its
//! ETag ends in `-<parts>`) nor under SSE-KMS or DSSE-KMS (an ETag that is no MD5 at all), and
//! a restore writes every object anew, so those ETags change. There the size is compared.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Finding;

/// One version of an object, as ListObjectVersions lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub key: String,
    pub etag: Option<String>,
    pub size: i64,
    pub last_modified: DateTime<Utc>,
    pub delete_marker: bool,
}

/// An object as a listing gives it: its key, ETag and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub etag: String,
    pub size: i64,
}

/// The object a key held at `at`, from its versions (any order): its newest version no later
/// than `at`, unless that is a delete marker.
pub fn current_at(versions: &[ObjectVersion], at: DateTime<Utc>) -> Option<ListedObject> {
    let newest = versions
        .iter()
        .filter(|v| v.last_modified <= at)
        .max_by_key(|v| v.last_modified)?;
    (!newest.delete_marker).then(|| ListedObject {
        key: newest.key.clone(),
        etag: newest.etag.clone().unwrap_or_default(),
        size: newest.size,
    })
}

/// Whether an ETag is its object's MD5: 32 hex digits, quoted, no part count.
pub fn etag_is_md5(etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    bare.len() == 32 && bare.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How many keys a finding names, at most.
const EXAMPLES: usize = 5;

/// What the comparison found so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketTally {
    /// The source's default encryption is SSE-KMS or DSSE-KMS: no ETag is an MD5.
    kms: bool,
    /// The source's lifecycle rules expire versions: an object its history no longer shows
    /// may have been there at the point.
    expires: bool,
    expected: u64,
    missing: Vec<String>,
    missing_count: u64,
    extra: Vec<String>,
    extra_count: u64,
    changed: Vec<String>,
    changed_count: u64,
    by_etag: u64,
    by_size: u64,
}

fn remember(examples: &mut Vec<String>, count: &mut u64, key: &str) {
    *count += 1;
    if examples.len() < EXAMPLES {
        examples.push(key.to_string());
    }
}

impl BucketTally {
    pub fn new(source_kms_encrypted: bool, source_lifecycle_expires: bool) -> Self {
        Self {
            kms: source_kms_encrypted,
            expires: source_lifecycle_expires,
            ..Self::default()
        }
    }

    /// One key, in key order: what the source held at the point and what the copy holds.
    pub fn pair(&mut self, expected: Option<&ListedObject>, restored: Option<&ListedObject>) {
        match (expected, restored) {
            (Some(e), None) => {
                self.expected += 1;
                remember(&mut self.missing, &mut self.missing_count, &e.key);
            }
            (None, Some(r)) => remember(&mut self.extra, &mut self.extra_count, &r.key),
            (Some(e), Some(r)) => {
                self.expected += 1;
                let same = if !self.kms && etag_is_md5(&e.etag) && etag_is_md5(&r.etag) {
                    self.by_etag += 1;
                    e.etag == r.etag
                } else {
                    self.by_size += 1;
                    e.size == r.size
                };
                if !same {
                    remember(&mut self.changed, &mut self.changed_count, &e.key);
                }
            }
            (None, None) => {}
        }
    }

    pub fn findings(&self) -> Vec<Finding> {
        let few = |keys: &[String], count: u64| format!("{count} ({})", keys.join(", "));
        let extra = if self.extra_count == 0 {
            Finding::new("no object that was not there", true, "extra 0 ()")
        } else if self.expires {
            Finding::new(
                "no object that was not there",
                true,
                format!(
                    "extra {}: not in the source's history, whose lifecycle rules expire \
                     versions (they may have held these at the point)",
                    few(&self.extra, self.extra_count)
                ),
            )
        } else {
            Finding::new(
                "no object that was not there",
                false,
                format!("extra {}", few(&self.extra, self.extra_count)),
            )
        };
        vec![
            Finding::new(
                "objects present",
                self.missing_count == 0,
                format!(
                    "{} of {} restored; missing {}",
                    self.expected - self.missing_count,
                    self.expected,
                    few(&self.missing, self.missing_count)
                ),
            ),
            extra,
            Finding::new(
                "contents equal",
                self.changed_count == 0,
                format!(
                    "{} by ETag, {} by size (their ETags are not MD5s); differ on {}",
                    self.by_etag,
                    self.by_size,
                    few(&self.changed, self.changed_count)
                ),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 9, minute, 0)
            .single()
            .expect("time")
    }

    fn version(key: &str, etag: &str, minute: u32, delete_marker: bool) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            etag: (!delete_marker).then(|| etag.into()),
            size: 10,
            last_modified: at(minute),
            delete_marker,
        }
    }

    fn object(key: &str, etag: &str, size: i64) -> ListedObject {
        ListedObject {
            key: key.into(),
            etag: etag.into(),
            size,
        }
    }

    const MD5_A: &str = "\"0cc175b9c0f1b6a831c399e269772661\"";
    const MD5_B: &str = "\"92eb5ffee6ae2fec3ad71c777531578f\"";

    #[test]
    fn a_key_holds_its_newest_version_at_the_point_unless_deleted() {
        let a = [version("a", "a1", 1, false), version("a", "a2", 5, false)];
        assert_eq!(current_at(&a, at(4)).map(|o| o.etag), Some("a1".into()));
        let b = [version("b", "b1", 2, false), version("b", "", 3, true)];
        assert_eq!(current_at(&b, at(4)), None);
        let c = [version("c", "c1", 9, false)];
        assert_eq!(current_at(&c, at(4)), None, "not yet written");
    }

    #[test]
    fn etags_are_md5s_unless_multipart() {
        assert!(etag_is_md5(MD5_A));
        assert!(!etag_is_md5("\"d41d8cd98f00b204e9800998ecf8427e-3\""));
        assert!(!etag_is_md5(""));
    }

    #[test]
    fn a_missing_or_changed_object_fails_and_an_extra_one_unless_versions_expire() {
        let mut tally = BucketTally::new(false, false);
        tally.pair(Some(&object("a", MD5_A, 1)), Some(&object("a", MD5_A, 1)));
        tally.pair(Some(&object("b", MD5_A, 1)), None);
        tally.pair(Some(&object("c", MD5_A, 1)), Some(&object("c", MD5_B, 1)));
        tally.pair(None, Some(&object("d", MD5_A, 1)));
        let findings = tally.findings();
        assert!(
            !findings[0].passed
                && findings[0]
                    .detail
                    .contains("2 of 3 restored; missing 1 (b)")
        );
        assert!(!findings[1].passed && findings[1].detail.contains("extra 1 (d)"));
        assert!(!findings[2].passed && findings[2].detail.contains("differ on 1 (c)"));
        let mut expiring = BucketTally::new(false, true);
        expiring.pair(None, Some(&object("d", MD5_A, 1)));
        assert!(expiring.findings()[1].passed);
    }

    #[test]
    fn multipart_and_kms_objects_are_compared_by_size() {
        let multipart = "\"d41d8cd98f00b204e9800998ecf8427e-3\"";
        let mut tally = BucketTally::new(false, false);
        tally.pair(
            Some(&object("big", multipart, 20_000_000)),
            Some(&object("big", MD5_A, 20_000_000)),
        );
        assert!(tally.findings().iter().all(|f| f.passed), "{tally:?}");
        let mut kms = BucketTally::new(true, false);
        kms.pair(Some(&object("k", MD5_A, 5)), Some(&object("k", MD5_B, 5)));
        assert!(kms.findings()[2].passed, "SSE-KMS ETags are not MD5s");
        kms.pair(Some(&object("j", MD5_A, 5)), Some(&object("j", MD5_A, 4)));
        assert!(!kms.findings()[2].passed, "a size that differs");
    }
}
