//! Job files: `migrate --config job.toml` (and `verify`, `sync`, `export`). A job
//! file's keys are the command's long options (`target`, `tables`, `batch-size` or
//! `batch_size`), so that a file and the flags can never mean different things:
//! the file is turned into options, checked by the same parsers as the flags, and
//! put in front of the command line, whose options win.
//!
//! A JSON file (a Singer tap's `--config`) says the same as an object: keys are
//! options, arrays repeat them, objects are the map sections and the sections of
//! one command. It is read as `.json`, or when it starts with `{`.
//!
//! ```toml
//! source = "postgresql://app@db.example/app"
//! target = "app.ldb"
//! tables = ["orders", "customers"]
//! cast = ["tinyint(1) => boolean"]
//! verify = true
//!
//! [where]            # --where 'TABLE: CONDITION'
//! orders = "created_at >= '2024-01-01'"
//!
//! [rename]           # --rename 'SOURCE => NEW'
//! "public.orders" = "orders"
//!
//! [rename-column]    # --rename-column 'TABLE.COLUMN => NEW'
//! "orders.cust" = "customer_id"
//!
//! [sync]             # settings for one command only
//! until-caught-up = true
//! ```

use std::ffi::OsString;
use std::path::Path;

use clap::{Arg, ArgAction, Command};
use serde_json::Value as Json;
use toml_edit::{Item, Table, Value};

/// The commands a job file can drive.
pub const COMMANDS: [&str; 4] = ["migrate", "verify", "sync", "export"];

/// Sections that hold one entry per table (or column): each becomes one option.
const MAPS: [(&str, &str, &str); 3] = [
    ("where", "where", ": "),
    ("rename", "rename", " => "),
    ("rename-column", "rename-column", " => "),
];

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot read the job file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}: {message}")]
    At {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}:{line}:{column}: not valid JSON: {message}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A JSON file's setting: its place is not known, its key is named.
    #[error("{path}: {message}")]
    In { path: String, message: String },
}

/// `--config FILE`, for the commands a job file can drive.
pub fn config_arg() -> Arg {
    Arg::new("config").long("config").value_name("FILE").help(
        "Read this command's settings from a job file (TOML, or JSON: `.json` or \
             starting with `{`): its keys are the long options (`target`, `tables`, \
             `batch-size`), options given here win",
    )
}

/// The command line with the job file's settings put in front of the options the
/// user gave, when the command has `--config`; unchanged otherwise.
pub fn expand(cmd: &Command, argv: Vec<OsString>) -> Result<Vec<OsString>, JobError> {
    let Some(at) = argv
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))
        .map(|i| i + 1)
    else {
        return Ok(argv);
    };
    let name = argv[at].to_string_lossy().to_string();
    let Some(sub) = cmd.find_subcommand(&name) else {
        return Ok(argv);
    };
    if !sub.get_arguments().any(|a| a.get_id() == "config") {
        return Ok(argv);
    }
    let given = &argv[at + 1..];
    let Some(path) = config_path(given) else {
        return Ok(argv);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| JobError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let others: Vec<&Command> = cmd
        .get_subcommands()
        .filter(|c| COMMANDS.contains(&c.get_name()) && c.get_name() != name)
        .collect();
    let job = Job {
        path: &path,
        text: &text,
        json: is_json(&path, &text),
        command: sub,
        others,
        given,
    };
    let from_file = job.options()?;
    let mut out = argv[..=at].to_vec();
    out.extend(from_file);
    out.extend_from_slice(given);
    Ok(out)
}

/// A JSON job file: named so, or starting as an object (a TOML file cannot).
fn is_json(path: &Path, text: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{')
}

/// The value of `--config FILE` or `--config=FILE` among the options.
fn config_path(given: &[OsString]) -> Option<std::path::PathBuf> {
    let mut it = given.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            return None;
        }
        if s == "--config" {
            return it.next().map(Into::into);
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(v.into());
        }
    }
    None
}

struct Job<'a> {
    path: &'a Path,
    text: &'a str,
    json: bool,
    command: &'a Command,
    /// The tool's other commands a job file drives: their settings are skipped.
    others: Vec<&'a Command>,
    /// The options the user gave: they win over the file's.
    given: &'a [OsString],
}

