//! A field of a COPY TO file, as cqlsh formatted it, read back into a Lightning
//! value: text with cqlsh's escapes undone, numbers as written, and collections,
//! tuples and user-defined types as JSON documents.

use lightning_core::cast::{coerce, Resolved};
use lightning_core::value::{parse_date, Value};
use lightning_core::LightningType as T;

use crate::cql::schema::Schema;
use crate::cql::types::CqlType;

/// Undo cqlsh's text escapes: `\\`, `\n`, `\t`, `\r` and `\xHH` (control
/// characters, as Python's `repr` writes them).
pub fn unescape_text(s: &str) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('x') => {
                let hex: String = it.by_ref().take(2).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("`\\x{hex}` is not an escape cqlsh writes"))?;
                out.push(code);
            }
            other => {
                return Err(format!(
                    "`\\{}` is not an escape cqlsh writes (was the file written by another program, or with other ESCAPE settings?)",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

/// What a column's values are read with.
pub struct Reading<'a> {
    pub schema: &'a Schema,
    pub keyspace: &'a str,
    /// The NULL text of the export; `None` when it is the default empty field.
    pub null: Option<&'a str>,
}

impl Reading<'_> {
    /// A field of a column of `ty`, converted to the column's Lightning type.
    pub fn convert(&self, field: &str, ty: &CqlType, r: &Resolved) -> Result<Value, String> {
        let is_null = match self.null {
            Some(n) => field == n,
            None => field.is_empty(),
        };
        if is_null {
            return Ok(Value::Null);
        }
        if field.is_empty() && !matches!(ty.rule_name(), "text" | "ascii" | "varchar" | "duration")
        {
            return Err(format!(
                "an empty field, where --null says a null is written `{}`: give --null the NULL text the file was exported with (none: leave --null out)",
                self.null.unwrap_or_default()
            ));
        }
        let v = if ty.is_composite() {
            let mut p = Literal {
                s: field,
                i: 0,
                reading: self,
            };
            let json = p.value(ty)?;
            p.skip_space();
            if p.i != field.len() {
                return Err(format!(
                    "unexpected `{}` after the {ty} value",
                    &field[p.i..].chars().take(20).collect::<String>()
                ));
            }
            Value::Text(json)
        } else {
            native(field, ty.rule_name(), r.target)?
        };
        let v = match r.transform {
            Some(t) => t.apply(v),
            None => v,
        };
        coerce(v, r.target)
    }
}

/// A native value as cqlsh prints it.
fn native(field: &str, name: &str, target: T) -> Result<Value, String> {
    let digits = |s: &str| {
        let b = s.strip_prefix('-').unwrap_or(s);
        !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit())
    };
    Ok(match name {
        "text" | "varchar" | "ascii" => Value::Text(unescape_text(field)?),
        "blob" => {
            let hex = field
                .strip_prefix("0x")
                .ok_or_else(|| format!("`{field}` is not a blob as cqlsh writes it (0x...)"))?;
            if hex.len() % 2 == 1 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("`{field}` is not hexadecimal"));
            }
            Value::Blob(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0))
                    .collect(),
            )
        }
        // Exact: the nearest float to the digits written is the value cqlsh printed
        // when it printed enough of them.
        "float" if target == T::Float => Value::Float(float(field)? as f32),
        "double" if target == T::Double => Value::Double(float(field)?),
        "boolean" => match field {
            "True" | "true" => Value::Bool(true),
            "False" | "false" => Value::Bool(false),
            other => return Err(format!("`{other}` is not True or False")),
        },
        // A day cqlsh could not print as a date is its number of days from 1970-01-01.
        "date" if digits(field) => {
            let days: i64 = field
                .parse()
                .map_err(|_| format!("`{field}` is too large"))?;
            let days = i32::try_from(days)
                .map_err(|_| format!("day {days} is outside Lightning's dates"))?;
            Value::Date(days)
        }
        "date" => Value::Date(parse_date(field).map_err(|e| e.to_string())?),
        // A timestamp cqlsh could not print is its milliseconds since 1970.
        "timestamp" if digits(field) => {
            let ms: i64 = field
                .parse()
                .map_err(|_| format!("`{field}` is too large"))?;
            let micros = ms
                .checked_mul(1000)
                .and_then(|m| m.checked_sub(946_684_800_000_000))
                .ok_or_else(|| format!("{ms} ms is outside Lightning's timestamps"))?;
            Value::TimestampTz(micros)
        }
        // cqlsh writes a zero duration as nothing: told from a null only by NULL.
        "duration" if field.is_empty() => Value::Text("0s".into()),
        _ => Value::Text(field.to_string()),
    })
}

