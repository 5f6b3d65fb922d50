//! Documents from files: `mongoexport` output (one Extended JSON document per
//! line, relaxed or canonical) and `mongodump` `.bson` files (documents one after
//! another). Read as a stream; every error names the file and the line or the
//! document's place.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use bson::{Bson, Document};

/// The largest document read (MongoDB's own limit is 16 MiB).
const MAX_DOCUMENT: usize = 48 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Extended JSON, one document per line.
    Json,
    /// BSON documents one after another.
    Bson,
}

impl Format {
    /// The format a file's name says, if it says one (`.gz` aside: compressed
    /// files are known by their first bytes).
    pub fn of_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".metadata.json") {
            return None;
        }
        match name.rsplit_once('.')?.1 {
            "json" | "jsonl" | "ndjson" => Some(Format::Json),
            "bson" => Some(Format::Bson),
            _ => None,
        }
    }

    /// The format of content that starts with `head`: JSON starts with `{`.
    pub fn sniff(head: &[u8]) -> Format {
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | Some(b'[') => Format::Json,
            _ => Format::Bson,
        }
    }
}

/// A file of one collection's documents.
#[derive(Debug, Clone)]
pub struct DocumentFile {
    pub collection: String,
    pub path: PathBuf,
    /// How the file is named in messages (`-` is standard input).
    pub shown: String,
    pub format: Format,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("{file} line {line}: {reason}")]
    Line {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("{file} document {number} (at byte {offset}): {reason}")]
    Document {
        file: String,
        number: u64,
        offset: u64,
        reason: String,
    },
}

/// Visit every document of a file, in file order. The visitor's error stops it.
/// gzip-compressed content (`mongodump --gzip`) is read through its decompression.
pub fn read<E: From<FileError>>(
    file: &DocumentFile,
    input: impl Read,
    visit: &mut dyn FnMut(Document) -> Result<(), E>,
) -> Result<(), E> {
    let mut input = BufReader::with_capacity(256 * 1024, input);
    let head = input.fill_buf().map_err(|source| FileError::Io {
        file: file.shown.clone(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let unpacked = flate2::read::MultiGzDecoder::new(input);
        return match file.format {
            Format::Json => read_json(file, unpacked, visit),
            Format::Bson => read_bson(file, unpacked, visit),
        };
    }
    match file.format {
        Format::Json => read_json(file, input, visit),
        Format::Bson => read_bson(file, input, visit),
    }
}

/// A whole file's text, gzip-compressed or not (a dump's metadata).
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut text)?;
        return Ok(text);
    }
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

pub fn open(file: &DocumentFile) -> Result<File, FileError> {
    File::open(&file.path).map_err(|source| FileError::Io {
        file: file.shown.clone(),
        source,
    })
}

fn read_json<E: From<FileError>>(
    file: &DocumentFile,
    input: impl Read,
    visit: &mut dyn FnMut(Document) -> Result<(), E>,
) -> Result<(), E> {
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let bad = |line: u64, reason: String| FileError::Line {
        file: file.shown.clone(),
        line,
        reason,
    };
    let head = reader.fill_buf().map_err(|source| FileError::Io {
        file: file.shown.clone(),
        source,
    })?;
    if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return read_json_array(file, reader, visit);
    }
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| FileError::Io {
                file: file.shown.clone(),
                source,
            })?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
            let hint = if line.last() != Some(&b'\n') {
                " (the last line is cut short: is the file complete?)"
            } else {
                ""
            };
            bad(number, format!("not JSON: {e}{hint}"))
        })?;
        let doc = match Bson::try_from(json) {
            Ok(Bson::Document(d)) => d,
            Ok(other) => {
                return Err(bad(
                    number,
                    format!(
                        "a document is expected, not {}",
                        crate::kind::type_name(&other)
                    ),
                )
                .into())
            }
            Err(e) => return Err(bad(number, format!("not Extended JSON: {e}")).into()),
        };
        visit(doc)?;
    }
}

