//! Compressed GS1 Digital Link URIs: the form a resolver must decompress (GS1-Conformant
//! Resolver 1.2.0, section 2.3). GS1 Digital Link URI: Compression Technical Standard for
//! EPC binary strings (1.0.0) lets a tag carry `https://{stem}/eh{hex}` or
//! `https://{stem}/ex{URI-safe base 64}`, where the characters after `eh` or `ex` are the
//! EPC binary string of the EPC Tag Data Standard, header first.
//!
//! tracegate resolves GTINs (primary key 01), so it reads the two schemes that carry one:
//! SGTIN-96 (header `0x30`, numeric serial) and SGTIN-198 (header `0x36`, alphanumeric
//! serial). Any other header is named in the error. The legacy compression of GS1 Digital
//! Link 1.1 is optional for a resolver since 1.2.0 and not read here.
//!
//! Pure: the result is an uncompressed path (`/01/{gtin}/21/{serial}`) that the caller
//! reads with [`crate::codes::parse`] like any other Digital Link, so every value check
//! applies to it too.

use super::{check_digit, push_percent_encoded};

/// Why a path segment could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    #[error("not a compressed GS1 Digital Link (expected `eh` or `ex` and an EPC binary string)")]
    NotCompressed,
    #[error("the EPC binary string is not valid: {0}")]
    Invalid(String),
    #[error(
        "EPC header {0:#04x} is not a scheme tracegate resolves; it reads SGTIN-96 (0x30) and SGTIN-198 (0x36), the schemes that carry a GTIN"
    )]
    UnsupportedScheme(u8),
}

/// Whether a single path segment looks like a compressed Digital Link of this standard.
pub fn looks_compressed(segment: &str) -> bool {
    segment.len() > 2 && (segment.starts_with("eh") || segment.starts_with("ex"))
}

/// Decompresses `eh…`/`ex…` into the uncompressed Digital Link path.
pub fn decompress(segment: &str) -> Result<String, DecompressError> {
    let bits = if let Some(hex) = segment.strip_prefix("eh") {
        bits_from_hex(hex)?
    } else if let Some(base64) = segment.strip_prefix("ex") {
        bits_from_base64(base64)?
    } else {
        return Err(DecompressError::NotCompressed);
    };
    let mut reader = Bits::new(&bits);
    let header = u8::try_from(reader.take(8)?)
        .map_err(|_| DecompressError::Invalid("header out of range".into()))?;
    match header {
        0x30 => sgtin(&mut reader, Serial::Numeric),
        0x36 => sgtin(&mut reader, Serial::Alphanumeric),
        other => Err(DecompressError::UnsupportedScheme(other)),
    }
}

fn bits_from_hex(text: &str) -> Result<Vec<bool>, DecompressError> {
    if text.is_empty() {
        return Err(DecompressError::Invalid("no hexadecimal digits".into()));
    }
    let mut bits = Vec::with_capacity(text.len() * 4);
    for c in text.chars() {
        let value = c
            .to_digit(16)
            .ok_or_else(|| DecompressError::Invalid(format!("{c:?} is not a hexadecimal digit")))?;
        bits.extend((0..4).rev().map(|i| value >> i & 1 == 1));
    }
    Ok(bits)
}

fn bits_from_base64(text: &str) -> Result<Vec<bool>, DecompressError> {
    if text.is_empty() {
        return Err(DecompressError::Invalid("no base 64 characters".into()));
    }
    let mut bits = Vec::with_capacity(text.len() * 6);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => {
                return Err(DecompressError::Invalid(format!(
                    "{:?} is not in the URI-safe base 64 alphabet",
                    char::from(c)
                )));
            }
        };
        bits.extend((0..6).rev().map(|i| value >> i & 1 == 1));
    }
    Ok(bits)
}

/// Reads a bit string from the left.
struct Bits<'a> {
    bits: &'a [bool],
    at: usize,
}

impl<'a> Bits<'a> {
    fn new(bits: &'a [bool]) -> Self {
        Self { bits, at: 0 }
    }

    fn take(&mut self, count: usize) -> Result<u64, DecompressError> {
        let end = self.at + count;
        let slice = self.bits.get(self.at..end).ok_or_else(|| {
            DecompressError::Invalid(format!(
                "{} bits are too few for this scheme",
                self.bits.len()
            ))
        })?;
        self.at = end;
        Ok(slice.iter().fold(0, |acc, bit| acc << 1 | u64::from(*bit)))
    }

    /// The bits left over must be padding (zeros) shorter than one character.
    fn finish(&self, unit: usize) -> Result<(), DecompressError> {
        let rest = &self.bits[self.at.min(self.bits.len())..];
        if rest.len() >= unit || rest.iter().any(|b| *b) {
            return Err(DecompressError::Invalid(
                "characters after the end of the EPC".into(),
            ));
        }
        Ok(())
    }
}

enum Serial {
    /// SGTIN-96: a 38-bit integer.
    Numeric,
    /// SGTIN-198: up to 20 characters of 7 bits, zero-padded.
    Alphanumeric,
}

