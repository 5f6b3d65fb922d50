//! What a sample of documents holds: per field path its BSON types with their
//! counts, how often it is present, what nested documents and arrays hold.

use std::collections::{BTreeMap, HashMap, HashSet};

use bson::{Bson, Document};

use crate::kind::type_name;

/// What the sampled values of one field (or of one array's elements) were.
#[derive(Debug, Default, Clone)]
pub struct FieldStats {
    /// Values seen (documents holding the field; for elements, elements).
    pub seen: u64,
    /// BSON type name => values of that type.
    pub types: BTreeMap<&'static str, u64>,
    /// Fields of the values that were documents, in first-seen order.
    pub fields: Vec<(String, FieldStats)>,
    index: HashMap<String, usize>,
    /// Elements of the values that were arrays.
    pub elements: Option<Box<FieldStats>>,
    pub max_len: u64,
    pub total_len: u64,
}

impl FieldStats {
    fn add(&mut self, b: &Bson) {
        self.seen += 1;
        *self.types.entry(type_name(b)).or_default() += 1;
        match b {
            Bson::Document(d) => self.add_fields(d),
            Bson::Array(items) => {
                let el = self.elements.get_or_insert_with(Default::default);
                for item in items {
                    el.add(item);
                }
                self.max_len = self.max_len.max(items.len() as u64);
                self.total_len += items.len() as u64;
            }
            _ => {}
        }
    }

    fn add_fields(&mut self, d: &Document) {
        for (name, v) in d {
            let i = match self.index.get(name) {
                Some(&i) => i,
                None => {
                    self.index.insert(name.clone(), self.fields.len());
                    self.fields.push((name.clone(), FieldStats::default()));
                    self.fields.len() - 1
                }
            };
            self.fields[i].1.add(v);
        }
    }

    /// Types other than null.
    pub fn value_types(&self) -> Vec<&'static str> {
        self.types
            .keys()
            .copied()
            .filter(|t| *t != "null")
            .collect()
    }

    /// `string 80%, null 20%` of the values seen.
    pub fn describe_types(&self) -> String {
        let mut types: Vec<(&str, u64)> = self.types.iter().map(|(t, n)| (*t, *n)).collect();
        types.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        types
            .iter()
            .map(|(t, n)| format!("{t} {}", percent(*n, self.seen)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Nesting below this value: 0 for scalars.
    pub fn depth(&self) -> u32 {
        let fields = self
            .fields
            .iter()
            .map(|(_, f)| 1 + f.depth())
            .max()
            .unwrap_or(0);
        // An array is one level: its documents' fields are the next.
        let elements = self.elements.as_ref().map_or(0, |e| e.depth());
        fields.max(elements)
    }
}

pub fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        return "0%".into();
    }
    let p = n as f64 * 100.0 / of as f64;
    if p > 99.0 && n < of {
        format!("{p:.1}%")
    } else if p < 1.0 && n > 0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.0}%")
    }
}

/// What a sample of one collection's documents holds.
#[derive(Debug, Default, Clone)]
pub struct CollectionStats {
    pub documents: u64,
    /// The documents' fields (their `seen` counts documents).
    pub root: FieldStats,
    shapes: HashSet<u64>,
}

/// Distinct shapes are counted up to this many.
const MAX_SHAPES: usize = 10_000;

impl CollectionStats {
    pub fn add(&mut self, d: &Document) {
        self.documents += 1;
        self.root.seen += 1;
        self.root.add_fields(d);
        if self.shapes.len() < MAX_SHAPES {
            self.shapes.insert(shape_hash(d));
        }
    }

    /// Distinct sets of field paths (a field's type not counted).
    pub fn shapes(&self) -> usize {
        self.shapes.len()
    }

    pub fn depth(&self) -> u32 {
        self.root.depth()
    }

    /// The longest array anywhere in the sampled documents.
    pub fn max_array(&self) -> u64 {
        fn walk(f: &FieldStats) -> u64 {
            let here = f.max_len;
            let fields = f.fields.iter().map(|(_, s)| walk(s)).max().unwrap_or(0);
            let el = f.elements.as_ref().map_or(0, |e| walk(e));
            here.max(fields).max(el)
        }
        walk(&self.root)
    }
}

fn shape_hash(d: &Document) -> u64 {
    fn walk(d: &Document, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in d {
            let path = format!("{prefix}{k}");
            if let Bson::Document(sub) = v {
                walk(sub, &format!("{path}."), out);
            }
            out.push(path);
        }
    }
    let mut paths = Vec::new();
    walk(d, "", &mut paths);
    paths.sort();
    xxhash_rust::xxh3::xxh3_64(paths.join("\0").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn types_coverage_and_arrays_are_counted() {
        let mut s = CollectionStats::default();
        s.add(&doc! {"a": 1, "b": {"c": "x"}, "t": [1, 2, 3]});
        s.add(&doc! {"a": "one", "t": []});
        s.add(&doc! {"b": {"c": "y", "d": null}});
        let a = &s.root.fields[0].1;
        assert_eq!(a.seen, 2);
        assert_eq!(a.describe_types(), "int 50%, string 50%");
        let b = &s.root.fields[1].1;
        assert_eq!(b.fields.len(), 2);
        let t = &s.root.fields[2].1;
        assert_eq!((t.max_len, t.total_len), (3, 3));
        assert_eq!(s.shapes(), 3);
        assert_eq!(s.depth(), 2);
        let mut deep = CollectionStats::default();
        deep.add(&doc! {"items": [{"parts": [{"p": 1}]}]});
        assert_eq!(deep.depth(), 3);
    }
}
