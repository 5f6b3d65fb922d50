//! What the conversion report says of each table: its pattern, keys and TTLs,
//! sample keys, the types decided and why, and what is not carried.

use lightning_core::report::{ConversionReport, Finding, Severity};
use lightning_core::LightningType;

use crate::mapping::TableMap;
use crate::pattern::escape;
use crate::profile::{Profile, RedisType};

pub fn table(
    map: &TableMap,
    p: &Profile,
    decided: bool,
    mixed: bool,
    report: &mut ConversionReport,
) {
    let t = &map.table;
    let mut say = |s: Severity, m: String| report.findings.push(Finding::new(s, t.clone(), m));
    let samples: Vec<String> = p
        .sample_keys
        .iter()
        .map(|k| format!("`{}`", escape(k)))
        .collect();
    say(
        Severity::Info,
        format!(
            "pattern `{}` ({}): {} keys{}{}{}",
            map.pattern,
            map.kind.name(),
            p.keys,
            if p.ttl_counted {
                format!(", {} with a TTL", p.with_ttl)
            } else {
                String::new()
            },
            if samples.is_empty() {
                String::new()
            } else {
                format!("; e.g. {}", samples.join(", "))
            },
            if decided && p.sampled > 0 {
                format!("; types decided from {} values", p.sampled)
            } else {
                String::new()
            },
        ),
    );
    if mixed {
        say(
            Severity::Warning,
            format!(
                "keys of pattern `{}` have several Redis types: each type has its own table",
                map.pattern
            ),
        );
    }
    if map.key == LightningType::Blob {
        say(
            Severity::Warning,
            "some keys are not UTF-8: the `key` column is BLOB".into(),
        );
    }
    if let Some(v) = &map.value {
        if v.ty == LightningType::Blob {
            say(
                Severity::Warning,
                format!("some values are not UTF-8: `{}` is BLOB", v.column),
            );
        }
    }
    if map.kind == RedisType::Hash {
        match &map.fields {
            Some(fs) => {
                let shown: Vec<String> = fs
                    .iter()
                    .map(|f| {
                        let seen = p
                            .fields
                            .iter()
                            .find(|(n, _, _)| escape(n) == f.field)
                            .map(|x| x.1)
                            .unwrap_or(0);
                        let share = (100 * seen).checked_div(p.sampled).unwrap_or(0);
                        format!("{} {} ({share}%)", f.field, f.ty)
                    })
                    .collect();
                say(Severity::Info, format!("hash fields as columns: {}; other fields and values of another type go to `_extra`", shown.join(", ")));
            }
            None => {
                let mut seen: Vec<_> = p.fields.iter().collect();
                seen.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let shown: Vec<String> = seen
                    .iter()
                    .take(10)
                    .map(|(n, c, v)| {
                        let share = (100 * c).checked_div(p.sampled).unwrap_or(0);
                        format!("{} {} ({share}%)", escape(n), v.decide())
                    })
                    .collect();
                say(
                    Severity::Info,
                    format!(
                        "hashes differ in their fields ({}{} field names seen{}): each hash is one JSON column `fields`",
                        p.fields.len(),
                        if p.too_many_fields { "+" } else { "" },
                        if shown.is_empty() { String::new() } else { format!("; most common: {}", shown.join(", ")) }
                    ),
                )
            }
        }
    }
    if p.consumer_groups > 0 {
        say(Severity::Manual, format!("{} consumer groups (with their pending entries): not copied; create them again with XGROUP CREATE", p.consumer_groups));
    }
    if map.kind == RedisType::Stream && !p.stream_fields_utf8 {
        say(Severity::Warning, "some stream entries have fields that are not UTF-8 or repeat: those entries are rejected (JSON cannot hold them)".into());
    }
}
