//! The authorisation matrix: every route × every role and anonymous is
//! allowed or denied as `citygrid::http::access::ACCESS` says, every route in
//! the source has a rule there, and a department cannot reach another's
//! cases by guessing numbers, filtering, exporting, photos or tiles.

use citygrid::http::access::{ACCESS, Access};
use serde_json::json;

use crate::support::*;
use crate::workflow::{DEPT, Staff, case_in};

/// `(method, path)` of every `.route(…)` in `src/http/`, outside unit tests.
fn routes_in_source() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("src/http").unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let served = text.split("#[cfg(test)]").next().unwrap();
        let mut rest = served;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's arguments: up to the matching parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let call = &rest[..end];
            let path = call.split('"').nth(1).unwrap().to_owned();
            for (name, method) in [
                ("get(", "GET"),
                ("post(", "POST"),
                ("put(", "PUT"),
                ("delete(", "DELETE"),
                ("patch(", "PATCH"),
            ] {
                if call.contains(name) {
                    found.push((method.to_owned(), path.clone()));
                }
            }
        }
    }
    found
}

#[test]
fn every_route_has_an_access_rule() {
    let routes = routes_in_source();
    assert!(routes.len() >= 30, "{routes:?}");
    for (method, path) in &routes {
        assert!(
            citygrid::http::access::rule(method, path).is_some(),
            "{method} {path} has no rule in citygrid::http::access::ACCESS"
        );
    }
    // And the table names no route that does not exist.
    for (method, path, _) in ACCESS {
        assert!(
            routes.iter().any(|(m, p)| m == method && p == path),
            "ACCESS names {method} {path}, which is not routed"
        );
    }
}

/// The web map's pages: HTML for people, outside the API document.
fn is_page(path: &str) -> bool {
    !["/api/", "/tiles/", "/open311/", "/health", "/ready"]
        .iter()
        .any(|p| path.starts_with(p))
}

