//! The parts of an assessment every source shares: a timed sample copy through the
//! real pipeline, and the score, complexity, risks and recommendations derived from
//! the conversion report.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pipeline::{
    copy, CopyError, CopyOptions, CopySummary, OnError, PartitionTiming, Resume, SampleLimits,
    Source,
};
use crate::progress::Progress;
use crate::report::{
    dir_size, AssessmentReport, Check, ConversionReport, Estimate, Invocation, ScoreBasis,
    Severity, TableAssessment, REPORT_VERSION, WHOLE_DATABASE,
};
use crate::schema::TableSchema;
use crate::sink::StoreSink;
use crate::store::{Store, StoreError, WRITE_BUFFER_BYTES};

// The variants carry their cause in their text, not as a `source`: a report of the
// error chain would otherwise say the cause twice.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error("cannot create a scratch store for the timed sample: {0}")]
    Scratch(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("timed sample: {0}")]
    Copy(CopyError),
}

impl From<std::io::Error> for AssessError {
    fn from(e: std::io::Error) -> Self {
        AssessError::Scratch(e)
    }
}

impl From<CopyError> for AssessError {
    fn from(e: CopyError) -> Self {
        AssessError::Copy(e)
    }
}

/// What the sample copy measured.
pub struct Sample {
    pub estimate: Estimate,
    pub rejected: u64,
}

/// How the timed sample is taken: as `migrate` would copy, for about `secs`.
#[derive(Debug, Clone)]
pub struct SampleSettings {
    pub secs: f64,
    /// Readers, as `migrate --parallel` runs them.
    pub parallel: usize,
    pub batch_size: usize,
    /// The migration's target: the scratch store is made beside it, so the sample
    /// writes to the disk the migration will.
    pub target: Option<PathBuf>,
    /// How long opening the source took (connecting, reading its catalog,
    /// converting): `migrate` takes it too.
    pub open_secs: f64,
}

impl Default for SampleSettings {
    fn default() -> Self {
        SampleSettings {
            secs: 5.0,
            parallel: crate::cli::default_parallel(),
            batch_size: crate::cli::DEFAULT_BATCH_SIZE,
            target: None,
            open_secs: 0.0,
        }
    }
}

/// The rows of each assessed table, by name: what a sample extrapolates to.
pub fn rows_by_table(tables: &[TableAssessment]) -> HashMap<String, u64> {
    tables.iter().map(|t| (t.table.clone(), t.rows)).collect()
}

/// Each table gets its turn: a partition is read for the sample's time shared
/// among the tables on the readers, but long enough to measure a rate.
fn limits(settings: &SampleSettings, tables: usize) -> SampleLimits {
    let total = settings.secs.max(0.1);
    let per = total * settings.parallel.max(1) as f64 / tables.max(1) as f64;
    SampleLimits {
        total: Duration::from_secs_f64(total),
        per_partition: Duration::from_secs_f64(per.clamp(total.min(0.5), total)),
    }
}

/// A scratch folder beside `target` (on its disk), else in the temporary folder.
pub fn scratch_dir(target: Option<&Path>) -> std::io::Result<tempfile::TempDir> {
    let parent = target
        .and_then(Path::parent)
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .filter(|p| p.is_dir());
    let mut b = tempfile::Builder::new();
    b.prefix(".lightning-sample-");
    match parent {
        Some(dir) => b.tempdir_in(dir),
        None => b.tempdir(),
    }
}