/// SGTIN partition table (Tag Data Standard): company prefix bits and digits, item
/// reference (with its indicator digit) bits and digits.
const PARTITIONS: [(usize, usize, usize, usize); 7] = [
    (40, 12, 4, 1),
    (37, 11, 7, 2),
    (34, 10, 10, 3),
    (30, 9, 14, 4),
    (27, 8, 17, 5),
    (24, 7, 20, 6),
    (20, 6, 24, 7),
];

fn sgtin(reader: &mut Bits<'_>, serial: Serial) -> Result<String, DecompressError> {
    let _filter = reader.take(3)?;
    let partition = reader.take(3)?;
    let (prefix_bits, prefix_digits, item_bits, item_digits) = usize::try_from(partition)
        .ok()
        .and_then(|p| PARTITIONS.get(p).copied())
        .ok_or_else(|| DecompressError::Invalid(format!("partition {partition} is reserved")))?;
    let prefix = reader.take(prefix_bits)?;
    let item = reader.take(item_bits)?;
    let prefix = digits(prefix, prefix_digits, "company prefix")?;
    let item = digits(item, item_digits, "item reference")?;
    // GTIN-14: the indicator digit (first of the item reference), the company prefix, the
    // rest of the item reference, the check digit.
    let mut body = String::with_capacity(13);
    body.push_str(&item[..1]);
    body.push_str(&prefix);
    body.push_str(&item[1..]);
    let gtin = format!("{body}{}", check_digit(body.as_bytes()));
    let serial = match serial {
        Serial::Numeric => {
            let value = reader.take(38)?;
            reader.finish(6)?;
            value.to_string()
        }
        Serial::Alphanumeric => {
            let mut text = String::new();
            let mut ended = false;
            for _ in 0..20 {
                let code = reader.take(7)?;
                if code == 0 {
                    ended = true;
                } else if ended {
                    return Err(DecompressError::Invalid(
                        "serial characters after its end".into(),
                    ));
                } else {
                    text.push(char::from(u8::try_from(code).unwrap_or(0)));
                }
            }
            reader.finish(6)?;
            if text.is_empty() {
                return Err(DecompressError::Invalid("the serial is empty".into()));
            }
            text
        }
    };
    let mut path = format!("/01/{gtin}/21/");
    push_percent_encoded(&mut path, &serial);
    Ok(path)
}

fn digits(value: u64, count: usize, what: &str) -> Result<String, DecompressError> {
    let text = format!("{value:0count$}");
    if text.len() > count {
        return Err(DecompressError::Invalid(format!(
            "the {what} {value} has more than {count} digits"
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compression standard's worked example (SGTIN-96), in both alphabets.
    #[test]
    fn worked_example_in_hexadecimal_and_base_64() {
        assert_eq!(
            decompress("eh30164596f40c0e5cbe991a83").as_deref(),
            Ok("/01/09528765123457/21/123456789123")
        );
        assert_eq!(
            decompress("exMBZFlvQMDly-mRqD").as_deref(),
            Ok("/01/09528765123457/21/123456789123")
        );
        assert_eq!(
            decompress("eh30164596F40C0E5CBE991A83").as_deref(),
            Ok("/01/09528765123457/21/123456789123"),
            "hexadecimal in either case"
        );
    }

    #[test]
    fn sgtin_198_serials_are_read_as_characters() {
        // Header 0x36, filter 1, partition 5, prefix 9528765, item reference 012345,
        // serial "A/B-1" as 7-bit characters padded with zeros to 140 bits.
        let mut bits: Vec<bool> = Vec::new();
        let mut push = |value: u64, width: usize| {
            bits.extend((0..width).rev().map(|i| value >> i & 1 == 1));
        };
        push(0x36, 8);
        push(1, 3);
        push(5, 3);
        push(9_528_765, 24);
        push(12_345, 20);
        for c in "A/B-1".bytes() {
            push(u64::from(c), 7);
        }
        for _ in 0..15 {
            push(0, 7);
        }
        while !bits.len().is_multiple_of(4) {
            bits.push(false);
        }
        let hex: String = bits
            .chunks(4)
            .map(|n| {
                let v = n.iter().fold(0u32, |a, b| a << 1 | u32::from(*b));
                char::from_digit(v, 16).unwrap_or('0')
            })
            .collect();
        assert_eq!(
            decompress(&format!("eh{hex}")).as_deref(),
            Ok("/01/09528765123457/21/A%2FB-1")
        );
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        assert_eq!(decompress("01"), Err(DecompressError::NotCompressed));
        assert!(matches!(
            decompress("eh3016zz"),
            Err(DecompressError::Invalid(_))
        ));
        assert!(matches!(
            decompress("eh30"),
            Err(DecompressError::Invalid(_))
        ));
        assert_eq!(
            decompress("eh31ac16465751ccd0c2000000"),
            Err(DecompressError::UnsupportedScheme(0x31)),
            "SSCC-96 carries no GTIN"
        );
        assert!(
            matches!(
                decompress("eh30164596f40c0e5cbe991a83ff"),
                Err(DecompressError::Invalid(_))
            ),
            "trailing characters"
        );
        assert!(matches!(
            decompress("ex!!"),
            Err(DecompressError::Invalid(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn decompress_never_panics(input in "e[hx][0-9A-Za-z_-]{0,60}") {
            let _ = decompress(&input);
        }
    }
}
