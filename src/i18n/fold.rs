//! Text as searches compare it. Officers type Vietnamese names with or without
//! diacritics, in any case; SQLite's `lower()` folds only A–Z and PostgreSQL's `unaccent`
//! may not be installed, so names are folded here, stored folded beside the name, and
//! compared with a pattern folded the same way: both databases then find the same rows.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower case, without diacritics (`đ` as `d`), with runs of white space as one space and
/// none at either end: "  NGUYỄN  Văn " and "nguyen van" fold alike.
pub fn fold(text: &str) -> String {
    let bare: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect();
    bare.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn vietnamese_names_fold_to_plain_lower_case() {
        assert_eq!(fold("Nguyễn Văn An"), "nguyen van an");
        assert_eq!(fold("  NGUYỄN   VĂN "), "nguyen van");
        assert_eq!(fold("Đồ gia dụng Đức"), "do gia dung duc");
        assert_eq!(fold("ĐẶNG THỊ Ư"), "dang thi u");
        // Precomposed and decomposed forms of the same letters fold alike.
        assert_eq!(fold("Nguy\u{1ec5}n"), fold("Nguye\u{302}\u{303}n"));
        assert_eq!(fold("Cửa hàng 100% sạch_sẽ"), "cua hang 100% sach_se");
    }
}
