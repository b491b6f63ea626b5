//! Every string on screen, in zh-CN and en.
//!
//! Keys are enum variants, so a missing or misspelt key is a compile error, and the `messages!`
//! table cannot hold a key without both translations. Values with a `{}` take one argument
//! through [`I18n::fmt`]. Kept in the app rather than a dependency: a match over `&'static str`
//! adds nothing to the download that the strings themselves do not.

use fairslot_core::config::Locale;
use leptos::prelude::*;

macro_rules! messages {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// A translatable message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg { $($key),* }

        impl Msg {
            /// Every key, for tests that check the table as a whole.
            #[cfg(test)]
            pub const ALL: &'static [Msg] = &[$(Msg::$key),*];

            pub fn text(self, locale: Locale) -> &'static str {
                match (self, locale) {
                    $((Msg::$key, Locale::ZhCn) => $zh, (Msg::$key, Locale::En) => $en,)*
                }
            }
        }
    };
}

messages! {
    AppName => "Fairslot 预约挂号", "Fairslot appointments";
    SkipToContent => "跳到主要内容", "Skip to main content";
    SwitchLanguage => "English", "中文";
    SwitchLanguageLabel => "Switch to English", "切换到中文";
    Loading => "正在加载…", "Loading…";
    Retry => "重试", "Try again";
    Back => "返回", "Back";
    Home => "首页", "Home";

    // Config screen
    ConfigTitle => "此页面的配置有误", "This page is not set up correctly";
    ConfigIntro => "网站运营方的配置文件 config.json 有以下问题，预约暂时无法使用。请联系网站运营方。", "The site's configuration file, config.json, has the problems below, so booking cannot start. Please tell the site operator.";
    ConfigUnreachable => "无法读取配置文件 config.json。请检查网络后重试。", "The configuration file config.json could not be loaded. Check your connection and try again.";
    ConfigField => "字段", "Field";
    ConfigNotJson => "文件不是有效的 JSON：{}", "The file is not valid JSON: {}";
    ConfigMissing => "缺少此项", "This field is missing";
    ConfigWrongType => "类型错误，应为 {}", "Wrong type; expected {}";
    ConfigOneOf => "取值无效，应为以下之一：{}", "Not an allowed value; use one of: {}";
    ConfigBadUrl => "地址无效：需以 / 或 http(s):// 开头", "Not a valid address: it must start with / or http(s)://";
    ConfigBadOrigin => "来源无效：应为 https://主机[:端口]", "Not a valid origin: use https://host[:port]";
    ConfigEmpty => "列表不能为空", "The list must not be empty";
    ConfigOutOfRange => "数值超出范围（{}）", "Number out of range ({})";
    ConfigBadValue => "取值包含不允许的字符或格式", "The value has characters or a format that is not allowed";
    ConfigAdapterUnavailable => "此版本尚不支持所选的接口类型", "This build does not support the selected API kind yet";

    // Errors a patient can act on
    ErrNetwork => "网络连接中断，无法连接预约服务。请检查网络后重试。", "You seem to be offline, so the booking service could not be reached. Check your connection and try again.";
    ErrTimeout => "预约服务响应太慢。请稍后重试。", "The booking service is taking too long to answer. Please try again in a moment.";
    ErrUnavailable => "预约服务暂时不可用。请稍后重试，或致电医院。", "The booking service is temporarily unavailable. Please try again later or call the hospital.";
    ErrRateLimited => "请求过于频繁，请稍等片刻再试。", "Too many requests right now. Please wait a moment and try again.";
    ErrNotFound => "没有找到该内容，可能已被移除。请返回重新选择。", "We could not find this. It may have been removed; please go back and choose again.";
    ErrBadData => "预约服务返回了无法识别的数据。请稍后重试；如仍有问题请致电医院。", "The booking service sent data we could not read. Please try again later, or call the hospital if it keeps happening.";
    ErrRequest => "请求未被接受。请返回重新操作。", "The request was not accepted. Please go back and try again.";

    // Hospitals
    HospitalsTitle => "选择医院", "Choose a hospital";
    SearchHospitals => "搜索医院名称或地址", "Search by hospital name or address";
    District => "区域", "District";
    AllDistricts => "全部区域", "All districts";
    Level => "等级", "Level";
    AllLevels => "全部等级", "All levels";
    Level3A => "三级甲等", "Grade 3A";
    Level3B => "三级乙等", "Grade 3B";
    Level2A => "二级甲等", "Grade 2A";
    Level2B => "二级乙等", "Grade 2B";
    Level1 => "一级", "Grade 1";
    HasSlotsToday => "今日有号", "Slots today";
    NoSlotsToday => "今日无号", "No slots today";
    NoHospitals => "没有符合条件的医院。请换个关键词或清除筛选。", "No hospitals match. Try another word or clear the filters.";
    ClearFilters => "清除筛选", "Clear filters";
    ResultsCount => "共 {} 家医院", "{} hospitals";
    Phone => "电话", "Phone";

    // Departments
    DepartmentsTitle => "选择科室", "Choose a department";
    SearchDepartments => "搜索科室", "Search departments";
    NoDepartments => "没有符合条件的科室。", "No departments match.";

    // Doctors
    DoctorsTitle => "选择医生", "Choose a doctor";
    DepartmentSchedule => "按日期查看全部号源", "See all slots by date";
    NoDoctors => "该科室暂无出诊医生。", "No doctors see patients in this department at the moment.";
    Fee => "挂号费", "Fee";
    NextDays => "近 7 天号源", "Next 7 days";
    TitleChief => "主任医师", "Chief physician";
    TitleAssociateChief => "副主任医师", "Associate chief physician";
    TitleAttending => "主治医师", "Attending physician";
    TitleResident => "住院医师", "Resident physician";

    // Schedule
    ScheduleTitle => "排班与号源", "Schedule";
    TimesIn => "时间均为医院当地时间（UTC{}）", "All times are hospital time (UTC{})";
    ChooseDay => "选择日期", "Choose a day";
    Today => "今天", "Today";
    Am => "上午", "Morning";
    Pm => "下午", "Afternoon";
    Evening => "晚间", "Evening";
    Remaining => "余 {}", "{} left";
    Full => "约满", "Full";
    SlotPast => "已过", "Past";
    Stopped => "停诊", "No clinic";
    NotReleased => "未放号", "Not released";
    ReleasedAt => "{} 放号", "Opens {}";
    NoSessions => "这一天没有出诊。请选择其他日期。", "No clinics on this day. Please choose another day.";
    NoClinic => "无出诊", "No clinic";
    Weekday0 => "周一", "Mon";
    Weekday1 => "周二", "Tue";
    Weekday2 => "周三", "Wed";
    Weekday3 => "周四", "Thu";
    Weekday4 => "周五", "Fri";
    Weekday5 => "周六", "Sat";
    Weekday6 => "周日", "Sun";

    NotFoundTitle => "页面不存在", "Page not found";
    NotFoundBody => "这个地址没有内容。请从首页重新开始。", "There is nothing at this address. Please start again from the home page.";
}

