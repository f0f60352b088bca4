//! Catalog import: every bad row reported by line and reason, good rows loaded, re-imports
//! idempotent, updates counted, an SQLite source accepted, and staleness detected.

use recall_lab::catalog::{self, Source};
use recall_lab_tests::root;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn import(db: &std::path::Path, src: Source<'_>) -> catalog::ImportReport {
    let rejects = db.with_file_name("rejects.txt");
    catalog::import(db, src, None, &rejects, &indicatif::ProgressBar::hidden())
        .expect("import runs")
}

#[test]
fn bad_rows_are_reported_by_line_and_good_rows_load() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("recommend.db");
    let r = import(&db, Source::Csv(&fixture("bad_rows.csv")));
    let lines: Vec<(u64, &str)> = r
        .rejects
        .iter()
        .map(|x| (x.line, x.reason.as_str()))
        .collect();
    assert_eq!(r.loaded, 4, "{lines:?}");
    assert_eq!(r.rejected, 5, "{lines:?}");
    let reason = |line: u64| {
        lines
            .iter()
            .find(|(l, _)| *l == line)
            .map(|(_, r)| *r)
            .unwrap_or_else(|| panic!("line {line} not reported: {lines:?}"))
    };
    assert!(
        reason(4).contains("bad number in column price"),
        "{}",
        reason(4)
    );
    assert_eq!(reason(5), "missing asin");
    assert!(
        reason(6).contains("expected 11 fields, found 5"),
        "{}",
        reason(6)
    );
    assert!(reason(7).contains("invalid UTF-8"), "{}", reason(7));
    assert!(
        reason(9).contains("duplicate asin B000000002 (first seen on line 3)"),
        "{}",
        reason(9)
    );
    // The rejects file holds the same lines.
    let file = std::fs::read_to_string(dir.path().join("rejects.txt")).unwrap();
    assert_eq!(file.lines().count(), 5);

    let c = catalog::open(&db).unwrap();
    let quoted = catalog::get_product(&c, &recall_lab::Asin::parse("B000000001").unwrap()).unwrap();
    assert_eq!(quoted.title, "Rolling Suitcase, 24\" Spinner, Navy");
    let knife = catalog::get_product(&c, &recall_lab::Asin::parse("B000000002").unwrap()).unwrap();
    assert_eq!(
        (knife.price, knife.is_best_seller, knife.list_price),
        (39.99, true, 59.99),
        "the first of two duplicates wins"
    );
}

#[test]
fn reimport_is_idempotent_and_counts_updates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("recommend.db");
    let first = import(&db, Source::Csv(&fixture("bad_rows.csv")));
    let rev = first.catalog_revision;
    let again = import(&db, Source::Csv(&fixture("bad_rows.csv")));
    assert_eq!((again.loaded, again.updated, again.unchanged), (0, 0, 4));
    assert_eq!(
        again.catalog_revision, rev,
        "nothing changed, so the catalog revision stays"
    );

    let changed = dir.path().join("changed.csv");
    // Byte-level edit: the fixture's invalid UTF-8 byte must stay invalid.
    let bytes = std::fs::read(fixture("bad_rows.csv")).unwrap();
    let (from, to) = (b"Shoes Men".as_slice(), b"Shoes Kid".as_slice());
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    let mut edited = bytes.clone();
    edited[at..at + from.len()].copy_from_slice(to);
    std::fs::write(&changed, edited).unwrap();
    let r = import(&db, Source::Csv(&changed));
    assert_eq!((r.loaded, r.updated, r.unchanged), (0, 1, 3));
    assert!(r.catalog_revision > rev);
    assert_eq!(
        catalog::product_count(&catalog::open(&db).unwrap()).unwrap(),
        4
    );
}

#[test]
fn a_seed_sqlite_file_is_a_source() {
    let dir = tempfile::tempdir().unwrap();
    // A database made the seed's way: its plain table, no indexes.
    let seed = dir.path().join("seed.db");
    let c = rusqlite::Connection::open(&seed).unwrap();
    c.execute_batch(
        "create table amazon_products (asin TEXT, title TEXT, imgUrl TEXT, productURL TEXT, stars REAL, reviews INTEGER,
           price REAL, listPrice REAL, category_id INTEGER, isBestSeller INTEGER, boughtInLastMonth INTEGER);
         insert into amazon_products values ('S1', 'Blue Ceramic Coffee Mug', '', '', 4.5, 10, 12.5, 0, 7, 0, 50);
         insert into amazon_products values ('S2', 'Cast Iron Skillet 12 Inch', '', '', 4.8, 900, 29.99, 39.99, 7, 1, 2000);
         insert into amazon_products values (NULL, 'No asin', '', '', 4.0, 1, 1, 0, 7, 0, 0);",
    )
    .unwrap();
    drop(c);
    let db = dir.path().join("recommend.db");
    let r = import(&db, Source::Sqlite(&seed));
    assert_eq!((r.loaded, r.rejected), (2, 1));
    assert_eq!(r.rejects[0].line, 3);
    let conn = catalog::open(&db).unwrap();
    let page = catalog::list_products(
        &conn,
        &catalog::Listing {
            q: Some("skillet".into()),
            page: 1,
            per_page: 10,
            ..Default::default()
        },
        &catalog::CatalogStats::read(&conn).unwrap(),
    )
    .unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|p| p.asin.as_str())
            .collect::<Vec<_>>(),
        ["S2"],
        "imported rows are searchable"
    );
}

