//! The facet index: for each workspace and tag or group, the ids of its leads, kept as sorted
//! blocks of delta-encoded ids. An import adds thousands of leads to a handful of facets per
//! transaction: as blocks that is a few value rewrites, where one B-tree entry per lead and facet
//! cost about a microsecond each, an eighth of the writer's time.
//!
//! A block's key ends with its smallest id, and a block holds the ids from there up to the next
//! block's start.

use std::ops::Bound;
use std::path::Path;

use redb::{ReadableTable, Table};

use super::{AtPath, StoreError};

/// Ids per block at most (1 to 3 KB encoded), so adding or dropping one rewrites little.
const MAX_IDS: usize = 1024;

/// `ws ∅ facet length (u32, big-endian) facet`: the blocks of one facet, and of no other, are this
/// followed by 8 bytes.
pub(super) fn prefix(ws: &str, facet: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(ws.len() + 5 + facet.len() + 8);
    k.extend_from_slice(ws.as_bytes());
    k.push(0);
    k.extend_from_slice(&(facet.len() as u32).to_be_bytes());
    k.extend_from_slice(facet.as_bytes());
    k
}

fn block_key(prefix: &[u8], first: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&first.to_be_bytes());
    k
}

/// Ascending ids as LEB128 varints, each after the first as the gap from the one before.
fn encode(ids: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.len() * 2);
    let mut prev = 0;
    for &id in ids {
        let mut v = id - prev;
        prev = id;
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    out
}

fn decode(bytes: &[u8], path: &Path, out: &mut Vec<u64>) -> Result<(), StoreError> {
    let corrupt = || StoreError::Corrupt { path: path.to_path_buf(), message: "a facet block does not decode".into() };
    let (mut prev, mut v, mut shift) = (0u64, 0u64, 0u32);
    for &b in bytes {
        if shift > 63 {
            return Err(corrupt());
        }
        v |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            prev = prev.checked_add(v).ok_or_else(corrupt)?;
            out.push(prev);
            (v, shift) = (0, 0);
        }
    }
    if shift != 0 {
        return Err(corrupt());
    }
    Ok(())
}

/// Appends the ids under `prefix`, ascending.
pub(super) fn ids(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
    path: &Path,
    out: &mut Vec<u64>,
) -> Result<(), StoreError> {
    let (lo, hi) = (block_key(prefix, 0), block_key(prefix, u64::MAX));
    for row in table.range(lo.as_slice()..=hi.as_slice()).at(path)? {
        decode(row.at(path)?.1.value(), path, out)?;
    }
    Ok(())
}

/// Adds (`true`) and drops ids of the facet under `prefix`; `changes` is sorted by id.
pub(super) fn apply(
    table: &mut Table<&'static [u8], &'static [u8]>,
    prefix: &[u8],
    changes: &[(u64, bool)],
    path: &Path,
) -> Result<(), StoreError> {
    let (lo, hi) = (block_key(prefix, 0), block_key(prefix, u64::MAX));
    let start = |k: &[u8]| k.get(prefix.len()..).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes);
    let mut rest = changes;
    let mut ids = Vec::new();
    while let Some(&(first, _)) = rest.first() {
        // The block holding `first`: the last that starts at or below it, else the first one (which
        // then takes in ids below its start).
        let at = block_key(prefix, first);
        let block = match first_in(table, (Bound::Included(&lo), Bound::Included(&at)), true, path)? {
            Some(b) => Some(b),
            None => first_in(table, (Bound::Included(&at), Bound::Included(&hi)), false, path)?,
        };
        ids.clear();
        let old_key = match block {
            Some((k, v)) => {
                decode(&v, path, &mut ids)?;
                Some(k)
            }
            None => None,
        };
        let next = match &old_key {
            Some(k) => first_in(table, (Bound::Excluded(k), Bound::Included(&hi)), false, path)?,
            None => None,
        };
        let next = next.and_then(|(k, _)| start(&k));
        let n = rest.iter().position(|(id, _)| next.is_some_and(|nx| *id >= nx)).unwrap_or(rest.len());
        let (mine, later) = rest.split_at(n);
        rest = later;
        let merged = merge(&ids, mine);
        // Over-full: split into even pieces, so an insert in the middle leaves no one-id block.
        let pieces = merged.len().div_ceil(MAX_IDS).max(1);
        let new_first = merged.first().map(|id| block_key(prefix, *id));
        if let Some(k) = old_key.filter(|k| Some(k) != new_first.as_ref()) {
            table.remove(k.as_slice()).at(path)?;
        }
        for piece in merged.chunks(merged.len().div_ceil(pieces).max(1)) {
            table.insert(block_key(prefix, piece[0]).as_slice(), encode(piece).as_slice()).at(path)?;
        }
    }
    Ok(())
}

/// A block's key and value.
type Row = (Vec<u8>, Vec<u8>);

/// The first (or last) row in `range`, copied out so the table can be written next.
fn first_in(
    table: &Table<&'static [u8], &'static [u8]>,
    range: (Bound<&Vec<u8>>, Bound<&Vec<u8>>),
    last: bool,
    path: &Path,
) -> Result<Option<Row>, StoreError> {
    let range = (range.0.map(Vec::as_slice), range.1.map(Vec::as_slice));
    let mut rows = table.range::<&[u8]>(range).at(path)?;
    let row = if last { rows.next_back() } else { rows.next() };
    match row {
        Some(row) => {
            let (k, v) = row.at(path)?;
            Ok(Some((k.value().to_vec(), v.value().to_vec())))
        }
        None => Ok(None),
    }
}

