//! Tables that hold their own fields and one tagged entry: an event's `at` beside its action
//! (`down = "hostA:eth0"`), a goal's `at` beside what it checks (`negotiated = "hostB"`), a
//! count's `node` and `text` beside its comparison (`at_least = 9`).
//!
//! The tag is the key of an entry whose value belongs to it, as in serde's externally tagged
//! enums; but serde wants that entry alone in its table, and `#[serde(flatten)]` first copies
//! the table into a buffer that forgets where each value was written. [`read`] reads the
//! table once, as the TOML parser hands it over, so every mistake keeps its place: an unknown
//! key at the key, a value of the wrong type at the value, a missing field or a second tag
//! at the table. The fields are a derived struct and the tags a derived enum; their names
//! come from the derives (see [`names_of`]), so nothing here is written twice.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, VariantAccess,
    Visitor,
};
use serde::{forward_to_deserialize_any, Deserialize};

/// How a table with a tag is spoken of in errors.
pub(crate) struct Shape {
    /// The table, with its article: "an event".
    pub what: &'static str,
    /// What the tag chooses: "action".
    pub tag: &'static str,
    /// Whether the table must have a tag (else it may have none).
    pub required: bool,
    /// Said after "this one has `a` and `b`", when there is an obvious fix.
    pub fix: &'static str,
    /// A table of this shape, as written in a file.
    pub example: &'static str,
}

impl Shape {
    /// "an event needs exactly one action (ping, down or up)".
    fn needs(&self, tags: &[&str]) -> String {
        let one = if self.required { "exactly one" } else { "at most one" };
        format!("{} needs {one} {} ({})", self.what, self.tag, list(tags, "or"))
    }

    /// The error of a table without its required tag.
    fn none(&self, tags: &[&str]) -> String {
        format!("{}; this one has none", self.needs(tags))
    }

    /// "an event has `at` and one action (ping, down or up)".
    fn has(&self, fields: &[&str], tags: &[&str]) -> String {
        let one = if self.required { "one" } else { "at most one" };
        let mut parts: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
        parts.push(format!("{one} {} ({})", self.tag, list(tags, "or")));
        format!("{} has {}", self.what, list(&parts, "and"))
    }
}

/// Reads a table holding the fields of `F` (a derived struct with named fields) and, under
/// `shape`'s rules, one entry whose key names a variant of `K` (a derived enum whose variants
/// each hold one value). Call it from `Deserialize::deserialize` with the table's deserializer.
pub(crate) fn read<'de, D, F, K>(d: D, shape: &'static Shape) -> Result<(F, Option<K>), D::Error>
where
    D: Deserializer<'de>,
    F: Deserialize<'de>,
    K: Deserialize<'de>,
{
    d.deserialize_map(TableVisitor { shape, marker: PhantomData })
}

/// [`read`] for a table whose `shape` requires its tag.
pub(crate) fn read_one<'de, D, F, K>(d: D, shape: &'static Shape) -> Result<(F, K), D::Error>
where
    D: Deserializer<'de>,
    F: Deserialize<'de>,
    K: Deserialize<'de>,
{
    let (fields, tag) = read(d, shape)?;
    // `read` refused a table without a tag already, where it was written.
    let tag = tag.ok_or_else(|| de::Error::custom(shape.none(names_of::<K>())))?;
    Ok((fields, tag))
}

struct TableVisitor<F, K> {
    shape: &'static Shape,
    marker: PhantomData<fn() -> (F, K)>,
}

impl<'de, F: Deserialize<'de>, K: Deserialize<'de>> Visitor<'de> for TableVisitor<F, K> {
    type Value = (F, Option<K>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} such as {}", self.shape.what, self.shape.example)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut table = Table {
            map,
            shape: self.shape,
            fields: names_of::<F>(),
            tags: names_of::<K>(),
            tag: None,
        };
        let fields = F::deserialize(&mut table)?;
        match table.tag {
            Some((_, value)) => Ok((fields, Some(value))),
            None if self.shape.required => Err(de::Error::custom(self.shape.none(table.tags))),
            None => Ok((fields, None)),
        }
    }
}

/// The table as `F` sees it: its fields only. The tag's entry is read into `tag` on the way.
struct Table<A, K> {
    map: A,
    shape: &'static Shape,
    fields: &'static [&'static str],
    tags: &'static [&'static str],
    tag: Option<(String, K)>,
}

