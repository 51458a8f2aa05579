//! Copy-on-write vectors in chunks: how every session of a workspace reads one row set and one
//! search index. A clone copies only the chunk pointers; a change copies only the chunks it
//! touches (`Arc::make_mut`), so a version someone is reading never changes under them, and the
//! next version shares every chunk the change did not touch.

use std::sync::Arc;

/// `values` in chunks of `size`, the last one shorter.
fn chunked<T>(values: Vec<T>, size: usize) -> Vec<Arc<Vec<T>>> {
    let mut chunks = Vec::with_capacity(values.len().div_ceil(size));
    let mut values = values.into_iter();
    loop {
        let chunk: Vec<T> = values.by_ref().take(size).collect();
        if chunk.is_empty() {
            return chunks;
        }
        chunks.push(Arc::new(chunk));
    }
}

/// A value kept in key order.
pub trait Keyed {
    fn key(&self) -> u64;
}

impl Keyed for (u64, u32) {
    fn key(&self) -> u64 {
        self.0
    }
}

/// Values in a `Sorted` chunk: big enough that a million rows are a thousand pointers, small
/// enough that copying a touched chunk costs microseconds.
const SORTED_CHUNK: usize = 1024;

/// Values sorted by a unique key.
#[derive(Debug)]
pub struct Sorted<T> {
    chunks: Vec<Arc<Vec<T>>>,
    /// Each chunk's last key, side by side: finding a key's chunk reads this alone.
    lasts: Vec<u64>,
    len: usize,
}

// By hand: a derived `Clone` and `Default` would ask `T` for them, and neither needs it.
impl<T> Clone for Sorted<T> {
    fn clone(&self) -> Self {
        Sorted { chunks: self.chunks.clone(), lasts: self.lasts.clone(), len: self.len }
    }
}

impl<T> Default for Sorted<T> {
    fn default() -> Self {
        Sorted { chunks: Vec::new(), lasts: Vec::new(), len: 0 }
    }
}

impl<T: Keyed + Clone> Sorted<T> {
    /// From values already sorted by key, without repeated keys.
    pub fn from_sorted(values: Vec<T>) -> Sorted<T> {
        let len = values.len();
        let mut sorted = Sorted { chunks: chunked(values, SORTED_CHUNK), lasts: Vec::new(), len };
        sorted.fix_lasts();
        sorted
    }

    fn fix_lasts(&mut self) {
        self.lasts = self.chunks.iter().map(|c| c.last().map_or(0, Keyed::key)).collect();
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first chunk whose last key is `key` or more; `chunks.len()` when every key is less.
    fn chunk_of(&self, key: u64) -> usize {
        self.lasts.partition_point(|last| *last < key)
    }

    pub fn get(&self, key: u64) -> Option<&T> {
        let chunk = self.chunks.get(self.chunk_of(key))?;
        chunk.binary_search_by_key(&key, Keyed::key).ok().map(|i| &chunk[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Inserts `value`, or replaces the one with its key (returned).
    pub fn upsert(&mut self, value: T) -> Option<T> {
        let key = value.key();
        if self.chunks.is_empty() {
            self.chunks.push(Arc::new(Vec::new()));
            self.lasts.push(0);
        }
        // A key above all others (a new lead) goes into the last chunk.
        let at = self.chunk_of(key).min(self.chunks.len() - 1);
        let chunk = Arc::make_mut(&mut self.chunks[at]);
        match chunk.binary_search_by_key(&key, Keyed::key) {
            Ok(i) => Some(std::mem::replace(&mut chunk[i], value)),
            Err(i) => {
                chunk.insert(i, value);
                self.len += 1;
                self.lasts[at] = self.lasts[at].max(key);
                if chunk.len() >= 2 * SORTED_CHUNK {
                    let tail = chunk.split_off(SORTED_CHUNK);
                    self.chunks.insert(at + 1, Arc::new(tail));
                    self.fix_lasts();
                }
                None
            }
        }
    }

    /// Removes the values with these keys (sorted, without repeats); returns how many there were.
    /// Only the chunks holding one are copied.
    pub fn remove_sorted(&mut self, keys: &[u64]) -> usize {
        let (mut removed, mut from) = (0, 0);
        while from < keys.len() {
            let at = self.chunk_of(keys[from]);
            let Some(&last) = self.lasts.get(at) else { break };
            let to = from + keys[from..].partition_point(|k| *k <= last);
            let run = &keys[from..to];
            if run.iter().any(|k| self.chunks[at].binary_search_by_key(k, Keyed::key).is_ok()) {
                let chunk = Arc::make_mut(&mut self.chunks[at]);
                let before = chunk.len();
                chunk.retain(|v| run.binary_search(&v.key()).is_err());
                removed += before - chunk.len();
            }
            from = to;
        }
        if removed > 0 {
            self.chunks.retain(|c| !c.is_empty());
            self.fix_lasts();
        }
        self.len -= removed;
        removed
    }

    /// How many of this version's chunks are the very ones `other` holds (not copies).
    pub fn shared_chunks(&self, other: &Sorted<T>) -> usize {
        let theirs: std::collections::HashSet<*const Vec<T>> = other.chunks.iter().map(Arc::as_ptr).collect();
        self.chunks.iter().filter(|c| theirs.contains(&Arc::as_ptr(c))).count()
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }
}

/// Values in a `Chunks` chunk; a power of two, so a position splits with a shift and a mask.
const CHUNK: usize = 4096;

/// Values addressed by position, as a `Vec`; new ones are pushed at the end.
#[derive(Debug)]
pub struct Chunks<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Clone for Chunks<T> {
    fn clone(&self) -> Self {
        Chunks { chunks: self.chunks.clone(), len: self.len }
    }
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks { chunks: Vec::new(), len: 0 }
    }
}

impl<T: Clone> Chunks<T> {
    pub fn from_vec(values: Vec<T>) -> Chunks<T> {
        let len = values.len();
        Chunks { chunks: chunked(values, CHUNK), len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK).and_then(|c| c.get(i % CHUNK))
    }

    /// Replaces the value at `i` (which must exist).
    pub fn set(&mut self, i: usize, value: T) {
        if let Some(slot) = self.chunks.get_mut(i / CHUNK).and_then(|c| Arc::make_mut(c).get_mut(i % CHUNK)) {
            *slot = value;
        }
    }

    pub fn push(&mut self, value: T) {
        if self.len % CHUNK == 0 {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        if let Some(last) = self.chunks.last_mut() {
            Arc::make_mut(last).push(value);
            self.len += 1;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    pub fn shared_chunks(&self, other: &Chunks<T>) -> usize {
        let theirs: std::collections::HashSet<*const Vec<T>> = other.chunks.iter().map(Arc::as_ptr).collect();
        self.chunks.iter().filter(|c| theirs.contains(&Arc::as_ptr(c))).count()
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }
}

impl<T> Chunks<T> {
    /// A reader by position that keeps the chunk it read last: positions in runs (a scan's) cost
    /// a comparison each instead of two lookups.
    pub fn reader(&self) -> Reader<'_, T> {
        Reader { chunks: self, at: usize::MAX, slice: &[] }
    }
}

pub struct Reader<'a, T> {
    chunks: &'a Chunks<T>,
    at: usize,
    slice: &'a [T],
}

impl<'a, T> Reader<'a, T> {
    /// The value at `i` (which must exist).
    pub fn get(&mut self, i: usize) -> &'a T {
        let chunk = i / CHUNK;
        if chunk != self.at {
            self.at = chunk;
            self.slice = &self.chunks.chunks[chunk];
        }
        &self.slice[i % CHUNK]
    }
}

impl<T> std::ops::Index<usize> for Chunks<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq)]
    struct V(u64, u32);

