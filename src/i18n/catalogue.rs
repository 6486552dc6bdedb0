//! Every coded word a person reads (statuses, outcomes, sanctions, audit actions, field
//! errors, problems, notices), in both languages, under one key `group.code`. Pages and
//! mails name the key; a key missing here is logged and remembered, so a test can fail on
//! it, and the reader sees the code rather than nothing.

use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, Mutex};

use super::Language;

/// `(key, Vietnamese, English)`.
pub static ENTRIES: &[(&str, &str, &str)] = &[
    // Where a case stands.
    (
        "status.filed",
        "chờ người mua xác nhận",
        "waiting for the buyer to confirm",
    ),
    (
        "status.awaiting_seller",
        "chờ người bán trả lời",
        "awaiting seller",
    ),
    (
        "status.seller_responded",
        "người bán đã trả lời",
        "seller responded",
    ),
    ("status.under_review", "cán bộ đang xem xét", "under review"),
    (
        "status.information_requested",
        "chờ bổ sung thông tin",
        "information requested",
    ),
    ("status.decided", "đã có quyết định", "decided"),
    ("status.appealed", "đang kháng nghị", "appealed"),
    (
        "status.appeal_decided",
        "đã có quyết định phúc thẩm",
        "appeal decided",
    ),
    ("status.closed", "đã đóng", "closed"),
    ("status.withdrawn", "đã rút", "withdrawn"),
    ("status.settled", "đã thỏa thuận", "settled"),
    // How a case was decided.
    ("outcome.upheld", "khiếu nại đúng", "upheld"),
    (
        "outcome.partly_upheld",
        "khiếu nại đúng một phần",
        "partly upheld",
    ),
    ("outcome.dismissed", "khiếu nại không có cơ sở", "dismissed"),
    (
        "outcome.appeal_upheld",
        "chấp nhận kháng nghị",
        "appeal upheld",
    ),
    (
        "outcome.appeal_dismissed",
        "giữ nguyên quyết định",
        "appeal dismissed",
    ),
    // What the buyer asks for, and what the seller offers.
    ("claim.refund", "hoàn tiền", "refund"),
    ("claim.replacement", "đổi hàng", "replacement"),
    ("claim.report_only", "chỉ báo cáo", "report only"),
    ("offer.none", "không đề nghị gì", "no offer"),
    ("offer.refund", "hoàn tiền", "a refund"),
    ("offer.replacement", "đổi hàng", "a replacement"),
    // Steps of a case, as its timeline shows them.
    ("step.filed", "nộp khiếu nại", "filed"),
    (
        "step.confirm",
        "xác nhận, gửi người bán",
        "confirmed, sent to the seller",
    ),
    (
        "step.filing_linked",
        "khiếu nại trùng được gộp",
        "duplicate filing linked",
    ),
    ("step.respond", "người bán trả lời", "seller answered"),
    ("step.accept", "người mua chấp nhận", "buyer accepted"),
    ("step.escalate", "chuyển cán bộ", "sent to an officer"),
    (
        "step.request_information",
        "yêu cầu bổ sung thông tin",
        "information requested",
    ),
    (
        "step.supply_information",
        "bổ sung thông tin",
        "information supplied",
    ),
    ("step.resume_review", "tiếp tục xem xét", "review resumed"),
    ("step.decide", "ra quyết định", "decided"),
    (
        "step.record_settlement",
        "ghi nhận thỏa thuận",
        "settlement recorded",
    ),
    ("step.appeal", "kháng nghị", "appealed"),
    (
        "step.decide_appeal",
        "quyết định phúc thẩm",
        "appeal decided",
    ),
    ("step.close", "đóng hồ sơ", "closed"),
    ("step.withdraw", "rút khiếu nại", "withdrawn"),
    ("step.evidence_added", "thêm chứng cứ", "evidence added"),
    ("step.evidence_hidden", "ẩn chứng cứ", "evidence hidden"),
    ("step.note", "ghi chú nội bộ", "internal note"),
    ("step.assigned", "giao việc", "assigned"),
    (
        "step.reminder_sent",
        "nhắc hạn người bán",
        "seller reminded",
    ),
    ("step.overdue", "quá hạn giải quyết", "overdue"),
    // Who acted.
    ("role.buyer", "Người mua", "Buyer"),
    ("role.seller", "Người bán", "Seller"),
    ("role.officer", "Cán bộ", "Officer"),
    ("role.supervisor", "Lãnh đạo", "Supervisor"),
    ("role.admin", "Quản trị viên", "Administrator"),
    ("role.platform", "Sàn thương mại điện tử", "Marketplace"),
    ("role.system", "Hệ thống", "System"),
    ("role.issuer", "Tổ chức cấp mã", "Code issuer"),
    // Sanctions a decision orders, and what each did.
    ("sanction.warning", "cảnh cáo", "warning"),
    ("sanction.block_listing", "gỡ tin đăng", "block the listing"),
    (
        "sanction.flag_codes",
        "đánh dấu thu hồi mã",
        "flag the codes",
    ),
    (
        "sanction.revoke_codes",
        "thu hồi hiệu lực mã",
        "revoke the codes",
    ),
    ("sanction.strike", "ghi một lần vi phạm", "strike"),
    (
        "sanction.suspend_seller",
        "tạm ngừng người bán",
        "suspend the seller",
    ),
    ("applied.warning", "cảnh cáo", "warning"),
    (
        "applied.block_listing",
        "đã gỡ tin đăng {0}",
        "listing {0} blocked",
    ),
    (
        "applied.flag_codes",
        "đã đánh dấu thu hồi mã {0}",
        "flagged {0}",
    ),
    (
        "applied.revoke_codes",
        "đã thu hồi hiệu lực mã {0}",
        "revoked {0}",
    ),
    ("applied.strike", "ghi một lần vi phạm", "strike"),
    (
        "applied.strike_suspension",
        "{0} lần vi phạm: tạm ngừng người bán {1} ngày",
        "{0} strikes: seller suspended for {1} days",
    ),
    (
        "applied.suspend_seller",
        "tạm ngừng người bán {0} ngày",
        "seller suspended for {0} days",
    ),
    // Traceability codes.
    ("code_status.active", "còn hiệu lực", "active"),
    (
        "code_status.recalled",
        "đang bị thu hồi sản phẩm",
        "recalled",
    ),
    ("code_status.revoked", "đã bị thu hồi hiệu lực", "revoked"),
    ("code_status.expired", "hết hạn", "expired"),
    // A seller's verification.
    ("standing.verified", "Đã xác minh", "Verified"),
    ("standing.unverified", "Chưa xác minh", "Not verified"),
    (
        "standing.pending_review",
        "Chờ cán bộ xem xét",
        "Waiting for an officer's review",
    ),
    ("standing.rejected", "Bị từ chối", "Rejected"),
    (
        "standing.expired",
        "Hết hạn, cần xác minh lại",
        "Expired: verify again",
    ),
    ("standing.suspended", "Bị tạm ngừng", "Suspended"),
    ("proof.missing", "Chưa có", "Missing"),
    ("proof.verified", "Đã xác minh", "Verified"),
    (
        "proof.pending_review",
        "Chờ cán bộ xem xét",
        "Waiting for review",
    ),
    ("proof.rejected", "Bị từ chối", "Rejected"),
    ("missing.identity", "xác minh danh tính", "identity"),
    (
        "missing.authorisation_review",
        "cán bộ xem xét giấy ủy quyền",
        "an officer's review of the authorisation",
    ),
    ("missing.reverification", "xác minh lại", "verifying again"),
    ("seller_kind.individual", "cá nhân", "individual"),
    (
        "seller_kind.household_business",
        "hộ kinh doanh",
        "household business",
    ),
    ("seller_kind.enterprise", "doanh nghiệp", "enterprise"),
    // Why a proof was refused.
    (
        "reason.identity_mismatch",
        "họ tên, số định danh hoặc ngày sinh không khớp với Cơ sở dữ liệu quốc gia về dân cư",
        "the name, ID number or birth date does not match the population register",
    ),
    (
        "reason.not_in_population_register",
        "không tìm thấy trong Cơ sở dữ liệu quốc gia về dân cư",
        "not found in the population register",
    ),
    (
        "reason.person_suspended",
        "số định danh đang bị khóa",
        "the ID is blocked",
    ),
    (
        "reason.not_in_business_register",
        "không tìm thấy trong Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp",
        "not found in the business register",
    ),
    (
        "reason.business_not_in_register",
        "không tìm thấy trong Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp",
        "not found in the business register",
    ),
    (
        "reason.not_legal_representative",
        "bạn không phải người đại diện theo pháp luật; hãy tải lên giấy ủy quyền",
        "you are not the legal representative; upload a letter of authorisation",
    ),
    (
        "reason.not_the_owner",
        "bạn không phải chủ hộ kinh doanh",
        "you are not the owner of the household business",
    ),
    (
        "reason.authorisation_rejected",
        "giấy ủy quyền không được chấp nhận",
        "the letter of authorisation was refused",
    ),
    ("reason.not_found", "không tìm thấy", "not found"),
    // Why the business register check suspended a seller.
    (
        "reason.business_suspended",
        "doanh nghiệp đang tạm ngừng kinh doanh",
        "the business has suspended trading",
    ),
    (
        "reason.business_dissolving",
        "doanh nghiệp đang làm thủ tục giải thể",
        "the business is being dissolved",
    ),
    (
        "reason.business_dissolved",
        "doanh nghiệp đã giải thể",
        "the business is dissolved",
    ),
    // Audit log actions.
    ("audit.account.created", "tạo tài khoản", "account created"),
    (
        "audit.account.email_verified",
        "xác nhận email",
        "email confirmed",
    ),
    (
        "audit.account.registration_repeated",
        "đăng ký lại bằng email đã có",
        "registration repeated",
    ),
    (
        "audit.client.token_issued",
        "cấp mã truy cập cho ứng dụng",
        "client token issued",
    ),
    (
        "audit.account.verification_requested",
        "yêu cầu xác nhận email",
        "email confirmation requested",
    ),
    ("audit.login.succeeded", "đăng nhập", "signed in"),
    ("audit.login.failed", "đăng nhập thất bại", "sign-in failed"),
    ("audit.session.ended", "đăng xuất", "signed out"),
    (
        "audit.session.reuse_detected",
        "phát hiện dùng lại phiên đăng nhập",
        "session reuse detected",
    ),
    ("audit.password.changed", "đổi mật khẩu", "password changed"),
    ("audit.password.reset", "đặt lại mật khẩu", "password reset"),
    (
        "audit.password.reset_requested",
        "yêu cầu đặt lại mật khẩu",
        "password reset requested",
    ),
    (
        "audit.totp.enrolment_started",
        "bắt đầu cài ứng dụng xác thực",
        "authenticator set-up started",
    ),
    (
        "audit.totp.confirmed",
        "cài xong ứng dụng xác thực",
        "authenticator set up",
    ),
    ("audit.officer.invited", "mời cán bộ", "officer invited"),
    (
        "audit.officer.invitation_accepted",
        "cán bộ nhận lời mời",
        "officer invitation accepted",
    ),
    (
        "audit.seller.identity_verified",
        "xác minh danh tính người bán",
        "seller identity verified",
    ),
    (
        "audit.seller.identity_rejected",
        "từ chối danh tính người bán",
        "seller identity refused",
    ),
    (
        "audit.seller.business_verified",
        "xác minh doanh nghiệp",
        "business verified",
    ),
    (
        "audit.seller.business_rejected",
        "từ chối doanh nghiệp",
        "business refused",
    ),
    (
        "audit.seller.business_pending_review",
        "doanh nghiệp chờ xem xét",
        "business awaiting review",
    ),
    (
        "audit.seller.authorisation_approved",
        "chấp nhận giấy ủy quyền",
        "authorisation approved",
    ),
    (
        "audit.seller.authorisation_rejected",
        "từ chối giấy ủy quyền",
        "authorisation refused",
    ),
    (
        "audit.seller.suspended",
        "tạm ngừng người bán",
        "seller suspended",
    ),
    (
        "audit.seller.reinstated",
        "khôi phục người bán",
        "seller reinstated",
    ),
    (
        "audit.seller.suspension_continued",
        "tiếp tục tạm ngừng người bán",
        "seller suspension continued",
    ),
    (
        "audit.seller.reverification_requested",
        "yêu cầu xác minh lại",
        "re-verification requested",
    ),
    (
        "audit.seller.national_id_revealed",
        "xem số định danh đầy đủ",
        "national ID revealed",
    ),
    ("audit.binding.created", "liên kết gian hàng", "shop bound"),
    (
        "audit.binding.revoked",
        "hủy liên kết gian hàng",
        "shop binding revoked",
    ),
    (
        "audit.binding_code.issued",
        "cấp mã liên kết",
        "binding code issued",
    ),
    (
        "audit.listing.revoked",
        "thu hồi quyết định tin đăng",
        "listing decision withdrawn",
    ),
    (
        "audit.client.created",
        "tạo ứng dụng kết nối",
        "client created",
    ),
    (
        "audit.client.disabled",
        "vô hiệu ứng dụng kết nối",
        "client disabled",
    ),
    (
        "audit.client.authentication_failed",
        "ứng dụng kết nối xác thực thất bại",
        "client authentication failed",
    ),
    (
        "audit.webhook.configured",
        "cấu hình webhook",
        "webhook configured",
    ),
    (
        "audit.webhook.secret_rotated",
        "đổi khóa webhook",
        "webhook secret rotated",
    ),
    (
        "audit.outbox.retried",
        "gửi lại thông báo",
        "notification retried",
    ),
    (
        "audit.issuer.profile_set",
        "cập nhật tổ chức cấp mã",
        "issuer profile set",
    ),
    (
        "audit.issuer.key_added",
        "thêm khóa tổ chức cấp mã",
        "issuer key added",
    ),
    (
        "audit.issuer.key_revoked",
        "thu hồi khóa tổ chức cấp mã",
        "issuer key revoked",
    ),
    (
        "audit.licence.recorded",
        "ghi nhận giấy phép mã doanh nghiệp",
        "licence recorded",
    ),
    (
        "audit.distributor.authorised",
        "ủy quyền nhà phân phối",
        "distributor authorised",
    ),
    (
        "audit.codes.batch_registered",
        "đăng ký lô mã",
        "code batch registered",
    ),
    ("audit.code.recalled", "thu hồi sản phẩm", "code recalled"),
    ("audit.code.revoked", "thu hồi hiệu lực mã", "code revoked"),
    (
        "audit.code.possible_clone",
        "nghi mã bị sao chép",
        "possible copied code",
    ),
    (
        "audit.keys.resealed",
        "mã hóa lại dữ liệu cá nhân",
        "personal data resealed",
    ),
    (
        "audit.code.link_added",
        "thêm liên kết sản phẩm",
        "product link added",
    ),
    (
        "audit.code.link_removed",
        "xóa liên kết sản phẩm",
        "product link removed",
    ),
    ("audit.dispute.filed", "nộp khiếu nại", "complaint filed"),
    (
        "audit.dispute.confirmed",
        "xác nhận khiếu nại",
        "complaint confirmed",
    ),
    (
        "audit.dispute.linked",
        "gộp khiếu nại trùng",
        "duplicate complaint linked",
    ),
    (
        "audit.dispute.responded",
        "người bán trả lời",
        "seller answered",
    ),
    (
        "audit.dispute.accepted",
        "người mua chấp nhận",
        "buyer accepted",
    ),
    (
        "audit.dispute.escalated",
        "chuyển cán bộ",
        "sent to an officer",
    ),
    (
        "audit.dispute.information_requested",
        "yêu cầu bổ sung thông tin",
        "information requested",
    ),
    (
        "audit.dispute.information_supplied",
        "bổ sung thông tin",
        "information supplied",
    ),
    (
        "audit.dispute.review_resumed",
        "tiếp tục xem xét",
        "review resumed",
    ),
    ("audit.dispute.decided", "ra quyết định", "case decided"),
    (
        "audit.dispute.settled",
        "ghi nhận thỏa thuận",
        "settlement recorded",
    ),
    ("audit.dispute.appealed", "kháng nghị", "appealed"),
    (
        "audit.dispute.appeal_decided",
        "quyết định phúc thẩm",
        "appeal decided",
    ),
    ("audit.dispute.closed", "đóng hồ sơ", "case closed"),
    (
        "audit.dispute.withdrawn",
        "rút khiếu nại",
        "complaint withdrawn",
    ),
    ("audit.dispute.noted", "ghi chú nội bộ", "internal note"),
    ("audit.dispute.assigned", "giao việc", "assigned"),
    (
        "audit.dispute.evidence_added",
        "thêm chứng cứ",
        "evidence added",
    ),
    (
        "audit.dispute.evidence_hidden",
        "ẩn chứng cứ",
        "evidence hidden",
    ),
    (
        "audit.dispute.reminded",
        "nhắc hạn người bán",
        "seller reminded",
    ),
    ("audit.dispute.step", "bước xử lý khiếu nại", "case step"),
    ("audit.dispute.overdue", "quá hạn giải quyết", "overdue"),
    // What is wrong with a form field.
    (
        "field.national_id",
        "Số định danh cá nhân chưa đúng",
        "The citizen ID is not right",
    ),
    (
        "field.full_name",
        "Họ tên chưa đúng",
        "The name is not right",
    ),
    (
        "field.birth_date",
        "Ngày sinh chưa đúng (NĂM-THÁNG-NGÀY, ví dụ 1985-03-14)",
        "The birth date is not right (YEAR-MONTH-DAY, e.g. 1985-03-14)",
    ),
    (
        "field.code",
        "Mã số doanh nghiệp hoặc hộ kinh doanh chưa đúng",
        "The enterprise or household code is not right",
    ),
    (
        "field.email",
        "Địa chỉ email chưa đúng",
        "The email address is not right",
    ),
    (
        "field.password",
        "Mật khẩu chưa đạt yêu cầu (ít nhất 10 ký tự, khó đoán)",
        "The password is too weak (at least 10 characters, hard to guess)",
    ),
    (
        "field.shop_id",
        "Gian hàng chưa đúng hoặc chưa liên kết với người bán",
        "The shop is not right or not bound to a seller",
    ),
    (
        "field.shop",
        "Hãy nhập đường dẫn tin đăng hoặc tên gian hàng",
        "Give the listing's link or the shop's name",
    ),
    (
        "field.listing_id",
        "Mã tin đăng chưa đúng",
        "The listing is not right",
    ),
    (
        "field.listing_url",
        "Đường dẫn tin đăng chưa đúng",
        "The listing link is not right",
    ),
    (
        "field.description",
        "Mô tả cần từ 10 đến 5000 ký tự",
        "The description needs 10 to 5000 characters",
    ),
    (
        "field.kind",
        "Hãy chọn trong danh sách",
        "Choose from the list",
    ),
    (
        "field.claim",
        "Hãy chọn trong danh sách",
        "Choose from the list",
    ),
    (
        "field.statement",
        "Nội dung cần dài hơn",
        "The text needs to be longer",
    ),
    (
        "field.question",
        "Câu hỏi cần dài hơn",
        "The question needs to be longer",
    ),
    ("field.answer", "Hãy viết câu trả lời", "Write the answer"),
    (
        "field.grounds",
        "Lý do kháng nghị cần ít nhất 20 ký tự",
        "The grounds need at least 20 characters",
    ),
    (
        "field.note",
        "Ghi chú cần dài hơn",
        "The note needs to be longer",
    ),
    (
        "field.file",
        "Tệp chưa đúng (ảnh, PDF hoặc văn bản, không quá lớn)",
        "The file is not right (picture, PDF or text, not too large)",
    ),
    (
        "field.authorisation",
        "Hãy tải lên giấy ủy quyền (ảnh hoặc PDF)",
        "Upload the letter of authorisation (picture or PDF)",
    ),
    (
        "field.authorisation_note",
        "Bạn không phải người đại diện theo pháp luật; hãy tải lên giấy ủy quyền",
        "You are not the legal representative; upload a letter of authorisation",
    ),
    (
        "field.totp",
        "Mã xác thực chưa đúng hoặc đã hết hạn",
        "The authenticator code is wrong or expired",
    ),
    (
        "field.days",
        "Số ngày chưa đúng",
        "The number of days is not right",
    ),
    ("field.reason", "Hãy ghi lý do", "Give a reason"),
    (
        "field.from",
        "Ngày chưa đúng (NĂM-THÁNG-NGÀY)",
        "The date is not right (YEAR-MONTH-DAY)",
    ),
    (
        "field.to",
        "Ngày chưa đúng (NĂM-THÁNG-NGÀY)",
        "The date is not right (YEAR-MONTH-DAY)",
    ),
    ("field.outcome", "Hãy chọn kết luận", "Choose an outcome"),
    (
        "field.other",
        "Thông tin chưa đúng",
        "Something here is not right",
    ),
    // Headings of error pages.
    (
        "error_heading.invalid",
        "Thông tin gửi lên chưa đúng",
        "Something in the request is wrong",
    ),
    (
        "error_heading.forbidden",
        "Bạn không có quyền xem trang này",
        "You may not see this page",
    ),
    (
        "error_heading.not_found",
        "Không tìm thấy trang",
        "Page not found",
    ),
    (
        "error_heading.method",
        "Trang không hỗ trợ thao tác này",
        "This page does not do that",
    ),
    (
        "error_heading.conflict",
        "Dữ liệu đã thay đổi; hãy tải lại trang",
        "Things changed meanwhile; reload the page",
    ),
    (
        "error_heading.too_large",
        "Nội dung gửi lên quá lớn",
        "What you sent is too large",
    ),
    (
        "error_heading.too_many",
        "Quá nhiều yêu cầu; hãy thử lại sau",
        "Too many requests; try again later",
    ),
    (
        "error_heading.failed",
        "Đã có lỗi; hãy thử lại sau",
        "Something went wrong; try again later",
    ),
    // Why a request was refused, by problem type.
    (
        "problem.bad-request",
        "Thông tin gửi lên chưa đúng.",
        "Something in the request is wrong.",
    ),
    (
        "problem.validation",
        "Có thông tin chưa đúng; hãy xem lại các ô được đánh dấu.",
        "Some fields are not right; check the marked fields.",
    ),
    (
        "problem.unsupported-media-type",
        "Loại tệp này không được nhận.",
        "This kind of file is not accepted.",
    ),
    (
        "problem.payload-too-large",
        "Nội dung gửi lên quá lớn.",
        "What you sent is too large.",
    ),
    (
        "problem.unauthorized",
        "Bạn cần đăng nhập.",
        "You need to sign in.",
    ),
    (
        "problem.totp-required",
        "Hãy nhập mã từ ứng dụng xác thực.",
        "Enter the code from your authenticator.",
    ),
    (
        "problem.forbidden",
        "Bạn không có quyền làm việc này.",
        "You may not do this.",
    ),
    (
        "problem.code-out-of-scope",
        "Chủ sở hữu mã không thuộc địa bàn của bạn; hãy nhờ cán bộ của tỉnh đó hoặc cán bộ cấp quốc gia.",
        "The code's owner is not in your provinces; ask an officer of its province or a national officer.",
    ),
    (
        "problem.evidence-files",
        "Bạn đã gửi số tệp chứng cứ tối đa cho một bên trong vụ việc này.",
        "You have attached as many evidence files to this case as one party may.",
    ),
    (
        "problem.evidence-bytes",
        "Tệp này vượt tổng dung lượng chứng cứ một bên được gửi cho vụ việc này.",
        "This file would pass the total size of evidence one party may attach to this case.",
    ),
    ("problem.not-found", "Không tìm thấy.", "Not found."),
    ("problem.gone", "Đã bị thu hồi.", "Withdrawn."),
    (
        "problem.method-not-allowed",
        "Trang không hỗ trợ thao tác này.",
        "This page does not do that.",
    ),
    (
        "problem.conflict",
        "Dữ liệu đã thay đổi hoặc đã tồn tại; hãy tải lại trang.",
        "It changed or already exists; reload the page.",
    ),
    (
        "problem.invalid-move",
        "Việc này không làm được ở trạng thái hiện tại.",
        "That cannot be done in the current state.",
    ),
    (
        "problem.precondition-failed",
        "Hồ sơ đã thay đổi trong lúc bạn xem; hãy tải lại trang.",
        "The case changed while you read it; reload the page.",
    ),
    (
        "problem.too-many-requests",
        "Quá nhiều yêu cầu; hãy thử lại sau ít phút.",
        "Too many requests; try again in a few minutes.",
    ),
    (
        "problem.oauth",
        "Yêu cầu xác thực bị từ chối.",
        "The authentication request was refused.",
    ),
    (
        "problem.service-unavailable",
        "Dịch vụ tạm thời không sẵn sàng; hãy thử lại sau.",
        "The service is unavailable for now; try again later.",
    ),
    (
        "problem.internal",
        "Đã có lỗi; hãy thử lại sau.",
        "Something went wrong; try again later.",
    ),
    (
        "problem.code-unreadable",
        "Không đọc được mã này; hãy kiểm tra lại từng ký tự.",
        "The code cannot be read; check each character.",
    ),
    (
        "problem.csrf",
        "Phiên làm việc của biểu mẫu đã hết hạn; hãy gửi lại.",
        "The form expired; send it again.",
    ),
    // A case as a thread.
    ("thread.kind", "Loại khiếu nại", "Kind"),
    ("thread.claim", "Yêu cầu", "Claim"),
    ("thread.description", "Nội dung", "What happened"),
    ("thread.answer", "Câu trả lời", "Answer"),
    ("thread.offer", "Đề nghị", "Offer"),
    ("thread.asked", "Hỏi", "Asked"),
    ("thread.question", "Câu hỏi", "Question"),
    ("thread.reply", "Trả lời", "Reply"),
    ("thread.outcome", "Kết luận", "Outcome"),
    ("thread.reasons", "Lý do", "Reasons"),
    ("thread.sanctions", "Biện pháp xử lý", "Sanctions"),
    ("thread.days", "ngày", "days"),
    ("thread.lifted", "đã bãi bỏ", "lifted"),
    ("thread.appeal_until", "Hạn kháng nghị", "Appeal until"),
    ("thread.grounds", "Lý do kháng nghị", "Grounds of appeal"),
    ("thread.reason", "Lý do", "Reason"),
    ("thread.note", "Ghi chú", "Note"),
    ("thread.assignee", "Giao cho", "Assigned to"),
    ("progress.filed", "Nộp khiếu nại", "Filed"),
    ("progress.answered", "Người bán trả lời", "Seller answered"),
    ("progress.review", "Cán bộ xem xét", "Under review"),
    ("progress.decided", "Có quyết định", "Decided"),
    ("progress.appeal", "Kháng nghị", "Appeal"),
    (
        "deadline.seller_answer",
        "Người bán trả lời trước",
        "Seller to answer by",
    ),
    (
        "deadline.buyer_reply",
        "Người mua phản hồi trước",
        "Buyer to reply by",
    ),
    (
        "deadline.resolution",
        "Cán bộ giải quyết trước",
        "Officer to decide by",
    ),
    (
        "deadline.appeal",
        "Kháng nghị được đến",
        "Appeal possible until",
    ),
    // Confirming an irreversible act.
    ("confirm.code", "Mã", "Code"),
    ("confirm.measure", "Biện pháp", "Measure"),
    // Signing in.
    (
        "signin.to_continue",
        "Hãy đăng nhập để tiếp tục; sau đó bạn sẽ quay lại đúng trang đang xem.",
        "Sign in to go on; you will come back to the page you were on.",
    ),
    // Words in mails.
    ("mail.offer", "Đề nghị của người bán", "The seller offers"),
    ("mail.outcome", "Kết luận", "Outcome"),
    ("mail.sanctions", "Biện pháp xử lý", "Sanctions"),
    // What a form just did.
    (
        "done.respond",
        "Đã gửi câu trả lời.",
        "Your answer was sent.",
    ),
    (
        "done.accept",
        "Đã chấp nhận câu trả lời; khiếu nại kết thúc.",
        "You accepted the answer; the case is settled.",
    ),
    (
        "done.escalate",
        "Hồ sơ đã được chuyển cán bộ.",
        "The case is with an officer now.",
    ),
    (
        "done.withdraw",
        "Đã rút khiếu nại.",
        "The complaint was withdrawn.",
    ),
    ("done.appeal", "Đã gửi kháng nghị.", "The appeal was sent."),
    (
        "done.supply_information",
        "Đã gửi thông tin.",
        "The information was sent.",
    ),
    (
        "done.request_information",
        "Đã yêu cầu bổ sung thông tin.",
        "Information was requested.",
    ),
    (
        "done.resume_review",
        "Tiếp tục xem xét.",
        "The review goes on.",
    ),
    ("done.decide", "Đã ra quyết định.", "The case was decided."),
    (
        "done.decide_appeal",
        "Đã quyết định kháng nghị.",
        "The appeal was decided.",
    ),
    (
        "done.record_settlement",
        "Đã ghi nhận thỏa thuận.",
        "The settlement was recorded.",
    ),
    (
        "done.confirm",
        "Đã xác nhận; khiếu nại đã được gửi đến người bán.",
        "Confirmed; the complaint went to the seller.",
    ),
    (
        "done.evidence",
        "Đã thêm chứng cứ.",
        "The evidence was added.",
    ),
    (
        "done.note",
        "Đã thêm ghi chú nội bộ.",
        "The internal note was added.",
    ),
    ("done.assign", "Đã giao việc.", "The case was assigned."),
    (
        "done.totp",
        "Đã cài xong ứng dụng xác thực. Từ nay, mỗi lần đăng nhập hãy nhập mã 6 số trong ứng dụng.",
        "Your authenticator is set up. From now on, enter its 6-digit code each time you sign in.",
    ),
    (
        "done.identity",
        "Đã kiểm tra danh tính với Cơ sở dữ liệu quốc gia về dân cư.",
        "Your identity was checked against the population register.",
    ),
    (
        "done.business",
        "Đã kiểm tra với Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp.",
        "Checked against the business register.",
    ),
    (
        "done.mismatch",
        "Thông tin chưa khớp với sổ đăng ký; xem lý do bên dưới.",
        "The details did not match the register; see the reason below.",
    ),
    (
        "done.binding_code",
        "Đã cấp mã liên kết mới.",
        "A new binding code was issued.",
    ),
    (
        "done.client_disabled",
        "Đã tắt ứng dụng kết nối.",
        "The client was disabled.",
    ),
    (
        "done.code_status",
        "Đã áp dụng biện pháp với mã.",
        "The measure was applied to the code.",
    ),
    // Pages: a consumer's complaint, the authorisation letter, the console's tools and
    // account self-service.
    (
        "complaint.listing_or_shop",
        "Hãy điền đường dẫn của tin đăng hoặc tên gian hàng",
        "Give the listing's link or the shop's name",
    ),
    (
        "complaint.listing_link",
        "Đường dẫn phải bắt đầu bằng https:// và không có khoảng trắng",
        "The link must start with https:// and have no spaces",
    ),
    (
        "complaint.shop_name",
        "Tên gian hàng tối đa 200 ký tự, trên một dòng",
        "The shop name is at most 200 characters, on one line",
    ),
    (
        "complaint.code",
        "Mã trên sản phẩm tối đa 500 ký tự",
        "The code on the product is at most 500 characters",
    ),
    (
        "complaint.platform",
        "Hãy chọn sàn trong danh sách",
        "Choose a marketplace from the list",
    ),
    ("complaint.kind", "Hãy chọn vấn đề", "Choose the problem"),
    (
        "complaint.claim",
        "Hãy chọn yêu cầu của bạn",
        "Choose what you ask for",
    ),
    (
        "complaint.description",
        "Hãy mô tả sự việc, từ 10 đến 5000 ký tự",
        "Describe what happened, in 10 to 5000 characters",
    ),
    (
        "complaint.email",
        "Hãy nhập địa chỉ email đúng dạng, ví dụ ten@example.vn",
        "Enter a valid email address, such as name@example.vn",
    ),
    ("complaint.label_reference", "Số tham chiếu", "Reference"),
    (
        "complaint.label_code",
        "Mã trên sản phẩm",
        "Code on the product",
    ),
    ("complaint.label_link", "Tin đăng", "Listing"),
    // The receipt a consumer gets for a complaint.
    (
        "receipt.subject",
        "Đã nhận khiếu nại {0}",
        "Complaint {0} received",
    ),
    ("receipt.greeting", "Xin chào,", "Hello,"),
    (
        "receipt.intro",
        "Chúng tôi đã nhận khiếu nại của bạn. Số tham chiếu: {0}. Hãy nêu số này khi liên hệ với Sở Công Thương hoặc sàn thương mại điện tử.",
        "We have received your complaint. Its reference number is {0}; quote it when you contact the Department of Industry and Trade or the marketplace.",
    ),
    (
        "receipt.what",
        "Nội dung chúng tôi đã nhận",
        "What we received",
    ),
    ("receipt.kind", "Vấn đề", "Problem"),
    ("receipt.code", "Mã trên sản phẩm", "Code on the product"),
    ("receipt.received", "Ngày nhận", "Received on"),
    ("receipt.next", "Tiếp theo", "What happens next"),
    (
        "receipt.unknown_shop",
        "Chưa xác định được người bán từ thông tin bạn nêu. Cán bộ Sở Công Thương đọc các khiếu nại chưa xác định được gian hàng, truy tìm người bán và có thể liên hệ với bạn qua địa chỉ thư này.",
        "The seller could not be identified from what you told us. Officers of the Department of Industry and Trade read complaints whose shop is unknown, trace the seller and may contact you at this address.",
    ),
    (
        "receipt.follow",
        "Bạn xem lại số tham chiếu và tình trạng khiếu nại tại:",
        "You can see the reference and where your complaint stands at:",
    ),
    (
        "receipt.not_you",
        "Nếu bạn không gửi khiếu nại này, hãy bỏ qua thư này.",
        "If you did not file this complaint, ignore this message.",
    ),
    (
        "receipt.case_opened",
        "Gian hàng bạn nêu thuộc một người bán đã đăng ký, nên chúng tôi đã mở hồ sơ {0} để người bán trả lời. Để hồ sơ được chuyển đến người bán, hãy xác nhận địa chỉ thư trong vòng {1} giờ:",
        "The shop you named belongs to a registered seller, so we opened case {0} for the seller to answer. To have it sent to the seller, confirm your address within {1} hours:",
    ),
    (
        "receipt.confirm_button",
        "Xác nhận và theo dõi khiếu nại",
        "Confirm and follow the complaint",
    ),
    (
        "receipt.case_link_private",
        "Đường dẫn này cũng là cách bạn theo dõi khiếu nại; đừng chia sẻ nó với người khác.",
        "This link is also how you follow your case; do not share it.",
    ),
    (
        "receipt.case_not_you",
        "Nếu bạn không gửi khiếu nại này, hãy bỏ qua thư; hồ sơ sẽ tự hủy.",
        "If you did not file this complaint, ignore this message and the case will lapse.",
    ),
    (
        "audit.complaint.filed",
        "người tiêu dùng gửi phản ánh",
        "consumer complaint filed",
    ),
    (
        "decision.authority",
        "Sở Công Thương {0}",
        "Department of Industry and Trade, {0}",
    ),
    (
        "decision.authority_ministry",
        "Bộ Công Thương",
        "Ministry of Industry and Trade",
    ),
    ("decision.place_ministry", "Hà Nội", "Hanoi"),
    (
        "decision.date",
        "{3}, ngày {0} tháng {1} năm {2}",
        "{3}, {0}/{1}/{2}",
    ),
    (
        "decision.title",
        "Về việc giải quyết khiếu nại số {0}",
        "On complaint {0}",
    ),
    (
        "decision.title_appeal",
        "Về việc giải quyết kháng nghị đối với khiếu nại số {0}",
        "On the appeal in complaint {0}",
    ),
    ("queue.reference", "Số hồ sơ", "Reference"),
    ("queue.status", "Trạng thái", "Status"),
    ("queue.province", "Tỉnh, thành phố", "Province"),
    ("queue.filed", "Ngày nộp", "Filed"),
    ("queue.due", "Hạn giải quyết", "Due"),
    (
        "queue.date",
        "Hãy chọn ngày, dạng năm-tháng-ngày",
        "Choose a date, as year-month-day",
    ),
    (
        "queue.days",
        "Số ngày quá hạn là số từ 0 đến 3650",
        "Days overdue is a number from 0 to 3650",
    ),
    (
        "field.province",
        "Tỉnh, thành phố này không thuộc địa bàn của bạn",
        "This province is outside your scope",
    ),
    (
        "field.status",
        "Hãy chọn trạng thái trong danh sách",
        "Choose a status from the list",
    ),
    (
        "field.display_name",
        "Tên hiển thị tối đa 100 ký tự, trên một dòng",
        "The display name is at most 100 characters, on one line",
    ),
    (
        "audit.account.mail_settings_changed",
        "đổi cài đặt thư thông báo",
        "mail settings changed",
    ),
    // Categories of mail on the account page: the name, and one line on what they carry.
    (
        "mail_category.account_security",
        "Bảo mật tài khoản",
        "Account security",
    ),
    (
        "mail_category_why.account_security",
        "Xác minh địa chỉ email, đặt lại hoặc đổi mật khẩu, lời mời: sự an toàn của tài khoản phụ thuộc vào chúng.",
        "Address verification, password resets and changes, invitations: the safety of your account depends on them.",
    ),
    (
        "mail_category.case_deadline",
        "Thời hạn trong khiếu nại",
        "Deadlines in a case",
    ),
    (
        "mail_category_why.case_deadline",
        "Khiếu nại cần bạn trả lời hoặc bổ sung thông tin trước một thời hạn, hoặc đã quá hạn giải quyết: bỏ lỡ có thể làm mất quyền lợi.",
        "A case asks you to answer or supply information by a date, or is past its deadline: missing it can cost a right.",
    ),
    (
        "mail_category.case_proceedings",
        "Diễn biến chính thức của khiếu nại",
        "Formal steps of a case",
    ),
    (
        "mail_category_why.case_proceedings",
        "Chuyển lên Sở Công Thương, quyết định và biện pháp xử lý, kháng nghị, thỏa thuận, rút hoặc đóng khiếu nại: đây là thông báo chính thức gửi đến bạn.",
        "Referral to the Department, decisions and sanctions, appeals, settlements, withdrawals and closing: they are served on you as formal notices.",
    ),
    (
        "mail_category.seller_standing",
        "Quyền bán hàng",
        "Your right to sell",
    ),
    (
        "mail_category_why.seller_standing",
        "Tạm ngừng bán hàng và thông báo xác minh sắp hết hạn: chúng quyết định bạn có được bán hàng hay không.",
        "Suspensions and the notice that your verification expires: they decide whether you may sell.",
    ),
    (
        "mail_category.case_progress",
        "Hoạt động thường ngày của khiếu nại",
        "Routine case activity",
    ),
    (
        "mail_category_why.case_progress",
        "Thông tin cán bộ yêu cầu đã được gửi và việc xem xét tiếp tục; không có gì cần bạn làm.",
        "The information an officer asked for was supplied and the review goes on; nothing is asked of you.",
    ),
    (
        "mail_category.case_queue",
        "Khiếu nại mới trong hàng chờ",
        "New cases in your queue",
    ),
    (
        "mail_category_why.case_queue",
        "Một khiếu nại hoặc kháng nghị được chuyển đến tỉnh bạn phụ trách; bảng điều khiển luôn hiển thị hàng chờ, và khiếu nại quá hạn vẫn được gửi thư.",
        "A case or an appeal reached your provinces; the console always shows the queue, and a case past its deadline is still mailed.",
    ),
    (
        "done.mail_settings",
        "Đã lưu cài đặt thư thông báo.",
        "Your mail settings were saved.",
    ),
    (
        "done.account_closed",
        "Tài khoản đã được đóng và bạn đã được đăng xuất.",
        "Your account is closed and you have been signed out.",
    ),
    (
        "field.silenced",
        "Loại thư này luôn được gửi và không thể tắt",
        "This kind of mail is always sent and cannot be turned off",
    ),
    (
        "field.language",
        "Hãy chọn tiếng Việt hoặc tiếng Anh",
        "Choose Vietnamese or English",
    ),
    (
        "field.confirm_close",
        "Hãy đánh dấu ô xác nhận rằng bạn hiểu việc đóng tài khoản không thể hoàn tác",
        "Tick the box to confirm you understand that closing cannot be undone",
    ),
    (
        "problem.mail_settings_changed",
        "Cài đặt đã được thay đổi ở nơi khác trong lúc bạn sửa; dưới đây là cài đặt hiện tại, hãy chọn lại rồi lưu.",
        "The settings were changed elsewhere while you edited them; below are the current ones: choose again and save.",
    ),
    (
        "problem.close_blocked",
        "Chưa thể đóng tài khoản khi còn khiếu nại chưa kết thúc hoặc gian hàng còn liên kết (hãy nhờ sàn hủy liên kết).",
        "The account cannot be closed while a dispute case is open or a shop is still bound (ask the platform to unbind it).",
    ),
    (
        "audit.account.display_name_set",
        "đặt tên hiển thị",
        "display name set",
    ),
    (
        "done.password_changed",
        "Đã đổi mật khẩu; các phiên đăng nhập khác đã kết thúc.",
        "The password was changed; your other sessions have ended.",
    ),
    (
        "done.display_name",
        "Đã lưu tên hiển thị.",
        "The display name was saved.",
    ),
    (
        "field.current_password",
        "Hãy nhập đúng mật khẩu hiện tại",
        "Enter your current password correctly",
    ),
    (
        "field.new_password",
        "Mật khẩu mới cần ít nhất 10 ký tự, khó đoán và khác mật khẩu cũ",
        "The new password needs at least 10 characters, hard to guess and unlike the old one",
    ),
    (
        "done.letter",
        "Đã tải lên giấy ủy quyền; cán bộ sẽ xem khi xét duyệt.",
        "The authorisation letter was uploaded; officers will read it when they review.",
    ),
    (
        "done.letter_refused",
        "Không nhận tệp này: giấy ủy quyền phải là tệp PDF, JPEG hoặc PNG.",
        "This file was not accepted: the letter must be a PDF, JPEG or PNG file.",
    ),
    (
        "done.letter_missing",
        "Hãy chọn tệp giấy ủy quyền để tải lên.",
        "Choose the letter's file to upload.",
    ),
    (
        "audit.seller.authorisation_letter_uploaded",
        "tải lên giấy ủy quyền",
        "authorisation letter uploaded",
    ),
    // Closing accounts and the retention policy.
    ("audit.account.closed", "đóng tài khoản", "account closed"),
    (
        "audit.retention.exported",
        "xuất và xóa theo chính sách lưu trữ",
        "exported and dropped under the retention policy",
    ),
    (
        "audit.retention.pseudonymised",
        "bút danh hóa tài khoản đã đóng",
        "closed accounts pseudonymised",
    ),
    (
        "audit.retention.complaint_emails_erased",
        "xóa email của người khiếu nại",
        "complainants' email addresses erased",
    ),
    // Why the audit chain does not verify, as the console tells it.
    (
        "chain_break.altered",
        "Mục {0}: nội dung không khớp với mã băm của mục (bản ghi đã bị sửa).",
        "Entry {0}: its contents do not match its hash (the row was edited).",
    ),
    (
        "chain_break.unlinked",
        "Mục {0} không trỏ tới mã băm của mục {1} (một bản ghi đã bị thay hoặc đổi thứ tự).",
        "Entry {0} does not point at the hash of entry {1} (a row was replaced or reordered).",
    ),
    (
        "chain_break.gap",
        "Mục {0} đứng sau mục {1}: các mục ở giữa đã mất.",
        "Entry {0} follows entry {1}: entries in between are missing.",
    ),
    (
        "chain_break.head",
        "Đầu chuỗi đã ghi (mục {0}) không khớp với mục cuối ({1}): các mục cuối đã bị xóa hoặc đầu chuỗi đã bị sửa.",
        "The chain's recorded head (entry {0}) does not match its last entry ({1}): entries were removed from the end or the head was edited.",
    ),
    (
        "chain_break.rewritten",
        "Mục {0} không phải mục mà điểm kiểm tra tại {0} đã ký: một mục sau {1} đến {0} đã bị viết lại (tính lại mã băm).",
        "Entry {0} is not the entry the checkpoint at {0} signed: an entry after {1} and up to {0} was rewritten (hashes recomputed).",
    ),
    (
        "chain_break.truncated",
        "Một điểm kiểm tra đã ký bao gồm mục {0} nhưng chuỗi kết thúc ở mục {1}: các mục cuối đã bị xóa.",
        "A signed checkpoint covers entry {0} but the chain ends at entry {1}: entries were removed from the end.",
    ),
    (
        "chain_break.checkpoint_forged",
        "Điểm kiểm tra tại mục {0} không mang chữ ký hợp lệ của khóa nhật ký: nó đã bị giả mạo hoặc sửa đổi.",
        "The checkpoint at entry {0} does not carry a valid signature of the audit key: it was forged or altered.",
    ),
    (
        "chain_break.unanchored",
        "Chuỗi bắt đầu ở mục {0} nhưng không có điểm kiểm tra đã ký tại mục {1} làm mốc: các mục đầu đã bị xóa.",
        "The chain starts at entry {0} but no signed checkpoint at entry {1} anchors it: entries were removed from the start.",
    ),
    (
        "chain_break.unrecorded_truncation",
        "Các mục đến {0} không còn nhưng không có mục retention.exported nào ghi nhận việc xuất chúng: chúng đã bị xóa ngoài một lần chạy lưu giữ.",
        "Entries up to {0} are gone but no retention.exported entry records their export: they were removed outside a retention run.",
    ),
    (
        "chain_break.anchor_unsigned",
        "Chuỗi bắt đầu sau mục {0}, nhưng điểm kiểm tra tại đó không được ký bằng khóa nhật ký dùng để kiểm tra.",
        "The chain starts after entry {0}, but the checkpoint there is not signed by the audit key it is verified with.",
    ),
    (
        "chain_break.truncation_unsigned",
        "Việc xuất các mục đến {0} có được ghi nhận, nhưng không điểm kiểm tra nào được ký bằng khóa nhật ký bao gồm bản ghi đó: không thể phân biệt nó với một bản ghi giả.",
        "The export of entries up to {0} is recorded, but no checkpoint signed by the audit key covers that record: it cannot be told from a forged one.",
    ),
    // The mail to the address of a closed account someone tried to register with.
    (
        "mail.closed_account_subject",
        "Có người vừa đăng ký bằng email của một tài khoản tracegate đã đóng",
        "Someone tried to register with the email of a closed tracegate account",
    ),
    ("mail.closed_account_hello", "Xin chào,", "Hello,"),
    (
        "mail.closed_account_tried",
        "Ai đó (có thể là bạn) vừa đăng ký tài khoản tracegate bằng địa chỉ email này. Địa chỉ này thuộc một tài khoản đã đóng ngày {0}. Không có gì thay đổi.",
        "Someone (perhaps you) just tried to register a tracegate account with this email address. It belongs to an account that was closed on {0}. Nothing has changed.",
    ),
    (
        "mail.closed_account_erasure",
        "Tài khoản đã đóng không thể mở lại. Dữ liệu cá nhân của tài khoản sẽ được xóa hoặc thay bằng bút danh từ ngày {1}; kể từ đó, bạn có thể dùng địa chỉ này để đăng ký một tài khoản mới.",
        "A closed account cannot be reopened. Its personal data will be erased or pseudonymised from {1}; from then on, you can register a new account with this address.",
    ),
    (
        "mail.closed_account_until",
        "Đến lúc đó, địa chỉ vẫn gắn với tài khoản cũ, để thư từ và hồ sơ của tài khoản cũ không bị lẫn với một tài khoản mới.",
        "Until then the address stays with the old account, so that the old account's mail and records are not mixed up with a new one.",
    ),
    (
        "mail.closed_account_ignore",
        "Nếu không phải bạn, hãy bỏ qua thư này.",
        "If it was not you, ignore this message.",
    ),
    (
        "console.complaint_email_erased",
        "(đã xóa theo chính sách lưu trữ)",
        "(erased under the retention policy)",
    ),
    (
        "console.audit_anchor",
        "Các mục từ 1 đến {0} đã được xuất ra tệp lưu trữ và xóa theo chính sách lưu trữ; chuỗi được kiểm tra từ điểm kiểm tra đã ký tại mục {0} (mã băm {1}).",
        "Entries 1 to {0} were exported to the archive and dropped under the retention policy; the chain is checked from the signed checkpoint at entry {0} (hash {1}).",
    ),
];

