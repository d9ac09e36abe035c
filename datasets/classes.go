package datasets

import (
	"fmt"
	"strings"
)

// CheckClassNames tells what is wrong with a list of class names given for a model's head (model.json, a weights
// file's label_names or id2label), if anything: a blank name (empty or only spaces) would label predictions with
// nothing, and a name given twice would make two classes one for a reader. nil and an empty list are fine (no
// names: classes are labelled by number).
func CheckClassNames(names []string) error {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("class %d has a blank name %q", i, n)
		}
		if j, ok := seen[n]; ok {
			return fmt.Errorf("classes %d and %d have the same name %q", j, i, n)
		}
		seen[n] = i
	}
	return nil
}
