//! Email addresses as accounts use them: trimmed, lower-cased, checked for a shape mail
//! servers accept. Only [`Email::parse`] makes one.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EmailError(pub &'static str);

const LOCAL_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~.";

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let text = input.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(EmailError("is required"));
        }
        if text.len() > 254 {
            return Err(EmailError("is longer than 254 characters"));
        }
        let (local, domain) = text.rsplit_once('@').ok_or(EmailError(
            "needs an @ between the name and the domain, like an@example.vn",
        ))?;
        if local.is_empty() || local.len() > 64 {
            return Err(EmailError("the part before @ must be 1 to 64 characters"));
        }
        if !local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(&b))
        {
            return Err(EmailError(
                "the part before @ has a character mail servers do not accept",
            ));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(EmailError(
                "the part before @ cannot start or end with a dot or have two in a row",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(EmailError(
                "the domain after @ needs a dot, like example.vn",
            ));
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(EmailError("the domain after @ is not a valid domain name"));
            }
        }
        let tld = labels.last().copied().unwrap_or("");
        if tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(EmailError(
                "the domain after @ must end in a top-level domain such as .vn or .com",
            ));
        }
        Ok(Email(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before @, for checks that a password does not repeat it.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or("")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_spaces() {
        assert_eq!(
            Email::parse("  An.Nguyen@Example.VN ").map(|e| e.0),
            Ok("an.nguyen@example.vn".into())
        );
    }

    #[test]
    fn accepts_common_shapes() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.domain.com.vn",
            "o'neil@x-y.org",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_shapes_saying_why() {
        let cases = [
            ("", "required"),
            ("an.example.vn", "@"),
            ("@example.vn", "1 to 64"),
            ("an@localhost", "needs a dot"),
            ("an@example.v", "top-level"),
            ("an..b@example.vn", "two in a row"),
            ("an b@example.vn", "character"),
            ("an@-x.vn", "valid domain"),
            ("an@example.123", "top-level"),
        ];
        for (input, says) in cases {
            let err = Email::parse(input).expect_err(input);
            assert!(err.0.contains(says), "{input:?}: {err}");
        }
    }
}
