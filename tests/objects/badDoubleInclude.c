// compile-fails: <bpf_helpers.h> has no include guard, on the platform as on the host
/*
 * Includes <bpf_helpers.h> twice, as a source does that includes it and a
 * header that includes it too. A Soong build of this fails with 23
 * "redefinition of" errors, one per struct and helper the header defines;
 * the host build must fail alike.
 */
#include <bpf_helpers.h>
#include <bpf_helpers.h>

LICENSE("GPL");
