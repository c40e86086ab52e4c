package android.memstat;

import android.memstat.DumpResult;
import android.memstat.SystemStats;
import android.memstat.UidStats;

/**
 * Per-UID syscall and memory statistics from memstatd, served as the binder
 * service "memstat". `dumpsys memstat ARGS` and bugreports use the binder's
 * dump; these methods are the typed interface beside it.
 *
 * Callers: root, system and shell see every UID and may change state; any
 * other caller holding android.permission.DUMP sees every UID; the rest see
 * only their own UID. Refusals are SecurityException, bad arguments
 * IllegalArgumentException (the message names the argument), and what
 * memstatd could not do (no counters, a state directory it cannot write)
 * IllegalStateException.
 *
 * Methods and constants are only ever appended: a method's transaction code
 * is FIRST_CALL_TRANSACTION plus its position.
 */
interface IMemStat {
    /** Most UIDs one getUidStats answer holds. */
    const int MAX_UIDS = 256;
    /** Most syscalls one UidStats lists. */
    const int TOP_SYSCALLS = 5;

    /** DumpResult.status values: the exit statuses of the memstat CLI. */
    const int STATUS_OK = 0;
    const int STATUS_THRESHOLD_CROSSED = 1;
    const int STATUS_USAGE = 2;
    const int STATUS_DENIED = 3;
    const int STATUS_FAILED = 4;
    const int STATUS_UNAVAILABLE = 5;

    /**
     * Statistics of the current window: of these UIDs (at most MAX_UIDS,
     * shown even when idle), or with an empty array of the MAX_UIDS UIDs with
     * the most syscalls; most syscalls first.
     */
    UidStats[] getUidStats(in int[] uids);

    /** The current window and the system's memory. */
    SystemStats getSystemStats();

    /** Starts a new generation (windows count from now on); returns its id. */
    long reset();

    /** Saves the current window as snapshot `name`, replacing one of that name. */
    void snapshot(String name);

    /**
     * Writes to fd what `dumpsys memstat ARGS` writes, and says how it ended:
     * a binder dump has no status, so the memstat CLI uses this call.
     */
    DumpResult dumpTo(in ParcelFileDescriptor fd, in String[] args);
}
