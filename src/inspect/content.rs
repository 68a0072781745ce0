//! What a slot's stream holds, judged by its first bytes: gzip (stored without
//! encryption) or OpenPGP (encrypted). Restore and `verify --deep` judge alike.

/// What a slot's stream holds, judged by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// gzip (`1f 8b`): stored without encryption.
    Gzip,
    /// An OpenPGP packet (tag bit 0x80 set): encrypted.
    OpenPgp,
    /// Anything else (an empty stream included).
    Unknown,
}

/// Judges a stream by its first bytes.
pub fn detect(head: &[u8]) -> Content {
    match head {
        [0x1f, 0x8b, ..] | [0x1f] => Content::Gzip,
        [b, ..] if b & 0x80 != 0 => Content::OpenPgp,
        _ => Content::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_detection() {
        assert_eq!(detect(&[0x1f, 0x8b, 8]), Content::Gzip);
        assert_eq!(detect(&[0x85, 0x02]), Content::OpenPgp);
        assert_eq!(detect(&[0xc1]), Content::OpenPgp);
        assert_eq!(detect(b"plain"), Content::Unknown);
        assert_eq!(detect(b""), Content::Unknown);
    }
}
