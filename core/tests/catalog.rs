//! The README's table of error codes is the catalog's: same codes, same
//! order, same HTTP statuses and meanings. A code added to `CATALOG` fails
//! here until the README documents it, and the reverse.

#![allow(clippy::expect_used, clippy::unwrap_used)]
use tessera::{Error, Layer, CATALOG};

/// The rows of the table under `## Error codes`: (code, status, meaning).
fn readme_rows() -> Vec<(String, u16, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md beside the workspace");
    let section = readme
        .split("\n## Error codes\n")
        .nth(1)
        .expect("an Error codes section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 3, "three cells: {line}");
            (
                cells[0].trim_matches('`').to_owned(),
                cells[1]
                    .parse()
                    .unwrap_or_else(|_| panic!("a status: {line}")),
                cells[2].to_owned(),
            )
        })
        .collect()
}

#[test]
fn readme_table_is_the_catalog() {
    let catalog: Vec<(String, u16, String)> = CATALOG
        .iter()
        .map(|c| (c.code.to_owned(), c.http_status, c.meaning.to_owned()))
        .collect();
    assert_eq!(readme_rows(), catalog);
}

#[test]
fn every_engine_code_is_cataloged_first_and_in_order() {
    let engine: Vec<&str> = CATALOG
        .iter()
        .take_while(|c| c.layer == Layer::Engine)
        .map(|c| c.code)
        .collect();
    assert_eq!(engine, Error::CODES);
    assert!(CATALOG[engine.len()..]
        .iter()
        .all(|c| c.layer == Layer::Http));
}
