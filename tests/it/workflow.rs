//! The closed loop: every action by its roles from its states, versions and
//! concurrency, department scoping, the append-only audit trail.

use serde_json::{Value, json};

use crate::support::*;

pub struct Staff {
    pub inspector: String,
    pub operator: String,
    pub dispatcher: String,
    pub department: String,
    pub other_department: String,
    pub admin: String,
}

/// The department cases are dispatched to in these tests.
pub const DEPT: &str = "sanitation-jt";

impl Staff {
    pub async fn new(app: &TestApp) -> Self {
        Self {
            inspector: app.user(Role::Inspector, None).await,
            operator: app.user(Role::Operator, None).await,
            dispatcher: app.user(Role::Dispatcher, None).await,
            department: app.user(Role::Department, Some(DEPT)).await,
            other_department: app.user(Role::Department, Some("water-co")).await,
            admin: app.user(Role::Admin, None).await,
        }
    }
    fn token(&self, role: &str) -> &str {
        match role {
            "inspector" => &self.inspector,
            "operator" => &self.operator,
            "dispatcher" => &self.dispatcher,
            "department" => &self.department,
            "admin" => &self.admin,
            _ => panic!("{role}"),
        }
    }
}

/// Takes an action that must succeed; returns the new version.
pub async fn must(
    app: &TestApp,
    token: &str,
    case_no: &str,
    action: &str,
    version: i64,
    extra: Value,
) -> i64 {
    let (s, b) = app.act(token, case_no, action, version, extra).await;
    assert_eq!(s, 200, "{action} on {case_no}: {b}");
    b["case"]["version"].as_i64().unwrap()
}

/// A new event case at `at`, driven to `state`; its number and version.
pub async fn case_in(
    app: &TestApp,
    u: &Staff,
    at: (f64, f64),
    key: &str,
    state: &str,
) -> (String, i64) {
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &event_report(key, "0102", at.0, at.1),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (no, mut v) = case_of(&b);
    let steps: &[(&str, &str, Value)] = &[
        ("filed", "operator", json!({"action": "file"})),
        (
            "dispatched",
            "dispatcher",
            json!({"action": "dispatch", "department": DEPT}),
        ),
        (
            "extension_requested",
            "department",
            json!({"action": "request_extension", "hours": 4}),
        ),
        (
            "handled",
            "department",
            json!({"action": "handle", "note": "cleared"}),
        ),
        ("verified", "inspector", json!({"action": "verify_pass"})),
        ("closed", "operator", json!({"action": "close"})),
    ];
    let path: &[&str] = match state {
        "reported" => &[],
        "filed" => &["filed"],
        "dispatched" => &["filed", "dispatched"],
        "extension_requested" => &["filed", "dispatched", "extension_requested"],
        "handled" => &["filed", "dispatched", "handled"],
        "verified" => &["filed", "dispatched", "handled", "verified"],
        "closed" => &["filed", "dispatched", "handled", "verified", "closed"],
        "suspended" => &["filed", "dispatched"],
        "suspended_filed" => &["filed"],
        _ => panic!("{state}"),
    };
    for step in path {
        let (_, role, body) = steps.iter().find(|(s, _, _)| s == step).unwrap();
        let action = body["action"].as_str().unwrap();
        let mut extra = body.clone();
        extra.as_object_mut().unwrap().remove("action");
        v = must(app, u.token(role), &no, action, v, extra).await;
    }
    if state.starts_with("suspended") {
        v = must(
            app,
            &u.dispatcher,
            &no,
            "suspend",
            v,
            json!({"note": "road works until spring"}),
        )
        .await;
    }
    (no, v)
}

