//! Case exports: GeoJSON and CSV with the list's filters and role limits.

use serde_json::{Value, json};

use crate::support::*;
use crate::workflow::{Staff, case_in};

async fn body(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

#[tokio::test]
async fn cases_export_as_geojson_and_csv_with_filters_and_roles() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let kiosk = app.user(Role::Kiosk, None).await;
    let p = grid_points(&app.db, 3).await;
    let mut numbers = vec![];
    for (i, state) in ["dispatched", "dispatched", "reported"].iter().enumerate() {
        numbers.push(
            case_in(&app, &u, (p[i].1, p[i].2), &format!("e{i}"), state)
                .await
                .0,
        );
    }
    // A description that needs CSV quoting.
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &u.inspector,
            &json!({"client_key": "quote", "kind": "event", "class": "0501", "lon": p[2].1 + 0.002, "lat": p[2].2,
                    "description": "游商, \"占道\"\n第二行"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    numbers.push(case_of(&b).0);

    let (s, ct, text) = body(&app, "/api/v1/cases.geojson", &u.operator).await;
    assert_eq!((s, ct.as_str()), (200, "application/geo+json"));
    let fc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fc["type"], "FeatureCollection");
    let features = fc["features"].as_array().unwrap();
    let listed: Vec<&str> = features
        .iter()
        .map(|f| f["properties"]["case_no"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        numbers.iter().map(String::as_str).collect::<Vec<_>>(),
        "oldest first"
    );
    assert_eq!(
        features[0]["geometry"]["coordinates"],
        json!([p[0].1, p[0].2])
    );
    assert_eq!(features[0]["properties"]["class_name"], "暴露垃圾");

    let (_, _, text) = body(&app, "/api/v1/cases.geojson?state=reported", &u.operator).await;
    let fc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 2);
    let (_, _, text) = body(&app, "/api/v1/cases.geojson?class=0999", &u.operator).await;
    let fc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        fc["features"],
        json!([]),
        "an empty export is still a FeatureCollection"
    );

    // Departments export their own; kiosks nothing.
    let (_, _, text) = body(&app, "/api/v1/cases.geojson", &u.department).await;
    let fc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 2);
    let (s, _, _) = body(&app, "/api/v1/cases.csv", &kiosk).await;
    assert_eq!(s, 403);
    let (s, _, _) = body(&app, "/api/v1/cases.csv?state=nope", &u.operator).await;
    assert_eq!(s, 400);

    let (s, ct, text) = body(&app, "/api/v1/cases.csv", &u.operator).await;
    assert_eq!((s, ct.as_str()), (200, "text/csv; charset=utf-8"));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "case_no");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[3][col("case_no")], numbers[3].as_str());
    assert_eq!(&rows[3][col("description")], "游商, \"占道\"\n第二行");
    assert_eq!(&rows[0][col("department")], crate::workflow::DEPT);
    assert_eq!(rows[0][col("lon")].parse::<f64>().unwrap(), p[0].1);
}
