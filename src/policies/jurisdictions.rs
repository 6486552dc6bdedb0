//! Provinces, and officers' scope over them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::PolicyError;

/// Scope value meaning every province.
pub const ALL_PROVINCES: &str = "*";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Province {
    pub name: String,
    pub name_en: String,
}

/// A province as it was before the 2025 reorganisation, and the province it is part of now.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormerProvince {
    pub name: String,
    pub now: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct JurisdictionsFile {
    version: String,
    provinces: BTreeMap<String, Province>,
    #[serde(default)]
    former_provinces: BTreeMap<String, FormerProvince>,
}

/// Where a product comes from: a country (ISO 3166-1 alpha-2), or a Vietnamese province
/// by its current code (a former province's code is read as the province it is part of).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    Country(String),
    Province(String),
}

impl Origin {
    /// As stored and shown: the alpha-2 code or the province code.
    pub fn code(&self) -> &str {
        match self {
            Origin::Country(c) | Origin::Province(c) => c,
        }
    }

    /// Whether a listing claiming `self` agrees with a product registered as from
    /// `registered`: the same place, or a province inside the country named (only
    /// Vietnam's provinces are known).
    pub fn agrees_with(&self, registered: &Origin) -> bool {
        match (self, registered) {
            (Origin::Province(a), Origin::Province(b))
            | (Origin::Country(a), Origin::Country(b)) => a == b,
            (Origin::Country(c), Origin::Province(_))
            | (Origin::Province(_), Origin::Country(c)) => c == "VN",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Jurisdictions {
    pub version: String,
    provinces: BTreeMap<String, Province>,
    former_provinces: BTreeMap<String, FormerProvince>,
}

/// The provinces an officer's work covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvinceScope {
    All,
    Only(Vec<String>),
}

impl ProvinceScope {
    /// As stored and put in tokens: `*` or codes joined by commas.
    pub fn to_codes(&self) -> Vec<String> {
        match self {
            ProvinceScope::All => vec![ALL_PROVINCES.to_string()],
            ProvinceScope::Only(codes) => codes.clone(),
        }
    }

    /// The scope a token's province list stands for.
    pub fn from_codes(codes: &[String]) -> Self {
        if codes.iter().any(|c| c == ALL_PROVINCES) {
            ProvinceScope::All
        } else {
            ProvinceScope::Only(codes.to_vec())
        }
    }

    pub fn covers(&self, province: &str) -> bool {
        match self {
            ProvinceScope::All => true,
            ProvinceScope::Only(codes) => codes.iter().any(|c| c == province),
        }
    }
}

impl Jurisdictions {
    pub fn parse(file: &str, text: &str) -> Result<Self, PolicyError> {
        let parsed: JurisdictionsFile = toml::from_str(text).map_err(|e| {
            PolicyError::new(file, e.to_string().lines().collect::<Vec<_>>().join(" "))
        })?;
        for (code, province) in &parsed.provinces {
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PolicyError::new(
                    file,
                    format!("provinces.{code}: a province code is two digits"),
                ));
            }
            if province.name.trim().is_empty() || province.name_en.trim().is_empty() {
                return Err(PolicyError::new(
                    file,
                    format!("provinces.{code}: name and name_en are required"),
                ));
            }
        }
        if parsed.provinces.is_empty() {
            return Err(PolicyError::new(
                file,
                "provinces: at least one province is required",
            ));
        }
        for (code, former) in &parsed.former_provinces {
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PolicyError::new(
                    file,
                    format!("former_provinces.{code}: a province code is two digits"),
                ));
            }
            if !parsed.provinces.contains_key(&former.now) {
                return Err(PolicyError::new(
                    file,
                    format!(
                        "former_provinces.{code}.now: {:?} is not a province in [provinces]",
                        former.now
                    ),
                ));
            }
        }
        Ok(Self {
            version: parsed.version,
            provinces: parsed.provinces,
            former_provinces: parsed.former_provinces,
        })
    }

    /// Reads an origin: an ISO 3166-1 alpha-2 country code (any case), a province code of
    /// today, or a former province's code (read as the province it is part of now). The
    /// error says what is accepted.
    pub fn parse_origin(&self, text: &str) -> Result<Origin, String> {
        let code = text.trim();
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) {
            if self.provinces.contains_key(code) {
                return Ok(Origin::Province(code.to_string()));
            }
            if let Some(former) = self.former_provinces.get(code) {
                return Ok(Origin::Province(former.now.clone()));
            }
            return Err(format!(
                "{code:?} is not a Vietnamese province code (e.g. 01 Hà Nội, 79 TP Hồ Chí Minh)"
            ));
        }
        let upper = code.to_ascii_uppercase();
        if upper.len() == 2 && super::countries::is_country(&upper) {
            return Ok(Origin::Country(upper));
        }
        Err(format!(
            "{:?} is not an origin: give an ISO 3166-1 alpha-2 country code (e.g. VN, CN) or a Vietnamese province code (e.g. 79)",
            code.chars().take(40).collect::<String>()
        ))
    }

    pub fn provinces(&self) -> impl Iterator<Item = (&String, &Province)> {
        self.provinces.iter()
    }

    pub fn province(&self, code: &str) -> Option<&Province> {
        self.provinces.get(code)
    }

    /// Reads an officer's scope from `*` or a comma-separated list of province codes.
    pub fn parse_scope(&self, text: &str) -> Result<ProvinceScope, String> {
        let codes: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if codes.is_empty() {
            return Err("give at least one province code, or * for the whole country".into());
        }
        if codes.iter().any(|c| c == ALL_PROVINCES) {
            return if codes.len() == 1 {
                Ok(ProvinceScope::All)
            } else {
                Err("* already covers every province; give it alone".into())
            };
        }
        if let Some(unknown) = codes.iter().find(|c| !self.provinces.contains_key(*c)) {
            return Err(format!(
                "{unknown:?} is not a province code in policies/jurisdictions.toml (e.g. 01 Hà Nội, 79 TP Hồ Chí Minh)"
            ));
        }
        let mut codes = codes;
        codes.sort();
        codes.dedup();
        Ok(ProvinceScope::Only(codes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j() -> Jurisdictions {
        super::super::Policies::built_in()
            .expect("valid")
            .jurisdictions
    }

    #[test]
    fn scope_parses_codes_and_star() {
        assert_eq!(
            j().parse_scope("79, 01,79"),
            Ok(ProvinceScope::Only(vec!["01".into(), "79".into()]))
        );
        assert_eq!(j().parse_scope("*"), Ok(ProvinceScope::All));
    }

    #[test]
    fn scope_refuses_unknown_codes_by_name() {
        let err = j().parse_scope("79,02").unwrap_err();
        assert!(err.contains("\"02\""), "{err}");
        assert!(j().parse_scope("").is_err());
        assert!(j().parse_scope("*,79").is_err());
    }

    #[test]
    fn origins_are_countries_or_provinces_old_and_new() {
        let j = j();
        assert_eq!(j.parse_origin("vn"), Ok(Origin::Country("VN".into())));
        assert_eq!(j.parse_origin(" 79 "), Ok(Origin::Province("79".into())));
        // Bình Dương (74) is part of Thành phố Hồ Chí Minh since 1 July 2025.
        assert_eq!(j.parse_origin("74"), Ok(Origin::Province("79".into())));
        assert!(j.parse_origin("Hồ Chí Minh").is_err());
        assert!(j.parse_origin("XX").is_err());
        assert!(j.parse_origin("03").is_err());
        let hcm = Origin::Province("79".into());
        assert!(Origin::Country("VN".into()).agrees_with(&hcm));
        assert!(hcm.agrees_with(&Origin::Country("VN".into())));
        assert!(!Origin::Country("CN".into()).agrees_with(&hcm));
        assert!(!Origin::Province("01".into()).agrees_with(&hcm));
    }

    #[test]
    fn every_former_province_is_part_of_a_province() {
        let j = j();
        assert_eq!(j.former_provinces.len(), 63);
        let now: std::collections::BTreeSet<&String> =
            j.former_provinces.values().map(|f| &f.now).collect();
        assert_eq!(now.len(), 34, "the 63 became the 34");
        assert_eq!(j.provinces.len(), 34);
    }

    #[test]
    fn bad_file_names_the_key() {
        let err = Jurisdictions::parse(
            "j.toml",
            "version = \"x\"\n[provinces]\n\"7\" = { name = \"a\", name_en = \"b\" }\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("provinces.7"), "{err}");
        let err = Jurisdictions::parse("j.toml", "version = \"x\"\ncolour = 1\n[provinces]\n")
            .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }
}