/// Which locale is on screen; provided once by the shell.
#[derive(Debug, Clone, Copy)]
pub struct I18n {
    pub locale: RwSignal<Locale>,
}

impl I18n {
    /// Reactive text of a message: re-renders when the language changes.
    pub fn t(self, msg: Msg) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
        move || msg.text(self.locale.get())
    }

    /// Text of a message with its `{}` replaced; call inside a reactive closure so it follows
    /// the language.
    pub fn fmt(self, msg: Msg, arg: impl std::fmt::Display) -> String {
        msg.text(self.locale.get())
            .replacen("{}", &arg.to_string(), 1)
    }

    /// The language form of a bilingual name.
    pub fn pick(self, text: &fairslot_core::Text) -> String {
        match self.locale.get() {
            Locale::ZhCn => text.zh.clone(),
            Locale::En => text.en.clone(),
        }
    }
}

/// Makes the chosen locale available to every view below.
pub fn provide_i18n(initial: Locale) -> I18n {
    let i18n = I18n {
        locale: RwSignal::new(initial),
    };
    provide_context(i18n);
    i18n
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_text_in_both_languages_and_matching_placeholders() {
        for &msg in Msg::ALL {
            let zh = msg.text(Locale::ZhCn);
            let en = msg.text(Locale::En);
            assert!(!zh.trim().is_empty() && !en.trim().is_empty(), "{msg:?}");
            assert_eq!(
                zh.matches("{}").count(),
                en.matches("{}").count(),
                "{msg:?}"
            );
        }
    }

    #[test]
    fn chinese_text_is_chinese() {
        // Catches an English string pasted into the zh column.
        for &msg in Msg::ALL {
            // The switch speaks the language it switches to.
            if matches!(
                msg,
                Msg::SwitchLanguage | Msg::SwitchLanguageLabel | Msg::AppName
            ) {
                continue;
            }
            let zh = msg.text(Locale::ZhCn);
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{msg:?}: {zh}"
            );
        }
    }
}