/// `mongoexport --jsonArray` output: one JSON array of documents, read element by
/// element.
fn read_json_array<E: From<FileError>>(
    file: &DocumentFile,
    input: impl Read,
    visit: &mut dyn FnMut(Document) -> Result<(), E>,
) -> Result<(), E> {
    use serde::de::{Deserializer as _, Error as _, SeqAccess, Visitor};

    struct Elements<'v, E> {
        visit: &'v mut dyn FnMut(Document) -> Result<(), E>,
        /// The visitor's own error, or a document's, that stopped the reading.
        stopped: Option<Result<E, String>>,
    }

    impl<'de, E> Visitor<'de> for &mut Elements<'_, E> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of documents")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut n = 0u64;
            while let Some(json) = seq.next_element::<serde_json::Value>()? {
                n += 1;
                let doc = match Bson::try_from(json) {
                    Ok(Bson::Document(d)) => d,
                    Ok(other) => {
                        let why = format!(
                            "element {n}: a document is expected, not {}",
                            crate::kind::type_name(&other)
                        );
                        self.stopped = Some(Err(why.clone()));
                        return Err(A::Error::custom(why));
                    }
                    Err(e) => {
                        let why = format!("element {n}: not Extended JSON: {e}");
                        self.stopped = Some(Err(why.clone()));
                        return Err(A::Error::custom(why));
                    }
                };
                if let Err(e) = (self.visit)(doc) {
                    self.stopped = Some(Ok(e));
                    return Err(A::Error::custom("stopped"));
                }
            }
            Ok(())
        }
    }

    let mut elements = Elements {
        visit,
        stopped: None,
    };
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(256 * 1024, input));
    let result = de.deserialize_seq(&mut elements).and_then(|()| de.end());
    match (result, elements.stopped) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(Ok(e))) => Err(e),
        (Err(e), Some(Err(why))) => Err(FileError::Line {
            file: file.shown.clone(),
            line: e.line() as u64,
            reason: why,
        }
        .into()),
        (Err(e), None) => Err(FileError::Line {
            file: file.shown.clone(),
            line: e.line() as u64,
            reason: format!("not JSON: {e}"),
        }
        .into()),
    }
}

fn read_bson<E: From<FileError>>(
    file: &DocumentFile,
    input: impl Read,
    visit: &mut dyn FnMut(Document) -> Result<(), E>,
) -> Result<(), E> {
    let mut reader = BufReader::with_capacity(256 * 1024, input);
    let mut offset = 0u64;
    let mut number = 0u64;
    let mut buf = Vec::new();
    loop {
        number += 1;
        let bad = |reason: String| FileError::Document {
            file: file.shown.clone(),
            number,
            offset,
            reason,
        };
        let mut len = [0u8; 4];
        match read_full(&mut reader, &mut len).map_err(|source| FileError::Io {
            file: file.shown.clone(),
            source,
        })? {
            0 => return Ok(()),
            4 => {}
            _ => return Err(bad("the file ends inside a document: is it complete?".into()).into()),
        }
        let size = i32::from_le_bytes(len);
        if size < 5 || size as usize > MAX_DOCUMENT {
            return Err(bad(format!(
                "a document cannot be {size} bytes long: is this a .bson file from mongodump?"
            ))
            .into());
        }
        buf.clear();
        buf.extend_from_slice(&len);
        buf.resize(size as usize, 0);
        let got = read_full(&mut reader, &mut buf[4..]).map_err(|source| FileError::Io {
            file: file.shown.clone(),
            source,
        })?;
        if got < size as usize - 4 {
            return Err(bad("the file ends inside a document: is it complete?".into()).into());
        }
        let doc = bson::RawDocument::from_bytes(&buf)
            .map_err(|e| e.to_string())
            .and_then(|raw| Document::try_from(raw).map_err(|e| e.to_string()))
            .map_err(|e| bad(format!("not a BSON document: {e}")))?;
        visit(doc)?;
        offset += size as u64;
    }
}

/// How many documents a file holds, found without decoding them: JSON lines that
/// are not blank, a JSON array's elements, BSON documents by their lengths. The
/// input is read to its end. Counting stops quietly at content that is not
/// well-formed: reading the documents names the fault where the copy meets it.
pub fn count(file: &DocumentFile, input: impl Read) -> io::Result<u64> {
    let mut input = BufReader::with_capacity(256 * 1024, input);
    let n = if input.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        count_in(file.format, flate2::read::MultiGzDecoder::new(&mut input))
    } else {
        count_in(file.format, &mut input)
    };
    // What counting left unread, for whoever reads the bytes through `input`.
    io::copy(&mut input, &mut io::sink())?;
    Ok(n)
}

fn count_in(format: Format, input: impl Read) -> u64 {
    let mut r = BufReader::with_capacity(256 * 1024, input);
    let mut n = 0u64;
    match format {
        Format::Json => {
            let Ok(head) = r.fill_buf() else { return 0 };
            if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
                return count_array(r);
            }
            let mut line = Vec::new();
            while matches!(r.read_until(b'\n', &mut line), Ok(1..)) {
                n += u64::from(!line.trim_ascii().is_empty());
                line.clear();
            }
        }
        Format::Bson => loop {
            let mut len = [0u8; 4];
            if !matches!(read_full(&mut r, &mut len), Ok(4)) {
                break;
            }
            let size = i32::from_le_bytes(len);
            if size < 5 || size as usize > MAX_DOCUMENT {
                break;
            }
            let rest = size as u64 - 4;
            match io::copy(&mut r.by_ref().take(rest), &mut io::sink()) {
                Ok(got) if got == rest => n += 1,
                _ => break,
            }
        },
    }
    n
}

