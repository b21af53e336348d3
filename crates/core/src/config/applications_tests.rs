//! The loader's tests of the `[[applications]]` list: what loads, and what is refused with
//! which line.

use super::tests::{assert_refused, RULE, TIER};
use super::*;
use crate::application::{
    AppName, Application, HostedZoneId, ParameterName, RecordName, RecordType, StoreSelector,
    Switch, SwitchTarget, ValueTemplate,
};
use crate::arn::{Region, ResourceArn};
use crate::duration::Duration;

/// Ten lines: the applications a test appends start at line 11.
fn file(applications: &str) -> String {
    format!("[protection]\ndr_region = \"us-west-2\"\n{TIER}{RULE}{applications}")
}

/// An application whose first four lines are 11 to 14; `rest` starts at line 15.
fn app(rest: &str) -> String {
    file(&format!(
        "[[applications]]\nname = \"payments\"\nprimary_region = \"us-east-1\"\n\
         stores = {{ tag = {{ key = \"Application\", value = \"payments\" }} }}\n{rest}"
    ))
}

fn region(r: &str) -> Region {
    Region::parse(r).expect("region")
}

fn template(t: &str) -> ValueTemplate {
    ValueTemplate::parse(t).expect("template")
}

#[test]
fn the_builtin_default_declares_no_application() {
    let config = Config::builtin();
    assert!(config.applications().is_empty());
    assert_eq!(config.application("payments"), None);
}

#[test]
fn applications_load_with_their_stores_and_switches() {
    let text = file(
        r#"[[applications]]
name = "payments"
primary_region = "us-east-1"
stores = { tag = { key = "Application", value = "payments" } }
max_data_loss = "2h"

[[applications.switches]]
kind = "route53"
zone_id = "Z0123456789ABC"
name = "DB.payments.example.com"
type = "CNAME"
value = "{orders-db.endpoint}"

[[applications.switches]]
kind = "ssm"
parameter = "/payments/db-url"
value = "postgres://{orders-db.endpoint}:{orders-db.port}/app"

[[applications]]
name = "ledger"
primary_region = "us-west-2"
stores = { arns = [
    "arn:aws:rds:us-west-2:123456789012:cluster:ledger",
    "arn:aws:s3:::ledger-exports",
] }
switches = [
    { kind = "route53", zone_id = "Z1", name = "ro.ledger.example.com.", type = "CNAME", ttl = 300, value = "{ledger.reader_endpoint}" },
    { kind = "route53", zone_id = "Z1", name = "static.ledger.example.com", type = "A", ttl = 0, value = "10.1.2.3" },
]
"#,
    );
    let config = Config::from_toml_str("ok.toml", &text).expect("valid");
    let payments = Application {
        name: AppName::parse("payments").expect("name"),
        primary_region: region("us-east-1"),
        // The [protection] pair: us-east-1 copies to dr_region.
        dr_region: region("us-west-2"),
        stores: StoreSelector::Tag {
            key: "Application".into(),
            value: "payments".into(),
        },
        max_data_loss: Some(Duration::from_hours(2)),
        switches: vec![
            Switch {
                target: SwitchTarget::Route53 {
                    zone_id: HostedZoneId::parse("Z0123456789ABC").expect("zone"),
                    name: RecordName::parse("db.payments.example.com.").expect("name"),
                    record_type: RecordType::Cname,
                },
                ttl: Some(60),
                value: template("{orders-db.endpoint}"),
            },
            Switch {
                target: SwitchTarget::Ssm {
                    region: region("us-west-2"),
                    parameter: ParameterName::parse("/payments/db-url").expect("parameter"),
                },
                ttl: None,
                value: template("postgres://{orders-db.endpoint}:{orders-db.port}/app"),
            },
        ],
        automatic_failover: None,
    };
    assert_eq!(config.application("payments"), Some(&payments));
    let ledger = config.application("ledger").expect("ledger");
    // us-west-2 is dr_region itself: its default pair.
    assert_eq!(ledger.dr_region, region("us-east-1"));
    assert_eq!(
        ledger.stores,
        StoreSelector::Arns(vec![
            ResourceArn::parse("arn:aws:rds:us-west-2:123456789012:cluster:ledger").expect("arn"),
            ResourceArn::parse("arn:aws:s3:::ledger-exports").expect("arn"),
        ])
    );
    assert_eq!(ledger.max_data_loss, None);
    let ttls: Vec<Option<u32>> = ledger.switches.iter().map(|s| s.ttl).collect();
    assert_eq!(ttls, [Some(300), Some(0)]);
    let names: Vec<&str> = config
        .applications()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["payments", "ledger"], "the file's order");
}

