//! Public surfaces (Open311 in JSON and XML, the kiosk's look-up, public
//! tiles) show one public view of a case and nothing more: no words of a
//! staff report, the public reporter's words only once filed and masked, no
//! staff notes, names or photos. Departments see only their own cases' photos.

use serde_json::{Value, json};

use crate::support::*;
use crate::workflow::{DEPT, Staff, must};

/// What must never reach a public surface.
const SECRETS: &[&str] = &[
    "13900139000",
    "13800138000",
    "13700137000",
    "610302199001011234",
    "lisi@example.com",
    "Li Si",
    "sewer blocked",
    "staff note",
    "王主任",
    "Inspector",
    "Operator",
    "Dispatcher",
];

async fn text(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn assert_clean(surface: &str, body: &str, also: &[&str]) {
    for s in SECRETS.iter().chain(also) {
        assert!(!body.contains(s), "{surface} shows {s:?}: {body}");
    }
}

#[tokio::test]
async fn public_surfaces_show_the_public_view_and_nothing_more() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let u = Staff::new(&app).await;
    let p = grid_points(&app.db, 3).await;
    let kiosk = app
        .user_with(
            Role::Kiosk,
            None,
            Some(citygrid::store::users::Kiosk {
                id: "kiosk-pv".into(),
                lon: p[1].1,
                lat: p[1].2,
            }),
        )
        .await;
    let open311_app = app.user(Role::Operator, None).await;

    // An inspector's report: a staff note, with a photo.
    let photo = app.photo(&u.inspector, 9).await;
    let mut body = event_report("pv-1", "0102", p[0].1, p[0].2);
    body["description"] = json!("sewer blocked, resident Li Si 13900139000");
    body["photos"] = json!([photo]);
    let (s, b) = app.post("/api/v1/reports", &u.inspector, &body).await;
    assert_eq!(s, 201, "{b}");
    let (staff_case, v) = case_of(&b);

    // A citizen at the kiosk, and one through an Open311 app.
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &kiosk,
            &json!({"client_key": "pv-2", "kind": "event", "class": "0102",
                    "description": "门口垃圾 联系13800138000 身份证610302199001011234 lisi@example.com",
                    "callback_phone": "0917-3215678"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    // The kiosk gets the public view (no version): staff read the version.
    let kiosk_case = b["case"]["case_no"].as_str().unwrap().to_owned();
    assert!(b["case"].get("version").is_none(), "{b}");
    let (_, staff_view) = app
        .get_as(&format!("/api/v1/cases/{kiosk_case}"), &u.operator)
        .await;
    let kv = staff_view["version"].as_i64().unwrap();
    // The number left for a callback is the staff's to call, on no public surface.
    assert_eq!(staff_view["callback_phones"], json!(["0917-3215678"]));
    let (s, b) = app
        .post(
            "/api/v1/reports",
            &kiosk,
            &json!({"client_key": "pv-bad-phone", "kind": "event", "class": "0102",
                    "callback_phone": "call me maybe"}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("invalid_phone")),
        "{b}"
    );
    let resp = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(&[
            ("api_key", open311_app.as_str()),
            ("service_code", "event-0102"),
            ("lat", &p[2].2.to_string()),
            ("long", &p[2].1.to_string()),
            ("description", "垃圾没人收 call me 13700137000"),
            ("email", "lisi@example.com"),
            ("first_name", "Li Si"),
            ("phone", "13700137001"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let created: Value = resp.json().await.unwrap();
    let open311_case = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, ov) = app
        .get_as(&format!("/api/v1/cases/{open311_case}"), &u.operator)
        .await;
    assert_eq!(
        ov["callback_phones"],
        json!(["13700137001"]),
        "Open311's phone"
    );

    let surfaces = |no: &str| {
        vec![
            (format!("/open311/v2/requests/{no}.json"), None),
            (format!("/open311/v2/requests/{no}.xml"), None),
            (
                format!("/open311/v2/requests.json?service_request_id={no}"),
                None,
            ),
            ("/open311/v2/requests.json".to_owned(), None),
            ("/open311/v2/requests.xml".to_owned(), None),
            (format!("/api/v1/cases/{no}"), Some(kiosk.as_str())),
            (format!("/api/v1/track/{no}"), None),
        ]
    };

    // Before filing: nobody's words, on any surface.
    for no in [&staff_case, &kiosk_case, &open311_case] {
        for (path, token) in surfaces(no) {
            let (s, body) = text(&app, &path, token).await;
            assert_eq!(s, 200, "{path}: {body}");
            assert_clean(
                &path,
                &body,
                &["门口垃圾", "垃圾没人收", &photo, "3215678", "13700137001"],
            );
        }
    }

    // Filed and dispatched, with a staff note on each step.
    let note = json!({"note": "staff note: 王主任 13700137000"});
    for (no, v) in [(&staff_case, v), (&kiosk_case, kv)] {
        let v = must(&app, &u.operator, no, "file", v, note.clone()).await;
        must(
            &app,
            &u.dispatcher,
            no,
            "dispatch",
            v,
            json!({"department": DEPT, "note": "staff note: 王主任"}),
        )
        .await;
    }
    must(&app, &u.operator, &open311_case, "file", 1, note.clone()).await;

    // The public reporters' words now show, masked; the inspector's never.
    for (path, token) in surfaces(&kiosk_case) {
        let (_, body) = text(&app, &path, token).await;
        let list = path.ends_with("requests.json") || path.ends_with("requests.xml");
        assert_clean(&path, &body, &[&photo, "3215678", "13700137001"]);
        if !list {
            assert!(
                body.contains("门口垃圾 联系138******00 身份证610*************34 ****@example.com"),
                "{path}: {body}"
            );
        }
    }
    let (_, body) = text(
        &app,
        &format!("/open311/v2/requests/{open311_case}.json"),
        None,
    )
    .await;
    assert!(body.contains("垃圾没人收 call me 137******00"), "{body}");
    for (path, token) in surfaces(&staff_case) {
        let (_, body) = text(&app, &path, token).await;
        assert_clean(&path, &body, &[&photo]);
    }
    // The public view itself: state in public words, the agency once dispatched.
    let (_, view) = app
        .get_as(&format!("/api/v1/cases/{kiosk_case}"), &kiosk)
        .await;
    assert_eq!(view["state"], "in_progress");
    assert!(view["agency"].is_string() && view["expected_at"].is_string());
    let steps: Vec<&str> = view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["received", "accepted", "in_progress"]);
    // A citizen's tracking page shows that same view, signed in as no one.
    let (s, tracked) = app.get(&format!("/api/v1/track/{kiosk_case}")).await;
    assert_eq!((s, &tracked), (200, &view));
    let (s, _) = app.get("/api/v1/track/20991231-999999").await;
    assert_eq!(s, 404);
    let resp = app
        .client
        .get(app.url(&format!("/track/{kiosk_case}/qr.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    assert!(resp.text().await.unwrap().contains("<svg"));
    let (s, _) = app.get("/track/not%20a%20number/qr.svg").await;
    assert_eq!(s, 400);

    // Public tiles carry counts, not words.
    let (x, y) = tile_of(13, p[0].1, p[0].2);
    let resp = app
        .client
        .get(app.url(&format!("/tiles/grids/13/{x}/{y}.mvt")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let tile = String::from_utf8_lossy(&resp.bytes().await.unwrap()).into_owned();
    assert_clean("grids tile", &tile, &["门口垃圾"]);
    let (s, _) = app.get(&format!("/tiles/cases/13/{x}/{y}.mvt")).await;
    assert_eq!(s, 401, "the cases layer is for staff");

    // Photos follow their case: the case's department sees it, another does not.
    let (s, _) = app
        .get_as(&format!("/api/v1/media/{photo}"), &u.department)
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .get_as(&format!("/api/v1/media/{photo}"), &u.other_department)
        .await;
    assert_eq!((s, b["error"]["code"].as_str()), (403, Some("forbidden")));
    let (s, _) = app
        .get_as(&format!("/api/v1/cases/{staff_case}"), &u.other_department)
        .await;
    assert_eq!(s, 403);
    // A department's own upload, before it is attached to anything.
    let own = app.photo(&u.other_department, 10).await;
    let (s, _) = app
        .get_as(&format!("/api/v1/media/{own}"), &u.other_department)
        .await;
    assert_eq!(s, 200);
    let (s, _) = app.get_as(&format!("/api/v1/media/{photo}"), &kiosk).await;
    assert_eq!(s, 403);
    let (s, _) = app.get(&format!("/api/v1/media/{photo}")).await;
    assert_eq!(s, 401);
}