impl Job<'_> {
    fn err(&self, span: Option<std::ops::Range<usize>>, message: String) -> JobError {
        if self.json {
            return JobError::In {
                path: self.path.display().to_string(),
                message,
            };
        }
        let line = span.map_or(1, |s| {
            self.text[..s.start.min(self.text.len())]
                .matches('\n')
                .count()
                + 1
        });
        JobError::At {
            path: self.path.display().to_string(),
            line,
            message,
        }
    }

    fn options(&self) -> Result<Vec<OsString>, JobError> {
        let (doc, from_json);
        let root: &Table = if self.json {
            from_json = self.json_root()?;
            &from_json
        } else {
            doc = toml_edit::Document::parse(self.text).map_err(|e| {
                self.err(e.span(), format!("not valid TOML: {}", e.message().trim()))
            })?;
            doc.as_table()
        };
        let mut out = Vec::new();
        // Settings for this command alone win over the shared ones.
        let section = root
            .get(self.command.get_name())
            .and_then(Item::as_table_like);
        for (key, item) in root.iter() {
            // `[verify]` is a section; `verify = true` is migrate's option.
            if self.is_command(key) && item.is_table_like() {
                continue;
            }
            if section.is_some_and(|s| s.contains_key(key)) {
                continue;
            }
            self.setting(key, item, &mut out)?;
        }
        if let Some(section) = section {
            for (key, item) in section.iter() {
                self.setting(key, item, &mut out)?;
            }
        }
        Ok(out)
    }

    /// A JSON file as the table a TOML file would give, so both are read alike.
    fn json_root(&self) -> Result<Table, JobError> {
        let doc: Json = serde_json::from_str(self.text).map_err(|e| {
            let at = format!(" at line {} column {}", e.line(), e.column());
            JobError::Json {
                path: self.path.display().to_string(),
                line: e.line(),
                column: e.column(),
                message: e.to_string().trim_end_matches(&at).to_string(),
            }
        })?;
        match &doc {
            Json::Object(map) => self.json_table("", map),
            _ => Err(self.err(None, "a JSON job file holds one object".into())),
        }
    }

    fn json_table(
        &self,
        within: &str,
        map: &serde_json::Map<String, Json>,
    ) -> Result<Table, JobError> {
        let mut table = Table::new();
        for (key, v) in map {
            let name = format!("{within}{key}");
            let item = match v {
                Json::Object(inner) => Item::Table(self.json_table(&format!("{name}."), inner)?),
                Json::Array(items) => {
                    let mut list = toml_edit::Array::new();
                    for v in items {
                        list.push(json_scalar(v).ok_or_else(|| {
                            self.err(None, format!("`{name}`: a list of strings or numbers"))
                        })?);
                    }
                    Item::Value(Value::Array(list))
                }
                v => Item::Value(json_scalar(v).ok_or_else(|| {
                    self.err(
                        None,
                        format!("`{name}`: null is no value; leave the key out"),
                    )
                })?),
            };
            table.insert(key, item);
        }
        Ok(table)
    }

    fn is_command(&self, key: &str) -> bool {
        self.command.get_name() == key || self.others.iter().any(|c| c.get_name() == key)
    }

    /// One key of the file as options of the command.
    fn setting(&self, key: &str, item: &Item, out: &mut Vec<OsString>) -> Result<(), JobError> {
        let long = key.replace('_', "-");
        if long == "config" {
            return Err(self.err(
                item.span(),
                "a job file cannot name another job file".into(),
            ));
        }
        let Some(arg) = find(self.command, &long) else {
            if self.others.iter().any(|c| find(c, &long).is_some()) {
                tracing::debug!(
                    "{}: `{key}` is not a setting of {}; skipped",
                    self.path.display(),
                    self.command.get_name()
                );
                return Ok(());
            }
            return Err(self.err(item.span(), self.unknown(key)));
        };
        if self.given_on_command_line(arg) {
            return Ok(());
        }
        let values = self.values(key, item, arg)?;
        let flag = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
        let many = matches!(arg.get_action(), ArgAction::Append)
            || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        if !flag && !many && values.len() > 1 {
            return Err(self.err(item.span(), format!("`{key}` takes one value, not a list")));
        }
        for v in values {
            if flag {
                match v.as_str() {
                    "true" => out.push(format!("--{long}").into()),
                    "false" => {}
                    _ => {
                        return Err(
                            self.err(item.span(), format!("`{key}` is true or false, not `{v}`"))
                        )
                    }
                }
                continue;
            }
            // The option's own parser, alone: the whole command would also ask
            // for its required options.
            let alone = Command::new("job").no_binary_name(true).arg(
                Arg::new("value")
                    .long("value")
                    .value_name("VALUE")
                    .value_parser(arg.get_value_parser().clone()),
            );
            if let Err(e) = alone.try_get_matches_from([format!("--value={v}")]) {
                let detail = e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ")
                    .replace("'--value <VALUE>'", &format!("--{long}"));
                return Err(self.err(item.span(), format!("`{key}`: {detail}")));
            }
            out.push(format!("--{long}={v}").into());
        }
        Ok(())
    }

    /// The option's values as text: a map section gives one per entry.
    fn values(&self, key: &str, item: &Item, arg: &Arg) -> Result<Vec<String>, JobError> {
        let long = arg.get_long().unwrap_or(key);
        if let Some(table) = item.as_table_like() {
            let Some((_, _, joiner)) = MAPS.iter().find(|(_, flag, _)| *flag == long) else {
                return Err(self.err(item.span(), format!("`{key}` takes a value, not a table")));
            };
            let mut out = Vec::new();
            for (k, v) in table.iter() {
                let Some(v) = v.as_value().and_then(scalar) else {
                    return Err(self.err(
                        v.span().or(item.span()),
                        format!("`{key}.{k}`: expected a string"),
                    ));
                };
                out.push(format!("{k}{joiner}{v}"));
            }
            return Ok(out);
        }
        let Some(value) = item.as_value() else {
            return Err(self.err(item.span(), format!("`{key}`: expected a value")));
        };
        match value {
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    scalar(v).ok_or_else(|| {
                        self.err(
                            v.span().or(item.span()),
                            format!("`{key}`: a list of strings or numbers"),
                        )
                    })
                })
                .collect(),
            v => scalar(v)
                .map(|s| vec![s])
                .ok_or_else(|| self.err(item.span(), format!("`{key}`: expected a value"))),
        }
    }

    fn given_on_command_line(&self, arg: &Arg) -> bool {
        let long = arg.get_long().map(|l| format!("--{l}"));
        let short = arg.get_short().map(|s| format!("-{s}"));
        self.given.iter().any(|a| {
            let a = a.to_string_lossy();
            long.as_ref()
                .is_some_and(|l| a == l.as_str() || a.starts_with(&format!("{l}=")))
                || short.as_ref().is_some_and(|s| a.starts_with(s.as_str()))
        })
    }

    fn unknown(&self, key: &str) -> String {
        let known: Vec<String> = self
            .command
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "config")
            .filter_map(|a| a.get_long().map(str::to_string))
            .collect();
        let near = known
            .iter()
            .map(|k| (distance(&key.replace('_', "-"), k), k))
            .filter(|(d, _)| *d <= 2)
            .min();
        match near {
            Some((_, k)) => format!("unknown setting `{key}`: did you mean `{k}`?"),
            None => format!(
                "unknown setting `{key}`; the settings of {} are: {}",
                self.command.get_name(),
                known.join(", ")
            ),
        }
    }
}

