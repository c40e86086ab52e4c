package android.memstat;

/** One syscall of one UID over the current window. Fields are only ever appended. */
parcelable SyscallCount {
    /** Its number as the kernel reports it (for 32-bit apps on arm64, in the compat table). */
    int nr;
    /** Its name, or sys_N when memstatd does not know it. */
    String name;
    long count;
    long errors;
}