#[test]
fn an_explicit_dr_region_wins_over_the_pairs() {
    let config =
        Config::from_toml_str("ok.toml", &app("dr_region = \"ca-central-1\"\n")).expect("valid");
    let payments = config.application("payments").expect("payments");
    assert_eq!(payments.dr_region, region("ca-central-1"));
}

#[test]
fn an_application_opts_in_to_a_failover_its_alarm_starts_and_is_off_by_default() {
    let off = Config::from_toml_str("ok.toml", &app("")).expect("valid");
    assert_eq!(
        off.application("payments")
            .expect("payments")
            .automatic_failover,
        None
    );
    let alarm = "arn:aws:cloudwatch:us-west-2:123456789012:alarm:payments primary down";
    let text = app(&format!(
        "[applications.automatic_failover]\nalarm = \"{alarm}\"\nprimary_down = true\n"
    ));
    let on = Config::from_toml_str("ok.toml", &text).expect("valid");
    let automatic = on
        .application("payments")
        .and_then(|a| a.automatic_failover.clone())
        .expect("opted in");
    assert_eq!(automatic.alarm.as_str(), alarm);
    assert_eq!(automatic.alarm.name(), "payments primary down");
    assert!(automatic.primary_down);
}

#[test]
fn a_malformed_application_is_refused_at_its_line() {
    for (text, line, reason) in [
        (
            app("").replace("\"payments\"\nprimary", "\"Payments\"\nprimary"),
            12,
            "application name \"Payments\": use 1 to 64 lowercase letters",
        ),
        (
            app("").replace("\"us-east-1\"", "\"us-east\""),
            13,
            "application \"payments\": primary_region: invalid region \"us-east\"",
        ),
        (
            app("dr_region = \"us-east-1\"\n"),
            15,
            "dr_region us-east-1 is the primary_region",
        ),
        (
            app("dr_region = \"cn-north-1\"\n"),
            15,
            "AWS Backup copies no recovery point between partitions",
        ),
        (
            app("max_data_loss = \"0m\"\n"),
            15,
            "max_data_loss must be longer than 0m",
        ),
        (
            app("max_data_loss = \"2 hours\"\n"),
            15,
            "invalid duration \"2 hours\"",
        ),
        (app("region = \"x\"\n"), 15, "unknown field `region`"),
        (
            app("automatic_failover = { alarm = \"payments-down\" }\n"),
            15,
            "automatic_failover alarm: \"payments-down\" is not a CloudWatch alarm's ARN",
        ),
        (
            app("automatic_failover = { alarm = \
                 \"arn:aws:cloudwatch:us-east-1:123456789012:alarm:payments-down\" }\n"),
            15,
            "is in us-east-1, not in the dr_region us-west-2",
        ),
        (
            app("automatic_failover = { alarm = \
                 \"arn:aws:cloudwatch:us-west-2:123456789012:alarm:x\", when = \"always\" }\n"),
            15,
            "unknown field `when`",
        ),
        (
            app("").replace("primary_region = \"us-east-1\"\n", ""),
            11,
            "missing field `primary_region`",
        ),
    ] {
        assert_refused(&text, line, reason);
    }
}