/// Options of `convert-schema` that do not belong in a job file.
const NOT_KEPT: [&str; 6] = ["write_config", "json", "html", "report", "strict", "help"];

/// An option as given: its long name and its value (none for a flag).
#[derive(Debug, Clone)]
pub struct GivenArg {
    pub long: String,
    pub value: Option<String>,
}

/// The options of `matches` given on the command line (or by a job file), for
/// another command of the same tool: those in `skip` left out, a password in a
/// source left out. Returns them and whether a password was left out.
pub fn given_args(
    command: &Command,
    matches: &clap::ArgMatches,
    skip: &[&str],
) -> (Vec<GivenArg>, bool) {
    let mut out = Vec::new();
    let mut dropped_password = false;
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_KEPT.contains(&id)
            || skip.contains(&id)
            || matches.value_source(id) != Some(clap::parser::ValueSource::CommandLine)
        {
            continue;
        }
        let Some(long) = arg.get_long() else { continue };
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            if matches.get_flag(id) {
                out.push(GivenArg {
                    long: long.into(),
                    value: None,
                });
            }
            continue;
        }
        let Some(raw) = matches.get_raw(id) else {
            continue;
        };
        for v in raw {
            let mut v = v.to_string_lossy().to_string();
            if crate::cli::redact(&v) != v {
                v = without_password(&v);
                dropped_password = true;
            }
            out.push(GivenArg {
                long: long.into(),
                value: Some(v),
            });
        }
    }
    (out, dropped_password)
}

