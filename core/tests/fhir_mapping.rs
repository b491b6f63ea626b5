//! The FHIR mapping on answers recorded from a real FHIR R4 server (Medplum's router over its
//! in-memory repository, loaded with `e2e/fhir/seed.mjs --today 2026-12-01`), plus hand-made
//! variants for what that server does not produce: missing optional fields, other languages,
//! broken resources.

use chrono::{NaiveDate, TimeZone, Utc};
use fairslot_core::fhir::{self, Bundle, DepartmentRef, FhirError, Window};
use fairslot_core::identity;
use fairslot_core::{
    BookingStatus, DoctorTitle, DocumentKind, HospitalLevel, PatientInput, Period, ProblemKind,
    Relationship, SessionStatus, SlotSummary, Text,
};
use serde_json::{Value, json};
use std::collections::HashMap;

fn recorded(name: &str) -> String {
    let path = format!("{}/tests/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bundle(name: &str) -> Bundle {
    Bundle::parse(&recorded(name)).unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

#[test]
fn hospitals_read_names_grade_district_and_offset() {
    let orgs: Vec<fhir::Organization> = bundle("hospitals.json").resources("Organization").unwrap();
    let list = fhir::hospitals(&orgs).unwrap();
    assert_eq!(list.len(), 2);
    let a = &list[0];
    assert_eq!(a.id, "hosp-a");
    assert_eq!(
        a.name,
        Text::new("青城市第一人民医院", "Qingcheng First People's Hospital")
    );
    assert_eq!(a.level, Some(HospitalLevel::Grade3A));
    assert_eq!(a.district.name, Text::new("东城区", "Dongcheng District"));
    assert_eq!(
        a.address.en,
        "No. 1 Renmin Road, Dongcheng District, Qingcheng"
    );
    assert_eq!(a.phone, "+86-28-0000-0001");
    assert_eq!(a.utc_offset_minutes, 480);
    assert_eq!(a.has_slots_today, None);
    // Hospital B states no grade: none is made up.
    assert_eq!(list[1].level, None);
}

#[test]
fn departments_as_healthcare_services_are_grouped_by_category() {
    let b = bundle("services-hosp-a.json");
    let services: Vec<fhir::HealthcareService> = b.resources("HealthcareService").unwrap();
    let orgs: Vec<fhir::Organization> = bundle("hospitals.json").resources("Organization").unwrap();
    let hospital = fhir::hospital(&orgs[0]).unwrap();
    let tree = fhir::department_tree(hospital, &services, &[], &[]).unwrap();
    let shape: Vec<(String, Vec<String>)> = tree
        .groups
        .iter()
        .map(|g| {
            (
                g.name.zh.clone(),
                g.departments.iter().map(|d| d.id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                "内科".to_string(),
                vec!["hs.hs-a-cardio".to_string(), "hs.hs-a-gastro".to_string()]
            ),
            ("外科".to_string(), vec!["hs.hs-a-ortho".to_string()]),
        ]
    );
    assert_eq!(tree.groups[0].name.en, "Internal Medicine");
    assert_eq!(
        tree.groups[0].departments[0].name,
        Text::new("心内科", "Cardiology")
    );
}

#[test]
fn departments_as_organizations_follow_part_of_two_levels() {
    let groups: Vec<fhir::Organization> = bundle("groups-hosp-b.json")
        .resources("Organization")
        .unwrap();
    let children: Vec<fhir::Organization> = bundle("children-hosp-b.json")
        .resources("Organization")
        .unwrap();
    let orgs: Vec<fhir::Organization> = bundle("hospitals.json").resources("Organization").unwrap();
    let hospital = fhir::hospital(&orgs[1]).unwrap();
    let tree = fhir::department_tree(hospital, &[], &groups, &children).unwrap();
    let shape: Vec<(String, Vec<String>)> = tree
        .groups
        .iter()
        .map(|g| {
            (
                g.name.en.clone(),
                g.departments.iter().map(|d| d.id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                "Internal Medicine".to_string(),
                vec!["org.org-b-resp".to_string(), "org.org-b-neuro".to_string()]
            ),
            (
                "Paediatrics".to_string(),
                vec!["org.org-b-pedgen".to_string()]
            ),
        ]
    );
    // A group without departments below it is bookable itself.
    let tree = fhir::department_tree(tree.hospital, &[], &groups, &[]).unwrap();
    assert_eq!(tree.groups[0].departments[0].id, "org.org-b-im");
}

#[test]
fn department_ids_name_their_fhir_type_and_reject_anything_else() {
    for r in [
        DepartmentRef::Service("hs-a-cardio".into()),
        DepartmentRef::Organization("org-b-resp".into()),
    ] {
        assert_eq!(DepartmentRef::parse(&r.id()), Some(r));
    }
    assert_eq!(
        DepartmentRef::parse("hs.hs-a-cardio").unwrap().reference(),
        "HealthcareService/hs-a-cardio"
    );
    for bad in [
        "hs-a-cardio",
        "hs.",
        "org.a/b",
        "hs.a?x=1",
        "org.a b",
        "",
        "hs..",
        "org...",
    ] {
        assert_eq!(DepartmentRef::parse(bad), None, "{bad}");
    }
}

fn doctors_of(b: &Bundle, hospital: &str, department: &str) -> Vec<fairslot_core::Doctor> {
    let roles: Vec<fhir::PractitionerRole> = b.resources("PractitionerRole").unwrap();
    let people: Vec<fhir::Practitioner> = b.resources("Practitioner").unwrap();
    roles
        .iter()
        .filter_map(|r| {
            let p = r
                .practitioner
                .as_ref()
                .and_then(|x| x.id_of("Practitioner"))
                .and_then(|id| people.iter().find(|p| p.id.as_deref() == Some(id)));
            fhir::doctor(r, p, hospital, department).unwrap()
        })
        .collect()
}

#[test]
fn doctors_join_role_and_practitioner() {
    let doctors = doctors_of(&bundle("roles-cardio.json"), "hosp-a", "hs.hs-a-cardio");
    assert_eq!(doctors.len(), 3);
    let d = &doctors[0];
    assert_eq!(d.id, "role-a-cardio-1");
    assert_eq!(d.name, Text::new("王建国", "Jianguo Wang"));
    assert_eq!(d.title, Some(DoctorTitle::Chief));
    assert_eq!(d.specialty, Text::new("心内科", "Cardiology"));
    assert_eq!(d.fee_fen, Some(5000));
    assert_eq!(d.department_id, "hs.hs-a-cardio");
    assert_eq!(
        doctors.iter().map(|d| d.title).collect::<Vec<_>>(),
        vec![
            Some(DoctorTitle::Chief),
            Some(DoctorTitle::AssociateChief),
            Some(DoctorTitle::Attending)
        ]
    );
}

#[test]
fn doctors_without_optional_fields_show_what_there_is() {
    let role: fhir::PractitionerRole = serde_json::from_value(json!({
        "resourceType": "PractitionerRole", "id": "r1",
        "practitioner": { "reference": "https://fhir.example/R4/Practitioner/p1/_history/3" }
    }))
    .unwrap();
    // Only an English name, English first; no title, no fee, no specialty.
    let person: fhir::Practitioner = serde_json::from_value(json!({
        "resourceType": "Practitioner", "id": "p1",
        "name": [{ "family": "Smith", "given": ["Jane", "A."] }]
    }))
    .unwrap();
    assert_eq!(
        role.practitioner.as_ref().unwrap().id_of("Practitioner"),
        Some("p1")
    );
    // A reference that would steer a URL is no reference.
    for hostile in [
        "Practitioner/../Patient/x",
        "Practitioner/a&b=c",
        "Practitioner/..",
    ] {
        let r: fhir::Reference = serde_json::from_value(json!({ "reference": hostile })).unwrap();
        assert_eq!(r.id_of("Practitioner"), None, "{hostile}");
    }
    // An English-tagged name first and an untagged one after: the untagged one is the Chinese.
    let tagged_first: fhir::Practitioner = serde_json::from_value(json!({ "name": [
        { "text": "Wei Zhang", "extension": [{ "url": fhir::LANGUAGE_EXTENSION, "valueCode": "en" }] },
        { "text": "张伟" }
    ] }))
    .unwrap();
    assert_eq!(
        fhir::practitioner_name(&tagged_first),
        Some(Text::new("张伟", "Wei Zhang"))
    );
    let d = fhir::doctor(&role, Some(&person), "h", "hs.x")
        .unwrap()
        .unwrap();
    assert_eq!(d.name, Text::new("SmithJaneA.", "Jane A. Smith"));
    assert_eq!((d.title, d.fee_fen), (None, None));
    // A role nobody can be named for is not listed; an inactive one neither.
    assert_eq!(fhir::doctor(&role, None, "h", "hs.x").unwrap(), None);
    let inactive: fhir::PractitionerRole =
        serde_json::from_value(json!({ "id": "r2", "active": false })).unwrap();
    assert_eq!(
        fhir::doctor(&inactive, Some(&person), "h", "x").unwrap(),
        None
    );
    // A fee in another currency is not shown as yuan.
    let usd: fhir::PractitionerRole = serde_json::from_value(json!({ "id": "r3", "extension": [{
        "url": fhir::FEE_EXTENSION, "valueMoney": { "value": 20, "currency": "USD" } }] }))
    .unwrap();
    assert_eq!(
        fhir::doctor(&usd, Some(&person), "h", "x")
            .unwrap()
            .unwrap()
            .fee_fen,
        None
    );
}

fn resp_schedule(window: Window) -> fairslot_core::Schedule {
    let mut slots: Vec<fhir::Slot> = Vec::new();
    for page in ["slots-b-resp-1-page1.json", "slots-b-resp-1-page2.json"] {
        slots.extend(bundle(page).resources::<fhir::Slot>("Slot").unwrap());
    }
    let schedules: Vec<fhir::Schedule> = bundle("schedule-b-resp-1.json")
        .resources("Schedule")
        .unwrap();
    let owner: HashMap<String, String> = schedules
        .iter()
        .map(|s| {
            (
                s.id.clone().unwrap(),
                s.actor[0].id_of("PractitionerRole").unwrap().to_string(),
            )
        })
        .collect();
    let doctor = fairslot_core::Doctor {
        id: "role-b-resp-1".into(),
        hospital_id: "hosp-b".into(),
        department_id: "org.org-b-resp".into(),
        name: Text::new("黄志强", "Zhiqiang Huang"),
        title: Some(DoctorTitle::Chief),
        specialty: Text::new("", ""),
        fee_fen: None,
        photo_url: None,
    };
    fhir::schedule(window, vec![doctor], &owner, &slots).unwrap()
}

#[test]
fn paged_slots_become_half_day_sessions_with_counts_and_stops() {
    let first = bundle("slots-b-resp-1-page1.json");
    assert_eq!(first.total, Some(42));
    assert!(first.next_url().unwrap().contains("_offset=30"));
    assert_eq!(bundle("slots-b-resp-1-page2.json").next_url(), None);

    let s = resp_schedule(Window {
        from: day(1),
        days: 3,
        utc_offset_minutes: 480,
    });
    let summary: Vec<(NaiveDate, Period, SessionStatus, u32, usize)> = s
        .sessions
        .iter()
        .map(|x| (x.date, x.period, x.status, x.remaining(), x.slots.len()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (day(1), Period::Am, SessionStatus::Open, 7, 8),
            (day(1), Period::Pm, SessionStatus::Open, 6, 6),
            (day(2), Period::Am, SessionStatus::Open, 7, 8),
            (day(2), Period::Pm, SessionStatus::Open, 5, 6),
            (day(3), Period::Am, SessionStatus::Stopped, 0, 8),
            (day(3), Period::Pm, SessionStatus::Stopped, 0, 6),
        ]
    );
    let first_slot = &s.sessions[0].slots[0];
    assert_eq!(first_slot.id, "slot-b-resp-1-d00-0800");
    assert_eq!(first_slot.start.to_rfc3339(), "2026-12-01T08:00:00+08:00");
    assert_eq!(s.sessions[0].doctor_id, "role-b-resp-1");
    assert_eq!(s.sessions[0].department_id, "org.org-b-resp");
}

/// A doctor with nothing but an id, for slot mapping tests.
fn bare_doctor(id: &str) -> fairslot_core::Doctor {
    fairslot_core::Doctor {
        id: id.into(),
        hospital_id: "h".into(),
        department_id: "d".into(),
        name: Text::new("a", "a"),
        title: None,
        specialty: Text::new("", ""),
        fee_fen: None,
        photo_url: None,
    }
}

#[test]
fn sessions_follow_the_hospital_offset_not_how_the_server_wrote_times() {
    // The same slot written in UTC: 00:30Z is 08:30 at a UTC+8 hospital, a morning.
    let owner = HashMap::from([("s1".to_string(), "r1".to_string())]);
    let slot = |id: &str, start: &str, end: &str| -> fhir::Slot {
        serde_json::from_value(json!({ "resourceType": "Slot", "id": id, "status": "free",
            "schedule": { "reference": "Schedule/s1" }, "start": start, "end": end }))
        .unwrap()
    };
    let doctor = bare_doctor("r1");
    let slots = [
        slot("a", "2026-12-01T00:30:00Z", "2026-12-01T01:00:00Z"),
        // 16:30Z on the 1st is 00:30 on the 2nd there: outside a one-day window.
        slot("b", "2026-12-01T16:30:00Z", "2026-12-01T17:00:00Z"),
        // 11:00Z is 19:00 there: an evening session.
        slot("c", "2026-12-01T11:00:00Z", "2026-12-01T11:30:00Z"),
    ];
    let window = Window {
        from: day(1),
        days: 1,
        utc_offset_minutes: 480,
    };
    let s = fhir::schedule(window, vec![doctor], &owner, &slots).unwrap();
    let got: Vec<(Period, String)> = s
        .sessions
        .iter()
        .map(|x| (x.period, x.slots[0].start.to_rfc3339()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Period::Am, "2026-12-01T08:30:00+08:00".to_string()),
            (Period::Evening, "2026-12-01T19:00:00+08:00".to_string()),
        ]
    );
}

#[test]
fn broken_answers_are_errors_that_name_the_resource_never_panics() {
    // Not JSON, not a Bundle, an OperationOutcome where a Bundle was expected.
    assert!(Bundle::parse("<html>502</html>").is_err());
    assert!(Bundle::parse("[]").is_err());
    let e = Bundle::parse(&recorded("not-found.json")).unwrap_err();
    assert!(e.to_string().contains("OperationOutcome"), "{e}");
    // A resource of the right type with the wrong shape.
    let b = Bundle::parse(
        r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Organization","id":"x","name":5}}]}"#,
    )
    .unwrap();
    let e = b
        .resources::<fhir::Organization>("Organization")
        .unwrap_err();
    assert!(matches!(e, FhirError::Malformed { ref what, .. } if what == "Organization"));
    // A hospital without a name, a slot with an unreadable time or ending before it starts.
    let nameless: fhir::Organization = serde_json::from_value(json!({ "id": "h9" })).unwrap();
    assert_eq!(
        fhir::hospital(&nameless).unwrap_err(),
        FhirError::malformed("Organization/h9", "no name")
    );
    let owner = HashMap::from([("s1".to_string(), "r1".to_string())]);
    let doctor = bare_doctor("r1");
    let window = Window {
        from: day(1),
        days: 1,
        utc_offset_minutes: 480,
    };
    for (start, end) in [
        ("2026-12-01 08:00", "2026-12-01T08:30:00+08:00"),
        ("2026-12-01T08:30:00+08:00", "2026-12-01T08:00:00+08:00"),
    ] {
        let bad: fhir::Slot = serde_json::from_value(json!({ "id": "s-bad", "status": "free",
            "schedule": { "reference": "Schedule/s1" }, "start": start, "end": end }))
        .unwrap();
        let e = fhir::schedule(window, vec![doctor.clone()], &owner, &[bad]).unwrap_err();
        assert!(e.to_string().starts_with("Slot/s-bad"), "{e}");
    }
    // Ids that could steer a URL are refused.
    let hostile: fhir::Organization =
        serde_json::from_value(json!({ "id": "../Patient", "name": "x" })).unwrap();
    assert!(fhir::hospital(&hostile).is_err());
}

#[test]
fn unknown_statuses_and_other_schedules_are_left_out() {
    let owner = HashMap::from([("s1".to_string(), "r1".to_string())]);
    let doctor = bare_doctor("r1");
    let slots: Vec<fhir::Slot> = [
        ("a", "entered-in-error", "Schedule/s1"),
        ("b", "free", "Schedule/other"),
        ("c", "busy", "Schedule/s1"),
    ]
    .iter()
    .map(|(id, status, schedule)| {
        serde_json::from_value(json!({ "id": id, "status": status,
            "schedule": { "reference": schedule },
            "start": "2026-12-01T08:00:00+08:00", "end": "2026-12-01T08:30:00+08:00" }))
        .unwrap()
    })
    .collect();
    let window = Window {
        from: day(1),
        days: 1,
        utc_offset_minutes: 480,
    };
    let s = fhir::schedule(window, vec![doctor], &owner, &slots).unwrap();
    assert_eq!(s.sessions.len(), 1);
    assert_eq!(s.sessions[0].status, SessionStatus::Full);
    assert_eq!(s.sessions[0].slots[0].id, "c");
}

#[test]
fn english_first_resources_and_known_zones() {
    let org: fhir::Organization = serde_json::from_value(json!({
        "id": "h1", "language": "en", "name": "Harbour Hospital",
        "_name": { "extension": [{ "url": fhir::TRANSLATION_EXTENSION, "extension": [
            { "url": "lang", "valueCode": "zh-CN" }, { "url": "content", "valueString": "海港医院" }] }] },
        "extension": [{ "url": fhir::TIMEZONE_EXTENSION, "valueCode": "Asia/Urumqi" }],
        "address": [{ "line": ["1 Quay St"], "city": "Harbour" }]
    }))
    .unwrap();
    let h = fhir::hospital(&org).unwrap();
    assert_eq!(h.name, Text::new("海港医院", "Harbour Hospital"));
    assert_eq!(h.utc_offset_minutes, 360);
    assert_eq!(h.address.en, "1 Quay St Harbour");
    assert_eq!(h.district.id, "");
    assert_eq!(fhir::zone_offset_minutes("Europe/London"), None);
}

fn patient() -> identity::Patient {
    let input = PatientInput {
        name: "张三".into(),
        document_kind: DocumentKind::ResidentId,
        document_number: "11010519491231002x".into(),
        phone: "138 0013 8000".into(),
        medical_card: None,
        relationship: Relationship::Myself,
        consent: true,
    };
    identity::Patient::validate(&input, day(1)).unwrap()
}

#[test]
fn booking_codes_are_stable_per_key_and_easy_to_read() {
    let a = fhir::booking_code("4f0c7c1e-8a53-4d7b-9a57-7b1f0f3a2c11");
    assert_eq!(
        a,
        fhir::booking_code("4f0c7c1e-8a53-4d7b-9a57-7b1f0f3a2c11")
    );
    assert_ne!(
        a,
        fhir::booking_code("4f0c7c1e-8a53-4d7b-9a57-7b1f0f3a2c12")
    );
    assert_eq!(a.len(), 9);
    assert_eq!(&a[4..5], "-");
    assert!(
        a.chars()
            .filter(|c| *c != '-')
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    assert!(!a.contains(['0', '1', 'I', 'L', 'O']));
}

#[test]
fn conditions_are_encoded_queries() {
    assert_eq!(
        fhir::booking_condition("4f0c7c1e-8a53-4d7b-9a57-7b1f0f3a2c11"),
        "identifier=https%3A%2F%2Ffairslot.example%2Ffhir%2Fsid%2Fbooking-key%7C4f0c7c1e-8a53-4d7b-9a57-7b1f0f3a2c11"
    );
    assert!(fhir::booking_condition("k&x=1").ends_with("%7Ck%26x%3D1"));
}

#[test]
fn a_claim_marks_the_slot_busy_for_one_key_and_keeps_the_rest() {
    let slots = bundle("slots-b-resp-1-page1.json");
    let raw = slots.raw("Slot")[0].clone();
    assert_eq!(fhir::claimed_by(&raw), None);
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
    let claimed = fhir::claim(&raw, "key-1", at);
    assert_eq!(claimed["status"], "busy");
    assert_eq!(fhir::claimed_by(&claimed), Some("key-1"));
    assert_eq!(claimed["specialty"], raw["specialty"]);
    assert_eq!(claimed["start"], raw["start"]);
    // Claiming again for another key replaces the claim rather than adding a second.
    let again = fhir::claim(&claimed, "key-2", at);
    assert_eq!(again["extension"].as_array().unwrap().len(), 1);
    let freed = fhir::unclaim(&claimed);
    assert_eq!(freed["status"], "free");
    assert_eq!(fhir::claimed_by(&freed), None);
    assert!(freed.get("extension").is_none());
    assert!(fhir::version_of(&raw).is_some());
    // A claim whose client was never heard of again stops standing after ten minutes.
    assert!(!fhir::claim_is_stale(
        &claimed,
        at + chrono::Duration::minutes(10)
    ));
    assert!(fhir::claim_is_stale(
        &claimed,
        at + chrono::Duration::minutes(11)
    ));
    assert!(!fhir::claim_is_stale(&raw, at));
    let mut timeless = claimed.clone();
    timeless["extension"][0]["extension"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert!(fhir::claim_is_stale(&timeless, at));
    assert_eq!(fhir::if_match("abc"), "W/\"abc\"");
}

fn summary() -> SlotSummary {
    SlotSummary {
        slot_id: "slot-b-resp-1-d01-0800".into(),
        start: "2026-12-02T08:00:00+08:00".parse().unwrap(),
        end: "2026-12-02T08:30:00+08:00".parse().unwrap(),
        period: Period::Am,
        hospital_id: "hosp-b".into(),
        hospital_name: Text::new("江南市中心医院", "Jiangnan Central Hospital"),
        hospital_address: Text::new("", ""),
        department_id: "org.org-b-resp".into(),
        department_name: Text::new("呼吸内科", "Respiratory Medicine"),
        doctor_id: "role-b-resp-1".into(),
        doctor_name: Text::new("黄志强", "Zhiqiang Huang"),
        fee_fen: None,
    }
}

#[test]
fn an_appointment_written_reads_back_as_the_booking() {
    let s = summary();
    let key = "8d2b6a0e-5b8c-4a55-9d43-2f1f7c1b0e9a";
    let mut written = fhir::appointment_resource(&fhir::AppointmentDraft {
        key,
        channel: "partner-a",
        slot_id: &s.slot_id,
        start: s.start,
        end: s.end,
        patient_id: "pat-1",
        role_id: "role-b-resp-1",
        created: Utc.with_ymd_and_hms(2026, 11, 30, 1, 2, 3).unwrap(),
    });
    assert_eq!(
        written["slot"][0]["reference"],
        "Slot/slot-b-resp-1-d01-0800"
    );
    assert_eq!(
        written["participant"][0]["actor"]["reference"],
        "Patient/pat-1"
    );
    // As the server stores it.
    written["id"] = json!("appt-1");
    written["meta"]["versionId"] = json!("v1");
    written["meta"]["lastUpdated"] = json!("2026-11-30T01:02:04.000Z");
    let patient_res: Value = fhir::patient_resource(&patient(), key);
    // Stored normalised, as checked: upper-case check character, digits only; under the
    // booking's key as well, the Patient being this booking's own.
    assert_eq!(patient_res["identifier"][0]["value"], "11010519491231002X");
    assert!(fhir::has_identifier(
        &patient_res,
        fhir::BOOKING_KEY_SYSTEM,
        key
    ));
    assert_eq!(patient_res["telecom"][0]["value"], "13800138000");
    let stored_patient: fhir::Patient = serde_json::from_value(patient_res).unwrap();
    assert_eq!(
        fhir::patient_last4(&stored_patient).as_deref(),
        Some("002X")
    );

    let appt: fhir::Appointment = fhir::read_resource(written.clone(), "Appointment").unwrap();
    let b = fhir::booking(
        &appt,
        fhir::masked_patient(Some(&stored_patient)),
        s.clone(),
    )
    .unwrap();
    assert_eq!(b.code, fhir::booking_code(key));
    assert_eq!(b.status, BookingStatus::Confirmed);
    assert_eq!(b.channel, "partner-a");
    assert_eq!(b.patient.document_number, "1101**************");
    assert_eq!(b.patient.document_kind, DocumentKind::ResidentId);
    assert!(!b.patient.phone.contains("0013"));
    assert_eq!(b.created_at.to_rfc3339(), "2026-11-30T01:02:03+00:00");
    assert_eq!(b.cancel_deadline.to_rfc3339(), "2026-12-02T06:00:00+08:00");
    assert_eq!(b.cancelled_at, None);

    let cancelled = fhir::cancelled(&written);
    let appt: fhir::Appointment = fhir::read_resource(cancelled, "Appointment").unwrap();
    let b = fhir::booking(&appt, fhir::masked_patient(None), s).unwrap();
    assert_eq!(b.status, BookingStatus::Cancelled);
    assert!(b.cancelled_at.is_some());
    // Without the patient the booking still shows, with nothing personal.
    assert_eq!(b.patient.document_number, "");
}

#[test]
fn appointments_not_made_by_fairslot_are_errors_not_panics() {
    let appt: fhir::Appointment = fhir::read_resource(
        json!({ "resourceType": "Appointment", "id": "x", "status": "booked" }),
        "Appointment",
    )
    .unwrap();
    let e = fhir::booking(&appt, fhir::masked_patient(None), summary()).unwrap_err();
    assert_eq!(e, FhirError::malformed("Appointment/x", "no booking code"));
    assert!(
        fhir::read_resource::<fhir::Appointment>(
            json!({ "resourceType": "Patient" }),
            "Appointment"
        )
        .is_err()
    );
}

#[test]
fn refusals_use_the_apps_own_wording() {
    let p = fhir::problem(ProblemKind::SlotTaken);
    assert_eq!(p.kind(), Some(ProblemKind::SlotTaken));
    assert_eq!(p.status, 409);
    assert_eq!(p.detail, None);
}

#[test]
fn capability_statements_say_whether_booking_can_be_guarded() {
    let statement = |slot: Value| {
        json!({ "resourceType": "CapabilityStatement", "rest": [{ "mode": "server", "resource": [
            slot,
            { "type": "Patient", "interaction": [{ "code": "create" }, { "code": "read" }] },
            { "type": "Appointment", "interaction": [{ "code": "create" }, { "code": "search-type" }] },
        ] }] })
    };
    let full = json!({ "type": "Slot", "versioning": "versioned",
        "interaction": [{ "code": "read" }, { "code": "update" }, { "code": "search-type" }] });
    assert_eq!(fhir::takes_bookings(&statement(full)), Some(true));
    // Read-only slots, slots without versions (no If-Match), no Slot at all.
    let read_only =
        json!({ "type": "Slot", "interaction": [{ "code": "read" }, { "code": "search-type" }] });
    assert_eq!(fhir::takes_bookings(&statement(read_only)), Some(false));
    let unversioned = json!({ "type": "Slot", "versioning": "no-version", "interaction": [{ "code": "update" }] });
    assert_eq!(fhir::takes_bookings(&statement(unversioned)), Some(false));
    assert_eq!(
        fhir::takes_bookings(&statement(json!({ "type": "Schedule" }))),
        Some(false)
    );
    // Not a CapabilityStatement (a server without `metadata` answering with a Bundle): unknown.
    assert_eq!(
        fhir::takes_bookings(&json!({ "resourceType": "Bundle" })),
        None
    );
    assert_eq!(fhir::takes_bookings(&json!("junk")), None);
}

#[test]
fn search_answers_are_checked_for_what_was_asked() {
    let appt = json!({ "resourceType": "Appointment", "status": "booked",
        "identifier": [{ "system": fhir::BOOKING_KEY_SYSTEM, "value": "k1" }],
        "slot": [{ "reference": "Slot/s1" }] });
    assert!(fhir::has_identifier(&appt, fhir::BOOKING_KEY_SYSTEM, "k1"));
    assert!(!fhir::has_identifier(&appt, fhir::BOOKING_KEY_SYSTEM, "k2"));
    assert!(!fhir::has_identifier(
        &appt,
        fhir::BOOKING_CODE_SYSTEM,
        "k1"
    ));
    assert!(fhir::books_slot(&appt, "s1") && !fhir::books_slot(&appt, "s2"));
    assert!(fhir::is_active_appointment(&appt));
    assert!(!fhir::is_active_appointment(
        &json!({ "status": "cancelled" })
    ));
}
