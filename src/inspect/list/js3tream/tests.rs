use super::*;
use time::macros::datetime;

fn object(key: &str, size: u64, at: OffsetDateTime) -> ObjectInfo {
    ObjectInfo {
        key: key.into(),
        size,
        last_modified: at,
        etag: None,
    }
}

#[test]
fn java_rounds_the_shortest_decimal_half_up() {
    // 1.005 is stored as 1.00499999999999989...: Java prints 1.01, C prints 1.00.
    assert_eq!(java_two_decimals(1005.0 / 1000.0), "1.01");
    assert_eq!(java_two_decimals(2.675), "2.68");
    assert_eq!(java_two_decimals(0.125), "0.13");
    assert_eq!(java_two_decimals(0.005), "0.01");
    assert_eq!(java_two_decimals(0.0049), "0.00");
    assert_eq!(java_two_decimals(0.0006), "0.00");
    assert_eq!(java_two_decimals(0.0), "0.00");
    assert_eq!(java_two_decimals(9.995), "10.00");
    assert_eq!(java_two_decimals(99.994), "99.99");
    assert_eq!(java_two_decimals(157.061), "157.06");
    assert_eq!(java_two_decimals(12345.0), "12345.00");
    // 0.145 is stored as 0.14499999999999999...: the shortest digits round up
    assert_eq!(java_two_decimals(0.145), "0.15");
    // beyond u128: the shortest digits padded with zeros, as Java, not the exact
    // expansion 1000000000000000052504760255204420248704468581108159...
    assert_eq!(java_two_decimals(1e300), format!("1{}.00", "0".repeat(300)));
    assert_eq!(
        java_two_decimals(1.5e40),
        format!("15{}.00", "0".repeat(39))
    );
    // a sum of doubles keeps its own shortest digits: 0.30000000000000004, not 0.3
    assert_eq!(java_two_decimals(0.1 + 0.2), "0.30");
    assert_eq!(java_two_decimals(0.4449999999999999), "0.44");
    assert_eq!(java_two_decimals(0.445), "0.45");
}

#[test]
fn sizes_in_kilo_and_mega_of_1000() {
    assert_eq!(size_text(0.0), "0.00k");
    assert_eq!(size_text(1.024), "1.02k");
    assert_eq!(size_text(10000.0), "10000.00k");
    assert_eq!(size_text(10000.001), "10.00M");
    assert_eq!(size_text(12345.0), "12.35M");
    assert_eq!(size_text(10005.0), "10.01M");
}

#[test]
fn twelve_hour_clock_without_am_pm() {
    assert_eq!(
        stamp(datetime!(2026-01-02 00:05:09 UTC)),
        "2026-01-02 12:05:09"
    );
    assert_eq!(
        stamp(datetime!(2026-01-02 12:00:00 UTC)),
        "2026-01-02 12:00:00"
    );
    assert_eq!(
        stamp(datetime!(2026-01-02 13:59:00 UTC)),
        "2026-01-02 01:59:00"
    );
    assert_eq!(
        stamp(datetime!(2026-01-02 23:00:00 +02:00)),
        "2026-01-02 11:00:00"
    );
}

#[test]
fn groups_by_first_colon_sorted_with_the_bucket_itself() {
    let t = datetime!(2008-04-10 04:07:50 UTC);
    let later = datetime!(2008-04-10 16:07:50 UTC);
    let listing = [
        object("/etc-0-FULL:00000000000000000000", 1000, t),
        object("/etc-0-FULL:00000000000000000001", 5, later),
        object("MySQL/all-0:00000000000000000000", 157_061, t),
        object("a:b:c", 1, t),
        object("loose", 2000, t),
    ];
    let g = groups(&listing);
    let names: Vec<&str> = g.iter().map(|g| g.prefix.as_str()).collect();
    assert_eq!(names, ["", "/etc-0-FULL", "MySQL/all-0", "a"]);
    assert_eq!((g[1].blocks, g[1].last_modified), (2, later));
    let out = listing_text(&g);
    assert_eq!(
        out,
        "2008-04-10 04:07:50 - b - 2.00k in 1 data blocks\n\
         2008-04-10 04:07:50 - b:/etc-0-FULL - 1.01k in 2 data blocks\n\
         \tTAG:nightly\n\
         2008-04-10 04:07:50 - b:MySQL/all-0 - 157.06k in 1 data blocks\n\
         2008-04-10 04:07:50 - b:a - 0.00k in 1 data blocks\n\
         total: 4\n"
    );
}

fn listing_text(g: &[Group]) -> String {
    // The newest object of /etc-0-FULL is from 16:07:50: the 12-hour clock shows 04.
    listing(
        "b",
        g,
        |t| t,
        |g| (g.prefix == "/etc-0-FULL").then(|| "nightly".to_string()),
    )
}

#[test]
fn the_legacy_readme_example_line() {
    let t = datetime!(2008-04-10 04:07:50 UTC);
    let g = groups(&[object("MySQL/all-0:00000000000000000000", 153_380, t)]);
    assert_eq!(
        line("dev.davidsoergel.com.backup1", &g[0], t, None),
        "2008-04-10 04:07:50 - dev.davidsoergel.com.backup1:MySQL/all-0 - \
         153.38k in 1 data blocks\n"
    );
}
