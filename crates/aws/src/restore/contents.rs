//! The contents of restored tables and buckets, and of their sources: the facts core's
//! validators judge, and the tags that mark a restored table or bucket as a test's.

use bulwark_core::restore::{
    self, current_at, BucketTally, Finding, ItemSample, ListedObject, ObjectVersion, TableFacts,
};
use bulwark_core::Kind;
use chrono::{DateTime, Utc};

use super::{to_utc, Marks};
use crate::clients::ScopeClients;
use crate::error::AwsError;

pub(super) async fn tag(
    clients: &ScopeClients,
    kind: Kind,
    restored_arn: &str,
    name: &str,
    marks: Marks<'_>,
) -> Result<(), AwsError> {
    match kind {
        Kind::Dynamodb => {
            let tag = |k: &str, v: &str| {
                aws_sdk_dynamodb::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| AwsError::Malformed(e.to_string()))
            };
            clients
                .dynamodb
                .tag_resource()
                .resource_arn(restored_arn)
                .set_tags(Some(
                    marks
                        .iter()
                        .map(|(k, v)| tag(k, v))
                        .collect::<Result<_, _>>()?,
                ))
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodb:TagResource", e))?;
        }
        _ => {
            let tag = |k: &str, v: &str| {
                aws_sdk_s3::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| AwsError::Malformed(e.to_string()))
            };
            let tagging = aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(
                    marks
                        .iter()
                        .map(|(k, v)| tag(k, v))
                        .collect::<Result<_, _>>()?,
                ))
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?;
            clients
                .s3
                .put_bucket_tagging()
                .bucket(name)
                .tagging(tagging)
                .send()
                .await
                .map_err(|e| AwsError::sdk("s3:PutBucketTagging", e))?;
        }
    }
    Ok(())
}

fn table_facts(t: &aws_sdk_dynamodb::types::TableDescription) -> TableFacts {
    TableFacts {
        status: t
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        key_schema: t
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect(),
        indexes: t
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name().map(str::to_string))
            .chain(
                t.local_secondary_indexes()
                    .iter()
                    .filter_map(|i| i.index_name().map(str::to_string)),
            )
            .collect(),
        billing_mode: t
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str().to_string()),
        item_count: t
            .item_count()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
    }
}

/// A table's facts with its item count read, not reported: DescribeTable's `ItemCount` is
/// refreshed about every six hours, so a freshly restored table reports 0. Counted by a `Scan`
/// with `Select=COUNT` paged to its end, in as many parallel segments as the table's size calls
/// for (core's `count_segments`; a restored copy reports no size yet, so it is counted as its
/// source was). With `sample`, the first page of the first segment reads up to that many items
/// whole, and they are returned: the sample costs no call of its own.
pub(super) async fn counted_table(
    clients: &ScopeClients,
    name: &str,
    segments: Option<u32>,
    sample: Option<i32>,
) -> Result<(TableFacts, u32, Vec<Item>), AwsError> {
    let (mut facts, reported_bytes) = described_table(clients, name).await?;
    let segments = segments.unwrap_or_else(|| restore::count_segments(reported_bytes));
    let total = i32::try_from(segments).unwrap_or(1);
    let counts = (0..total).map(|segment| {
        count_segment(
            clients,
            name,
            segment,
            total,
            sample.filter(|_| segment == 0),
        )
    });
    let mut items = Vec::new();
    facts.item_count = 0;
    for (count, sampled) in futures::future::try_join_all(counts).await? {
        facts.item_count += count;
        items.extend(sampled);
    }
    Ok((facts, segments, items))
}

/// One segment's count; with `sample`, its first page reads that many items whole.
async fn count_segment(
    clients: &ScopeClients,
    name: &str,
    segment: i32,
    total: i32,
    sample: Option<i32>,
) -> Result<(u64, Vec<Item>), AwsError> {
    let scan = |start: Option<Item>, whole: Option<i32>| {
        let request = clients
            .dynamodb
            .scan()
            .table_name(name)
            .set_exclusive_start_key(start)
            .segment(segment)
            .total_segments(total);
        match whole {
            Some(limit) => request.limit(limit),
            None => request.select(aws_sdk_dynamodb::types::Select::Count),
        }
    };
    let (mut count, mut items, mut start) = (0u64, Vec::new(), None);
    if let Some(limit) = sample {
        let page = scan(None, Some(limit))
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:Scan", e))?;
        count += u64::try_from(page.count()).unwrap_or(0);
        items = page.items().to_vec();
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => return Ok((count, items)),
        }
    }
    loop {
        let page = scan(start.take(), None)
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:Scan", e))?;
        count += u64::try_from(page.count()).unwrap_or(0);
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => return Ok((count, items)),
        }
    }
}