impl<'de, A: MapAccess<'de>, K: Deserialize<'de>> MapAccess<'de> for Table<A, K> {
    type Error = A::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        mut seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        loop {
            let key = Key { seed, fields: self.fields, tags: self.tags, shape: self.shape };
            match self.map.next_key_seed(key)? {
                None => return Ok(None),
                Some(Keyed::Field(field)) => return Ok(Some(field)),
                Some(Keyed::Tag(unused, name)) => {
                    if let Some((first, _)) = &self.tag {
                        // In the tags' order, whatever the order of the file.
                        let rank = |t: &str| self.tags.iter().position(|x| *x == t);
                        let (a, b) = if rank(first) <= rank(&name) {
                            (first.as_str(), name.as_str())
                        } else {
                            (name.as_str(), first.as_str())
                        };
                        return Err(de::Error::custom(format!(
                            "{}; this one has `{a}` and `{b}`{}",
                            self.shape.needs(self.tags),
                            self.shape.fix
                        )));
                    }
                    let value = K::deserialize(Entry { map: &mut self.map, name: &name })?;
                    self.tag = Some((name, value));
                    seed = unused;
                }
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

impl<'de, A: MapAccess<'de>, K: Deserialize<'de>> Deserializer<'de> for &mut Table<A, K> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// A key: one of `F`'s fields (read by `F`'s seed), or a tag (the seed is handed back).
enum Keyed<V, S> {
    Field(V),
    Tag(S, String),
}

struct Key<S> {
    seed: S,
    fields: &'static [&'static str],
    tags: &'static [&'static str],
    shape: &'static Shape,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Key<S> {
    type Value = Keyed<S::Value, S>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let name = String::deserialize(d)?;
        if self.tags.contains(&name.as_str()) {
            Ok(Keyed::Tag(self.seed, name))
        } else if self.fields.contains(&name.as_str()) {
            self.seed.deserialize(name.into_deserializer()).map(Keyed::Field)
        } else {
            Err(de::Error::custom(format!(
                "unknown key `{name}`: {}",
                self.shape.has(self.fields, self.tags)
            )))
        }
    }
}

/// The tag's entry, read as the externally tagged enum `K`: the key names the variant, the
/// value is the variant's.
struct Entry<'a, A> {
    map: &'a mut A,
    name: &'a str,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Entry<'_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Entry<'_, A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), A::Error> {
        let variant = seed.deserialize(self.name.into_deserializer())?;
        Ok((variant, self))
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Entry<'_, A> {
    type Error = A::Error;

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    // The tags' variants each hold one value (`down = "hostA:eth0"`): a value in a file is
    // never a unit, a tuple or a struct variant's fields.
    fn unit_variant(self) -> Result<(), A::Error> {
        Err(self.only_newtype())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, A::Error> {
        Err(self.only_newtype())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, A::Error> {
        Err(self.only_newtype())
    }
}

impl<A> Entry<'_, A> {
    fn only_newtype<E: de::Error>(&self) -> E {
        E::custom(format!("`{}`: a tag's variant holds one value", self.name))
    }
}

/// The field names of a derived struct, or the variant names of a derived enum: what the
/// derive passes to `deserialize_struct` or `deserialize_enum`, caught before any input is
/// read. Anything else has no names.
pub(crate) fn names_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(Probe) {
        Err(Names(names)) => names,
        Ok(_) => &[],
    }
}

struct Probe;

#[derive(Debug)]
struct Names(&'static [&'static str]);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Names {}

impl de::Error for Names {
    fn custom<T: fmt::Display>(_: T) -> Names {
        Names(&[])
    }
}

impl<'de> Deserializer<'de> for Probe {
    type Error = Names;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Names> {
        Err(Names(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Names> {
        Err(Names(fields))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Names> {
        Err(Names(variants))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

/// `a, b or c` (`conj` "or"), `a, b and c` (`conj` "and").
fn list<S: AsRef<str>>(items: &[S], conj: &str) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} {conj} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Fields {
        at: u32,
        #[serde(rename = "when")]
        later: Option<u32>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Tag {
        Down(String),
        BridgeUp(String),
    }

    #[test]
    fn names_come_from_the_derives() {
        assert_eq!(names_of::<Fields>(), ["at", "when"]);
        assert_eq!(names_of::<Tag>(), ["down", "bridge_up"]);
        assert!(names_of::<u32>().is_empty());
    }

    #[test]
    fn lists_read_as_a_sentence() {
        assert_eq!(list(&["count", "at_least", "at_most"], "or"), "count, at_least or at_most");
        assert_eq!(list(&["`at`", "one action"], "and"), "`at` and one action");
        assert_eq!(list(&["at"], "or"), "at");
        assert_eq!(list::<&str>(&[], "or"), "");
    }
}
