//! The reject file: one JSON line per row set aside by `--on-error skip`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Map};

use crate::schema::TableSchema;
use crate::store::RejectedRow;

/// `STORE.rejects.jsonl`, beside the store folder.
pub fn default_path(store: &Path) -> PathBuf {
    let mut name = store
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "lightning".into());
    name.push(".rejects.jsonl");
    store.with_file_name(name)
}

pub struct RejectLog {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    pub count: u64,
}

impl RejectLog {
    /// The file is created when the first row is rejected (and appended to on resume).
    pub fn new(path: impl AsRef<Path>) -> Self {
        RejectLog {
            path: path.as_ref().to_path_buf(),
            out: None,
            count: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, r: &RejectedRow, schema: Option<&TableSchema>) -> std::io::Result<()> {
        if self.out.is_none() {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            // The rows come from an access-controlled database: owner only.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let f = options.open(&self.path)?;
            self.out = Some(BufWriter::new(f));
        }
        let row: serde_json::Value = match schema {
            Some(s) if s.columns.len() == r.row.len() => {
                let m: Map<String, serde_json::Value> = s
                    .columns
                    .iter()
                    .zip(&r.row)
                    .map(|(c, v)| (c.name.clone(), v.to_json()))
                    .collect();
                m.into()
            }
            _ => r.row.iter().map(|v| v.to_json()).collect::<Vec<_>>().into(),
        };
        let line = json!({ "table": r.table, "key": r.key, "reason": r.reason, "row": row });
        let out = self.out.as_mut().expect("opened above");
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
        // Rejects are rare: each line goes out at once, so none waits in a buffer
        // while the batch that set it aside commits.
        out.flush()?;
        self.count += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Some(o) => o.flush(),
            None => Ok(()),
        }
    }
}
