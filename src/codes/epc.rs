//! EPC pure-identity URNs for serialised trade items (SGTIN, GS1 EPC Tag Data Standard):
//! `urn:epc:id:sgtin:{company prefix}.{indicator}{item reference}.{serial}` ⇄ GTIN + serial.

use super::CodeError;
use super::gs1::{Gtin, check_digit};

const PREFIX: &str = "urn:epc:id:sgtin:";

pub fn looks_like(input: &str) -> bool {
    input
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:epc:"))
}

fn invalid(message: impl Into<String>) -> CodeError {
    CodeError::Invalid {
        part: "EPC URN".into(),
        message: message.into(),
    }
}

/// The GTIN and serial an SGTIN URN names.
pub fn parse(input: &str) -> Result<(Gtin, String), CodeError> {
    let body = input
        .get(..PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(PREFIX))
        .map(|_| &input[PREFIX.len()..])
        .ok_or_else(|| {
            invalid("only SGTIN pure-identity URNs (urn:epc:id:sgtin:…) name a trade item")
        })?;
    let mut parts = body.splitn(3, '.');
    let (Some(company), Some(item), Some(serial)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(
            "expected urn:epc:id:sgtin:{company prefix}.{indicator and item reference}.{serial}",
        ));
    };
    if !(6..=12).contains(&company.len()) || !company.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("the company prefix is 6 to 12 digits"));
    }
    if item.is_empty()
        || !item.bytes().all(|b| b.is_ascii_digit())
        || company.len() + item.len() != 13
    {
        return Err(invalid(
            "company prefix and item reference (with its indicator digit) are 13 digits together",
        ));
    }
    let body13 = format!("{}{company}{}", &item[..1], &item[1..]);
    let digit = check_digit(body13.as_bytes());
    let gtin =
        Gtin::parse(&format!("{body13}{digit}")).map_err(|e| invalid(format!("GTIN {e}")))?;
    let serial = super::digital_link::percent_decode(serial).map_err(invalid)?;
    if serial.is_empty() || serial.chars().count() > 20 {
        return Err(invalid("the serial number is 1 to 20 characters"));
    }
    Ok((gtin, serial))
}

/// The SGTIN URN of a GTIN and serial, given the length of the GS1 company prefix.
pub fn to_urn(gtin: &Gtin, serial: &str, company_prefix_len: usize) -> Option<String> {
    if !(6..=12).contains(&company_prefix_len) {
        return None;
    }
    let digits = gtin.as_str();
    let indicator = &digits[..1];
    let company = &digits[1..1 + company_prefix_len];
    let item = &digits[1 + company_prefix_len..13];
    let serial: String = serial
        .bytes()
        .map(|b| match b {
            b'"' | b'%' | b'&' | b'/' | b'<' | b'>' | b'?' => format!("%{b:02X}"),
            _ => (b as char).to_string(),
        })
        .collect();
    Some(format!("{PREFIX}{company}.{indicator}{item}.{serial}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_data_standard_example() {
        // EPC Tag Data Standard: urn:epc:id:sgtin:0614141.812345.6789 is GTIN
        // 80614141123458 with serial 6789.
        let (gtin, serial) = parse("urn:epc:id:sgtin:0614141.812345.6789").expect("valid");
        assert_eq!(gtin.as_str(), "80614141123458");
        assert_eq!(serial, "6789");
        assert_eq!(
            to_urn(&gtin, "6789", 7).as_deref(),
            Some("urn:epc:id:sgtin:0614141.812345.6789")
        );
    }

    #[test]
    fn escaped_serials_round_trip() {
        let (gtin, serial) = parse("urn:epc:id:sgtin:0614141.812345.A%2FB").expect("valid");
        assert_eq!(serial, "A/B");
        assert_eq!(
            to_urn(&gtin, &serial, 7).as_deref(),
            Some("urn:epc:id:sgtin:0614141.812345.A%2FB")
        );
    }

    #[test]
    fn malformed_urns_say_why() {
        assert!(
            parse("urn:epc:id:sscc:0614141.1234567890")
                .unwrap_err()
                .to_string()
                .contains("SGTIN")
        );
        assert!(
            parse("urn:epc:id:sgtin:0614141.12345.400")
                .unwrap_err()
                .to_string()
                .contains("13 digits")
        );
        assert!(parse("urn:epc:id:sgtin:0614141.112345").is_err());
        assert!(
            parse("urn:epc:id:sgtin:0614141.112345.")
                .unwrap_err()
                .to_string()
                .contains("serial")
        );
    }
}
