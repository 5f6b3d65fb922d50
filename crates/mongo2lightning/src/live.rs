//! A live MongoDB database: its collections, samples, sizes, indexes, and
//! documents read in `_id` order.

use lightning_core::secret::hide_password;
use std::time::Duration;

use anyhow::{bail, Context};
use bson::{doc, Bson, Document, Timestamp};
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, ConnectionString, HostInfo, Tls};
use mongodb::sync::{Client, Database};

use crate::infer::CollectionStats;

/// A collection of another type than a plain one: its name, type and options.
pub struct NotCopied {
    pub name: String,
    pub kind: String,
    pub definition: String,
}

pub struct Live {
    client: Client,
    db: Database,
    /// `mongodb://host:port/db`: the URL without credentials or options.
    pub description: String,
}

/// How long finding a server may take before the run gives up on it.
const SELECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Give the credential the password of `--password-file` when the URL has none.
/// The user, the database to authenticate against and the mechanism stay the URL's.
pub fn set_password(options: &mut ClientOptions, password: Option<&str>) -> anyhow::Result<()> {
    let Some(password) = password else {
        return Ok(());
    };
    match options.credential.as_mut() {
        Some(c) if c.password.is_some() => {
            tracing::warn!("the --source URL has a password: --password-file is not read");
        }
        Some(c) if c.username.is_some() => c.password = Some(password.to_string()),
        _ => bail!(
            "--password-file needs the user to log in as: name it in the --source URL \
             (mongodb://USER@host:27017/database)"
        ),
    }
    Ok(())
}