static INDEX: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> =
    LazyLock::new(|| ENTRIES.iter().map(|(k, vi, en)| (*k, (*vi, *en))).collect());

/// Keys asked for that the catalogue lacks, since the process started.
static MISSING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The text under `key`, if the catalogue has it.
pub fn lookup(key: &str, lang: Language) -> Option<&'static str> {
    INDEX
        .get(key)
        .map(|(vi, en)| if lang.is_vi() { *vi } else { *en })
}

/// The word for `code` in `group`; a code the catalogue lacks is shown as it is (and
/// logged and remembered, see [`missing_keys`]).
pub fn label(group: &str, code: &str, lang: Language) -> String {
    let key = format!("{group}.{code}");
    match lookup(&key, lang) {
        Some(text) => text.to_string(),
        None => {
            tracing::warn!(key = %key, "no catalogue entry");
            if let Ok(mut missing) = MISSING.lock() {
                missing.insert(key);
            }
            code.to_string()
        }
    }
}

/// Like [`label`], with `{0}`, `{1}`… replaced by `args`.
pub fn format(group: &str, code: &str, args: &[&str], lang: Language) -> String {
    let mut text = label(group, code, lang);
    for (i, arg) in args.iter().enumerate() {
        text = text.replace(&format!("{{{i}}}"), arg);
    }
    text
}

