//! The import format: validation errors (each kind) leave the stored data
//! untouched; warnings are listed and counted; re-importing changes nothing.

use citygrid::import::{ImportOptions, ImportReport, import_dir};
use serde_json::json;

use crate::support::*;

const TABLES: [&str; 15] = [
    "departments",
    "classes",
    "districts",
    "streets",
    "communities",
    "grids",
    "components",
    "services",
    "routing_rules",
    "sla_rules",
    "case_rules",
    "calendar",
    "roads",
    "water",
    "landmarks",
];

async fn fingerprints(db: &TestDb) -> Vec<String> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(format!("{t}:{}", db.fingerprint(t).await));
    }
    out.push(format!("datasets:{}", db.fingerprint("datasets").await));
    out
}

async fn import(db: &TestDb, dir: &CityDir) -> ImportReport {
    import_dir(&db.pool, dir.path(), ImportOptions::default())
        .await
        .expect("import runs")
}

#[tokio::test]
async fn sample_city_imports_cleanly_at_the_promised_size() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    assert!(db.count("grids").await >= 2_000);
    assert!(db.count("components").await >= 20_000);
    assert!(db.count("services").await >= 200);
    // The base map: a named road along every lattice line, the Wei River
    // between the two districts, landmarks inside the city.
    assert!(db.count("roads").await >= 50);
    let unnamed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM roads WHERE name = '' OR name_en = ''")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(unnamed, 0);
    let river_touches: Vec<String> = sqlx::query_scalar(
        "SELECT d.name FROM districts d, water w WHERE w.name = '渭河' AND ST_Intersects(d.geom, w.geom) ORDER BY d.code",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(river_touches, ["渭滨区", "金台区"]);
    let outside: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM landmarks l WHERE NOT EXISTS (SELECT 1 FROM districts d WHERE ST_Covers(d.geom, l.geom))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((db.count("landmarks").await >= 8, outside), (true, 0));
    // Every major class of components is present.
    let majors: i64 = sqlx::query_scalar("SELECT count(DISTINCT left(class, 2)) FROM components")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(majors, 6);
    // Grids average about 10,000 m².
    let avg: f64 = sqlx::query_scalar("SELECT avg(ST_Area(geom::geography)) FROM grids")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        (8_000.0..13_000.0).contains(&avg),
        "average grid area {avg} m²"
    );
    // No gaps: the grids' union is the union of the districts.
    let gap: f64 = sqlx::query_scalar(
        "SELECT ST_Area(ST_SymDifference((SELECT ST_Union(geom) FROM grids), (SELECT ST_Union(geom) FROM districts))::geography)",
    ).fetch_one(&db.pool).await.unwrap();
    assert!(gap < 1.0, "grids and districts differ by {gap} m²");
    db.drop_db().await.unwrap();
}

#[tokio::test]
async fn reimporting_the_same_files_changes_nothing() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let before = fingerprints(&db).await;
    let again = import_dir(
        &db.pool,
        std::path::Path::new("gis-data"),
        ImportOptions::default(),
    )
    .await
    .unwrap();
    assert!(again.committed);
    assert!(
        again.datasets.iter().all(|d| d.status == "unchanged"),
        "{:?}",
        again.datasets
    );
    assert_eq!(fingerprints(&db).await, before);
    // Forcing a reload rewrites every table with the very same content.
    let forced = import_dir(
        &db.pool,
        std::path::Path::new("gis-data"),
        ImportOptions { force: true },
    )
    .await
    .unwrap();
    assert!(forced.committed && forced.errors.is_empty() && forced.warnings.is_empty());
    assert!(forced.datasets.iter().all(|d| d.status == "loaded"));
    let after: Vec<String> = fingerprints(&db).await;
    assert_eq!(after[..TABLES.len()], before[..TABLES.len()]);
    db.drop_db().await.unwrap();
}

/// One broken variant of the mini city: what to change and the error expected.
struct Broken {
    what: &'static str,
    change: fn(&CityDir),
    file: &'static str,
    at: &'static str,
    kind: &'static str,
}

