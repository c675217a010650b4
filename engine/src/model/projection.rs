//! Reading a stored record with only some of its data fields: what aggregates use to fold many
//! records without building every field of each.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::Record;

/// Decodes a record's JSON keeping only the named top-level data fields (a dotted name keeps
/// its first segment); the other data fields are skipped without being built.
pub fn record_with_fields(json: &[u8], fields: &[String]) -> Result<Record, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let record = RecordSeed { fields }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(record)
}

struct RecordSeed<'f> {
    fields: &'f [String],
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Record;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Record, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let (mut id, mut form, mut version, mut form_version, mut data, mut stage) =
            (None, None, None, None, None, None);
        let (mut created_at, mut created_by, mut updated_at, mut updated_by) = (None, None, None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "id" => id = Some(map.next_value()?),
                "form" => form = Some(map.next_value()?),
                "version" => version = Some(map.next_value()?),
                "form_version" => form_version = Some(map.next_value()?),
                "data" => data = Some(map.next_value_seed(DataSeed { fields: self.fields })?),
                "stage" => stage = map.next_value()?,
                "created_at" => created_at = Some(map.next_value()?),
                "created_by" => created_by = Some(map.next_value()?),
                "updated_at" => updated_at = Some(map.next_value()?),
                "updated_by" => updated_by = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Record {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            form: form.ok_or_else(|| de::Error::missing_field("form"))?,
            version: version.ok_or_else(|| de::Error::missing_field("version"))?,
            form_version: form_version.ok_or_else(|| de::Error::missing_field("form_version"))?,
            data: data.ok_or_else(|| de::Error::missing_field("data"))?,
            stage,
            created_at: created_at.ok_or_else(|| de::Error::missing_field("created_at"))?,
            created_by: created_by.ok_or_else(|| de::Error::missing_field("created_by"))?,
            updated_at: updated_at.ok_or_else(|| de::Error::missing_field("updated_at"))?,
            updated_by: updated_by.ok_or_else(|| de::Error::missing_field("updated_by"))?,
        })
    }
}

struct DataSeed<'f> {
    fields: &'f [String],
}

impl DataSeed<'_> {
    fn wanted(&self, key: &str) -> bool {
        self.fields.iter().any(|field| field.split('.').next() == Some(key))
    }
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("record data")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.wanted(&key) {
                kept.insert(key.into_owned(), map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(kept))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_only_the_named_fields_and_the_envelope() {
        let record: Record = serde_json::from_value(json!({
            "id": "0190a0b0-0000-7000-8000-000000000001", "form": "accounts", "version": 3, "form_version": 2,
            "data": { "tier": "gold", "arr": 5, "notes": "long text", "address": { "city": "Lyon", "zip": "69001" },
                "a\"b": [1, { "x": null }] },
            "stage": "onboarding",
            "created_at": "2026-01-01T00:00:00Z", "created_by": "ana", "updated_at": "2026-01-02T00:00:00Z", "updated_by": "bo",
        }))
        .expect("record");
        let json = serde_json::to_vec(&record).expect("json");
        let fields = ["tier".to_owned(), "address.city".to_owned(), "missing".to_owned()];
        let projected = record_with_fields(&json, &fields).expect("projected");
        assert_eq!(projected.data, json!({ "tier": "gold", "address": { "city": "Lyon", "zip": "69001" } }));
        assert_eq!(Record { data: record.data.clone(), ..projected.clone() }, record);
        assert_eq!(record_with_fields(&json, &[]).expect("nothing").data, json!({}));
        assert!(record_with_fields(b"{\"id\": 1}", &fields).is_err());
    }
}
