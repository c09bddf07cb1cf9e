//! After an import commits, running servers rebuild and swap their index.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn an_import_swaps_the_index_of_a_running_server() {
    let db = TestDb::new(Template::Empty).await.unwrap();
    let city = mini_city();
    let report = citygrid::import::import_dir(&db.pool, city.path(), Default::default())
        .await
        .unwrap();
    assert!(report.committed);
    let app = TestApp::spawn(db).await.unwrap();
    let probe = "/api/v1/locate?lon=107.0005&lat=34.0015";
    let (status, _) = app.get(probe).await;
    assert_eq!(status, 404, "no grid there yet");

    city.write(
        "grids.geojson",
        &mini_grids(&[(
            rect(107.0, 34.001, 107.001, 34.002),
            json!({"code": "610302001001003", "name": "G4"}),
        )]),
    );
    let report = citygrid::import::import_dir(&app.db.pool, city.path(), Default::default())
        .await
        .unwrap();
    assert!(report.committed, "{:?}", report.errors);

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = app.get(probe).await;
        if status == 200 {
            assert_eq!(body["grid"]["code"], "610302001001003");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never picked up the import"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