/// The elements of a JSON array, skipped over rather than decoded.
fn count_array(input: impl Read) -> u64 {
    use serde::de::{Deserializer as _, IgnoredAny, SeqAccess, Visitor};
    struct Count<'n>(&'n mut u64);
    impl<'de> Visitor<'de> for Count<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of documents")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {
                *self.0 += 1;
            }
            Ok(())
        }
    }
    let mut n = 0;
    let _ = serde_json::Deserializer::from_reader(input).deserialize_seq(Count(&mut n));
    n
}

/// Read until `buf` is full or the input ends; the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn file(format: Format) -> DocumentFile {
        DocumentFile {
            collection: "c".into(),
            path: "c".into(),
            shown: "c.json".into(),
            format,
        }
    }

    fn all(format: Format, bytes: &[u8]) -> Result<Vec<Document>, FileError> {
        let mut out = Vec::new();
        read(&file(format), bytes, &mut |d| {
            out.push(d);
            Ok::<(), FileError>(())
        })?;
        Ok(out)
    }

    #[test]
    fn relaxed_and_canonical_lines_read_alike() {
        let text = br#"{"_id":{"$oid":"5f0c3b1a9d1e8b0001a1b2c3"},"n":{"$numberLong":"5"},"d":{"$date":{"$numberLong":"-1000"}}}

{"_id":2,"p":{"$numberDecimal":"1.50"},"f":1.0}
"#;
        let docs = all(Format::Json, text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("n"), Some(&Bson::Int64(5)));
        assert_eq!(docs[1].get("f"), Some(&Bson::Double(1.0)));
    }

    #[test]
    fn documents_are_counted_as_they_are_read() {
        let count = |format, bytes: &[u8]| {
            let mut input = bytes;
            let n = super::count(&file(format), &mut input).unwrap();
            assert!(input.is_empty(), "counting reads every byte");
            n
        };
        let lines = b"{\"_id\":1}\n\n  \n{\"_id\":2}\n{\"_id\":3}";
        assert_eq!(count(Format::Json, lines), 3);
        assert_eq!(count(Format::Json, b"[{\"_id\":1},\n {\"a\":[1,{}]}]"), 2);
        let mut bson = Vec::new();
        for i in 0..4 {
            doc! {"_id": i, "s": "x".repeat(i as usize)}
                .to_writer(&mut bson)
                .unwrap();
        }
        assert_eq!(count(Format::Bson, &bson[..]), 4);
        assert_eq!(all(Format::Bson, &bson).unwrap().len(), 4);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bson).unwrap();
        assert_eq!(count(Format::Bson, &gz.finish().unwrap()[..]), 4);
        // A cut file counts its whole documents; the copy names the fault.
        assert_eq!(count(Format::Bson, &bson[..bson.len() - 3]), 3);
        assert_eq!(count(Format::Json, b"[{\"_id\":1}, {\"_id\""), 1);
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = all(Format::Json, b"{\"_id\":1}\n{\"_id\":2,\n").unwrap_err();
        assert!(
            err.to_string().starts_with("c.json line 2: not JSON"),
            "{err}"
        );
        let err = all(Format::Json, b"[{\"_id\":1},\n 5]\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "c.json line 2: element 2: a document is expected, not int"
        );
        let err = all(Format::Json, b"[{\"_id\":1},\n{\"_id\":\n").unwrap_err();
        assert!(
            err.to_string().starts_with("c.json line 3: not JSON"),
            "{err}"
        );
    }

    #[test]
    fn a_json_array_is_read_element_by_element() {
        let docs = all(
            Format::Json,
            b"[{\"_id\":1,\"n\":{\"$numberLong\":\"5\"}},\n{\"_id\":2}]",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("n"), Some(&Bson::Int64(5)));
        assert!(all(Format::Json, b"[]").unwrap().is_empty());
    }

    #[test]
    fn gzip_compressed_files_read_as_the_plain_ones() {
        use std::io::Write;
        let mut plain = Vec::new();
        for i in 0..3 {
            doc! {"_id": i}.to_writer(&mut plain).unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        let packed = gz.finish().unwrap();
        assert_eq!(
            all(Format::Bson, &packed).unwrap(),
            all(Format::Bson, &plain).unwrap()
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"_id\":1}\n").unwrap();
        assert_eq!(all(Format::Json, &gz.finish().unwrap()).unwrap().len(), 1);
    }

    #[test]
    fn bson_documents_follow_each_other_and_a_cut_one_is_named() {
        let mut bytes = Vec::new();
        for i in 0..3 {
            doc! {"_id": i, "s": "x"}.to_writer(&mut bytes).unwrap();
        }
        assert_eq!(all(Format::Bson, &bytes).unwrap().len(), 3);
        let err = all(Format::Bson, &bytes[..bytes.len() - 3]).unwrap_err();
        assert!(err.to_string().contains("document 3"), "{err}");
        assert!(err.to_string().contains("is it complete"), "{err}");
    }
}
