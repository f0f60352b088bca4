//! A CSV's import, previewed before it is run: the column each product field would read (the
//! detected one, or the caller's mapping), the first parsed products and the first rejected
//! rows, so a person bringing their own catalog can fix the mapping first.

use super::import::{ColumnMap, REQUIRED, header_names, match_columns, read_csv};
use crate::error::{Error, Result};
use common::{CatalogPreview, FieldColumn, Product, RowReject};
use std::path::Path;

/// Products and rejects a preview shows.
const ROWS: usize = 5;
const REJECTS: usize = 20;

/// Previews importing `path` with `map` (column → field pairs, tried before the common
/// spellings); reads the whole file, so it is meant for uploads the server has size-capped.
pub fn preview(path: &Path, map: &ColumnMap) -> Result<CatalogPreview> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(file);
    let columns = header_names(&mut rdr)?;
    let mut out = CatalogPreview {
        columns: columns.clone(),
        fields: Vec::new(),
        rows: Vec::new(),
        rejects: Vec::new(),
        records: 0,
        rejected: 0,
        problem: None,
    };
    let order = match match_columns(&columns, map) {
        Ok(o) => o,
        Err(message) => {
            out.problem = Some(message);
            return Ok(out);
        }
    };
    out.fields = Product::COLUMNS
        .iter()
        .zip(order)
        .map(|(field, o)| FieldColumn {
            field: (*field).to_owned(),
            column: o.map(|i| columns[i].clone()),
            required: REQUIRED.contains(field),
        })
        .collect();
    if let Some(f) = out.fields.iter().find(|f| f.required && f.column.is_none()) {
        out.problem = Some(format!("no column for {}: pick one", f.field));
        return Ok(out);
    }
    let mut sink = |line: u64, parsed: std::result::Result<Product, String>| -> Result<()> {
        out.records += 1;
        match parsed {
            Ok(p) if out.rows.len() < ROWS => out.rows.push(p),
            Ok(_) => {}
            Err(reason) => {
                out.rejected += 1;
                if out.rejects.len() < REJECTS {
                    out.rejects.push(RowReject { line, reason });
                }
            }
        }
        Ok(())
    };
    if let Err(e) = read_csv(path, map, &mut sink) {
        out.problem = Some(e.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_detects_columns_and_takes_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.csv");
        std::fs::write(
            &path,
            "Item Number,Product Title,Sale Price\nA1,Red kettle,19.99\nA2,Blue mug,-3\n",
        )
        .unwrap();
        let p = preview(&path, &Vec::new()).unwrap();
        let column = |p: &CatalogPreview, f: &str| {
            p.fields
                .iter()
                .find(|c| c.field == f)
                .unwrap()
                .column
                .clone()
        };
        assert_eq!(column(&p, "title").as_deref(), Some("Product Title"));
        assert_eq!(column(&p, "price").as_deref(), Some("Sale Price"));
        assert_eq!(column(&p, "asin"), None);
        assert!(p.problem.as_deref().unwrap().contains("asin"));
        assert!(p.rows.is_empty());

        let fixed = preview(&path, &vec![("Item Number".into(), "asin".into())]).unwrap();
        assert_eq!(fixed.problem, None);
        assert_eq!((fixed.records, fixed.rejected), (2, 1));
        assert_eq!(fixed.rows[0].title, "Red kettle");
        assert_eq!(fixed.rejects[0].line, 3);
    }
}