impl Live {
    /// `password`: `--password-file`'s, for the URL's user.
    pub fn connect(url: &str, password: Option<&str>) -> anyhow::Result<Live> {
        let parsed = ConnectionString::parse(url)
            .map_err(|e| anyhow::anyhow!("{}", hide_password(&DriverError(e).to_string(), url, password)))
            .context("the --source URL is not a MongoDB connection string (mongodb://host:port/database)")?;
        let db_name = parsed.default_database.clone();
        let hosts = match &parsed.host_info {
            HostInfo::HostIdentifiers(h) => h
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(","),
            HostInfo::DnsRecord(name) => name.clone(),
            _ => "?".into(),
        };
        let scheme = if matches!(parsed.host_info, HostInfo::DnsRecord(_)) {
            "mongodb+srv"
        } else {
            "mongodb"
        };
        let mut options = ClientOptions::parse(url).run().map_err(|e| {
            anyhow::anyhow!(
                "{}",
                hide_password(&DriverError(e).to_string(), url, password)
            )
        })?;
        set_password(&mut options, password)?;
        let tls = matches!(options.tls, Some(Tls::Enabled(_)));
        options
            .server_selection_timeout
            .get_or_insert(SELECT_TIMEOUT);
        options.connect_timeout.get_or_insert(SELECT_TIMEOUT);
        options
            .app_name
            .get_or_insert_with(|| "mongo2lightning".into());
        let client = Client::with_options(options).map_err(DriverError)?;
        let Some(db_name) = db_name else {
            // Say which databases there are, when the server tells.
            let names = client
                .list_database_names()
                .run()
                .map(|n| {
                    n.into_iter()
                        .filter(|d| !["admin", "local", "config"].contains(&d.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            bail!(
                "name the database in the --source URL: {scheme}://{hosts}/DATABASE{}",
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" (this server has: {names})")
                }
            );
        };
        let description = format!("{scheme}://{hosts}/{db_name}");
        let db = client.database(&db_name);
        db.run_command(doc! {"ping": 1})
            .run()
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}",
                    hide_password(&DriverError(e).to_string(), url, password)
                )
            })
            .with_context(|| {
                if tls {
                    format!(
                        "cannot reach {description} over TLS: does the server take \
                         TLS on this port, and is its certificate signed by the system's CAs \
                         or the URL's tlsCAFile?"
                    )
                } else {
                    format!("cannot reach {description}: is the server running, and the URL right?")
                }
            })?;
        Ok(Live {
            client,
            db,
            description,
        })
    }

    /// The collections of the database (views and `system.*` left out), by name.
    /// And the others, not copied (views, time-series collections).
    pub fn collections(&self) -> anyhow::Result<(Vec<String>, Vec<NotCopied>)> {
        let mut names = Vec::new();
        let mut others = Vec::new();
        let specs = self
            .db
            .run_command(doc! {"listCollections": 1, "cursor": {"batchSize": 1_000_000}})
            .run()
            .map_err(DriverError)?;
        let batch = specs
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
            .cloned()
            .unwrap_or_default();
        for spec in batch.iter().filter_map(Bson::as_document) {
            let name = spec.get_str("name").unwrap_or_default().to_string();
            let kind = spec.get_str("type").unwrap_or("collection");
            if name.starts_with("system.") {
                continue;
            }
            if kind == "collection" {
                names.push(name);
            } else {
                let definition = crate::kind::json_text(&Bson::Document(
                    spec.get_document("options").cloned().unwrap_or_default(),
                ));
                others.push(NotCopied {
                    name,
                    kind: kind.to_string(),
                    definition,
                });
            }
        }
        names.sort();
        others.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((names, others))
    }

    fn coll(&self, name: &str) -> mongodb::sync::Collection<Document> {
        self.db.collection(name)
    }

    pub fn count(&self, coll: &str) -> anyhow::Result<u64> {
        Ok(self
            .coll(coll)
            .estimated_document_count()
            .run()
            .map_err(DriverError)?)
    }

    /// What `size` documents drawn at random hold; every document when the
    /// collection has no more than that.
    pub fn sample(&self, coll: &str, size: u64) -> anyhow::Result<CollectionStats> {
        let mut stats = CollectionStats::default();
        let count = self.count(coll)?;
        let cursor = if count <= size {
            self.coll(coll)
                .find(doc! {})
                .sort(doc! {"_id": 1})
                .run()
                .map_err(DriverError)?
        } else {
            self.coll(coll)
                .aggregate([doc! {"$sample": {"size": size as i64}}])
                .run()
                .map_err(DriverError)?
        };
        for d in cursor {
            stats.add(
                &d.map_err(DriverError)
                    .with_context(|| format!("sampling `{coll}`"))?,
            );
        }
        Ok(stats)
    }

    /// `collStats`: (documents, data size, storage size, index size) in bytes.
    pub fn sizes(&self, coll: &str) -> anyhow::Result<(u64, u64, u64, u64)> {
        let s = self
            .db
            .run_command(doc! {"collStats": coll})
            .run()
            .map_err(DriverError)?;
        let n = |k: &str| match s.get(k) {
            Some(Bson::Int32(v)) => *v as u64,
            Some(Bson::Int64(v)) => *v as u64,
            Some(Bson::Double(v)) => *v as u64,
            _ => 0,
        };
        Ok((n("count"), n("size"), n("storageSize"), n("totalIndexSize")))
    }

    /// The collection's indexes as `listIndexes` gives them.
    pub fn indexes(&self, coll: &str) -> anyhow::Result<Vec<Document>> {
        let mut out = Vec::new();
        let cursor = self
            .db
            .run_command(doc! {"listIndexes": coll})
            .run()
            .map_err(DriverError)?;
        if let Ok(batch) = cursor
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
        {
            for ix in batch {
                if let Bson::Document(d) = ix {
                    out.push(d.clone());
                }
            }
        }
        Ok(out)
    }

    /// Values of `_id` that cut the collection into `parts` ranges of about the
    /// same size, or none when its `_id`s are not all of one type (a range of one
    /// type would miss the others).
    pub fn split_points(&self, coll: &str, count: u64, parts: u64) -> anyhow::Result<Vec<Bson>> {
        let edge = |dir: i32| -> anyhow::Result<Option<Bson>> {
            let mut c = self
                .coll(coll)
                .find(doc! {})
                .sort(doc! {"_id": dir})
                .limit(1)
                .projection(doc! {"_id": 1})
                .run()
                .map_err(DriverError)?;
            Ok(c.next()
                .transpose()
                .map_err(DriverError)?
                .and_then(|d| d.get("_id").cloned()))
        };
        let (Some(lo), Some(hi)) = (edge(1)?, edge(-1)?) else {
            return Ok(Vec::new());
        };
        if lo.element_type() != hi.element_type()
            || matches!(lo, Bson::Document(_) | Bson::Array(_))
        {
            return Ok(Vec::new());
        }
        let step = count / parts;
        let mut points = Vec::new();
        for k in 1..parts {
            let mut c = self
                .coll(coll)
                .find(doc! {})
                .sort(doc! {"_id": 1})
                .skip(k * step)
                .limit(1)
                .projection(doc! {"_id": 1})
                .run()
                .map_err(DriverError)?;
            if let Some(d) = c.next().transpose().map_err(DriverError)? {
                if let Some(id) = d.get("_id") {
                    if points.last() != Some(id) {
                        points.push(id.clone());
                    }
                }
            }
        }
        Ok(points)
    }

    /// Visit the documents that match `filter`, in `_id` order.
    /// With `at`, the documents as they were at that point in time (a snapshot read).
    pub fn find(
        &self,
        coll: &str,
        filter: Document,
        at: Option<Timestamp>,
        visit: &mut dyn FnMut(Document) -> Result<(), lightning_core::pipeline::SourceError>,
    ) -> Result<(), lightning_core::pipeline::SourceError> {
        let collection = self.coll(coll);
        let find = collection
            .find(filter)
            .sort(doc! {"_id": 1})
            .batch_size(1000);
        let Some(at) = at else {
            for d in find.run().map_err(DriverError)? {
                visit(d.map_err(DriverError)?)?;
            }
            return Ok(());
        };
        let mut session = self
            .client
            .start_session()
            .snapshot(true)
            .snapshot_time(at)
            .run()
            .map_err(DriverError)?;
        let mut cursor = find.session(&mut session).run().map_err(DriverError)?;
        while let Some(d) = cursor.next(&mut session) {
            visit(d.map_err(DriverError)?)?;
        }
        Ok(())
    }

    /// A point in time to read a collection at, the same for all its readers; `None`
    /// when the server gives no snapshot reads (a standalone server, say).
    pub fn snapshot_point(&self, coll: &str) -> Option<Timestamp> {
        let mut session = self.client.start_session().snapshot(true).run().ok()?;
        let mut cursor = self
            .coll(coll)
            .find(doc! {})
            .limit(1)
            .session(&mut session)
            .run()
            .ok()?;
        if let Some(Err(_)) = cursor.next(&mut session) {
            return None;
        }
        drop(cursor);
        // The blocking session keeps its snapshot time in the session it wraps.
        let inner: &mut mongodb::ClientSession = (&mut session).into();
        inner.snapshot_time()
    }
}

