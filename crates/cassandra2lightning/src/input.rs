//! The export opened for a command: the schema read and converted, each selected
//! table's files found and counted, and the rows read through `CsvSource`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use lightning_core::assess::SampleSettings;
use lightning_core::cli::{PlainReader, SourceReader};
use lightning_core::fingerprint::HashingReader;
use lightning_core::report::{AssessmentReport, ConversionReport, Finding, Severity};
use lightning_core::tool::{
    CatalogTable, Converted, OpenRequest, OpenedSource, Purpose, ReadRequest, SourceTool,
};
use lightning_core::TableSchema;

use crate::convert::{self, SourceTable};
use crate::cql::schema::{self, Schema};
use crate::csvfile::{EscapeDetector, Escapes, Records};
use crate::source::{CsvSource, DataFile, TableData};
use crate::{Cassandra, Options};

struct Opened {
    content_id: String,
    schema: Arc<Schema>,
    tables: Vec<TableData>,
    null: Option<String>,
    delimiter: u8,
    converted: Converted,
}

pub fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
    let shown = options.schema.display().to_string();
    let mut hashing = HashingReader::new(
        File::open(&options.schema)
            .with_context(|| format!("cannot open the schema file {shown}"))?,
    );
    let mut text = String::new();
    hashing
        .read_to_string(&mut text)
        .with_context(|| format!("reading {shown} (it must be UTF-8 text, as cqlsh prints it)"))?;
    let parsed = schema::parse(&text).with_context(|| format!("reading {shown}"))?;
    if parsed.tables.is_empty() {
        bail!("{shown} creates no table: it should hold the output of `cqlsh -e \"DESCRIBE KEYSPACE ks\"`");
    }
    let delimiter = u8::try_from(options.delimiter)
        .ok()
        .filter(|d| d.is_ascii() && !matches!(d, b'"' | b'\\' | b'\n' | b'\r'))
        .with_context(|| format!("--delimiter `{}` is not one ASCII character other than a quote, `\\` or a line end", options.delimiter))?;
    let null = (!options.null.is_empty()).then(|| options.null.clone());
    let filter = request.filter;
    let catalog = parsed
        .tables
        .iter()
        .map(|t| {
            let name = convert::lightning_name(&parsed, t);
            CatalogTable {
                target: filter.target_name(&name, &t.qualified()),
                source_name: t.qualified(),
                columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                name,
            }
        })
        .collect();
    let mut conversion = ConversionReport::new(Cassandra::NAME, &shown);
    let mut selected = convert::convert(
        &parsed,
        request.rules,
        &|t| filter.selects(t),
        &mut conversion,
    )?;
    for t in &mut selected {
        let name = t.schema.name.clone();
        t.schema.name = filter.target_name(&name, &t.qualified);
    }
    let texts = selected
        .iter()
        .flat_map(|t| t.types.iter())
        .any(|ty| matches!(ty.rule_name(), "text" | "ascii" | "varchar"));
    if texts && null.is_none() {
        conversion.findings.push(Finding::new(
            Severity::Loss,
            "text columns",
            "COPY TO writes an empty string and a null alike (an empty field) unless it was given NULL = '...': every empty field is read as NULL. Export again with NULL = '<null>' and give --null '<null>' to keep empty strings",
        ));
    }
    let mut parts = vec![format!("schema={}", hashing.content_id())];
    let mut tables = Vec::new();
    match &options.data {
        Some(dir) => {
            for t in selected {
                let files = data_files(dir, &t)?;
                let mut found = Vec::new();
                for path in files {
                    let (file, id) = first_pass(&path, &t, delimiter)?;
                    parts.push(format!("{}={id}", t.qualified));
                    let missing: Vec<&str> = (0..t.source_columns.len())
                        .filter(|i| !file.slots.contains(i))
                        .map(|i| t.source_columns[i].as_str())
                        .collect();
                    if !missing.is_empty() {
                        conversion.findings.push(Finding::new(
                            Severity::Warning,
                            &t.schema.name,
                            format!(
                                "{} has no column {} (COPY TO was given a column list): NULL in Lightning; export them too to carry them",
                                path.display(),
                                missing.join(", ")
                            ),
                        ));
                    }
                    found.push(file);
                }
                tables.push(TableData {
                    table: t,
                    files: found,
                });
            }
        }
        None if matches!(request.purpose, Purpose::Assess | Purpose::ConvertSchema) => {
            tables = selected
                .into_iter()
                .map(|table| TableData {
                    table,
                    files: Vec::new(),
                })
                .collect();
        }
        None => bail!("give the folder of the tables' COPY TO files with --data DIR"),
    }
    parts.push(format!(
        "null={:?};delimiter={}",
        options.null, options.delimiter
    ));
    let description = match &options.data {
        Some(d) => format!("{shown} with the files in {}", d.display()),
        None => shown.clone(),
    };
    Ok(Box::new(Opened {
        content_id: parts.join(";"),
        schema: Arc::new(parsed),
        tables,
        null,
        delimiter,
        converted: Converted {
            description,
            catalog,
            conversion,
        },
    }))
}

