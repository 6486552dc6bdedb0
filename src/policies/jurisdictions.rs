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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct JurisdictionsFile {
    version: String,
    provinces: BTreeMap<String, Province>,
}

#[derive(Debug, Clone)]
pub struct Jurisdictions {
    pub version: String,
    provinces: BTreeMap<String, Province>,
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
        Ok(Self {
            version: parsed.version,
            provinces: parsed.provinces,
        })
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
