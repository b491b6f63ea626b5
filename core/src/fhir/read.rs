//! FHIR resources → the domain the pages show: hospitals, department trees, doctors, schedules.

use chrono::{DateTime, FixedOffset, NaiveDate, Timelike};
use std::collections::{BTreeMap, HashMap};

use super::model::{self, HumanName, Organization, PractitionerRole};
use super::{
    FEE_EXTENSION, FhirError, LANGUAGE_EXTENSION, LEVEL_SYSTEM, SLOT_CAPACITY_EXTENSION,
    TIMEZONE_EXTENSION, TITLE_SYSTEM, bilingual, concept_text, translation,
};
use crate::time::at_hospital;
use crate::{
    Department, DepartmentGroup, DepartmentTree, District, Doctor, DoctorTitle, Hospital,
    HospitalLevel, Period, Schedule, Session, SessionStatus, Slot, Text,
};

/// China Standard Time: the offset of a hospital whose Organization names no time zone.
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 8 * 60;

/// The fixed UTC offset of an IANA time zone without daylight saving time, for the zones a
/// deployment is likely to name. Zones with DST have no fixed offset and are not listed.
pub fn zone_offset_minutes(zone: &str) -> Option<i32> {
    Some(match zone {
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Chungking" | "Asia/Harbin" | "PRC"
        | "Asia/Hong_Kong" | "Hongkong" | "Asia/Macau" | "Asia/Taipei" | "ROC"
        | "Asia/Singapore" | "Asia/Kuala_Lumpur" | "Asia/Manila" => 480,
        "Asia/Urumqi" | "Asia/Kashgar" => 360,
        "Asia/Tokyo" | "Asia/Seoul" => 540,
        "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" => 0,
        _ => return None,
    })
}

/// How the app names a department: the FHIR type is part of the id, since both styles exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepartmentRef {
    Service(String),
    Organization(String),
}

