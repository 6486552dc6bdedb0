//! Words for the codes cases carry (statuses, outcomes, claims, steps), in the reader's
//! language. A code without a word here is shown as it is.

use crate::i18n::Language;
use crate::policies::Policies;

fn pick(lang: Language, vi: &'static str, en: &'static str) -> String {
    if lang.is_vi() { vi } else { en }.to_string()
}

pub fn status(code: &str, lang: Language) -> String {
    match code {
        "filed" => pick(
            lang,
            "chờ người mua xác nhận",
            "waiting for the buyer to confirm",
        ),
        "awaiting_seller" => pick(lang, "chờ người bán trả lời", "awaiting seller"),
        "seller_responded" => pick(lang, "người bán đã trả lời", "seller responded"),
        "under_review" => pick(lang, "cán bộ đang xem xét", "under review"),
        "information_requested" => pick(lang, "chờ bổ sung thông tin", "information requested"),
        "decided" => pick(lang, "đã có quyết định", "decided"),
        "appealed" => pick(lang, "đang kháng nghị", "appealed"),
        "appeal_decided" => pick(lang, "đã có quyết định phúc thẩm", "appeal decided"),
        "closed" => pick(lang, "đã đóng", "closed"),
        "withdrawn" => pick(lang, "đã rút", "withdrawn"),
        "settled" => pick(lang, "đã thỏa thuận", "settled"),
        other => other.replace('_', " "),
    }
}

pub fn outcome(code: &str, lang: Language) -> String {
    match code {
        "upheld" => pick(lang, "khiếu nại đúng", "upheld"),
        "partly_upheld" => pick(lang, "đúng một phần", "partly upheld"),
        "dismissed" => pick(lang, "không có cơ sở", "dismissed"),
        "appeal_upheld" => pick(lang, "chấp nhận kháng nghị", "appeal upheld"),
        "appeal_dismissed" => pick(lang, "giữ nguyên quyết định", "appeal dismissed"),
        other => other.replace('_', " "),
    }
}

pub fn claim(code: &str, lang: Language) -> String {
    match code {
        "refund" => pick(lang, "hoàn tiền", "refund"),
        "replacement" => pick(lang, "đổi hàng", "replacement"),
        "report_only" => pick(lang, "chỉ báo cáo", "report only"),
        other => other.replace('_', " "),
    }
}

/// A step in a case's timeline.
pub fn step(code: &str, lang: Language) -> String {
    match code {
        "filed" => pick(lang, "nộp khiếu nại", "filed"),
        "confirm" => pick(
            lang,
            "xác nhận, gửi người bán",
            "confirmed, sent to the seller",
        ),
        "filing_linked" => pick(lang, "khiếu nại trùng được gộp", "duplicate filing linked"),
        "respond" => pick(lang, "người bán trả lời", "seller answered"),
        "accept" => pick(lang, "người mua chấp nhận", "buyer accepted"),
        "escalate" => pick(lang, "chuyển cán bộ", "sent to an officer"),
        "request_information" => pick(lang, "yêu cầu bổ sung thông tin", "information requested"),
        "supply_information" => pick(lang, "bổ sung thông tin", "information supplied"),
        "resume_review" => pick(lang, "tiếp tục xem xét", "review resumed"),
        "decide" => pick(lang, "ra quyết định", "decided"),
        "record_settlement" => pick(lang, "ghi nhận thỏa thuận", "settlement recorded"),
        "appeal" => pick(lang, "kháng nghị", "appealed"),
        "decide_appeal" => pick(lang, "quyết định phúc thẩm", "appeal decided"),
        "close" => pick(lang, "đóng hồ sơ", "closed"),
        "withdraw" => pick(lang, "rút khiếu nại", "withdrawn"),
        "evidence_added" => pick(lang, "thêm chứng cứ", "evidence added"),
        "evidence_hidden" => pick(lang, "ẩn chứng cứ", "evidence hidden"),
        "note" => pick(lang, "ghi chú nội bộ", "internal note"),
        "assigned" => pick(lang, "giao việc", "assigned"),
        "reminder_sent" => pick(lang, "nhắc hạn người bán", "seller reminded"),
        "overdue" => pick(lang, "quá hạn giải quyết", "overdue"),
        other => other.replace('_', " "),
    }
}

/// A kind of complaint, named as the policy names it.
pub fn kind(policies: &Policies, code: &str, lang: Language) -> String {
    match policies.disputes.kind(code) {
        Some(k) if lang.is_vi() => k.name.clone(),
        Some(k) => k.name_en.clone(),
        None => code.replace('_', " "),
    }
}

/// An error about a form field, as the reader reads it: in Vietnamese, what is wrong with
/// which field, with the precise reason after it.
pub fn field_error(field: &str, message: &str, lang: Language) -> String {
    if !lang.is_vi() {
        return message.to_string();
    }
    let what = match field {
        "national_id" => "Số định danh cá nhân chưa đúng",
        "full_name" => "Họ tên chưa đúng",
        "birth_date" => "Ngày sinh phải viết theo dạng NĂM-THÁNG-NGÀY, ví dụ 1985-03-14",
        "code" => "Mã số doanh nghiệp hoặc hộ kinh doanh chưa đúng",
        "email" => "Địa chỉ email chưa đúng",
        "password" => "Mật khẩu chưa đạt yêu cầu (ít nhất 10 ký tự, khó đoán)",
        "shop_id" => "Gian hàng chưa đúng hoặc chưa liên kết với người bán",
        "listing_id" => "Mã tin đăng chưa đúng",
        "description" => "Mô tả cần từ 10 đến 5000 ký tự",
        "kind" | "claim" => "Hãy chọn trong danh sách",
        _ => "Thông tin chưa đúng",
    };
    format!("{what} ({message})")
}
