//! The README's end-to-end scenario (`scripts/scenario.sh`, curl against a
//! running `citygrid serve`) runs as written.

use crate::support::*;

#[tokio::test]
async fn the_readme_scenario_closes_the_loop() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let server = ServerProcess::start(&db).await;
    let out = tokio::process::Command::new("bash")
        .arg("scripts/scenario.sh")
        .env("CITYGRID_URL", &server.base)
        .env("CITYGRID_BIN", env!("CARGO_BIN_EXE_citygrid"))
        .env("DATABASE_URL", url_for(&db.name))
        .output()
        .await
        .expect("run scripts/scenario.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let timeline: Vec<&str> = stdout
        .split("timeline of")
        .nth(1)
        .expect("a timeline")
        .lines()
        .skip(1)
        .map(str::trim)
        .collect();
    assert_eq!(
        timeline,
        [
            "report",
            "file",
            "dispatch",
            "handle",
            "verify_pass",
            "close"
        ]
    );
    let (state, department, photos): (String, String, i64) = sqlx::query_as(
        "SELECT c.state, c.department, (SELECT count(*) FROM media)
         FROM cases c",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(state, "closed");
    assert_eq!(department, "drainage-co", "the sewage cover's owner");
    assert_eq!(photos, 2);
}