#[tokio::test]
async fn each_error_kind_aborts_and_leaves_the_data_untouched() {
    let db = TestDb::new(Template::Empty).await.unwrap();
    let good = mini_city();
    let first = import(&db, &good).await;
    assert!(first.committed, "{:?}", first.errors);
    let stored = fingerprints(&db).await;

    let cases = [
        Broken {
            what: "14-digit CJ/T 213 grid code",
            change: |d| {
                d.write(
                    "grids.geojson",
                    &mini_grids(&[(
                        rect(107.0, 34.001, 107.001, 34.002),
                        json!({"code": "61030200100103"}),
                    )]),
                );
            },
            file: "grids.geojson",
            at: "feature 3",
            kind: "bad_code",
        },
        Broken {
            what: "component code of the wrong length",
            change: |d| {
                d.write(
                    "components.geojson",
                    &collection(&[(
                        point(107.0005, 34.0005),
                        component("61030201010001", "0101", "water-co"),
                    )]),
                );
            },
            file: "components.geojson",
            at: "feature 0",
            kind: "bad_code",
        },
        Broken {
            what: "component code disagreeing with its class",
            change: |d| {
                d.write(
                    "components.geojson",
                    &collection(&[(
                        point(107.0005, 34.0005),
                        component("6103020102000001", "0101", "water-co"),
                    )]),
                );
            },
            file: "components.geojson",
            at: "feature 0",
            kind: "bad_code",
        },
        Broken {
            what: "unknown class",
            change: |d| {
                d.write(
                    "components.geojson",
                    &collection(&[(
                        point(107.0005, 34.0005),
                        component("6103020999000001", "0999", "water-co"),
                    )]),
                );
            },
            file: "components.geojson",
            at: "feature 0",
            kind: "unknown_class",
        },
        Broken {
            what: "unknown department",
            change: |d| {
                d.write(
                    "components.geojson",
                    &collection(&[
                        (
                            point(107.0005, 34.0005),
                            component("6103020101000001", "0101", "water-co"),
                        ),
                        (
                            point(107.0006, 34.0005),
                            component("6103020101000002", "0101", "nobody"),
                        ),
                    ]),
                );
            },
            file: "components.geojson",
            at: "feature 1",
            kind: "unknown_department",
        },
        Broken {
            what: "routing rule to an unknown department",
            change: |d| {
                d.write(
                    "routing.csv",
                    "kind,class,area,department\nevent,*,*,urban-mgmt\nevent,01,*,ghost-dept\n",
                );
            },
            file: "routing.csv",
            at: "line 3",
            kind: "unknown_department",
        },
        Broken {
            what: "empty geometry",
            change: |d| {
                d.write(
                    "grids.geojson",
                    &mini_grids(&[(serde_json::Value::Null, json!({"code": "610302001002002"}))]),
                );
            },
            file: "grids.geojson",
            at: "feature 3",
            kind: "bad_geometry",
        },
        Broken {
            what: "geometry that ST_MakeValid cannot make a polygon of",
            change: |d| {
                d.write("grids.geojson", &mini_grids(&[(
                json!({"type": "Polygon", "coordinates": [[[107.0, 34.002], [107.001, 34.002], [107.002, 34.002], [107.0, 34.002]]]}),
                json!({"code": "610302001002002"}),
            )]));
            },
            file: "grids.geojson",
            at: "feature 3",
            kind: "unrepairable_geometry",
        },
        Broken {
            what: "projected (non-WGS-84) coordinates",
            change: |d| {
                d.write(
                    "components.geojson",
                    &collection(&[(
                        point(500000.0, 3800000.0),
                        component("6103020101000001", "0101", "water-co"),
                    )]),
                );
            },
            file: "components.geojson",
            at: "feature 0",
            kind: "bad_geometry",
        },
        Broken {
            what: "the required grids file missing",
            change: |d| {
                d.remove("grids.geojson");
            },
            file: "grids.geojson",
            at: "",
            kind: "missing_file",
        },
        Broken {
            what: "malformed JSON",
            change: |d| {
                d.write(
                    "communities.geojson",
                    "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":",
                );
            },
            file: "communities.geojson",
            at: "",
            kind: "malformed_json",
        },
        Broken {
            what: "a CSV without a required column",
            change: |d| {
                d.write("departments.csv", "code,title\nwater-co,x\n");
            },
            file: "departments.csv",
            at: "line 1",
            kind: "missing_column",
        },
        Broken {
            what: "duplicate grid codes",
            change: |d| {
                d.write(
                    "grids.geojson",
                    &mini_grids(&[(
                        rect(107.0, 34.001, 107.001, 34.002),
                        json!({"code": "610302001001001"}),
                    )]),
                );
            },
            file: "grids.geojson",
            at: "feature 3",
            kind: "duplicate_code",
        },
        Broken {
            what: "a time limit in an unknown unit",
            change: |d| {
                d.write("sla.csv", "kind,class,urgent,stage,amount,unit\n*,*,*,filing,30,minutes\nevent,01,*,handling,2,fortnights\n");
            },
            file: "sla.csv",
            at: "line 3",
            kind: "bad_value",
        },
        Broken {
            what: "a time limit for a class not in the catalogue",
            change: |d| {
                d.write(
                    "sla.csv",
                    "kind,class,urgent,stage,amount,unit\nevent,0999,*,handling,2,working_hours\n",
                );
            },
            file: "sla.csv",
            at: "line 2",
            kind: "unknown_class",
        },
        Broken {
            what: "auto-dispatch without auto-filing",
            change: |d| {
                d.write("case_rules.csv", "kind,class,duplicate_radius_m,duplicates,auto_file,auto_dispatch\n*,*,50,attach,no,yes\n");
            },
            file: "case_rules.csv",
            at: "line 2",
            kind: "bad_value",
        },
        Broken {
            what: "a calendar that is not TOML",
            change: |d| {
                d.write(
                    "calendar.toml",
                    "timezone = \"+08:00\"\nworking_hours = [\"08:30-12:00\"\n",
                );
            },
            file: "calendar.toml",
            at: "line 2",
            kind: "malformed_toml",
        },
        Broken {
            what: "a calendar with a time zone name instead of an offset",
            change: |d| {
                d.write(
                    "calendar.toml",
                    "timezone = \"Asia/Shanghai\"\nworking_hours = [\"08:30-12:00\"]\n",
                );
            },
            file: "calendar.toml",
            at: "",
            kind: "bad_calendar",
        },
    ];
    for case in cases {
        let dir = mini_city();
        (case.change)(&dir);
        let report = import(&db, &dir).await;
        assert!(!report.committed, "{}: import should be refused", case.what);
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.file == case.file && e.at == case.at && e.kind == case.kind),
            "{}: expected {} {} {}, got {:#?}",
            case.what,
            case.file,
            case.at,
            case.kind,
            report.errors
        );
        assert!(report.errors.iter().all(|e| !e.message.is_empty()));
        assert_eq!(
            fingerprints(&db).await,
            stored,
            "{}: stored data changed",
            case.what
        );
    }
    db.drop_db().await.unwrap();
}