/// How many restored items are looked up in the source (one Scan page, one BatchGetItem: its
/// limit is 100 keys).
pub(super) const SAMPLE_ITEMS: i32 = 64;
/// How often keys BatchGetItem leaves unprocessed (throttling) are asked again.
const UNPROCESSED_RETRIES: usize = 5;

type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// The restored table's sampled `items` (read with its count), each looked up by its key in
/// the source and compared whole: the same, changed, or gone.
pub(super) async fn sample(
    items: Vec<Item>,
    source: &ScopeClients,
    source_table: &str,
    key_schema: &[(String, String)],
) -> Result<ItemSample, AwsError> {
    let key_of = |item: &Item| -> Item {
        key_schema
            .iter()
            .filter_map(|(name, _)| item.get(name).map(|v| (name.clone(), v.clone())))
            .collect()
    };
    let mut wanted: Vec<Item> = items.iter().map(key_of).collect();
    let mut found: Vec<Item> = Vec::new();
    for _ in 0..=UNPROCESSED_RETRIES {
        if wanted.is_empty() {
            break;
        }
        let keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some(std::mem::take(&mut wanted)))
            .consistent_read(true)
            .build()
            .map_err(|e| AwsError::Malformed(e.to_string()))?;
        let out = source
            .dynamodb
            .batch_get_item()
            .request_items(source_table, keys)
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:BatchGetItem", e))?;
        found.extend(
            out.responses()
                .and_then(|r| r.get(source_table))
                .cloned()
                .unwrap_or_default(),
        );
        wanted = out
            .unprocessed_keys()
            .and_then(|u| u.get(source_table))
            .map(|k| k.keys().to_vec())
            .unwrap_or_default();
    }
    if !wanted.is_empty() {
        return Err(AwsError::RestoreTest(format!(
            "{} of the sampled keys stayed unprocessed in {source_table}",
            wanted.len()
        )));
    }
    let mut sample = ItemSample {
        sampled: items.len() as u64,
        ..ItemSample::default()
    };
    for item in &items {
        let key = key_of(item);
        match found.iter().find(|f| key_of(f) == key) {
            Some(held) if held == item => sample.identical += 1,
            Some(_) => sample.changed += 1,
            None => sample.absent += 1,
        }
    }
    Ok(sample)
}

pub(super) async fn table(clients: &ScopeClients, name: &str) -> Result<TableFacts, AwsError> {
    Ok(described_table(clients, name).await?.0)
}

/// A table's facts and its reported size in bytes (refreshed about every six hours).
async fn described_table(
    clients: &ScopeClients,
    name: &str,
) -> Result<(TableFacts, u64), AwsError> {
    let out = clients
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:DescribeTable", e))?;
    let reported = out
        .table()
        .and_then(|t| t.table_size_bytes())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    Ok((out.table().map(table_facts).unwrap_or_default(), reported))
}

/// A restored bucket against what its source held at `at`: both listings streamed in key order
/// (a page of each in memory), each key judged by core's `BucketTally`.
pub(super) async fn compare_buckets(
    source: &ScopeClients,
    source_bucket: &str,
    traits: BucketTraits,
    restored: &ScopeClients,
    restored_bucket: &str,
    at: DateTime<Utc>,
) -> Result<Vec<Finding>, AwsError> {
    let mut tally = BucketTally::new(traits.kms, traits.expires);
    let mut history = VersionStream::new(source, source_bucket);
    let mut copy = ObjectStream::new(restored, restored_bucket);
    let (mut expected, mut held) = (history.next_at(at).await?, copy.next().await?);
    loop {
        match (&expected, &held) {
            (None, None) => break,
            (Some(e), Some(r)) if e.key == r.key => {
                tally.pair(Some(e), Some(r));
                expected = history.next_at(at).await?;
                held = copy.next().await?;
            }
            (Some(e), Some(r)) if e.key < r.key => {
                tally.pair(Some(e), None);
                expected = history.next_at(at).await?;
            }
            (Some(e), None) => {
                tally.pair(Some(e), None);
                expected = history.next_at(at).await?;
            }
            (_, Some(r)) => {
                tally.pair(None, Some(r));
                held = copy.next().await?;
            }
        }
    }
    Ok(tally.findings())
}

/// What of a source bucket decides how its objects are compared: its default encryption is
/// SSE-KMS or DSSE-KMS (no ETag is an MD5), its lifecycle rules expire versions.
#[derive(Debug, Clone, Copy)]
pub(super) struct BucketTraits {
    kms: bool,
    expires: bool,
}

