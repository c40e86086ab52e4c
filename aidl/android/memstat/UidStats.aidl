package android.memstat;

import android.memstat.SyscallCount;

/**
 * One UID's statistics over the current window. Fields are only ever
 * appended (readers skip fields they do not know and default those a writer
 * did not send).
 */
parcelable UidStats {
    int uid;
    /** Its package or user name; empty when it has none. */
    String name;
    /** Syscalls it made, and how many of them failed. */
    long syscalls;
    long errors;
    /** Its most frequent syscalls, at most IMemStat.TOP_SYSCALLS, most first. */
    SyscallCount[] topSyscalls;
    /**
     * Syscall latency while latency mode was on: samples, and percentiles in
     * nanoseconds (all 0 without samples).
     */
    long latencySamples;
    long latencyP50Ns;
    long latencyP90Ns;
    long latencyP99Ns;
}