#[tokio::test]
async fn warnings_are_listed_and_counted_and_bad_geometry_repaired() {
    let db = TestDb::new(Template::Empty).await.unwrap();
    let dir = mini_city();
    dir.write("grids.geojson", &mini_grids(&[
        // A self-intersecting bow-tie (repaired by ST_MakeValid).
        (json!({"type": "Polygon", "coordinates": [[[107.0, 34.001], [107.001, 34.002], [107.001, 34.001], [107.0, 34.002], [107.0, 34.001]]]}),
         json!({"code": "610302001001003"})),
        // Overlaps G3 by ~ 0.0005° × 0.001° (≈ 4,600 m²); its code says community 001 but it lies in 002.
        (rect(107.0025, 34.0, 107.003, 34.001), json!({"code": "610302001001004"})),
        // An unclosed ring: closed on reading.
        (json!({"type": "Polygon", "coordinates": [[[107.002, 34.001], [107.003, 34.001], [107.003, 34.002], [107.002, 34.002]]]}),
         json!({"code": "610302001002002"})),
    ]));
    dir.write(
        "components.geojson",
        &collection(&[
            (
                point(107.0005, 34.0005),
                component("6103020101000001", "0101", "water-co"),
            ),
            (
                point(107.5, 34.5),
                component("6103020101000002", "0101", "water-co"),
            ),
        ]),
    );
    let report = import(&db, &dir).await;
    assert!(report.committed, "{:#?}", report.errors);
    let has = |kind: &str, at: &str, text: &str| {
        report
            .warnings
            .iter()
            .any(|w| w.kind == kind && w.at == at && w.message.contains(text))
    };
    assert!(
        has("geometry_repaired", "feature 3", "610302001001003"),
        "{:#?}",
        report.warnings
    );
    assert!(
        has("geometry_repaired", "feature 5", "closed"),
        "{:#?}",
        report.warnings
    );
    assert!(
        has(
            "grids_overlap",
            "feature 4",
            "overlaps grid 610302001002001"
        ),
        "{:#?}",
        report.warnings
    );
    assert!(
        has(
            "code_prefix_mismatch",
            "feature 4",
            "community 610302001002"
        ),
        "{:#?}",
        report.warnings
    );
    assert!(
        has("outside_grids", "feature 1", "6103020101000002"),
        "{:#?}",
        report.warnings
    );
    let counts = report.warning_counts();
    assert!(counts.contains(&("outside_grids", 1)), "{counts:?}");
    let invalid: i64 = sqlx::query_scalar("SELECT count(*) FROM grids WHERE NOT ST_IsValid(geom)")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(invalid, 0);
    assert_eq!(db.count("grids").await, 6);
    db.drop_db().await.unwrap();
}

