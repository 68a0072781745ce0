//! PURE: whether a Subversion repository whose newest backup is old is still fully backed
//! up. A backup run that finds no revision after the one saved in DiffDir uploads nothing
//! (LEGACY.md §7), so a repository nobody commits to keeps an old newest backup. `status`
//! asks the repository (the same facts a backup run gathers) and judges here.

use std::path::Path;

use crate::plan::{Revisions, SvnFacts, compare_revisions};

/// What `status` concludes about a Subversion item past its maximum age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Nothing to back up: the old backup is current.
    pub current: bool,
    /// One short clause for the status line: why.
    pub reason: String,
}

/// Judges a repository from its facts; `state_file` is its DiffDir revision file (named
/// when it is missing).
pub fn judge(facts: &SvnFacts, state_file: &Path) -> Verdict {
    let stale = |reason: String| Verdict {
        current: false,
        reason,
    };
    let youngest = match &facts.youngest {
        Ok(y) => *y,
        Err(why) => return stale(format!("cannot read the repository: {}", first_line(why))),
    };
    let saved = match &facts.last_saved {
        Ok(Some(saved)) => *saved,
        Ok(None) => return stale(format!("no revision saved in {}", state_file.display())),
        Err(why) => {
            return stale(format!(
                "cannot read the saved revision: {}",
                first_line(why)
            ));
        }
    };
    match compare_revisions(saved, youngest) {
        Revisions::UpToDate => Verdict {
            current: true,
            reason: format!("no new revisions since r{saved}"),
        },
        Revisions::Pending { first, last } if first == last => {
            stale(format!("r{first} not backed up"))
        }
        Revisions::Pending { first, last } => stale(format!("r{first} to r{last} not backed up")),
        Revisions::Replaced => stale(format!(
            "r{saved} saved in {} is newer than the youngest r{youngest} (a replaced repository?)",
            state_file.display()
        )),
    }
}

/// The first line of a message (svnlook's stderr can hold several).
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(youngest: Result<u64, &str>, saved: Result<Option<u64>, &str>) -> Verdict {
        let facts = SvnFacts {
            youngest: youngest.map_err(String::from),
            last_saved: saved.map_err(String::from),
        };
        judge(&facts, Path::new("/d/_srv_svn_x.diff"))
    }

    fn stale(reason: &str) -> Verdict {
        Verdict {
            current: false,
            reason: reason.into(),
        }
    }

    #[test]
    fn a_repository_without_new_revisions_is_current() {
        assert_eq!(
            judged(Ok(12), Ok(Some(12))),
            Verdict {
                current: true,
                reason: "no new revisions since r12".into()
            }
        );
    }

    #[test]
    fn newer_revisions_are_named() {
        assert_eq!(
            judged(Ok(15), Ok(Some(12))),
            stale("r13 to r15 not backed up")
        );
        assert_eq!(judged(Ok(13), Ok(Some(12))), stale("r13 not backed up"));
        assert_eq!(
            judged(Ok(3), Ok(Some(9))),
            stale(
                "r9 saved in /d/_srv_svn_x.diff is newer than the youngest r3 \
                 (a replaced repository?)"
            )
        );
    }

    #[test]
    fn unreadable_repository_or_state_stays_stale() {
        assert_eq!(
            judged(
                Err("svnlook youngest /x failed: svnlook: E000002: gone\nsvnlook: more"),
                Ok(Some(3))
            ),
            stale("cannot read the repository: svnlook youngest /x failed: svnlook: E000002: gone")
        );
        assert_eq!(
            judged(Ok(3), Ok(None)),
            stale("no revision saved in /d/_srv_svn_x.diff")
        );
        assert_eq!(
            judged(Ok(3), Err("/d/x.diff: not a revision number: \"abc\"")),
            stale("cannot read the saved revision: /d/x.diff: not a revision number: \"abc\"")
        );
        // The repository first: a missing repository matters more than a missing file.
        assert_eq!(
            judged(Err("Subversion repository /x does not exist"), Ok(None)),
            stale("cannot read the repository: Subversion repository /x does not exist")
        );
    }
}