/// A driver error said plainly (the driver's own text reads `Kind: ..., labels: {},
/// source: None, server response: None`).
#[derive(Debug)]
pub struct DriverError(mongodb::error::Error);

impl DriverError {
    /// The connection's error (worth trying again), not the data's.
    pub fn is_connection(&self) -> bool {
        matches!(
            *self.0.kind,
            ErrorKind::Io(_)
                | ErrorKind::ConnectionPoolCleared { .. }
                | ErrorKind::ServerSelection { .. }
        )
    }
}

impl DriverError {
    /// The server refused a command (a snapshot read it cannot give any more:
    /// SnapshotTooOld after the 5 minutes of history it keeps by default, ...).
    pub fn is_refused(&self) -> bool {
        matches!(&*self.0.kind, ErrorKind::Command(_))
    }
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0.kind {
            ErrorKind::Io(e) => write!(f, "the connection to the server was lost ({e})"),
            kind => write!(f, "{kind}"),
        }
    }
}

impl std::error::Error for DriverError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> ClientOptions {
        ClientOptions::parse(url)
            .run()
            .expect("a connection string")
    }

    #[test]
    fn the_password_file_completes_the_urls_credential() {
        let mut o = parsed("mongodb://app@h:27017/shop?authSource=admin&tls=true");
        set_password(&mut o, Some("from file")).unwrap();
        let c = o.credential.expect("a credential");
        assert_eq!(c.username.as_deref(), Some("app"));
        assert_eq!(c.password.as_deref(), Some("from file"));
        assert_eq!(c.source.as_deref(), Some("admin"));
        assert!(matches!(o.tls, Some(Tls::Enabled(_))));

        // The URL's own password is kept.
        let mut o = parsed("mongodb://app:inurl@h:27017/shop");
        set_password(&mut o, Some("from file")).unwrap();
        assert_eq!(o.credential.unwrap().password.as_deref(), Some("inurl"));

        // No file: nothing changes.
        let mut o = parsed("mongodb://h:27017/shop");
        set_password(&mut o, None).unwrap();
        assert!(o.credential.is_none());

        // A password needs a user to go with.
        let mut o = parsed("mongodb://h:27017/shop");
        let e = set_password(&mut o, Some("from file")).unwrap_err();
        assert!(e.to_string().contains("USER@host"), "{e}");
        assert!(!e.to_string().contains("from file"), "{e}");
    }

    #[test]
    fn a_password_from_a_file_is_taken_out_of_messages() {
        assert_eq!(
            hide_password(
                "auth failed for app: s3cret",
                "mongodb://app@h/db",
                Some("s3cret")
            ),
            "auth failed for app: ****"
        );
        assert_eq!(
            hide_password(
                "auth failed for app: inurl",
                "mongodb://app:inurl@h/db",
                None
            ),
            "auth failed for app: ****"
        );
    }
}