impl DepartmentRef {
    pub fn id(&self) -> String {
        match self {
            Self::Service(id) => format!("hs.{id}"),
            Self::Organization(id) => format!("org.{id}"),
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        if let Some(rest) = id.strip_prefix("hs.") {
            is_fhir_id(rest).then(|| Self::Service(rest.to_string()))
        } else if let Some(rest) = id.strip_prefix("org.") {
            is_fhir_id(rest).then(|| Self::Organization(rest.to_string()))
        } else {
            None
        }
    }

    /// The `Type/id` reference FHIR searches take.
    pub fn reference(&self) -> String {
        match self {
            Self::Service(id) => format!("HealthcareService/{id}"),
            Self::Organization(id) => format!("Organization/{id}"),
        }
    }
}

/// Whether `id` can be a FHIR logical id and go into a URL unchanged: never dots alone, which
/// a URL parser reads as `.` or `..`.
pub fn is_fhir_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.bytes().all(|b| b == b'.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn required_id(id: &Option<String>, kind: &str) -> Result<String, FhirError> {
    match id {
        Some(id) if is_fhir_id(id) => Ok(id.clone()),
        Some(id) => Err(FhirError::malformed(kind, format!("invalid id {id:?}"))),
        None => Err(FhirError::malformed(kind, "no id")),
    }
}

fn org_name(org: &Organization) -> Option<Text> {
    bilingual(
        org.name.as_deref(),
        org.name_extras.as_ref(),
        org.language.as_deref(),
        org.alias.first().map(String::as_str),
    )
}

/// A top-level Organization as a hospital.
pub fn hospital(org: &Organization) -> Result<Hospital, FhirError> {
    let id = required_id(&org.id, "Organization")?;
    let what = || format!("Organization/{id}");
    let name = org_name(org).ok_or_else(|| FhirError::malformed(what(), "no name"))?;
    let level = org
        .kind
        .iter()
        .flat_map(|c| &c.coding)
        .filter(|c| c.system.as_deref() == Some(LEVEL_SYSTEM))
        .find_map(|c| c.code.as_deref().and_then(HospitalLevel::from_code));
    let address = org.address.first();
    let district = address
        .and_then(|a| {
            let zh = a.district.as_deref()?.trim();
            let en = translation(a.district_extras.as_ref(), "en");
            (!zh.is_empty()).then(|| District {
                id: zh.to_string(),
                name: Text::new(zh, en.unwrap_or_else(|| zh.to_string())),
            })
        })
        .unwrap_or(District {
            id: String::new(),
            name: Text::new("", ""),
        });
    let address_text = address
        .and_then(|a| {
            bilingual(a.text.as_deref(), a.text_extras.as_ref(), None, None).or_else(|| {
                let parts: Vec<&str> = a
                    .line
                    .iter()
                    .map(String::as_str)
                    .chain(a.district.as_deref())
                    .chain(a.city.as_deref())
                    .collect();
                let joined = parts.join(" ");
                (!joined.trim().is_empty()).then(|| Text::new(joined.clone(), joined))
            })
        })
        .unwrap_or(Text::new("", ""));
    let phone = org
        .telecom
        .iter()
        .find(|t| t.system.as_deref() == Some("phone"))
        .and_then(|t| t.value.clone())
        .unwrap_or_default();
    let utc_offset_minutes = org
        .extension
        .iter()
        .filter(|e| e.url == TIMEZONE_EXTENSION)
        .find_map(|e| e.value_code.as_deref().and_then(zone_offset_minutes))
        .unwrap_or(DEFAULT_UTC_OFFSET_MINUTES);
    Ok(Hospital {
        id,
        name,
        level,
        district,
        address: address_text,
        phone,
        utc_offset_minutes,
        has_slots_today: None,
    })
}

/// Organizations that are hospitals: active and part of nothing.
pub fn hospitals(orgs: &[Organization]) -> Result<Vec<Hospital>, FhirError> {
    orgs.iter()
        .filter(|o| o.active != Some(false) && o.part_of.is_none())
        .map(hospital)
        .collect()
}

pub fn service_department(hs: &model::HealthcareService) -> Result<Department, FhirError> {
    let id = required_id(&hs.id, "HealthcareService")?;
    let name = bilingual(
        hs.name.as_deref(),
        hs.name_extras.as_ref(),
        hs.language.as_deref(),
        None,
    )
    .ok_or_else(|| FhirError::malformed(format!("HealthcareService/{id}"), "no name"))?;
    let description = bilingual(
        hs.comment.as_deref(),
        hs.comment_extras.as_ref(),
        hs.language.as_deref(),
        None,
    );
    Ok(Department {
        id: DepartmentRef::Service(id).id(),
        name,
        description,
    })
}

pub fn org_department(org: &Organization) -> Result<Department, FhirError> {
    let id = required_id(&org.id, "Organization")?;
    let name = org_name(org)
        .ok_or_else(|| FhirError::malformed(format!("Organization/{id}"), "no name"))?;
    Ok(Department {
        id: DepartmentRef::Organization(id).id(),
        name,
        description: None,
    })
}

/// A hospital's departments, from either or both styles:
/// - `services`: HealthcareService provided by the hospital, grouped by their first category;
/// - `groups`: Organizations part of the hospital, each holding the `children` part of it (a
///   group without children is a department of its own).
pub fn department_tree(
    hospital: Hospital,
    services: &[model::HealthcareService],
    groups: &[Organization],
    children: &[Organization],
) -> Result<DepartmentTree, FhirError> {
    let mut out: Vec<DepartmentGroup> = Vec::new();
    for hs in services.iter().filter(|s| s.active != Some(false)) {
        let department = service_department(hs)?;
        let category = hs.category.first();
        let key = category
            .and_then(|c| {
                c.coding
                    .iter()
                    .find_map(|x| x.code.clone())
                    .or(c.text.clone())
            })
            .unwrap_or_default();
        let name = category
            .and_then(concept_text)
            .unwrap_or_else(|| Text::new("其他科室", "Other departments"));
        let group_id = format!("cat.{key}");
        match out.iter_mut().find(|g| g.id == group_id) {
            Some(g) => g.departments.push(department),
            None => out.push(DepartmentGroup {
                id: group_id,
                name,
                departments: vec![department],
            }),
        }
    }
    for group in groups.iter().filter(|o| o.active != Some(false)) {
        let as_department = org_department(group)?;
        let group_id = group.id.clone().unwrap_or_default();
        let mut departments = children
            .iter()
            .filter(|c| c.active != Some(false))
            .filter(|c| {
                c.part_of.as_ref().and_then(|p| p.id_of("Organization")) == Some(group_id.as_str())
            })
            .map(org_department)
            .collect::<Result<Vec<_>, _>>()?;
        if departments.is_empty() {
            departments.push(as_department.clone());
        }
        out.push(DepartmentGroup {
            id: as_department.id,
            name: as_department.name,
            departments,
        });
    }
    Ok(DepartmentTree {
        hospital,
        groups: out,
    })
}

/// One HumanName as written: `text`, or family and given joined the way the language writes them.
pub(super) fn written_name(name: &HumanName, chinese: bool) -> Option<String> {
    if let Some(t) = name
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Some(t.to_string());
    }
    let family = name.family.as_deref().unwrap_or("").trim();
    let given = name.given.join(if chinese { "" } else { " " });
    let full = if chinese {
        format!("{family}{given}")
    } else {
        format!("{given} {family}")
    };
    let full = full.trim().to_string();
    (!full.is_empty()).then_some(full)
}

