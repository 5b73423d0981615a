/*
 * fs_defer.h — directories whose fsync a committed file leaves to its owner.
 *
 * tq_out_commit fsyncs the directory of each file it names, so the name is
 * durable once it returns. Inside an output directory's staging tree
 * (outdir.c) that directory is not visible until the whole tree is committed,
 * and the commit fsyncs every directory of the tree once before it makes the
 * tree visible; per-file directory fsyncs there are redundant (one journal
 * commit each: ~3 ms a side file on ext4). A registered tree root makes
 * tq_out_commit skip the directory fsync of files at or below it; the file's
 * own fsync is kept (before it gets its name, or, for a file named early
 * there by tq_out_name_early, in the owner's commit batch).
 */
#ifndef TQ_CORE_FS_DEFER_H
#define TQ_CORE_FS_DEFER_H
#include <stdbool.h>

/** Register (on) or unregister (off) `root`: files committed below it skip the
 *  directory fsync. The caller must fsync every directory of the tree (see
 *  tq_fsync_tree) before the tree becomes visible. At most 8 roots at once (a
 *  ninth is not registered: its files keep their directory fsync). Thread-safe. */
void tq_out_defer_dir_sync(const char *root, bool on);
/** Is `dir` a registered root or below one? */
bool tq_out_dir_sync_deferred(const char *dir);
#endif