#[tokio::test]
async fn every_action_by_its_roles_from_its_states() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let points = grid_points(&app.db, 150).await;
    let mut next_point = points.iter().map(|(_, x, y)| (*x, *y));
    let mut n = 0;
    let mut key = || {
        n += 1;
        format!("k{n}")
    };
    // Every action from every state that allows it, by every role that may
    // take it; then by one role that may not, and from one state that does not
    // allow it. (action, [(from, to)], roles, extra, a wrong role, a wrong state)
    type Row = (
        &'static str,
        Vec<(&'static str, &'static str)>,
        Vec<&'static str>,
        Value,
        &'static str,
        &'static str,
    );
    let table: Vec<Row> = vec![
        (
            "file",
            vec![("reported", "filed")],
            vec!["operator", "admin"],
            json!({}),
            "dispatcher",
            "filed",
        ),
        (
            "reject",
            vec![("reported", "rejected")],
            vec!["operator", "admin"],
            json!({"note": "duplicate call"}),
            "inspector",
            "dispatched",
        ),
        (
            "dispatch",
            vec![("filed", "dispatched")],
            vec!["dispatcher", "admin"],
            json!({"department": DEPT}),
            "operator",
            "reported",
        ),
        (
            "return",
            vec![("dispatched", "filed")],
            vec!["dispatcher", "department", "admin"],
            json!({"note": "wrong department"}),
            "inspector",
            "handled",
        ),
        (
            "request_extension",
            vec![("dispatched", "dispatched")],
            vec!["department", "admin"],
            json!({"hours": 4}),
            "dispatcher",
            "handled",
        ),
        (
            "approve_extension",
            vec![("extension_requested", "dispatched")],
            vec!["dispatcher", "admin"],
            json!({}),
            "department",
            "filed",
        ),
        (
            "handle",
            vec![("dispatched", "handled")],
            vec!["department", "admin"],
            json!({"note": "cleaned up"}),
            "inspector",
            "handled",
        ),
        (
            "verify_pass",
            vec![("handled", "handled")],
            vec!["inspector", "admin"],
            json!({}),
            "department",
            "dispatched",
        ),
        (
            "verify_fail",
            vec![("handled", "dispatched")],
            vec!["inspector", "admin"],
            json!({"note": "still dirty"}),
            "operator",
            "filed",
        ),
        (
            "close",
            vec![("verified", "closed")],
            vec!["operator", "admin"],
            json!({}),
            "inspector",
            "dispatched",
        ),
        (
            "suspend",
            vec![("filed", "suspended"), ("dispatched", "suspended")],
            vec!["dispatcher", "admin"],
            json!({"note": "winter"}),
            "department",
            "reported",
        ),
        (
            "resume",
            vec![("suspended", "dispatched"), ("suspended_filed", "filed")],
            vec!["dispatcher", "admin"],
            json!({}),
            "operator",
            "dispatched",
        ),
        (
            "void",
            vec![
                ("reported", "void"),
                ("filed", "void"),
                ("dispatched", "void"),
                ("suspended", "void"),
            ],
            vec!["operator", "dispatcher", "admin"],
            json!({"note": "test report"}),
            "department",
            "closed",
        ),
        (
            "urge",
            vec![("dispatched", "dispatched")],
            vec!["operator", "dispatcher", "admin"],
            json!({"note": "加快处置"}),
            "inspector",
            "reported",
        ),
        (
            "merge",
            vec![("reported", "void"), ("filed", "void")],
            vec!["operator", "admin"],
            json!({}),
            "dispatcher",
            "dispatched",
        ),
    ];
    for (action, transitions, roles, extra, wrong_role, wrong_state) in table {
        for &(from, to) in &transitions {
            for role in &roles {
                let (no, v) = case_in(&app, &u, next_point.next().unwrap(), &key(), from).await;
                let mut extra = extra.clone();
                if action == "merge" {
                    let (target, _) =
                        case_in(&app, &u, next_point.next().unwrap(), &key(), "filed").await;
                    extra["into"] = json!(target);
                }
                if role == &roles[0] && from == transitions[0].0 {
                    // The wrong role: 403, nothing changes.
                    let (s, b) = app
                        .act(u.token(wrong_role), &no, action, v, extra.clone())
                        .await;
                    assert_eq!(
                        (s, b["error"]["code"].as_str()),
                        (403, Some("forbidden")),
                        "{wrong_role} {action}: {b}"
                    );
                }
                // A right role: done, and the timeline says so.
                let (s, b) = app.act(u.token(role), &no, action, v, extra.clone()).await;
                assert_eq!(s, 200, "{role} {action} from {from}: {b}");
                let case = &b["case"];
                assert_eq!(case["state"], to, "{role} {action} from {from}");
                assert_eq!(case["version"], v + 1);
                let timeline = case["timeline"].as_array().unwrap();
                let (before, last) = (&timeline[timeline.len() - 2], &timeline[timeline.len() - 1]);
                assert_eq!(
                    (
                        last["action"].as_str(),
                        last["role"].as_str(),
                        &last["from"],
                        last["to"].as_str()
                    ),
                    (Some(action), Some(*role), &before["to"], Some(to)),
                    "{last}"
                );
                match action {
                    "verify_fail" => assert_eq!(case["rework_count"], 1),
                    "request_extension" => assert_eq!(case["extension_requested_hours"], 4),
                    "merge" => assert_eq!(case["duplicate_of"], extra["into"]),
                    "dispatch" => assert_eq!(case["department"], DEPT),
                    _ => {}
                }
                if action == "merge" {
                    let (_, target) = app
                        .get_as(
                            &format!("/api/v1/cases/{}", extra["into"].as_str().unwrap()),
                            &u.operator,
                        )
                        .await;
                    assert_eq!(
                        target["duplicates"],
                        json!([{"type": "case", "case_no": no}])
                    );
                }
            }
        }
        // A state that does not allow it: 409 invalid_transition.
        let (other, v2) = case_in(&app, &u, next_point.next().unwrap(), &key(), wrong_state).await;
        let mut extra = extra;
        if action == "merge" {
            extra["into"] = json!(other); // whatever: the state is checked first
        }
        let (s, b) = app.act(u.token(roles[0]), &other, action, v2, extra).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (409, Some("invalid_transition")),
            "{action} from {wrong_state}: {b}"
        );
    }

    // Close before verification: 409 not_verified. Admin may do anything.
    let (no, v) = case_in(&app, &u, next_point.next().unwrap(), &key(), "handled").await;
    let (s, b) = app.act(&u.operator, &no, "close", v, json!({})).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (409, Some("not_verified"))
    );
    let v = must(&app, &u.admin, &no, "verify_pass", v, json!({})).await;
    must(&app, &u.admin, &no, "close", v, json!({})).await;

    // Reasons are required where the loop goes backwards or stops.
    let (no, v) = case_in(&app, &u, next_point.next().unwrap(), &key(), "dispatched").await;
    let (s, b) = app.act(&u.dispatcher, &no, "return", v, json!({})).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("note_required"))
    );
    let (s, b) = app
        .act(&u.dispatcher, &no, "approve_extension", v, json!({}))
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (409, Some("no_extension_requested"))
    );
    let (s, b) = app
        .act(
            &u.department,
            &no,
            "request_extension",
            v,
            json!({"hours": 0}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("invalid_hours"))
    );
    let (s, b) = app.act(&u.dispatcher, &no, "fly", v, json!({})).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_action"))
    );
    let (s, b) = app
        .act(&u.dispatcher, "20990101-000001", "urge", 1, json!({}))
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("case_not_found"))
    );
    let (s, b) = app.get_as("/api/v1/cases/%00", &u.dispatcher).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_text"))
    );

    // A returned case goes back to the centre: the department no longer holds
    // it, and the next dispatch must name one.
    let v = must(
        &app,
        &u.department,
        &no,
        "return",
        v,
        json!({"note": "不属于本单位"}),
    )
    .await;
    let (s, _) = app
        .get_as(&format!("/api/v1/cases/{no}"), &u.department)
        .await;
    assert_eq!(s, 403);
    let (s, b) = app.act(&u.dispatcher, &no, "dispatch", v, json!({})).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("department_required"))
    );
    let (s, b) = app
        .act(
            &u.dispatcher,
            &no,
            "dispatch",
            v,
            json!({"department": "no-such-dept"}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_department"))
    );
    let (_, b) = app
        .act(
            &u.dispatcher,
            &no,
            "dispatch",
            v,
            json!({"department": "municipal"}),
        )
        .await;
    assert_eq!(b["case"]["department"], "municipal");
}

