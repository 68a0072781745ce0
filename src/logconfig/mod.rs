//! The log4perl configuration (`s3napback.logconfig`, LEGACY.md §11): parsed with nom and
//! turned into a log4rs configuration with a log4perl-compatible pattern layout.
