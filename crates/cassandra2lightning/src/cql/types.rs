//! CQL types as declared: native types, collections, tuples, user-defined types.

use std::fmt;

use super::lex::Tok;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CqlType {
    /// `int`, `text`, `timeuuid`, ... lower-case.
    Native(String),
    List(Box<CqlType>),
    Set(Box<CqlType>),
    Map(Box<CqlType>, Box<CqlType>),
    Tuple(Vec<CqlType>),
    Frozen(Box<CqlType>),
    /// A user-defined type, by name (without its keyspace).
    Udt(String),
    /// `vector<float, 3>`.
    Vector(Box<CqlType>, u32),
    /// `'org.apache.cassandra.db.marshal.SomeType'`.
    Custom(String),
}

const NATIVE: [&str; 22] = [
    "ascii",
    "bigint",
    "blob",
    "boolean",
    "counter",
    "date",
    "decimal",
    "double",
    "duration",
    "float",
    "inet",
    "int",
    "smallint",
    "text",
    "time",
    "timestamp",
    "timeuuid",
    "tinyint",
    "uuid",
    "varchar",
    "varint",
    "empty",
];

impl CqlType {
    /// Without `frozen<>`, which only says the value is written whole.
    pub fn thawed(&self) -> &CqlType {
        match self {
            CqlType::Frozen(t) => t.thawed(),
            t => t,
        }
    }

    /// The name cast rules know it by: the native type's, or `list`, `set`, `map`,
    /// `tuple`, `udt`, `vector`, `custom`.
    pub fn rule_name(&self) -> &str {
        match self.thawed() {
            CqlType::Native(n) => n,
            CqlType::List(_) => "list",
            CqlType::Set(_) => "set",
            CqlType::Map(..) => "map",
            CqlType::Tuple(_) => "tuple",
            CqlType::Udt(_) => "udt",
            CqlType::Vector(..) => "vector",
            CqlType::Custom(_) | CqlType::Frozen(_) => "custom",
        }
    }

    /// A collection, tuple, user-defined type or vector: carried as JSON.
    pub fn is_composite(&self) -> bool {
        !matches!(self.thawed(), CqlType::Native(_) | CqlType::Custom(_))
    }
}

impl fmt::Display for CqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CqlType::Native(n) => f.write_str(n),
            CqlType::List(t) => write!(f, "list<{t}>"),
            CqlType::Set(t) => write!(f, "set<{t}>"),
            CqlType::Map(k, v) => write!(f, "map<{k}, {v}>"),
            CqlType::Tuple(ts) => {
                f.write_str("tuple<")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
            CqlType::Frozen(t) => write!(f, "frozen<{t}>"),
            CqlType::Udt(n) => f.write_str(n),
            CqlType::Vector(t, n) => write!(f, "vector<{t}, {n}>"),
            CqlType::Custom(c) => write!(f, "'{c}'"),
        }
    }
}

/// Reads a type from tokens at `*i`, moving past it.
pub fn parse_type(toks: &[(Tok, u64, usize)], i: &mut usize) -> Result<CqlType, String> {
    let next = |i: &mut usize| -> Result<Tok, String> {
        let t = toks
            .get(*i)
            .map(|t| t.0.clone())
            .ok_or("the type is cut short")?;
        *i += 1;
        Ok(t)
    };
    let expect = |i: &mut usize, c: char| -> Result<(), String> {
        match toks.get(*i) {
            Some((Tok::Punct(p), _, _)) if *p == c => {
                *i += 1;
                Ok(())
            }
            other => Err(format!(
                "expected `{c}` in a type, found {}",
                other.map_or("the end".into(), |t| format!("`{}`", t.0.cql()))
            )),
        }
    };
    let t = next(i)?;
    let name = match &t {
        Tok::Str(s) => return Ok(CqlType::Custom(s.clone())),
        Tok::Name(n) => return Ok(CqlType::Udt(n.clone())),
        Tok::Word(w) => w.clone(),
        other => return Err(format!("expected a type, found `{}`", other.cql())),
    };
    let generic = matches!(toks.get(*i), Some((Tok::Punct('<'), _, _)));
    let ty = match name.as_str() {
        "list" | "set" | "frozen" if generic => {
            expect(i, '<')?;
            let inner = Box::new(parse_type(toks, i)?);
            expect(i, '>')?;
            match name.as_str() {
                "list" => CqlType::List(inner),
                "set" => CqlType::Set(inner),
                _ => CqlType::Frozen(inner),
            }
        }
        "map" if generic => {
            expect(i, '<')?;
            let k = parse_type(toks, i)?;
            expect(i, ',')?;
            let v = parse_type(toks, i)?;
            expect(i, '>')?;
            CqlType::Map(Box::new(k), Box::new(v))
        }
        "tuple" if generic => {
            expect(i, '<')?;
            let mut ts = vec![parse_type(toks, i)?];
            while matches!(toks.get(*i), Some((Tok::Punct(','), _, _))) {
                *i += 1;
                ts.push(parse_type(toks, i)?);
            }
            expect(i, '>')?;
            CqlType::Tuple(ts)
        }
        "vector" if generic => {
            expect(i, '<')?;
            let t = parse_type(toks, i)?;
            expect(i, ',')?;
            let n = match next(i)? {
                Tok::Num(n) => n
                    .parse()
                    .map_err(|_| format!("a vector of `{n}` elements"))?,
                other => return Err(format!("expected a vector's size, found `{}`", other.cql())),
            };
            expect(i, '>')?;
            CqlType::Vector(Box::new(t), n)
        }
        n if NATIVE.contains(&n) => CqlType::Native(n.to_string()),
        // A user-defined type, perhaps with its keyspace.
        _ => {
            let mut udt = name;
            if matches!(toks.get(*i), Some((Tok::Punct('.'), _, _))) {
                *i += 1;
                udt = next(i)?
                    .ident()
                    .ok_or("expected a type's name after `.`")?
                    .to_string();
            }
            CqlType::Udt(udt)
        }
    };
    Ok(ty)
}

#[cfg(test)]
mod tests {
    use super::super::lex::tokens;
    use super::*;

    fn ty(s: &str) -> CqlType {
        let t = tokens(s).unwrap();
        let mut i = 0;
        let ty = parse_type(&t, &mut i).unwrap();
        assert_eq!(i, t.len(), "{s}");
        ty
    }

    #[test]
    fn types_read_and_print_back() {
        for s in [
            "int",
            "map<text, frozen<list<int>>>",
            "tuple<int, text, set<uuid>>",
            "frozen<address>",
            "vector<float, 3>",
        ] {
            assert_eq!(ty(s).to_string(), s);
        }
        assert_eq!(ty("shop.address"), CqlType::Udt("address".into()));
        assert_eq!(ty("frozen<map<int,text>>").rule_name(), "map");
    }
}