#[tokio::test]
async fn stale_versions_conflict_and_of_two_dispatchers_one_wins() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let second = app.user(Role::Dispatcher, None).await;
    let points = grid_points(&app.db, 6).await;
    for (i, (_, x, y)) in points.iter().enumerate() {
        let (no, v) = case_in(&app, &u, (*x, *y), &format!("c{i}"), "filed").await;
        let body = json!({"department": DEPT});
        let (a, b) = tokio::join!(
            app.act(&u.dispatcher, &no, "dispatch", v, body.clone()),
            app.act(&second, &no, "dispatch", v, body.clone()),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        let loser = if a.0 == 409 { &a.1 } else { &b.1 };
        assert_eq!(loser["error"]["code"], "version_conflict");
        let (_, case) = app
            .get_as(&format!("/api/v1/cases/{no}"), &u.operator)
            .await;
        let dispatches = case["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "dispatch")
            .count();
        assert_eq!(dispatches, 1);
        assert_eq!(case["version"], v + 1);
        // A stale version is refused even for an allowed action.
        let (s, b) = app.act(&u.dispatcher, &no, "urge", v, json!({})).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (409, Some("version_conflict"))
        );
        let (s, b) = app
            .act(
                &u.dispatcher,
                &no,
                "urge",
                v + 1,
                json!({"expected_version": null}),
            )
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (422, Some("expected_version_required"))
        );
    }
}