#[test]
fn a_second_application_of_a_name_is_refused_at_its_line() {
    let second = "[[applications]]\nname = \"payments\"\nprimary_region = \"eu-west-1\"\n\
                  stores = { tag = { key = \"App\", value = \"pay\" } }\n";
    assert_refused(
        &app(second),
        16,
        "application \"payments\" is declared twice",
    );
}

#[test]
fn a_region_without_a_dr_region_needs_the_applications_own() {
    let text = format!(
        "[protection]\ndr_region = \"sa-east-1\"\n{TIER}{RULE}[[applications]]\n\
         name = \"payments\"\nprimary_region = \"sa-east-1\"\nstores = {{ tag = {{ key = \"A\", \
         value = \"b\" }} }}\n"
    );
    assert_refused(
        &text,
        13,
        "no DR region for sa-east-1: it is dr_region and has no default pair; name one in \
         [protection.dr_regions]; or give the application a dr_region",
    );
    let own = text.replace("stores", "dr_region = \"us-east-1\"\nstores");
    let config = Config::from_toml_str("ok.toml", &own).expect("valid");
    assert_eq!(
        config.application("payments").expect("payments").dr_region,
        region("us-east-1")
    );
}

#[test]
fn stores_name_something_that_can_exist() {
    let stores = |s: &str| {
        app("").replace(
            "stores = { tag = { key = \"Application\", value = \"payments\" } }",
            &format!("stores = {s}"),
        )
    };
    let arns = |list: &str| stores(&format!("{{ arns = [\n{list}\n] }}"));
    let table = "\"arn:aws:dynamodb:us-east-1:123456789012:table/orders\",";
    for (text, line, reason) in [
        (
            stores("{ tag = { key = \"A\", value = \"b\" }, arns = [\"arn:aws:s3:::b\"] }"),
            14,
            "stores: select by tag or by arns, not both",
        ),
        (stores("{}"), 14, "stores: select by tag"),
        (stores("{ arns = [] }"), 14, "stores: arns is empty"),
        (
            stores("{ tag = { key = \"\", value = \"b\" } }"),
            14,
            "tag key \"\": 1 to 128",
        ),
        (
            stores("{ tag = { key = \"A\", value = \"b#\" } }"),
            14,
            "tag value \"b#\"",
        ),
        (
            stores("{ tag = { key = \"A\" } }"),
            14,
            "missing field `value`",
        ),
        (
            stores("{ tags = { key = \"A\", value = \"b\" } }"),
            14,
            "unknown field `tags`",
        ),
        (
            arns(&format!(
                "{table}\n\"arn:aws:sqs:us-east-1:123456789012:queue\","
            )),
            16,
            "stores: invalid ARN \"arn:aws:sqs:us-east-1:123456789012:queue\"",
        ),
        (
            arns(&format!(
                "{table}\n\"arn:aws:dynamodb:eu-west-1:123456789012:table/x\","
            )),
            16,
            "is in eu-west-1, not in the primary_region us-east-1",
        ),
        (
            arns("\"arn:aws-cn:s3:::exports\","),
            15,
            "is in partition \"aws-cn\", the primary_region us-east-1 in \"aws\"",
        ),
        (
            arns(&format!("{table}\n\"arn:aws:s3:::b\",\n{table}")),
            17,
            "stores: \"arn:aws:dynamodb:us-east-1:123456789012:table/orders\" is listed twice",
        ),
    ] {
        assert_refused(&text, line, reason);
    }
}