fn name_language(name: &HumanName) -> Option<String> {
    name.extension
        .iter()
        .find(|e| e.url == LANGUAGE_EXTENSION)
        .and_then(|e| e.value_code.clone())
        .map(|c| c.to_ascii_lowercase())
}

/// A practitioner's name in both languages: names tagged with a language first, else the first
/// name is Chinese and the second English (or the first again).
pub fn practitioner_name(p: &model::Practitioner) -> Option<Text> {
    let tagged = |lang: &str| {
        p.name
            .iter()
            .find(|n| name_language(n).is_some_and(|l| l.starts_with(lang)))
    };
    // Untagged names come first as Chinese; a name tagged as another language never is.
    let zh_name = tagged("zh")
        .or_else(|| p.name.iter().find(|n| name_language(n).is_none()))
        .or(p.name.first())?;
    let en_name = tagged("en").or_else(|| p.name.get(1)).unwrap_or(zh_name);
    let zh = written_name(zh_name, true)?;
    let en = written_name(en_name, false).unwrap_or_else(|| zh.clone());
    Some(Text::new(zh, en))
}

fn title_from_code(code: &str) -> Option<DoctorTitle> {
    Some(match code {
        "chief-physician" | "主任医师" => DoctorTitle::Chief,
        "associate-chief-physician" | "副主任医师" => DoctorTitle::AssociateChief,
        "attending-physician" | "主治医师" => DoctorTitle::Attending,
        "resident-physician" | "住院医师" => DoctorTitle::Resident,
        _ => return None,
    })
}

fn doctor_title(role: &PractitionerRole, p: Option<&model::Practitioner>) -> Option<DoctorTitle> {
    let concepts = p
        .into_iter()
        .flat_map(|p| p.qualification.iter().map(|q| &q.code))
        .chain(&role.code);
    for concept in concepts {
        for coding in &concept.coding {
            if coding.system.as_deref() == Some(TITLE_SYSTEM)
                && let Some(t) = coding.code.as_deref().and_then(title_from_code)
            {
                return Some(t);
            }
        }
        if let Some(t) = concept.text.as_deref().and_then(title_from_code) {
            return Some(t);
        }
    }
    None
}

/// The registration fee in fen, from the fee extension in CNY.
fn fee_fen(role: &PractitionerRole) -> Option<u32> {
    let money = role
        .extension
        .iter()
        .find(|e| e.url == FEE_EXTENSION)?
        .value_money
        .as_ref()?;
    if money.currency.as_deref().is_some_and(|c| c != "CNY") {
        return None;
    }
    let fen = (money.value? * 100.0).round();
    (0.0..=u32::MAX as f64).contains(&fen).then_some(fen as u32)
}

/// A PractitionerRole and its Practitioner as a doctor of a department. `None` for a role that
/// names nobody the patient could recognise (no practitioner name): it is not listed.
pub fn doctor(
    role: &PractitionerRole,
    practitioner: Option<&model::Practitioner>,
    hospital_id: &str,
    department_id: &str,
) -> Result<Option<Doctor>, FhirError> {
    let id = required_id(&role.id, "PractitionerRole")?;
    if role.active == Some(false) {
        return Ok(None);
    }
    let Some(name) = practitioner.and_then(practitioner_name) else {
        return Ok(None);
    };
    let specialty = role
        .specialty
        .first()
        .and_then(concept_text)
        .unwrap_or(Text::new("", ""));
    Ok(Some(Doctor {
        id,
        hospital_id: hospital_id.to_string(),
        department_id: department_id.to_string(),
        name,
        title: doctor_title(role, practitioner),
        specialty,
        fee_fen: fee_fen(role),
        photo_url: None,
    }))
}

/// A slot's instant; FHIR instants always carry a zone.
pub fn instant(value: Option<&str>, what: &str) -> Result<DateTime<FixedOffset>, FhirError> {
    let v = value.ok_or_else(|| FhirError::malformed(what, "no time"))?;
    DateTime::parse_from_rfc3339(v)
        .map_err(|_| FhirError::malformed(what, format!("bad time {v:?}")))
}

