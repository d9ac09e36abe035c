//go:build !unix

package files

import "os"

// ownedByMe: the owner of a file is not known here; only the permission bits are checked.
func ownedByMe(os.FileInfo) bool { return true }
