//! An iCalendar (RFC 5545) event for a confirmed booking, generated on the device so adding it to
//! a calendar needs no server and sends no personal data anywhere.

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

use crate::config::Locale;
use crate::contract::{Booking, Text};
use crate::time::{hhmm, utc_offset};

/// The `.ics` file for a booking. Times are written in UTC (`…Z`), which every calendar converts
/// to the viewer's zone; the description also states the hospital-local time in words.
pub fn booking_event(booking: &Booking, locale: Locale, now: DateTime<Utc>) -> String {
    let pick = |t: &Text| match locale {
        Locale::ZhCn => t.zh.clone(),
        Locale::En => t.en.clone(),
    };
    let slot = &booking.slot;
    let summary = match locale {
        Locale::ZhCn => format!(
            "就诊：{} {}",
            pick(&slot.department_name),
            pick(&slot.doctor_name)
        ),
        Locale::En => format!(
            "Appointment: {}, {}",
            pick(&slot.department_name),
            pick(&slot.doctor_name)
        ),
    };
    let offset_minutes = slot.start.offset().local_minus_utc() / 60;
    let local = format!(
        "{} {} UTC{}",
        slot.start.date_naive(),
        hhmm(slot.start, offset_minutes),
        utc_offset(offset_minutes)
    );
    let description = match locale {
        Locale::ZhCn => format!(
            "预约号 {}\n医院当地时间 {}\n请携带预约时使用的证件。",
            booking.code, local
        ),
        Locale::En => format!(
            "Booking code {}\nHospital time {}\nBring the ID document used for booking.",
            booking.code, local
        ),
    };
    let location = format!(
        "{} {}",
        pick(&slot.hospital_name),
        pick(&slot.hospital_address)
    );
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//Fairslot//Booking//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VEVENT".into(),
        // The code comes from the server: escaped like any text, so it stays one property.
        format!("UID:{}@fairslot", escape(&booking.code)),
        format!("DTSTAMP:{}", utc_stamp(now.fixed_offset())),
        format!("DTSTART:{}", utc_stamp(slot.start)),
        format!("DTEND:{}", utc_stamp(slot.end)),
        format!("SUMMARY:{}", escape(&summary)),
        format!("LOCATION:{}", escape(&location)),
        format!("DESCRIPTION:{}", escape(&description)),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ];
    let mut out = String::new();
    for line in lines {
        out.push_str(&fold(&line));
        out.push_str("\r\n");
    }
    out
}

/// `20261123T003000Z`; written by hand because chrono's strftime is large in WebAssembly.
fn utc_stamp(t: DateTime<FixedOffset>) -> String {
    let t = t.with_timezone(&Utc);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// TEXT escaping of RFC 5545 §3.3.11.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1).
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3);
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{BookingStatus, DocumentKind, MaskedPatient, Period, SlotSummary};

    fn booking() -> Booking {
        let at = |s: &str| s.parse::<DateTime<FixedOffset>>().unwrap();
        Booking {
            code: "K7Q4M2XP".into(),
            status: BookingStatus::Confirmed,
            slot: SlotSummary {
                slot_id: "s".into(),
                start: at("2026-11-23T08:30:00+08:00"),
                end: at("2026-11-23T09:00:00+08:00"),
                period: Period::Am,
                hospital_id: "h1".into(),
                hospital_name: Text::new("西湖人民医院", "West Lake People's Hospital"),
                hospital_address: Text::new("西湖区某路1号", "1 Some Road, Xihu"),
                department_id: "d".into(),
                department_name: Text::new("心血管内科", "Cardiology"),
                doctor_id: "doc".into(),
                doctor_name: Text::new("刘海涛", "Liu Haitao"),
                fee_fen: Some(5000),
            },
            patient: MaskedPatient {
                name: "李*".into(),
                document_kind: DocumentKind::ResidentId,
                document_number: "1101**************".into(),
                phone: "138****5678".into(),
            },
            channel: "web".into(),
            created_at: at("2026-11-22T10:00:00+08:00"),
            cancel_deadline: at("2026-11-23T06:30:00+08:00"),
            cancelled_at: None,
            ledger: None,
        }
    }

    #[test]
    fn event_is_in_utc_with_the_hospital_offset_applied() {
        let now = "2026-11-22T02:00:00Z".parse().unwrap();
        let ics = booking_event(&booking(), Locale::En, now);
        assert!(ics.contains("DTSTART:20261123T003000Z\r\n"), "{ics}");
        assert!(ics.contains("DTEND:20261123T010000Z\r\n"));
        assert!(ics.contains("DTSTAMP:20261122T020000Z\r\n"));
        assert!(ics.contains("UID:K7Q4M2XP@fairslot"));
        assert!(ics.contains("Hospital time 2026-11-23 08:30 UTC+08:00"));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn text_is_escaped_and_lines_folded_within_75_octets() {
        let now = "2026-11-22T02:00:00Z".parse().unwrap();
        let ics = booking_event(&booking(), Locale::ZhCn, now);
        assert!(!ics.contains("West Lake"));
        assert!(ics.contains("\\n医院当地时间") || ics.contains("\\n\r\n 医院"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("LOCATION:西湖人民医院 西湖区某路1号"));
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn a_hostile_booking_code_cannot_add_lines_to_the_calendar() {
        let now = "2026-11-22T02:00:00Z".parse().unwrap();
        let mut b = booking();
        b.code = "X\r\nATTENDEE:mailto:a@evil.example\nDTSTART:19700101T000000Z;,".into();
        let ics = booking_event(&b, Locale::En, now);
        let unfolded = ics.replace("\r\n ", "");
        let lines: Vec<&str> = unfolded.split("\r\n").collect();
        assert!(!lines.iter().any(|l| l.starts_with("ATTENDEE")), "{ics}");
        assert_eq!(lines.iter().filter(|l| l.starts_with("DTSTART")).count(), 1);
        assert!(
            lines.contains(
                &"UID:X\\nATTENDEE:mailto:a@evil.example\\nDTSTART:19700101T000000Z\\;\\,@fairslot"
            ),
            "{ics}"
        );
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
    }

    #[test]
    fn no_identity_goes_into_the_calendar() {
        let now = "2026-11-22T02:00:00Z".parse().unwrap();
        let ics = booking_event(&booking(), Locale::En, now);
        assert!(!ics.contains("138") && !ics.contains("1101") && !ics.contains("李"));
    }
}