#[tokio::test]
async fn departments_see_and_touch_only_their_own_cases() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let points = grid_points(&app.db, 3).await;
    let (mine, v) = case_in(&app, &u, (points[0].1, points[0].2), "m", "dispatched").await;
    let (reported, _) = case_in(&app, &u, (points[1].1, points[1].2), "r", "reported").await;

    let (s, b) = app
        .get_as(&format!("/api/v1/cases/{mine}"), &u.other_department)
        .await;
    assert_eq!((s, b["error"]["code"].as_str()), (403, Some("forbidden")));
    assert!(b.get("case_no").is_none() && !b.to_string().contains("exposed garbage"));
    let (s, _) = app
        .act(&u.other_department, &mine, "handle", v, json!({}))
        .await;
    assert_eq!(s, 403);
    let (s, b) = app.get_as("/api/v1/cases", &u.other_department).await;
    assert_eq!((s, b["total"].as_i64()), (200, Some(0)));
    let (s, _) = app
        .get_as(
            &format!("/api/v1/cases?department={DEPT}"),
            &u.other_department,
        )
        .await;
    assert_eq!(s, 403);

    let (s, b) = app.get_as("/api/v1/cases", &u.department).await;
    assert_eq!(s, 200);
    let listed: Vec<&str> = b["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_no"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [mine.as_str()]);
    let (s, _) = app
        .get_as(&format!("/api/v1/cases/{reported}"), &u.department)
        .await;
    assert_eq!(s, 403, "not yet dispatched to them");
    let (s, b) = app
        .get_as("/api/v1/cases?state=reported,dispatched", &u.operator)
        .await;
    assert_eq!((s, b["total"].as_i64()), (200, Some(2)));
}