    impl Keyed for V {
        fn key(&self) -> u64 {
            self.0
        }
    }

    proptest! {
        /// Any mix of inserts, replacements and removals reads like a BTreeMap doing the same, and
        /// an earlier version kept aside never changes.
        #[test]
        fn sorted_reads_like_a_map(ops in proptest::collection::vec((0u64..5000, any::<bool>()), 0..3000)) {
            let mut s: Sorted<V> = Sorted::from_sorted((0..2500).step_by(2).map(|k| V(k, 0)).collect());
            let mut want: std::collections::BTreeMap<u64, u32> = (0..2500).step_by(2).map(|k| (k, 0)).collect();
            let kept = s.clone();
            for (n, (key, insert)) in ops.iter().enumerate() {
                if *insert {
                    s.upsert(V(*key, n as u32));
                    want.insert(*key, n as u32);
                } else {
                    let mut keys = vec![*key, key / 2, key + 1];
                    keys.sort_unstable();
                    keys.dedup();
                    let there = keys.iter().filter(|k| want.remove(k).is_some()).count();
                    prop_assert_eq!(s.remove_sorted(&keys), there);
                }
            }
            prop_assert_eq!(s.len(), want.len());
            let got: Vec<(u64, u32)> = s.iter().map(|v| (v.0, v.1)).collect();
            prop_assert_eq!(got, want.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
            for k in [0, 1, 2, 2498, 4999, 5000] {
                prop_assert_eq!(s.get(k).map(|v| v.1), want.get(&k).copied());
            }
            prop_assert_eq!(kept.len(), 1250);
            prop_assert!(kept.iter().enumerate().all(|(i, v)| *v == V(2 * i as u64, 0)));
        }
    }

    #[test]
    fn a_change_copies_only_the_chunk_it_touches() {
        let base: Sorted<V> = Sorted::from_sorted((0..10 * SORTED_CHUNK as u64).map(|k| V(k, 0)).collect());
        let mut next = base.clone();
        next.upsert(V(5, 1));
        next.remove_sorted(&[3 * SORTED_CHUNK as u64]);
        assert_eq!(next.shared_chunks(&base), 8, "two of ten chunks were copied");
        assert_eq!((base.get(5), next.get(5)), (Some(&V(5, 0)), Some(&V(5, 1))));
        let mut grown = next.clone();
        for k in 0..3 * SORTED_CHUNK as u64 {
            grown.upsert(V(1_000_000 + k, 0));
        }
        assert_eq!(grown.shared_chunks(&next), 9, "new keys copy only the last chunk");
        assert_eq!(grown.len(), next.len() + 3 * SORTED_CHUNK);

        let base = Chunks::from_vec((0..3 * CHUNK as u32).collect());
        let mut next = base.clone();
        next.set(CHUNK + 1, 7);
        next.push(9);
        assert_eq!((next[CHUNK + 1], base[CHUNK + 1], next[3 * CHUNK]), (7, CHUNK as u32 + 1, 9));
        assert_eq!(next.shared_chunks(&base), 2);
        assert_eq!((next.len(), next.get(3 * CHUNK + 1)), (3 * CHUNK + 1, None));
    }
}
