//! Users and bearer tokens: only a hash is stored; missing or wrong tokens get 401.

use citygrid::domain::workflow::Role;
use citygrid::store::users::{Kiosk, NewUser, token_hash};

use crate::support::*;

fn new(role: Role) -> NewUser {
    NewUser {
        patrol: Vec::new(),
        login: None,
        password: None,
        name: "张三".into(),
        role,
        department: None,
        kiosk: None,
    }
}

#[tokio::test]
async fn tokens_authenticate_and_only_their_hash_is_stored() {
    let app = TestApp::spawn(TestDb::new(Template::SampleCity).await.unwrap())
        .await
        .unwrap();
    let pool = &app.db.pool;
    let (user, token) = add_user(
        pool,
        NewUser {
            patrol: Vec::new(),
            department: Some("water-co".into()),
            ..new(Role::Department)
        },
    )
    .await
    .unwrap();
    let token = token.unwrap();
    let stored: String = sqlx::query_scalar("SELECT token_sha256 FROM tokens WHERE user_id = $1")
        .bind(user.id)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(stored, token_hash(&token));
    assert!(!stored.contains(&token));

    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let body: serde_json::Value = me.json().await.unwrap();
    assert_eq!(body["role"], "department");
    assert_eq!(body["department"], "water-co");

    for auth in [
        None,
        Some("Bearer nope"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut req = app.client.get(app.url("/api/v1/me"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    app.db.drop_db().await.unwrap();
}

#[tokio::test]
async fn role_bindings_are_checked() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let pool = &db.pool;
    assert!(
        add_user(pool, new(Role::Department)).await.is_err(),
        "department needs a department"
    );
    assert!(
        add_user(
            pool,
            NewUser {
                patrol: Vec::new(),
                department: Some("ghost".into()),
                ..new(Role::Department)
            }
        )
        .await
        .is_err()
    );
    assert!(
        add_user(
            pool,
            NewUser {
                patrol: Vec::new(),
                department: Some("water-co".into()),
                ..new(Role::Inspector)
            }
        )
        .await
        .is_err()
    );
    assert!(
        add_user(pool, new(Role::Kiosk)).await.is_err(),
        "kiosk needs a location"
    );
    let kiosk = Kiosk {
        id: "k-01".into(),
        lon: 107.17,
        lat: 34.362,
    };
    let (user, t1) = add_user(
        pool,
        NewUser {
            patrol: Vec::new(),
            kiosk: Some(kiosk.clone()),
            ..new(Role::Kiosk)
        },
    )
    .await
    .unwrap();
    assert_eq!(user.kiosk, Some(kiosk));
    let (_, t2) = add_user(pool, new(Role::Inspector)).await.unwrap();
    assert_ne!(t1, t2);
    db.drop_db().await.unwrap();
}
