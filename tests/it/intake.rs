//! Intake: reports become cases placed on the grid, attached to a component,
//! routed to a department; retries and nearby duplicates never make a second
//! case; bad input gets a specific code and stores nothing; photos.

use serde_json::{Value, json};

use crate::support::*;

async fn sample_app() -> TestApp {
    TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap()
}

/// ~`m` metres north of a latitude.
fn north(lat: f64, m: f64) -> f64 {
    lat + m / 111_320.0
}

#[tokio::test]
async fn a_component_report_is_placed_attached_and_routed_to_the_owner() {
    let app = sample_app().await;
    let inspector = app.user(Role::Inspector, None).await;
    let (code, dept, lon, lat) = components_of(&app.db, "0102", 1).await.remove(0);
    let photo = app.photo(&inspector, 1).await;
    let (status, body) = app
        .post(
            "/api/v1/reports",
            &inspector,
            &json!({"client_key": "k1", "kind": "component", "class": "0102", "lon": lon, "lat": north(lat, 8.0),
                    "description": "井盖丢失 missing cover", "photos": [photo], "urgent": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let case = &body["case"];
    let case_no = case["case_no"].as_str().unwrap();
    assert_eq!(case_no.len(), 15);
    assert!(
        case_no.as_bytes()[8] == b'-'
            && case_no.replace('-', "").bytes().all(|b| b.is_ascii_digit())
    );
    assert_eq!(case["state"], "reported");
    assert_eq!(case["component"], code.as_str());
    assert_eq!(
        case["department"],
        dept.as_str(),
        "the component's competent department"
    );
    assert_eq!(case["channel"], "inspector");
    assert_eq!(case["class_name"], "污水井盖");
    assert_eq!(case["urgent"], true);
    assert_eq!(case["photos"], json!([photo]));
    // The place is the index's answer for the point.
    let (_, located) = app
        .get(&format!("/api/v1/locate?lon={lon}&lat={}", north(lat, 8.0)))
        .await;
    assert_eq!(case["grid"], located["grid"]["code"]);
    assert_eq!(case["community"]["code"], located["community"]["code"]);
    assert_eq!(case["street"]["code"], located["street"]["code"]);
    assert_eq!(case["district"]["code"], located["district"]["code"]);
    // Urgent filing is due 10 minutes after the report.
    let filing = &case["deadlines"]["filing"];
    assert_eq!(filing["limit"], json!({"unit": "minutes", "amount": 10}));
    assert_eq!(filing["light"], "green");
    let timeline = case["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["action"], "report");
    assert_eq!(timeline[0]["to"], "reported");
    // Durable: it is in the table.
    assert_eq!(app.db.count("cases").await, 1);

    // Where no component of the class is within 30 m: none attached, routed by rule.
    let (far_lon, far_lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(a.geom), ST_Y(a.geom) FROM components a WHERE a.class = '0305'
           AND NOT EXISTS (SELECT 1 FROM components b WHERE b.class = '0102'
                           AND ST_DWithin(a.geom::geography, b.geom::geography, 35))
         ORDER BY a.code LIMIT 1",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let (status, body) = app
        .post(
            "/api/v1/reports",
            &inspector,
            &json!({"client_key": "k2", "kind": "component", "class": "0102", "lon": far_lon, "lat": far_lat}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["case"]["component"], Value::Null);
    assert_eq!(
        body["case"]["department"], "drainage-co",
        "routing.csv component,0102,*"
    );
}

#[tokio::test]
async fn retries_with_the_same_client_key_never_make_a_second_case() {
    let app = sample_app().await;
    let inspector = app.user(Role::Inspector, None).await;
    let other = app.user(Role::Inspector, None).await;
    let p = grid_points(&app.db, 3).await;
    let body = event_report("retry-1", "0102", p[0].1, p[0].2);
    let (s1, b1) = app.post("/api/v1/reports", &inspector, &body).await;
    let (s2, b2) = app.post("/api/v1/reports", &inspector, &body).await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(case_of(&b1).0, case_of(&b2).0);

    // Eight retries at once (a phone regaining signal): one case, one report.
    let body = event_report("retry-2", "0501", p[1].1, p[1].2);
    let sends = (0..8).map(|_| app.post("/api/v1/reports", &inspector, &body));
    let results = futures_util::future::join_all(sends).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{results:?}");
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 201));
    let numbers: std::collections::HashSet<String> =
        results.iter().map(|(_, b)| case_of(b).0).collect();
    assert_eq!(numbers.len(), 1);
    assert_eq!(app.db.count("cases").await, 2);
    assert_eq!(app.db.count("reports").await, 2);

    // The key is the caller's own: another inspector's "retry-1" is a new report
    // (far away, so not a duplicate either).
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &other,
            &event_report("retry-1", "0102", p[2].1, p[2].2),
        )
        .await;
    assert_eq!(s, 201);
    assert_ne!(case_of(&b).0, case_of(&b1).0);
}

#[tokio::test]
async fn a_nearby_report_of_an_open_case_is_attached_as_a_duplicate() {
    let app = sample_app().await;
    let a = app.user(Role::Inspector, None).await;
    let b = app.user(Role::Inspector, None).await;
    let operator = app.user(Role::Operator, None).await;
    let p = grid_points(&app.db, 2).await;
    let (lon, lat) = (p[0].1, p[0].2);
    let (_, first) = app
        .post("/api/v1/reports", &a, &event_report("a1", "0102", lon, lat))
        .await;
    let (first_no, _) = case_of(&first);

    // 20 m away, same class, another inspector: attached (radius 50 m).
    let (status, dup) = app
        .post(
            "/api/v1/reports",
            &b,
            &event_report("b1", "0102", lon, north(lat, 20.0)),
        )
        .await;
    assert_eq!(status, 201, "{dup}");
    assert_eq!(dup["duplicate_of"], first_no.as_str());
    assert_eq!(case_of(&dup).0, first_no);
    let duplicates = dup["case"]["duplicates"].as_array().unwrap();
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0]["type"], "report");
    assert_eq!(app.db.count("cases").await, 1);
    assert_eq!(
        dup["case"]["timeline"].as_array().unwrap().last().unwrap()["action"],
        "duplicate_report"
    );
    // Its retry answers the same way.
    let (status, again) = app
        .post(
            "/api/v1/reports",
            &b,
            &event_report("b1", "0102", lon, north(lat, 20.0)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["duplicate_of"], first_no.as_str());

    // Another class at the same spot, or the same class 80 m away: new cases.
    let (s, other_class) = app
        .post("/api/v1/reports", &b, &event_report("b2", "0104", lon, lat))
        .await;
    assert_eq!(s, 201);
    assert_eq!(other_class["duplicate_of"], Value::Null);
    let (s, far) = app
        .post(
            "/api/v1/reports",
            &b,
            &event_report("b3", "0102", lon, north(lat, 80.0)),
        )
        .await;
    assert_eq!(s, 201);
    assert_ne!(case_of(&far).0, first_no);

    // A rejected case no longer absorbs reports.
    let (s, _) = app
        .act(
            &operator,
            &first_no,
            "reject",
            1,
            json!({"note": "not in our remit"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, fresh) = app
        .post("/api/v1/reports", &b, &event_report("b4", "0102", lon, lat))
        .await;
    assert_eq!(s, 201);
    assert_ne!(case_of(&fresh).0, first_no);

    // Illegal structures (event 0101) only suggest: a new case naming the candidate.
    let (lon2, lat2) = (p[1].1, p[1].2);
    let (_, s1) = app
        .post(
            "/api/v1/reports",
            &a,
            &event_report("s1", "0101", lon2, lat2),
        )
        .await;
    let (status, s2) = app
        .post(
            "/api/v1/reports",
            &b,
            &event_report("s2", "0101", lon2, north(lat2, 60.0)),
        )
        .await;
    assert_eq!(status, 201);
    assert_ne!(case_of(&s2).0, case_of(&s1).0);
    assert_eq!(s2["possible_duplicates"], json!([case_of(&s1).0]));
}

#[tokio::test]
async fn bad_reports_get_a_specific_code_and_store_nothing() {
    let app = sample_app().await;
    let inspector = app.user(Role::Inspector, None).await;
    let department = app.user(Role::Department, Some("water-co")).await;
    let p = grid_points(&app.db, 1).await;
    let (lon, lat) = (p[0].1, p[0].2);
    let ok = event_report("bad", "0102", lon, lat);
    let with = |patch: Value| {
        let mut b = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let (mc_code, _, mc_lon, mc_lat) = components_of(&app.db, "0101", 1).await.remove(0);
    let cases: Vec<(Value, u16, &str)> = vec![
        (with(json!({"class": "0999"})), 422, "unknown_class"),
        (with(json!({"class": "01"})), 422, "unknown_class"),
        (with(json!({"kind": "thing"})), 422, "invalid_kind"),
        (
            with(json!({"lon": 2.35, "lat": 48.85})),
            422,
            "outside_coverage",
        ),
        (with(json!({"lon": 200.0})), 400, "invalid_coordinates"),
        (with(json!({"lat": null})), 400, "invalid_coordinates"),
        (
            with(json!({"lon": null, "lat": null})),
            422,
            "missing_location",
        ),
        (
            with(json!({"lon": null, "lat": null, "address": "月球基地"})),
            422,
            "address_not_found",
        ),
        (
            with(json!({"description": "长".repeat(4001)})),
            422,
            "description_too_long",
        ),
        (
            with(json!({"photos": ["0".repeat(64)]})),
            422,
            "unknown_photo",
        ),
        (with(json!({"client_key": ""})), 422, "invalid_client_key"),
        (
            with(json!({"description": "nul \u{0} byte"})),
            422,
            "invalid_text",
        ),
        (with(json!({"client_key": null})), 422, "invalid_body"),
        (with(json!({"lon": "107.1"})), 422, "invalid_body"),
        (
            json!({"client_key": "c", "kind": "component", "class": "0102", "component_code": mc_code, "lon": mc_lon, "lat": mc_lat}),
            422,
            "component_class_mismatch",
        ),
        (
            json!({"client_key": "c", "kind": "component", "class": "0101", "component_code": "6103030101999999"}),
            422,
            "unknown_component",
        ),
        (
            json!({"client_key": "c", "kind": "component", "class": "0101", "component_code": "12"}),
            422,
            "invalid_component_code",
        ),
    ];
    for (body, status, code) in cases {
        let (s, b) = app.post("/api/v1/reports", &inspector, &body).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{body} → {b}"
        );
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // Malformed JSON, no token, a role that does not report.
    let resp = app
        .client
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&inspector)
        .header("Content-Type", "application/json")
        .body("{\"client_key\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["error"]["code"], "malformed_json");
    let resp = app
        .client
        .post(app.url("/api/v1/reports"))
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (s, b) = app.post("/api/v1/reports", &department, &ok).await;
    assert_eq!((s, b["error"]["code"].as_str()), (403, Some("forbidden")));

    assert_eq!(app.db.count("cases").await, 0);
    assert_eq!(app.db.count("reports").await, 0);

    // A component code alone places the report at the component.
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &inspector,
            &json!({"client_key": "c-ok", "kind": "component", "class": "0101", "component_code": mc_code}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["case"]["component"], mc_code.as_str());
    assert_eq!(b["case"]["lon"], mc_lon);
}

#[tokio::test]
async fn a_kiosk_reports_where_it_stands_and_sees_only_progress() {
    let app = sample_app().await;
    let p = grid_points(&app.db, 1).await;
    let kiosk = app
        .user_with(
            Role::Kiosk,
            None,
            Some(citygrid::store::users::Kiosk {
                id: "kiosk-jt-01".into(),
                lon: p[0].1,
                lat: p[0].2,
            }),
        )
        .await;
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &kiosk,
            &json!({"client_key": "t1", "kind": "event", "class": "0102", "description": "门口有垃圾"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let case_no = b["case"]["case_no"].as_str().unwrap().to_owned();
    // The kiosk's answer is the public view; staff see the channel.
    assert!(
        b["case"].get("channel").is_none() && b["case"].get("timeline").is_none(),
        "{b}"
    );
    assert_eq!(b["case"]["grid"], p[0].0.as_str());
    assert_eq!(
        (b["case"]["lon"].as_f64(), b["case"]["lat"].as_f64()),
        (Some(p[0].1), Some(p[0].2))
    );

    let (s, public) = app
        .get_as(&format!("/api/v1/cases/{case_no}"), &kiosk)
        .await;
    assert_eq!(s, 200);
    // The public view: state in public words, no words of the reporter until
    // the case is filed, no department before dispatch, no people.
    assert_eq!(public["state"], "received");
    assert_eq!(public["state_name"], "已接收");
    assert_eq!(public["class_name"], "暴露垃圾");
    assert!(public["description"].is_null() && public["agency"].is_null());
    assert!(public.get("department").is_none() && public.get("timeline").is_none());
    assert_eq!(public["steps"][0]["state"], "received");
    assert!(public["steps"][0].get("actor").is_none());
    let (s, b) = app.get_as("/api/v1/cases", &kiosk).await;
    assert_eq!((s, b["error"]["code"].as_str()), (403, Some("forbidden")));
    let (s, _) = app.get_as("/api/v1/cases/20990101-000001", &kiosk).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn routing_prefers_the_component_owner_then_the_most_specific_rule() {
    let db = TestDb::new(Template::Empty).await.unwrap();
    let dir = mini_city();
    dir.write(
        "departments.csv",
        "code,name,phone\nwater-co,自来水公司,1\nurban-mgmt,城管局,2\ndept-a,A,3\ndept-b,B,4\ndept-c,C,5\n",
    );
    dir.write(
        "routing.csv",
        "kind,class,area,department\n\
         event,*,*,urban-mgmt\n\
         event,01,*,dept-a\n\
         event,0102,*,dept-b\n\
         event,0102,610302001002,dept-c\n\
         event,01,610302001002001,urban-mgmt\n\
         component,0101,*,urban-mgmt\n",
    );
    let report = citygrid::import::import_dir(&db.pool, dir.path(), Default::default())
        .await
        .unwrap();
    assert!(report.committed, "{:?}", report.errors);
    let app = TestApp::spawn(db).await.unwrap();
    let inspector = app.user(Role::Inspector, None).await;
    let g1 = (107.0004, 34.0002); // 610302001001001
    let g3 = (107.003, 34.0005); // 610302001002001
    let cases = [
        ("event", "0103", g1, "dept-a"),     // major class 01 beats *
        ("event", "0102", g1, "dept-b"),     // class 0102 beats major 01
        ("event", "0102", g3, "dept-c"),     // same class, community beats *
        ("event", "0104", g3, "urban-mgmt"), // 01 at the grid beats 01 anywhere
        ("event", "0201", g1, "urban-mgmt"), // only * matches
        ("component", "0101", (107.0005, 34.0006), "water-co"), // the component's owner beats every rule
        ("component", "0101", g3, "urban-mgmt"), // no component within 30 m: the rule
    ];
    for (i, (kind, class, (lon, lat), dept)) in cases.into_iter().enumerate() {
        let (s, b) = app
            .post(
                "/api/v1/reports",
                &inspector,
                &json!({"client_key": format!("r{i}"), "kind": kind, "class": class, "lon": lon, "lat": lat}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(
            b["case"]["department"], dept,
            "{kind} {class} at {lon},{lat}"
        );
        // Each report is its own case (different classes or places), except the
        // two 0102 events in different communities 300 m apart.
        assert_eq!(b["duplicate_of"], Value::Null, "{b}");
    }
}

#[tokio::test]
async fn photos_are_typed_by_content_limited_in_size_and_shown_to_staff() {
    let app = sample_app().await;
    let inspector = app.user(Role::Inspector, None).await;
    let kiosk = app.user(Role::Kiosk, None).await;
    let upload = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/api/v1/media"))
            .bearer_auth(&inspector)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let jpeg = std::fs::read("tests/fixtures/python.jpg").unwrap();
    let resp = upload(jpeg.clone(), "image/jpeg").await.unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same photo again: the same id, stored once.
    let again = upload(jpeg.clone(), "image/jpeg").await.unwrap();
    assert_eq!(again.json::<Value>().await.unwrap()["id"], id.as_str());
    assert_eq!(app.db.count("media").await, 1);
    assert!(app.media.path().join(&id[..2]).join(&id).exists());

    for (body, ct, status, code) in [
        (
            b"GIF89a....".to_vec(),
            "image/gif",
            415,
            "unsupported_media_type",
        ),
        (
            b"GIF89a....".to_vec(),
            "image/png",
            415,
            "unsupported_media_type",
        ),
        (jpeg.clone(), "image/png", 415, "unsupported_media_type"),
        // A PNG's signature and nothing of a picture after it.
        (
            {
                let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
                fake.extend_from_slice(&[0; 100]);
                fake
            },
            "image/png",
            415,
            "unsupported_media_type",
        ),
        // A real picture cut short.
        (
            jpeg[..jpeg.len() / 2].to_vec(),
            "image/jpeg",
            415,
            "unsupported_media_type",
        ),
        (
            {
                let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
                big.resize(10 * 1024 * 1024 + 1, 0);
                big
            },
            "image/png",
            413,
            "payload_too_large",
        ),
    ] {
        let resp = upload(body, ct).await.unwrap();
        assert_eq!(resp.status().as_u16(), status);
        let b: Value = resp.json().await.unwrap();
        assert_eq!(b["error"]["code"], code);
    }
    // Exactly 10 MB is accepted.
    let max = png_of_size(10 * 1024 * 1024);
    assert_eq!(
        upload(max, "image/png").await.unwrap().status().as_u16(),
        201
    );

    let resp = app
        .client
        .get(app.url(&format!("/api/v1/media/{id}")))
        .bearer_auth(&inspector)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), jpeg);
    let (s, _) = app.get_as(&format!("/api/v1/media/{id}"), &kiosk).await;
    assert_eq!(s, 403);
    let (s, b) = app
        .get_as(&format!("/api/v1/media/{}", "a".repeat(64)), &inspector)
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("media_not_found"))
    );
}

#[tokio::test]
async fn street_lights_are_filed_and_dispatched_automatically() {
    let app = sample_app().await;
    let inspector = app.user(Role::Inspector, None).await;
    let (code, dept, lon, lat) = components_of(&app.db, "0118", 1).await.remove(0);
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &inspector,
            &json!({"client_key": "light", "kind": "component", "class": "0118", "component_code": code, "description": "路灯不亮"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["case"]["state"], "dispatched");
    assert_eq!(b["case"]["department"], dept.as_str());
    assert_eq!(
        (b["case"]["lon"].as_f64(), b["case"]["lat"].as_f64()),
        (Some(lon), Some(lat))
    );
    let actions: Vec<(&str, &str)> = b["case"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("report", "inspector"),
            ("file", "system"),
            ("dispatch", "system")
        ]
    );
    assert!(b["case"]["deadlines"]["handling"]["due_at"].is_string());
}

/// The address matcher, fuzzed through HTTP: any text (control characters,
/// NUL, quotes, SQL, very long) gets a 201 or a 4xx, never a 5xx.
#[tokio::test]
async fn any_address_text_gets_an_answer() {
    use proptest::strategy::{Strategy, ValueTree};
    let app = sample_app().await;
    let inspector = app.user(Role::Inspector, None).await;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let text = "\\PC{0,40}|[\\x00-\\x1f'\";%_\\\\]{0,20}|.{0,400}";
    let strategy = text.prop_map(|s| s);
    let mut tried = vec![
        "'; DROP TABLE cases; --".to_owned(),
        "%".to_owned(),
        "\0".to_owned(),
        "经二路".repeat(500),
    ];
    for _ in 0..200 {
        tried.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    for (i, address) in tried.iter().enumerate() {
        let (s, b) = app
            .post(
                "/api/v1/reports",
                &inspector,
                &json!({"client_key": format!("addr-{i}"), "kind": "event", "class": "0102", "address": address}),
            )
            .await;
        assert!(s == 201 || (400..500).contains(&s), "{address:?}: {s} {b}");
        if s != 201 {
            assert!(b["error"]["code"].is_string(), "{address:?}: {b}");
        }
    }
}

/// Sends the reports all at once; their answers in the same order.
async fn report_at_once(app: &TestApp, token: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let sent = bodies
        .iter()
        .map(|body| app.post("/api/v1/reports", token, body));
    futures_util::future::join_all(sent).await
}

#[tokio::test]
async fn case_numbers_are_the_day_s_own_with_no_gap_or_repeat_when_reports_race() {
    let app = sample_app().await;
    let u = crate::workflow::Staff::new(&app).await;
    let day = test_now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    // The day was numbered up to 41 by the counter of earlier versions.
    sqlx::query("INSERT INTO case_numbers (day, last) VALUES ($1, 41)")
        .bind(day)
        .execute(&app.db.pool)
        .await
        .unwrap();
    // 24 reports at once, the first of the day's sequence among them, each
    // in its own grid (no duplicates).
    let points = grid_points(&app.db, 24).await;
    let bodies = points
        .iter()
        .enumerate()
        .map(|(i, (_, lon, lat))| event_report(&format!("race-{i}"), "0102", *lon, *lat))
        .collect();
    let mut numbers: Vec<String> = report_at_once(&app, &u.inspector, bodies)
        .await
        .into_iter()
        .map(|(s, b)| {
            assert_eq!(s, 201, "{b}");
            b["case"]["case_no"].as_str().unwrap().to_owned()
        })
        .collect();
    numbers.sort();
    let ymd = day.format("%Y%m%d");
    let want: Vec<String> = (42..66).map(|n| format!("{ymd}-{n:06}")).collect();
    assert_eq!(numbers, want);
}

#[tokio::test]
async fn reports_of_one_problem_at_once_make_one_case() {
    let app = sample_app().await;
    let u = crate::workflow::Staff::new(&app).await;
    let p = grid_points(&app.db, 1).await;
    // Ten people report the same garbage at once, each from where they
    // stand (up to ~20 m apart, around the spot in every direction).
    let bodies = (0..10)
        .map(|i| {
            let angle = i as f64 * std::f64::consts::TAU / 10.0;
            let (lon, lat) = (
                p[0].1 + 0.0002 * angle.cos(),
                p[0].2 + 0.00015 * angle.sin(),
            );
            event_report(&format!("same-{i}"), "0102", lon, lat)
        })
        .collect();
    let mut numbers: Vec<String> = report_at_once(&app, &u.inspector, bodies)
        .await
        .into_iter()
        .map(|(s, b)| {
            assert!(s == 201 || s == 200, "{b}");
            b["case"]["case_no"]
                .as_str()
                .or(b["duplicate_of"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    numbers.dedup();
    assert_eq!(app.db.count("cases").await, 1, "{numbers:?}");
    assert_eq!(app.db.count("reports").await, 10);
}

#[tokio::test]
async fn a_configuration_change_by_any_hand_reaches_the_next_report() {
    let app = sample_app().await;
    let u = crate::workflow::Staff::new(&app).await;
    let p = grid_points(&app.db, 2).await;
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &event_report("warm", "0102", p[0].1, p[0].2),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let department = b["case"]["department"].as_str().unwrap().to_owned();
    assert_ne!(b["case"]["department_name"], "改名后的部门");
    // Renamed by hand in the database, not through citygrid: the server that
    // holds the configuration in memory still names it anew.
    sqlx::query("UPDATE departments SET name = '改名后的部门' WHERE code = $1")
        .bind(&department)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &event_report("after", "0102", p[1].1, p[1].2),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["case"]["department"], department.as_str());
    assert_eq!(b["case"]["department_name"], "改名后的部门");
}
