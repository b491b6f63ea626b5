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
    Breadcrumbs => "当前位置", "You are here";
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
    ConfigFhirOnly => "此项仅用于 FHIR 接口（api.kind 为 \"fhir\"）；使用原生接口时请删除此项", "This only applies to a FHIR backend (api.kind \"fhir\"); remove it for the native API";
    ConfigFraming => "此预约页面只能在运营方许可的合作网站中显示。", "This booking page can only be shown inside the partner sites its operator allows.";

    // Errors a patient can act on
    ErrPart => "这部分页面未能加载，可能是网络中断。请检查网络后重试。", "This part of the app could not be loaded; the connection may have dropped. Check your connection and try again.";
    ErrNetwork => "网络连接中断，无法连接预约服务。请检查网络后重试。", "You seem to be offline, so the booking service could not be reached. Check your connection and try again.";
    ErrTimeout => "预约服务响应太慢。请稍后重试。", "The booking service is taking too long to answer. Please try again in a moment.";
    ErrUnavailable => "预约服务暂时不可用。请稍后重试，或致电医院。", "The booking service is temporarily unavailable. Please try again later or call the hospital.";
    ErrRateLimited => "请求过于频繁，请稍等片刻再试。", "Too many requests right now. Please wait a moment and try again.";
    ErrNotFound => "没有找到该内容，可能已被移除。请返回重新选择。", "We could not find this. It may have been removed; please go back and choose again.";
    ErrBadData => "预约服务返回了无法识别的数据。请稍后重试；如仍有问题请致电医院。", "The booking service sent data we could not read. Please try again later, or call the hospital if it keeps happening.";
    ErrRequest => "请求未被接受。请返回重新操作。", "The request was not accepted. Please go back and try again.";
    ErrRateLimitedWait => "请求过于频繁，请等待 {} 秒后再试。", "Too many requests right now. Please wait {} seconds and try again.";
    ErrRateLimitedWaitMinutes => "请求过于频繁，请等待 {} 分钟后再试。", "Too many requests right now. Please wait {} minutes and try again.";
    ErrRequestTimeout => "请求未能及时完整送达预约服务，网络可能较慢。请稍后重试。", "The request did not reach the booking service in full in time; the connection may be slow. Please try again.";
    ErrMediaType => "预约服务无法读取此请求。请刷新页面后重试；如仍有问题请致电医院。", "The booking service could not read this request. Reload the page and try again; if it keeps happening, please call the hospital.";

    // Real-name booking rules (实名制): which rule refused, and what the patient can do
    LimitDoctorDay => "此就诊人当天在这位医生处的预约已达上限。请选择其他日期；如需改约，请先在“我的预约”中取消原预约。", "This patient already has as many bookings with this doctor on that day as are allowed. Choose another day, or cancel the other booking in My bookings first.";
    LimitDepartmentDay => "此就诊人当天在该科室的预约已达上限。请选择其他日期；如需改约，请先在“我的预约”中取消原预约。", "This patient already has as many bookings in this department on that day as are allowed. Choose another day, or cancel the other booking in My bookings first.";
    LimitActivePerson => "此就诊人已有 {} 个未就诊的预约，已达上限。请在“我的预约”中取消其中一个后再预约。", "This patient already has {} upcoming bookings, the most allowed. Cancel one in My bookings to book another.";
    LimitActivePhone => "此手机号码已用于 {} 个未就诊的预约，已达上限。请在“我的预约”中取消其中一个，或填写就诊人本人的手机号码。", "This mobile number is already on {} upcoming bookings, the most allowed. Cancel one in My bookings, or give the patient's own mobile number.";
    LimitCoolingOff => "由于近期多次在就诊前临时取消预约，此就诊人暂时不能预约，{} 起可以再次预约（医院当地时间）。如需就诊，请致电医院。", "Because of several cancellations made shortly before the appointment, this patient cannot book again until {} (hospital time). If you need care sooner, please call the hospital.";
    LimitCoolingOffLater => "由于近期多次在就诊前临时取消预约，此就诊人暂时不能预约，请过一段时间再试。如需就诊，请致电医院。", "Because of several cancellations made shortly before the appointment, this patient cannot book for a while. Please try again later, or call the hospital if you need care sooner.";
    LimitOther => "此就诊人已达到医院的预约限制，暂时不能预约。请在“我的预约”中查看已有预约，或致电医院。", "This patient has reached the hospital's booking limit for now. Check the existing bookings in My bookings, or call the hospital.";

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
    ResultsCount => "共 {} 家医院", "Hospitals found: {}";
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
    Stopped => "停诊", "Clinic cancelled";
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

    // Booking: hold
    BookTitle => "预约挂号", "Book an appointment";
    Holding => "正在为您锁定号源…", "Holding this slot for you…";
    NoHold => "此医院不预先锁号：确认预约时才占用号源。", "This hospital does not hold slots: the place is yours once you confirm.";
    NoOnlineBooking => "此医院的系统暂不支持网上预约，请致电医院预约。", "This hospital's system does not take bookings online. Please call the hospital to book.";
    IdleTitle => "还有人在使用吗？", "Is anyone still here?";
    IdleCountdown => "为保护您的隐私，本屏幕将在 {} 秒后清除并回到首页。", "To protect your privacy, this screen will clear and start over in {} seconds.";
    StillHere => "我还在，继续", "I'm still here";
    KioskFinishing => "正在完成上一位的预约，请稍候…", "Finishing the previous booking, please wait…";
    Keypad => "数字键盘", "keypad";
    KeypadDelete => "删除最后一个字符", "Delete the last character";
    HeldFor => "号源已为您保留，剩余 {}", "This slot is held for you for {}";
    HoldEndingSoon => "保留时间不足 1 分钟，请尽快完成预约；如超时，可重新锁定该号源。", "Less than a minute left to finish booking; if time runs out you can take the slot again.";
    HoldExpired => "保留时间已到，号源已释放。如仍有空位，可以重新锁定。", "The hold has run out and the slot was released. If it is still free, you can take it again.";
    TakeAgain => "重新锁定该号源", "Take this slot again";
    SlotGone => "该号源已被约满。请选择其他时间：", "This slot has just been taken. Please choose another time:";
    NoAlternatives => "暂无其他可约时间。请返回排班选择其他日期。", "There are no other free times nearby. Please go back and choose another day.";
    SessionGone => "该时段已停诊或尚未放号，无法预约。请返回选择其他时间。", "This session has been stopped or is not open for booking yet. Please choose another time.";
    BackToSchedule => "返回排班", "Back to the schedule";
    YourSlot => "您选择的号源", "Your appointment";
    When => "时间", "When";
    Where => "地点", "Where";
    Doctor => "医生", "Doctor";
    Department => "科室", "Department";

    // Booking: patient
    PatientTitle => "就诊人信息", "Who is the patient";
    Name => "姓名", "Full name";
    NameHint => "与证件上的姓名一致", "As written on the ID document";
    DocumentKind => "证件类型", "ID document";
    DocResidentId => "居民身份证", "Mainland resident ID card";
    DocPassport => "护照", "Passport";
    DocHkMacao => "港澳居民来往内地通行证", "Mainland Travel Permit for Hong Kong and Macao Residents";
    DocTaiwan => "台湾居民来往大陆通行证", "Mainland Travel Permit for Taiwan Residents";
    DocumentNumber => "证件号码", "Document number";
    Mobile => "手机号码", "Mobile number";
    MobileHint => "11 位中国大陆手机号，用于接收就诊提醒", "11-digit mainland mobile number, for appointment reminders";
    MedicalCard => "就诊卡号（选填）", "Medical card number (optional)";
    Relationship => "您与就诊人的关系", "You are booking for";
    RelSelf => "本人", "Myself";
    RelChild => "子女", "My child";
    RelParent => "父母", "My parent";
    RelSpouse => "配偶", "My spouse";
    RelOther => "其他", "Someone else";
    PrivacyNotice => "隐私说明：姓名、证件号码和手机号码仅发送给医院的预约系统，用于本次预约、就诊核验和就诊提醒，由医院按规定保存。本设备和本网页不保存这些信息，预约完成后即从页面清除。", "Privacy notice: the name, document number and mobile number go only to the hospital's booking system, to make this booking, check the patient in and send reminders; the hospital keeps them as the law requires. This device and page keep none of them and clear them once the booking is made.";
    Consent => "我已阅读并同意上述隐私说明。", "I have read and agree to the privacy notice above.";
    Continue => "下一步", "Continue";
    FixErrors => "请修改标出的信息后再继续。", "Please correct the marked fields to continue.";

    // Identity messages (what is wrong and how to fix it)
    IdRequired => "请填写此项。", "Please fill in this field.";
    IdTooLong => "内容过长，请检查。", "This is too long; please check it.";
    IdBadCharacters => "只能包含文字、空格和“·”“-”“'”“.”。", "Use letters, spaces and · - ' . only.";
    IdLength => "身份证号应为 18 位，请检查是否漏输或多输。", "A resident ID has 18 characters; check for a missing or extra one.";
    IdFormat => "格式不正确：身份证号为 17 位数字加 1 位数字或 X；其他证件请核对号码。", "Wrong format: a resident ID is 17 digits and a final digit or X; for other documents check the number.";
    IdRegion => "前两位不是有效的地区代码，请核对。", "The first two digits are not a valid region; please check.";
    IdBirthDate => "号码中的出生日期无效，请核对第 7–14 位。", "The birth date inside the number is not valid; check characters 7–14.";
    IdCheckDigit => "校验位不符，号码中可能有输错的数字，请逐位核对。", "The last character does not match; a digit may be mistyped. Please check each one.";
    IdPhone => "请输入 11 位手机号，以 13–19 开头。", "Enter an 11-digit mobile number starting with 13–19.";
    IdConsent => "请阅读并同意隐私说明后再继续。", "Please read and agree to the privacy notice to continue.";

    // Booking: review and confirm
    ReviewTitle => "核对并确认", "Check and confirm";
    Edit => "修改", "Change";
    ConfirmBooking => "确认预约", "Confirm booking";
    Submitting => "正在提交预约…", "Booking…";

    // The outbox: a confirmed booking on its way to the server
    ErrStorage => "本设备无法保存此预约，因此没有发送。请重试，或换用其他浏览器。", "This device could not save the booking, so nothing was sent. Please try again, or use another browser.";
    StaleOffline => "您已离线，或预约服务暂时不可用。以下为 {} 时保存的信息，剩余号源可能已变化；预约时会向医院确认。", "You are offline or the booking service is unavailable. This is what was loaded at {}; places left may have changed. Booking always checks with the hospital.";
    StaleUpdating => "以下为 {} 时保存的信息，正在更新…", "Showing what was loaded at {}, updating…";
    FieldRejected => "预约服务不接受此项，请检查后重试。", "The booking service did not accept this; please check it.";
    OutboxTitle => "待发送的预约", "Bookings on their way";
    OutboxSending => "正在发送预约…", "Sending your booking…";
    OutboxWaiting => "等待发送 — 预约尚未确认。", "Waiting to send — not yet confirmed.";
    OutboxNextTry => "将于 {} 自动重试；恢复网络后会立即重试。", "Next try at {}, or as soon as you are back online.";
    OutboxNoAnswer => "上次尝试：预约服务没有回应（可能网络中断）。", "Last try: no answer from the booking service (you may be offline).";
    OutboxBusy => "上次尝试：预约服务繁忙或暂不可用。", "Last try: the booking service was busy or unavailable.";
    OutboxKeptHere => "您的预约信息保存在本设备上，直到预约成功或被拒绝，之后立即删除。可以关闭此页面，下次打开时会继续发送。", "Your booking is kept on this device until it is confirmed or refused, then your details are deleted. You can close this page; it carries on when you open it again.";
    OutboxMemoryOnly => "此浏览器不允许保存数据：请在预约确认前保持此页面打开。", "This browser does not let us keep data: keep this page open until the booking is confirmed.";
    OutboxAttention => "多次尝试后仍未能发送预约，预约尚未确认。要继续尝试吗？", "We could not send your booking after several tries, so it is not confirmed. Keep trying?";
    OutboxUnexpected => "预约服务给出了无法识别的回应（状态 {}），预约尚未确认。", "The booking service gave an answer we do not understand (status {}), so the booking is not confirmed.";
    OutboxConfirmed => "预约成功，预约码 {}", "Booking confirmed, code {}";
    OutboxRejected => "预约未成功：", "Booking not made: ";
    OutboxAbandoned => "您已停止发送此预约，预约未成功。", "You stopped this booking; it was not made.";
    OutboxExpired => "此预约等待发送的时间过长，已从本设备移除，预约未成功。", "This booking waited too long to be sent and was removed from this device; it was not made.";
    OutboxSlotStarted => "就诊时间已过，预约仍未能发送，已从本设备移除。", "The appointment time passed before the booking could be sent, so it was removed from this device.";
    OutboxMaybeBooked => "此前的请求可能已到达医院：请点“再次查询”，以免重复预约。", "An earlier request may have reached the hospital: tap “Check again” before booking once more.";
    OutboxCheckAgain => "再次查询", "Check again";
    OutboxNotFound => "查询完成：没有找到此预约，未预约成功。", "Checked: no such booking was made.";
    KeepTrying => "继续尝试", "Keep trying";
    GiveUp => "放弃预约", "Give up";
    TryNow => "立即重试", "Try now";
    View => "查看", "View";
    Dismiss => "知道了", "Dismiss";
    ServerRejected => "预约服务未接受部分信息，请按提示修改。", "The booking service did not accept some details; please correct them as shown.";

    // Confirmation
    BookedTitle => "预约成功", "You are booked";
    BookingCode => "预约号", "Booking code";
    Patient => "就诊人", "Patient";
    WhatToBring => "请携带预约时使用的证件原件，提前 15 分钟到达门诊分诊台报到。", "Bring the ID document you booked with and check in at the clinic desk 15 minutes early.";
    CancelUntil => "可取消至 {}", "You can cancel until {}";
    AddToCalendar => "添加到日历", "Add to calendar";
    Print => "打印", "Print";
    MyBookings => "我的预约", "My bookings";

    // The open ledger
    LedgerTitle => "公开账本", "Open ledger";
    LedgerIntro => "每一次放号、预约和取消都记在这本账上，不含任何个人信息。以下数字由本设备根据账本逐条重算并核验，不依赖运营方的说法。", "Every release, booking and cancellation is recorded here, with no personal data. The figures below are recomputed and checked on this device from the ledger's entries, not taken from the operator's word.";
    LedgerNone => "此预约服务不提供公开账本。", "This booking service keeps no open ledger.";
    LedgerVerified => "账本核验通过", "Ledger verified";
    LedgerSigned => "签名有效：{} 条记录的检查点，由 {} 签署", "Signature valid: a checkpoint of {} entries, signed by {}";
    LedgerConsistent => "与本设备上次核验的账本（{} 条）一致：此前的记录没有被改动或删除", "Consistent with the ledger this device checked before ({} entries): nothing before was changed or removed";
    LedgerFirstSeen => "本设备首次核验：已保存此检查点，下次可证明账本只增不改", "First check on this device: the checkpoint is kept, so the next check can prove the ledger only grew";
    LedgerRecomputed => "逐条重算：{} 条记录与签名的根哈希相符", "Recomputed: {} entries add up to the signed root";
    LedgerFailed => "账本核验未通过", "The ledger did not verify";
    LedgerRewritten => "账本与本设备保存的检查点不一致：历史记录被改写过。", "It does not extend the checkpoint this device kept: history was rewritten.";
    LedgerEntriesDisagree => "服务器给出的记录与签名的检查点对不上：记录被改动过。", "The entries served do not add up to the signed checkpoint: entries were changed.";
    LedgerBadSignature => "检查点没有有效的签名。", "The checkpoint does not carry a valid signature.";
    LedgerNotIncluded => "这条记录不在签名的账本中。", "The entry is not in the signed ledger.";
    LedgerMalformed => "账本数据格式有误。", "The ledger's data is malformed.";
    LedgerByChannel => "各渠道预约情况", "Bookings by channel";
    LedgerChannel => "渠道", "Channel";
    LedgerBooked => "预约数", "Bookings";
    LedgerShare => "占比", "Share";
    LedgerEarly => "放号后 {} 分钟内", "In the first {} minutes";
    LedgerMedian => "放号到预约（中位数）", "Release to booking (median)";
    LedgerCancelled => "已取消", "Cancelled";
    LedgerNoBookings => "账本中还没有预约。", "No bookings in the ledger yet.";
    LedgerSeconds => "{} 秒", "{} s";
    LedgerMinutes => "{} 分钟", "{} min";
    LedgerEntryChecking => "正在核验公开账本中的记录…", "Checking the open ledger…";
    LedgerEntryVerified => "已记入公开账本，第 {} 条 — 已核验", "Recorded in the open ledger as entry {} — verified";
    LedgerEntryFailed => "公开账本第 {} 条未通过核验：", "Open ledger entry {} did not verify:";
    LedgerEntryUnchecked => "已记入公开账本，第 {} 条（暂时无法核验）", "Recorded in the open ledger as entry {} (could not be checked just now)";
    FeeAtHospital => "挂号费 {}（到院支付）", "Fee {} (paid at the hospital)";

    // My bookings
    MyBookingsIntro => "在本设备上完成的预约。本设备不保存就诊人信息。", "Bookings made on this device. No patient details are stored here.";
    NoBookings => "本设备上还没有预约。", "No bookings on this device yet.";
    LookupTitle => "查询预约", "Find a booking";
    Last4 => "证件号码后 4 位", "Last 4 characters of the ID document";
    Lookup => "查询", "Find";
    StatusConfirmed => "已预约", "Booked";
    StatusCancelled => "已取消", "Cancelled";
    CancelBooking => "取消预约", "Cancel booking";
    CancelConfirm => "确定取消这个预约吗？取消后号源将释放给其他患者。", "Cancel this booking? The place will be given to someone else.";
    CancelYes => "确定取消", "Yes, cancel";
    CancelNo => "暂不取消", "Keep it";
    CancelClosed => "已过取消截止时间，无法在线取消。请致电医院。", "The cancellation deadline has passed, so it cannot be cancelled online. Please call the hospital.";
    CancelNeedsLast4 => "取消需要证件号码后 4 位以确认身份。", "To cancel, enter the last 4 characters of the ID document.";
    Cancelled => "预约已取消。", "The booking has been cancelled.";
    Rebook => "重新预约该医生", "Book this doctor again";
    LookupFailed => "没有找到该预约，请核对预约号和证件号码后 4 位。", "No booking found; check the booking code and the last 4 characters.";
    LookupIncomplete => "请输入预约号，以及证件号码的最后 4 位。", "Enter the booking code and exactly 4 characters from the end of the ID document.";
    ProofLocked => "此预约号的证件号码后 4 位输错次数过多，已暂时锁定。请于 {} 后再试；如不确定证件号码，请致电医院。", "Too many wrong attempts for this booking code, so it is locked for now. Try again after {}; if you are unsure of the document, please call the hospital.";
    ProofLockedLater => "此预约号的证件号码后 4 位输错次数过多，已暂时锁定。请稍后再试；如不确定证件号码，请致电医院。", "Too many wrong attempts for this booking code, so it is locked for now. Please try again later; if you are unsure of the document, please call the hospital.";
    LookupCodeFailed => "没有找到该预约，请核对预约号。", "No booking found; check the booking code.";
    LookupCodeIncomplete => "请输入预约号。", "Enter the booking code.";
    CallToCancel => "此预约不能在线取消。如需取消，请致电{}。", "This booking cannot be cancelled online. To cancel it, please call {}.";
    CallToCancelPhone => "此预约不能在线取消。如需取消，请致电{}：{}。", "This booking cannot be cancelled online. To cancel it, please call {} on {}.";
    CallHospitalToCancel => "此预约不能在线取消。如需取消，请致电医院。", "This booking cannot be cancelled online. To cancel it, please call the hospital.";
    ProofMismatch => "这 4 位与预约时使用的证件不符，请核对。", "Those 4 characters do not match the document used for this booking; please check them.";

    NotFoundTitle => "页面不存在", "Page not found";
    NotFoundBody => "这个地址没有内容。请从首页重新开始。", "There is nothing at this address. Please start again from the home page.";
}

