use super::*;
use std::os::unix::fs::symlink;

fn parts(name: &str) -> Result<Vec<String>, String> {
    components(name.as_bytes()).map(|p| {
        p.iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    })
}

#[test]
fn names_are_split_like_tar_does() {
    assert_eq!(parts("srv/a/b").unwrap(), ["srv", "a", "b"]);
    assert_eq!(parts("./srv//a/").unwrap(), ["srv", "a"]);
    assert!(parts("./").unwrap().is_empty());
    assert!(parts("/etc/passwd").unwrap_err().contains("absolute"));
    assert!(parts("srv/../../etc").unwrap_err().contains(".."));
    assert!(parts("srv/x/.").unwrap_err().contains("`.`"));
}

#[test]
fn the_filter_matches_a_path_and_what_lies_below() {
    let f = PathFilter::new(&["home/foo".into(), "/etc/x".into()]).unwrap();
    fn c(n: &str) -> Vec<&[u8]> {
        components(n.as_bytes()).unwrap()
    }
    assert!(f.admits(&c("home/foo")));
    assert!(f.admits(&c("home/foo/bar")));
    assert!(!f.admits(&c("home/foobar")));
    assert!(!f.admits(&c("home")));
    assert_eq!(f.unmatched(), ["/etc/x"]);
    assert!(PathFilter::new(&["a/../b".into()]).is_err());
}

#[test]
fn symlinks_outside_are_not_gone_through() {
    let outside = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("t/real")).unwrap();
    symlink(outside.path(), root.path().join("t/out")).unwrap();
    symlink("real", root.path().join("t/in")).unwrap();
    symlink("nowhere", root.path().join("t/dangling")).unwrap();
    std::fs::write(root.path().join("t/file"), "").unwrap();
    let mut tree = Tree::new(root.path()).unwrap();
    fn c(n: &str) -> Vec<&[u8]> {
        components(n.as_bytes()).unwrap()
    }
    assert!(tree.check_parents(&c("t/real/a")).is_ok());
    let err = tree.check_parents(&c("t/in/a")).unwrap_err();
    assert!(err.contains("t/in, a symlink to real, already in"), "{err}");
    assert!(tree.check_parents(&c("t/new/deeper/a")).is_ok());
    assert!(tree.check_parents(&c("t/out")).is_ok());
    let err = tree.check_parents(&c("t/out/evil")).unwrap_err();
    assert!(
        err.contains("t/out, a symlink to") && err.contains("outside"),
        "{err}"
    );
    assert!(
        tree.check_parents(&c("t/dangling/a"))
            .unwrap_err()
            .contains("does not exist")
    );
    assert!(
        tree.check_parents(&c("t/file/a"))
            .unwrap_err()
            .contains("not a directory")
    );
    // into / every symlink leads inside
    let mut slash = Tree::new(Path::new("/")).unwrap();
    assert!(slash.check_parents(&c("bin/sh")).is_ok());
    // this stream replaces the symlink by a directory: below it is new
    tree.record(&c("t/out"), b'5', true);
    assert!(tree.check_parents(&c("t/out/x/evil")).is_ok());
    // this stream makes a link: nothing goes through it, whatever the disk says
    tree.record(&c("t/real"), b'2', false);
    assert!(
        tree.check_parents(&c("t/real/a"))
            .unwrap_err()
            .contains("earlier member")
    );
}

fn c(n: &str) -> Vec<&[u8]> {
    components(n.as_bytes()).unwrap()
}

/// A restore directory holding `dirs` (with their parents) and, for each `(link, target)`,
/// a symlink; `out` is a directory outside it.
fn site(dirs: &[&str], links: &[(&str, &Path)]) -> (tempfile::TempDir, Tree) {
    let root = tempfile::tempdir().unwrap();
    for d in dirs {
        std::fs::create_dir_all(root.path().join(d)).unwrap();
    }
    for (link, target) in links {
        symlink(target, root.path().join(link)).unwrap();
    }
    let tree = Tree::new(root.path()).unwrap();
    (root, tree)
}

/// A dumpdir rename as `judge` carries it out: both names' parents checked, then noted.
fn rename(tree: &mut Tree, from: &str, to: &str) -> Result<(), String> {
    tree.check_parents(&c(from))?;
    tree.check_parents(&c(to))?;
    tree.rename(&c(from), &c(to));
    Ok(())
}

#[test]
fn a_directory_moved_into_a_moved_directory_is_gone_through() {
    // mv a m; mv c m/c2 (GNU tar: Ra Tm Rc Tm/c2)
    let (_root, mut tree) = site(&["s/a/b", "s/c"], &[]);
    rename(&mut tree, "s/a", "s/m").unwrap();
    rename(&mut tree, "s/c", "s/m/c2").unwrap();
    tree.record(&c("s/m"), b'5', true);
    tree.check_parents(&c("s/m/b/f")).unwrap();
    tree.check_parents(&c("s/m/c2/g")).unwrap();
    // mv a m; mv m/b m/b2
    let (_root, mut tree) = site(&["s/a/b/c"], &[]);
    rename(&mut tree, "s/a", "s/m").unwrap();
    rename(&mut tree, "s/m/b", "s/m/b2").unwrap();
    tree.check_parents(&c("s/m/b2/c/f")).unwrap();
}

#[test]
fn a_chain_of_moves_is_gone_through() {
    // mv a b; mv b/x c (GNU tar: Ra Tb Rb/x Tc)
    let (_root, mut tree) = site(&["s/a/x/y"], &[]);
    rename(&mut tree, "s/a", "s/b").unwrap();
    rename(&mut tree, "s/b/x", "s/c").unwrap();
    tree.check_parents(&c("s/c/y/f")).unwrap();
    tree.check_parents(&c("s/b/new/f")).unwrap();
}

