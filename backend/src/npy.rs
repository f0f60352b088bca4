//! Reading and writing NumPy `.npy` files of a 2-D little-endian float32 matrix (the seed's
//! `product_emb.npy`), and an on-disk view of one that reads rows on demand for the server.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

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

/// Parses a header from the first bytes of a file of `file_len` bytes; returns (rows, cols,
/// offset of the data).
fn parse_header(path: &Path, bytes: &[u8], file_len: usize) -> Result<(usize, usize, usize)> {
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
    if file_len != offset + rows * cols * 4 {
        return Err(bad("file size does not match the shape"));
    }
    Ok((rows, cols, offset))
}

/// Bytes read to find the header: a `.npy` header is a few hundred bytes at most.
const HEADER_PROBE: u64 = 64 * 1024;

/// A float32 matrix in a `.npy` file: rows are read on demand with `pread`, not loaded and not
/// memory-mapped. A server reads only the clicked rows. Through a memory map, each first touch
/// of a row would also map the neighbouring pages already in the page cache (the kernel's
/// fault-around), so the server's resident set would grow with every row ever clicked; a
/// `pread` of one row leaves nothing mapped.
pub struct Matrix {
    file: std::fs::File,
    path: PathBuf,
    rows: usize,
    cols: usize,
    offset: usize,
}

impl Matrix {
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(Error::io(path))?;
        let len = file.metadata().map_err(Error::io(path))?.len() as usize;
        let mut head = Vec::new();
        (&file)
            .take(HEADER_PROBE)
            .read_to_end(&mut head)
            .map_err(Error::io(path))?;
        let (rows, cols, offset) = parse_header(path, &head, len)?;
        Ok(Matrix {
            file,
            path: path.to_owned(),
            rows,
            cols,
            offset,
        })
    }
    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Reads `count` rows from row `first` and appends them to `out`.
    fn read_rows(&self, first: usize, count: usize, out: &mut Vec<f32>) -> Result<()> {
        assert!(
            first + count <= self.rows,
            "row {first}+{count} of {}",
            self.rows
        );
        let mut bytes = vec![0u8; count * self.cols * 4];
        self.file
            .read_exact_at(&mut bytes, (self.offset + first * self.cols * 4) as u64)
            .map_err(Error::io(&self.path))?;
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        Ok(())
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(self.cols);
        self.read_rows(i, 1, &mut out)?;
        Ok(out)
    }
    /// Appends row `i` to `out`.
    pub fn extend_row(&self, i: usize, out: &mut Vec<f32>) -> Result<()> {
        self.read_rows(i, 1, out)
    }
    /// The whole matrix (for index builds and evaluation), read 4,096 rows at a time so that
    /// the byte buffer stays small beside the floats of a large catalog.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        const CHUNK: usize = 4_096;
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for first in (0..self.rows).step_by(CHUNK) {
            self.read_rows(first, CHUNK.min(self.rows - first), &mut out)?;
        }
        Ok(out)
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
        assert_eq!(m.row(2).unwrap(), vec![4.0, 4.5, 5.0, 5.5]);
        let mut two = Vec::new();
        m.extend_row(0, &mut two).unwrap();
        m.extend_row(1, &mut two).unwrap();
        assert_eq!(two, data[..8]);
        assert_eq!(m.to_vec().unwrap(), data);
    }

    #[test]
    fn to_vec_reads_a_matrix_of_several_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        let data: Vec<f32> = (0..10_000 * 3).map(|i| i as f32).collect();
        write(&p, &data, 3).unwrap();
        let m = Matrix::open(&p).unwrap();
        assert_eq!(m.to_vec().unwrap(), data);
        assert_eq!(m.row(9_999).unwrap(), data[29_997..]);
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