#[test]
fn the_sample_csv_imports_without_rejects() {
    let (csv, cats) = recall_lab_tests::catalog_csvs();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("recommend.db");
    let r = catalog::import(
        &db,
        Source::Csv(&csv),
        Some(&cats),
        &dir.path().join("r.txt"),
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    assert_eq!(r.rejected, 0, "{:?}", r.rejects);
    let expected = std::fs::read_to_string(&csv).unwrap().lines().count() as u64 - 1;
    if recall_lab_tests::sample_dir().is_some() {
        assert_eq!(r.loaded, 4_960);
    }
    // Titles with embedded newlines would make this differ; the sample has none.
    assert_eq!(r.loaded, expected);
    assert!(r.categories >= 20);
}

/// Another export of the same data: other column spellings, 0/1 booleans, no productURL column,
/// and the faults found in review (a negative price, stars above 5, an unterminated quote, a
/// NUL byte), each rejected with its line.
#[test]
fn other_exports_import_with_their_column_names_and_bad_values_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("recommend.db");
    // The mug is in the catalog already, with a product URL the other export does not carry.
    let seed = dir.path().join("seed.csv");
    std::fs::write(
        &seed,
        format!(
            "{}\nC000000001,Mug,,https://example.com/dp/C000000001,4.0,1,9.0,0.0,1,False,0\n",
            common::Product::COLUMNS.join(",")
        ),
    )
    .unwrap();
    assert_eq!(import(&db, Source::Csv(&seed)).loaded, 1);
    let r = import(&db, Source::Csv(&fixture("other_export.csv")));
    let lines: Vec<(u64, &str)> = r
        .rejects
        .iter()
        .map(|x| (x.line, x.reason.as_str()))
        .collect();
    assert_eq!((r.loaded, r.updated, r.rejected), (1, 1, 4), "{lines:?}");
    assert!(lines[0] == (3, "negative price: -5"), "{lines:?}");
    assert!(
        lines[1].0 == 4 && lines[1].1.contains("stars 7.5"),
        "{lines:?}"
    );
    assert!(
        lines[2].0 == 5 && lines[2].1.contains("lines 5 to 7"),
        "the quote's record names every line it swallowed: {lines:?}"
    );
    assert!(lines[3].0 == 8 && lines[3].1.contains("NUL"), "{lines:?}");
    let source = |field: &str| {
        r.columns
            .iter()
            .find(|c| c.field == field)
            .and_then(|c| c.source.clone())
    };
    assert_eq!(source("asin").as_deref(), Some("Product ID"));
    assert_eq!(source("isBestSeller").as_deref(), Some("Best Seller"));
    assert_eq!(source("productURL"), None);
    assert!(
        r.warnings.iter().any(|w| w.contains("productURL")),
        "{:?}",
        r.warnings
    );
    let c = catalog::open(&db).unwrap();
    let mug = catalog::get_product(&c, &recall_lab::Asin::parse("C000000001").unwrap()).unwrap();
    assert_eq!(
        (mug.title.as_str(), mug.is_best_seller, mug.stars),
        ("Ceramic Mug 12 oz", true, 4.5)
    );
    assert_eq!(
        mug.product_url, "https://example.com/dp/C000000001",
        "a column the file lacks leaves the stored value alone"
    );
}

#[test]
fn a_column_map_names_unusual_columns_and_a_failed_import_leaves_no_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("odd.csv");
    std::fs::write(&csv, "Ref,What It Is,Cost\nD000000001,Copper Kettle,30\n").unwrap();
    let db = dir.path().join("recommend.db");
    let rejects = dir.path().join("rejects.txt");
    let bar = indicatif::ProgressBar::hidden();
    // Without a map the title column is not found: an error, and no database is left behind.
    let err = catalog::import(&db, Source::Csv(&csv), None, &rejects, &bar).unwrap_err();
    assert!(err.to_string().contains("--map"), "{err}");
    assert!(
        !db.exists(),
        "a failed first import leaves no empty catalog"
    );
    let map = vec![
        ("Ref".to_owned(), "asin".to_owned()),
        ("What It Is".to_owned(), "title".to_owned()),
        ("Cost".to_owned(), "price".to_owned()),
    ];
    let r = catalog::import_mapped(&db, Source::Csv(&csv), &map, None, &rejects, &bar).unwrap();
    assert_eq!(r.loaded, 1);
    let c = catalog::open(&db).unwrap();
    let k = catalog::get_product(&c, &recall_lab::Asin::parse("D000000001").unwrap()).unwrap();
    assert_eq!((k.title.as_str(), k.price), ("Copper Kettle", 30.0));
}
