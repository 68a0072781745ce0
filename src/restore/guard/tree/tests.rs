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