#[test]
fn switches_aws_would_refuse_are_refused_at_their_line() {
    let route53 = |fields: &str| {
        app(&format!(
            "[[applications.switches]]\nkind = \"route53\"\n{fields}\n"
        ))
    };
    let record = "zone_id = \"Z1\"\nname = \"db.example.com\"\ntype = \"CNAME\"";
    let ssm = |fields: &str| {
        app(&format!(
            "[[applications.switches]]\nkind = \"ssm\"\n{fields}\n"
        ))
    };
    for (text, line, reason) in [
        (
            app("[[applications.switches]]\nkind = \"dns\"\nvalue = \"x\"\n"),
            16,
            "switch kind \"dns\": use \"route53\", \"ssm\" or \"routing_control\"",
        ),
        (
            route53(&format!(
                "{}\nvalue = \"x\"",
                record.replace("Z1", "/hostedzone/Z1")
            )),
            17,
            "switch zone_id \"/hostedzone/Z1\": not a hosted zone id",
        ),
        (
            route53(&format!(
                "{}\nvalue = \"x\"",
                record.replace("db.example.com", "db..example.com")
            )),
            18,
            "switch name \"db..example.com\": label \"\"",
        ),
        (
            route53(&format!("{}\nvalue = \"x\"", record.replace("CNAME", "MX"))),
            19,
            "record type \"MX\": a switch sets an A, AAAA, CNAME or TXT record",
        ),
        (
            route53(&format!("{record}\nttl = -1\nvalue = \"x\"")),
            20,
            "switch ttl -1 must be from 0 to 2147483647 seconds",
        ),
        (
            route53(&format!("{record}\nttl = 2147483648\nvalue = \"x\"")),
            20,
            "switch ttl 2147483648",
        ),
        (
            route53(&format!("{record}\nparameter = \"/x\"\nvalue = \"x\"")),
            20,
            "parameter belongs to kind = \"ssm\" switches",
        ),
        (
            route53(&format!("{record}\nweight = 10\nvalue = \"x\"")),
            20,
            "unknown field `weight`",
        ),
        (
            route53(&format!("{record}\nvalue = \"{{orders.endpoint\"")),
            20,
            "value \"{orders.endpoint\": the '{' at character 1 is never closed",
        ),
        (
            route53(&format!("{record}\nvalue = \"{{.endpoint}}\"")),
            20,
            "the store's name is empty",
        ),
        (
            route53(&format!("{record}\nvalue = \"{{orders.host}}\"")),
            20,
            "unknown attribute \"host\"",
        ),
        (
            route53(&format!("{record}\nvalue = \"\"")),
            20,
            "the value is empty",
        ),
        (
            route53(&(record.replace("CNAME", "A") + "\nvalue = \"{orders.endpoint}\"")),
            20,
            "an A record holds an address, and no attribute of a restored store is one",
        ),
        (
            route53(&(record.replace("CNAME", "AAAA") + "\nvalue = \"10.0.0.1\"")),
            20,
            "\"10.0.0.1\" is not an IPv6 address",
        ),
        (
            ssm("parameter = \"/aws/db\"\nvalue = \"x\""),
            17,
            "switch parameter \"/aws/db\": a parameter name cannot begin with \"aws\"",
        ),
        (
            ssm("zone_id = \"Z1\"\nparameter = \"/db\"\nvalue = \"x\""),
            17,
            "zone_id belongs to kind = \"route53\" switches",
        ),
        (
            ssm("parameter = \"/db\"\nttl = 60\nvalue = \"x\""),
            18,
            "ttl belongs to kind = \"route53\" switches",
        ),
        (ssm("parameter = \"/db\""), 15, "missing field `value`"),
    ] {
        assert_refused(&text, line, reason);
    }
}

#[test]
fn a_switch_missing_its_record_is_refused_at_the_switch() {
    let text = app(
        "[[applications.switches]]\nkind = \"route53\"\nzone_id = \"Z1\"\n\
         name = \"db.example.com\"\nvalue = \"x\"\n",
    );
    let err = super::tests::refused(&text);
    assert!(
        err.message
            .contains("a route53 switch needs zone_id, name and type: type is missing"),
        "{err}"
    );
    assert_eq!(err.line, 15, "the switch's header: {err}");
    let text = app("[[applications.switches]]\nkind = \"ssm\"\nvalue = \"x\"\n");
    assert_refused(&text, 15, "an ssm switch needs parameter");
}

#[test]
fn a_target_switched_twice_is_refused_at_the_second() {
    let switch = "[[applications.switches]]\nkind = \"ssm\"\nparameter = \"/db\"\nvalue = \"x\"\n";
    assert_refused(
        &app(&format!("{switch}{switch}")),
        19,
        "switch ssm us-west-2 /db is listed twice",
    );
}

