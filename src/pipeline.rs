//! Runs a chain of external programs (argument vectors, never a shell string) through duct,
//! exposing the last stage's output as a reader and every stage's exit status at the end.
