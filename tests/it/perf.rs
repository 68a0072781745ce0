//! Issue 11: the fast settings (`Compressor pigz`, `GpgCompression no`) still restore with
//! the legacy manual procedure; test mode prints them as they run; the parallel chunk
//! prefetch of restore delivers exact bytes in key order and names a missing chunk.

use std::fs;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use s3napback::restore::stream::{ChunkReader, PREFETCH};
use s3napback::store::keys::{Slot, chunk_key, group_slots};
use s3napback::store::s3::S3Store;
use s3napback::store::{ReadStore, Store};

use crate::backup::harness::{
    Site, extract, fetch, gunzip, make_tree, pipe_through, restored, tree,
};
use crate::support::s3::moto;
use crate::support::svn::SvnRepo;

const CHUNK: u64 = 1000;

/// The fast settings on a daily cycle of `src`.
fn fast_cycle(src: &str) -> String {
    format!(
        "<Cycle daily>\n\tCompressor pigz\n\tGpgCompression no\n\tDiffs 6\n\tFulls 2\n\
         \tDirectory {src}\n</Cycle>\n"
    )
}

#[test]
fn fast_settings_restore_by_the_legacy_manual_procedure() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let conf = site.config(&server, CHUNK, true, &fast_cycle(&name));
    let conf = conf.to_str().unwrap();

    // 2026-11-12: slot 7, a FULL; the next day a DIFF with a change and a deletion.
    let full = format!("{name}-7-FULL");
    site.run(&["-c", conf], "2026-11-12 03:00:00")
        .expect(&format!("Directory {name} -> {}:{full}", server.bucket));
    std::thread::sleep(Duration::from_millis(1100));
    fs::write(src.join("a.txt"), "alpha, changed\n").unwrap();
    fs::remove_file(src.join("sub/b.txt")).unwrap();
    let diff = format!("{name}-8-DIFF");
    let run = site.run(&["-c", conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);

    // gpg really stored the gzip stream without compressing it again.
    let stream = fetch(&store, &full);
    let packets = pipe_through(&site.gpg.argv(&["--list-packets", "--quiet"]), &stream);
    let packets = String::from_utf8_lossy(&packets);
    assert!(!packets.contains("compressed packet"), "{packets}");

    // The legacy recovery: chunks concatenated, gpg -d, tar -xz -g /dev/null, FULL then DIFF.
    let out = site.path("out");
    for prefix in [&full, &diff] {
        extract(&site.decrypt(&fetch(&store, prefix)), &out);
    }
    assert_eq!(tree(&restored(&out, &src)), tree(&src));

    // And the tool's own restore gives the same tree.
    let out2 = site.path("out2");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--into",
            out2.to_str().unwrap(),
            &name,
        ],
        "2026-11-13 12:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(tree(&restored(&out2, &src)), tree(&src));
}

#[test]
fn a_dump_through_pigz_loads_after_gpg_d_and_gunzip() {
    let repo = SvnRepo::new(3);
    let server = moto();
    let site = Site::new();
    let name = repo.path().display().to_string();
    let body =
        format!("<Subversion {name}>\n\tCompressor pigz\n\tGpgCompression no\n</Subversion>\n");
    let conf = site.config(&server, 700, true, &body);
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let dump = gunzip(&site.decrypt(&fetch(&server.store(), &format!("{name}-7-FULL"))));
    let fresh = SvnRepo::from_dump(&dump);
    assert_eq!(fresh.youngest(), repo.youngest());
    assert_eq!(fresh.cat("trunk/file.txt"), repo.cat("trunk/file.txt"));
}

#[test]
fn compressor_pigz_needs_no_pigz_and_stores_what_does_not_compress() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    // 300 kB of random bytes (stored, not deflated) between text files (deflated)
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..300_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fs::write(src.join("random.bin"), &random).unwrap();
    fs::write(
        src.join("text.txt"),
        "backup restore slot chunk\n".repeat(20_000),
    )
    .unwrap();
    let name = src.display().to_string();
    // A PATH with tar and gpg only: the parallel gzip is this program's own.
    let bin = site.path("bin");
    fs::create_dir(&bin).unwrap();
    for program in ["tar", "gpg"] {
        let real = which(program);
        std::os::unix::fs::symlink(real, bin.join(program)).unwrap();
    }
    let mut site = site;
    site.env.push(("PATH".into(), bin.display().to_string()));
    let conf = site.config(&server, 100_000, true, &fast_cycle(&name));
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let stream = site.decrypt(&fetch(&store, &format!("{name}-7-FULL")));
    // the text shrank, the random bytes did not grow: stored as they are
    let tar_size = 300_000 + 20_000 * 26;
    assert!(stream.len() < tar_size / 2, "{} bytes", stream.len());
    assert!(stream.len() > 300_000, "{} bytes", stream.len());
    // the legacy recovery (tar -xz, GNU gzip) gives the tree back
    let out = site.path("out");
    extract(&stream, &out);
    assert_eq!(tree(&restored(&out, &src)), tree(&src));
}