/// Copy through the real pipeline into a scratch store for about `settings.secs`
/// (each partition read for its share of it), and extrapolate the time and the
/// store's size to the rows each table holds (`table_rows`, by target name; a
/// table not named there is taken at its partitions' estimates).
pub fn timed_sample(
    source: &dyn Source,
    schemas: &[TableSchema],
    table_rows: &HashMap<String, u64>,
    settings: &SampleSettings,
) -> Result<Sample, AssessError> {
    let scratch = scratch_dir(settings.target.as_deref())?;
    let path = scratch.path().join("sample.ldb");
    let started = Instant::now();
    let store = Arc::new(Store::create_or_open(&path)?);
    let created = started.elapsed().as_secs_f64();
    let base_bytes = dir_size(&path)?;
    let base_tables = store.table_file_bytes();
    let parallel = settings.parallel.max(1);
    let summary = copy(
        source,
        schemas,
        &mut StoreSink::new(store.clone()),
        &CopyOptions {
            parallel,
            batch_size: settings.batch_size.max(1),
            on_error: OnError::Skip,
            resume: Resume::SameContent,
            sample: Some(limits(settings, schemas.len())),
        },
        None,
        &Progress::hidden(),
    )?;
    // A whole copy ends with its memory tables written out (`Store::flush`): so
    // does the sample, whose table files then hold all it wrote. The journal's
    // last file stays as it was (it is counted apart below).
    let flushing = Instant::now();
    store.flush()?;
    tracing::debug!(secs = flushing.elapsed().as_secs_f64(), "sample flushed");
    let sample_bytes = dir_size(&path)?;
    let table_bytes = store.table_disk_bytes();
    let sample_tables = store.table_file_bytes();
    for p in &summary.partitions {
        tracing::debug!(
            table = %p.table,
            index = p.index,
            read = p.read,
            records = p.records,
            first_record_secs = p.first_record_secs,
            secs = p.secs,
            finished = p.finished,
            "sampled partition"
        );
    }
    let model = extrapolate(&summary, table_rows, parallel);
    let store_bytes = if model.complete {
        sample_bytes
    } else {
        // Each table's files as the engine counts them (not those a compaction
        // has replaced and not yet removed), scaled with the table's rows: tables
        // compress differently, and the sample's mix of tables is not the copy's.
        // A table without partitions of its own (a document's child rows) scales
        // with the bytes read.
        let data: f64 = table_bytes
            .iter()
            .map(|(t, &n)| {
                let ratio = model.table_ratios.get(t).copied();
                n as f64 * ratio.unwrap_or(model.bytes_ratio)
            })
            .sum();
        // A table the sample read nothing of is sized by the rest's files over
        // the bytes they were read as.
        let read_bytes: u64 = summary.partitions.iter().map(|p| p.bytes).sum();
        let unsampled = if read_bytes > 0 {
            model.unsampled_bytes * table_bytes.values().sum::<u64>() as f64 / read_bytes as f64
        } else {
            0.0
        };
        let data = data + unsampled;
        // What goes through the journal (rows not bulk-loaded) is left in its
        // last file, which holds up to the write buffer. The sample may load a
        // table's rows in bulk where the copy writes more after them: the rows of
        // a table whose keys came far out of order, or whose partitions interleave
        // (the sample reads one), fall among those and take the journal too, at
        // least the bytes they add to the table.
        let journal = (sample_bytes.saturating_sub(sample_tables))
            .saturating_sub(base_bytes.saturating_sub(base_tables)) as f64;
        let mut scattered = store.scattered_tables();
        if source.partitions_interleave() {
            scattered.extend(interleaved_tables(&summary));
        }
        let later: f64 = table_bytes
            .iter()
            .filter(|(t, _)| scattered.contains(*t))
            .map(|(t, &n)| {
                let ratio = model.table_ratios.get(t).copied();
                n as f64 * (ratio.unwrap_or(model.bytes_ratio) - 1.0).max(0.0)
            })
            .sum();
        let journal = (journal * model.bytes_ratio)
            .max(later)
            .min(WRITE_BUFFER_BYTES as f64);
        tracing::debug!(tables = ?table_bytes, ratios = ?model.table_ratios, ?scattered, unsampled, journal, "sampled store");
        base_bytes + (data + journal).round() as u64
    };
    // `migrate` opens the source, sizes its store with a short sample (unless told
    // not to), then creates the store, plans and copies.
    let startup = settings.open_secs + created + summary.planning_secs;
    // The size sample reads its first partition from its first record on.
    let first_record = summary
        .partitions
        .iter()
        .filter(|p| p.read)
        .min_by_key(|p| p.index)
        .map_or(0.0, |p| p.first_record_secs);
    let space_check =
        created + summary.planning_secs + model.secs.min(first_record + STORE_SIZE_SAMPLE_SECS);
    let estimated_secs = startup + space_check + model.secs;
    let sampled: u64 = summary.partitions.iter().map(|p| p.records).sum();
    let copying = model.secs.max(1e-6);
    Ok(Sample {
        estimate: Estimate {
            sampled_rows: sampled,
            sampled_secs: summary.elapsed_secs,
            // The tables' counts where they are more than the partitions cover
            // (one reading of a file feeding every table).
            rows_per_sec: model.rows.max(table_rows.values().sum()) as f64 / copying,
            estimated_secs,
            parallel,
            startup_secs: startup,
            store_bytes,
            complete: model.complete,
        },
        rejected: summary.rows_rejected,
    })
}