/// A catalogue message with its arguments, kept until the reader's language is known (a
/// mail to each party in their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub group: &'static str,
    pub code: &'static str,
    pub args: Vec<String>,
}

impl Phrase {
    pub fn new(group: &'static str, code: &'static str, args: Vec<String>) -> Self {
        Self { group, code, args }
    }

    pub fn words(&self, lang: Language) -> String {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        format(self.group, self.code, &args, lang)
    }
}

/// Every key asked for and not found so far (tests fail on any).
pub fn missing_keys() -> Vec<String> {
    MISSING
        .lock()
        .map(|m| m.iter().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_both_languages_and_a_unique_key() {
        let mut seen = BTreeSet::new();
        for (key, vi, en) in ENTRIES {
            assert!(seen.insert(*key), "{key} twice");
            assert!(!vi.trim().is_empty() && !en.trim().is_empty(), "{key}");
            assert!(key.contains('.'), "{key} has no group");
        }
    }

    #[test]
    fn every_case_status_move_and_sanction_has_words() {
        use crate::disputes::SanctionKind;
        use crate::disputes::lifecycle::ALL_STATUSES;
        for s in ALL_STATUSES {
            assert!(lookup(&format!("status.{}", s.as_str()), Language::Vi).is_some());
        }
        for k in [
            SanctionKind::Warning,
            SanctionKind::BlockListing,
            SanctionKind::FlagCodes,
            SanctionKind::RevokeCodes,
            SanctionKind::Strike,
            SanctionKind::SuspendSeller,
        ] {
            assert!(lookup(&format!("sanction.{}", k.as_str()), Language::Vi).is_some());
            assert!(lookup(&format!("applied.{}", k.as_str()), Language::Vi).is_some());
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            format("applied", "suspend_seller", &["7"], Language::Vi),
            "tạm ngừng người bán 7 ngày"
        );
    }
}
