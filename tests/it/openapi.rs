//! The OpenAPI document tells the truth: Schemathesis (PyPI, installed by
//! scripts/test.sh into target/schemathesis) generates requests from the
//! served document, anonymously and as each role, and checks every answer
//! against it: no server error, no status, content type, header or body the
//! document does not describe. Settings: tests/schemathesis/schemathesis.toml.

use serde_json::{Value, json};

use crate::support::*;

/// Generated examples per operation and phase (`CITYGRID_ST_EXAMPLES`).
fn examples() -> String {
    std::env::var("CITYGRID_ST_EXAMPLES").unwrap_or_else(|_| "20".into())
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    // Rate limits have their own tests (limits.rs): here every request should
    // reach its handler.
    let app = TestApp::spawn_unlimited(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let inspector = app.user(Role::Inspector, None).await;
    let mut callers = vec![("anonymous", None)];
    for (name, role, department) in [
        ("inspector", Role::Inspector, None),
        ("operator", Role::Operator, None),
        ("dispatcher", Role::Dispatcher, None),
        ("department", Role::Department, Some("sanitation-jt")),
        ("kiosk", Role::Kiosk, None),
        ("admin", Role::Admin, None),
    ] {
        callers.push((name, Some(app.user(role, department).await)));
    }
    // Things for the generated requests to find: a photo, a case with it, an
    // Open311 client's key.
    let photo: Value = app
        .client
        .post(app.url("/api/v1/media"))
        .bearer_auth(&inspector)
        .header("Content-Type", "image/jpeg")
        .body(std::fs::read("tests/fixtures/python.jpg").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let photo = photo["id"].as_str().unwrap().to_owned();
    let place = grid_points(&app.db, 1).await;
    let (status, report) = app
        .post(
            "/api/v1/reports",
            &inspector,
            &json!({"client_key": "st-1", "kind": "event", "class": "0101",
                   "lon": place[0].1, "lat": place[0].2, "photos": [&photo]}),
        )
        .await;
    assert_eq!(status, 201, "{report}");
    let case_no = report["case"]["case_no"].as_str().unwrap().to_owned();
    let api_key = app.user(Role::Operator, None).await;

    let mut summary = Vec::new();
    for (name, token) in &callers {
        let mut st = tokio::process::Command::new("python3");
        st.arg("target/schemathesis/bin/st")
            .args(["--config-file", "tests/schemathesis/schemathesis.toml"])
            .arg("run")
            .arg(app.url("/api/v1/openapi.json"))
            .args(["--max-examples", &examples()])
            .args(["--seed", "2026"])
            .arg("--no-color")
            .env("PYTHONPATH", "target/schemathesis")
            .env("CITYGRID_ST_CASE", &case_no)
            .env("CITYGRID_ST_PHOTO", &photo)
            .env("CITYGRID_ST_API_KEY", &api_key)
            .kill_on_drop(true);
        if let Some(token) = token {
            st.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        let out = tokio::time::timeout(std::time::Duration::from_secs(300), st.output())
            .await
            .unwrap_or_else(|_| panic!("schemathesis as {name} ran over 5 minutes"))
            .expect("python3 with schemathesis (scripts/test.sh installs it)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "schemathesis as {name}:\n{stdout}\n{stderr}"
        );
        // It ran: every operation but the event stream, hundreds of requests.
        let generated: u64 = stdout
            .lines()
            .skip_while(|l| !l.starts_with("Test cases:"))
            .nth(1)
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no test case count from schemathesis as {name}:\n{stdout}"));
        assert!(generated >= 500, "as {name}: only {generated}\n{stdout}");
        assert!(stdout.contains(" passed"), "{stdout}");
        summary.push(format!("{name}: {generated}"));
    }
    println!(
        "schemathesis test cases, all passed: {}",
        summary.join(", ")
    );
    app.db.drop_db().await.unwrap();
}
