//! HL7 FHIR R4 scheduling ↔ Fairslot's domain: what the FHIR adapter reads and writes, without any
//! I/O, so every mapping rule is tested here on recorded JSON.
//!
//! - Hospitals ← top-level `Organization`; departments ← `HealthcareService` provided by the
//!   hospital (grouped by `category`) or `Organization`s two `partOf` levels below it.
//! - Doctors ← `PractitionerRole` + its `Practitioner`; schedules ← `Schedule` by actor; sessions
//!   are derived from `Slot` start times in the hospital's offset.
//! - A booking claims the `Slot` (a versioned update marking it busy with the booking's key), then
//!   creates its own `Patient` and the `Appointment` conditionally on that key, so a retry finds
//!   what the first try made instead of making it twice.
//!
//! The identifier systems and extensions Fairslot reads and writes are the constants below; the
//! README lists them for deployers.

pub mod booking;
pub mod gateway;
mod model;
mod read;
mod write;

pub use model::*;
pub use read::*;
pub use write::*;

use crate::Text;

/// Namespace of the systems and extensions Fairslot defines itself.
pub const NAMESPACE: &str = "https://fairslot.example/fhir";
/// `Organization.type` coding of a hospital's grade, codes as in [`crate::HospitalLevel::code`].
pub const LEVEL_SYSTEM: &str = "https://fairslot.example/fhir/CodeSystem/hospital-level";
/// Doctor titles (`Practitioner.qualification.code` or `PractitionerRole.code`).
pub const TITLE_SYSTEM: &str = "https://fairslot.example/fhir/CodeSystem/doctor-title";
/// Registration fee on a `PractitionerRole` (`valueMoney`, CNY).
pub const FEE_EXTENSION: &str =
    "https://fairslot.example/fhir/StructureDefinition/registration-fee";
/// The booking key a `Slot` was claimed for (`valueString`).
pub const CLAIM_EXTENSION: &str = "https://fairslot.example/fhir/StructureDefinition/booking-claim";
/// `Appointment.identifier` and `Patient.identifier` carrying the client's idempotency key: what
/// a booking made, found again by the device that made it and by nobody else.
pub const BOOKING_KEY_SYSTEM: &str = "https://fairslot.example/fhir/sid/booking-key";
/// `Appointment.identifier` carrying the short booking code patients quote.
pub const BOOKING_CODE_SYSTEM: &str = "https://fairslot.example/fhir/sid/booking-code";
/// `Appointment.meta.tag` naming the channel a booking came through.
pub const CHANNEL_SYSTEM: &str = "https://fairslot.example/fhir/CodeSystem/channel";
/// `Patient.identifier` systems, one per document kind.
pub const RESIDENT_ID_SYSTEM: &str = "https://fairslot.example/fhir/sid/cn-resident-id";
pub const PASSPORT_SYSTEM: &str = "https://fairslot.example/fhir/sid/passport";
pub const HK_MACAO_PERMIT_SYSTEM: &str = "https://fairslot.example/fhir/sid/hk-macao-permit";
pub const TAIWAN_PERMIT_SYSTEM: &str = "https://fairslot.example/fhir/sid/taiwan-permit";

/// Standard extensions read.
pub const TRANSLATION_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/translation";
pub const LANGUAGE_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/language";
pub const TIMEZONE_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/timezone";
pub const SLOT_CAPACITY_EXTENSION: &str =
    "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity";

/// What could not be read from a FHIR answer. Shown to the patient as "the answer could not be
/// read"; the text is for the console.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    #[error("{what} is malformed: {why}")]
    Malformed { what: String, why: String },
}

impl FhirError {
    pub fn malformed(what: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Malformed {
            what: what.into(),
            why: why.into(),
        }
    }
}

/// The translation of a primitive into `lang` (`en`, `zh`…), from the standard extension.
fn translation(extras: Option<&PrimitiveExtras>, lang: &str) -> Option<String> {
    extras?
        .extension
        .iter()
        .filter(|e| e.url == TRANSLATION_EXTENSION)
        .find(|e| {
            e.extension.iter().any(|x| {
                x.url == "lang"
                    && x.value_code
                        .as_deref()
                        .is_some_and(|c| c.to_ascii_lowercase().starts_with(lang))
            })
        })
        .and_then(|e| e.extension.iter().find(|x| x.url == "content"))
        .and_then(|x| x.value_string.clone())
        .filter(|s| !s.trim().is_empty())
}

/// A text in both languages from a primitive, its translations, the resource's language and an
/// English alias. Missing translations fall back to the primitive itself.
fn bilingual(
    primary: Option<&str>,
    extras: Option<&PrimitiveExtras>,
    language: Option<&str>,
    english_alias: Option<&str>,
) -> Option<Text> {
    let primary = primary.map(str::trim).filter(|s| !s.is_empty())?;
    let english_first = language.is_some_and(|l| l.to_ascii_lowercase().starts_with("en"));
    Some(if english_first {
        Text::new(
            translation(extras, "zh").unwrap_or_else(|| primary.to_string()),
            primary,
        )
    } else {
        Text::new(
            primary,
            translation(extras, "en")
                .or_else(|| english_alias.map(str::to_string))
                .unwrap_or_else(|| primary.to_string()),
        )
    })
}

/// A concept's text in both languages: its coding's display with that display's translation,
/// else its `text`.
fn concept_text(c: &CodeableConcept) -> Option<Text> {
    c.coding
        .iter()
        .find_map(|x| bilingual(x.display.as_deref(), x.display_extras.as_ref(), None, None))
        .or_else(|| bilingual(c.text.as_deref(), c.text_extras.as_ref(), None, None))
}