fn float(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => s.parse().map_err(|_| format!("`{s}` is not a number")),
    }
}

/// A collection, tuple or user-defined type literal as cqlsh prints it, read into
/// JSON text.
struct Literal<'a> {
    s: &'a str,
    i: usize,
    reading: &'a Reading<'a>,
}

impl<'a> Literal<'a> {
    fn skip_space(&mut self) {
        while self.s[self.i..].starts_with(' ') {
            self.i += 1;
        }
    }

    fn err(&self, what: &str) -> String {
        format!(
            "{what} at character {} of `{}`",
            self.i + 1,
            self.s.chars().take(60).collect::<String>()
        )
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.s[self.i..].starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{c}`")))
        }
    }

    /// Elements between `open` and `close`, each read by `item`.
    fn seq(
        &mut self,
        open: char,
        close: char,
        item: &mut dyn FnMut(&mut Self, usize) -> Result<(), String>,
    ) -> Result<(), String> {
        self.expect(open)?;
        if self.eat(close) {
            return Ok(());
        }
        let mut n = 0;
        loop {
            item(self, n)?;
            n += 1;
            if self.eat(close) {
                return Ok(());
            }
            self.expect(',')?;
        }
    }

    /// A quoted string (`'it''s'`), its text escapes undone.
    fn quoted(&mut self) -> Result<String, String> {
        self.expect('\'')?;
        let mut raw = String::new();
        loop {
            let Some(c) = self.s[self.i..].chars().next() else {
                return Err(self.err("a quoted string is not closed"));
            };
            self.i += c.len_utf8();
            if c == '\'' {
                if self.s[self.i..].starts_with('\'') {
                    self.i += 1;
                    raw.push('\'');
                    continue;
                }
                return unescape_text(&raw);
            }
            raw.push(c);
        }
    }

    /// A bare element (a number, a uuid, a date, `True`) up to its separator.
    fn bare(&mut self) -> &str {
        self.skip_space();
        let start = self.i;
        let rest = &self.s[start..];
        let end = rest
            .char_indices()
            .find(|&(j, c)| matches!(c, ',' | ']' | '}' | ')') || rest[j..].starts_with(": "))
            .map_or(rest.len(), |(j, _)| j);
        self.i += end;
        self.s[start..start + end].trim_end()
    }

    fn value(&mut self, ty: &CqlType) -> Result<String, String> {
        let mut out = String::new();
        self.write(ty, &mut out)?;
        Ok(out)
    }

    fn write(&mut self, ty: &CqlType, out: &mut String) -> Result<(), String> {
        self.skip_space();
        match ty.thawed() {
            CqlType::List(t) | CqlType::Vector(t, _) => {
                out.push('[');
                self.seq('[', ']', &mut |p, n| {
                    if n > 0 {
                        out.push(',');
                    }
                    p.write(t, out)
                })?;
                out.push(']');
            }
            CqlType::Set(t) => {
                out.push('[');
                self.seq('{', '}', &mut |p, n| {
                    if n > 0 {
                        out.push(',');
                    }
                    p.write(t, out)
                })?;
                out.push(']');
            }
            CqlType::Map(k, v) => {
                out.push('{');
                self.seq('{', '}', &mut |p, n| {
                    if n > 0 {
                        out.push(',');
                    }
                    let key = p.value(k)?;
                    // JSON keys are strings: a key that is not one is its JSON text.
                    if key.starts_with('"') {
                        out.push_str(&key);
                    } else {
                        out.push_str(&serde_json::Value::String(key).to_string());
                    }
                    p.expect(':')?;
                    out.push(':');
                    p.write(v, out)
                })?;
                out.push('}');
            }
            CqlType::Tuple(ts) => {
                out.push('[');
                self.seq('(', ')', &mut |p, n| {
                    let t = ts.get(n).ok_or_else(|| {
                        p.err(&format!("more than the tuple's {} fields", ts.len()))
                    })?;
                    if n > 0 {
                        out.push(',');
                    }
                    p.write(t, out)
                })?;
                out.push(']');
            }
            CqlType::Udt(name) => {
                let reading: &'a Reading<'a> = self.reading;
                let udt = reading
                    .schema
                    .udt(reading.keyspace, name)
                    .ok_or_else(|| format!("the type `{name}` is not in the schema file"))?;
                out.push('{');
                self.seq('{', '}', &mut |p, n| {
                    let field = p.bare().to_string();
                    let Some((fname, fty)) = udt.fields.iter().find(|(f, _)| *f == field) else {
                        return Err(p.err(&format!("`{field}` is not a field of {name}")));
                    };
                    p.expect(':')?;
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(fname.clone()).to_string());
                    out.push(':');
                    p.skip_space();
                    // A null field is written as the NULL text: nothing by default.
                    let null = p.reading.null.unwrap_or("");
                    let rest = &p.s[p.i..];
                    if rest.starts_with(null)
                        && rest[null.len()..].trim_start().starts_with([',', '}'])
                        && !(null.is_empty() && rest.starts_with('\''))
                    {
                        p.i += null.len();
                        out.push_str("null");
                        return Ok(());
                    }
                    p.write(fty, out)
                })?;
                out.push('}');
            }
            CqlType::Native(n) => self.element(n, out)?,
            CqlType::Custom(c) => return Err(format!("a value of the custom type '{c}'")),
            CqlType::Frozen(_) => unreachable!("thawed"),
        }
        Ok(())
    }

    /// A native element inside a collection: text, inet and timestamps quoted.
    fn element(&mut self, name: &str, out: &mut String) -> Result<(), String> {
        let quoted = self.s[self.i..].starts_with('\'');
        if quoted {
            let text = self.quoted()?;
            out.push_str(&serde_json::Value::String(text).to_string());
            return Ok(());
        }
        let b = self.bare().to_string();
        if b.is_empty() {
            return Err(self.err("expected a value"));
        }
        if b == "None" {
            out.push_str("null");
            return Ok(());
        }
        match name {
            "tinyint" | "smallint" | "int" | "bigint" | "varint" | "counter" | "decimal"
                if serde_json::from_str::<serde_json::Number>(&b).is_ok() =>
            {
                out.push_str(&b)
            }
            "float" | "double" if serde_json::from_str::<serde_json::Number>(&b).is_ok() => {
                out.push_str(&b)
            }
            // NaN and the infinities are not JSON numbers: they travel as strings.
            "float" | "double" if matches!(b.as_str(), "NaN" | "Infinity" | "-Infinity") => {
                out.push_str(&format!("\"{b}\""))
            }
            "boolean" if b == "True" => out.push_str("true"),
            "boolean" if b == "False" => out.push_str("false"),
            "tinyint" | "smallint" | "int" | "bigint" | "varint" | "counter" | "decimal"
            | "float" | "double" | "boolean" => {
                return Err(self.err(&format!("`{b}` is not a {name}")))
            }
            _ => out.push_str(&serde_json::Value::String(b).to_string()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cql::schema::parse;
    use crate::cql::types::parse_type;
    use lightning_core::cast::SourceType;

    fn read(schema: &Schema, ty: &str, field: &str) -> Result<Value, String> {
        let toks = crate::cql::lex::tokens(ty).unwrap();
        let ty = parse_type(&toks, &mut 0).unwrap();
        let st = crate::mapping::source_type(&ty);
        let r = crate::mapping::default_rules()
            .resolve("t", "c", &st)
            .unwrap_or_else(|| panic!("{:?}", SourceType::parse(ty.rule_name())));
        Reading {
            schema,
            keyspace: "ks",
            null: None,
        }
        .convert(field, &ty, &r)
    }

    #[test]
    fn cqlsh_values_read_back_exactly() {
        let s = parse("CREATE TYPE ks.address (street text, zip int, \"Tags\" frozen<set<text>>);")
            .unwrap();
        let text = |v: Value| v.to_text().unwrap();
        assert_eq!(
            read(&s, "text", "l1\\nl2 \\\\ \\x00"),
            Ok(Value::Text("l1\nl2 \\ \0".into()))
        );
        assert_eq!(read(&s, "text", ""), Ok(Value::Null));
        assert_eq!(read(&s, "float", "0.100000001"), Ok(Value::Float(0.1)));
        assert_eq!(read(&s, "float", "1.2346e+05"), Ok(Value::Float(123460.0)));
        assert_eq!(
            read(&s, "double", "-Infinity"),
            Ok(Value::Double(f64::NEG_INFINITY))
        );
        assert_eq!(text(read(&s, "decimal", "1E+10").unwrap()), "10000000000");
        assert_eq!(read(&s, "blob", "0x01ff"), Ok(Value::Blob(vec![1, 255])));
        assert_eq!(read(&s, "boolean", "False"), Ok(Value::Bool(false)));
        assert_eq!(read(&s, "date", "-1"), Ok(Value::Date(-1)));
        assert_eq!(
            read(&s, "timestamp", "2024-01-02 03:04:05.678+0000"),
            read(&s, "timestamp", "1704164645678")
        );
        assert!(read(&s, "time", "12:34:56.123456789")
            .unwrap_err()
            .contains("more precise"));
        assert_eq!(
            text(
                read(
                    &s,
                    "map<text, frozen<list<int>>>",
                    "{'a': [1, 2], 'it''s': []}"
                )
                .unwrap()
            ),
            r#"{"a":[1,2],"it's":[]}"#
        );
        assert_eq!(
            text(
                read(
                    &s,
                    "map<int, time>",
                    "{1: 12:00:00.000000000, 2: 00:00:01.5}"
                )
                .unwrap()
            ),
            r#"{"1":"12:00:00.000000000","2":"00:00:01.5"}"#
        );
        assert_eq!(
            text(read(&s, "frozen<tuple<int, text, double>>", "(None, 'x', NaN)").unwrap()),
            r#"[null,"x","NaN"]"#
        );
        assert_eq!(
            text(
                read(
                    &s,
                    "list<frozen<address>>",
                    "[{street: '1 Main', zip: , Tags: {'a\\\\b'}}]"
                )
                .unwrap()
            ),
            r#"[{"street":"1 Main","zip":null,"Tags":["a\\b"]}]"#
        );
        assert!(read(&s, "list<int>", "[1, x]")
            .unwrap_err()
            .contains("not a int"));
        assert!(read(&s, "set<int>", "{1, 2").is_err());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::cql::schema::parse;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Any field, read as any composite type, is read or refused, never a panic.
        #[test]
        fn any_field_in_a_composite_never_panics(field in "[\\[\\]{}(),: 'a-z0-9.\\\\-]{0,40}", which in 0usize..5) {
            let schema = parse("CREATE TYPE ks.address (street text, zip int);").unwrap();
            let ty = [
                "map<text, frozen<list<int>>>",
                "frozen<tuple<int, text, double>>",
                "list<frozen<address>>",
                "set<time>",
                "map<int, boolean>",
            ][which];
            let toks = crate::cql::lex::tokens(ty).unwrap();
            let ty = crate::cql::types::parse_type(&toks, &mut 0).unwrap();
            let r = crate::mapping::default_rules()
                .resolve("t", "c", &crate::mapping::source_type(&ty))
                .unwrap();
            let reading = Reading { schema: &schema, keyspace: "ks", null: None };
            if let Ok(Value::Json(j)) = reading.convert(&field, &ty, &r) {
                serde_json::from_str::<serde_json::Value>(&j).unwrap();
            }
        }

        #[test]
        fn any_bytes_split_into_records_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            for escapes in [crate::csvfile::Escapes::Doubled, crate::csvfile::Escapes::Single] {
                let mut r = crate::csvfile::Records::new(&bytes[..], b',', escapes, 0, 1);
                while let Ok(Some(_)) = r.next_record() {}
            }
        }
    }
}
