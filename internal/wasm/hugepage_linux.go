package wasm

import "golang.org/x/sys/unix"

// adviseHugePages asks the kernel to back b with transparent huge pages
// where it can (when THP is in "madvise" mode, the common default). A Go
// guest touches megabytes of its linear memory as it starts: one fault per
// 2 MiB rather than per 4 KiB page makes a new instance's first touches
// cheap, most of all in virtual machines, where a page fault can cost tens
// of microseconds. The price is at most one partly used 2 MiB page of
// resident memory per instance. Failure is harmless: the memory stays in
// small pages.
func adviseHugePages(b []byte) {
	unix.Madvise(b, unix.MADV_HUGEPAGE)
}
