//! Reading and writing NumPy `.npy` files of a 2-D little-endian float32 matrix (the seed's
//! `product_emb.npy`), and a memory-mapped view of one for the server.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The `.npy` v1.0 header for a C-ordered `rows × cols` float32 array, padded to 64 bytes.
fn header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let mut h = Vec::with_capacity(unpadded + pad);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&[1, 0]);
    h.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.extend(std::iter::repeat_n(b' ', pad));
    h.push(b'\n');
    h
}

/// Writes `data` (row-major, `cols` per row) as a `.npy` file, atomically.
pub fn write(path: &Path, data: &[f32], cols: usize) -> Result<()> {
    assert!(
        cols > 0 && data.len().is_multiple_of(cols),
        "matrix data must be whole rows"
    );
    crate::layout::write_atomic(path, |w| {
        w.write_all(&header(data.len() / cols, cols))?;
        for v in data {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Parses a header; returns (rows, cols, offset of the data).
fn parse_header(path: &Path, bytes: &[u8]) -> Result<(usize, usize, usize)> {
    let bad = |m: &str| Error::Format {
        path: path.to_owned(),
        message: m.to_owned(),
    };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy file"));
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(bad("unsupported .npy version")),
    };
    let dict = bytes
        .get(start..start + len)
        .ok_or_else(|| bad("truncated header"))?;
    let dict = std::str::from_utf8(dict).map_err(|_| bad("header is not text"))?;
    if !dict.contains("'descr': '<f4'") || !dict.contains("'fortran_order': False") {
        return Err(bad("expected a C-ordered little-endian float32 array"));
    }
    let shape = dict
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_>>()?;
    let [rows, cols] = dims[..] else {
        return Err(bad("expected a 2-D array"));
    };
    let offset = start + len;
    if bytes.len() != offset + rows * cols * 4 {
        return Err(bad("file size does not match the shape"));
    }
    Ok((rows, cols, offset))
}

/// A memory-mapped float32 matrix: rows are read on demand, not loaded.
pub struct Matrix {
    map: memmap2::Mmap,
    rows: usize,
    cols: usize,
    offset: usize,
}

impl Matrix {
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(Error::io(path))?;
        // SAFETY: the file is only ever replaced by rename (write_atomic), never written in place,
        // so the mapped pages cannot change under us.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(Error::io(path))?;
        let (rows, cols, offset) = parse_header(path, &map)?;
        Ok(Matrix {
            map,
            rows,
            cols,
            offset,
        })
    }
    /// Tells the kernel that rows are read at random (a server reads only clicked rows): no
    /// read-around, so each touched row maps a page or two instead of 128 KB of neighbours.
    pub fn advise_random(&self) {
        if let Err(e) = self.map.advise(memmap2::Advice::Random) {
            tracing::warn!(error = %e, "madvise(RANDOM) on the embeddings failed");
        }
    }
    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Row `i`, copied out (the mapping is not necessarily 4-byte aligned for every header).
    pub fn row(&self, i: usize) -> Vec<f32> {
        let start = self.offset + i * self.cols * 4;
        self.map[start..start + self.cols * 4]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
    /// Appends row `i` to `out`.
    pub fn extend_row(&self, i: usize, out: &mut Vec<f32>) {
        let start = self.offset + i * self.cols * 4;
        out.extend(
            self.map[start..start + self.cols * 4]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    /// The whole matrix, copied (for index builds and evaluation).
    pub fn to_vec(&self) -> Vec<f32> {
        self.map[self.offset..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_header_is_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        write(&p, &data, 4).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(header(3, 4).len() % 64, 0);
        assert_eq!(bytes.len(), header(3, 4).len() + 48);
        let m = Matrix::open(&p).unwrap();
        assert_eq!((m.rows(), m.cols()), (3, 4));
        assert_eq!(m.row(2), vec![4.0, 4.5, 5.0, 5.5]);
        assert_eq!(m.to_vec(), data);
    }

    #[test]
    fn rejects_wrong_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        let mut h = header(1, 1);
        let at = h.windows(3).position(|w| w == b"<f4").unwrap();
        h[at + 2] = b'8';
        h.extend_from_slice(&[0; 8]);
        std::fs::write(&p, h).unwrap();
        let err = Matrix::open(&p).err().unwrap().to_string();
        assert!(err.contains("float32"), "{err}");
    }
}
