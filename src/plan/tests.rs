use std::path::Path;

use super::*;

fn facts(saved: Option<u64>, head: u64) -> SvnFacts {
    SvnFacts {
        youngest: Ok(head),
        last_saved: Ok(saved),
    }
}

const DIFF_DAY: Slot = Slot {
    number: 8,
    slot_type: Some(SlotType::Diff),
};
const FULL_DAY: Slot = Slot {
    number: 7,
    slot_type: Some(SlotType::Full),
};

#[test]
fn the_first_backup_is_full_whatever_the_cycle_says() {
    let step = subversion_step(&facts(None, 3), DIFF_DAY, "/r", Path::new("/d/_r.diff")).unwrap();
    let slot = Slot {
        number: 8,
        slot_type: Some(SlotType::Full),
    };
    assert_eq!(
        step,
        SvnStep::Dump {
            slot,
            from: 0,
            head: 3
        }
    );
    assert_eq!(slot_prefix("/r", slot), "/r-8-FULL");
}

#[test]
fn diffs_start_after_the_saved_revision_and_fulls_at_zero() {
    assert_eq!(
        subversion_step(&facts(Some(3), 5), DIFF_DAY, "/r", Path::new("/d/_r.diff")).unwrap(),
        SvnStep::Dump {
            slot: DIFF_DAY,
            from: 4,
            head: 5
        }
    );
    assert_eq!(
        subversion_step(&facts(Some(5), 5), FULL_DAY, "/r", Path::new("/d/_r.diff")).unwrap(),
        SvnStep::Dump {
            slot: FULL_DAY,
            from: 0,
            head: 5
        }
    );
    assert_eq!(
        subversion_step(&facts(Some(5), 5), DIFF_DAY, "/r", Path::new("/d/_r.diff")).unwrap(),
        SvnStep::NoNewRevisions
    );
}

#[test]
fn a_saved_revision_beyond_the_youngest_is_an_error() {
    let err =
        subversion_step(&facts(Some(9), 5), DIFF_DAY, "/r", Path::new("/d/_r.diff")).unwrap_err();
    assert_eq!(
        err,
        "the revision 9 saved in /d/_r.diff is newer than the youngest revision 5 of /r \
         (a replaced repository?); delete that file to start with a FULL"
    );
    let broken = SvnFacts {
        youngest: Err("svnlook youngest /r failed".into()),
        last_saved: Ok(None),
    };
    assert_eq!(
        subversion_step(&broken, DIFF_DAY, "/r", Path::new("/d/_r.diff")).unwrap_err(),
        "svnlook youngest /r failed"
    );
}

#[test]
fn revisions_compare_with_the_saved_one() {
    assert_eq!(compare_revisions(12, 12), Revisions::UpToDate);
    assert_eq!(
        compare_revisions(12, 15),
        Revisions::Pending {
            first: 13,
            last: 15
        }
    );
    assert_eq!(compare_revisions(0, 0), Revisions::UpToDate);
    assert_eq!(compare_revisions(9, 5), Revisions::Replaced);
}

#[test]
fn subversion_dir_members_are_dir_slash_entry() {
    assert_eq!(subversion_dir_member("/svn", "a"), "/svn/a");
    assert_eq!(subversion_dir_member("/svn/", "a"), "/svn/a");
}
