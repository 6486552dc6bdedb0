//! Database URLs: the scheme alone decides the backend.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// A parsed `sqlite://PATH` or `postgres://…` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A database file; `sqlite://./data/x.db` is relative, `sqlite:///var/x.db` absolute.
    Sqlite(PathBuf),
    /// Handed to libpq as written.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(
                    "expected a file path after sqlite://, e.g. sqlite://./data/tracegate.db"
                        .into(),
                );
            }
            if path == ":memory:" || path.contains("mode=memory") {
                return Err("in-memory SQLite is not supported: every pooled connection would see its own empty database; give a file path".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        Err(format!(
            "expected a URL starting with sqlite:// (embedded) or postgres:// / postgresql://, got {:?}",
            redact(url)
        ))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Debug output hides a password in the URL.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => f.write_str(&redact(u)),
        }
    }
}

/// Replaces the password of `scheme://user:password@host` with `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_chooses_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/t.db").map(|u| u.backend()),
            Ok(Backend::Sqlite)
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://h/db").map(|u| u.backend()),
            Ok(Backend::Postgres)
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").map(|u| u.backend()),
            Ok(Backend::Postgres)
        );
    }

    #[test]
    fn absolute_sqlite_path_keeps_its_slash() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/t.db"),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("/var/lib/t.db")))
        );
    }

    #[test]
    fn other_schemes_and_bare_paths_are_refused() {
        for bad in [
            "mysql://h/db",
            "./data/t.db",
            "",
            "sqlite://",
            "sqlite://:memory:",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_and_debug_never_show_the_password() {
        let err = DatabaseUrl::parse("mysql://app:s3cret@h/db").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        let url = DatabaseUrl::parse("postgres://app:s3cret@h/db").expect("parses");
        assert_eq!(format!("{url:?}"), "postgres://app:***@h/db");
    }
}
