package android.memstat;

/**
 * The current window and the system's memory, as of the call. A value the
 * kernel does not provide or memstatd could not read is -1 (the dump's
 * system section says why). Fields are only ever appended.
 */
parcelable SystemStats {
    /** The current generation, and its window in Unix milliseconds. */
    long generation;
    long windowStartMs;
    long windowEndMs;
    /** Whether latency mode times every syscall. */
    boolean latencyMode;
    /**
     * Syscalls, and failed ones, that found no room in the (UID, syscall)
     * table and were counted in the overflow bucket instead.
     */
    long overflowSyscalls;
    long overflowErrors;
    /** /proc/meminfo, in kB. */
    long memTotalKb;
    long memFreeKb;
    long memAvailableKb;
    long swapTotalKb;
    long swapFreeKb;
    /**
     * /proc/pressure/memory: percent of the last 10 s and 60 s in which some
     * tasks (full: all non-idle tasks) were stalled on memory.
     */
    double memorySomeAvg10;
    double memorySomeAvg60;
    double memoryFullAvg10;
    double memoryFullAvg60;
    /** /proc/vmstat rates per second over the last minute (-1 in the first seconds). */
    double faultsPerSec;
    double majorFaultsPerSec;
    double allocStallsPerSec;
    double compactStallsPerSec;
    double swapInsPerSec;
    double swapOutsPerSec;
    double oomKillsPerSec;
}