#[tokio::test]
async fn case_lists_filter_and_page() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let points = grid_points(&app.db, 5).await;
    let mut numbers = vec![];
    for (i, (_, x, y)) in points.iter().enumerate() {
        let state = if i < 2 { "dispatched" } else { "reported" };
        numbers.push(case_in(&app, &u, (*x, *y), &format!("f{i}"), state).await.0);
    }
    let count = |q: &'static str| {
        let app = &app;
        let token = u.operator.clone();
        async move {
            let (s, b) = app.get_as(&format!("/api/v1/cases{q}"), &token).await;
            assert_eq!(s, 200, "{q}: {b}");
            b["total"].as_i64().unwrap()
        }
    };
    assert_eq!(count("").await, 5);
    assert_eq!(count("?state=dispatched").await, 2);
    assert_eq!(count("?department=sanitation-jt").await, 2);
    assert_eq!(count("?class=0102&kind=event").await, 5);
    assert_eq!(count("?class=0103").await, 0);
    assert_eq!(count("?overdue=true").await, 0);
    assert_eq!(count("?overdue=false").await, 5);
    let grid = &points[0].0;
    let (_, b) = app
        .get_as(&format!("/api/v1/cases?grid={grid}"), &u.operator)
        .await;
    assert_eq!(b["total"], 1);
    assert_eq!(b["cases"][0]["case_no"], numbers[0].as_str());
    let district = &grid[..6];
    let (_, b) = app
        .get_as(&format!("/api/v1/cases?district={district}"), &u.operator)
        .await;
    let in_district = points.iter().filter(|p| p.0.starts_with(district)).count();
    assert_eq!(b["total"], in_district);
    let (x, y) = (points[1].1, points[1].2);
    let (_, b) = app
        .get_as(
            &format!(
                "/api/v1/cases?bbox={},{},{},{}",
                x - 1e-5,
                y - 1e-5,
                x + 1e-5,
                y + 1e-5
            ),
            &u.operator,
        )
        .await;
    assert_eq!(b["total"], 1);
    assert_eq!(b["cases"][0]["case_no"], numbers[1].as_str());
    let (_, b) = app
        .get_as("/api/v1/cases?since=2999-01-01T00:00:00Z", &u.operator)
        .await;
    assert_eq!(b["total"], 0);
    // Pages: newest first, two by two.
    let (_, p1) = app.get_as("/api/v1/cases?page_size=2", &u.operator).await;
    let (_, p3) = app
        .get_as("/api/v1/cases?page_size=2&page=3", &u.operator)
        .await;
    assert_eq!(p1["cases"][0]["case_no"], numbers[4].as_str());
    assert_eq!(p3["cases"].as_array().unwrap().len(), 1);
    assert_eq!(p3["cases"][0]["case_no"], numbers[0].as_str());
    for (q, code) in [
        ("?state=open", "invalid_state"),
        ("?bbox=1,2,3", "invalid_bbox"),
        ("?since=yesterday", "invalid_since"),
        ("?page=0", "invalid_page"),
        ("?page_size=501", "invalid_page"),
        ("?overdue=maybe", "invalid_overdue"),
        ("?grid=123", "invalid_code"),
    ] {
        let (s, b) = app.get_as(&format!("/api/v1/cases{q}"), &u.operator).await;
        assert_eq!((s, b["error"]["code"].as_str()), (400, Some(code)), "{q}");
    }
}

#[tokio::test]
async fn the_audit_trail_is_append_only() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let p = grid_points(&app.db, 1).await;
    case_in(&app, &u, (p[0].1, p[0].2), "a", "closed").await;
    let before = app.db.fingerprint("case_events").await;
    assert_eq!(app.db.count("case_events").await, 6);
    for statement in [
        "UPDATE case_events SET note = 'rewritten'",
        "UPDATE case_events SET at = at - interval '1 day' WHERE action = 'close'",
        "DELETE FROM case_events WHERE action = 'verify_pass'",
        "TRUNCATE case_events CASCADE",
    ] {
        let err = sqlx::query(statement)
            .execute(&app.db.pool)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
    }
    assert_eq!(app.db.fingerprint("case_events").await, before);
}

