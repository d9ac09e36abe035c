//go:build unix

package files

import (
	"os"
	"syscall"
)

// ownedByMe tells whether this process's user owns the file of st.
func ownedByMe(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == os.Getuid()
}
