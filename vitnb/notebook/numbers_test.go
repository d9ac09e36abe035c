package notebook

import (
	"fmt"
	"strings"
	"testing"
)

// numbersNotebook quotes its outputs: some numbers are there (rounded or with a thousands comma), one is not
// (a rerun changed it), some are references or code.
const numbersNotebook = `{
 "cells": [
  {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "%%\nshow()",
   "outputs": [{"name": "stdout", "output_type": "stream", "text": "test accuracy 85.96% on 10000 images\n"},
               {"output_type": "display_data", "data": {"text/html": "<td>15.2</td><td>-0.033</td>"}, "metadata": {}}]},
  {"cell_type": "markdown", "metadata": {"tags": ["quotes-outputs"]},
   "source": "As Fig. 7 shows, 86.0% on 10,000 images; heads reach 15.2 px, -0.03 apart, none above 14.4 (ViT-B/16, ` + "`-steps 1200`" + `, 2021)."},
  {"cell_type": "markdown", "metadata": {}, "source": "About 7 minutes."}
 ],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5
}`

func TestNumbers(t *testing.T) {
	nb, err := Parse([]byte(numbersNotebook), "n.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range Numbers(nb) {
		got = append(got, fmt.Sprintf("%d %s %s %d %s", n.Cell, n.Kind, n.Text, n.From, n.Output))
	}
	want := []string{
		"2 reference 7 0 ",
		"2 number 86.0% 1 85.96",
		"2 number 10,000 1 10000",
		"2 number 15.2 1 15.2",
		"2 number -0.03 1 -0.033",
		"2 number 14.4 0 ",
		"2 code 1200 0 ",
		"2 reference 2021 0 ",
		"3 number 7 0 ",
	}
	if len(got) != len(want) {
		t.Fatalf("numbers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("number %d: %q, want %q", i, got[i], want[i])
		}
	}
	problems := CheckQuoted(nb)
	if len(problems) != 1 || !strings.Contains(problems[0], "cell 2 (As Fig. 7 shows") || !strings.Contains(problems[0], "quotes 14.4, which no output holds") {
		t.Fatalf("CheckQuoted = %q, want one problem for 14.4 in the tagged cell only", problems)
	}
	var b strings.Builder
	WriteNumbers(&b, "n.ipynb", nb)
	if !strings.Contains(b.String(), "n.ipynb cell 2 number 14.4 NOT IN ANY OUTPUT: ") ||
		!strings.Contains(b.String(), "n.ipynb cell 2 number 86.0% = 85.96 in cell 1's output: As Fig. 7 shows, [86.0%] on") {
		t.Fatalf("WriteNumbers:\n%s", b.String())
	}
}

func TestSupports(t *testing.T) {
	for _, tc := range []struct {
		prose, out    string
		percent, want bool
	}{
		{"86.0", "85.96", true, true}, {"86", "85.96", true, true}, {"86", "85.96", false, false},
		{"0.36", "0.362", false, true}, {"0.36", "0.37", false, false}, {"1,200", "1200", false, true},
		{"7", "7.3", false, false}, {"13.3", "13.3", false, true},
	} {
		if got := supports(tc.prose, tc.out, tc.percent); got != tc.want {
			t.Errorf("supports(%q, %q, %v) = %v", tc.prose, tc.out, tc.percent, got)
		}
	}
}
