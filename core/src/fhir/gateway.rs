//! The operations of the FHIR gateway: the reference server in front of a FHIR server, so that
//! a FHIR deployment checks a booking's proof where the browser cannot see the patient.
//!
//! Behind the gateway the app reads and books through the FHIR API as usual (the gateway passes
//! it on), except that no Patient resource ever comes back: a created Patient is answered with
//! its `Location` alone. Lookup and cancel by code are two operations of the gateway's own,
//! `POST` with a JSON [`OwnedRequest`], answering an [`OwnedAppointment`]; the proof is checked,
//! counted and locked on the server exactly as the reference API does it.
//!
//! Refusals are the reference API's problem documents: `not-found` for an unknown code and a
//! wrong proof alike, `proof-locked` (429, `Retry-After`), `cancel-closed`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::MaskedPatient;

/// Lookup by code and proof, relative to the FHIR base URL.
pub const LOOKUP_OPERATION: &str = "/Appointment/$fairslot-lookup";
/// Cancel by code and proof, relative to the FHIR base URL.
pub const CANCEL_OPERATION: &str = "/Appointment/$fairslot-cancel";

/// The body of both operations. In the body, never the URL, since proxies log URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedRequest {
    pub code: String,
    pub document_last4: String,
}

/// A proven booking: the Appointment as the FHIR server holds it (after the cancel, for a
/// cancel), and its patient masked by the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedAppointment {
    pub appointment: Value,
    pub patient: MaskedPatient,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DocumentKind;

    #[test]
    fn the_answer_reads_back_as_written() {
        let answer = OwnedAppointment {
            appointment: serde_json::json!({"resourceType": "Appointment", "id": "a1"}),
            patient: MaskedPatient {
                name: "王*".into(),
                document_kind: DocumentKind::ResidentId,
                document_number: "1101**************".into(),
                phone: "138****0000".into(),
            },
        };
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            serde_json::from_str::<OwnedAppointment>(&text).unwrap(),
            answer
        );
        assert!(LOOKUP_OPERATION.starts_with("/Appointment/$"));
        assert!(CANCEL_OPERATION.starts_with("/Appointment/$"));
    }
}
