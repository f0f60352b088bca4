//! `cf.model`: a CF model on disk, written atomically (temp file, rename) so a reader sees the
//! old model or the new one, never half of one.
//!
//! Format (little-endian): magic `RLCF`, format version (u32), meta length (u32), the meta as
//! JSON, then rows + 1 offsets (u32), the entry count (u64), that many rows (u32) and that many
//! similarities (f32).

use super::{CfMeta, CfModel};
use crate::error::{Error, Result};
use crate::layout::write_atomic;
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 4] = b"RLCF";
/// Bump when the layout changes; a model of another version is rebuilt, not read.
pub const FORMAT_VERSION: u32 = 1;

pub fn save(model: &CfModel, path: &Path) -> Result<()> {
    let meta = serde_json::to_vec(&model.meta).map_err(|e| Error::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    write_atomic(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&FORMAT_VERSION.to_le_bytes())?;
        w.write_all(&(meta.len() as u32).to_le_bytes())?;
        w.write_all(&meta)?;
        for o in &model.offsets {
            w.write_all(&o.to_le_bytes())?;
        }
        w.write_all(&(model.items.len() as u64).to_le_bytes())?;
        for i in &model.items {
            w.write_all(&i.to_le_bytes())?;
        }
        for s in &model.sims {
            w.write_all(&s.to_le_bytes())?;
        }
        Ok(())
    })
}

/// The model at `path`; `Ok(None)` when there is none (or it has another format version, and
/// so must be rebuilt).
pub fn load(path: &Path) -> Result<Option<CfModel>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path)(e)),
    };
    let bad = |message: &str| Error::Format {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let mut r = Reader { bytes: &bytes };
    if r.take(4).ok_or_else(|| bad("too short"))? != MAGIC {
        return Err(bad("not a CF model"));
    }
    if r.u32().ok_or_else(|| bad("too short"))? != FORMAT_VERSION {
        return Ok(None);
    }
    let meta_len = r.u32().ok_or_else(|| bad("too short"))? as usize;
    let meta: CfMeta = serde_json::from_slice(r.take(meta_len).ok_or_else(|| bad("meta cut"))?)
        .map_err(|e| bad(&e.to_string()))?;
    let offsets = r
        .array(meta.rows + 1, u32::from_le_bytes)
        .ok_or_else(|| bad("offsets cut"))?;
    let n = r.u64().ok_or_else(|| bad("too short"))? as usize;
    let items = r
        .array(n, u32::from_le_bytes)
        .ok_or_else(|| bad("rows cut"))?;
    let sims = r
        .array(n, f32::from_le_bytes)
        .ok_or_else(|| bad("scores cut"))?;
    let consistent = r.bytes.is_empty()
        && offsets.first() == Some(&0)
        && offsets.last().map(|&l| l as usize) == Some(n)
        && offsets.is_sorted()
        && items.iter().all(|&i| (i as usize) < meta.rows);
    if !consistent {
        return Err(bad("inconsistent offsets or rows"));
    }
    Ok(Some(CfModel {
        meta,
        offsets,
        items,
        sims,
    }))
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn array<T>(&mut self, n: usize, from: fn([u8; 4]) -> T) -> Option<Vec<T>> {
        let raw = self.take(n.checked_mul(4)?)?;
        Some(
            raw.chunks_exact(4)
                .map(|c| from(c.try_into().expect("4 bytes")))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cf::{CfOptions, ClickMark};

    #[test]
    fn a_model_survives_a_round_trip_and_a_cut_file_is_an_error() {
        let meta = CfMeta {
            build_id: "b1".into(),
            rows: 3,
            mark: ClickMark {
                max_rowid: 9,
                revision: 2,
            },
            clicks: 9,
            users: 3,
            clicks_not_in_build: 0,
            pairs: 0,
            options: CfOptions::default(),
            built_at: "2026-12-05T00:00:00Z".into(),
            built_at_ms: 1,
            build_seconds: 0.5,
        };
        let model = CfModel::from_lists(
            meta,
            vec![vec![(1, 0.5), (2, 0.25)], vec![], vec![(0, 1.0)]],
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cf.model");
        save(&model, &path).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back, model);
        assert_eq!(
            back.neighbours(0).collect::<Vec<_>>(),
            [(1, 0.5), (2, 0.25)]
        );
        assert_eq!(back.neighbours(1).count(), 0);
        assert_eq!(back.neighbours(7).count(), 0);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        assert!(load(&path).is_err());
        assert!(load(&dir.path().join("none")).unwrap().is_none());
    }
}