/// What a store of the tables `source` reads will take on disk, from a short
/// sample copied beside `target`: the check a migration makes before it writes.
pub fn store_size(
    source: &dyn Source,
    schemas: &[TableSchema],
    target: &Path,
    parallel: usize,
) -> Result<u64, AssessError> {
    let settings = SampleSettings {
        secs: STORE_SIZE_SAMPLE_SECS,
        parallel,
        target: Some(target.to_path_buf()),
        ..SampleSettings::default()
    };
    // The tests' fault points aim at the copy that follows.
    let _quiet = crate::fault::quiet();
    Ok(timed_sample(source, schemas, &HashMap::new(), &settings)?
        .estimate
        .store_bytes)
}

/// Tables the copy reads in more than one partition.
fn interleaved_tables(summary: &CopySummary) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut more = HashSet::new();
    for p in &summary.partitions {
        if !seen.insert(&*p.table) {
            more.insert(p.table.to_string());
        }
    }
    more
}

/// How long `migrate` samples its copy to size the store: bytes per row settle
/// long before a rate does.
const STORE_SIZE_SAMPLE_SECS: f64 = 0.2;

/// The whole copy, extrapolated from its sample.
#[derive(Debug, PartialEq)]
struct Extrapolated {
    /// From the readers' start to the copy's end.
    secs: f64,
    rows: u64,
    /// The whole copy's bytes over the sample's (as rows are held in memory).
    bytes_ratio: f64,
    /// Per table read in the sample: its estimated rows over the rows read.
    table_ratios: HashMap<String, f64>,
    /// Bytes (as rows are held in memory) of the tables the sample read none of.
    unsampled_bytes: f64,
    complete: bool,
}

/// Rows per second of reading, and the mean time to a first record, of the
/// partitions given (those that read a record). The rate is each partition's,
/// weighted by the records it read: a partition cut short after a few records
/// (by a stall of the writer, say) says little about the rest.
fn pace<'a>(parts: impl Iterator<Item = &'a PartitionTiming>) -> Option<(f64, f64)> {
    let (mut records, mut weighted, mut first, mut n) = (0u64, 0.0f64, 0.0f64, 0usize);
    for p in parts.filter(|p| p.rows > 0) {
        let reading = (p.secs - p.first_record_secs).max(1e-3);
        records += p.rows;
        weighted += p.rows as f64 * (p.rows as f64 / reading);
        first += p.first_record_secs;
        n += 1;
    }
    (n > 0).then(|| (weighted / records as f64, first / n as f64))
}

