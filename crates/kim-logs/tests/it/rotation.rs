//! Rotation at the size limit keeps at most N files per type per day.

use crate::{ManualClock, T0, TODAY, config, lines, names, with_logs};

#[test]
fn size_limit_rotates_and_keeps_the_newest_n_files() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let mut config = config(dir.path());
    config.max_files_per_day = 3;
    config.max_file_size = 200;
    with_logs(&config, &clock, || {
        for i in 0..40_u64 {
            tracing::info!(n = i, "line");
        }
    });
    let base = format!("operation-{TODAY}.log");
    assert_eq!(
        names(dir.path()),
        [base.clone(), format!("{base}.1"), format!("{base}.2")]
    );
    // Oldest first: .2, .1, then the current file; together a gap-free tail of the events.
    let mut kept = Vec::new();
    for name in [format!("{base}.2"), format!("{base}.1"), base.clone()] {
        let size = std::fs::metadata(dir.path().join(&name)).unwrap().len();
        assert!(size <= 200, "{name} has {size} bytes");
        kept.extend(lines(dir.path(), &name));
    }
    let numbers: Vec<u64> = kept
        .iter()
        .map(|l| l.rsplit_once("n=").unwrap().1.parse().unwrap())
        .collect();
    assert!(numbers.len() >= 3, "{numbers:?}");
    assert_eq!(*numbers.last().unwrap(), 39);
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    assert!(numbers[0] > 0, "the oldest lines must have been dropped");
}

#[test]
fn a_restart_continues_the_day_and_its_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let mut config = config(dir.path());
    config.max_files_per_day = 2;
    config.max_file_size = 150;
    // A file left by an earlier configuration with more files per day goes too.
    let base = format!("operation-{TODAY}.log");
    std::fs::write(dir.path().join(format!("{base}.5")), "old\n").unwrap();
    for run in 0..2_u64 {
        with_logs(&config, &clock, || {
            for i in 0..6_u64 {
                tracing::info!(run, n = i, "line");
            }
        });
    }
    assert_eq!(names(dir.path()), [base.clone(), format!("{base}.1")]);
    let last = lines(dir.path(), &base).pop().unwrap();
    assert!(last.ends_with("run=1 n=5"), "{last}");
}