/// The options of `given` that `command` takes, as shell words.
pub fn words_for(given: &[GivenArg], command: &Command) -> String {
    let mut out = Vec::new();
    for a in given {
        if command
            .get_arguments()
            .any(|x| x.get_long() == Some(&a.long))
        {
            out.push(format!("--{}", a.long));
            out.extend(a.value.as_deref().map(shell_word));
        }
    }
    out.join(" ")
}

/// `s` as one word for a POSIX shell: as it is when it is safe so, else quoted.
pub fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `convert-schema --write-config FILE`: a job file holding the source and the
/// selection as given, the tables selected, and the other settings commented out.
/// A password in the source is left out, never written.
pub fn write_config(
    path: &Path,
    tool: &str,
    command: &Command,
    matches: &clap::ArgMatches,
    tables: &[String],
) -> anyhow::Result<()> {
    let stem = path
        .file_stem()
        .map_or("app".into(), |s| s.to_string_lossy().to_string());
    let mut out = format!(
        "# A migration job for {tool}. Run it with\n\
         #   {tool} migrate --config {file}\n\
         # and check it with `{tool} verify --config {file}`. Keys are the long options of\n\
         # migrate, verify and sync (see `{tool} migrate --help`); options given on the\n\
         # command line win over the file.\n\n",
        file = path.display()
    );
    let mut sections = String::new();
    let mut dropped_password = false;
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_KEPT.contains(&id)
            || matches.value_source(id) != Some(clap::parser::ValueSource::CommandLine)
        {
            continue;
        }
        let Some(long) = arg.get_long() else { continue };
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            if matches.get_flag(id) {
                out.push_str(&format!("{long} = true\n"));
            }
            continue;
        }
        let Some(raw) = matches.get_raw(id) else {
            continue;
        };
        let mut values: Vec<String> = raw.map(|v| v.to_string_lossy().to_string()).collect();
        if long == "tables" {
            continue;
        }
        for v in &mut values {
            if crate::cli::redact(v) != *v {
                *v = without_password(v);
                dropped_password = true;
            }
        }
        if let Some((_, _, joiner)) = MAPS.iter().find(|(_, flag, _)| *flag == long) {
            sections.push_str(&format!("\n[{long}]\n"));
            for v in &values {
                let (k, val) = v
                    .split_once(joiner.trim())
                    .or_else(|| v.split_once('='))
                    .unwrap_or((v, ""));
                sections.push_str(&format!("{} = {}\n", quote(k.trim()), quote(val.trim())));
            }
            continue;
        }
        let many = matches!(arg.get_action(), ArgAction::Append);
        if many {
            let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
            out.push_str(&format!("{long} = [{}]\n", items.join(", ")));
        } else if let Some(v) = values.first() {
            out.push_str(&format!("{long} = {}\n", quote(v)));
        }
    }
    if dropped_password {
        out.push_str(
            "# The password given with the source is not kept here: use --password-file\n\
             # or the database client's own password file.\n",
        );
    }
    out.push_str(&format!(
        "\n# The Lightning database to write (a folder).\ntarget = {}\n",
        quote(&format!("{stem}.ldb"))
    ));
    let items: Vec<String> = tables.iter().map(|t| quote(t)).collect();
    out.push_str(&format!(
        "\n# The tables to copy: remove the ones to leave out.\ntables = [\n{}\n]\n",
        items
            .iter()
            .map(|t| format!("  {t},"))
            .collect::<Vec<_>>()
            .join("\n")
    ));
    out.push_str(
        "\n# verify = true            # compare with the source after the copy\n\
         # parallel = 4             # readers working at once\n\
         # batch-size = 50000       # rows per committed batch\n\
         # on-error = \"skip\"        # set bad rows aside in the reject file instead of stopping\n\
         # names = \"snake\"          # keep | lower | snake: names no rename gives\n\
         # cast = [\"RULE\"]          # cast rules (see --print-casts)\n",
    );
    out.push_str(&sections);
    if !sections.contains("[where]") {
        out.push_str("\n# [where]\n# orders = \"created_at >= '2024-01-01'\"\n");
    }
    if !sections.contains("[rename]") {
        out.push_str("\n# [rename]\n# \"source_table\" = \"new_name\"\n");
    }
    if !sections.contains("[rename-column]") {
        out.push_str("\n# [rename-column]\n# \"table.column\" = \"new_name\"\n");
    }
    out.push_str("\n# [sync]\n# until-caught-up = true\n");
    std::fs::write(path, out)
        .map_err(|e| anyhow::anyhow!("cannot write the job file {}: {e}", path.display()))?;
    eprintln!(
        "wrote the job file {}: edit it, then run `{tool} migrate --config {}`",
        path.display(),
        path.display()
    );
    Ok(())
}

