//! The JSON form of [`Event`], written by hand for two reasons: serde cannot combine
//! `deny_unknown_fields` with a flattened payload (so a misspelt key would be dropped silently),
//! and the derived form would buffer every payload before decoding it, which halves ingest speed.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Event, EventData, EventType};

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Time,
    IngestTime,
    Source,
    Labels,
    Type,
    Data,
}

/// Decodes a payload once its type is known.
struct DataSeed(EventType);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = EventData;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EventData, D::Error> {
        Ok(match self.0 {
            EventType::HttpRequest => EventData::HttpRequest(Deserialize::deserialize(d)?),
            EventType::Auth => EventData::Auth(Deserialize::deserialize(d)?),
            EventType::Order => EventData::Order(Deserialize::deserialize(d)?),
            EventType::PaymentAuthorization => {
                EventData::PaymentAuthorization(Deserialize::deserialize(d)?)
            }
            EventType::Chargeback => EventData::Chargeback(Deserialize::deserialize(d)?),
            EventType::FraudVerdict => EventData::FraudVerdict(Deserialize::deserialize(d)?),
            EventType::DeliveryScan => EventData::DeliveryScan(Deserialize::deserialize(d)?),
            EventType::SensorReading => EventData::SensorReading(Deserialize::deserialize(d)?),
            EventType::DeliveryPlan => EventData::DeliveryPlan(Deserialize::deserialize(d)?),
            EventType::DeliveryClaim => EventData::DeliveryClaim(Deserialize::deserialize(d)?),
            EventType::BadgeAccess => EventData::BadgeAccess(Deserialize::deserialize(d)?),
            EventType::NetworkFlow => EventData::NetworkFlow(Deserialize::deserialize(d)?),
            EventType::FileChange => EventData::FileChange(Deserialize::deserialize(d)?),
            EventType::PageSnapshot => EventData::PageSnapshot(Deserialize::deserialize(d)?),
            EventType::PageChange => EventData::PageChange(Deserialize::deserialize(d)?),
            EventType::CspViolation => EventData::CspViolation(Deserialize::deserialize(d)?),
            EventType::ExternalAlert => EventData::ExternalAlert(Deserialize::deserialize(d)?),
        })
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object with `type`, `time`, `source` and `data`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut time = None;
        let mut ingest_time = None;
        let mut source = None;
        let mut labels = None;
        let mut ty: Option<EventType> = None;
        let mut data: Option<EventData> = None;
        // `data` before `type`: keep it as a JSON value until the type is known.
        let mut early_data: Option<serde_json::Value> = None;
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::Time => set(&mut time, map.next_value()?, "time")?,
                Field::IngestTime => set(&mut ingest_time, map.next_value()?, "ingest_time")?,
                Field::Source => set(&mut source, map.next_value()?, "source")?,
                Field::Labels => set(&mut labels, map.next_value()?, "labels")?,
                Field::Type => set(&mut ty, map.next_value()?, "type")?,
                Field::Data => {
                    if data.is_some() || early_data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    match ty {
                        Some(t) => data = Some(map.next_value_seed(DataSeed(t))?),
                        None => early_data = Some(map.next_value()?),
                    }
                }
            }
        }
        let ty = ty.ok_or_else(|| de::Error::missing_field("type"))?;
        let data = match (data, early_data) {
            (Some(d), _) => d,
            (None, Some(v)) => DataSeed(ty).deserialize(v).map_err(de::Error::custom)?,
            (None, None) => return Err(de::Error::missing_field("data")),
        };
        Ok(Event {
            time: time.ok_or_else(|| de::Error::missing_field("time"))?,
            ingest_time: ingest_time.flatten(),
            source: source.ok_or_else(|| de::Error::missing_field("source"))?,
            labels: labels.unwrap_or_default(),
            data,
        })
    }
}

fn set<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        d.deserialize_map(EventVisitor)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", &self.event_type())?;
        map.serialize_entry("time", &self.time)?;
        if let Some(t) = &self.ingest_time {
            map.serialize_entry("ingest_time", t)?;
        }
        map.serialize_entry("source", &self.source)?;
        if !self.labels.is_empty() {
            map.serialize_entry("labels", &self.labels)?;
        }
        match &self.data {
            EventData::HttpRequest(p) => map.serialize_entry("data", p)?,
            EventData::Auth(p) => map.serialize_entry("data", p)?,
            EventData::Order(p) => map.serialize_entry("data", p)?,
            EventData::PaymentAuthorization(p) => map.serialize_entry("data", p)?,
            EventData::Chargeback(p) => map.serialize_entry("data", p)?,
            EventData::FraudVerdict(p) => map.serialize_entry("data", p)?,
            EventData::DeliveryScan(p) => map.serialize_entry("data", p)?,
            EventData::SensorReading(p) => map.serialize_entry("data", p)?,
            EventData::DeliveryPlan(p) => map.serialize_entry("data", p)?,
            EventData::DeliveryClaim(p) => map.serialize_entry("data", p)?,
            EventData::BadgeAccess(p) => map.serialize_entry("data", p)?,
            EventData::NetworkFlow(p) => map.serialize_entry("data", p)?,
            EventData::FileChange(p) => map.serialize_entry("data", p)?,
            EventData::PageSnapshot(p) => map.serialize_entry("data", p)?,
            EventData::PageChange(p) => map.serialize_entry("data", p)?,
            EventData::CspViolation(p) => map.serialize_entry("data", p)?,
            EventData::ExternalAlert(p) => map.serialize_entry("data", p)?,
        }
        map.end()
    }
}

impl schemars::JsonSchema for Event {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        super::EventShape::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        super::EventShape::json_schema(generator)
    }
}
