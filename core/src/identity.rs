//! Patient identity: parsing into checked values, and masking for display.
//!
//! Values can only be built by parsing, so a `ResidentId` in hand always has a valid birth date and
//! GB 11643 check digit. No regex: the rules are small and the regex crate is heavy in WebAssembly.

use chrono::NaiveDate;
use std::fmt;

use crate::contract::{DocumentKind, FieldError, MaskedPatient, PatientInput, field_code};
use crate::time::ymd;

/// Why an identity field was refused. `code()` is stable and travels in API errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("this field is required")]
    Required,
    #[error("too long")]
    TooLong,
    #[error("contains characters that are not allowed")]
    BadCharacters,
    #[error("a resident ID has 18 characters")]
    Length,
    #[error("a resident ID has 17 digits followed by a digit or X")]
    Format,
    #[error("the region code is not a mainland region")]
    Region,
    #[error("the birth date in the ID is not a real date")]
    BirthDate,
    #[error("the last character does not match the others; check for a typing error")]
    CheckDigit,
    #[error("a mainland mobile number has 11 digits and starts with 13-19")]
    Phone,
    #[error("consent to the privacy notice is required")]
    Consent,
}

impl IdentityError {
    /// Every reason, for those that map each code to something of their own.
    pub const ALL: [IdentityError; 10] = [
        Self::Required,
        Self::TooLong,
        Self::BadCharacters,
        Self::Length,
        Self::Format,
        Self::Region,
        Self::BirthDate,
        Self::CheckDigit,
        Self::Phone,
        Self::Consent,
    ];

    /// ```
    /// use fairslot_core::identity::IdentityError;
    /// assert_eq!(IdentityError::CheckDigit.code(), "check_digit");
    /// assert_eq!(IdentityError::Required.code(), fairslot_core::field_code::REQUIRED);
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            Self::Required => field_code::REQUIRED,
            Self::TooLong => field_code::TOO_LONG,
            Self::BadCharacters => "bad_characters",
            Self::Length => "length",
            Self::Format => field_code::FORMAT,
            Self::Region => "region",
            Self::BirthDate => "birth_date",
            Self::CheckDigit => "check_digit",
            Self::Phone => "phone",
            Self::Consent => "consent",
        }
    }
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";
/// Province-level codes (first two digits) of GB/T 2260, plus 71/81/82 used on mainland-issued IDs
/// and 83, the prefix of residence permits issued to Taiwan residents.
const PROVINCES: [&str; 35] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82", "83",
];

/// The GB 11643 check character for the first 17 digits.
pub fn resident_id_check_char(first17: &[u8; 17]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize] as char
}

/// A mainland resident ID number (居民身份证号码) with a valid birth date and check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

impl ResidentId {
    /// Parses, accepting spaces and a lowercase `x`. `today` bounds the birth date.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, IdentityError> {
        let id = compact_upper(input);
        if id.is_empty() {
            return Err(IdentityError::Required);
        }
        let bytes = id.as_bytes();
        if !id.is_ascii() || bytes.len() != 18 {
            return Err(if id.chars().all(|c| c.is_ascii_alphanumeric()) {
                IdentityError::Length
            } else {
                IdentityError::Format
            });
        }
        if !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdentityError::Format);
        }
        if !PROVINCES.contains(&&id[..2]) {
            return Err(IdentityError::Region);
        }
        let birth = ymd(&id[6..10], &id[10..12], &id[12..14]).ok_or(IdentityError::BirthDate)?;
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
        if birth < earliest || birth > today {
            return Err(IdentityError::BirthDate);
        }
        let first17: &[u8; 17] = bytes[..17].try_into().expect("length checked");
        if resident_id_check_char(first17) != bytes[17] as char {
            return Err(IdentityError::CheckDigit);
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        ymd(&self.0[6..10], &self.0[10..12], &self.0[12..14]).expect("checked when parsed")
    }
}

