//! The administration API: users, tokens and kiosks changed by an
//! administrator, each change in the append-only audit log; other roles get 403.

use serde_json::json;

use crate::support::*;
use citygrid::domain::workflow::Role;

#[tokio::test]
async fn an_administrator_manages_users_tokens_and_kiosks_and_each_change_is_audited() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let a = ServerProcess::start(&db).await;
    let b = ServerProcess::start(&db).await;
    let admin = AdminSession::signed_in(&a.base, &db.pool).await;

    // A person: added, refused when invalid, changed, disabled and enabled.
    let person = json!({"login": "liu.yang", "name": "刘洋", "role": "inspector",
                        "password": "patrol in the rain", "patrol": ["610302001003"]});
    let (s, added) = admin
        .call("POST", "/api/v1/admin/users", Some(person.clone()))
        .await;
    assert_eq!(s, 201, "{added}");
    assert_eq!(
        (added["login"].as_str(), added["has_password"].as_bool()),
        (Some("liu.yang"), Some(true))
    );
    // An inspector's patrol: area codes, changed like the rest.
    assert_eq!(added["patrol"], json!(["610302001003"]));
    let (s, changed) = admin
        .call(
            "PATCH",
            "/api/v1/admin/users/liu.yang",
            Some(json!({"patrol": ["610302001", "610302001003004"]})),
        )
        .await;
    assert_eq!(
        (s, &changed["patrol"]),
        (200, &json!(["610302001", "610302001003004"])),
        "{changed}"
    );
    for (body, status, code) in [
        (
            json!({"login": "desk", "name": "n", "role": "dispatcher", "patrol": ["610302"], "password": "long enough pw"}),
            422,
            "invalid_patrol",
        ),
        (
            json!({"login": "walker", "name": "n", "role": "inspector", "patrol": ["6103"], "password": "long enough pw"}),
            422,
            "invalid_patrol",
        ),
        (person.clone(), 409, "login_taken"),
        (
            json!({"login": "x y", "name": "n", "role": "inspector", "password": "long enough pw"}),
            422,
            "invalid_login",
        ),
        (
            json!({"login": "short", "name": "n", "role": "inspector", "password": "short"}),
            422,
            "password_too_short",
        ),
        (
            json!({"login": "dept", "name": "n", "role": "department", "password": "long enough pw"}),
            422,
            "invalid_department",
        ),
        (
            json!({"login": "dept", "name": "n", "role": "department", "department": "ghost", "password": "long enough pw"}),
            422,
            "invalid_department",
        ),
        (
            json!({"login": "k", "name": "n", "role": "kiosk", "password": "long enough pw"}),
            422,
            "invalid_kiosk",
        ),
    ] {
        let (s, e) = admin
            .call("POST", "/api/v1/admin/users", Some(body.clone()))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let (s, changed) = admin
        .call(
            "PATCH",
            "/api/v1/admin/users/liu.yang",
            Some(json!({"role": "department", "department": "water-co"})),
        )
        .await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(changed["department"], "water-co");
    assert!(
        changed.get("patrol").is_none(),
        "a department user patrols nothing: {changed}"
    );
    let signed_in = sign_in(&b.base, "liu.yang", "patrol in the rain").await;
    assert_eq!(signed_in.status().as_u16(), 200);
    let person_cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        admin
            .call("POST", "/api/v1/admin/users/liu.yang/disable", None)
            .await
            .0,
        200
    );
    let me = reqwest::Client::new()
        .get(format!("{}/api/v1/me", b.base))
        .header("Cookie", &person_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status().as_u16(),
        401,
        "disabled on the page: out on the other server"
    );
    let (s, e) = admin
        .call("POST", "/api/v1/admin/users/root/disable", None)
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("cannot_disable_self"))
    );
    assert_eq!(
        admin
            .call("POST", "/api/v1/admin/users/liu.yang/enable", None)
            .await
            .0,
        200
    );
    // A reset password signs out whoever held the old one.
    let again = sign_in(&b.base, "liu.yang", "patrol in the rain").await;
    let held = again.headers()["set-cookie"].to_str().unwrap().to_owned();
    let (s, _) = admin
        .call(
            "POST",
            "/api/v1/admin/users/liu.yang/password",
            Some(json!({"password": "a brand new one"})),
        )
        .await;
    assert_eq!(s, 204);
    let me = reqwest::Client::new()
        .get(format!("{}/api/v1/me", a.base))
        .header("Cookie", &held)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status().as_u16(),
        401,
        "the old session ended with the reset"
    );
    // The last administrator cannot be demoted (nor disabled).
    let (s, e) = admin
        .call(
            "PATCH",
            "/api/v1/admin/users/root",
            Some(json!({"role": "operator"})),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("last_admin")));
    assert_eq!(
        sign_in(&b.base, "liu.yang", "a brand new one")
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        admin
            .call("POST", "/api/v1/admin/users/nobody/enable", None)
            .await
            .0,
        404
    );

    // A machine token: shown once, listed without it, revoked on every server.
    let (s, t) = admin
        .call(
            "POST",
            "/api/v1/admin/tokens",
            Some(json!({"login": "liu.yang", "name": "12345 热线", "expires_days": 90})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let token = t["token"].as_str().unwrap().to_owned();
    let (_, list) = admin.call("GET", "/api/v1/admin/tokens", None).await;
    assert!(
        !list.to_string().contains(&token),
        "the list never holds the token"
    );
    let me_with = |base: String, token: String| async move {
        reqwest::Client::new()
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(me_with(b.base.clone(), token.clone()).await, 200);
    let path = format!("/api/v1/admin/tokens/{}", t["id"]);
    assert_eq!(admin.call("DELETE", &path, None).await.0, 204);
    assert_eq!(me_with(b.base.clone(), token.clone()).await, 401);
    assert_eq!(
        admin
            .call("DELETE", "/api/v1/admin/tokens/999999", None)
            .await
            .0,
        404
    );

    // A kiosk: added with a code, enrolled, moved, revoked.
    let (s, k) = admin
        .call(
            "POST",
            "/api/v1/admin/kiosks",
            Some(json!({"id": "k-9", "name": "站前便民亭", "lon": 107.16, "lat": 34.36})),
        )
        .await;
    assert_eq!(s, 201, "{k}");
    assert_eq!(
        k["enrol_path"],
        format!("/kiosk#enrol={}", k["code"].as_str().unwrap())
    );
    // From the page (its Origin): the whole address, and as a QR code to scan.
    assert_eq!(
        k["enrol_url"],
        format!("{}/kiosk#enrol={}", a.base, k["code"].as_str().unwrap())
    );
    let qr = k["qr_svg"].as_str().unwrap();
    assert!(
        qr.contains("<svg") && qr.contains("width=\"") && qr.len() > 1_000,
        "{qr}"
    );
    let enrolled = reqwest::Client::new()
        .post(format!("{}/api/v1/device/enrol", b.base))
        .json(&json!({"code": k["code"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status().as_u16(), 200);
    let (s, moved) = admin
        .call(
            "PATCH",
            "/api/v1/admin/kiosks/k-9",
            Some(json!({"lon": 107.17, "lat": 34.361})),
        )
        .await;
    assert_eq!((s, moved["kiosk"]["lon"].as_f64()), (200, Some(107.17)));
    // A kiosk is not a user to give a password or a token to.
    let (s, e) = admin
        .call(
            "POST",
            "/api/v1/admin/users/kiosk-k-9/password",
            Some(json!({"password": "a kiosk password"})),
        )
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("is_a_kiosk")));
    assert_eq!(
        admin
            .call("DELETE", "/api/v1/admin/kiosks/k-9", None)
            .await
            .0,
        204
    );
    let (_, kiosks) = admin.call("GET", "/api/v1/admin/kiosks", None).await;
    assert!(kiosks["users"][0]["disabled_at"].is_string(), "{kiosks}");

    // The audit log: every change above, who and what, before → after.
    let (s, log) = admin
        .call("GET", "/api/v1/admin/audit?limit=1000", None)
        .await;
    assert_eq!(s, 200);
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "root")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "kiosk.revoke",
            "kiosk.update",
            "kiosk.add",
            "token.revoke",
            "token.add",
            "user.set_password",
            "user.enable",
            "user.disable",
            "user.update",
            "user.update",
            "user.add",
        ],
        "latest first; refused changes leave no entry"
    );
    let update = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.update")
        .unwrap();
    assert_eq!(update["before"]["role"], "inspector");
    assert_eq!(update["after"]["role"], "department");
    assert_eq!(
        update["before"]["patrol"],
        json!(["610302001", "610302001003004"])
    );
    assert_eq!(update["after"]["patrol"], json!([]));
    assert_eq!(update["target"], "liu.yang");
    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/audit.csv", a.base))
        .header("Cookie", &admin.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("user.update") && csv.contains("liu.yang"),
        "{csv}"
    );

    // Other roles are refused; a page size out of range is a 400.
    let inspector = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/users", a.base))
        .header("Cookie", person_cookie_again(&a.base).await)
        .send()
        .await
        .unwrap();
    assert_eq!(inspector.status().as_u16(), 403);
    assert_eq!(
        admin
            .call("GET", "/api/v1/admin/audit?limit=0", None)
            .await
            .0,
        400
    );
    drop((a, b));
    db.drop_db().await.unwrap();
}

/// liu.yang's session cookie, with the password the administrator set.
async fn person_cookie_again(base: &str) -> String {
    let resp = sign_in(base, "liu.yang", "a brand new one").await;
    assert_eq!(resp.status().as_u16(), 200);
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_admin_audit_log_is_append_only_in_the_database() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    add_person(&db.pool, "root", Role::Admin, None).await;
    let entries: Vec<String> = sqlx::query_scalar("SELECT action FROM admin_audit ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        entries,
        ["import", "user.add"],
        "importing the city and adding a user are each audited"
    );
    for statement in [
        "UPDATE admin_audit SET actor = 'someone else'",
        "DELETE FROM admin_audit",
        "TRUNCATE admin_audit",
    ] {
        let refused = sqlx::query(statement).execute(&db.pool).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM admin_audit WHERE action = 'user.add'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(actor.starts_with("command line"), "{actor}");
    db.drop_db().await.unwrap();
}
