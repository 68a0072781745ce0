//! Cuts a byte stream into js3tream chunks and uploads them (LEGACY.md §8).
