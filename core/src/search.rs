//! Search and filtering of hospitals and departments, shared by the server's query parameters and the
//! app's search-as-you-type (which filters a list it already has, so it also works offline).

use crate::contract::{DepartmentGroup, Hospital, HospitalLevel, Text};

/// Case-insensitive match of a query against both language forms of a name.
/// An empty (or all-space) query matches everything.
pub fn text_matches(text: &Text, query: &str) -> bool {
    let query = query.trim().to_lowercase();
    query.is_empty()
        || text.zh.to_lowercase().contains(&query)
        || text.en.to_lowercase().contains(&query)
}

/// Hospital filter: name query, district id, level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HospitalFilter {
    pub query: String,
    pub district: Option<String>,
    pub level: Option<HospitalLevel>,
}

impl HospitalFilter {
    pub fn matches(&self, h: &Hospital) -> bool {
        (text_matches(&h.name, &self.query) || text_matches(&h.address, &self.query))
            && self.district.as_ref().is_none_or(|d| &h.district.id == d)
            && self.level.is_none_or(|l| h.level == Some(l))
    }

    pub fn apply<'a>(&self, hospitals: &'a [Hospital]) -> Vec<&'a Hospital> {
        hospitals.iter().filter(|h| self.matches(h)).collect()
    }
}

/// The districts present in a hospital list, once each, in first-seen order.
pub fn districts(hospitals: &[Hospital]) -> Vec<(String, Text)> {
    let mut out: Vec<(String, Text)> = Vec::new();
    for h in hospitals {
        if !out.iter().any(|(id, _)| id == &h.district.id) {
            out.push((h.district.id.clone(), h.district.name.clone()));
        }
    }
    out
}

/// Filters a department tree: a group matching the query keeps all its departments; otherwise it
/// keeps only its matching departments and disappears when none match.
pub fn filter_departments(groups: &[DepartmentGroup], query: &str) -> Vec<DepartmentGroup> {
    groups
        .iter()
        .filter_map(|g| {
            if text_matches(&g.name, query) {
                return Some(g.clone());
            }
            let departments: Vec<_> = g
                .departments
                .iter()
                .filter(|d| text_matches(&d.name, query))
                .cloned()
                .collect();
            (!departments.is_empty()).then(|| DepartmentGroup {
                departments,
                ..g.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Department, District};

    fn hospital(id: &str, zh: &str, en: &str, district: &str, level: HospitalLevel) -> Hospital {
        Hospital {
            id: id.into(),
            name: Text::new(zh, en),
            level: Some(level),
            district: District {
                id: district.into(),
                name: Text::new(district, district),
            },
            address: Text::new("某路1号", "1 Some Road"),
            phone: "0571-1".into(),
            utc_offset_minutes: 480,
            has_slots_today: Some(true),
        }
    }

    #[test]
    fn hospital_search_matches_either_language_and_filters() {
        let list = vec![
            hospital(
                "a",
                "西湖人民医院",
                "West Lake People's Hospital",
                "xihu",
                HospitalLevel::Grade3A,
            ),
            hospital(
                "b",
                "滨江儿童医院",
                "Binjiang Children's Hospital",
                "binjiang",
                HospitalLevel::Grade3B,
            ),
        ];
        let ids = |f: &HospitalFilter| {
            f.apply(&list)
                .iter()
                .map(|h| h.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&HospitalFilter::default()), ["a", "b"]);
        let q = |s: &str| HospitalFilter {
            query: s.into(),
            ..Default::default()
        };
        assert_eq!(ids(&q("儿童")), ["b"]);
        assert_eq!(ids(&q("CHILD")), ["b"]);
        assert_eq!(ids(&q("  ")), ["a", "b"]);
        assert!(ids(&q("' OR 1=1 --")).is_empty());
        let f = HospitalFilter {
            level: Some(HospitalLevel::Grade3A),
            ..Default::default()
        };
        assert_eq!(ids(&f), ["a"]);
        let f = HospitalFilter {
            district: Some("binjiang".into()),
            query: "west".into(),
            ..Default::default()
        };
        assert!(ids(&f).is_empty());
        assert_eq!(districts(&list).len(), 2);
    }

    #[test]
    fn department_search_keeps_whole_matching_groups_and_prunes_others() {
        let dep = |id: &str, zh: &str, en: &str| Department {
            id: id.into(),
            name: Text::new(zh, en),
            description: None,
        };
        let groups = vec![
            DepartmentGroup {
                id: "im".into(),
                name: Text::new("内科", "Internal Medicine"),
                departments: vec![
                    dep("cardio", "心血管内科", "Cardiology"),
                    dep("gi", "消化内科", "Gastroenterology"),
                ],
            },
            DepartmentGroup {
                id: "surg".into(),
                name: Text::new("外科", "Surgery"),
                departments: vec![dep("ortho", "骨科", "Orthopaedics")],
            },
        ];
        let r = filter_departments(&groups, "内科");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].departments.len(), 2);
        let r = filter_departments(&groups, "cardio");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].departments.len(), 1);
        assert!(filter_departments(&groups, "dermatology").is_empty());
        assert_eq!(filter_departments(&groups, "").len(), 2);
    }
}