/// The source bucket's traits, read first: that it answers is also what a failover learns of
/// a source region that may be down.
pub(super) async fn bucket_traits(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<BucketTraits, AwsError> {
    Ok(BucketTraits {
        kms: kms_encrypted(clients, bucket).await?,
        expires: lifecycle_expires(clients, bucket).await?,
    })
}

/// That a bucket can be listed: its first page.
pub(super) async fn readable_bucket(clients: &ScopeClients, bucket: &str) -> Result<(), AwsError> {
    ObjectStream::new(clients, bucket).next().await.map(|_| ())
}

/// Whether the bucket's default encryption is SSE-KMS or DSSE-KMS, under which no ETag is an
/// MD5 of its object.
async fn kms_encrypted(clients: &ScopeClients, bucket: &str) -> Result<bool, AwsError> {
    let out = match clients
        .s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::sdk("s3:GetEncryptionConfiguration", e);
            return match e.code() {
                Some("ServerSideEncryptionConfigurationNotFoundError") => Ok(false),
                _ => Err(e),
            };
        }
    };
    Ok(out
        .server_side_encryption_configuration()
        .map(|c| c.rules())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.apply_server_side_encryption_by_default())
        .any(|d| {
            matches!(
                d.sse_algorithm(),
                aws_sdk_s3::types::ServerSideEncryption::AwsKms
                    | aws_sdk_s3::types::ServerSideEncryption::AwsKmsDsse
            )
        }))
}

/// Whether an enabled lifecycle rule of the bucket expires objects or noncurrent versions.
async fn lifecycle_expires(clients: &ScopeClients, bucket: &str) -> Result<bool, AwsError> {
    let out = match clients
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::sdk("s3:GetLifecycleConfiguration", e);
            return match e.code() {
                Some("NoSuchLifecycleConfiguration") => Ok(false),
                _ => Err(e),
            };
        }
    };
    Ok(out.rules().iter().any(|rule| {
        rule.status() == &aws_sdk_s3::types::ExpirationStatus::Enabled
            && (rule.expiration().is_some() || rule.noncurrent_version_expiration().is_some())
    }))
}

/// A bucket's version history, a page at a time, in key order.
struct VersionStream<'a> {
    clients: &'a ScopeClients,
    bucket: &'a str,
    page: std::collections::VecDeque<ObjectVersion>,
    markers: Option<VersionMarkers>,
}

impl<'a> VersionStream<'a> {
    fn new(clients: &'a ScopeClients, bucket: &'a str) -> Self {
        Self {
            clients,
            bucket,
            page: Default::default(),
            markers: Some((None, None)),
        }
    }

    /// The next page's versions and delete markers, in key order (ListObjectVersions lists
    /// them apart); false at the end of the history.
    async fn fill(&mut self) -> Result<bool, AwsError> {
        let Some(markers) = self.markers.take() else {
            return Ok(false);
        };
        let (page, next) = version_page(self.clients, self.bucket, markers).await?;
        self.markers = next;
        let versions = page.versions().iter().filter_map(|v| {
            Some(ObjectVersion {
                key: v.key()?.to_string(),
                etag: v.e_tag().map(str::to_string),
                size: v.size().unwrap_or(0),
                last_modified: to_utc(v.last_modified())?,
                delete_marker: false,
            })
        });
        let markers = page.delete_markers().iter().filter_map(|m| {
            Some(ObjectVersion {
                key: m.key()?.to_string(),
                etag: None,
                size: 0,
                last_modified: to_utc(m.last_modified())?,
                delete_marker: true,
            })
        });
        let mut entries: Vec<ObjectVersion> = versions.chain(markers).collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        self.page.extend(entries);
        Ok(true)
    }

    /// The next key's versions, which a page boundary may split.
    async fn next_key(&mut self) -> Result<Vec<ObjectVersion>, AwsError> {
        while self.page.is_empty() {
            if !self.fill().await? {
                return Ok(Vec::new());
            }
        }
        let mut group: Vec<ObjectVersion> = Vec::new();
        loop {
            let Some(key) = self.page.front().map(|v| v.key.clone()) else {
                if self.fill().await? {
                    continue;
                }
                return Ok(group);
            };
            if group.first().is_some_and(|g| g.key != key) {
                return Ok(group);
            }
            group.extend(self.page.pop_front());
        }
    }

    /// The next object the bucket held at `at`, in key order.
    async fn next_at(&mut self, at: DateTime<Utc>) -> Result<Option<ListedObject>, AwsError> {
        loop {
            let group = self.next_key().await?;
            if group.is_empty() {
                return Ok(None);
            }
            if let Some(object) = current_at(&group, at) {
                return Ok(Some(object));
            }
        }
    }
}

