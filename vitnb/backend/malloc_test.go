package backend

import (
	"slices"
	"testing"
)

func TestWithMallocTunables(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		want    []string
		changed bool
	}{
		{"unset", []string{"HOME=/h"}, []string{"HOME=/h", "GLIBC_TUNABLES=" + MallocTunables}, true},
		{"other tunables kept", []string{"GLIBC_TUNABLES=glibc.malloc.arena_max=2", "HOME=/h"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.arena_max=2:" + MallocTunables, "HOME=/h"}, true},
		{"user's choice stands", []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}, false},
		{"already there", []string{"GLIBC_TUNABLES=" + MallocTunables}, []string{"GLIBC_TUNABLES=" + MallocTunables}, false},
	} {
		env := slices.Clone(tc.env)
		got, changed := WithMallocTunables(env)
		if !slices.Equal(got, tc.want) || changed != tc.changed {
			t.Errorf("%s: WithMallocTunables(%q) = %q, %v; want %q, %v", tc.name, tc.env, got, changed, tc.want, tc.changed)
		}
		if !slices.Equal(env, tc.env) {
			t.Errorf("%s: the input was modified: %q", tc.name, env)
		}
	}
}