#[test]
fn the_document_names_every_route_and_only_routes() {
    let doc: serde_json::Value = serde_json::from_str(citygrid::http::openapi::document()).unwrap();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            let (route, access) = citygrid::http::access::rule_for_document(&method, path)
                .unwrap_or_else(|| panic!("the document has {method} {path}, which is not routed"));
            documented.push((method.clone(), route));
            // Its security is the table's.
            let anonymous = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.as_object().unwrap().is_empty());
            assert_eq!(anonymous, access == Access::Anyone, "{method} {path}");
            for status in ["400", "503", "default"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    for (method, route, _) in ACCESS {
        if is_page(route) {
            continue;
        }
        // Open311's XML twins are named in the `.json` operations' text.
        let route = route
            .strip_suffix(".xml")
            .map_or(route.to_string(), |r| format!("{r}.json"));
        assert!(
            documented.iter().any(|(m, r)| m == method && *r == route),
            "{method} {route} is routed but not in the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn every_route_by_every_role_as_the_table_says() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let kiosk = app.user(Role::Kiosk, None).await;
    let p = grid_points(&app.db, 1).await;
    let (case_no, _) = case_in(&app, &u, (p[0].1, p[0].2), "matrix", "dispatched").await;
    let photo = app.photo(&u.department, 3).await;
    add_person(&app.db.pool, "matrix", Role::Operator, None).await;
    let asset = std::fs::read_dir("web-map/dist/assets")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    let callers: Vec<(&str, Option<Role>, Option<&str>)> = vec![
        ("anonymous", None, None),
        ("inspector", Some(Role::Inspector), Some(&u.inspector)),
        ("operator", Some(Role::Operator), Some(&u.operator)),
        ("dispatcher", Some(Role::Dispatcher), Some(&u.dispatcher)),
        ("department", Some(Role::Department), Some(&u.department)),
        ("kiosk", Some(Role::Kiosk), Some(&kiosk)),
        ("admin", Some(Role::Admin), Some(&u.admin)),
    ];
    let mut checked = 0;
    for &(method, route, access) in ACCESS {
        let path = match route {
            "/open311/v2/{file}" if method == "GET" => "/open311/v2/services.json".to_owned(),
            "/open311/v2/{file}" => "/open311/v2/requests.json".to_owned(),
            "/open311/v2/services/{file}" => "/open311/v2/services/event-0102.json".to_owned(),
            "/open311/v2/requests/{file}" | "/open311/v2/tokens/{file}" => {
                route.replace("{file}", &format!("{case_no}.json"))
            }
            "/tiles/{layer}/{z}/{x}/{tile}" => "/tiles/districts/0/0/0.mvt".to_owned(),
            "/assets/{*path}" => format!("/assets/{asset}"),
            "/api/v1/locate" => format!("/api/v1/locate?lon={}&lat={}", p[0].1, p[0].2),
            "/api/v1/services/nearby" => {
                format!("/api/v1/services/nearby?lon={}&lat={}", p[0].1, p[0].2)
            }
            r => r
                .replace("{case_no}", &case_no)
                .replace("{id}", &photo)
                .replace("{dataset}", "routing"),
        };
        for (i, (who, role, token)) in callers.iter().enumerate() {
            let mut req = match method {
                "GET" => app.client.get(app.url(&path)),
                "POST" => app.client.post(app.url(&path)),
                "DELETE" => app.client.delete(app.url(&path)),
                "PATCH" => app.client.patch(app.url(&path)),
                "PUT" => app.client.put(app.url(&path)),
                m => panic!("no request for {m}"),
            };
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req = match route {
                "/api/v1/reports" => {
                    req.json(&event_report(&format!("m-{i}"), "0102", p[0].1, p[0].2))
                }
                // An action no role may take: the route lets the caller in, the workflow says 422.
                "/api/v1/cases/{case_no}/actions" => {
                    req.json(&json!({"action": "noop", "expected_version": 1}))
                }
                "/api/v1/session" if method == "POST" => {
                    req.json(&json!({"login": "matrix", "password": PASSWORD}))
                }
                "/api/v1/media" => req
                    .header("Content-Type", "image/png")
                    .body(png_picture(2, 2, i as u8)),
                "/open311/v2/{file}" if method == "POST" => req.form(&[
                    ("api_key", u.operator.as_str()),
                    ("service_code", "event-0102"),
                    ("lat", &p[0].2.to_string()),
                    ("long", &p[0].1.to_string()),
                ]),
                _ => req,
            };
            let status = req.send().await.unwrap().status().as_u16();
            let allowed = match access {
                Access::Anyone => true,
                Access::Roles(roles) => role.is_some_and(|r| roles.contains(&r)),
            };
            if allowed {
                assert!(
                    status != 401 && status != 403 && status < 500,
                    "{who} {method} {path}: {status}, but the table allows it"
                );
            } else {
                let want = if role.is_none() { 401 } else { 403 };
                assert_eq!(status, want, "{who} {method} {path}: the table denies it");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ACCESS.len() * callers.len());
}

#[tokio::test]
async fn a_department_reaches_only_its_own_cases() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let p = grid_points(&app.db, 1).await;
    let (case_no, version) = case_in(&app, &u, (p[0].1, p[0].2), "iso", "dispatched").await;
    let photo = app.photo(&u.department, 5).await;
    let other = &u.other_department;

    // Guessing the number.
    let (s, b) = app.get_as(&format!("/api/v1/cases/{case_no}"), other).await;
    assert_eq!(s, 403);
    assert!(b.get("case_no").is_none(), "{b}");
    let (s, _) = app
        .act(
            other,
            &case_no,
            "handle",
            version,
            json!({"note": "mine now"}),
        )
        .await;
    assert_eq!(s, 403);
    // Filtering for it is refused; the lists and exports hold none of it.
    let (s, _) = app
        .get_as(&format!("/api/v1/cases?department={DEPT}"), other)
        .await;
    assert_eq!(s, 403);
    let (s, b) = app.get_as("/api/v1/cases", other).await;
    assert_eq!((s, b["total"].as_i64()), (200, Some(0)), "{b}");
    for export in ["/api/v1/cases.csv", "/api/v1/cases.geojson"] {
        let (s, _) = app
            .get_as(&format!("{export}?department={DEPT}"), other)
            .await;
        assert_eq!(s, 403, "{export}");
        let resp = app
            .client
            .get(app.url(export))
            .bearer_auth(other)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let text = resp.text().await.unwrap();
        assert!(!text.contains(&case_no), "{export}: {text}");
    }
    // Its photos: the one it uploaded for its case …
    let (s, _) = app.get_as(&format!("/api/v1/media/{photo}"), other).await;
    assert_eq!(s, 403);
    let (s, _) = app
        .get_as(&format!("/api/v1/media/{photo}"), &u.department)
        .await;
    assert_eq!(s, 200);
    // … and an inspector's photo of a case dispatched to it: a photo follows its case.
    let seen = app.photo(&u.inspector, 6).await;
    let p2 = grid_points(&app.db, 2).await;
    let mut report = event_report("iso-photo", "0102", p2[1].1, p2[1].2);
    report["photos"] = json!([&seen]);
    let (s, b) = app.post("/api/v1/reports", &u.inspector, &report).await;
    assert_eq!(s, 201, "{b}");
    let (photo_case, v) = case_of(&b);
    let (s, _) = app
        .get_as(&format!("/api/v1/media/{seen}"), &u.department)
        .await;
    assert_eq!(s, 403, "not yet its case");
    let (_, b) = app
        .act(&u.operator, &photo_case, "file", v, json!({}))
        .await;
    let (s, b) = app
        .act(
            &u.dispatcher,
            &photo_case,
            "dispatch",
            case_of(&b).1,
            json!({"department": DEPT}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = app
        .get_as(&format!("/api/v1/media/{seen}"), &u.department)
        .await;
    assert_eq!(s, 200);
    let (s, _) = app.get_as(&format!("/api/v1/media/{seen}"), other).await;
    assert_eq!(s, 403);
    // Knowing a photo's id is no licence to attach it (and so to see it
    // through a case of one's own): only its uploader may.
    let mut report = event_report("iso-photo-2", "0101", p2[1].1, p2[1].2);
    report["photos"] = json!([&photo]);
    let (s, b) = app.post("/api/v1/reports", &u.inspector, &report).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_photo")),
        "{b}"
    );
    // Its place on the map: the cases layer of the tile holding it.
    let z = 15;
    let (x, y) = tile_of(z, p[0].1, p[0].2);
    let tile = |token: String| {
        let app = &app;
        async move {
            let resp = app
                .client
                .get(app.url(&format!("/tiles/cases/{z}/{x}/{y}.mvt")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.bytes().await.unwrap().to_vec())
        }
    };
    let (s, own) = tile(u.department.clone()).await;
    assert_eq!(s, 200);
    assert!(String::from_utf8_lossy(&own).contains(&case_no));
    let (s, theirs) = tile(other.clone()).await;
    assert!(
        s == 204 || !String::from_utf8_lossy(&theirs).contains(&case_no),
        "another department's tile shows {case_no}"
    );
}