#[tokio::test]
async fn the_console_tabs_count_each_desk_s_open_cases_and_filter_to_them() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let p = grid_points(&app.db, 8).await;
    let at = |i: usize| (p[i].1, p[i].2);
    let mut made = Vec::new();
    for (i, state) in [
        "reported",
        "reported",
        "filed",
        "dispatched",
        "handled",
        "verified",
        "closed",
        "suspended",
    ]
    .into_iter()
    .enumerate()
    {
        made.push(case_in(&app, &u, at(i), &format!("tab-{i}"), state).await.0);
    }
    // One urgent report besides.
    let mut urgent = event_report("tab-urgent", "0102", p[0].1 + 0.002, p[0].2);
    urgent["urgent"] = json!(true);
    let (s, b) = app.post("/api/v1/reports", &u.inspector, &urgent).await;
    assert_eq!(s, 201, "{b}");
    let urgent_case = b["case"]["case_no"].as_str().unwrap().to_owned();

    let (s, counts) = app.get_as("/api/v1/cases/counts", &u.dispatcher).await;
    assert_eq!(s, 200, "{counts}");
    assert_eq!(
        counts,
        json!({"to_file": 3, "to_dispatch": 1, "in_handling": 1, "to_verify": 1, "to_close": 1,
               "suspended": 1, "overdue": 0, "urgent": 1})
    );
    // A department counts only its own: the three dispatched to it and still open.
    let (_, own) = app.get_as("/api/v1/cases/counts", &u.department).await;
    assert_eq!(
        (
            own["in_handling"].as_i64(),
            own["to_verify"].as_i64(),
            own["to_close"].as_i64(),
            own["to_file"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(0)),
        "{own}"
    );
    let (_, other) = app
        .get_as("/api/v1/cases/counts", &u.other_department)
        .await;
    assert_eq!(other["in_handling"], 0, "{other}");

    // Each tab's filter lists exactly the cases it counts.
    let listed = |q: &'static str| {
        let app = &app;
        let token = u.dispatcher.clone();
        async move {
            let (_, l) = app.get_as(&format!("/api/v1/cases?{q}"), &token).await;
            let mut nos: Vec<String> = l["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["case_no"].as_str().unwrap().to_owned())
                .collect();
            nos.sort();
            nos
        }
    };
    assert_eq!(
        listed("state=handled&verified=false").await,
        [made[4].clone()]
    );
    assert_eq!(
        listed("state=handled&verified=true").await,
        [made[5].clone()]
    );
    assert_eq!(listed("urgent=true").await, [urgent_case]);
    let (s, b) = app
        .get_as("/api/v1/cases?urgent=maybe", &u.dispatcher)
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_urgent"))
    );
}

#[tokio::test]
async fn a_department_reports_handling_with_photos_before_and_after() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let p = grid_points(&app.db, 1).await;
    let (no, v) = case_in(&app, &u, (p[0].1, p[0].2), "before-after", "dispatched").await;
    let before = app.photo(&u.department, 11).await;
    let after = app.photo(&u.department, 12).await;
    let someone_elses = app.photo(&u.inspector, 13).await;
    // Photos "before" go with handling only, and only one's own uploads.
    let (s, b) = app
        .act(
            &u.department,
            &no,
            "request_extension",
            v,
            json!({"hours": 4, "note": "parts on order", "before_photos": [&before]}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("invalid_photos")),
        "{b}"
    );
    let (s, b) = app
        .act(
            &u.department,
            &no,
            "handle",
            v,
            json!({"note": "cleared", "before_photos": [&someone_elses], "photos": [&after]}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_photo")),
        "{b}"
    );
    let (s, b) = app
        .act(
            &u.department,
            &no,
            "handle",
            v,
            json!({"note": "cleared", "before_photos": [&before], "photos": [&after]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, c) = app
        .get_as(&format!("/api/v1/cases/{no}"), &u.dispatcher)
        .await;
    let handled = c["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "handle")
        .expect("the handling event");
    assert_eq!(handled["photos"], json!([&before, &after]));
    assert_eq!(handled["data"]["before"], json!([&before]));
    // The dispatch centre sees both.
    for photo in [&before, &after] {
        let (s, _) = app
            .get_as(&format!("/api/v1/media/{photo}"), &u.dispatcher)
            .await;
        assert_eq!(s, 200);
    }
}