/// Each partition cut short (or never started) takes its time to a first record,
/// then its rows at its table's pace (or the whole sample's); the partitions are
/// laid out on `parallel` readers in the order
/// a whole copy takes them; the writer's lag after the last read is added as
/// measured.
fn extrapolate(
    summary: &CopySummary,
    table_rows: &HashMap<String, u64>,
    parallel: usize,
) -> Extrapolated {
    let parts = &summary.partitions;
    let copying = (summary.elapsed_secs - summary.planning_secs).max(0.0);
    let read: u64 = parts.iter().map(|p| p.rows).sum();
    if parts.iter().all(|p| p.finished) {
        return Extrapolated {
            secs: copying,
            rows: read,
            bytes_ratio: 1.0,
            table_ratios: HashMap::new(),
            unsampled_bytes: 0.0,
            complete: true,
        };
    }
    let overall = pace(parts.iter());
    // Per table: estimated rows of its partitions, its own rows read, partitions,
    // pace and bytes read. Rows, not records: a key or a document may make several
    // rows of its table, and the table's count is of rows.
    struct Table {
        estimated: u64,
        rows: u64,
        partitions: usize,
        pace: Option<(f64, f64)>,
        bytes: u64,
    }
    let mut tables: HashMap<&str, Table> = HashMap::new();
    for p in parts {
        let t = tables.entry(&p.table).or_insert_with(|| Table {
            estimated: 0,
            rows: 0,
            partitions: 0,
            pace: pace(parts.iter().filter(|q| q.table == p.table)),
            bytes: 0,
        });
        t.estimated += p.estimated_rows;
        t.rows += p.rows;
        t.partitions += 1;
        t.bytes += p.bytes;
    }
    let mut order: Vec<&PartitionTiming> = parts.iter().collect();
    order.sort_by_key(|p| p.index);
    let mut readers = vec![0.0f64; parallel.max(1)];
    let (mut rows, mut bytes_all, mut unsampled) = (0.0f64, 0.0f64, 0.0f64);
    let mut table_rows_all: HashMap<&str, f64> = HashMap::new();
    for p in order {
        let t = &tables[&*p.table];
        // A count of 0 is no count (a file read with a given mapping is not
        // counted): the partitions' estimates stand in.
        let total = table_rows
            .get(&*p.table)
            .copied()
            .filter(|&n| n > 0)
            .unwrap_or(t.estimated)
            .max(t.rows) as f64;
        // The table's rows shared as the partitions' estimates share them.
        let share = if t.estimated > 0 {
            total * p.estimated_rows as f64 / t.estimated as f64
        } else {
            total / t.partitions as f64
        }
        .max(p.rows as f64);
        let secs = if p.finished {
            p.secs
        } else {
            match t.pace.or(overall) {
                Some((rate, first)) if rate > 0.0 => {
                    // A partition that was read has its own time to a first record.
                    let first = if p.rows > 0 {
                        p.first_record_secs
                    } else {
                        first
                    };
                    first + share / rate
                }
                _ => p.secs,
            }
        };
        let width = if t.rows > 0 {
            t.bytes as f64 / t.rows as f64
        } else if read > 0 {
            parts.iter().map(|q| q.bytes).sum::<u64>() as f64 / read as f64
        } else {
            0.0
        };
        rows += share;
        bytes_all += share * width;
        if t.rows == 0 {
            unsampled += share * width;
        }
        *table_rows_all.entry(&p.table).or_default() += share;
        let free = readers
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("a reader");
        *free += secs;
    }
    let last_read = parts
        .iter()
        .filter(|p| p.read)
        .map(|p| p.start_secs + p.secs)
        .fold(summary.planning_secs, f64::max);
    let lag = (summary.elapsed_secs - last_read).max(0.0);
    let wall = readers.iter().copied().fold(0.0, f64::max);
    let sampled_bytes: u64 = parts.iter().map(|p| p.bytes).sum();
    Extrapolated {
        secs: wall + lag,
        rows: rows.round() as u64,
        bytes_ratio: if sampled_bytes > 0 {
            bytes_all / sampled_bytes as f64
        } else {
            1.0
        },
        table_ratios: table_rows_all
            .into_iter()
            .filter_map(|(t, all)| {
                let read = tables[t].rows;
                (read > 0).then(|| (t.to_string(), all / read as f64))
            })
            .collect(),
        unsampled_bytes: unsampled,
        complete: false,
    }
}

