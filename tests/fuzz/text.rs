//! Strategies for hostile text: numbers at the edges, names with shell metacharacters,
//! quotes, continuation backslashes and non-ASCII characters.

use proptest::prelude::*;

/// Numbers at and around every edge the tool has: i64 limits, 0, -1, the documented limits.
pub fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(i64::MAX.to_string()),
        Just(i64::MIN.to_string()),
        Just("99999999999999999999999".to_string()),
        Just("-0".to_string()),
        Just("+7".to_string()),
        Just("1e3".to_string()),
        (-3i64..40).prop_map(|n| n.to_string()),
        (36_490i64..36_510).prop_map(|n| n.to_string()),
        (99_990i64..100_010).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u32>().prop_map(|n| n.to_string()),
    ]
}

/// A value or name: plain, with shell metacharacters, quoted, or arbitrary.
pub fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/srv/a_b".to_string()),
        Just("/srv/a/b".to_string()),
        Just("all".to_string()),
        Just("a:b".to_string()),
        Just("u@db".to_string()),
        Just("yes".to_string()),
        Just("\"quoted value\"".to_string()),
        Just("'unterminated".to_string()),
        Just("x\\".to_string()),
        Just("$(touch /tmp/pwned)".to_string()),
        Just("`id`;rm -rf /".to_string()),
        chars(ALPHABET, 12),
        any_text(12),
        number(),
    ]
}

/// Characters that matter to the parsers: quotes, escapes, separators, brackets, `%`.
const ALPHABET: &[char] = &[
    'a', 'b', 'Z', '0', '7', '/', '_', ':', '@', '.', '-', ' ', '\t', '"', '\'', '\\', '#', '<',
    '>', '{', '}', '%', '=', '$', '`', ';', '*', '?', '[', 'é', '☃',
];

/// Up to `max` characters drawn from `alphabet` (cheaper than a regex strategy).
pub fn chars(alphabet: &'static [char], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet), 0..=max).prop_map(String::from_iter)
}

/// Up to `max` arbitrary characters, or ones that matter to the parsers.
pub fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..=max).prop_map(String::from_iter),
        chars(ALPHABET, max),
    ]
}
