//! The asins of one build in row order, with a compact reverse map (asin → row): one text buffer,
//! one offset per row and a table of row numbers, instead of two million small strings at 1M
//! items. Loads in one pass over `asin_list.txt`.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Row `i` of the index and of `product_emb.npy` is `get(i)`.
pub struct AsinTable {
    text: String,
    /// Row i is `text[starts[i]..starts[i + 1]]` without its line end; one extra entry at the end.
    starts: Vec<u32>,
    rows: HashTable<u32>,
    hasher: std::collections::hash_map::RandomState,
}

impl AsinTable {
    /// From the contents of `asin_list.txt`: one asin a line. Duplicate lines keep their first
    /// row for lookups.
    pub fn from_lines(text: String) -> AsinTable {
        let mut starts = Vec::with_capacity(text.len() / 11 + 2);
        let mut at = 0usize;
        for line in text.split_inclusive('\n') {
            starts.push(at as u32);
            at += line.len();
        }
        starts.push(text.len() as u32 + 1);
        let mut t = AsinTable {
            text,
            starts,
            rows: HashTable::new(),
            hasher: Default::default(),
        };
        let n = t.len();
        t.rows.reserve(n, |_| 0);
        for i in 0..n as u32 {
            let a = t.get(i as usize);
            let h = t.hasher.hash_one(a);
            let (text, starts) = (&t.text, &t.starts);
            if t.rows
                .find(h, |&r| line(text, starts, r as usize) == a)
                .is_none()
            {
                let hasher = &t.hasher;
                t.rows
                    .insert_unique(h, i, |&r| hasher.hash_one(line(text, starts, r as usize)));
            }
        }
        t
    }

    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The asin of row `i`. Panics when `i` is out of range, like slice indexing.
    pub fn get(&self, i: usize) -> &str {
        line(&self.text, &self.starts, i)
    }

    /// The row of `asin`, if the build has it.
    pub fn position(&self, asin: &str) -> Option<u32> {
        let h = self.hasher.hash_one(asin);
        self.rows
            .find(h, |&r| line(&self.text, &self.starts, r as usize) == asin)
            .copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

fn line<'a>(text: &'a str, starts: &[u32], i: usize) -> &'a str {
    let s = starts[i] as usize;
    let e = (starts[i + 1] as usize).min(text.len());
    text[s..e].trim_end_matches(['\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::AsinTable;

    #[test]
    fn maps_rows_both_ways() {
        let t = AsinTable::from_lines("B01\nB02\r\nB03".into());
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(1), "B02");
        assert_eq!(t.get(2), "B03");
        assert_eq!(t.position("B03"), Some(2));
        assert_eq!(t.position("B02"), Some(1));
        assert_eq!(t.position("B04"), None);
        assert_eq!(t.iter().collect::<Vec<_>>(), ["B01", "B02", "B03"]);
    }

    #[test]
    fn a_trailing_newline_adds_no_row_and_duplicates_keep_the_first() {
        let t = AsinTable::from_lines("A\nB\nA\n".into());
        assert_eq!(t.len(), 3);
        assert_eq!(t.position("A"), Some(0));
        assert!(AsinTable::from_lines(String::new()).is_empty());
    }
}