/// Document numbers as typed on phones: spaces dropped, letters uppercased.
fn compact_upper(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Parses any document kind into its normalised number (uppercase, no spaces).
pub fn parse_document(
    kind: DocumentKind,
    input: &str,
    today: NaiveDate,
) -> Result<String, IdentityError> {
    if kind == DocumentKind::ResidentId {
        return ResidentId::parse(input, today).map(|id| id.0);
    }
    let number = compact_upper(input);
    if number.is_empty() {
        return Err(IdentityError::Required);
    }
    if !number.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(IdentityError::Format);
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match kind {
        DocumentKind::ResidentId => unreachable!("handled above"),
        // Passports of many countries: 5–17 letters and digits.
        DocumentKind::Passport => (5..=17).contains(&number.len()),
        // 回乡证: H or M, then 8 or 10 digits.
        DocumentKind::HkMacaoPermit => {
            (number.starts_with('H') || number.starts_with('M'))
                && matches!(number.len(), 9 | 11)
                && digits(&number[1..])
        }
        // 台胞证: 8 digits, or the older 10-character form with a trailing letter or digits.
        DocumentKind::TaiwanPermit => {
            (number.len() == 8 && digits(&number)) || (number.len() == 10 && digits(&number[..8]))
        }
    };
    if ok {
        Ok(number)
    } else {
        Err(IdentityError::Format)
    }
}

/// A mainland mobile number, normalised to its 11 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MobileNumber(String);

impl MobileNumber {
    /// Accepts spaces, dashes and a `+86` / `86` prefix.
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let mut digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err(IdentityError::Required);
        }
        if let Some(rest) = digits.strip_prefix("+86") {
            digits = rest.to_string();
        } else if digits.len() == 13 && digits.starts_with("86") {
            digits = digits[2..].to_string();
        }
        let b = digits.as_bytes();
        if b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
        {
            Ok(Self(digits))
        } else {
            Err(IdentityError::Phone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest accepted patient name, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// A patient name: letters of any script, spaces, the middle dot of transliterated names (·),
/// apostrophes, hyphens and periods.
pub fn parse_name(input: &str) -> Result<String, IdentityError> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(IdentityError::Required);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(IdentityError::TooLong);
    }
    let allowed = |c: char| c.is_alphabetic() || matches!(c, ' ' | '·' | '•' | '\'' | '-' | '.');
    if name.chars().all(allowed) {
        Ok(name)
    } else {
        Err(IdentityError::BadCharacters)
    }
}

/// An optional medical card number (就诊卡号): 4–32 letters, digits or dashes.
pub fn parse_medical_card(input: &str) -> Result<Option<String>, IdentityError> {
    let card = input.trim();
    if card.is_empty() {
        return Ok(None);
    }
    if card.len() > 32 {
        return Err(IdentityError::TooLong);
    }
    if card.len() >= 4 && card.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(Some(card.to_string()))
    } else {
        Err(IdentityError::Format)
    }
}

/// A patient whose every field has been checked and normalised.
#[derive(Clone, PartialEq, Eq)]
pub struct Patient {
    pub name: String,
    pub document_kind: DocumentKind,
    pub document_number: String,
    pub phone: MobileNumber,
    pub medical_card: Option<String>,
}

/// Identity never appears in debug output, so it cannot leak into logs by accident.
impl fmt::Debug for Patient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Patient")
            .field("document_kind", &self.document_kind)
            .finish_non_exhaustive()
    }
}

