//! Feeds arbitrary bytes to the RDB reader: it must end in entries or an error, never a panic,
//! a hang or a huge allocation.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/rdb/mod.rs"]
mod rdb;

fuzz_target!(|data: &[u8]| {
    read(data);
    // Most damage is caught by the checksum; a zero trailer turns it off, so the decoders
    // themselves meet the damaged bytes.
    if data.len() > 8 {
        let mut unchecked = data.to_vec();
        let n = unchecked.len();
        unchecked[n - 8..].fill(0);
        read(&unchecked);
    }
});

fn read(data: &[u8]) {
    let Ok(mut reader) = rdb::RdbReader::new(data) else {
        return;
    };
    while let Ok(Some(_)) = reader.next_entry() {}
}
