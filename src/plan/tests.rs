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

mod chain_guard {
    //! The chain rule: a DIFF day whose DIFF slot holds a DIFF of the current restore
    //! chain backs up a FULL into that slot number instead.

    use std::fs;

    use time::macros::date;

    use super::super::*;
    use crate::config::parse_str;
    use crate::plan::report::job_lines;
    use crate::store::keys::KeyStyle;

    /// Day 14 of the story: `Diffs 1`, `Fulls 1`, slot `yday % 2`, so slot 1 is a DIFF.
    const DAY_14: Day = Day {
        yday: 317,
        epoch_days: 20_771,
    };

    struct Setup {
        _root: tempfile::TempDir,
        settings: Settings,
    }

    fn setup() -> Setup {
        let root = tempfile::tempdir().unwrap();
        let diffs = root.path().join("diffs");
        fs::create_dir(&diffs).unwrap();
        let text = format!(
            "DiffDir {}\nBucket b.example.com\nChunkSize 1000\n\
             <Directory /etc>\n\tDiffs 1\n\tFulls 1\n</Directory>\n\
             <Subversion /svn/a>\n\tDiffs 1\n\tFulls 1\n</Subversion>\n",
            diffs.display()
        );
        let doc = parse_str(&root.path().join("t.conf"), &text).expect("parses");
        let settings = Settings::from_document(&doc).expect("valid");
        Setup {
            _root: root,
            settings,
        }
    }

    fn link() -> ChainLink {
        ChainLink {
            diff: date!(2026 - 11 - 12),
            full: date!(2026 - 11 - 11),
        }
    }

    fn facts(chain: &[&str]) -> Facts {
        let mut svn = HashMap::new();
        svn.insert(
            "/svn/a".to_string(),
            SvnFacts {
                youngest: Ok(14),
                last_saved: Ok(Some(12)),
            },
        );
        Facts {
            day: Some(DAY_14),
            svn,
            chain_diffs: chain.iter().map(|p| (p.to_string(), link())).collect(),
            ..Facts::default()
        }
    }

    fn runs(plan: &Plan) -> Vec<&Run> {
        plan.jobs
            .iter()
            .map(|j| match &j.decision {
                Decision::Run(r) => r,
                other => panic!("{}: {other:?}", j.name),
            })
            .collect()
    }

    #[test]
    fn a_diff_the_chain_needs_turns_the_run_into_a_full() {
        let s = setup();
        let plan = plan(&s.settings, &facts(&["/etc-1-DIFF", "/svn/a-1-DIFF"]));
        let runs = runs(&plan);
        assert_eq!(runs[0].prefix, "/etc-1-FULL");
        assert!(matches!(
            runs[0].state,
            Some(StateFile::TarSnapshot { fresh: true, .. })
        ));
        assert_eq!(
            runs[0].promoted,
            Some(Promotion {
                diff_prefix: "/etc-1-DIFF".into(),
                link: link()
            })
        );
        assert_eq!(runs[1].prefix, "/svn/a-1-FULL");
        assert!(matches!(
            runs[1].source,
            Source::SvnDump {
                from: 0,
                to: Some(14),
                ..
            }
        ));
        let lines = job_lines(&plan, &plan.jobs[0]);
        assert_eq!(lines[0].text, "directory => /etc");
        let lines = &lines[1..];
        assert_eq!(lines[0].level, log::Level::Warn);
        assert_eq!(
            lines[0].text,
            "/etc: a DIFF into /etc-1-DIFF would replace the DIFF of 2026-11-12 that the \
             restore chain since the FULL of 2026-11-11 needs; backing up a FULL \
             (/etc-1-FULL) instead"
        );
        assert_eq!(lines[1].text, "Directory /etc -> b.example.com:/etc-1-FULL");
    }

    #[test]
    fn a_diff_outside_the_chain_is_rewritten_as_usual() {
        let s = setup();
        let plan = plan(&s.settings, &facts(&["/etc-3-DIFF", "/other-1-DIFF"]));
        let runs = runs(&plan);
        assert_eq!(runs[0].prefix, "/etc-1-DIFF");
        assert!(matches!(
            runs[0].state,
            Some(StateFile::TarSnapshot { fresh: false, .. })
        ));
        assert_eq!(runs[0].promoted, None);
        assert_eq!(runs[1].prefix, "/svn/a-1-DIFF");
        assert!(matches!(
            runs[1].source,
            Source::SvnDump {
                from: 13,
                to: Some(14),
                ..
            }
        ));
        assert_eq!(
            job_lines(&plan, &plan.jobs[0]).len(),
            2,
            "block line, announce"
        );
    }

    #[test]
    fn the_rule_follows_the_servers_spelling_and_leaves_fulls_alone() {
        let stripped = Facts {
            key_style: KeyStyle::StripLeadingSlashes,
            ..facts(&["etc-1-DIFF"])
        };
        let diff = Slot {
            number: 1,
            slot_type: Some(SlotType::Diff),
        };
        let (full, why) = chain_guard(&stripped, "/etc", diff).unwrap();
        assert_eq!(full.slot_type, Some(SlotType::Full));
        assert_eq!((full.number, why.diff_prefix.as_str()), (1, "/etc-1-DIFF"));
        assert_eq!(chain_guard(&facts(&["etc-1-DIFF"]), "/etc", diff), None);
        let full_day = Slot {
            number: 0,
            slot_type: Some(SlotType::Full),
        };
        assert_eq!(
            chain_guard(&facts(&["/etc-0-DIFF"]), "/etc", full_day),
            None
        );
        assert_eq!(
            chain_guard(&facts(&["/etc-0-FULL"]), "/etc", full_day),
            None
        );
    }

    #[test]
    fn todays_diff_stays_already_done_unless_forced() {
        let done = Facts {
            done_today: ["/etc-1-DIFF".to_string()].into(),
            ..facts(&["/etc-1-DIFF"])
        };
        let diff = Slot {
            number: 1,
            slot_type: Some(SlotType::Diff),
        };
        assert_eq!(chain_guard(&done, "/etc", diff), None);
        let forced = Facts {
            force: true,
            ..done
        };
        let (full, _) = chain_guard(&forced, "/etc", diff).unwrap();
        assert_eq!(slot_prefix("/etc", full), "/etc-1-FULL");
    }
}