/// Everything a tool knows when it builds its assessment.
pub struct Assessment<'a> {
    pub tool: &'a str,
    pub source: &'a str,
    pub database_size_bytes: u64,
    pub tables: Vec<TableAssessment>,
    pub schemas: &'a [TableSchema],
    pub conversion: ConversionReport,
    pub sample: Sample,
    /// Source-specific advice, after the shared recommendations.
    pub recommendations: Vec<String>,
    /// The source's checks (connectivity, privileges, settings); the target's free
    /// space is added to them.
    pub checks: Vec<Check>,
    pub target: Option<&'a Path>,
}

impl Assessment<'_> {
    pub fn report(self) -> AssessmentReport {
        let c = &self.conversion;
        let rows_total: u64 = self.tables.iter().map(|t| t.rows).sum();
        let (score, complexity) = score_and_complexity(c, self.schemas, rows_total);
        let score_basis = score_basis(c, self.schemas);
        let manual = c.count(Severity::Manual);
        let mut risks: Vec<String> = c
            .findings
            .iter()
            .filter(|f| matches!(f.severity, Severity::Loss | Severity::Warning))
            .map(|f| format!("{}: {}", f.object, f.message))
            .collect();
        let mut recs = Vec::new();
        let sampled = self.sample.estimate.sampled_rows;
        if self.sample.rejected > 0 {
            risks.push(format!(
                "{} of {sampled} sampled rows cannot be converted as mapped",
                self.sample.rejected
            ));
            recs.push("Add --cast rules for the columns named in the findings, or migrate with --on-error skip and review the reject file.".into());
        }
        if manual > 0 {
            recs.push(format!(
                "Recreate the {manual} objects marked as manual work after the migration (their definitions are in this report)."
            ));
        }
        recs.push(format!(
            "Review the schema with `{} convert-schema` before migrating.",
            self.tool
        ));
        recs.push("Run `migrate --verify` so the run ends with a checksum comparison.".into());
        recs.extend(self.recommendations);
        let mut checks = self.checks;
        if let Some(target) = self.target {
            checks.push(crate::space::check(
                target,
                self.sample.estimate.store_bytes,
            ));
        }
        AssessmentReport {
            kind: "assessment",
            version: REPORT_VERSION,
            tool: self.tool.into(),
            source: self.source.into(),
            generated_at: crate::store::now_rfc3339(),
            invocation: Invocation::current(),
            database_size_bytes: self.database_size_bytes,
            tables: self.tables,
            findings: self.conversion.findings,
            compatibility_score: score,
            score_basis,
            complexity: complexity.into(),
            risks,
            recommendations: recs,
            checks,
            estimate: self.sample.estimate,
        }
    }
}

/// Findings of one severity, split into those about objects of the schema and those
/// about the database as a whole (object [`WHOLE_DATABASE`]).
fn counts(c: &ConversionReport, s: Severity) -> (usize, usize) {
    let of = |whole: bool| {
        c.findings
            .iter()
            .filter(|f| f.severity == s && (f.object == WHOLE_DATABASE) == whole)
            .count()
    };
    (of(false), of(true))
}

