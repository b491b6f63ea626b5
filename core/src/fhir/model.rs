//! The parts of FHIR R4 resources the adapter reads. Every field is optional and unknown fields are
//! ignored: servers differ in what they fill in, and a missing element is the mapping's problem to
//! judge, not the parser's.

use serde::Deserialize;
use serde_json::Value;

use super::FhirError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Meta {
    pub version_id: Option<String>,
    pub last_updated: Option<String>,
    pub tag: Vec<Coding>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Reference {
    pub reference: Option<String>,
}

impl Reference {
    /// The id of a reference to `kind`: `Organization/hosp-a`, an absolute URL ending in it, or
    /// a version-specific one (`…/_history/2`).
    pub fn id_of(&self, kind: &str) -> Option<&str> {
        let r = self.reference.as_deref()?;
        let r = r.split("/_history/").next()?;
        let mut parts = r.rsplitn(2, '/');
        let id = parts.next()?;
        let ty = parts.next()?.rsplit('/').next()?;
        // Only an id that can go into a URL unchanged: a server's reference never steers a path.
        (ty == kind && super::is_fhir_id(id)).then_some(id)
    }
}

/// An extension; only the value types the adapter reads are kept.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Extension {
    pub url: String,
    pub value_string: Option<String>,
    pub value_code: Option<String>,
    pub value_integer: Option<i64>,
    pub value_unsigned_int: Option<i64>,
    pub value_positive_int: Option<i64>,
    pub value_money: Option<Money>,
    pub extension: Vec<Extension>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Money {
    pub value: Option<f64>,
    pub currency: Option<String>,
}

/// The `_name`-style companion of a primitive: where its translations live.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PrimitiveExtras {
    pub extension: Vec<Extension>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
    #[serde(rename = "_display")]
    pub display_extras: Option<PrimitiveExtras>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CodeableConcept {
    pub coding: Vec<Coding>,
    pub text: Option<String>,
    #[serde(rename = "_text")]
    pub text_extras: Option<PrimitiveExtras>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Address {
    pub text: Option<String>,
    #[serde(rename = "_text")]
    pub text_extras: Option<PrimitiveExtras>,
    pub line: Vec<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    #[serde(rename = "_district")]
    pub district_extras: Option<PrimitiveExtras>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContactPoint {
    pub system: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HumanName {
    pub text: Option<String>,
    pub family: Option<String>,
    pub given: Vec<String>,
    pub extension: Vec<Extension>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Identifier {
    pub system: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Organization {
    pub id: Option<String>,
    pub active: Option<bool>,
    pub language: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "_name")]
    pub name_extras: Option<PrimitiveExtras>,
    pub alias: Vec<String>,
    #[serde(rename = "type")]
    pub kind: Vec<CodeableConcept>,
    pub part_of: Option<Reference>,
    pub address: Vec<Address>,
    pub telecom: Vec<ContactPoint>,
    pub extension: Vec<Extension>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthcareService {
    pub id: Option<String>,
    pub active: Option<bool>,
    pub language: Option<String>,
    pub provided_by: Option<Reference>,
    pub category: Vec<CodeableConcept>,
    pub name: Option<String>,
    #[serde(rename = "_name")]
    pub name_extras: Option<PrimitiveExtras>,
    pub comment: Option<String>,
    #[serde(rename = "_comment")]
    pub comment_extras: Option<PrimitiveExtras>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Qualification {
    pub code: CodeableConcept,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Practitioner {
    pub id: Option<String>,
    pub language: Option<String>,
    pub name: Vec<HumanName>,
    pub qualification: Vec<Qualification>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PractitionerRole {
    pub id: Option<String>,
    pub active: Option<bool>,
    pub practitioner: Option<Reference>,
    pub organization: Option<Reference>,
    pub healthcare_service: Vec<Reference>,
    pub code: Vec<CodeableConcept>,
    pub specialty: Vec<CodeableConcept>,
    pub extension: Vec<Extension>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Schedule {
    pub id: Option<String>,
    pub active: Option<bool>,
    pub actor: Vec<Reference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Slot {
    pub id: Option<String>,
    pub meta: Meta,
    pub schedule: Reference,
    pub status: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub extension: Vec<Extension>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Participant {
    pub actor: Option<Reference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Appointment {
    pub id: Option<String>,
    pub meta: Meta,
    pub status: Option<String>,
    pub identifier: Vec<Identifier>,
    pub slot: Vec<Reference>,
    pub participant: Vec<Participant>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub created: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Patient {
    pub id: Option<String>,
    pub identifier: Vec<Identifier>,
    pub name: Vec<HumanName>,
    pub telecom: Vec<ContactPoint>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Issue {
    pub severity: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OperationOutcome {
    pub issue: Vec<Issue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BundleLink {
    pub relation: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BundleEntry {
    pub resource: Option<Value>,
}

/// A search result page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Bundle {
    pub total: Option<u64>,
    pub link: Vec<BundleLink>,
    pub entry: Vec<BundleEntry>,
}

impl Bundle {
    /// Reads a search answer; anything but a Bundle is an error naming what came instead.
    pub fn parse(body: &str) -> Result<Self, FhirError> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| FhirError::malformed("search answer", e.to_string()))?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, FhirError> {
        match value.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => serde_json::from_value(value)
                .map_err(|e| FhirError::malformed("Bundle", e.to_string())),
            Some(other) => Err(FhirError::malformed(
                "search answer",
                format!("a {other} instead of a Bundle"),
            )),
            None => Err(FhirError::malformed("search answer", "no resourceType")),
        }
    }

    /// The URL of the next page, when the server links one.
    pub fn next_url(&self) -> Option<&str> {
        self.link
            .iter()
            .find(|l| l.relation.as_deref() == Some("next"))
            .and_then(|l| l.url.as_deref())
    }

    /// The entries' resources of one type, read as `T`. A resource of that type that does not
    /// read is an error; resources of other types (includes, outcomes) are skipped.
    pub fn resources<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
    ) -> Result<Vec<T>, FhirError> {
        self.entry
            .iter()
            .filter_map(|e| e.resource.as_ref())
            .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some(kind))
            .map(|r| read_resource(r.clone(), kind))
            .collect()
    }

    /// The raw resources of one type, for when they are written back.
    pub fn raw(&self, kind: &str) -> Vec<&Value> {
        self.entry
            .iter()
            .filter_map(|e| e.resource.as_ref())
            .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some(kind))
            .collect()
    }
}

/// Reads one resource of a known type; another type or a wrong shape is an error.
pub fn read_resource<T: serde::de::DeserializeOwned>(
    value: Value,
    kind: &str,
) -> Result<T, FhirError> {
    let found = value.get("resourceType").and_then(Value::as_str);
    if found != Some(kind) {
        return Err(FhirError::malformed(
            kind,
            format!("got {}", found.unwrap_or("something without resourceType")),
        ));
    }
    serde_json::from_value(value).map_err(|e| FhirError::malformed(kind, e.to_string()))
}
