//! Streams (RDB types 15, 19 and 21): listpack nodes of delta-encoded entries, then metadata and
//! consumer groups, of which only the names are kept.

use std::io::Read;

use super::encoding::{Fault, Res, Source};
use super::listpack::Listpack;
use super::{Stream, StreamEntry, RDB_TYPE_STREAM_LISTPACKS_2, RDB_TYPE_STREAM_LISTPACKS_3};

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

pub(crate) fn read<R: Read>(src: &mut Source<R>, rdb_type: u8) -> Res<Stream> {
    let nodes = src.read_len()?;
    let mut entries = Vec::new();
    for _ in 0..nodes {
        let at = src.offset();
        let node_key = src.read_string()?;
        let master: [u8; 16] = node_key.as_slice().try_into().map_err(|_| {
            Fault::corrupt(
                at,
                format!(
                    "a stream node key has {} bytes instead of 16",
                    node_key.len()
                ),
            )
        })?;
        let ms = u64::from_be_bytes(master[..8].try_into().unwrap_or_default());
        let seq = u64::from_be_bytes(master[8..].try_into().unwrap_or_default());
        let at = src.offset();
        let blob = src.read_string()?;
        read_node(&blob, (ms, seq), &mut entries)
            .map_err(|what| Fault::corrupt(at, format!("in a stream node: {what}")))?;
    }
    let _length = src.read_len()?;
    let last_id = (src.read_len()?, src.read_len()?);
    if rdb_type >= RDB_TYPE_STREAM_LISTPACKS_2 {
        // first id, max deleted id, entries added
        for _ in 0..5 {
            src.read_len()?;
        }
    }
    let group_count = src.read_len()?;
    let mut groups = Vec::with_capacity(cap(group_count));
    for _ in 0..group_count {
        groups.push(src.read_string()?);
        src.read_len()?; // last delivered id
        src.read_len()?;
        if rdb_type >= RDB_TYPE_STREAM_LISTPACKS_2 {
            src.read_len()?; // entries read
        }
        let pending = src.read_len()?;
        for _ in 0..pending {
            // raw id, delivery time, delivery count
            src.skip(16 + 8)?;
            src.read_len()?;
        }
        let consumers = src.read_len()?;
        for _ in 0..consumers {
            src.read_string()?;
            src.skip(8)?; // seen time
            if rdb_type >= RDB_TYPE_STREAM_LISTPACKS_3 {
                src.skip(8)?; // active time
            }
            let owned = src.read_len()?;
            for _ in 0..owned {
                src.skip(16)?;
            }
        }
    }
    Ok(Stream {
        entries,
        last_id,
        groups,
    })
}

fn cap(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(4096)
}

/// One node: a master entry naming the common fields, then entries whose ids are deltas
/// from the node key.
fn read_node(blob: &[u8], master: (u64, u64), out: &mut Vec<StreamEntry>) -> Result<(), String> {
    let mut lp = Listpack::new(blob)?;
    let _count = lp.expect_int("the live entry count")?;
    let _deleted = lp.expect_int("the deleted entry count")?;
    let nfields = lp.expect_int("the master field count")?;
    let nfields = u64::try_from(nfields).map_err(|_| "a negative master field count")?;
    let mut master_fields = Vec::with_capacity(cap(nfields));
    for _ in 0..nfields {
        master_fields.push(lp.expect("a master field")?.to_bytes());
    }
    if lp.expect_int("the master entry terminator")? != 0 {
        return Err("the master entry is not terminated by 0".into());
    }
    while let Some(flags) = lp.next()? {
        let flags = flags.as_int().ok_or("entry flags are not an integer")?;
        let ms_delta = lp.expect_int("an entry id")?;
        let seq_delta = lp.expect_int("an entry id")?;
        // Deltas are stored as signed 64-bit integers of an unsigned difference.
        let ms = master.0.wrapping_add(ms_delta as u64);
        let seq = master.1.wrapping_add(seq_delta as u64);
        let fields = if flags & FLAG_SAMEFIELDS != 0 {
            let mut fields = Vec::with_capacity(master_fields.len());
            for name in &master_fields {
                fields.push((name.clone(), lp.expect("a field value")?.to_bytes()));
            }
            fields
        } else {
            let n = lp.expect_int("an entry's field count")?;
            let n = u64::try_from(n).map_err(|_| "a negative field count")?;
            let mut fields = Vec::with_capacity(cap(n));
            for _ in 0..n {
                let name = lp.expect("a field")?.to_bytes();
                fields.push((name, lp.expect("a field value")?.to_bytes()));
            }
            fields
        };
        lp.expect_int("an entry's element count")?;
        if flags & FLAG_DELETED == 0 {
            out.push(StreamEntry { ms, seq, fields });
        }
    }
    Ok(())
}