/// What the compatibility score is computed from, and the computation written out.
pub fn score_basis(c: &ConversionReport, schemas: &[TableSchema]) -> ScoreBasis {
    let (manual, database_manual) = counts(c, Severity::Manual);
    let (loss, database_loss) = counts(c, Severity::Loss);
    let (warnings, database_warnings) = counts(c, Severity::Warning);
    let columns = schemas.iter().map(|t| t.columns.len()).sum();
    let indexes = schemas.iter().map(|t| t.indexes.len()).sum();
    let objects = schemas.len() + columns + indexes + manual;
    let issues = (manual + database_manual + loss + database_loss) as f64
        + (warnings + database_warnings) as f64 * 0.5;
    let mut b = ScoreBasis {
        tables: schemas.len(),
        columns,
        indexes,
        manual,
        loss,
        warnings,
        database_manual,
        database_loss,
        database_warnings,
        objects,
        issues,
        formula: String::new(),
    };
    b.formula = if objects == 0 {
        "100 (nothing to convert)".into()
    } else {
        format!(
            "round(100 × (1 − {issues} / {objects})) = {}",
            score_of(&b).round()
        )
    };
    b
}

fn score_of(b: &ScoreBasis) -> f64 {
    if b.objects == 0 {
        100.0
    } else {
        (100.0 * (1.0 - b.issues / b.objects as f64)).clamp(0.0, 100.0)
    }
}

