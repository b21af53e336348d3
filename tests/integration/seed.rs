//! Creating data stores on the local AWS through the Rust SDK, for tests to discover.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

use crate::harness::TestAccount;

/// Turn versioning on for `name`.
pub async fn versioning(t: &TestAccount, region: &str, name: &str) {
    t.s3(region)
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
}

pub async fn bucket(t: &TestAccount, region: &str, name: &str, tags: &[(&str, &str)]) {
    let s3 = t.s3(region);
    let mut create = s3.create_bucket().bucket(name);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.expect("create bucket");
    if !tags.is_empty() {
        let tagging = aws_sdk_s3::types::Tagging::builder()
            .set_tag_set(Some(
                tags.iter()
                    .map(|(k, v)| {
                        aws_sdk_s3::types::Tag::builder()
                            .key(*k)
                            .value(*v)
                            .build()
                            .expect("tag")
                    })
                    .collect(),
            ))
            .build()
            .expect("tagging");
        s3.put_bucket_tagging()
            .bucket(name)
            .tagging(tagging)
            .send()
            .await
            .expect("tag bucket");
    }
}

pub async fn table(t: &TestAccount, region: &str, name: &str, tags: &[(&str, &str)]) {
    table_encrypted_with(t, region, name, tags, None).await;
}

/// A table keyed by `id`; with `key`, encrypted with that customer-managed KMS key.
pub async fn table_encrypted_with(
    t: &TestAccount,
    region: &str,
    name: &str,
    tags: &[(&str, &str)],
    key: Option<&str>,
) {
    let sse = key.map(|key| {
        aws_sdk_dynamodb::types::SseSpecification::builder()
            .enabled(true)
            .sse_type(aws_sdk_dynamodb::types::SseType::Kms)
            .kms_master_key_id(key)
            .build()
    });
    t.dynamodb(region)
        .create_table()
        .set_sse_specification(sse)
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| {
                    aws_sdk_dynamodb::types::Tag::builder()
                        .key(*k)
                        .value(*v)
                        .build()
                        .expect("tag")
                })
                .collect(),
        ))
        .send()
        .await
        .expect("create table");
}

fn rds_tags(tags: &[(&str, &str)]) -> Option<Vec<aws_sdk_rds::types::Tag>> {
    Some(
        tags.iter()
            .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(*k).value(*v).build())
            .collect(),
    )
}

pub async fn rds_instance(t: &TestAccount, region: &str, id: &str, tags: &[(&str, &str)]) {
    t.rds(region)
        .create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("admin_user")
        .master_user_password("password-123")
        .storage_encrypted(true)
        .backup_retention_period(3)
        .set_tags(rds_tags(tags))
        .send()
        .await
        .expect("create db instance");
}

/// An Aurora cluster with `members` instances.
pub async fn aurora_cluster(
    t: &TestAccount,
    region: &str,
    id: &str,
    members: usize,
    tags: &[(&str, &str)],
) {
    let rds = t.rds(region);
    rds.create_db_cluster()
        .db_cluster_identifier(id)
        .engine("aurora-postgresql")
        .master_username("admin_user")
        .master_user_password("password-123")
        .set_tags(rds_tags(tags))
        .send()
        .await
        .expect("create db cluster");
    for n in 1..=members {
        cluster_member(t, region, id, &format!("{id}-{n}"), &[]).await;
    }
}

/// An instance `id` of the Aurora cluster `cluster`.
pub async fn cluster_member(
    t: &TestAccount,
    region: &str,
    cluster: &str,
    id: &str,
    tags: &[(&str, &str)],
) {
    t.rds(region)
        .create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.r6g.large")
        .engine("aurora-postgresql")
        .db_cluster_identifier(cluster)
        .set_tags(rds_tags(tags))
        .send()
        .await
        .expect("create cluster member");
}

/// A network for restored databases: a VPC with two subnets, a DB subnet group of them and a
/// security group; the group's name and the security group's id.
pub async fn restore_network(t: &TestAccount, region: &str) -> (String, String) {
    let ec2 = t.ec2(region);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .send()
        .await
        .expect("create vpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    let mut subnets = Vec::new();
    for (n, zone) in [(1, "a"), (2, "b")] {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.42.{n}.0/24"))
            .availability_zone(format!("{region}{zone}"))
            .send()
            .await
            .expect("create subnet");
        subnets.push(
            subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_string(),
        );
    }
    let group = "restore-tests".to_string();
    t.rds(region)
        .create_db_subnet_group()
        .db_subnet_group_name(&group)
        .db_subnet_group_description("restored databases")
        .set_subnet_ids(Some(subnets))
        .send()
        .await
        .expect("create db subnet group");
    let security_group = ec2
        .create_security_group()
        .group_name("restored-databases")
        .description("restored databases")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("create security group")
        .group_id()
        .expect("group id")
        .to_string();
    (group, security_group)
}

/// An EBS volume; returns its id.
pub async fn volume(t: &TestAccount, region: &str, tags: &[(&str, &str)]) -> String {
    let mut create = t
        .ec2(region)
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(8);
    if !tags.is_empty() {
        create = create.tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Volume)
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build())
                        .collect(),
                ))
                .build(),
        );
    }
    create
        .send()
        .await
        .expect("create volume")
        .volume_id()
        .expect("volume id")
        .to_string()
}

/// An EFS file system; returns its id.
pub async fn file_system(
    t: &TestAccount,
    region: &str,
    token: &str,
    tags: &[(&str, &str)],
) -> String {
    t.efs(region)
        .create_file_system()
        .creation_token(token)
        .encrypted(true)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| {
                    aws_sdk_efs::types::Tag::builder()
                        .key(*k)
                        .value(*v)
                        .build()
                        .expect("tag")
                })
                .collect(),
        ))
        .send()
        .await
        .expect("create file system")
        .file_system_id()
        .to_string()
}

/// An EBS volume of `size_gib`, untagged; returns its id.
pub async fn volume_of_size(t: &TestAccount, region: &str, size_gib: i32) -> String {
    t.ec2(region)
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(size_gib)
        .send()
        .await
        .expect("create volume")
        .volume_id()
        .expect("volume id")
        .to_string()
}
