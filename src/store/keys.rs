//! js3tream object key naming: `PREFIX:` + the chunk index as 20 zero-padded digits.