/// The absolute path of `program` on this machine's PATH.
fn which(program: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

#[test]
fn test_mode_prints_the_fast_commands_as_they_run() {
    let server = moto();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!(
        "{}<MySQL db>\n\tCompressor pigz\n</MySQL>\n<PostgreSQL all>\n\tGpgCompression no\n</PostgreSQL>\n",
        fast_cycle(&name)
    );
    let conf = site.config(&server, CHUNK, true, &body);
    let run = site.run(&["-t", "-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let bucket = &server.bucket;
    let snapshot = site
        .diff_dir()
        .join(format!("{}.diff", name.replace('/', "_")));
    run.expect(&format!(
        "tar -f -  -g {} -C / -cp {name} | s3napback gzip | gpg --batch  -r backup@example.com -z 0 -e \
         | s3 put --chunk-size {CHUNK} {bucket}:{name}-7-FULL",
        snapshot.display()
    ))
    .expect(&format!(
        "mysqldump --opt   db | s3napback gzip | gpg --batch  -r backup@example.com -e \
         | s3 put --chunk-size {CHUNK} {bucket}:MySQL/db-"
    ))
    .expect(&format!(
        "pg_dumpall   | gzip | gpg --batch  -r backup@example.com -z 0 -e \
         | s3 put --chunk-size {CHUNK} {bucket}:PostgreSQL/-"
    ));
}

/// `count` chunks of CHUNK bytes (the last one shorter), each byte telling its chunk and
/// offset apart, stored as js3tream stored them; returns the stream.
fn put_chunks(store: &S3Store, prefix: &str, count: u64) -> Vec<u8> {
    let mut data = Vec::new();
    for index in 0..count {
        let len = if index + 1 == count { CHUNK / 3 } else { CHUNK };
        let piece: Vec<u8> = (0..len).map(|i| (index * 7 + i * 13 % 251) as u8).collect();
        store
            .put(&chunk_key(prefix, index), Bytes::from(piece.clone()))
            .unwrap();
        data.extend(piece);
    }
    data
}

fn slot(store: &S3Store, prefix: &str) -> Slot {
    group_slots(store.list(&format!("{prefix}:")).unwrap())
        .pop()
        .expect("one slot")
}

#[test]
fn prefetch_streams_exact_bytes_in_key_order() {
    let server = moto();
    let store = server.store();
    let data = put_chunks(&store, "/srv/x-3-FULL", 23);
    let chunks = slot(&store, "/srv/x-3-FULL").chunks;
    assert_eq!(chunks.len(), 23);
    let store: Arc<dyn Store> = Arc::new(store);
    for ahead in [1, 2, PREFETCH, 30] {
        let mut got = Vec::new();
        ChunkReader::with_prefetch(store.clone(), chunks.clone(), ahead)
            .read_to_end(&mut got)
            .unwrap();
        assert!(got == data, "ahead {ahead}: the stream differs");
    }
}

#[test]
fn prefetch_names_a_missing_chunk_and_delivers_the_ones_before_it() {
    let server = moto();
    let store = server.store();
    let data = put_chunks(&store, "/srv/x-3-FULL", 12);

    // A gap in the listing: chunk 5 is not there.
    let mut chunks = slot(&store, "/srv/x-3-FULL").chunks;
    chunks.remove(5);
    let store: Arc<dyn Store> = Arc::new(store);
    let mut got = Vec::new();
    let err = ChunkReader::new(store.clone(), chunks)
        .read_to_end(&mut got)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("chunk 5 is missing") && err.contains(":00000000000000000006"),
        "{err}"
    );
    assert!(
        got == data[..5 * CHUNK as usize],
        "the chunks before the gap, in order"
    );

    // Listed, then gone before the download: the error names chunk 7's key.
    let chunks = slot(&server.store(), "/srv/x-3-FULL").chunks;
    store
        .delete(&[chunks[7].key.clone()])
        .expect("delete chunk 7");
    let mut got = Vec::new();
    let err = ChunkReader::new(store, chunks)
        .read_to_end(&mut got)
        .unwrap_err();
    // the store's error (naming the key) is the cause, printed by the chain
    let err = format!("{:#}", anyhow::Error::new(err));
    assert!(
        err.contains("chunk 7") && err.contains(":00000000000000000007"),
        "{err}"
    );
    assert!(got == data[..7 * CHUNK as usize]);
}

/// Issue 18: the fast settings at the top of a config whose items sit in `<Cycle>` blocks
/// (the usual legacy layout) apply to every block that does not set its own; a legacy
/// per-scope setting there warns that it does nothing.
#[test]
fn top_level_fast_settings_reach_the_items_in_cycle_blocks() {
    let server = moto();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!(
        "Compressor pigz\nGpgCompression no\nFulls 9\n<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\
         \tDirectory {name}\n</Cycle>\n"
    );
    let conf = site.config(&server, CHUNK, true, &body);
    let run = site.run(&["-t", "-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!(
        "-cp {name} | s3napback gzip | gpg --batch  -r backup@example.com -z 0 -e"
    ))
    .expect("Fulls at the top level has no effect: there are no items at the top level");
}