/// `template` with each `{}` replaced by the next of `args`; a `{}` without an argument stays.
fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut args = args.iter();
    let mut parts = template.split("{}").peekable();
    while let Some(part) = parts.next() {
        out.push_str(part);
        if parts.peek().is_some() {
            out.push_str(args.next().copied().unwrap_or("{}"));
        }
    }
    out
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

    /// Text of a message with each `{}` replaced by the next of `args`, in one pass, so a value
    /// that itself holds `{}` is left as it is.
    pub fn fmt_all(self, msg: Msg, args: &[&str]) -> String {
        fill(msg.text(self.locale.get()), args)
    }

    /// Text of advice, with the value it names; call inside a reactive closure.
    pub fn advise(self, advice: &crate::api::Advice) -> String {
        match &advice.arg {
            Some(arg) => self.fmt(advice.msg, arg),
            None => advice.msg.text(self.locale.get()).to_string(),
        }
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

    #[test]
    fn each_value_fills_its_own_place_once() {
        assert_eq!(fill("call {} on {}.", &["A", "B"]), "call A on B.");
        // A name with braces of its own is not filled again.
        assert_eq!(fill("call {} on {}.", &["A{}", "B"]), "call A{} on B.");
        assert_eq!(fill("call {} on {}.", &["A"]), "call A on {}.");
        assert_eq!(
            fill(Msg::CallToCancelPhone.text(Locale::ZhCn), &["医院", "0571"]),
            "此预约不能在线取消。如需取消，请致电医院：0571。"
        );
    }
}