impl Patient {
    /// Checks every field and reports all failures at once, keyed by their request path.
    pub fn validate(input: &PatientInput, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |field: &str, result: Result<(), IdentityError>| {
            if let Err(e) = result {
                errors.push(FieldError {
                    field: format!("patient.{field}"),
                    code: e.code().to_string(),
                    message: e.to_string(),
                });
            }
        };
        let name = parse_name(&input.name);
        check("name", name.as_ref().map(drop).map_err(|e| *e));
        let document = parse_document(input.document_kind, &input.document_number, today);
        check(
            "document_number",
            document.as_ref().map(drop).map_err(|e| *e),
        );
        let phone = MobileNumber::parse(&input.phone);
        check("phone", phone.as_ref().map(drop).map_err(|e| *e));
        let card = parse_medical_card(input.medical_card.as_deref().unwrap_or(""));
        check("medical_card", card.as_ref().map(drop).map_err(|e| *e));
        check(
            "consent",
            if input.consent {
                Ok(())
            } else {
                Err(IdentityError::Consent)
            },
        );
        match (name, document, phone, card) {
            (Ok(name), Ok(document_number), Ok(phone), Ok(medical_card)) if errors.is_empty() => {
                Ok(Self {
                    name,
                    document_kind: input.document_kind,
                    document_number,
                    phone,
                    medical_card,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn masked(&self) -> MaskedPatient {
        MaskedPatient {
            name: mask_name(&self.name),
            document_kind: self.document_kind,
            document_number: mask_document(&self.document_number),
            phone: mask_phone(self.phone.as_str()),
        }
    }

    /// The last four characters, the proof asked for on lookup and cancel.
    pub fn document_last4(&self) -> String {
        last4(&self.document_number)
    }
}

/// Last four characters of a document number as typed (spaces dropped), uppercased: the proof
/// of ownership, whether it comes from a stored number, a request or a patient's fingers.
pub fn last4(number: &str) -> String {
    let chars: Vec<char> = compact_upper(number).chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// `330106199001011234` → `3301**************`: the start only. The end of a document number is
/// the proof of ownership that lookup and cancel ask for, so no mask ever shows it — not on a
/// screen, a ticket, a receipt left at a kiosk printer or a calendar file. Short numbers
/// (passports, permits) show at most two characters, always at least four fewer than they have.
pub fn mask_document(number: &str) -> String {
    let n = number.chars().count();
    let head = if n >= 10 {
        4
    } else {
        n.saturating_sub(4).min(2)
    };
    number
        .chars()
        .enumerate()
        .map(|(i, c)| if i < head { c } else { '*' })
        .collect()
}

/// `13812345678` → `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    mask_middle(phone, 3, 4)
}

/// `张三丰` → `张**`, `Li Lei` → `L*****`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n <= head + tail {
        return "*".repeat(n);
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Relationship;

    #[test]
    fn every_reason_is_listed_once_with_a_code_of_its_own() {
        use IdentityError::*;
        // A new reason stops this from compiling until it has a place in `ALL`.
        let place = |e: IdentityError| match e {
            Required => 0,
            TooLong => 1,
            BadCharacters => 2,
            Length => 3,
            Format => 4,
            Region => 5,
            BirthDate => 6,
            CheckDigit => 7,
            Phone => 8,
            Consent => 9,
        };
        for (i, e) in IdentityError::ALL.into_iter().enumerate() {
            assert_eq!(place(e), i, "{e:?}");
        }
        let codes: std::collections::HashSet<_> =
            IdentityError::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), IdentityError::ALL.len());
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    /// Builds a valid ID from its first 17 digits.
    fn with_check(first17: &str) -> String {
        let arr: [u8; 17] = first17.as_bytes().try_into().unwrap();
        format!("{first17}{}", resident_id_check_char(&arr))
    }

    #[test]
    fn resident_id_cases() {
        let valid_x = "11010519491231002X"; // published example, check character X
        let cases: &[(&str, Result<(), IdentityError>)] = &[
            (valid_x, Ok(())),
            ("11010519491231002x", Ok(())),
            ("110105 19491231 002X", Ok(())),
            ("110105194912310021", Err(IdentityError::CheckDigit)),
            ("11010519491231002", Err(IdentityError::Length)),
            ("1101051949123100211", Err(IdentityError::Length)),
            ("11010519491231002Y", Err(IdentityError::Format)),
            ("1101051949123100-X", Err(IdentityError::Format)),
            ("", Err(IdentityError::Required)),
            ("   ", Err(IdentityError::Required)),
            ("99010519491231002X", Err(IdentityError::Region)),
            (
                &with_check("11010519490230002"),
                Err(IdentityError::BirthDate),
            ),
            (
                &with_check("11010520991231002"),
                Err(IdentityError::BirthDate),
            ),
            (
                &with_check("11010518991231002"),
                Err(IdentityError::BirthDate),
            ),
            (&with_check("33010620000229123"), Ok(())), // leap day
            (&with_check("83000019900101123"), Ok(())), // Taiwan resident's residence permit
            (
                &with_check("33010620010229123"),
                Err(IdentityError::BirthDate),
            ),
            (
                "１１０１０５１９４９１２３１００２X",
                Err(IdentityError::Format),
            ), // full-width digits
        ];
        for (input, expected) in cases {
            let got = ResidentId::parse(input, today()).map(drop);
            assert_eq!(&got, expected, "input {input:?}");
        }
    }

    #[test]
    fn every_single_digit_typo_is_caught_by_the_check_digit() {
        let id = with_check("33010619900101123");
        for pos in 0..17 {
            for d in b'0'..=b'9' {
                let mut b = id.clone().into_bytes();
                if b[pos] == d {
                    continue;
                }
                b[pos] = d;
                let typo = String::from_utf8(b).unwrap();
                assert!(
                    ResidentId::parse(&typo, today()).is_err(),
                    "{typo} accepted"
                );
            }
        }
    }

    #[test]
    fn birth_date_is_read_from_the_id() {
        let id = ResidentId::parse("11010519491231002X", today()).unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
    }

    #[test]
    fn other_documents() {
        use DocumentKind::*;
        let cases: &[(DocumentKind, &str, Result<&str, IdentityError>)] = &[
            (Passport, "E12345678", Ok("E12345678")),
            (Passport, "e1234 5678", Ok("E12345678")),
            (Passport, "1234", Err(IdentityError::Format)),
            (Passport, "E1234567<", Err(IdentityError::Format)),
            (HkMacaoPermit, "H12345678", Ok("H12345678")),
            (HkMacaoPermit, "M1234567890", Ok("M1234567890")),
            (HkMacaoPermit, "X12345678", Err(IdentityError::Format)),
            (HkMacaoPermit, "H1234567", Err(IdentityError::Format)),
            (TaiwanPermit, "12345678", Ok("12345678")),
            (TaiwanPermit, "1234567890", Ok("1234567890")),
            (TaiwanPermit, "1234567", Err(IdentityError::Format)),
            (TaiwanPermit, "", Err(IdentityError::Required)),
        ];
        for (kind, input, expected) in cases {
            let got = parse_document(*kind, input, today());
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                *expected,
                "{kind:?} {input:?}"
            );
        }
    }

    #[test]
    fn mobile_numbers() {
        let ok = [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+8613812345678",
            "8619912345678",
        ];
        for input in ok {
            assert!(MobileNumber::parse(input).is_ok(), "{input}");
        }
        assert_eq!(
            MobileNumber::parse("+86 138 1234 5678").unwrap().as_str(),
            "13812345678"
        );
        let bad = [
            "12812345678",
            "1381234567",
            "138123456789",
            "1381234567a",
            "23812345678",
        ];
        for input in bad {
            assert_eq!(
                MobileNumber::parse(input),
                Err(IdentityError::Phone),
                "{input}"
            );
        }
        assert_eq!(MobileNumber::parse(""), Err(IdentityError::Required));
    }

    #[test]
    fn names() {
        assert_eq!(parse_name("  张  三 ").unwrap(), "张 三");
        assert!(parse_name("买买提·艾力").is_ok());
        assert!(parse_name("Mary-Jane O'Neil").is_ok());
        assert_eq!(parse_name("<script>"), Err(IdentityError::BadCharacters));
        assert_eq!(
            parse_name("Robert'); DROP TABLE"),
            Err(IdentityError::BadCharacters)
        );
        assert_eq!(parse_name("张3"), Err(IdentityError::BadCharacters));
        assert_eq!(parse_name(&"长".repeat(41)), Err(IdentityError::TooLong));
        assert_eq!(parse_name(""), Err(IdentityError::Required));
    }

    #[test]
    fn masking() {
        assert_eq!(mask_document("11010519491231002X"), "1101**************");
        assert_eq!(mask_document("E12345678"), "E1*******");
        assert_eq!(mask_document("H1234"), "H****");
        assert_eq!(mask_document("1234"), "****");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name(""), "");
        assert_eq!(last4("11010519491231002x"), "002X");
        assert_eq!(last4("AB"), "AB");
        assert_eq!(last4("110105 19491231 002x "), "002X");
        assert_eq!(last4(" 00 2X"), "002X");
    }

    #[test]
    fn validate_reports_every_bad_field_and_never_prints_identity() {
        let input = PatientInput {
            name: "".into(),
            document_kind: DocumentKind::ResidentId,
            document_number: "110105194912310021".into(),
            phone: "123".into(),
            medical_card: Some("!".into()),
            relationship: Relationship::Myself,
            consent: false,
        };
        let errors = Patient::validate(&input, today()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "patient.name",
                "patient.document_number",
                "patient.phone",
                "patient.medical_card",
                "patient.consent"
            ]
        );
        assert_eq!(errors[1].code, "check_digit");

        let good = PatientInput {
            name: "李雷".into(),
            document_number: "11010519491231002x".into(),
            phone: "138 1234 5678".into(),
            medical_card: None,
            consent: true,
            ..input
        };
        let patient = Patient::validate(&good, today()).unwrap();
        assert_eq!(patient.document_number, "11010519491231002X");
        assert_eq!(patient.document_last4(), "002X");
        let debug = format!("{patient:?}");
        assert!(!debug.contains("李雷") && !debug.contains("1101") && !debug.contains("138"));
        assert_eq!(patient.masked().phone, "138****5678");
    }
}