/// A table's files in `dir`: `TABLE.csv` or `KEYSPACE.TABLE.csv`, then the parts
/// COPY TO's MAXOUTPUTSIZE split off (`.csv.1`, `.csv.2`, ...).
fn data_files(dir: &Path, t: &SourceTable) -> anyhow::Result<Vec<PathBuf>> {
    let table = t.qualified.rsplit('.').next().unwrap_or(&t.qualified);
    // The keyspace's name first: two keyspaces may have tables of one name.
    let names = [format!("{}.csv", t.qualified), format!("{table}.csv")];
    let Some(first) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) else {
        bail!(
            "no data file for {q} in {d}: expected {d}/{a} or {d}/{b}, as `COPY {q} TO '{d}/{a}' WITH HEADER = true` writes it; leave the table out with --exclude",
            q = t.qualified,
            d = dir.display(),
            a = names[1],
            b = names[0]
        );
    };
    let mut files = vec![first.clone()];
    for n in 1.. {
        let part = PathBuf::from(format!("{}.{n}", first.display()));
        if !part.is_file() {
            break;
        }
        files.push(part);
    }
    Ok(files)
}

/// Bytes passing through, hashed, with how the file's escapes were written.
struct Watching<R> {
    inner: HashingReader<R>,
    escapes: EscapeDetector,
}

impl<R: Read> Read for Watching<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.escapes.feed(&buf[..n]);
        Ok(n)
    }
}

/// Read a file once: its hash, its escapes, its header and its rows.
fn first_pass(path: &Path, t: &SourceTable, delimiter: u8) -> anyhow::Result<(DataFile, String)> {
    let shown = path.display();
    let file = File::open(path).with_context(|| format!("cannot open {shown}"))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut watching = Watching {
        inner: HashingReader::new(file),
        escapes: EscapeDetector::default(),
    };
    let mut records = Records::new(
        BufReader::with_capacity(1 << 20, &mut watching),
        delimiter,
        Escapes::Doubled,
        0,
        1,
    );
    let first = records
        .next_record()
        .with_context(|| format!("reading {shown}"))?;
    let (slots, data_offset, data_line) = match &first {
        Some(rec) if is_header(&rec.fields, t) => (
            rec.fields
                .iter()
                .map(|f| t.source_columns.iter().position(|c| c == f).unwrap_or(0))
                .collect(),
            records.offset(),
            records.line(),
        ),
        Some(rec) if rec.fields.len() == t.source_columns.len() => {
            (copy_order(t), 0, 1)
        }
        Some(rec) => bail!(
            "{shown}: line 1 has {} fields and is not a header naming {}'s columns: export it again WITH HEADER = true (or give --delimiter when it is not `,`)",
            rec.fields.len(),
            t.qualified
        ),
        None => (copy_order(t), 0, 1),
    };
    let mut rows = u64::from(data_offset == 0 && first.is_some());
    while records
        .next_record()
        .with_context(|| format!("reading {shown}"))?
        .is_some()
    {
        rows += 1;
    }
    drop(records);
    let escapes = watching.escapes.escapes();
    Ok((
        DataFile {
            path: path.to_path_buf(),
            escapes,
            rows,
            bytes,
            data_offset,
            data_line,
            slots,
        },
        watching.inner.content_id(),
    ))
}

/// A header names columns of the table, each once, the key columns among them
/// (`COPY t (a, b) TO` writes some columns only).
fn is_header(fields: &[String], t: &SourceTable) -> bool {
    let keys = &t.source_columns[..t.schema.primary_key.len()];
    fields.iter().all(|f| t.source_columns.contains(f))
        && keys.iter().all(|k| fields.contains(k))
        && fields
            .iter()
            .enumerate()
            .all(|(i, f)| !fields[..i].contains(f))
}

/// COPY TO's column order without a header: the partition key, the clustering
/// columns, then the others by name (the driver's order).
fn copy_order(t: &SourceTable) -> Vec<usize> {
    let keys = t.schema.primary_key.len();
    let mut rest: Vec<usize> = (keys..t.source_columns.len()).collect();
    rest.sort_by(|&a, &b| {
        t.source_columns[a]
            .as_bytes()
            .cmp(t.source_columns[b].as_bytes())
    });
    (0..keys).chain(rest).collect()
}

impl Opened {
    fn source(self) -> CsvSource {
        CsvSource::new(
            self.content_id,
            self.schema,
            self.tables,
            self.null,
            self.delimiter,
        )
    }
}

impl OpenedSource for Opened {
    fn converted(&self) -> &Converted {
        &self.converted
    }

    fn tables(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|t| t.table.schema.clone()).collect()
    }

    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
        let me = *self;
        let description = me.converted.description.clone();
        let conversion = me.converted.conversion.clone();
        crate::assess::assess(&description, me.source(), conversion, sample)
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        if !request.where_.is_empty() {
            bail!("COPY TO files are read whole: --where is for sources that can filter rows");
        }
        let source = self.source();
        let schemas = source.schemas();
        Ok(Box::new(PlainReader::new(source, schemas)))
    }
}