/// The compatibility score (0-100) and the complexity (`low`, `medium`, `high`),
/// computed the same way for every source (docs/reports.md says how).
///
/// A finding about the database as a whole (a default collation, say) is one
/// decision for the whole migration: it lowers the score once, and leaves the
/// complexity alone, which measures how much of the schema needs work. So the same
/// schema gets the same complexity whichever database it comes from.
pub fn score_and_complexity(
    c: &ConversionReport,
    schemas: &[TableSchema],
    rows_total: u64,
) -> (u32, &'static str) {
    let b = score_basis(c, schemas);
    let (manual, loss, warnings) = (b.manual, b.loss, b.warnings);
    let score = score_of(&b);
    let complexity = if manual > 5 || loss > 5 || rows_total > 100_000_000 {
        "high"
    } else if manual > 0 || loss > 0 || warnings > 0 || schemas.len() > 50 {
        "medium"
    } else {
        "low"
    };
    (score.round() as u32, complexity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Finding;
    use crate::schema::ColumnSchema;
    use crate::LightningType;

    fn schemas(n: usize) -> Vec<TableSchema> {
        (0..n)
            .map(|i| {
                let mut t = TableSchema::new(format!("t{i}"));
                t.columns
                    .push(ColumnSchema::new("id", LightningType::Integer));
                t.columns
                    .push(ColumnSchema::new("name", LightningType::Text));
                t
            })
            .collect()
    }

    fn part(index: usize, records: u64, first: f64, secs: f64, finished: bool) -> PartitionTiming {
        PartitionTiming {
            table: "t".into(),
            estimated_rows: 1000,
            index,
            read: secs > 0.0,
            start_secs: [0.1, 1.1, 0.0, 0.0][index],
            records,
            rows: records,
            bytes: records * 10,
            first_record_secs: first,
            secs,
            finished,
        }
    }

    #[test]
    fn a_cut_sample_is_extrapolated_partition_by_partition_on_the_readers() {
        // One partition read whole, one cut half way, two never started.
        let summary = CopySummary {
            elapsed_secs: 2.0,
            planning_secs: 0.1,
            partitions: vec![
                part(0, 1000, 0.1, 1.0, true),
                part(1, 500, 0.05, 0.55, false),
                part(2, 0, 0.0, 0.0, false),
                part(3, 0, 0.0, 0.0, false),
            ],
            ..CopySummary::default()
        };
        let rows = HashMap::from([("t".to_string(), 4000)]);
        // The table's pace: 1,000 rows in 0.9 s and 500 in 0.5 s of reading,
        // weighted by rows; 0.075 s to a first row on average.
        let pace = (1000.0 * (1000.0 / 0.9) + 500.0 * (500.0 / 0.5)) / 1500.0;
        let cut = 0.05 + 1000.0 / pace;
        let unread = 0.075 + 1000.0 / pace;
        let lag = 2.0 - (1.1 + 0.55);
        let one = extrapolate(&summary, &rows, 1);
        assert!(!one.complete);
        assert_eq!(one.rows, 4000);
        let want = 1.0 + cut + 2.0 * unread + lag;
        assert!((one.secs - want).abs() < 1e-9, "{} != {want}", one.secs);
        assert!((one.bytes_ratio - 40_000.0 / 15_000.0).abs() < 1e-9);
        // The table's files scale with its rows: 4,000 over the 1,500 read.
        assert!((one.table_ratios["t"] - 4000.0 / 1500.0).abs() < 1e-9);
        // Two readers take the partitions in the plan's order as each comes free.
        let two = extrapolate(&summary, &rows, 2);
        let want = 1.0_f64.max(cut) + unread + lag;
        assert!((two.secs - want).abs() < 1e-9, "{} != {want}", two.secs);
        // A table holding more rows than its partitions' estimates takes longer.
        let more = extrapolate(&summary, &HashMap::from([("t".to_string(), 8000)]), 1);
        // (the partition read to its end keeps its time: it held what it held)
        assert!(more.secs > one.secs * 1.6, "{} vs {}", more.secs, one.secs);
    }

    #[test]
    fn a_table_the_sample_never_reached_is_sized_by_the_others() {
        let mut unread = part(2, 0, 0.0, 0.0, false);
        unread.table = "u".into();
        let summary = CopySummary {
            elapsed_secs: 2.0,
            planning_secs: 0.1,
            partitions: vec![
                part(0, 1000, 0.1, 1.0, true),
                part(1, 500, 0.05, 0.55, false),
                unread,
            ],
            ..CopySummary::default()
        };
        let rows = HashMap::from([("t".to_string(), 4000), ("u".to_string(), 3000)]);
        let e = extrapolate(&summary, &rows, 1);
        // Its 3,000 rows at the bytes per row of what was read (10).
        assert!(
            (e.unsampled_bytes - 30_000.0).abs() < 1e-9,
            "{}",
            e.unsampled_bytes
        );
        assert!(!e.table_ratios.contains_key("u"));
        assert_eq!(
            extrapolate(&summary, &HashMap::from([("t".to_string(), 4000)]), 1).unsampled_bytes,
            10_000.0
        );
    }

    #[test]
    fn a_sample_that_read_everything_is_the_measurement() {
        let summary = CopySummary {
            elapsed_secs: 1.5,
            planning_secs: 0.2,
            partitions: vec![part(0, 1000, 0.1, 1.0, true)],
            ..CopySummary::default()
        };
        let e = extrapolate(&summary, &HashMap::new(), 4);
        assert!(e.complete);
        assert_eq!(e.rows, 1000);
        assert!((e.secs - 1.3).abs() < 1e-9);
    }

    #[test]
    fn a_finding_about_the_whole_database_lowers_the_score_but_not_the_complexity() {
        let tables = schemas(8);
        let mut c = ConversionReport::new("tool", "src");
        assert_eq!(score_and_complexity(&c, &tables, 10), (100, "low"));
        c.findings.push(Finding::new(
            Severity::Loss,
            WHOLE_DATABASE,
            "case-insensitive default collation",
        ));
        // 8 tables × 3 objects = 24; one issue.
        assert_eq!(score_and_complexity(&c, &tables, 10), (96, "low"));
        let b = score_basis(&c, &tables);
        assert_eq!((b.objects, b.issues, b.database_loss), (24, 1.0, 1));
        assert_eq!(b.formula, "round(100 × (1 − 1 / 24)) = 96");
        // The same loss on each table: medium at once, high past five.
        let mut per_table = ConversionReport::new("tool", "src");
        for t in &tables {
            per_table
                .findings
                .push(Finding::new(Severity::Loss, &t.name, "collation"));
        }
        assert_eq!(score_and_complexity(&per_table, &tables, 10).1, "high");
        per_table.findings.truncate(1);
        assert_eq!(score_and_complexity(&per_table, &tables, 10).1, "medium");
    }
}
