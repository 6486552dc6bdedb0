//! Registers read from files: the embedded default (a synthetic data set), or files an
//! operator points at (`identity.population_file`, `identity.business_file`). A file is
//! read again when it changes, so an updated export takes effect without a restart.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use chrono::NaiveDate;
use serde::Deserialize;

use super::NationalId;
use super::registry::{
    BusinessKey, BusinessRecord, BusinessRegister, PersonCheck, PopulationRegister,
    RegistryUnavailable, same_name,
};

const SYNTHETIC_POPULATION: &str = include_str!("synthetic/population.csv");
const SYNTHETIC_BUSINESSES: &str = include_str!("synthetic/business.json");

/// Where a register's data comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The synthetic data set built into the binary.
    Synthetic,
    File(PathBuf),
}

#[derive(Debug, Clone)]
struct Person {
    full_name: String,
    birth_date: NaiveDate,
    alive: bool,
    province: Option<String>,
}

/// Data parsed from a source, re-read when the file's modification time changes.
struct Reloading<T> {
    source: Source,
    parse: fn(&str, &str) -> Result<T, String>,
    loaded: RwLock<(Option<SystemTime>, Arc<T>)>,
    register: &'static str,
}

impl<T> Reloading<T> {
    fn open(
        source: Source,
        parse: fn(&str, &str) -> Result<T, String>,
        builtin: &str,
        register: &'static str,
    ) -> Result<Self, String> {
        let (stamp, data) = match &source {
            Source::Synthetic => (None, parse("synthetic data", builtin)?),
            Source::File(path) => read(path, parse)?,
        };
        Ok(Self {
            source,
            parse,
            loaded: RwLock::new((stamp, Arc::new(data))),
            register,
        })
    }

    fn current(&self) -> Result<Arc<T>, RegistryUnavailable> {
        let Source::File(path) = &self.source else {
            return Ok(self
                .loaded
                .read()
                .map(|l| l.1.clone())
                .unwrap_or_else(|p| p.into_inner().1.clone()));
        };
        let unavailable = |reason: String| RegistryUnavailable {
            register: self.register,
            reason,
        };
        let stamp = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(|e| unavailable(format!("cannot read {}: {e}", path.display())))?;
        {
            let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            if loaded.0 == Some(stamp) {
                return Ok(loaded.1.clone());
            }
        }
        let (stamp, data) = read(path, self.parse).map_err(unavailable)?;
        let data = Arc::new(data);
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = (stamp, data.clone());
        Ok(data)
    }
}

fn read<T>(
    path: &PathBuf,
    parse: fn(&str, &str) -> Result<T, String>,
) -> Result<(Option<SystemTime>, T), String> {
    let stamp = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((stamp, parse(&path.display().to_string(), &text)?))
}

fn parse_population(name: &str, text: &str) -> Result<HashMap<String, Person>, String> {
    let mut people = HashMap::new();
    let mut header_seen = false;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |message: String| format!("{name} line {}: {message}", index + 1);
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if !header_seen {
            if fields
                != [
                    "national_id",
                    "full_name",
                    "birth_date",
                    "status",
                    "province",
                ]
            {
                return Err(at(
                    "expected the header national_id,full_name,birth_date,status,province".into(),
                ));
            }
            header_seen = true;
            continue;
        }
        let [id, full_name, birth_date, status, province] = fields[..] else {
            return Err(at(format!("expected 5 fields, found {}", fields.len())));
        };
        let id = NationalId::parse(id).map_err(|e| at(format!("national_id {e}")))?;
        let birth_date = NaiveDate::parse_from_str(birth_date, "%Y-%m-%d")
            .map_err(|_| at(format!("birth_date {birth_date:?} is not YYYY-MM-DD")))?;
        let alive = match status {
            "alive" => true,
            "deceased" => false,
            other => return Err(at(format!("status {other:?} is not alive or deceased"))),
        };
        people.insert(
            id.expose().to_string(),
            Person {
                full_name: full_name.to_string(),
                birth_date,
                alive,
                province: (!province.is_empty()).then(|| province.to_string()),
            },
        );
    }
    Ok(people)
}

#[derive(Deserialize)]
struct BusinessFile {
    #[serde(default, rename = "_comment")]
    _comment: Option<String>,
    records: Vec<BusinessRecord>,
}

fn parse_businesses(name: &str, text: &str) -> Result<HashMap<String, BusinessRecord>, String> {
    let file: BusinessFile = serde_json::from_str(text).map_err(|e| format!("{name}: {e}"))?;
    let mut records = HashMap::new();
    for record in file.records {
        NationalId::parse(&record.legal_representative_id).map_err(|e| {
            format!(
                "{name}: record {}: legal_representative_id {e}",
                record.code
            )
        })?;
        records.insert(record.code.clone(), record);
    }
    Ok(records)
}

/// A population register read from a CSV file.
pub struct LocalPopulationRegister(Reloading<HashMap<String, Person>>);

impl LocalPopulationRegister {
    pub fn open(source: Source) -> Result<Self, String> {
        Reloading::open(source, parse_population, SYNTHETIC_POPULATION, "population").map(Self)
    }
}

