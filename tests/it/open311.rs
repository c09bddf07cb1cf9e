//! Open311 GeoReport v2: every resource in JSON and XML, the spec's fields and
//! errors, requests created with an api_key.

use serde_json::Value;

use crate::support::*;
use crate::workflow::{Staff, must};

async fn raw(app: &TestApp, path: &str) -> (u16, String, String) {
    let resp = app.client.get(app.url(path)).send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

async fn json(app: &TestApp, path: &str) -> (u16, Value) {
    let (s, ct, text) = raw(app, path).await;
    assert!(ct.starts_with("application/json"), "{path}: {ct}");
    (s, serde_json::from_str(&text).unwrap())
}

/// The XML document's root element name and its children's texts by tag, per item.
fn xml_items(text: &str) -> (String, Vec<Vec<(String, String)>>) {
    let doc = roxmltree::Document::parse(text).unwrap();
    let root = doc.root_element();
    let items = root
        .children()
        .filter(|n| n.is_element())
        .map(|item| {
            item.children()
                .filter(|n| n.is_element())
                .map(|f| {
                    (
                        f.tag_name().name().to_owned(),
                        f.text().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .collect();
    (root.tag_name().name().to_owned(), items)
}

async fn post(app: &TestApp, fmt: &str, form: &[(&str, String)]) -> (u16, String) {
    let resp = app
        .client
        .post(app.url(&format!("/open311/v2/requests.{fmt}")))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn discovery_services_and_definitions_in_json_and_xml() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let (s, d) = json(&app, "/open311/v2/discovery.json").await;
    assert_eq!(s, 200);
    assert_eq!(
        d["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    let (_, ct, text) = raw(&app, "/open311/v2/discovery.xml").await;
    assert!(ct.starts_with("text/xml"));
    assert_eq!(
        roxmltree::Document::parse(&text)
            .unwrap()
            .root_element()
            .tag_name()
            .name(),
        "discovery"
    );

    let (s, services) = json(&app, "/open311/v2/services.json").await;
    assert_eq!(s, 200);
    let services = services.as_array().unwrap();
    assert_eq!(services.len(), 114, "one service per class");
    let garbage = services
        .iter()
        .find(|s| s["service_code"] == "event-0102")
        .unwrap();
    for field in [
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ] {
        assert!(!garbage[field].is_null(), "{field}");
    }
    assert_eq!(garbage["service_name"], "暴露垃圾");
    assert_eq!(garbage["group"], "市容环境");
    assert_eq!(garbage["type"], "realtime");
    let (_, _, text) = raw(&app, "/open311/v2/services.xml").await;
    let (root, items) = xml_items(&text);
    assert_eq!(root, "services");
    assert_eq!(items.len(), 114);
    assert!(
        items
            .iter()
            .any(|i| i.contains(&("service_code".into(), "component-0101".into())))
    );

    let (s, def) = json(&app, "/open311/v2/services/event-0102.json").await;
    assert_eq!(s, 200);
    assert_eq!(def["service_code"], "event-0102");
    assert_eq!(def["attributes"][0]["code"], "urgent");
    assert_eq!(def["attributes"][0]["values"].as_array().unwrap().len(), 2);
    let (_, _, text) = raw(&app, "/open311/v2/services/event-0102.xml").await;
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "service_definition");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("value"))
            .count(),
        2
    );

    // Errors: [{"code","description"}] / <errors><error>.
    let (s, e) = json(&app, "/open311/v2/services/event-0999.json").await;
    assert_eq!(s, 404);
    assert_eq!(e[0]["code"], 404);
    assert!(e[0]["description"].as_str().unwrap().contains("event-0999"));
    let (s, _, text) = raw(&app, "/open311/v2/services/nothing.xml").await;
    assert_eq!(s, 404);
    let (root, items) = xml_items(&text);
    assert_eq!(root, "errors");
    assert_eq!(items[0][0], ("code".to_owned(), "404".to_owned()));
}

#[tokio::test]
async fn requests_are_posted_with_an_api_key_and_read_back_without_personal_data() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let client = app.user(Role::Operator, None).await;
    let p = grid_points(&app.db, 2).await;
    let form = |key: &str, code: &str, i: usize| {
        vec![
            ("api_key", key.to_owned()),
            ("service_code", code.to_owned()),
            ("lat", p[i].2.to_string()),
            ("long", p[i].1.to_string()),
            ("description", "路口有暴露垃圾".to_owned()),
            ("attribute[urgent]", "true".to_owned()),
            ("first_name", "王".to_owned()),
            ("email", "wang@example.com".to_owned()),
        ]
    };
    // The spec's errors.
    let (s, text) = post(&app, "json", &form("", "event-0102", 0)[1..]).await;
    assert_eq!(s, 403, "{text}");
    let e: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(e[0]["code"], 403);
    let (s, _) = post(&app, "json", &form("cg_nope", "event-0102", 0)).await;
    assert_eq!(s, 403);
    let (s, text) = post(&app, "xml", &form(&client, "event-9999", 0)).await;
    assert_eq!(s, 400, "{text}");
    assert_eq!(xml_items(&text).0, "errors");
    let mut no_place = form(&client, "event-0102", 0);
    no_place.retain(|(k, _)| *k != "lat" && *k != "long");
    let (s, _) = post(&app, "json", &no_place).await;
    assert_eq!(s, 400);
    assert_eq!(app.db.count("cases").await, 0);

    // Created: the id and a notice; the case came in on the open311 channel.
    let (s, text) = post(&app, "json", &form(&client, "event-0102", 0)).await;
    assert_eq!(s, 201, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, case) = app
        .get_as(&format!("/api/v1/cases/{id}"), &u.operator)
        .await;
    assert_eq!(case["channel"], "open311");
    assert_eq!(case["urgent"], true);
    // XML POST too.
    let (s, text) = post(&app, "xml", &form(&client, "event-0501", 1)).await;
    assert_eq!(s, 201);
    let (root, items) = xml_items(&text);
    assert_eq!(root, "service_requests");
    let second = items[0]
        .iter()
        .find(|(k, _)| k == "service_request_id")
        .unwrap()
        .1
        .clone();

    // Read back: every field of the spec, nothing personal.
    let (s, r) = json(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(s, 200);
    let r = &r[0];
    for field in [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ] {
        assert!(r.get(field).is_some(), "{field} missing");
    }
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "event-0102");
    assert_eq!(
        (r["lat"].as_f64(), r["long"].as_f64()),
        (Some(p[0].2), Some(p[0].1))
    );
    for t in ["requested_datetime", "updated_datetime"] {
        chrono::DateTime::parse_from_rfc3339(r[t].as_str().unwrap()).expect("ISO 8601 with a zone");
    }
    assert!(!r.to_string().contains("wang@example.com") && !r.to_string().contains("Operator"));
    let (_, _, text) = raw(&app, &format!("/open311/v2/requests/{id}.xml")).await;
    let (root, items) = xml_items(&text);
    assert_eq!(root, "service_requests");
    assert!(items[0].contains(&("status".into(), "open".into())));
    let (s, _) = json(&app, "/open311/v2/requests/20990101-000001.json").await;
    assert_eq!(s, 404);

    // Dispatched: the expected time is the handling deadline; closed when closed.
    let v = case["version"].as_i64().unwrap();
    let v = must(&app, &u.operator, &id, "file", v, serde_json::json!({})).await;
    let (s, b) = app
        .act(&u.dispatcher, &id, "dispatch", v, serde_json::json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, r) = json(&app, &format!("/open311/v2/requests/{id}.json")).await;
    let expected = r[0]["expected_datetime"]
        .as_str()
        .expect("an expected time once dispatched");
    // Open311 times are whole seconds: the deadline, its fraction cut off.
    let due = chrono::DateTime::parse_from_rfc3339(
        b["case"]["deadlines"]["handling"]["due_at"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(expected).unwrap(),
        chrono::SubsecRound::trunc_subsecs(due, 0)
    );
    assert!(r[0]["agency_responsible"].is_string());
    let (s, _) = app
        .act(
            &u.operator,
            &second,
            "void",
            1,
            serde_json::json!({"note": "test"}),
        )
        .await;
    assert_eq!(s, 200);

    // Filters.
    let count = |v: &Value| v.as_array().unwrap().len();
    let (_, all) = json(&app, "/open311/v2/requests.json").await;
    assert_eq!(count(&all), 2);
    let (_, open) = json(&app, "/open311/v2/requests.json?status=open").await;
    assert_eq!(count(&open), 1);
    assert_eq!(open[0]["service_request_id"], id.as_str());
    let (_, closed) = json(&app, "/open311/v2/requests.json?status=closed").await;
    assert_eq!(closed[0]["service_request_id"], second.as_str());
    let (_, by_code) = json(&app, "/open311/v2/requests.json?service_code=event-0501").await;
    assert_eq!(count(&by_code), 1);
    let (_, by_id) = json(
        &app,
        &format!("/open311/v2/requests.json?service_request_id={id},{second}"),
    )
    .await;
    assert_eq!(count(&by_id), 2);
    let (_, old) = json(
        &app,
        "/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z",
    )
    .await;
    assert_eq!(count(&old), 0);
    let (s, e) = json(
        &app,
        "/open311/v2/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-06-01T00:00:00Z",
    )
    .await;
    assert_eq!((s, e[0]["code"].as_i64()), (400, Some(400)));
    let (s, _) = json(&app, "/open311/v2/requests.json?status=pending").await;
    assert_eq!(s, 400);
    let (_, paged) = json(&app, "/open311/v2/requests.json?page_size=1&page=2").await;
    assert_eq!(count(&paged), 1);

    let (s, tok) = json(&app, &format!("/open311/v2/tokens/{id}.json")).await;
    assert_eq!(
        (s, tok[0]["service_request_id"].as_str()),
        (200, Some(id.as_str()))
    );
}

/// An independent Open311 client from PyPI (`georeport`, installed by
/// scripts/test.sh into target/pydeps) reads services, a definition and
/// requests in JSON and XML.
#[tokio::test]
async fn an_independent_open311_client_reads_it() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let server = ServerProcess::start(&db).await;
    let (_, key) = add_user(
        &db.pool,
        citygrid::store::users::NewUser {
            patrol: Vec::new(),
            login: None,
            password: None,
            name: "Open311 app".into(),
            role: Role::Operator,
            department: None,
            kiosk: None,
        },
    )
    .await
    .unwrap();
    let key = key.unwrap();
    let p = grid_points(&db, 1).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/open311/v2/requests.json", server.base))
        .form(&[
            ("api_key", key),
            ("service_code", "event-0102".to_owned()),
            ("lat", p[0].2.to_string()),
            ("long", p[0].1.to_string()),
            ("description", "垃圾".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = tokio::process::Command::new("python3")
        .arg("tests/open311/client.py")
        .env("PYTHONPATH", "target/pydeps")
        .env("BASE", format!("{}/open311/v2", server.base))
        .env("REQUEST_ID", &id)
        .env("SERVICE_CODE", "event-0102")
        .output()
        .await
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("ok - georeport").count(), 2, "{stdout}");
}
