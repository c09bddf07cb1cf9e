//! The city's case configuration edited on the admin page: the import's own
//! validation, previews of drafts, one transaction with its audit entry, a
//! second server using the change for its next report, and the export
//! writing it back as files that re-import unchanged.

use serde_json::{Value, json};

use crate::support::*;
use citygrid::domain::workflow::Role;

/// Problems as (file, place, kind, message), with an edited row's place
/// written as the file line it would be on (row 1 = line 2, under the header).
fn problems_as_lines(problems: &Value) -> Vec<(String, String, String, String)> {
    let line_of = |s: &str| match s.strip_prefix("row ") {
        Some(n) => format!("line {}", n.parse::<usize>().unwrap() + 1),
        None => s.to_owned(),
    };
    problems
        .as_array()
        .unwrap_or_else(|| panic!("no problems in {problems}"))
        .iter()
        .map(|p| {
            let text = |k: &str| p[k].as_str().unwrap().to_owned();
            let message = text("message");
            let message = match message.split_once("(first at ") {
                Some((head, place)) => {
                    format!("{head}(first at {}", line_of(place.trim_end_matches(')'))) + ")"
                }
                None => message,
            };
            (text("file"), line_of(&text("at")), text("kind"), message)
        })
        .collect()
}

/// Rows of a table as the CSV file the import reads.
fn as_csv(columns: &[&str], rows: &[Value]) -> String {
    let mut out = columns.join(",") + "\n";
    for r in rows {
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| r[*c].as_str().unwrap_or(""))
            .collect();
        out += &(cells.join(",") + "\n");
    }
    out
}

