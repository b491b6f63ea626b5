use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{TestServer, day};

async fn ids(s: &TestServer, query: &str) -> Vec<String> {
    let list: Value = s
        .get(&format!("/hospitals{query}"))
        .await
        .json()
        .await
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn hospitals_can_be_searched_and_filtered() {
    let s = TestServer::start().await;
    assert_eq!(ids(&s, "").await, ["h1", "h2", "h3", "h4"]);
    assert_eq!(ids(&s, "?level=3A").await, ["h1", "h2"]);
    assert_eq!(ids(&s, "?district=binjiang").await, ["h3"]);
    assert_eq!(ids(&s, "?q=儿童").await, ["h3"]);
    assert_eq!(ids(&s, "?q=children").await, ["h3"]);
    assert_eq!(ids(&s, "?q=west%20lake&level=3A").await, ["h1"]);
    assert!(ids(&s, "?q=nowhere").await.is_empty());

    let h1: Value = s.get("/hospitals/h1").await.json().await.unwrap();
    assert_eq!(h1["name"]["zh"], "杭州市西湖人民医院");
    assert_eq!(h1["level"], "3A");
    assert_eq!(h1["district"]["name"]["zh"], "西湖区");
    assert_eq!(h1["utc_offset_minutes"], 480);
    assert_eq!(h1["has_slots_today"], true);
}

#[tokio::test]
async fn has_slots_today_follows_the_clock() {
    let s = TestServer::start().await;
    let today_am = |s: &TestServer| {
        let path = "/schedules?doctor=h1-cardio-3&days=1";
        let client = s.client.clone();
        let url = s.url(path);
        async move {
            let schedule: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            schedule["sessions"][0]["status"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(today_am(&s).await, "open");
    // At 23:00 every session of the day has started: nothing is bookable, whatever the counts.
    s.clock.advance(chrono::Duration::hours(14));
    let h1: Value = s.get("/hospitals/h1").await.json().await.unwrap();
    assert_eq!(h1["has_slots_today"], false);
    assert_eq!(today_am(&s).await, "full");
}

#[tokio::test]
async fn departments_form_a_two_level_tree_with_doctors() {
    let s = TestServer::start().await;
    let tree: Value = s
        .get("/hospitals/h1/departments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tree["hospital"]["id"], "h1");
    let groups = tree["groups"].as_array().unwrap();
    let internal = groups.iter().find(|g| g["id"] == "h1-im").unwrap();
    assert_eq!(internal["name"]["zh"], "内科");
    let names: Vec<&str> = internal["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"]["zh"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"心血管内科") && names.contains(&"消化内科"),
        "{names:?}"
    );
    let departments: usize = groups
        .iter()
        .map(|g| g["departments"].as_array().unwrap().len())
        .sum();
    assert!(departments >= 8);

    let filtered: Value = s
        .get("/hospitals/h1/departments?q=cardio")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["groups"].as_array().unwrap().len(), 1);

    let doctors: Value = s
        .get("/departments/h1-cardio/doctors")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doctors["department"]["name"]["en"], "Cardiology");
    assert_eq!(doctors["hospital"]["id"], "h1");
    let items = doctors["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!(items[0]["title"], "chief");
    assert_eq!(items[0]["fee_fen"], 5000);
    assert!(
        items
            .iter()
            .all(|d| d["name"]["zh"].as_str().unwrap().chars().count() >= 2)
    );
    assert!(
        items
            .iter()
            .all(|d| d["specialty"]["en"].as_str().is_some())
    );
}

#[tokio::test]
async fn schedules_show_every_session_state_in_hospital_time() {
    let s = TestServer::start().await;
    let response = s.get("/schedules?department=h1-cardio&days=14").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let schedule: Value = response.json().await.unwrap();
    assert_eq!(schedule["from"], day(0));
    assert_eq!(schedule["days"], 14);
    assert_eq!(schedule["utc_offset_minutes"], 480);
    assert_eq!(schedule["doctors"].as_array().unwrap().len(), 6);
    let sessions = schedule["sessions"].as_array().unwrap();
    let status_of = |id: &str| {
        sessions
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status_of(&format!("h1-cardio-1-{}-am", day(1))), "full");
    assert_eq!(status_of(&format!("h1-cardio-2-{}-pm", day(1))), "stopped");
    assert_eq!(status_of(&format!("h1-cardio-3-{}-am", day(1))), "open");
    assert_eq!(
        status_of(&format!("h1-cardio-5-{}-evening", day(1))),
        "open"
    );
    assert_eq!(
        status_of(&format!("h1-cardio-3-{}-am", day(13))),
        "not_released"
    );
    let unreleased = sessions
        .iter()
        .find(|s| s["id"] == format!("h1-cardio-3-{}-am", day(13)))
        .unwrap();
    assert_eq!(
        unreleased["release_at"],
        format!("{}T15:00:00+08:00", day(1))
    );

    let open = sessions
        .iter()
        .find(|s| s["id"] == format!("h1-cardio-4-{}-pm", day(2)))
        .unwrap();
    let first = &open["slots"][0];
    assert_eq!(first["start"], format!("{}T13:30:00+08:00", day(2)));
    assert_eq!(first["end"], format!("{}T14:00:00+08:00", day(2)));
    assert_eq!(first["capacity"], 2);
    assert_eq!(first["remaining"], 2);

    let one: Value = s
        .get(&format!(
            "/schedules?department=h1-cardio&doctor=h1-cardio-3&from={}&days=1",
            day(1)
        ))
        .await
        .json()
        .await
        .unwrap();
    let sessions = one["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(
        sessions
            .iter()
            .all(|s| s["doctor_id"] == "h1-cardio-3" && s["date"] == day(1))
    );
    assert_eq!(one["doctors"].as_array().unwrap().len(), 1);
    let alone: Value = s
        .get(&format!(
            "/schedules?doctor=h1-cardio-3&from={}&days=1",
            day(1)
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alone, one);
}

#[tokio::test]
async fn the_large_department_exists_only_when_asked_for() {
    let plain = TestServer::start().await;
    assert_eq!(
        plain.get("/departments/h1-large/doctors").await.status(),
        StatusCode::NOT_FOUND
    );

    let large = TestServer::start_with(|c| c.demo_large = true).await;
    let doctors: Value = large
        .get("/departments/h1-large/doctors")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doctors["items"].as_array().unwrap().len(), 60);
    let schedule: Value = large
        .get(&format!(
            "/schedules?department=h1-large&from={}&days=1",
            day(1)
        ))
        .await
        .json()
        .await
        .unwrap();
    let slots: usize = schedule["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slots"].as_array().unwrap().len())
        .sum();
    assert_eq!(slots, 60 * 40);
}
