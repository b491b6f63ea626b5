//! State of a booking in progress, kept in memory only.
//!
//! The patient's details live in signals provided once by the shell, so going back, picking an
//! alternative slot or meeting an error never loses what was typed; they are cleared as soon as a
//! booking is confirmed. Nothing here is written to storage, a URL or the console.

use chrono::NaiveDate;
use fairslot_core::identity::{
    IdentityError, MobileNumber, parse_document, parse_medical_card, parse_name,
};
use fairslot_core::{Booking, DocumentKind, FieldError, PatientInput, Relationship};
use leptos::prelude::*;

use crate::i18n::Msg;

/// The identity form's fields.
#[derive(Debug, Clone, Copy)]
pub struct Draft {
    pub name: RwSignal<String>,
    pub document_kind: RwSignal<DocumentKind>,
    pub document_number: RwSignal<String>,
    pub phone: RwSignal<String>,
    pub medical_card: RwSignal<String>,
    pub relationship: RwSignal<Relationship>,
    pub consent: RwSignal<bool>,
    /// Field messages from the server's last refusal, keyed by field name (`name`, `phone`…).
    pub server_errors: RwSignal<Vec<FieldError>>,
    /// The booking just made, with the patient masked, for the confirmation page.
    pub last_booking: RwSignal<Option<Booking>>,
}

/// The form's fields, by the names the API uses for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    DocumentNumber,
    Phone,
    MedicalCard,
    Consent,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Name,
        Field::DocumentNumber,
        Field::Phone,
        Field::MedicalCard,
        Field::Consent,
    ];

    pub fn api_name(self) -> &'static str {
        match self {
            Field::Name => "patient.name",
            Field::DocumentNumber => "patient.document_number",
            Field::Phone => "patient.phone",
            Field::MedicalCard => "patient.medical_card",
            Field::Consent => "patient.consent",
        }
    }

    /// The element id of the field's input, for labels and error links.
    pub fn id(self) -> &'static str {
        match self {
            Field::Name => "patient-name",
            Field::DocumentNumber => "patient-document",
            Field::Phone => "patient-phone",
            Field::MedicalCard => "patient-card",
            Field::Consent => "patient-consent",
        }
    }
}

impl Draft {
    fn new() -> Self {
        Self {
            name: RwSignal::new(String::new()),
            document_kind: RwSignal::new(DocumentKind::ResidentId),
            document_number: RwSignal::new(String::new()),
            phone: RwSignal::new(String::new()),
            medical_card: RwSignal::new(String::new()),
            relationship: RwSignal::new(Relationship::Myself),
            consent: RwSignal::new(false),
            server_errors: RwSignal::new(Vec::new()),
            last_booking: RwSignal::new(None),
        }
    }

    /// The local check of one field; `today` bounds birth dates.
    pub fn check(&self, field: Field, today: NaiveDate) -> Result<(), IdentityError> {
        match field {
            Field::Name => parse_name(&self.name.get()).map(drop),
            Field::DocumentNumber => {
                parse_document(self.document_kind.get(), &self.document_number.get(), today)
                    .map(drop)
            }
            Field::Phone => MobileNumber::parse(&self.phone.get()).map(drop),
            Field::MedicalCard => parse_medical_card(&self.medical_card.get()).map(drop),
            Field::Consent => {
                if self.consent.get() {
                    Ok(())
                } else {
                    Err(IdentityError::Consent)
                }
            }
        }
    }

    /// What the API receives; fields are sent as typed and normalised by the server's checks.
    pub fn input(&self) -> PatientInput {
        let card = self.medical_card.get_untracked();
        PatientInput {
            name: self.name.get_untracked(),
            document_kind: self.document_kind.get_untracked(),
            document_number: self.document_number.get_untracked(),
            phone: self.phone.get_untracked(),
            medical_card: (!card.trim().is_empty()).then_some(card),
            relationship: self.relationship.get_untracked(),
            consent: self.consent.get_untracked(),
        }
    }

    /// Forgets everything typed: after a booking is made, and on a kiosk reset.
    pub fn clear(&self) {
        self.name.set(String::new());
        self.document_kind.set(DocumentKind::ResidentId);
        self.document_number.set(String::new());
        self.phone.set(String::new());
        self.medical_card.set(String::new());
        self.relationship.set(Relationship::Myself);
        self.consent.set(false);
        self.server_errors.set(Vec::new());
    }
}

pub fn provide_draft() {
    provide_context(Draft::new());
}

pub fn use_draft() -> Draft {
    expect_context::<Draft>()
}

/// What to tell the patient about an identity field.
pub fn identity_msg(e: IdentityError) -> Msg {
    match e {
        IdentityError::Required => Msg::IdRequired,
        IdentityError::TooLong => Msg::IdTooLong,
        IdentityError::BadCharacters => Msg::IdBadCharacters,
        IdentityError::Length => Msg::IdLength,
        IdentityError::Format => Msg::IdFormat,
        IdentityError::Region => Msg::IdRegion,
        IdentityError::BirthDate => Msg::IdBirthDate,
        IdentityError::CheckDigit => Msg::IdCheckDigit,
        IdentityError::Phone => Msg::IdPhone,
        IdentityError::Consent => Msg::IdConsent,
    }
}

/// The translated message for a server field error, by its stable code; `None` for a code this
/// build does not know, in which case the server's own text is shown.
pub fn server_code_msg(code: &str) -> Option<Msg> {
    IdentityError::ALL
        .into_iter()
        .find(|e| e.code() == code)
        .map(identity_msg)
}

pub fn document_msg(kind: DocumentKind) -> Msg {
    match kind {
        DocumentKind::ResidentId => Msg::DocResidentId,
        DocumentKind::Passport => Msg::DocPassport,
        DocumentKind::HkMacaoPermit => Msg::DocHkMacao,
        DocumentKind::TaiwanPermit => Msg::DocTaiwan,
    }
}

pub fn relationship_msg(r: Relationship) -> Msg {
    match r {
        Relationship::Myself => Msg::RelSelf,
        Relationship::Child => Msg::RelChild,
        Relationship::Parent => Msg::RelParent,
        Relationship::Spouse => Msg::RelSpouse,
        Relationship::Other => Msg::RelOther,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_identity_code_has_a_translation() {
        // The codes as the server sends them, from core's one list.
        for error in IdentityError::ALL {
            let code = error.code();
            assert_eq!(server_code_msg(code), Some(identity_msg(error)), "{code}");
        }
        assert_eq!(server_code_msg("something_new"), None);
    }
}
