package vitnb

import (
	"strconv"
	"strings"
	"testing"
)

// TestWriteParamTable: the configuration, a header, one row per part of ParamTable whose counts add up to the
// total line, right-aligned.
func TestWriteParamTable(t *testing.T) {
	cfg, err := Preset("B/16")
	if err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	if err := cfg.WriteParamTable(&w); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	table := cfg.ParamTable()
	if len(lines) != len(table)+3 || lines[0] != cfg.String() || lines[len(lines)-1] != "total 86567656" {
		t.Fatalf("want the config, a header, %d rows and the total:\n%s", len(table), w.String())
	}
	sum := 0
	for i, g := range table {
		row := lines[i+2]
		fields := strings.Fields(row)
		n, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil || n != g.Count || !strings.HasPrefix(strings.TrimLeft(row, " "), g.Part) || len(row) != len(lines[1]) {
			t.Errorf("row %q for %+v (header %q)", row, g, lines[1])
		}
		sum += n
	}
	if sum != cfg.NumParams() {
		t.Errorf("rows add up to %d, total %d", sum, cfg.NumParams())
	}
}