/// The half-day a start time in hospital time belongs to.
pub fn period_of(local: DateTime<FixedOffset>) -> Period {
    match local.hour() {
        0..=11 => Period::Am,
        12..=17 => Period::Pm,
        _ => Period::Evening,
    }
}

fn capacity(slot: &model::Slot) -> u32 {
    slot.extension
        .iter()
        .find(|e| e.url == SLOT_CAPACITY_EXTENSION)
        .and_then(|e| {
            e.value_positive_int
                .or(e.value_unsigned_int)
                .or(e.value_integer)
        })
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

/// What a slot's status means for booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free,
    Taken,
    /// `busy-unavailable`: nobody sees patients then (停诊 when a whole session is so).
    Unavailable,
}

fn slot_state(status: Option<&str>) -> Option<SlotState> {
    match status? {
        "free" => Some(SlotState::Free),
        "busy" | "busy-tentative" => Some(SlotState::Taken),
        "busy-unavailable" => Some(SlotState::Unavailable),
        // entered-in-error and codes this version does not know are not shown.
        _ => None,
    }
}

/// The window a schedule is shown for, and the hospital's offset that cuts it into days.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: NaiveDate,
    pub days: u32,
    pub utc_offset_minutes: i32,
}

impl Window {
    fn contains(&self, date: NaiveDate) -> bool {
        let end = self.from + chrono::Days::new(self.days.into());
        date >= self.from && date < end
    }
}

/// Sessions derived from slots: each doctor's slots grouped by hospital-local day and half-day.
///
/// `owner` maps a Schedule id to the doctor (PractitionerRole id) it belongs to; slots of other
/// schedules are left out. A session whose slots are all `busy-unavailable` is stopped (停诊);
/// one with no free place left is full.
pub fn schedule(
    window: Window,
    doctors: Vec<Doctor>,
    owner: &HashMap<String, String>,
    slots: &[model::Slot],
) -> Result<Schedule, FhirError> {
    type Key = (String, NaiveDate, Period);
    let mut grouped: BTreeMap<Key, Vec<(Slot, SlotState)>> = BTreeMap::new();
    for raw in slots {
        let id = required_id(&raw.id, "Slot")?;
        let what = format!("Slot/{id}");
        let Some(state) = slot_state(raw.status.as_deref()) else {
            continue;
        };
        let Some(doctor_id) = raw
            .schedule
            .id_of("Schedule")
            .and_then(|s| owner.get(s))
            .filter(|d| doctors.iter().any(|x| &x.id == *d))
        else {
            continue;
        };
        let start = instant(raw.start.as_deref(), &what)?;
        let end = instant(raw.end.as_deref(), &what)?;
        if end <= start {
            return Err(FhirError::malformed(what, "ends before it starts"));
        }
        let local = at_hospital(start, window.utc_offset_minutes);
        let date = local.date_naive();
        if !window.contains(date) {
            continue;
        }
        let capacity = capacity(raw);
        let slot = Slot {
            id,
            start: local,
            end: at_hospital(end, window.utc_offset_minutes),
            capacity,
            remaining: if state == SlotState::Free {
                capacity
            } else {
                0
            },
        };
        grouped
            .entry((doctor_id.clone(), date, period_of(local)))
            .or_default()
            .push((slot, state));
    }
    let sessions = grouped
        .into_iter()
        .map(|((doctor_id, date, period), mut slots)| {
            slots.sort_by_key(|(s, _)| s.start);
            let stopped = slots.iter().all(|(_, st)| *st == SlotState::Unavailable);
            let doctor = doctors.iter().find(|d| d.id == doctor_id);
            let slots: Vec<Slot> = slots
                .into_iter()
                .filter(|(_, st)| stopped || *st != SlotState::Unavailable)
                .map(|(s, _)| s)
                .collect();
            let status = if stopped {
                SessionStatus::Stopped
            } else if slots.iter().all(|s| s.remaining == 0) {
                SessionStatus::Full
            } else {
                SessionStatus::Open
            };
            let period_code = match period {
                Period::Am => "am",
                Period::Pm => "pm",
                Period::Evening => "evening",
            };
            Session {
                id: format!("{doctor_id}.{date}.{period_code}"),
                department_id: doctor.map(|d| d.department_id.clone()).unwrap_or_default(),
                fee_fen: doctor.and_then(|d| d.fee_fen),
                doctor_id,
                date,
                period,
                status,
                release_at: None,
                slots,
            }
        })
        .collect();
    Ok(Schedule {
        from: window.from,
        days: window.days,
        utc_offset_minutes: window.utc_offset_minutes,
        doctors,
        sessions,
    })
}