/// A bucket's objects, a page at a time, in key order.
struct ObjectStream<'a> {
    clients: &'a ScopeClients,
    bucket: &'a str,
    page: std::collections::VecDeque<ListedObject>,
    token: Option<Option<String>>,
}

impl<'a> ObjectStream<'a> {
    fn new(clients: &'a ScopeClients, bucket: &'a str) -> Self {
        Self {
            clients,
            bucket,
            page: Default::default(),
            token: Some(None),
        }
    }

    async fn next(&mut self) -> Result<Option<ListedObject>, AwsError> {
        while self.page.is_empty() {
            let Some(token) = self.token.take() else {
                return Ok(None);
            };
            let page = self
                .clients
                .s3
                .list_objects_v2()
                .bucket(self.bucket)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| AwsError::sdk("s3:ListObjectsV2", e))?;
            if page.is_truncated().unwrap_or(false) {
                self.token = Some(page.next_continuation_token().map(str::to_string));
            }
            self.page.extend(page.contents().iter().filter_map(|o| {
                Some(ListedObject {
                    key: o.key()?.to_string(),
                    etag: o.e_tag().unwrap_or_default().to_string(),
                    size: o.size().unwrap_or(0),
                })
            }));
        }
        Ok(self.page.pop_front())
    }
}

/// Empty `bucket` of every version and delete marker, a page at a time: the first page of the
/// listing (at most 1,000 entries, DeleteObjects' limit) is deleted, then the listing is read
/// from its start again, until it is empty. Memory holds one page whatever the bucket's size,
/// and no marker names a version already deleted (which a listing need not resume from). A
/// bucket holding either cannot be deleted.
pub(super) async fn empty(clients: &ScopeClients, bucket: &str) -> Result<(), AwsError> {
    let identifier = |key: Option<&str>, version: Option<&str>| {
        aws_sdk_s3::types::ObjectIdentifier::builder()
            .set_key(key.map(str::to_string))
            .set_version_id(version.map(str::to_string))
            .build()
            .ok()
    };
    let mut first_of_last_page: Option<(String, String)> = None;
    loop {
        let (page, _) = version_page(clients, bucket, (None, None)).await?;
        let first = page
            .versions()
            .first()
            .map(|v| (v.key(), v.version_id()))
            .or_else(|| {
                page.delete_markers()
                    .first()
                    .map(|m| (m.key(), m.version_id()))
            })
            .map(|(k, v)| {
                (
                    k.unwrap_or_default().to_string(),
                    v.unwrap_or_default().to_string(),
                )
            });
        if first.is_some() && first == first_of_last_page {
            return Err(AwsError::Malformed(format!(
                "bucket {bucket}: its versions listed again after their deletion ({:?})",
                first
            )));
        }
        first_of_last_page = first;
        let objects: Vec<_> = page
            .versions()
            .iter()
            .filter_map(|v| identifier(v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .filter_map(|m| identifier(m.key(), m.version_id())),
            )
            .collect();
        if objects.is_empty() {
            return Ok(());
        }
        let delete = aws_sdk_s3::types::Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| AwsError::Malformed(e.to_string()))?;
        let out = clients
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| AwsError::sdk("s3:DeleteObjects", e))?;
        if let Some(error) = out.errors().first() {
            return Err(AwsError::Service {
                operation: "s3:DeleteObjects",
                code: error.code().unwrap_or_default().to_string(),
                message: format!(
                    "{}: {}",
                    error.key().unwrap_or_default(),
                    error.message().unwrap_or_default()
                ),
                retryable: false,
            });
        }
    }
}

/// Where a version listing goes on: the key and version id markers of the next page.
type VersionMarkers = (Option<String>, Option<String>);

/// One page of a bucket's versions from `markers`, and the markers of the next (None: the last
/// page). ListObjectVersions has no paginator in the SDK: its markers are followed here.
async fn version_page(
    clients: &ScopeClients,
    bucket: &str,
    (key_marker, version_marker): VersionMarkers,
) -> Result<
    (
        aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput,
        Option<VersionMarkers>,
    ),
    AwsError,
> {
    let page = clients
        .s3
        .list_object_versions()
        .bucket(bucket)
        .set_key_marker(key_marker)
        .set_version_id_marker(version_marker)
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:ListObjectVersions", e))?;
    let next = page.is_truncated().unwrap_or(false).then(|| {
        (
            page.next_key_marker().map(str::to_string),
            page.next_version_id_marker().map(str::to_string),
        )
    });
    Ok((page, next))
}