#[test]
fn with_listed_stores_a_placeholder_names_one_by_an_attribute_it_has() {
    let listed = |value: &str| {
        app(&format!(
            "[[applications.switches]]\nkind = \"ssm\"\nparameter = \"/db\"\nvalue = \"{value}\"\n"
        ))
        .replace(
            "stores = { tag = { key = \"Application\", value = \"payments\" } }",
            "stores = { arns = [\"arn:aws:dynamodb:us-east-1:123456789012:table/orders\", \
             \"arn:aws:rds:us-east-1:123456789012:db:orders-db\"] }",
        )
    };
    let config = Config::from_toml_str("ok.toml", &listed("{orders-db.endpoint}/{orders.name}"))
        .expect("valid");
    assert_eq!(config.applications().len(), 1);
    for (value, reason) in [
        (
            "{orders.endpoint}",
            "{orders.endpoint}: \"orders\" is a store of kind dynamodb, which has no endpoint",
        ),
        (
            "{ledger.name}",
            "{ledger.name}: no listed store is named \"ledger\" (they are orders, orders-db)",
        ),
    ] {
        assert_refused(&listed(value), 18, reason);
    }
}

#[test]
fn a_routing_control_switch_loads_with_its_cluster_endpoints_and_refuses_what_arc_would() {
    let arn =
        "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/def456";
    let endpoints = "[{ url = \"https://host-1.route53-recovery-cluster.us-west-2.amazonaws.com/v1\", \
                     region = \"us-west-2\" }, { url = \"https://host-2.route53-recovery-cluster.eu-west-1.amazonaws.com/v1\", region = \"eu-west-1\" }]";
    let switch = |arn: &str, endpoints: &str, value: &str| {
        app(&format!(
            "[[applications.switches]]\nkind = \"routing_control\"\narn = \"{arn}\"\n\
             cluster_endpoints = {endpoints}\nvalue = \"{value}\"\n"
        ))
    };
    let config =
        Config::from_toml_str("bulwark.toml", &switch(arn, endpoints, "On")).expect("loads");
    let loaded_app = config.application("payments").expect("the application");
    let SwitchTarget::RoutingControl {
        arn: loaded,
        endpoints: listed,
    } = &loaded_app.switches[0].target
    else {
        panic!("a routing control: {:?}", loaded_app.switches[0].target);
    };
    assert_eq!(loaded.as_str(), arn);
    assert_eq!(
        listed.iter().map(|e| e.region.as_str()).collect::<Vec<_>>(),
        ["us-west-2", "eu-west-1"]
    );
    assert_eq!(loaded_app.switches[0].ttl, None);
    assert_eq!(loaded_app.switches[0].target.control_plane(), None);
    for (text, line, reason) in [
        (
            switch(arn, endpoints, "on"),
            19,
            "a routing control's value is \"On\" or \"Off\"",
        ),
        (
            switch("arn:aws:route53-recovery-control::123456789012:cluster/abc", endpoints, "On"),
            17,
            "is not a routing control's ARN",
        ),
        (switch(arn, "[]", "On"), 18, "cluster_endpoints lists 0"),
        (
            switch(arn, "[{ url = \"host-1\", region = \"us-west-2\" }]", "On"),
            18,
            "is not a cluster endpoint",
        ),
        (
            app(&format!(
                "[[applications.switches]]\nkind = \"routing_control\"\narn = \"{arn}\"\n\
                 cluster_endpoints = {endpoints}\nparameter = \"/x\"\nvalue = \"On\"\n"
            )),
            19,
            "parameter does not belong to kind = \"routing_control\" switches",
        ),
        (
            app("[[applications.switches]]\nkind = \"ssm\"\nparameter = \"/x\"\narn = \"a\"\nvalue = \"y\"\n"),
            18,
            "arn belongs to kind = \"routing_control\" switches",
        ),
    ] {
        assert_refused(&text, line, reason);
    }
}