#[tokio::test]
async fn each_form_is_refused_with_the_import_s_own_problems_and_nothing_is_saved() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let server = ServerProcess::start(&db).await;
    let admin = AdminSession::signed_in(&server.base, &db.pool).await;

    let (s, before) = admin.call("GET", "/api/v1/admin/config", None).await;
    assert_eq!(s, 200, "{before}");
    let names: Vec<&str> = before["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["departments", "routing", "sla", "case_rules", "calendar"]
    );

    // Each table with bad rows: the answer names every problem, row by row,
    // with the kind and words the import gives for the same lines in a file.
    let bad: [(&str, &[&str], Vec<Value>); 4] = [
        (
            "routing",
            &["kind", "class", "area", "department"],
            vec![
                json!({"kind": "event", "class": "0102", "area": "610302", "department": "ghost"}),
                json!({"kind": "evnt", "class": "0102", "area": "*", "department": "urban-mgmt"}),
                json!({"kind": "event", "class": "9999", "area": "*", "department": "urban-mgmt"}),
                json!({"kind": "event", "class": "*", "area": "*", "department": "urban-mgmt"}),
                json!({"kind": "event", "class": "*", "area": "*", "department": "urban-mgmt"}),
                json!({"kind": "event", "class": "01", "area": "61x", "department": "urban-mgmt"}),
            ],
        ),
        (
            "sla",
            &["kind", "class", "urgent", "stage", "amount", "unit"],
            vec![
                json!({"kind": "*", "class": "*", "urgent": "*", "stage": "handling", "amount": "0", "unit": "working_days"}),
                json!({"kind": "*", "class": "*", "urgent": "maybe", "stage": "handling", "amount": "2", "unit": "working_days"}),
                json!({"kind": "*", "class": "*", "urgent": "*", "stage": "lunch", "amount": "2", "unit": "working_days"}),
                json!({"kind": "*", "class": "*", "urgent": "*", "stage": "filing", "amount": "2", "unit": "fortnights"}),
            ],
        ),
        (
            "case_rules",
            &[
                "kind",
                "class",
                "duplicate_radius_m",
                "duplicates",
                "auto_file",
                "auto_dispatch",
            ],
            vec![
                json!({"kind": "*", "class": "*", "duplicate_radius_m": "50", "duplicates": "attach", "auto_file": "no", "auto_dispatch": "yes"}),
                json!({"kind": "*", "class": "01", "duplicate_radius_m": "9000", "duplicates": "attach", "auto_file": "no", "auto_dispatch": "no"}),
                json!({"kind": "*", "class": "02", "duplicate_radius_m": "50", "duplicates": "merge", "auto_file": "no", "auto_dispatch": "no"}),
            ],
        ),
        (
            "departments",
            &["code", "name", "phone"],
            vec![
                json!({"code": "Water Co", "name": "自来水公司", "phone": ""}),
                json!({"code": "water-co", "name": "", "phone": ""}),
            ],
        ),
    ];
    for (dataset, columns, rows) in bad {
        let version = before["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dataset"] == dataset)
            .unwrap()["version"]
            .clone();
        let (s, body) = admin
            .call(
                "PUT",
                &format!("/api/v1/admin/config/{dataset}"),
                Some(json!({"version": version, "rows": rows})),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (422, Some("invalid_config")),
            "{body}"
        );
        let edited = problems_as_lines(&body["error"]["problems"]);
        assert_eq!(
            edited.len(),
            rows.len() - usize::from(dataset == "routing"),
            "{dataset}: {edited:?}"
        );

        // The same lines in a file, imported: the same problems.
        let dir = CityDir::new();
        dir.write("grids.geojson", &mini_grids(&[]));
        dir.write(&format!("{dataset}.csv"), &as_csv(columns, &rows));
        let report = citygrid::import::import_dir(&db.pool, dir.path(), Default::default())
            .await
            .unwrap();
        assert!(!report.committed);
        let imported = problems_as_lines(&serde_json::to_value(&report.errors).unwrap());
        assert_eq!(edited, imported, "{dataset}");
    }

    // The calendar: an impossible date, refused as the import refuses it.
    let (_, cal) = admin
        .call("GET", "/api/v1/admin/config/calendar", None)
        .await;
    let mut calendar = cal["calendar"].clone();
    calendar["holidays"]
        .as_array_mut()
        .unwrap()
        .push(json!("2027-02-30"));
    let (s, body) = admin
        .call(
            "PUT",
            "/api/v1/admin/config/calendar",
            Some(json!({"version": cal["version"], "calendar": calendar})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let problem = &body["error"]["problems"][0];
    assert_eq!(
        (problem["file"].as_str(), problem["kind"].as_str()),
        (Some("calendar.toml"), Some("bad_calendar"))
    );
    assert!(
        problem["message"].as_str().unwrap().contains("2027-02-30"),
        "{problem}"
    );

    // A department still named by routing rules, a component, an enabled
    // user or an open case cannot be removed.
    add_person(
        &db.pool,
        "wb.sanitation",
        Role::Department,
        Some("sanitation-wb"),
    )
    .await;
    let inspector = add_user_to(&db.pool, "巡查员", Role::Inspector).await;
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids
         WHERE code LIKE '610302%' ORDER BY code LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let case: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", server.base))
        .bearer_auth(&inspector)
        .json(&event_report("routed-to-wb", "0102", lon, lat))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(case["case"]["department"], "sanitation-wb", "{case}");
    let case_no = case["case"]["case_no"].as_str().unwrap();
    let (_, deps) = admin
        .call("GET", "/api/v1/admin/config/departments", None)
        .await;
    let kept: Vec<Value> = deps["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] != "sanitation-wb")
        .cloned()
        .collect();
    let (s, body) = admin
        .call(
            "PUT",
            "/api/v1/admin/config/departments",
            Some(json!({"version": deps["version"], "rows": kept})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let found = problems_as_lines(&body["error"]["problems"]);
    let in_use: Vec<&str> = found
        .iter()
        .filter(|(file, _, kind, _)| file == "departments.csv" && kind == "department_in_use")
        .map(|(_, _, _, message)| message.as_str())
        .collect();
    assert!(
        in_use.iter().any(|m| m.contains("user wb.sanitation"))
            && in_use.iter().any(|m| m.contains(case_no)),
        "{in_use:?}"
    );
    assert!(
        found
            .iter()
            .any(|(file, _, kind, _)| file == "routing.csv" && kind == "unknown_department"),
        "{found:?}"
    );

    // Bodies that are not a data set's: a version is always needed, and a
    // stale one is refused before anything is read.
    for (path, body, status, code) in [
        (
            "/api/v1/admin/config/classes",
            json!({"version": "0", "rows": []}),
            404,
            "unknown_dataset",
        ),
        (
            "/api/v1/admin/config/routing",
            json!({"version": "0", "rows": []}),
            409,
            "config_changed",
        ),
        (
            "/api/v1/admin/config/routing",
            json!({"rows": []}),
            422,
            "invalid_body",
        ),
        (
            "/api/v1/admin/config/routing",
            json!({"version": "0"}),
            422,
            "invalid_body",
        ),
    ] {
        let (s, answer) = admin.call("PUT", path, Some(body)).await;
        assert_eq!(
            (s, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {answer}"
        );
    }
    let (_, routing) = admin
        .call("GET", "/api/v1/admin/config/routing", None)
        .await;
    for (body, problem) in [
        (
            json!({"version": routing["version"], "calendar": calendar}),
            "wrong_shape",
        ),
        (
            json!({"version": routing["version"], "rows": [{"kind": "event", "klass": "01"}]}),
            "unknown_column",
        ),
    ] {
        let (s, answer) = admin
            .call("PUT", "/api/v1/admin/config/routing", Some(body))
            .await;
        assert_eq!(
            (s, answer["error"]["problems"][0]["kind"].as_str()),
            (422, Some(problem)),
            "{answer}"
        );
    }

    // Nothing of it was saved or logged.
    let (_, after) = admin.call("GET", "/api/v1/admin/config", None).await;
    assert_eq!(after, before);
    let (_, log) = admin.call("GET", "/api/v1/admin/audit", None).await;
    assert!(
        !log.to_string().contains("config."),
        "a refused edit was logged: {log}"
    );

    // Only administrators.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/config", server.base))
        .bearer_auth(&inspector)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

#[tokio::test]
async fn a_routing_rule_previewed_and_saved_on_one_server_routes_the_next_report_on_another() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let a = ServerProcess::start(&db).await;
    let b = ServerProcess::start(&db).await;
    let admin = AdminSession::signed_in(&a.base, &db.pool).await;
    let (grid, lon, lat): (String, f64, f64) = sqlx::query_as(
        "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
         FROM grids WHERE code LIKE '610302%' ORDER BY code LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let street = &grid[..9];

    // Which department gets a 0102 report in this grid: the stored rules say
    // 渭滨区 sanitation (event,01,610302).
    let question = json!({"kind": "event", "class": "0102", "grid": grid});
    let (s, answer) = admin
        .call(
            "POST",
            "/api/v1/admin/config/preview/route",
            Some(question.clone()),
        )
        .await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(answer["department"], "sanitation-wb");
    assert_eq!(answer["department_name"], "渭滨区环境卫生管理所");
    assert_eq!(
        answer["rule"],
        json!({"kind": "event", "class": "01", "area": "610302", "department": "sanitation-wb"})
    );

    // A draft with a street-level rule for 0102 answers with it, and saves nothing.
    let (_, routing) = admin
        .call("GET", "/api/v1/admin/config/routing", None)
        .await;
    let mut rows = routing["rows"].as_array().unwrap().clone();
    rows.push(
        json!({"kind": "event", "class": "0102", "area": street, "department": "urban-mgmt-wb"}),
    );
    let mut with_draft = question.clone();
    with_draft["routing"] = json!(rows);
    let (s, answer) = admin
        .call(
            "POST",
            "/api/v1/admin/config/preview/route",
            Some(with_draft),
        )
        .await;
    assert_eq!(
        (s, answer["department"].as_str()),
        (200, Some("urban-mgmt-wb")),
        "{answer}"
    );
    let (_, answer) = admin
        .call(
            "POST",
            "/api/v1/admin/config/preview/route",
            Some(question.clone()),
        )
        .await;
    assert_eq!(
        answer["department"], "sanitation-wb",
        "a preview saved its draft"
    );
    for (q, code) in [
        (
            json!({"class": "0102", "grid": "610302001001999"}),
            "unknown_grid",
        ),
        (json!({"class": "01", "grid": grid}), "invalid_class"),
        (
            json!({"class": "0102", "grid": grid, "routing": [{"kind": "event", "class": "0102", "area": "*", "department": "ghost"}]}),
            "invalid_config",
        ),
    ] {
        let (s, answer) = admin
            .call("POST", "/api/v1/admin/config/preview/route", Some(q))
            .await;
        assert_eq!(
            (s, answer["error"]["code"].as_str()),
            (422, Some(code)),
            "{answer}"
        );
    }

    // Saved on server A.
    let (s, saved) = admin
        .call(
            "PUT",
            "/api/v1/admin/config/routing",
            Some(json!({"version": routing["version"], "rows": rows})),
        )
        .await;
    assert_eq!(
        (s, saved["changed"].as_bool()),
        (200, Some(true)),
        "{saved}"
    );
    assert_ne!(saved["version"], routing["version"]);

    // The next report, on server B, goes to the new rule's department.
    let inspector = add_user_to(&db.pool, "巡查员", Role::Inspector).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", b.base))
        .bearer_auth(&inspector)
        .json(&event_report("after-the-edit", "0102", lon, lat))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["case"]["department"], "urban-mgmt-wb", "{body}");

    // An edit made from the old version is refused, not laid over this one.
    let (s, body) = admin
        .call(
            "PUT",
            "/api/v1/admin/config/routing",
            Some(json!({"version": routing["version"], "rows": routing["rows"]})),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("config_changed")),
        "{body}"
    );
    // Saving what is stored changes nothing and logs nothing.
    let (s, same) = admin
        .call(
            "PUT",
            "/api/v1/admin/config/routing",
            Some(json!({"version": saved["version"], "rows": rows})),
        )
        .await;
    assert_eq!((s, same["changed"].as_bool()), (200, Some(false)), "{same}");

    // The audit log holds the change once, with the rule before → after.
    let (_, log) = admin.call("GET", "/api/v1/admin/audit", None).await;
    let changes: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "config.routing")
        .collect();
    assert_eq!(changes.len(), 1, "{log}");
    assert_eq!(
        (changes[0]["actor"].as_str(), changes[0]["target"].as_str()),
        (Some("root"), Some("routing.csv"))
    );
    let new_rule =
        json!({"kind": "event", "class": "0102", "area": street, "department": "urban-mgmt-wb"});
    assert!(!changes[0]["before"].as_array().unwrap().contains(&new_rule));
    assert!(changes[0]["after"].as_array().unwrap().contains(&new_rule));

    // `citygrid export` writes it back in the import format, and that file
    // re-imports as unchanged: the files and the page are one truth.
    let dir = CityDir::new();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_citygrid"))
        .arg("export")
        .arg(dir.path())
        .env("DATABASE_URL", url_for(&db.name))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("routing.csv")).unwrap();
    assert!(
        csv.contains(&format!("event,0102,{street},urban-mgmt-wb\n")),
        "{csv}"
    );
    let report = citygrid::import::import_dir(&db.pool, dir.path(), Default::default())
        .await
        .unwrap();
    assert!(report.committed, "{:?}", report.errors);
    let routing_outcome = report
        .datasets
        .iter()
        .find(|d| d.file == "routing.csv")
        .unwrap();
    assert_eq!(routing_outcome.status, "unchanged");
}

#[tokio::test]
async fn deadlines_are_previewed_on_the_working_calendar_and_its_drafts() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let server = ServerProcess::start(&db).await;
    let admin = AdminSession::signed_in(&server.base, &db.pool).await;
    let preview = |q: Value| {
        let admin = &admin;
        async move {
            admin
                .call("POST", "/api/v1/admin/config/preview/deadline", Some(q))
                .await
        }
    };
    // Friday 4 December 2026, 10:00: a working day of 08:30–12:00 and 14:00–17:30.
    let friday = "2026-12-04T10:00:00+08:00";

    // Two working days (14 working hours): 5.5 h on Friday, 7 h on Monday,
    // 1.5 h on Tuesday morning.
    let (s, a) = preview(json!({"amount": 2, "unit": "working_days", "start": friday})).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["due"], "2026-12-08T10:00:00+08:00");
    assert_eq!(a["limit"], json!({"unit": "working_days", "amount": 2}));

    // With a draft calendar that makes Monday a holiday: a day later.
    let (_, cal) = admin
        .call("GET", "/api/v1/admin/config/calendar", None)
        .await;
    let mut calendar = cal["calendar"].clone();
    calendar["holidays"]
        .as_array_mut()
        .unwrap()
        .push(json!("2026-12-07"));
    let (_, a) = preview(
        json!({"amount": 2, "unit": "working_days", "start": friday, "calendar": calendar}),
    )
    .await;
    assert_eq!(a["due"], "2026-12-09T10:00:00+08:00", "{a}");

    // A 0102 (exposed garbage) case's handling: 4 working hours by sla.csv.
    let (_, a) = preview(json!({"stage": "handling", "class": "0102", "start": friday})).await;
    assert_eq!(
        (a["limit"].clone(), a["due"].as_str()),
        (
            json!({"unit": "working_hours", "amount": 4}),
            Some("2026-12-04T16:00:00+08:00")
        ),
        "{a}"
    );
    // A draft giving 0102 one working day: urgent cases too, as the class's
    // own line is more specific than `*,*,yes,handling,4,working_hours`.
    let (_, sla) = admin.call("GET", "/api/v1/admin/config/sla", None).await;
    let rows: Vec<Value> = sla["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r["kind"] == "event" && r["class"] == "0102" {
                r["amount"] = json!("1");
                r["unit"] = json!("working_days");
            }
            r
        })
        .collect();
    let (_, a) = preview(
        json!({"stage": "handling", "class": "0102", "urgent": true, "start": friday, "sla": rows}),
    )
    .await;
    assert_eq!(a["due"], "2026-12-07T10:00:00+08:00", "{a}");
    // A class without a line of its own: 3 working days, or 4 working hours when urgent.
    let (_, a) = preview(json!({"stage": "handling", "class": "0199", "start": friday})).await;
    assert_eq!(a["due"], "2026-12-09T10:00:00+08:00", "{a}");
    let (_, a) =
        preview(json!({"stage": "handling", "class": "0199", "urgent": true, "start": friday}))
            .await;
    assert_eq!(a["due"], "2026-12-04T16:00:00+08:00", "{a}");

    for (q, code) in [
        (
            json!({"amount": 0, "unit": "working_days"}),
            "invalid_limit",
        ),
        (json!({"amount": 2, "unit": "fortnights"}), "invalid_limit"),
        (json!({"stage": "lunch", "class": "0102"}), "invalid_stage"),
        (json!({"stage": "handling", "class": "01"}), "invalid_class"),
        (json!({"amount": 2}), "invalid_body"),
        (
            json!({"amount": 2, "unit": "working_days", "start": "9999-12-31T23:59:59Z"}),
            "invalid_start",
        ),
        (
            json!({"amount": 2, "unit": "working_days", "calendar": {"timezone": "+08:00", "working_hours": ["17:00-08:00"]}}),
            "invalid_config",
        ),
    ] {
        let (s, a) = preview(q.clone()).await;
        assert_eq!(
            (s, a["error"]["code"].as_str()),
            (422, Some(code)),
            "{q}: {a}"
        );
    }

    // The calendar saved with next year's holidays, then shown as saved.
    calendar["holidays"].as_array_mut().unwrap().pop();
    calendar["holidays"]
        .as_array_mut()
        .unwrap()
        .push(json!("2027-01-01..2027-01-03"));
    calendar["workdays"]
        .as_array_mut()
        .unwrap()
        .push(json!("2027-01-09"));
    let (s, saved) = admin
        .call(
            "PUT",
            "/api/v1/admin/config/calendar",
            Some(json!({"version": cal["version"], "calendar": calendar})),
        )
        .await;
    assert_eq!(
        (s, saved["changed"].as_bool()),
        (200, Some(true)),
        "{saved}"
    );
    assert_eq!(saved["calendar"], calendar);
    let (_, a) =
        preview(json!({"amount": 1, "unit": "working_days", "start": "2026-12-31T17:00:00+08:00"}))
            .await;
    // Half an hour on New Year's Eve, then the holiday to Sunday: Monday 17:00.
    assert_eq!(a["due"], "2027-01-04T17:00:00+08:00", "{a}");
}
