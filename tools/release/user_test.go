package release

import "fmt"

// fmtSscanUser parses an image config's "uid:gid" user.
func fmtSscanUser(s string, uid, gid *uint32) (int, error) {
	return fmt.Sscanf(s, "%d:%d", uid, gid)
}
