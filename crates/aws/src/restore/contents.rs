//! The contents of restored tables and buckets, and of their sources: the facts core's
//! validators judge, and the tags that mark a restored table or bucket as a test's.

use std::collections::BTreeMap;

use bulwark_core::restore::{ObjectVersion, TableFacts};
use bulwark_core::Kind;

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

/// The source table as the backup recorded it.
pub(super) async fn table_at_backup(
    clients: &ScopeClients,
    backup_arn: &str,
) -> Result<TableFacts, AwsError> {
    let out = clients
        .dynamodb
        .describe_backup()
        .backup_arn(backup_arn)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:DescribeBackup", e))?;
    let description = out.backup_description();
    let source = description.and_then(|d| d.source_table_details());
    let features = description.and_then(|d| d.source_table_feature_details());
    Ok(TableFacts {
        status: "ACTIVE".into(),
        key_schema: source
            .map(|s| {
                s.key_schema()
                    .iter()
                    .map(|k| {
                        (
                            k.attribute_name().to_string(),
                            k.key_type().as_str().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        indexes: features
            .map(|f| {
                f.global_secondary_indexes()
                    .iter()
                    .filter_map(|i| i.index_name().map(str::to_string))
                    .chain(
                        f.local_secondary_indexes()
                            .iter()
                            .filter_map(|i| i.index_name().map(str::to_string)),
                    )
                    .collect()
            })
            .unwrap_or_default(),
        billing_mode: source
            .and_then(|s| s.billing_mode())
            .map(|m| m.as_str().to_string()),
        item_count: source
            .and_then(|s| s.item_count())
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
    })
}

pub(super) async fn table(clients: &ScopeClients, name: &str) -> Result<TableFacts, AwsError> {
    let out = clients
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:DescribeTable", e))?;
    Ok(out.table().map(table_facts).unwrap_or_default())
}

pub(super) async fn object_versions(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<Vec<ObjectVersion>, AwsError> {
    let mut versions = Vec::new();
    for page in version_pages(clients, bucket).await? {
        for v in page.versions() {
            if let (Some(key), Some(modified)) = (v.key(), to_utc(v.last_modified())) {
                versions.push(ObjectVersion {
                    key: key.to_string(),
                    etag: v.e_tag().map(str::to_string),
                    last_modified: modified,
                    delete_marker: false,
                });
            }
        }
        for m in page.delete_markers() {
            if let (Some(key), Some(modified)) = (m.key(), to_utc(m.last_modified())) {
                versions.push(ObjectVersion {
                    key: key.to_string(),
                    etag: None,
                    last_modified: modified,
                    delete_marker: true,
                });
            }
        }
    }
    Ok(versions)
}

/// Every object version and delete marker of a bucket, as DeleteObjects names them: what
/// empties a bucket, versioned or not (an unversioned bucket lists each key's `null` version).
pub(super) async fn every_version(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<Vec<aws_sdk_s3::types::ObjectIdentifier>, AwsError> {
    let identifier = |key: Option<&str>, version: Option<&str>| {
        aws_sdk_s3::types::ObjectIdentifier::builder()
            .set_key(key.map(str::to_string))
            .set_version_id(version.map(str::to_string))
            .build()
            .ok()
    };
    Ok(version_pages(clients, bucket)
        .await?
        .iter()
        .flat_map(|page| {
            let versions = page
                .versions()
                .iter()
                .filter_map(|v| identifier(v.key(), v.version_id()));
            let markers = page
                .delete_markers()
                .iter()
                .filter_map(|m| identifier(m.key(), m.version_id()));
            versions.chain(markers).collect::<Vec<_>>()
        })
        .collect())
}

async fn version_pages(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<Vec<aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput>, AwsError> {
    let mut pages = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    // ListObjectVersions has no paginator in the SDK: its markers are followed here.
    loop {
        let page = clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| AwsError::sdk("s3:ListObjectVersions", e))?;
        let truncated = page.is_truncated().unwrap_or(false);
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
        pages.push(page);
        if !truncated {
            return Ok(pages);
        }
    }
}

pub(super) async fn objects(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let listed: Vec<_> = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("s3:ListObjectsV2", e))?;
    Ok(listed
        .iter()
        .flat_map(|page| page.contents())
        .filter_map(|o| {
            Some((
                o.key()?.to_string(),
                o.e_tag().unwrap_or_default().to_string(),
            ))
        })
        .collect())
}