/// A TOML basic string: a JSON string is one (the same escapes).
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// A connection string without its password: `scheme://user:pw@host` loses `:pw`,
/// and `password=...` / `pwd=...` pairs are dropped.
fn without_password(s: &str) -> String {
    let mut s = s.to_string();
    if let Some(scheme_end) = s.find("://") {
        let start = scheme_end + 3;
        if let Some(at) = s[start..].find('@').map(|i| i + start) {
            if let Some(colon) = s[start..at].find(':') {
                s.replace_range(start + colon..at, "");
            }
        }
    }
    let sep = if s.contains("://") { '&' } else { ' ' };
    let kept: Vec<&str> = s
        .split(sep)
        .filter(|p| {
            let l = p.to_ascii_lowercase();
            let l = l.rsplit(['?']).next().unwrap_or(&l);
            !(l.starts_with("password=") || l.starts_with("pwd="))
        })
        .collect();
    let mut out = kept.join(&sep.to_string());
    if out.ends_with('?') {
        out.pop();
    }
    out
}

fn find<'c>(cmd: &'c Command, long: &str) -> Option<&'c Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|al| al.contains(&long))
    })
}

/// A JSON string, number or boolean as a TOML value.
fn json_scalar(v: &Json) -> Option<Value> {
    match v {
        Json::String(s) => Some(Value::from(s.as_str())),
        Json::Bool(b) => Some(Value::from(*b)),
        Json::Number(n) => Some(match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64()?),
        }),
        _ => None,
    }
}

/// A string, number or boolean as an option's text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.value().clone()),
        Value::Integer(i) => Some(i.value().to_string()),
        Value::Float(f) => Some(f.value().to_string()),
        Value::Boolean(b) => Some(b.value().to_string()),
        _ => None,
    }
}

