//! js3tream object key naming: `PREFIX:` + the chunk index as 20 zero-padded digits.

/// Splits `PREFIX:NNNNNNNNNNNNNNNNNNNN` into the prefix and the chunk index.
pub fn parse_chunk_key(key: &str) -> Option<(&str, u64)> {
    let (prefix, index) = key.rsplit_once(':')?;
    if index.len() != 20 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((prefix, index.parse().ok()?))
}