#[test]
fn a_move_into_a_new_directory_is_gone_through() {
    // mkdir n; mv a n/a2: tar renames before it makes n (and creates n for the rename)
    let (_root, mut tree) = site(&["s/a"], &[]);
    rename(&mut tree, "s/a", "s/n/deeper/a2").unwrap();
    tree.record(&c("s/n"), b'5', true);
    tree.record(&c("s/n/deeper"), b'5', true);
    tree.check_parents(&c("s/n/deeper/a2/f")).unwrap();
    // a directory this stream made first, then a move into it
    let (_root, mut tree) = site(&["s/a"], &[]);
    tree.record(&c("s/n"), b'5', true);
    rename(&mut tree, "s/a", "s/n/a2").unwrap();
    tree.check_parents(&c("s/n/a2/f")).unwrap();
}

#[test]
fn a_move_out_of_a_deleted_directory_is_gone_through() {
    // mv d/e/f top; rm -rf d (GNU tar: Rd/e/f Ttop, then deletes d)
    let (_root, mut tree) = site(&["s/d/e/f/g"], &[]);
    rename(&mut tree, "s/d/e/f", "s/top").unwrap();
    tree.check_parents(&c("s/top/g/h")).unwrap();
    // a later member makes d again: a new directory
    tree.record(&c("s/d"), b'5', true);
    tree.check_parents(&c("s/d/e/f/x")).unwrap();
}

#[test]
fn a_rename_through_a_symlink_on_disk_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let (_root, mut tree) = site(&["s"], &[("s/l", outside.path())]);
    let err = rename(&mut tree, "s/l/secret", "s/loot").unwrap_err();
    assert!(err.contains("goes through s/l, a symlink to"), "{err}");
    // also once an earlier rename moved the directory above it
    let (_root, mut tree) = site(&["s/a"], &[("s/a/l", outside.path())]);
    rename(&mut tree, "s/a", "s/b").unwrap();
    let err = rename(&mut tree, "s/b/l/secret", "s/loot").unwrap_err();
    assert!(
        err.contains("goes through s/a/l, a symlink to") && err.contains("renamed s/a to s/b"),
        "{err}"
    );
}

#[test]
fn a_renamed_symlink_is_not_gone_through_at_its_new_name() {
    let outside = tempfile::tempdir().unwrap();
    let (_root, mut tree) = site(&["s"], &[("s/x", outside.path())]);
    // the symlink itself moves (tar's rename does not follow it)
    rename(&mut tree, "s/x", "s/y").unwrap();
    let err = tree.check_parents(&c("s/y/evil")).unwrap_err();
    assert!(
        err.contains("goes through s/x, a symlink to") && err.contains("renamed s/x to s/y"),
        "{err}"
    );
    // a directory member made over it replaces it: new and empty below
    tree.record(&c("s/y"), b'5', true);
    tree.check_parents(&c("s/y/fine")).unwrap();
    // and a second rename moving it on
    let (_root, mut tree) = site(&["s"], &[("s/x", outside.path())]);
    rename(&mut tree, "s/x", "s/y").unwrap();
    tree.record(&c("s/z"), b'5', true);
    assert!(rename(&mut tree, "s/y", "s/z/w").is_ok());
    assert!(tree.check_parents(&c("s/z/w/evil")).is_err());
}

#[test]
fn a_rename_into_where_a_symlink_was_moved_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let (_root, mut tree) = site(&["s/mine"], &[("s/x", outside.path())]);
    rename(&mut tree, "s/x", "s/y").unwrap();
    let err = rename(&mut tree, "s/mine", "s/y/planted").unwrap_err();
    assert!(err.contains("goes through s/x, a symlink"), "{err}");
}

#[test]
fn a_directory_member_over_a_moved_directory_keeps_what_it_holds() {
    let outside = tempfile::tempdir().unwrap();
    let (_root, mut tree) = site(&["s/real"], &[("s/real/old", outside.path())]);
    rename(&mut tree, "s/real", "s/moved").unwrap();
    tree.record(&c("s/moved"), b'D', true);
    tree.check_parents(&c("s/moved/new")).unwrap();
    let err = tree.check_parents(&c("s/moved/old/evil")).unwrap_err();
    assert!(err.contains("s/real/old, a symlink"), "{err}");
}

#[test]
fn a_rename_that_may_have_failed_leaves_what_was_there() {
    // tar's rename fails when `to` is a non-empty directory: both outcomes count
    let outside = tempfile::tempdir().unwrap();
    let (_root, mut tree) = site(&["s/a", "s/b"], &[("s/b/l", outside.path())]);
    rename(&mut tree, "s/a", "s/b").unwrap();
    assert!(tree.check_parents(&c("s/b/l/evil")).is_err());
    // the moved-away name is empty or as before
    let (_root, mut tree) = site(&["s/a"], &[("s/a/l", outside.path())]);
    rename(&mut tree, "s/a", "s/b").unwrap();
    assert!(tree.check_parents(&c("s/a/l/evil")).is_err());
    tree.check_parents(&c("s/a/new/f")).unwrap();
}

#[test]
fn renames_back_and_forth_stay_bounded() {
    let (_root, mut tree) = site(&["s/a", "s/b"], &[]);
    for _ in 0..2_000 {
        tree.rename(&c("s/a"), &c("s/b"));
        tree.rename(&c("s/b"), &c("s/a"));
    }
    let err = tree.check_parents(&c("s/a/x")).unwrap_err();
    assert!(
        err.contains("more outcomes than the guard follows"),
        "{err}"
    );
}