/// Edits between two short names (for "did you mean").
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> Command {
        Command::new("tool")
            .subcommand(
                Command::new("migrate")
                    .arg(config_arg())
                    .arg(Arg::new("target").long("target").required(true))
                    .arg(
                        Arg::new("batch-size")
                            .long("batch-size")
                            .value_parser(clap::value_parser!(usize)),
                    )
                    .arg(Arg::new("tables").long("tables").action(ArgAction::Append))
                    .arg(Arg::new("where").long("where").action(ArgAction::Append))
                    .arg(Arg::new("verify").long("verify").action(ArgAction::SetTrue)),
            )
            .subcommand(
                Command::new("sync")
                    .arg(config_arg())
                    .arg(Arg::new("target").long("target"))
                    .arg(
                        Arg::new("until-caught-up")
                            .long("until-caught-up")
                            .action(ArgAction::SetTrue),
                    ),
            )
    }

    fn run(text: &str, args: &[&str]) -> Result<Vec<String>, String> {
        run_file("job.toml", text, args)
    }

    /// The options a job file gives, or its error, with the file's path as `JOB`.
    fn run_file(name: &str, text: &str, args: &[&str]) -> Result<Vec<String>, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let mut argv: Vec<OsString> = vec!["tool".into()];
        argv.extend(args.iter().map(OsString::from));
        argv.push("--config".into());
        argv.push(p.clone().into());
        let path = p.display().to_string();
        match expand(&cmd(), argv) {
            Ok(v) => Ok(v
                .into_iter()
                .map(|a| a.to_string_lossy().replace(&path, "JOB"))
                .collect()),
            Err(e) => Err(e.to_string().replace(&path, "JOB")),
        }
    }

    #[test]
    fn a_json_file_means_what_the_toml_means() {
        let toml = run(
            "target = 'a.ldb'\nbatch_size = 500\ntables = ['x', 'y']\nverify = true\n\
             until-caught-up = true\n[where]\nx = \"id > 2\"\n[sync]\ntarget = 'b.ldb'\n",
            &["migrate", "--target=c.ldb"],
        )
        .unwrap();
        let json = r#"{"target": "a.ldb", "batch_size": 500, "tables": ["x", "y"], "verify": true,
            "until-caught-up": true, "where": {"x": "id > 2"}, "sync": {"target": "b.ldb"}}"#;
        for name in ["job.json", "job.conf"] {
            let got = run_file(name, json, &["migrate", "--target=c.ldb"]).unwrap();
            assert_eq!(got, toml, "{name}");
        }
        let got = run_file("job.json", json, &["sync"]).unwrap();
        assert_eq!(
            got,
            [
                "tool",
                "sync",
                "--until-caught-up",
                "--target=b.ldb",
                "--config",
                "JOB"
            ]
        );
    }

    #[test]
    fn json_errors_name_the_file_and_the_place() {
        let e = run_file(
            "job.json",
            "{\"target\": \"a\",\n \"tables\": [\"x\",]}",
            &["migrate"],
        )
        .unwrap_err();
        assert!(
            e.starts_with("JOB:2:17: not valid JSON: trailing comma"),
            "{e}"
        );
        let e = run_file("job.json", r#"{"batch_sise": 5}"#, &["migrate"]).unwrap_err();
        assert_eq!(
            e,
            "JOB: unknown setting `batch_sise`: did you mean `batch-size`?"
        );
        let e = run_file("job.json", r#"{"target": null}"#, &["migrate"]).unwrap_err();
        assert_eq!(e, "JOB: `target`: null is no value; leave the key out");
        let e = run_file("job.json", r#"{"tables": [["x"]]}"#, &["migrate"]).unwrap_err();
        assert_eq!(e, "JOB: `tables`: a list of strings or numbers");
        let e = run_file("job.json", r#"["x"]"#, &["migrate"]).unwrap_err();
        assert_eq!(e, "JOB: a JSON job file holds one object");
        let e = run_file(
            "job.json",
            r#"{"where": {"x": 1, "y": {"z": "a"}}}"#,
            &["migrate"],
        )
        .unwrap_err();
        assert_eq!(e, "JOB: `where.y`: expected a string");
        let e = run_file("job.json", r#"{"batch-size": "many"}"#, &["migrate"]).unwrap_err();
        assert!(
            e.starts_with("JOB: `batch-size`: invalid value 'many' for --batch-size"),
            "{e}"
        );
    }

    #[test]
    fn settings_become_options_and_flags_win() {
        let got = run(
            "target = 'a.ldb'\nbatch_size = 500\ntables = ['x', 'y']\nverify = true\n\
             until-caught-up = true\n[where]\nx = \"id > 2\"\n[sync]\ntarget = 'b.ldb'\n",
            &["migrate", "--target=c.ldb"],
        )
        .unwrap();
        assert_eq!(
            got,
            [
                "tool",
                "migrate",
                "--batch-size=500",
                "--tables=x",
                "--tables=y",
                "--verify",
                "--where=x: id > 2",
                "--target=c.ldb",
                "--config",
                "JOB"
            ]
        );
        let got = run(
            "target = 'a.ldb'\nverify = true\n[sync]\ntarget = 'b.ldb'\n",
            &["sync"],
        )
        .unwrap();
        assert_eq!(got, ["tool", "sync", "--target=b.ldb", "--config", "JOB"]);
    }

    #[test]
    fn passwords_are_not_written() {
        assert_eq!(
            without_password("postgresql://app:s3cr3t@db/app"),
            "postgresql://app@db/app"
        );
        assert_eq!(
            without_password("host=db password=s3cr3t dbname=app"),
            "host=db dbname=app"
        );
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
    }

    #[test]
    fn errors_name_the_line() {
        let e = run("target = 'a'\n\nbatch_sise = 5\n", &["migrate"]).unwrap_err();
        assert!(
            e.to_string()
                .ends_with(":3: unknown setting `batch_sise`: did you mean `batch-size`?"),
            "{e}"
        );
        let e = run("target = 'a'\nbatch-size = 'many'\n", &["migrate"]).unwrap_err();
        assert!(
            e.to_string()
                .contains(":2: `batch-size`: invalid value 'many' for --batch-size"),
            "{e}"
        );
        let e = run("target = 'a'\ntarget = 'b'\n", &["migrate"]).unwrap_err();
        assert!(e.to_string().contains(":2: not valid TOML"), "{e}");
        let e = run("verify = 'yes'\n", &["migrate"]).unwrap_err();
        assert!(
            e.to_string().contains(":1: `verify` is true or false"),
            "{e}"
        );
        let e = run("target = ['a', 'b']\n", &["migrate"]).unwrap_err();
        assert!(
            e.to_string().contains(":1: `target` takes one value"),
            "{e}"
        );
    }
}