impl PopulationRegister for LocalPopulationRegister {
    fn check(
        &self,
        id: &NationalId,
        full_name: &str,
        birth_date: NaiveDate,
    ) -> Result<PersonCheck, RegistryUnavailable> {
        let people = self.0.current()?;
        Ok(match people.get(id.expose()) {
            None => PersonCheck::NotFound,
            Some(p) if !p.alive => PersonCheck::Deceased,
            Some(p) if same_name(&p.full_name, full_name) && p.birth_date == birth_date => {
                PersonCheck::Match {
                    province: p.province.clone(),
                }
            }
            Some(_) => PersonCheck::Mismatch,
        })
    }
}

/// A business register read from a JSON file.
pub struct LocalBusinessRegister(Reloading<HashMap<String, BusinessRecord>>);

impl LocalBusinessRegister {
    pub fn open(source: Source) -> Result<Self, String> {
        Reloading::open(source, parse_businesses, SYNTHETIC_BUSINESSES, "business").map(Self)
    }
}

impl BusinessRegister for LocalBusinessRegister {
    fn lookup(&self, key: &BusinessKey) -> Result<Option<BusinessRecord>, RegistryUnavailable> {
        let records = self.0.current()?;
        Ok(records
            .get(&key.code())
            .filter(|r| r.kind == key.kind())
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::EnterpriseCode;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn synthetic_population_answers_each_case() {
        let register =
            LocalPopulationRegister::open(Source::Synthetic).expect("synthetic data is valid");
        let an = NationalId::parse("079085900001").expect("id");
        assert_eq!(
            register.check(&an, "nguyễn văn an", date("1985-03-14")),
            Ok(PersonCheck::Match {
                province: Some("79".into())
            })
        );
        assert_eq!(
            register.check(&an, "Nguyễn Văn Anh", date("1985-03-14")),
            Ok(PersonCheck::Mismatch)
        );
        assert_eq!(
            register.check(&an, "Nguyễn Văn An", date("1985-03-15")),
            Ok(PersonCheck::Mismatch)
        );
        let hanh = NationalId::parse("001160900006").expect("id");
        assert_eq!(
            register.check(&hanh, "Võ Thị Hạnh", date("1960-02-14")),
            Ok(PersonCheck::Deceased)
        );
        let nobody = NationalId::parse("001190999999").expect("id");
        assert_eq!(
            register.check(&nobody, "X", date("1990-01-01")),
            Ok(PersonCheck::NotFound)
        );
    }

    #[test]
    fn synthetic_businesses_are_found_by_kind_and_code() {
        let register =
            LocalBusinessRegister::open(Source::Synthetic).expect("synthetic data is valid");
        let code = EnterpriseCode::parse("0109000015").expect("valid code");
        let record = register
            .lookup(&BusinessKey::Enterprise(code))
            .expect("answers")
            .expect("found");
        assert_eq!(record.legal_representative_id, "001190900002");
        assert!(
            register
                .lookup(&BusinessKey::Household("0109000015".into()))
                .expect("answers")
                .is_none()
        );
        assert!(
            register
                .lookup(&BusinessKey::Household("46A8900010".into()))
                .expect("answers")
                .is_some()
        );
    }

    #[test]
    fn every_synthetic_enterprise_code_is_valid() {
        let register = LocalBusinessRegister::open(Source::Synthetic).expect("valid");
        for record in register.0.current().expect("loaded").values() {
            if record.kind == crate::identity::registry::BusinessKind::Enterprise {
                EnterpriseCode::parse(&record.code)
                    .expect("synthetic enterprise codes carry valid check digits");
            }
        }
    }

    #[test]
    fn a_changed_file_is_read_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("population.csv");
        let header = "national_id,full_name,birth_date,status,province\n";
        std::fs::write(
            &path,
            format!("{header}001190900002,Trần Thị Bích,1990-07-02,alive,01\n"),
        )
        .expect("write");
        let register = LocalPopulationRegister::open(Source::File(path.clone())).expect("opens");
        let id = NationalId::parse("001190900002").expect("id");
        assert!(matches!(
            register.check(&id, "Trần Thị Bích", date("1990-07-02")),
            Ok(PersonCheck::Match { .. })
        ));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(
            &path,
            format!("{header}001190900002,Trần Thị Bích,1990-07-02,deceased,01\n"),
        )
        .expect("write");
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_modified(SystemTime::now() + std::time::Duration::from_secs(5))
            .expect("touch");
        assert_eq!(
            register.check(&id, "Trần Thị Bích", date("1990-07-02")),
            Ok(PersonCheck::Deceased)
        );
    }

    #[test]
    fn bad_file_is_refused_naming_the_line() {
        let err = parse_population("p.csv", "national_id,full_name,birth_date,status,province\n001190900002,X,1990-13-02,alive,01\n")
            .unwrap_err();
        assert!(
            err.contains("p.csv line 2") && err.contains("birth_date"),
            "{err}"
        );
    }
}