/// `ids` with `changes` applied, both ascending.
fn merge(ids: &[u64], changes: &[(u64, bool)]) -> Vec<u64> {
    let mut out = Vec::with_capacity(ids.len() + changes.len());
    let mut ids = ids.iter().copied().peekable();
    for &(id, add) in changes {
        while let Some(x) = ids.next_if(|x| *x < id) {
            out.push(x);
        }
        // Present or not, the id is in if added and out if dropped.
        ids.next_if_eq(&id);
        if add {
            out.push(id);
        }
    }
    out.extend(ids);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};
    use std::collections::BTreeSet;

    const T: TableDefinition<&[u8], &[u8]> = TableDefinition::new("t");

    #[test]
    fn ids_round_trip_through_their_encoding() {
        let ids = [1, 2, 3, 130, 20_000, u64::MAX - 1, u64::MAX];
        let mut out = Vec::new();
        decode(&encode(&ids), Path::new("x"), &mut out).unwrap();
        assert_eq!(out, ids);
        for bad in [&[0x80u8][..], &[0xff; 11][..]] {
            assert!(decode(bad, Path::new("x"), &mut Vec::new()).is_err(), "{bad:?}");
        }
    }

    /// Blocks of every facet, as the table holds them: (facet prefix, first id, ids).
    fn blocks(db: &Database, prefix: &[u8]) -> Vec<(u64, Vec<u64>)> {
        let txn = db.begin_read().unwrap();
        let t = txn.open_table(T).unwrap();
        let mut out = Vec::new();
        for row in t.iter().unwrap() {
            let (k, v) = row.unwrap();
            if !k.value().starts_with(prefix) || k.value().len() != prefix.len() + 8 {
                continue;
            }
            let mut ids = Vec::new();
            decode(v.value(), Path::new("x"), &mut ids).unwrap();
            let first = u64::from_be_bytes(k.value()[prefix.len()..].try_into().unwrap());
            out.push((first, ids));
        }
        out
    }

    #[test]
    fn blocks_follow_every_add_and_drop() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("f.redb")).unwrap();
        let (vip, vi) = (prefix("u:ann", "t:vip"), prefix("u:ann", "t:vi"));
        let mut want: BTreeSet<u64> = BTreeSet::new();
        // A deterministic walk: appends as an import makes them, then adds and drops anywhere.
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..60u64 {
            let mut changes: Vec<(u64, bool)> = if round < 20 {
                (round * 700 + 1..=round * 700 + 700).map(|id| (id, true)).collect()
            } else {
                (0..300).map(|_| (next() % 15_000, next() % 3 != 0)).collect()
            };
            changes.sort_unstable();
            changes.dedup_by_key(|c| c.0);
            for &(id, add) in &changes {
                if add {
                    want.insert(id);
                } else {
                    want.remove(&id);
                }
            }
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn.open_table(T).unwrap();
                apply(&mut t, &vip, &changes, Path::new("x")).unwrap();
                // Another facet whose name the first one's starts with stays apart.
                apply(&mut t, &vi, &[(round, true)], Path::new("x")).unwrap();
            }
            txn.commit().unwrap();

            let txn = db.begin_read().unwrap();
            let mut got = Vec::new();
            ids(&txn.open_table(T).unwrap(), &vip, Path::new("x"), &mut got).unwrap();
            assert_eq!(got, want.iter().copied().collect::<Vec<_>>(), "round {round}");
            let bs = blocks(&db, &vip);
            for (i, (first, ids)) in bs.iter().enumerate() {
                assert!(!ids.is_empty() && ids.len() <= MAX_IDS, "round {round}: block of {}", ids.len());
                assert_eq!(ids[0], *first, "a block's key is its smallest id");
                if let Some((next_first, _)) = bs.get(i + 1) {
                    assert!(ids.last().unwrap() < next_first, "blocks do not overlap");
                }
            }
        }
        let txn = db.begin_read().unwrap();
        let mut got = Vec::new();
        ids(&txn.open_table(T).unwrap(), &vi, Path::new("x"), &mut got).unwrap();
        assert_eq!(got, (0..60).collect::<Vec<_>>());
        // Blocks stay well filled: on average at least a quarter of the most they may hold.
        let n = blocks(&db, &vip).len();
        assert!(n * MAX_IDS / 4 <= want.len(), "{n} blocks for {} ids", want.len());
    }

    #[test]
    fn dropping_every_id_leaves_no_block() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("f.redb")).unwrap();
        let p = prefix("u:ann", "g:Rust");
        for changes in [vec![(5, true), (9, true)], vec![(5, false), (9, false), (11, false)]] {
            let txn = db.begin_write().unwrap();
            apply(&mut txn.open_table(T).unwrap(), &p, &changes, Path::new("x")).unwrap();
            txn.commit().unwrap();
        }
        assert!(db.begin_read().unwrap().open_table(T).unwrap().is_empty().unwrap());
    }
}
