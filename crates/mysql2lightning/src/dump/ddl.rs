//! `CREATE TABLE` statements of a dump → the model, normalised the way the server's
//! `information_schema` shows the same table: type synonyms resolved (`BOOL` is
//! `tinyint(1)`, `INTEGER` is `int`, `DEC` is `decimal(10,0)`), unnamed keys named
//! as MySQL names them (after their first column; foreign keys `table_ibfk_N`).

use crate::model::{
    quote_literal, render_enum, MyCheck, MyColumn, MyForeignKey, MyIndex, MyIndexKind, MyTable,
};

use super::lex::{Lexer, Tok};

fn word_is(t: &Tok<'_>, w: &str) -> bool {
    matches!(t, Tok::Word(x) if x.eq_ignore_ascii_case(w))
}

/// Parse a `CREATE TABLE` statement (already known to be one). `Err` is a message.
pub fn parse_create_table(stmt: &[u8]) -> Result<MyTable, String> {
    let mut lx = Lexer::new(stmt, false, 1);
    lx.eat_word("CREATE");
    lx.eat_word("TEMPORARY");
    if !lx.eat_word("TABLE") {
        return Err("expected CREATE TABLE".into());
    }
    if lx.eat_word("IF") {
        lx.eat_word("NOT");
        lx.eat_word("EXISTS");
    }
    let name = lx.name().ok_or("expected a table name")?;
    let mut t = MyTable {
        name: name.clone(),
        ..Default::default()
    };
    if lx.eat_word("LIKE") || !lx.eat_punct(b'(') {
        return Err(format!(
            "CREATE TABLE `{name}` has no column list (CREATE TABLE ... LIKE / AS SELECT are not supported)"
        ));
    }
    let mut table_charset: Option<String> = None;
    let mut table_collation: Option<String> = None;
    let mut unnamed_fk = 0;
    loop {
        let t0 = lx.peek();
        if t0 == Tok::Punct(b')') {
            lx.next();
            break;
        }
        if t0 == Tok::Eof {
            return Err(format!("CREATE TABLE `{name}` ends inside its column list"));
        }
        definition(&mut lx, &mut t, &mut unnamed_fk)?;
        match lx.next() {
            Tok::Punct(b',') => {}
            Tok::Punct(b')') => break,
            other => {
                return Err(format!(
                    "in CREATE TABLE `{name}`: unexpected {other:?} after a definition"
                ))
            }
        }
    }
    // Table options.
    loop {
        let tok = lx.next();
        match tok {
            Tok::Eof => break,
            Tok::Word(w) => {
                let w = w.to_ascii_uppercase();
                lx.eat_punct(b'=');
                match w.as_str() {
                    "ENGINE" | "TYPE" => t.engine = lx.name(),
                    "AUTO_INCREMENT" => {
                        if let Tok::Num(n) = lx.next() {
                            t.auto_increment = n.parse().ok();
                        }
                    }
                    "CHARSET" => table_charset = lx.name().map(|s| s.to_ascii_lowercase()),
                    "CHARACTER" => {
                        lx.eat_word("SET");
                        lx.eat_punct(b'=');
                        table_charset = lx.name().map(|s| s.to_ascii_lowercase());
                    }
                    "COLLATE" => table_collation = lx.name().map(|s| s.to_ascii_lowercase()),
                    "PARTITION" => {
                        t.partitioned = true;
                        break;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // The table's collation: as given, or its character set's default (the server
    // names both in its dumps; older ones may give only the character set).
    let table_charset = table_charset
        .or_else(|| table_collation.as_deref().map(charset_of))
        .unwrap_or_else(|| "utf8mb4".into());
    let table_collation = table_collation.unwrap_or_else(|| default_collation(&table_charset));
    t.collation = Some(table_collation.clone());
    // A column takes the table's character set and collation unless it names its
    // own; a character set named alone comes with its default collation.
    for c in &mut t.columns {
        let kind = crate::mapping::Kind::of(&c.column_type);
        if kind.is_character()
            && !matches!(
                kind,
                crate::mapping::Kind::Decimal | crate::mapping::Kind::Unknown
            )
        {
            match (&c.charset, &c.collation) {
                (None, None) => {
                    c.charset = Some(table_charset.clone());
                    c.collation = Some(table_collation.clone());
                }
                (None, Some(coll)) => c.charset = Some(charset_of(coll)),
                (Some(cs), None) => c.collation = Some(default_collation(cs)),
                (Some(_), Some(_)) => {}
            }
        }
        if matches!(kind, crate::mapping::Kind::Json) {
            c.charset = None;
            c.collation = None;
        }
    }
    crate::convert::finish_table(&mut t);
    Ok(t)
}

/// The character set a collation belongs to (`utf8mb4_bin` → `utf8mb4`).
fn charset_of(collation: &str) -> String {
    if collation == "binary" {
        return "binary".into();
    }
    collation.split('_').next().unwrap_or(collation).to_string()
}

/// The default collation of a character set, as MariaDB names it (MySQL 8 and
/// newer MariaDB dumps always name the collation, so this is for older dumps).
fn default_collation(charset: &str) -> String {
    let suffix = match charset {
        "binary" => return "binary".into(),
        "latin1" | "dec8" | "swe7" => "swedish_ci",
        "big5" | "gb2312" | "gbk" | "gb18030" => "chinese_ci",
        "sjis" | "ujis" | "cp932" | "eucjpms" => "japanese_ci",
        "euckr" => "korean_ci",
        "tis620" => "thai_ci",
        "latin5" => "turkish_ci",
        "hp8" => "english_ci",
        "utf8" => return "utf8mb3_general_ci".into(),
        _ => "general_ci",
    };
    format!("{charset}_{suffix}")
}

/// Key columns: (name, prefix length); a `None` name is an expression.
type KeyParts = Vec<(Option<String>, Option<u32>)>;

fn index_columns(lx: &mut Lexer<'_>) -> Result<KeyParts, String> {
    if !lx.eat_punct(b'(') {
        return Err("expected ( before the key's columns".into());
    }
    let mut cols = Vec::new();
    loop {
        if lx.eat_punct(b'(') {
            lx.group();
            cols.push((None, None));
        } else {
            let c = lx.name().ok_or("expected a column name in a key")?;
            let mut prefix = None;
            if lx.eat_punct(b'(') {
                if let Tok::Num(n) = lx.next() {
                    prefix = n.parse().ok();
                }
                lx.eat_punct(b')');
            }
            cols.push((Some(c), prefix));
        }
        lx.eat_word("ASC");
        lx.eat_word("DESC");
        match lx.next() {
            Tok::Punct(b',') => {}
            Tok::Punct(b')') => break,
            other => return Err(format!("unexpected {other:?} in a key's columns")),
        }
    }
    Ok(cols)
}

fn name_list(lx: &mut Lexer<'_>) -> Result<Vec<String>, String> {
    Ok(index_columns(lx)?
        .into_iter()
        .filter_map(|(c, _)| c)
        .collect())
}

/// Skip index options (`USING BTREE`, `COMMENT '...'`, `KEY_BLOCK_SIZE=...`) up to the
/// next `,` or `)`; returns the `USING` type if any.
fn index_tail(lx: &mut Lexer<'_>) -> Option<String> {
    let mut using = None;
    loop {
        match lx.peek() {
            Tok::Punct(b',') | Tok::Punct(b')') | Tok::Eof => return using,
            t if word_is(&t, "USING") => {
                lx.next();
                using = lx.name().map(|s| s.to_ascii_uppercase());
            }
            Tok::Punct(b'(') => {
                lx.next();
                lx.group();
            }
            _ => {
                lx.next();
            }
        }
    }
}

fn unique_index_name(t: &MyTable, first: &str) -> String {
    if !t.indexes.iter().any(|i| i.name == first) {
        return first.to_string();
    }
    (2..)
        .map(|n| format!("{first}_{n}"))
        .find(|n| !t.indexes.iter().any(|i| &i.name == n))
        .expect("a free name")
}

fn definition(lx: &mut Lexer<'_>, t: &mut MyTable, unnamed_fk: &mut usize) -> Result<(), String> {
    let first = lx.peek();
    let mut constraint: Option<String> = None;
    if word_is(&first, "CONSTRAINT") {
        lx.next();
        let next = lx.peek();
        if !(word_is(&next, "PRIMARY")
            || word_is(&next, "UNIQUE")
            || word_is(&next, "FOREIGN")
            || word_is(&next, "CHECK"))
        {
            constraint = lx.name();
        }
    }
    let head = lx.peek();
    let is = |w: &str| word_is(&head, w);
    if is("PRIMARY") {
        lx.next();
        lx.eat_word("KEY");
        let before = lx.peek();
        if word_is(&before, "USING") {
            lx.next();
            lx.name();
        }
        let cols = index_columns(lx)?;
        index_tail(lx);
        t.primary_key = cols.iter().filter_map(|(c, _)| c.clone()).collect();
        if cols.iter().any(|(_, p)| p.is_some()) {
            t.indexes.push(MyIndex {
                name: "PRIMARY".into(),
                kind: MyIndexKind::BTree,
                unique: true,
                columns: cols,
            });
        }
        return Ok(());
    }
    if is("UNIQUE") || is("KEY") || is("INDEX") || is("FULLTEXT") || is("SPATIAL") {
        lx.next();
        let (unique, mut kind) = if is("UNIQUE") {
            (true, MyIndexKind::BTree)
        } else if is("FULLTEXT") {
            (false, MyIndexKind::FullText)
        } else if is("SPATIAL") {
            (false, MyIndexKind::Spatial)
        } else {
            (false, MyIndexKind::BTree)
        };
        if !is("KEY") && !is("INDEX") {
            let _ = lx.eat_word("KEY") || lx.eat_word("INDEX");
        }
        let mut name = None;
        if lx.peek() != Tok::Punct(b'(') && !word_is(&lx.peek(), "USING") {
            name = lx.name();
        }
        if lx.eat_word("USING") && lx.name().is_some_and(|u| u.eq_ignore_ascii_case("HASH")) {
            kind = MyIndexKind::Hash;
        }
        let cols = index_columns(lx)?;
        if index_tail(lx).as_deref() == Some("HASH") {
            kind = MyIndexKind::Hash;
        }
        let name = name
            .or(constraint)
            .unwrap_or_else(|| unique_index_name(t, cols[0].0.as_deref().unwrap_or("expr")));
        t.indexes.push(MyIndex {
            name,
            kind,
            unique,
            columns: cols,
        });
        return Ok(());
    }
    if is("FOREIGN") {
        lx.next();
        lx.eat_word("KEY");
        let mut index_name = None;
        if lx.peek() != Tok::Punct(b'(') {
            index_name = lx.name();
        }
        let columns = name_list(lx)?;
        if !lx.eat_word("REFERENCES") {
            return Err("expected REFERENCES in a foreign key".into());
        }
        let ref_table = lx.name().ok_or("expected the referenced table")?;
        let ref_columns = name_list(lx)?;
        let mut fk = MyForeignKey {
            name: String::new(),
            columns,
            ref_table,
            ref_columns,
            on_delete: None,
            on_update: None,
        };
        while lx.eat_word("ON") || lx.eat_word("MATCH") {
            let which = lx.name().unwrap_or_default().to_ascii_uppercase();
            if which == "FULL" || which == "PARTIAL" || which == "SIMPLE" {
                continue;
            }
            let action = if lx.eat_word("SET") {
                format!("SET {}", lx.name().unwrap_or_default().to_ascii_uppercase())
            } else if lx.eat_word("NO") {
                lx.eat_word("ACTION");
                "NO ACTION".into()
            } else {
                lx.name().unwrap_or_default().to_ascii_uppercase()
            };
            let action = (action != "NO ACTION" && action != "RESTRICT").then_some(action);
            if which == "DELETE" {
                fk.on_delete = action;
            } else {
                fk.on_update = action;
            }
        }
        fk.name = match constraint.or(index_name) {
            Some(n) => n,
            None => {
                *unnamed_fk += 1;
                format!("{}_ibfk_{}", t.name, unnamed_fk)
            }
        };
        t.foreign_keys.push(fk);
        return Ok(());
    }
    if is("CHECK") {
        lx.next();
        lx.eat_punct(b'(');
        let expression = lx.group();
        t.checks.push(MyCheck {
            name: constraint,
            expression,
        });
        index_tail(lx);
        return Ok(());
    }
    column(lx, t)
}

/// A column definition.
fn column(lx: &mut Lexer<'_>, t: &mut MyTable) -> Result<(), String> {
    let name = lx.name().ok_or("expected a column name")?;
    let ty = match lx.next() {
        Tok::Word(w) => w.to_ascii_lowercase(),
        other => return Err(format!("column `{name}`: expected a type, found {other:?}")),
    };
    let mut ty = match ty.as_str() {
        "double" if lx.eat_word("PRECISION") => "double".to_string(),
        "character" | "char" if lx.eat_word("VARYING") => "varchar".to_string(),
        "national" => {
            let n = lx.name().unwrap_or_default().to_ascii_lowercase();
            if n == "char" && lx.eat_word("VARYING") {
                "varchar".into()
            } else {
                n
            }
        }
        "long" => {
            if lx.eat_word("VARBINARY") {
                "mediumblob".into()
            } else {
                lx.eat_word("VARCHAR");
                "mediumtext".into()
            }
        }
        other => other.to_string(),
    };
    let mut params: Option<String> = None;
    if lx.eat_punct(b'(') {
        params = Some(lx.group());
    }
    let mut unsigned = false;
    let mut zerofill = false;
    loop {
        if lx.eat_word("UNSIGNED") {
            unsigned = true;
        } else if lx.eat_word("SIGNED") {
        } else if lx.eat_word("ZEROFILL") {
            zerofill = true;
            unsigned = true;
        } else {
            break;
        }
    }
    // Synonyms, as the server resolves them.
    let mut extra_unique = false;
    let mut not_null = false;
    let mut auto_increment = false;
    ty = match ty.as_str() {
        "bool" | "boolean" => {
            params = Some("1".into());
            "tinyint".into()
        }
        "integer" | "int4" => "int".into(),
        "int1" => "tinyint".into(),
        "int2" => "smallint".into(),
        "int3" | "middleint" => "mediumint".into(),
        "int8" => "bigint".into(),
        "dec" | "numeric" | "fixed" => "decimal".into(),
        "real" | "float8" => "double".into(),
        "float4" => "float".into(),
        "character" => "char".into(),
        "serial" => {
            unsigned = true;
            not_null = true;
            auto_increment = true;
            extra_unique = true;
            "bigint".into()
        }
        "float" => match params.as_deref().map(|p| p.split(',').count()) {
            Some(1) => {
                let p: u32 = params.as_deref().unwrap_or("0").trim().parse().unwrap_or(0);
                params = None;
                if p > 24 {
                    "double".into()
                } else {
                    "float".into()
                }
            }
            _ => "float".into(),
        },
        other => other.to_string(),
    };
    if ty == "decimal" && params.is_none() {
        params = Some("10,0".into());
    }
    if (ty == "char" || ty == "binary") && params.is_none() {
        params = Some("1".into());
    }
    if ty == "bit" && params.is_none() {
        params = Some("1".into());
    }
    let column_type = if ty == "enum" || ty == "set" {
        let raw = format!("{ty}({})", params.clone().unwrap_or_default());
        render_enum(&ty, &crate::model::enum_values(&raw))
    } else {
        let mut s = ty.clone();
        if let Some(p) = &params {
            let p: Vec<String> = p.split(',').map(|x| x.trim().to_string()).collect();
            s.push_str(&format!("({})", p.join(",")));
        }
        if unsigned {
            s.push_str(" unsigned");
        }
        if zerofill {
            s.push_str(" zerofill");
        }
        s
    };
    let mut col = MyColumn {
        name: name.clone(),
        column_type,
        nullable: !not_null,
        default: None,
        auto_increment,
        on_update: None,
        charset: None,
        collation: None,
        generated: None,
    };
    loop {
        let tok = lx.peek();
        match tok {
            Tok::Punct(b',') | Tok::Punct(b')') | Tok::Eof => break,
            _ => {}
        }
        let tok = lx.next();
        let Tok::Word(w) = tok else {
            continue;
        };
        match w.to_ascii_uppercase().as_str() {
            "NOT" if lx.eat_word("NULL") => col.nullable = false,
            "NULL" => col.nullable = true,
            "DEFAULT" => col.default = Some(default_expr(lx)),
            "AUTO_INCREMENT" => col.auto_increment = true,
            "UNIQUE" => {
                lx.eat_word("KEY");
                extra_unique = true;
            }
            "PRIMARY" => {
                lx.eat_word("KEY");
                t.primary_key = vec![name.clone()];
                col.nullable = false;
            }
            "KEY" => {
                t.primary_key = vec![name.clone()];
                col.nullable = false;
            }
            "CHARACTER" | "CHARSET" => {
                lx.eat_word("SET");
                col.charset = lx.name().map(|s| s.to_ascii_lowercase());
            }
            "COLLATE" => col.collation = lx.name().map(|s| s.to_ascii_lowercase()),
            "BINARY" => {}
            "COMMENT" => {
                lx.next();
            }
            "ON" if lx.eat_word("UPDATE") => {
                col.on_update = Some(crate::model::normalise_default(&default_expr(lx)));
            }
            "GENERATED" => {
                lx.eat_word("ALWAYS");
            }
            "AS" => {
                lx.eat_punct(b'(');
                let expr = lx.group();
                let stored = lx.eat_word("STORED") || lx.eat_word("PERSISTENT");
                lx.eat_word("VIRTUAL");
                col.generated = Some((expr, stored));
            }
            "CHECK" => {
                lx.eat_punct(b'(');
                let expression = lx.group();
                t.checks.push(MyCheck {
                    name: None,
                    expression,
                });
            }
            "REFERENCES" => {
                let ref_table = lx.name().unwrap_or_default();
                let ref_columns = name_list(lx).unwrap_or_default();
                let n = t.foreign_keys.len() + 1;
                t.foreign_keys.push(MyForeignKey {
                    name: format!("{}_ibfk_{n}", t.name),
                    columns: vec![name.clone()],
                    ref_table,
                    ref_columns,
                    on_delete: None,
                    on_update: None,
                });
            }
            "SRID" | "COLUMN_FORMAT" | "STORAGE" => {
                lx.next();
            }
            _ => {}
        }
    }
    if extra_unique {
        let n = unique_index_name(t, &name);
        t.indexes.push(MyIndex {
            name: n,
            kind: MyIndexKind::BTree,
            unique: true,
            columns: vec![(Some(name.clone()), None)],
        });
    }
    t.columns.push(col);
    Ok(())
}

/// A DEFAULT value as text: a literal (strings re-quoted MySQL style), a word such
/// as CURRENT_TIMESTAMP with its parentheses, or a parenthesised expression.
fn default_expr(lx: &mut Lexer<'_>) -> String {
    let neg = lx.eat_punct(b'-');
    let sign = if neg { "-" } else { "" };
    match lx.next() {
        Tok::Str(s) => quote_literal(&String::from_utf8_lossy(&s)),
        Tok::Num(n) => format!("{sign}{n}"),
        Tok::Bits(b) => b.to_string(),
        Tok::Hex(h) => {
            let mut s = "0x".to_string();
            for x in h {
                s.push_str(&format!("{x:02x}"));
            }
            s
        }
        Tok::Word(w) => {
            if w.starts_with('_') {
                // A character-set introducer before a string.
                if let Tok::Str(s) = lx.peek() {
                    lx.next();
                    return quote_literal(&String::from_utf8_lossy(&s));
                }
            }
            let mut out = w.to_string();
            if lx.eat_punct(b'(') {
                out.push_str(&format!("({})", lx.group()));
            }
            out
        }
        Tok::Punct(b'(') => format!("({})", lx.group()),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_mysqldump_table() {
        let sql = br#"CREATE TABLE `t` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `b` BOOL DEFAULT '1',
  `e` enum('a','b c') DEFAULT 'a',
  `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),
  `u` bigint(20) unsigned DEFAULT NULL,
  `ts` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  `g` int(11) GENERATED ALWAYS AS (`id` * 2) VIRTUAL,
  /*!50705 location GEOMETRY NOT NULL,*/
  `p` int NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY (`u`),
  KEY `k` (`e`(1)),
  /*!50705 SPATIAL KEY `idx_location` (location),*/
  CONSTRAINT fk FOREIGN KEY (p) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE RESTRICT
) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=latin1"#;
        let t = parse_create_table(sql).unwrap();
        let ty: Vec<&str> = t.columns.iter().map(|c| c.column_type.as_str()).collect();
        assert_eq!(
            ty,
            vec![
                "int(11)",
                "tinyint(1)",
                "enum('a','b c')",
                "json",
                "bigint(20) unsigned",
                "timestamp",
                "int(11)",
                "geometry",
                "int"
            ]
        );
        assert_eq!(t.columns[1].default.as_deref(), Some("1"));
        assert_eq!(t.columns[2].default.as_deref(), Some("'a'"));
        assert_eq!(t.columns[2].charset.as_deref(), Some("latin1"));
        assert_eq!(t.columns[5].default.as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(t.columns[5].on_update.as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(t.columns[6].generated, Some(("`id` * 2".into(), false)));
        assert!(t.checks.is_empty(), "json_valid is the JSON type");
        assert_eq!(t.auto_increment, Some(42));
        assert_eq!(t.primary_key, vec!["id"]);
        let names: Vec<&str> = t.indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["fk", "idx_location", "k", "u"]);
        assert_eq!(t.foreign_keys[0].on_delete.as_deref(), Some("CASCADE"));
        assert_eq!(t.foreign_keys[0].on_update, None);
    }
}