async fn table_fingerprints(db: &TestDb) -> Vec<String> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(format!("{t}:{}", db.fingerprint(t).await));
    }
    out
}

#[tokio::test]
async fn export_then_import_changes_nothing() {
    let db = TestDb::new(Template::SampleCity).await.unwrap();
    let before = table_fingerprints(&db).await;
    let dir = CityDir::new();
    let written = citygrid::export::export_dir(&db.pool, dir.path())
        .await
        .unwrap();
    let files: Vec<&str> = written.iter().map(|(f, _)| *f).collect();
    for f in [
        "departments.csv",
        "classes.csv",
        "routing.csv",
        "sla.csv",
        "case_rules.csv",
        "districts.geojson",
        "streets.geojson",
        "communities.geojson",
        "grids.geojson",
        "components.geojson",
        "services.geojson",
        "calendar.toml",
        "roads.geojson",
        "water.geojson",
        "landmarks.geojson",
    ] {
        assert!(files.contains(&f), "{f} not exported: {files:?}");
    }
    assert_eq!(
        written
            .iter()
            .find(|(f, _)| *f == "grids.geojson")
            .unwrap()
            .1,
        2_220
    );

    // Into the same database: the data sets whose files differ from the
    // originals byte for byte reload, and every table ends up as it was.
    let report = import(&db, &dir).await;
    assert!(report.committed, "{:?}", report.errors);
    assert!(
        report.warnings.is_empty(),
        "{:?}",
        &report.warnings[..report.warnings.len().min(5)]
    );
    let loaded: Vec<&str> = report
        .datasets
        .iter()
        .filter(|d| d.status == "loaded")
        .map(|d| d.file)
        .collect();
    assert!(
        loaded.contains(&"grids.geojson") && loaded.contains(&"components.geojson"),
        "{loaded:?}"
    );
    assert_eq!(table_fingerprints(&db).await, before);

    // Into an empty database: the same city.
    let fresh = TestDb::new(Template::Empty).await.unwrap();
    let report = import(&fresh, &dir).await;
    assert!(report.committed, "{:?}", report.errors);
    assert_eq!(table_fingerprints(&fresh).await, before);
}
