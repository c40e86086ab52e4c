package android.memstat;

/** How an IMemStat.dumpTo ended. Fields are only ever appended. */
parcelable DumpResult {
    /** One of IMemStat's STATUS_* values. */
    int status;
    /** Why, unless status is STATUS_OK: the line the memstat CLI prints to stderr. */
    String message;
}
